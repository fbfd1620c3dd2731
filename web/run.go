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

	parts, err := open(ctx, cfg, log, getenv, stdout)
	if err != nil {
		log.Error("webui: start", "err", err)
		return err
	}
	defer parts.close()
	return serve(ctx, cfg, log, parts)
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

// serve runs the webui's parts and the HTTP server until ctx ends, then
// shuts down: SSE streams first, then the server.
func serve(ctx context.Context, cfg config.WebUI, log *slog.Logger, p *parts) error {
	a := newApp(cfg, log, p.queue, p.store)
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("webui: listen on LISTEN_ADDR %s: %w", cfg.ListenAddr, err)
	}
	srv := &http.Server{
		Handler:           a.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		// Requests derive from ctx: SSE streams end when the program stops.
		BaseContext: baseContext(ctx),
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("webui listening", "addr", ln.Addr().String())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return a.run(gctx) })
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("webui: serve: %w", err)
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
	err = g.Wait()
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
