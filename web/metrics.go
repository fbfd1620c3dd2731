package web

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sdkeda/sdkeda/internal/status"
)

// Metrics are the webui's Prometheus metrics, on a registry of their own so
// that tests can build many servers. In the embedded mode the in-process
// worker's metrics are on the same registry.
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	submissions *prometheus.CounterVec
	sseDropped  prometheus.Counter
	sseCut      prometheus.Counter
	sseRefusals *prometheus.CounterVec
	jobReasons  *prometheus.CounterVec
}

// Submission outcomes, the label of sdkeda_webui_submissions_total.
const (
	outcomeAccepted    = "accepted"
	outcomeInvalid     = "invalid"
	outcomeRateLimited = "rate_limited"
	outcomeTooLarge    = "too_large"
	outcomeQueueFull   = "queue_full"
	outcomeUnavailable = "unavailable"
)

// NewMetrics registers the metrics in reg (a registry of the webui's own,
// which the embedded worker's metrics share); the gauges read g, h and jobs
// when scraped.
func NewMetrics(reg *prometheus.Registry, g Gallery, h *Hub, jobs interface{ Len() int }) *Metrics {
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sdkeda_webui_http_requests_total", Help: "HTTP requests by route pattern and status code.",
		}, []string{"route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "sdkeda_webui_http_request_duration_seconds", Help: "HTTP request duration by route pattern (SSE streams excluded).",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		submissions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sdkeda_webui_submissions_total", Help: "Job submissions (form and API) by outcome.",
		}, []string{"outcome"}),
		sseDropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sdkeda_webui_sse_dropped_total", Help: "SSE clients disconnected because they read too slowly.",
		}),
		sseCut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sdkeda_webui_sse_cut_total", Help: "SSE streams ended because a write waited longer than its deadline (a client that stopped reading).",
		}),
		sseRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sdkeda_webui_sse_refused_total", Help: "SSE streams refused: 429 past MAX_SSE_STREAMS_PER_CLIENT, 503 past MAX_SSE_STREAMS or shutting down.",
		}, []string{"code"}),
		jobReasons: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sdkeda_webui_job_reasons_total",
			Help: "Jobs seen failed, retried or given back, by state and classified reason (the worker's own words are in the logs).",
		}, []string{"state", "reason"}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.submissions, m.sseDropped, m.sseCut, m.sseRefusals, m.jobReasons,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	for _, o := range []string{outcomeAccepted, outcomeInvalid, outcomeRateLimited, outcomeTooLarge, outcomeQueueFull, outcomeUnavailable} {
		m.submissions.WithLabelValues(o)
	}
	m.gauge("sdkeda_webui_sse_clients", "Connected Server-Sent Events clients.", func() float64 { return float64(h.Clients()) })
	m.gauge("sdkeda_webui_gallery_entries", "Complete entries in the gallery index.", func() float64 { return float64(g.Len()) })
	m.gauge("sdkeda_webui_tracked_jobs", "Jobs in the status table.", func() float64 { return float64(jobs.Len()) })
	return m
}

func (m *Metrics) gauge(name, help string, f func() float64) {
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f))
}

// Handler serves /metrics.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

func (m *Metrics) request(route, code string, d time.Duration) {
	m.requests.WithLabelValues(route, code).Inc()
	if route != "/events" {
		m.duration.WithLabelValues(route).Observe(d.Seconds())
	}
}

func (m *Metrics) jobReason(j status.Job) {
	m.jobReasons.WithLabelValues(string(j.State), string(j.ReasonKind)).Inc()
}

func (m *Metrics) sseRefused(code int) { m.sseRefusals.WithLabelValues(strconv.Itoa(code)).Inc() }

func (m *Metrics) submission(outcome string) { m.submissions.WithLabelValues(outcome).Inc() }
