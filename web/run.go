package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/gallery"
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
	cfg, err := config.LoadWebUI(getenv)
	if err != nil {
		fmt.Fprintln(stderr, "webui: configuration error:")
		fmt.Fprintln(stderr, err)
		return fmt.Errorf("webui: configuration: %w", err)
	}
	log := cfg.Logger(stderr)
	log.Info("webui starting", "mode", mode(cfg), "config", cfg.String())

	parts, err := open(ctx, cfg, log, stdout)
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
func open(ctx context.Context, cfg config.WebUI, log *slog.Logger, stdout io.Writer) (*parts, error) {
	if cfg.Embedded() {
		return openEmbedded(ctx, cfg, log, stdout)
	}
	return openProduction(ctx, cfg, log)
}

// serve runs the gallery index, the status follower and the HTTP server
// until ctx ends, then shuts down: SSE streams first, then the server.
func serve(ctx context.Context, cfg config.WebUI, log *slog.Logger, p *parts) error {
	idx := gallery.New(p.store, gallery.Options{Resync: cfg.ResyncInterval, Log: log.With("component", "gallery")})
	hub := NewHub(64)
	m := NewMetrics(idx, hub)
	tracker := NewTracker(TrackerOptions{}, JobsToHub(hub, m, time.Now))
	m.watchTracker(tracker)
	handler := NewServer(Deps{
		Config: cfg, Log: log, Queue: p.queue, Images: p.store, Gallery: idx,
		Tracker: tracker, Hub: hub, Metrics: m,
		Ready: map[string]Pinger{"queue": p.queue, "store": p.store},
	})

	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("webui: listen on LISTEN_ADDR %s: %w", cfg.ListenAddr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		MaxHeaderBytes:    64 << 10,
		// Requests derive from ctx: SSE streams end when the program stops.
		BaseContext: func(net.Listener) context.Context { return ctx },
		ErrorLog:    slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("webui listening", "addr", ln.Addr().String())

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error {
		if err := idx.Run(gctx); err != nil {
			return fmt.Errorf("webui: gallery index: %w", err)
		}
		return nil
	})
	g.Go(func() error { FollowStatus(gctx, p.queue, tracker, log); return nil })
	g.Go(func() error { FollowGallery(gctx, idx, hub, m, log, time.Now); return nil })
	g.Go(func() error {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-gctx.Done():
				return nil
			case <-t.C:
				tracker.Prune()
			}
		}
	})
	g.Go(func() error {
		if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			return fmt.Errorf("webui: serve: %w", err)
		}
		return nil
	})
	g.Go(func() error {
		<-gctx.Done()
		log.Info("webui stopping")
		hub.Close()
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
