package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/store"
)

// Server timeouts. Writes get longer than reads: a gallery page or an image
// goes out to slow phones. /events and /images lift the write deadline.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	shutdownGrace     = 10 * time.Second
)

// Run is the webui program: it reads the configuration from getenv, connects
// to RabbitMQ and MinIO (or starts the embedded queue, store and worker when
// AMQP_URL is unset) and serves HTTP until ctx ends.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg, err := config.LoadWebUI(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "webui: configuration error:")
		fmt.Fprintln(stderr, err)
		return fmt.Errorf("webui: configuration: %w", err)
	}
	log := cfg.Logger(stderr)
	log.Info("webui starting", "mode", mode(cfg), "config", strings.Split(strings.TrimSpace(cfg.String()), "\n"))

	// Listen first: while RabbitMQ and MinIO are still being reached (they
	// may start after us in a cluster), /healthz answers and /readyz says
	// why it is not ready, so a liveness probe does not restart the pod.
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("webui: listen on LISTEN_ADDR %s: %w", cfg.ListenAddr, err)
	}
	srv := newHTTPServer(ctx, log)
	var h swapHandler
	h.Store(startingHandler())
	srv.Handler = &h
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("webui listening", "addr", ln.Addr().String())

	parts, err := open(ctx, cfg, log, getenv, stdout)
	if err != nil {
		_ = srv.Close()
		<-served
		if ctx.Err() != nil {
			log.Info("webui stopped before it was ready")
			return nil
		}
		log.Error("webui: start", "err", err)
		return err
	}
	defer parts.close()
	return serve(ctx, log, srv, &h, served, newApp(cfg, log, parts.queue, parts.store), parts)
}

// swapHandler serves the current handler: a placeholder while starting,
// then the webui.
type swapHandler struct{ atomic.Pointer[http.Handler] }

func (s *swapHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { (*s.Load()).ServeHTTP(w, r) }

func (s *swapHandler) Store(h http.Handler) { s.Pointer.Store(&h) }

// startingHandler answers while the queue and the store are being reached.
func startingHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Retry-After", "2")
		http.Error(w, "starting: connecting to the queue and the store", http.StatusServiceUnavailable)
	})
	return mux
}

func mode(cfg config.WebUI) string {
	if cfg.Embedded() {
		return "embedded"
	}
	return "production"
}

// parts are the webui's dependencies, production or embedded.
type parts struct {
	queue queue.Queue
	store store.Store
	wait  func() error // the embedded worker, after ctx ends
	close func()
}

// open connects to RabbitMQ and MinIO, or starts the embedded mode.
func open(ctx context.Context, cfg config.WebUI, log *slog.Logger, getenv func(string) string, stdout io.Writer) (*parts, error) {
	if cfg.Embedded() {
		return openEmbedded(ctx, cfg, log, getenv, stdout)
	}
	return openProduction(ctx, cfg, log)
}

func newHTTPServer(ctx context.Context, log *slog.Logger) *http.Server {
	return &http.Server{
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		// Requests derive from ctx: SSE streams end when the program stops.
		BaseContext: baseContext(ctx),
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
}

// serve hands the server to the webui's handler and runs its live parts until
// ctx ends, then shuts down: SSE streams first, then the server.
func serve(ctx context.Context, log *slog.Logger, srv *http.Server, h *swapHandler, served <-chan error, a *app, p *parts) error {
	h.Store(a.handler)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.run(gctx) })
	g.Go(func() error {
		select {
		case err := <-served:
			if !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("webui: serve: %w", err)
			}
		case <-gctx.Done():
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		log.Info("webui stopping")
		a.hub.Close()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownGrace)
		defer cancel()
		return srv.Shutdown(sctx)
	})
	err := g.Wait()
	if p.wait != nil {
		if werr := p.wait(); werr != nil && err == nil {
			err = fmt.Errorf("webui: embedded worker: %w", werr)
		}
	}
	if err != nil {
		log.Error("webui stopped", "err", err)
		return err
	}
	log.Info("webui stopped")
	return nil
}

// app is the webui over one queue and one store: the handler and the live
// parts that feed it.
type app struct {
	handler http.Handler
	queue   queue.Queue
	index   *gallery.Index
	hub     *Hub
	tracker *Tracker
	metrics *Metrics
	log     *slog.Logger
}

func newApp(cfg config.WebUI, log *slog.Logger, q queue.Queue, s store.Store) *app {
	a := &app{queue: q, log: log, hub: NewHub(64)}
	a.index = gallery.New(s, gallery.Options{Resync: cfg.ResyncInterval, Log: log.With("component", "gallery")})
	a.metrics = NewMetrics(a.index, a.hub)
	a.tracker = NewTracker(TrackerOptions{}, JobsToHub(a.hub, a.metrics, time.Now))
	a.metrics.watchTracker(a.tracker)
	a.handler = NewServer(Deps{
		Config: cfg, Log: log, Queue: q, Images: s, Gallery: a.index,
		Tracker: a.tracker, Hub: a.hub, Metrics: a.metrics,
		Ready: map[string]Pinger{"queue": q, "store": s},
	})
	return a
}

// status applies a job's status event. A done event names the job's objects:
// the index learns them at once, whether or not the store's notification
// comes (MinIO's can be late or lost).
func (a *app) status(ctx context.Context, e job.Event) {
	if e.State == job.Done {
		for _, key := range e.Objects {
			a.index.Notify(ctx, store.Change{Op: store.Put, Object: store.Object{Key: key}})
		}
	}
	a.tracker.Apply(e)
}

// run keeps the index, follows the status events and the gallery's changes,
// and prunes the tracker, until ctx ends.
func (a *app) run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := a.index.Run(ctx); err != nil {
			return fmt.Errorf("webui: gallery index: %w", err)
		}
		return nil
	})
	g.Go(func() error { FollowStatus(ctx, a.queue, func(e job.Event) { a.status(ctx, e) }, a.log); return nil })
	g.Go(func() error { FollowGallery(ctx, a.index, a.hub, a.metrics, a.log, time.Now); return nil })
	g.Go(func() error {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-t.C:
				a.tracker.Prune()
			}
		}
	})
	return g.Wait()
}

// baseContext makes every request's context derive from ctx.
func baseContext(ctx context.Context) func(net.Listener) context.Context {
	return func(net.Listener) context.Context { return ctx }
}
