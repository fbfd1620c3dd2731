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
	}
	if reg == nil {
		return m
	}
	m.jobs = register(reg, m.jobs)
	m.generation = register(reg, m.generation)
	m.upload = register(reg, m.upload)
	m.inFlight = register(reg, m.inFlight)
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
