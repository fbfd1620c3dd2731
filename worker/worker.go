// Package worker replaces the old consumer.sh: it takes one job at a time
// from the queue, runs a Generator (the fastsdcpu CLI or the placeholder),
// stores the images and the metadata JSON, and only then acknowledges the
// message. See README.md for how failures are counted.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/store"
)

// Deps are what a worker works with. queue.Queue provides Consume and
// Status; Log and Metrics may be nil.
type Deps struct {
	Consume   func(ctx context.Context) (queue.Consumer, error)
	Status    queue.StatusPublisher
	Store     store.Store
	Generator Generator
	Log       *slog.Logger
	Metrics   prometheus.Registerer
}

// Worker processes jobs one at a time.
type Worker struct {
	cfg    config.Worker
	d      Deps
	log    *slog.Logger
	m      *metrics
	limits job.Limits
	// uploadFloor is the least time uploads get, whatever is left of the
	// job's timeout (tests shorten it).
	uploadFloor time.Duration
}

// New makes a worker. cfg supplies the mode (ExitAfterOneTask,
// EmptyQueueWait), the time limits (JobTimeout, ShutdownGrace) and the
// worker name written into each job's metadata.
func New(cfg config.Worker, d Deps) *Worker {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Worker{cfg: cfg, d: d, log: d.Log, m: newMetrics(d.Metrics), uploadFloor: 30 * time.Second,
		limits: cfg.Limits.WithDefaults()} // the same limits as the webui's: the same variables, read by the same code
}

// Run consumes until ctx ends (loop mode) or after one job (one-shot mode,
// cfg.ExitAfterOneTask), and returns nil in both cases; in one-shot mode it
// also returns nil when no message arrives within cfg.EmptyQueueWait.
//
// ctx is the stop signal (SIGTERM): once it ends the worker takes no more
// messages, the running job may finish within cfg.ShutdownGrace, and past it
// the job is stopped (the generator's process group killed) and its message
// goes back to the queue. An error means the queue failed for good.
func (w *Worker) Run(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil
	}
	c, err := w.d.Consume(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("worker: consume: %w", err)
	}
	// Stop the subscription the moment ctx ends, even in the middle of a
	// job: with prefetch 1 the broker would otherwise push the next message
	// right after the ack, only for this worker to give it back.
	unhook := context.AfterFunc(ctx, func() { _ = c.Stop() })
	defer unhook()
	defer c.Stop()

	ev := newEvents(w.d.Status, w.log)
	// Events of the last job are still sent when Run returns (one-shot
	// mode exits right after), within a bound so a dead broker cannot hold
	// the exit.
	defer ev.close(10 * time.Second)

	mode := "loop"
	if w.cfg.ExitAfterOneTask {
		mode = "one-shot"
	}
	w.log.Info("worker ready", "mode", mode, "generator", w.d.Generator.Name())
	for {
		d, err := w.next(ctx, c)
		if err != nil {
			if errors.Is(err, errEmpty) {
				w.log.Info("no job within the wait; exiting", "wait", w.cfg.EmptyQueueWait.String())
				return nil
			}
			if ctx.Err() != nil {
				w.log.Info("stopping: no more jobs taken")
				return nil
			}
			return fmt.Errorf("worker: next: %w", err)
		}
		if w.cfg.ExitAfterOneTask {
			// One message per process (a KEDA ScaledJob's Job): cancel the
			// subscription at once so the broker hands nothing more to us.
			_ = c.Stop()
		}
		if ctx.Err() != nil {
			// Stop raced with a delivery: give it straight back.
			w.giveBack(ctx, d)
			return nil
		}
		stamped := w.process(ctx, d, ev)
		if stamped && w.cfg.ExitAfterOneTask && ctx.Err() == nil {
			// The message only got its id and went back to the queue: this
			// process still owes one job, so take one anew.
			return w.Run(ctx)
		}
		if w.cfg.ExitAfterOneTask || ctx.Err() != nil {
			return nil
		}
	}
}

var errEmpty = errors.New("queue empty")

// next waits for a delivery; in one-shot mode only for EmptyQueueWait.
func (w *Worker) next(ctx context.Context, c queue.Consumer) (queue.Delivery, error) {
	if !w.cfg.ExitAfterOneTask {
		return c.Next(ctx)
	}
	wctx, cancel := context.WithTimeoutCause(ctx, w.cfg.EmptyQueueWait, errEmpty)
	defer cancel()
	d, err := c.Next(wctx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(wctx), errEmpty) {
		return nil, errEmpty
	}
	return d, err
}

// giveBack requeues a delivery taken after the stop signal.
func (w *Worker) giveBack(ctx context.Context, d queue.Delivery) {
	sctx, cancel := settleContext(ctx)
	defer cancel()
	if err := d.Requeue(sctx); err != nil && !errors.Is(err, queue.ErrStale) {
		w.log.Warn("requeue after stop failed; the broker returns it when the connection closes", "err", err)
	}
}

// settleTimeout bounds an ack or nack (a retry or dead letter includes a
// confirmed publish).
const settleTimeout = 30 * time.Second

// errGraceOver is the cause of a job's context once the shutdown grace is over.
var errGraceOver = errors.New("shutdown grace period over")

// jobContext is the context a job runs under. It is not cancelled by ctx
// itself: after ctx ends (SIGTERM) the job keeps running for ShutdownGrace,
// then its context is cancelled with errGraceOver, which kills the generator
// and stops the uploads.
func (w *Worker) jobContext(ctx context.Context, log *slog.Logger) (context.Context, context.CancelFunc) {
	jctx, cancel := context.WithCancelCause(context.WithoutCancel(ctx))
	unhook := context.AfterFunc(ctx, func() {
		log.Info("stop requested: the running job may finish within the grace", "grace", w.cfg.ShutdownGrace.String())
		t := time.AfterFunc(w.cfg.ShutdownGrace, func() { cancel(errGraceOver) })
		context.AfterFunc(jctx, func() { t.Stop() })
	})
	return jctx, func() { unhook(); cancel(nil) }
}
