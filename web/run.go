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

	"github.com/prometheus/client_golang/prometheus"
	"golang.org/x/sync/errgroup"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/status"
	"github.com/sdkeda/sdkeda/internal/store"
)

// Server timeouts. Writes get longer than reads: a gallery page or an image
// goes out to slow phones. /events and /images replace the write deadline
// with one per event or chunk written.
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

	reg := prometheus.NewRegistry()
	parts, err := open(ctx, cfg, log, getenv, stdout, reg)
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
	w := newWebUI(cfg, log, reg, parts.queue, parts.store, parts.generator)
	return serve(ctx, log, srv, &h, served, w, parts)
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
	queue     queue.Queue
	store     store.Store
	generator string       // embedded mode: the in-process worker's generator; "" in production
	wait      func() error // the embedded worker, after ctx ends
	close     func()
}

// open connects to RabbitMQ and MinIO, or starts the embedded mode.
func open(ctx context.Context, cfg config.WebUI, log *slog.Logger, getenv func(string) string, stdout io.Writer, reg prometheus.Registerer) (*parts, error) {
	if cfg.Embedded() {
		return openEmbedded(ctx, cfg, log, getenv, stdout, reg)
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
// ctx ends, then shuts down: SSE streams first, then the server. The status
// events are subscribed to before the handler serves: an event published
// before then reaches nobody, and a job submitted and failed at once would
// otherwise show "queued" until its lookup in the dead letters or gallery.
func serve(ctx context.Context, log *slog.Logger, srv *http.Server, h *swapHandler, served <-chan error, w *webui, p *parts) error {
	if err := w.jobs.Subscribe(ctx); err != nil {
		_ = srv.Close()
		<-served
		if p.wait != nil {
			_ = p.wait()
		}
		if ctx.Err() != nil {
			log.Info("webui stopped before it was ready")
			return nil
		}
		return fmt.Errorf("webui: status events: %w", err)
	}
	h.Store(w.handler)
	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return w.run(gctx) })
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
		w.hub.Close()
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

// webui is the program over one queue and one store: the handler and the
// live parts that feed it, each built once, here.
type webui struct {
	handler http.Handler
	index   *gallery.Index
	jobs    *status.Tracker
	hub     *Hub
	metrics *Metrics
	log     *slog.Logger
	// changes of the job status, subscribed to at construction so that
	// none made before run starts (a job submitted at once) is missed.
	changes     <-chan status.Change
	unsubscribe func()
}

// newWebUI builds the webui over q and s; reg is its metrics registry (the
// embedded worker's metrics are on it already); generator is the embedded
// worker's, "" in production.
func newWebUI(cfg config.WebUI, log *slog.Logger, reg *prometheus.Registry, q queue.Queue, s store.Store, generator string) *webui {
	w := &webui{log: log, hub: NewHub(64).Limit(cfg.MaxStreams, cfg.MaxStreamsPerClient)}
	w.index = gallery.New(s, gallery.Options{Resync: cfg.ResyncInterval, MaxPrompt: cfg.Limits.MaxPromptLength,
		Log: log.With("component", "gallery")})
	w.jobs = status.New(q, w.index, status.Options{Log: log.With("component", "status"),
		DeliveryLimit: cfg.DeliveryLimit, Heartbeat: cfg.WorkerHeartbeat})
	w.changes, w.unsubscribe = w.jobs.Changes(1024)
	w.metrics = NewMetrics(reg, w.index, w.hub, w.jobs)
	w.handler = NewServer(Deps{
		Config: cfg, Log: log, Queue: q, Images: s, Markers: s, Gallery: w.index, EmbeddedGenerator: generator,
		Jobs: w.jobs, Hub: w.hub, Metrics: w.metrics,
		Ready: map[string]Pinger{"queue": q, "store": s},
	})
	return w
}

// run keeps the index, follows the status events and sends the changes of
// both to the browsers, until ctx ends.
func (w *webui) run(ctx context.Context) error {
	defer w.unsubscribe()
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := w.index.Run(ctx); err != nil {
			return fmt.Errorf("webui: gallery index: %w", err)
		}
		return nil
	})
	g.Go(func() error { return w.jobs.Run(ctx) })
	g.Go(func() error { FollowJobs(ctx, w.changes, w.jobs, w.hub, w.metrics, time.Now); return nil })
	g.Go(func() error { FollowGallery(ctx, w.index, w.hub, w.metrics, w.log, time.Now); return nil })
	return g.Wait()
}

// baseContext makes every request's context derive from ctx.
func baseContext(ctx context.Context) func(net.Listener) context.Context {
	return func(net.Listener) context.Context { return ctx }
}
