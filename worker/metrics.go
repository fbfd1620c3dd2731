package worker

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the worker's Prometheus series.
type metrics struct {
	jobs       *prometheus.CounterVec
	generation prometheus.Histogram
	upload     prometheus.Histogram
	inFlight   prometheus.Gauge
	phase      *prometheus.HistogramVec // a job's phases: queue_wait, model_load, generation, upload
	modelLoads *prometheus.CounterVec   // pipeline builds: at the generator's start, or paid by a job
	startup    prometheus.Histogram     // the generator's start, model load included
}

// newMetrics registers the series on reg (nil: unregistered). Several
// workers in one process (the webui's embedded mode, tests) share them.
func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		jobs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sdkeda_worker_jobs_total",
			Help: "Jobs by outcome: done, retry, dead, invalid, requeued, lost.",
		}, []string{"outcome"}),
		generation: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sdkeda_worker_generation_seconds",
			Help:    "Time from taking a job to the generator's output.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 12), // 10 ms .. ~10 min
		}),
		upload: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sdkeda_worker_upload_seconds",
			Help:    "Time to store a job's images and metadata, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 12),
		}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sdkeda_worker_jobs_in_flight",
			Help: "Jobs being worked on now.",
		}),
		phase: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sdkeda_worker_phase_seconds",
			Help:    "Seconds a done job spent in each phase: queue_wait (since submission), model_load (only when the job paid one), generation, upload.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 14), // 5 ms .. ~30 min
		}, []string{"phase"}),
		modelLoads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sdkeda_worker_model_loads_total",
			Help: "Pipeline builds: when=start (the generator started or restarted), when=job (a job paid it).",
		}, []string{"when"}),
		startup: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sdkeda_worker_generator_start_seconds",
			Help:    "Time to start a generator's process and load its model, until the worker is ready.",
			Buckets: prometheus.ExponentialBuckets(0.05, 2, 14), // 50 ms .. ~7 min
		}),
	}
	if reg == nil {
		return m
	}
	m.jobs = register(reg, m.jobs)
	m.generation = register(reg, m.generation)
	m.upload = register(reg, m.upload)
	m.inFlight = register(reg, m.inFlight)
	m.phase = register(reg, m.phase)
	m.modelLoads = register(reg, m.modelLoads)
	m.startup = register(reg, m.startup)
	for _, w := range []string{"start", "job"} {
		m.modelLoads.WithLabelValues(w)
	}
	for _, o := range []string{OutcomeDone, OutcomeRetry, OutcomeDead, OutcomeInvalid, OutcomeRequeued, OutcomeLost, OutcomeStamped} {
		m.jobs.WithLabelValues(o) // show every outcome at 0
	}
	return m
}

// register returns c, or the collector already registered under its name.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
	}
	return c
}
