// Package embedded runs the whole product in one process for a newcomer
// (`make run`, AMQP_URL unset): the in-process queue (memq) in place of
// RabbitMQ, a directory (fsstore, DATA_DIR/images) in place of MinIO, and one
// worker in loop mode. The webui and the worker run the same code as in
// production: only the implementations behind queue.Queue and store.Store
// differ, and one contract suite checks both pairs.
package embedded

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/memq"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/store/fsstore"
	"github.com/sdkeda/sdkeda/worker"
)

// Parts are the embedded queue, store and worker, for the webui.
type Parts struct {
	Queue     queue.Queue // a *memq.Queue
	Store     store.Store // a *fsstore.Store on DataDir/images
	Generator string      // "fastsdcpu" or "placeholder": what the worker runs
	Banner    string      // several lines for a person: what runs, where, how to switch
	// Wait waits for the worker to stop after Start's ctx ends (the running
	// job gets SHUTDOWN_GRACE, default 5s here). Close Queue after it.
	Wait func() error
}

// Option changes what Start builds.
type Option func(*options)

type options struct {
	getenv    func(string) string
	generator worker.Generator // the tests' (export_test.go); nil: Start chooses
	metrics   prometheus.Registerer
}

// WithGetenv reads the worker's own settings (DEVICE, PYTHON, JOB_TIMEOUT,
// SHUTDOWN_GRACE, LCM_MODEL_ID, USE_SAFETY_CHECKER, WORKER_NAME) from
// getenv; without it the worker has their defaults.
func WithGetenv(getenv func(string) string) Option {
	return func(o *options) { o.getenv = getenv }
}

// WithMetrics registers the worker's metrics in reg (the webui's /metrics).
func WithMetrics(reg prometheus.Registerer) Option {
	return func(o *options) { o.metrics = reg }
}

// defaultGrace is the embedded worker's SHUTDOWN_GRACE: Ctrl-C should not
// wait minutes, and the in-memory queue forgets the job at exit anyway.
const defaultGrace = 5 * time.Second

// Start opens the queue and the store and starts the worker, which runs
// until ctx ends.
func Start(ctx context.Context, cfg config.WebUI, log *slog.Logger, opts ...Option) (*Parts, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if o.getenv == nil {
		o.getenv = func(string) string { return "" }
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	wcfg, err := workerConfig(cfg, o.getenv)
	if err != nil {
		return nil, err
	}
	g, why := o.generator, "given"
	if g == nil {
		// A process that serves many jobs: with a checkout and GENERATOR
		// unset, the warm generator keeps the model loaded between them.
		if g, why, err = worker.ChooseGenerator(wcfg.Generator,
			worker.Choice{Unset: config.GeneratorWarm, OwnCheckout: true}); err != nil {
			return nil, fmt.Errorf("embedded: %w", err)
		}
	}

	dir := filepath.Join(cfg.DataDir, "images")
	st, err := fsstore.Open(dir)
	if err != nil {
		return nil, fmt.Errorf("embedded: image directory (DATA_DIR=%s): %w", cfg.DataDir, err)
	}
	q := memq.New(queue.Options{Name: cfg.QueueName, DeliveryLimit: cfg.DeliveryLimit, MaxFailures: cfg.MaxFailures})

	sup := &supervisor{q: q, log: log.With("component", "worker")}
	w := worker.New(wcfg, worker.Deps{
		Consume:   sup.consume,
		Status:    q,
		Store:     st,
		Generator: g,
		Log:       sup.log,
		Metrics:   o.metrics,
	})
	done := make(chan error, 1)
	go func() { done <- sup.run(ctx, w.Run) }()

	return &Parts{
		Queue:     q,
		Store:     st,
		Generator: g.Name(),
		Banner:    banner(cfg, q.Options(), st.Dir(), g.Name(), why),
		Wait:      func() error { return <-done },
	}, nil
}

// workerConfig is the worker's configuration in the embedded mode: the
// webui's queue settings and limits, loop mode, no metrics port of its own,
// and the worker's own variables (the generator's, the time limits) from
// getenv. It needs no queue or store settings: the worker is handed both.
func workerConfig(cfg config.WebUI, getenv func(string) string) (config.Worker, error) {
	wcfg, err := config.LoadLocalWorker(getenv, "")
	if err != nil {
		return config.Worker{}, fmt.Errorf("embedded: worker configuration:\n%w", err)
	}
	wcfg.Common = cfg.Common
	wcfg.ExitAfterOneTask = false
	wcfg.MetricsAddr = "off"
	if getenv("SHUTDOWN_GRACE") == "" {
		wcfg.ShutdownGrace = defaultGrace
	}
	if getenv("WORKER_NAME") == "" {
		wcfg.WorkerName = "embedded"
	}
	return wcfg, nil
}
