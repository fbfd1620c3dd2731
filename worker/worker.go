// Package worker replaces the old consumer.sh: it takes one job at a time
// from the queue, runs a Generator (the fastsdcpu CLI or the placeholder),
// stores the images and the metadata JSON, and only then acknowledges the
// message. See README.md for how failures are counted.
package worker

import (
	"cmp"
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
// Status; Log, Metrics and Ready may be nil.
type Deps struct {
	Consume   func(ctx context.Context) (queue.Consumer, error)
	Status    queue.StatusPublisher
	Store     store.Store
	Generator Generator
	Log       *slog.Logger
	Metrics   prometheus.Registerer
	// Ready is told when the worker becomes ready for jobs and when it stops
	// being ready (the program's /readyz): the generator is up (the warm
	// generator's model loaded), and in one-shot mode a job is taken.
	Ready func(bool)
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
	// heartbeat is how often the worker repeats its state (tests shorten it).
	heartbeat time.Duration
	// deliveryLimit is the queue's (DELIVERY_LIMIT): a job given back on
	// its last delivery is dead-lettered, and its event says failed.
	deliveryLimit int
}

// New makes a worker. cfg supplies the mode (ExitAfterOneTask,
// MaxJobsPerPod, EmptyQueueWait), the time limits (JobTimeout,
// ShutdownGrace) and the worker name written into each job's metadata.
func New(cfg config.Worker, d Deps) *Worker {
	if d.Log == nil {
		d.Log = slog.New(slog.DiscardHandler)
	}
	return &Worker{cfg: cfg, d: d, log: d.Log, m: newMetrics(d.Metrics), uploadFloor: 30 * time.Second,
		heartbeat:     cmp.Or(cfg.WorkerHeartbeat, job.WorkerHeartbeat),
		deliveryLimit: queue.Options{DeliveryLimit: cfg.DeliveryLimit}.Defaults().DeliveryLimit,
		limits:        cfg.Limits.WithDefaults()} // the same limits as the webui's: the same variables, read by the same code
}

// Run starts the generator (the warm one loads its model), then consumes
// until ctx ends (loop mode) or after its jobs (one-shot mode,
// cfg.ExitAfterOneTask: one job, or up to cfg.MaxJobsPerPod that wait), and
// returns nil in both cases; in one-shot mode it also returns nil when no
// message arrives within cfg.EmptyQueueWait.
//
// ctx is the stop signal (SIGTERM): once it ends the worker takes no more
// messages, the running job may finish within cfg.ShutdownGrace, and past it
// the job is stopped (the generator's process group killed) and its message
// goes back to the queue. An error means the queue failed for good, or the
// generator could not be started.
func (w *Worker) Run(ctx context.Context) error {
	if ctx.Err() != nil {
		return nil
	}
	ev := newEvents(w.d.Status, w.log)
	// Events of the last job are still sent when Run returns (one-shot
	// mode exits right after), within a bound so a dead broker cannot hold
	// the exit.
	defer ev.close(10 * time.Second)
	life := &lifecycle{ev: ev, name: w.cfg.WorkerName, gen: w.d.Generator.Name(), ready: w.d.Ready,
		oneShot: w.cfg.ExitAfterOneTask}
	life.set(job.WorkerStarting, "")
	defer life.set(job.WorkerStopped, "")
	hctx, hcancel := context.WithCancel(context.WithoutCancel(ctx))
	defer hcancel()
	go life.beat(hctx, w.heartbeat)
	// From the stop signal on, the worker says it takes no more jobs, even
	// while its last job finishes within the grace.
	stopping := context.AfterFunc(ctx, func() { life.set(job.WorkerStopping, "") })
	defer stopping()
	defer w.closeGenerator()

	err := w.loop(ctx, ev, life)
	life.set(job.WorkerStopping, "")
	return err
}

// loop takes and runs jobs; see Run.
func (w *Worker) loop(ctx context.Context, ev *events, life *lifecycle) error {
	mode := "loop"
	if w.cfg.ExitAfterOneTask {
		mode = "one-shot"
	}
	var c queue.Consumer
	stopped := true // no subscription yet
	defer func() {
		if c != nil {
			_ = c.Stop()
		}
	}()
	done := 0 // jobs run (a message that was only stamped is not one)
	for {
		if err := w.ensureGenerator(ctx, life); err != nil {
			if ctx.Err() != nil {
				w.log.Info("stopping: stopped while the generator was starting")
				return nil
			}
			return err
		}
		if stopped {
			if c != nil {
				_ = c.Stop()
			}
			var err error
			if c, err = w.d.Consume(ctx); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("worker: consume: %w", err)
			}
			stopped = false
			// Stop the subscription the moment ctx ends, even in the middle
			// of a job: with prefetch 1 the broker would otherwise push the
			// next message right after the ack, only for this worker to
			// give it back.
			cc := c
			defer context.AfterFunc(ctx, func() { _ = cc.Stop() })()
		}
		life.set(job.WorkerIdle, "")
		if done == 0 {
			w.log.Info("worker ready", "mode", mode, "generator", w.d.Generator.Name(), "max_jobs", w.maxJobs())
		}
		d, err := w.next(ctx, c, done)
		if err != nil {
			if errors.Is(err, errEmpty) {
				if done == 0 {
					w.log.Info("no job within the wait; exiting", "wait", w.cfg.EmptyQueueWait.String())
				} else {
					w.log.Info("no more jobs waiting; exiting", "jobs", done)
				}
				return nil
			}
			if ctx.Err() != nil {
				w.log.Info("stopping: no more jobs taken")
				return nil
			}
			return fmt.Errorf("worker: next: %w", err)
		}
		life.took()
		if w.cfg.ExitAfterOneTask && done+1 >= w.maxJobs() {
			// The last job of this process (a KEDA ScaledJob's Job): cancel
			// the subscription at once so the broker hands nothing more to us.
			_ = c.Stop()
			stopped = true
		}
		if ctx.Err() != nil {
			// Stop raced with a delivery: give it straight back.
			w.giveBack(ctx, d, ev)
			return nil
		}
		if !w.process(ctx, d, ev, life) {
			done++
		}
		if ctx.Err() != nil || w.cfg.ExitAfterOneTask && done >= w.maxJobs() {
			return nil
		}
	}
}

// maxJobs is how many jobs one process runs: MaxJobsPerPod in one-shot mode
// (at least 1), unbounded in loop mode.
func (w *Worker) maxJobs() int {
	if !w.cfg.ExitAfterOneTask {
		return int(^uint(0) >> 1)
	}
	return max(w.cfg.MaxJobsPerPod, 1)
}

// ensureGenerator starts the generator's process when it has one and it is
// not up (the first time, or after a crash or a timeout killed it); the
// warm generator loads its model meanwhile.
func (w *Worker) ensureGenerator(ctx context.Context, life *lifecycle) error {
	s, ok := w.d.Generator.(Starter)
	if !ok || s.Ready() {
		return nil
	}
	life.set(job.WorkerLoading, "")
	start := time.Now()
	w.log.Info("starting the generator", "generator", w.d.Generator.Name())
	if err := s.Start(withLogger(ctx, w.log)); err != nil {
		return fmt.Errorf("worker: start the generator %s: %w", w.d.Generator.Name(), err)
	}
	w.m.modelLoads.WithLabelValues("start").Inc()
	w.m.startup.Observe(time.Since(start).Seconds())
	return nil
}

// closeGenerator stops the generator's process, if it has one.
func (w *Worker) closeGenerator() {
	if s, ok := w.d.Generator.(Starter); ok {
		_ = s.Close()
	}
}

var errEmpty = errors.New("queue empty")

// moreJobsWait is how long a one-shot worker that may run more jobs
// (MaxJobsPerPod) waits for the next after one is done: a message waiting
// in the queue is pushed by the broker right after the ack, so a short wait
// tells "one waits" from "none waits".
const moreJobsWait = 2 * time.Second

// next waits for a delivery; in one-shot mode only for EmptyQueueWait (the
// first job) or moreJobsWait (the next ones).
func (w *Worker) next(ctx context.Context, c queue.Consumer, done int) (queue.Delivery, error) {
	if !w.cfg.ExitAfterOneTask {
		return c.Next(ctx)
	}
	wait := w.cfg.EmptyQueueWait
	if done > 0 {
		wait = moreJobsWait
	}
	wctx, cancel := context.WithTimeoutCause(ctx, wait, errEmpty)
	defer cancel()
	d, err := c.Next(wctx)
	if err != nil && ctx.Err() == nil && errors.Is(context.Cause(wctx), errEmpty) {
		return nil, errEmpty
	}
	return d, err
}

// giveBack requeues a delivery taken after the stop signal. The job never
// started, so it has nothing to tell, unless that was its last delivery:
// then the broker dead-letters it, and its failed event says so.
func (w *Worker) giveBack(ctx context.Context, d queue.Delivery, ev *events) {
	sctx, cancel := settleContext(ctx)
	defer cancel()
	err := d.Requeue(sctx)
	if err != nil && !errors.Is(err, queue.ErrStale) {
		w.log.Warn("requeue after stop failed; the broker returns it when the connection closes", "err", err)
	}
	m, _ := job.Parse(d.Body(), w.limits)
	if queue.LastDelivery(d.Returns(), w.deliveryLimit) && hasStableID(m, d) {
		e := job.Event{ID: resolveID(m, d), Worker: w.cfg.WorkerName, Attempt: d.Failures() + d.Returns() + 1, Returns: d.Returns()}
		ev.send(w.givenBack(e, d.Returns(), "stopped by shutdown before it started"))
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
