// Package web is the webui: the prompt form, this browser's job cards, the
// live gallery and the JSON API, served by chi with templ components. Run is
// the whole program; NewServer is its HTTP handler, built from small
// interfaces so handler tests can hand it fakes.
package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/go-chi/httprate"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/status"
	"github.com/sdkeda/sdkeda/internal/store"
)

// JobQueue is what submitting needs of the queue: confirmed publishes of
// jobs and of their queued events, and the length for backpressure.
type JobQueue interface {
	queue.Publisher
	queue.StatusPublisher
	queue.Lengther
}

// Pinger is a dependency that readiness checks.
type Pinger interface {
	Ping(ctx context.Context) error
}

// ImageStore streams stored images.
type ImageStore interface {
	Get(ctx context.Context, key string) (io.ReadCloser, store.Object, error)
}

// Markers is where a cancel leaves its marker (store.CancelKey): the store
// the workers read.
type Markers interface {
	Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error
}

// Gallery is the index of complete entries (package gallery).
type Gallery interface {
	Ready() bool
	Len() int
	Page(ctx context.Context, limit int, before string) ([]gallery.Entry, string, error)
	Get(ctx context.Context, id string) (gallery.Entry, bool, error)
	Thumbnail(ctx context.Context, id string, n int) (io.ReadCloser, store.Object, error)
}

// Jobs is the status of the jobs (package status): the webui records its
// own queued events and looks jobs up for the cards and the API.
type Jobs interface {
	Apply(e job.Event) (status.Job, bool)
	Get(ctx context.Context, id string) (status.Job, bool)
	sceneSource // the fleet and the recent durations, for what a card says of waiting
}

// Deps are what the server is built from; each is required but Log and Now.
type Deps struct {
	Config  config.WebUI
	Log     *slog.Logger // nil: discard
	Queue   JobQueue
	Images  ImageStore
	Markers Markers
	Gallery Gallery
	Jobs    Jobs
	Hub     *Hub
	Metrics *Metrics
	Ready   map[string]Pinger
	Now     func() time.Time // nil: time.Now
	// EmbeddedGenerator is the in-process worker's generator in the
	// embedded mode, "" in production: the page's banner says what runs.
	EmbeddedGenerator string
}

type server struct {
	Deps
	limits   job.Limits
	stop     *nsfwList
	qlen     *lenCache
	limiter  *httprate.RateLimiter // nil: no rate limit
	addrs    *clientAddr
	assetVer string

	announcing chan struct{} // slots of queued events being published
}

// NewServer returns the webui's handler: every route of routes.go behind the
// security headers, metrics and cross-origin protection. It builds nothing
// of what it is given: a missing dependency is a programming error and
// panics here rather than at the first request.
func NewServer(d Deps) http.Handler {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	for name, missing := range map[string]bool{
		"Queue": d.Queue == nil, "Images": d.Images == nil, "Markers": d.Markers == nil, "Gallery": d.Gallery == nil,
		"Jobs": d.Jobs == nil, "Hub": d.Hub == nil, "Metrics": d.Metrics == nil,
	} {
		if missing {
			panic("web.NewServer: Deps." + name + " is nil")
		}
	}
	s := &server{
		Deps:     d,
		limits:   d.Config.Limits.WithDefaults(),
		stop:     newNSFWList(d.Config.NSFWWords),
		qlen:     newLenCache(d.Queue, time.Second, d.Now),
		assetVer: assetVersion(),
		addrs:    &clientAddr{trusted: d.Config.TrustedProxies, log: d.Log},

		announcing: make(chan struct{}, 256),
	}
	if n := d.Config.RateLimit; n > 0 {
		s.limiter = httprate.NewRateLimiter(n, time.Minute)
	}
	return s.routes()
}
