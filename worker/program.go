package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/rabbitmq"
	"github.com/sdkeda/sdkeda/internal/store/s3store"
)

// Run is the worker program: `worker` consumes jobs (configured by the
// environment, docs/design.md §2.4), `worker generate ...` makes images locally with
// no queue and no store. SIGTERM and SIGINT stop it gracefully; a second
// signal ends it at once.
func Run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	if len(args) > 0 {
		switch args[0] {
		case "generate":
			return runGenerate(ctx, args[1:], getenv, stdout, stderr)
		case "-h", "-help", "--help", "help":
			fmt.Fprint(stdout, usage)
			return nil
		}
		return fmt.Errorf("worker: unknown argument %q\n%s", args[0], usage)
	}
	cfg, err := config.LoadWorker(getenv)
	if err != nil {
		return fmt.Errorf("worker: configuration:\n%w", err)
	}
	log := cfg.Logger(stderr).With("worker", cfg.WorkerName)
	// The effective configuration, defaults included and secrets redacted,
	// as the webui logs its own: what the pod really runs with.
	log.Info("worker starting", "config", strings.Split(strings.TrimSpace(cfg.String()), "\n"))

	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	// After the first signal, restore the default action: a second one
	// ends the process at once (the broker requeues the job).
	context.AfterFunc(ctx, stop)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	srv, err := serveMetrics(cfg.MetricsAddr, reg, log)
	if err != nil {
		return err
	}
	defer srv.shutdown()

	gen, why, err := ChooseGenerator(cfg.Generator, Choice{OwnCheckout: true})
	if err != nil {
		return err
	}
	log.Info("generator chosen", "generator", gen.Name(), "generator_detail", why)
	if err := checkDevice(ctx, cfg.Generator, gen); err != nil {
		if ctx.Err() != nil {
			return nil // stopped during the probe
		}
		return err
	}

	q, err := rabbitmq.Open(ctx, cfg.AMQPURL, queue.Options{
		Name: cfg.QueueName, DeliveryLimit: cfg.DeliveryLimit, MaxFailures: cfg.MaxFailures,
	}, log)
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while waiting for the broker
		}
		return fmt.Errorf("worker: %w", err)
	}
	defer q.Close() // a delivery still unsettled goes back to the queue
	st, err := s3store.Open(ctx, s3store.Config{Endpoint: cfg.MinioEndpoint, AccessKey: cfg.MinioAccessKey,
		SecretKey: cfg.MinioSecretKey, Bucket: cfg.MinioBucket, Secure: cfg.MinioSecure}, log)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("worker: %w", err)
	}

	w := New(cfg, Deps{Consume: q.Consume, Status: q, Store: st, Generator: gen, Log: log, Metrics: reg, Ready: srv.setReady})
	if err := w.Run(ctx); err != nil {
		log.Error("worker stopped", "err", err)
		return err
	}
	log.Info("worker exiting")
	return nil
}

const usage = `usage:
  worker                 consume jobs from the queue (configuration: environment, see README)
  worker generate --prompt P [--count N] [--out DIR] [--seed S] [--width W] [--height H]
                  [--steps N] [--guidance-scale G] [--negative-prompt T]
                  [--generator fastsdcpu|fastsdcpu-warm|placeholder]
                         make images locally, no queue and no store
`

// metricsServer serves /metrics, /healthz and /readyz on the worker's small port.
type metricsServer struct {
	srv     *http.Server
	started bool
	ready   atomic.Bool
}

func serveMetrics(addr string, reg *prometheus.Registry, log *slog.Logger) (*metricsServer, error) {
	ms := &metricsServer{}
	if addr == "off" {
		return ms, nil
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{Registry: reg}))
	// Liveness: the process is up. (It may be waiting for the broker or
	// loading the model: restarting it would not help.)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "ok\n")
	})
	// Readiness: connected to the queue and the store, the generator up
	// (the warm generator's model loaded) and, in one-shot mode, a job
	// taken (see Deps.Ready).
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if ms.ready.Load() {
			_, _ = io.WriteString(w, "ok\n")
			return
		}
		http.Error(w, "not ready: connecting, loading the model, or (one-shot) waiting for a job", http.StatusServiceUnavailable)
	})
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("worker: METRICS_ADDR=%s: %w", addr, err)
	}
	ms.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ms.started = true
	go func() {
		if err := ms.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics server", "err", err)
		}
	}()
	log.Info("metrics and health", "addr", l.Addr().String())
	return ms, nil
}

func (ms *metricsServer) setReady(ready bool) { ms.ready.Store(ready) }

func (ms *metricsServer) shutdown() {
	if !ms.started {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = ms.srv.Shutdown(ctx)
}
