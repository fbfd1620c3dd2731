package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"runtime/debug"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/store"
)

// Outcomes of a job, as logged and counted.
const (
	OutcomeDone     = "done"     // stored and acked
	OutcomeRetry    = "retry"    // generator failed; back to the tail of the queue
	OutcomeDead     = "dead"     // generator failed MaxFailures times; dead-lettered
	OutcomeInvalid  = "invalid"  // malformed or invalid message; dead-lettered at once
	OutcomeRequeued = "requeued" // shutdown or store unreachable; given back unchanged
	OutcomeLost     = "lost"     // the connection died before the settle; the broker requeued it
	OutcomeStamped  = "stamped"  // came without an id; back to the queue under a new one
)

// failure is why a job did not finish, sorted by what the queue must do.
type failure struct {
	requeue bool // not the job's fault (shutdown, store down): Requeue, else Retry
	reason  string
}

func (f *failure) Error() string { return f.reason }

// process runs one delivery through the whole job and settles it exactly
// once. Every path ends in one settle and one log line. It reports stamped
// when no job ran: the message only got its id, or it was cancelled.
func (w *Worker) process(ctx context.Context, d queue.Delivery, ev *events, life *lifecycle) (stamped bool) {
	start := time.Now()
	w.m.inFlight.Inc()
	defer w.m.inFlight.Dec()

	m, perr := job.Parse(d.Body(), w.limits)
	if perr == nil && !hasStableID(m, d) {
		// An id made up here would change with every redelivery, and a
		// worker killed mid-job would leave a second entry: give the
		// message an id for good first, and run it when it comes back.
		id := job.NewID()
		sctx, scancel := settleContext(ctx)
		defer scancel()
		err := d.Stamp(sctx, id)
		w.finish(w.log.With("job_id", id), OutcomeStamped, start, err,
			"reason", "the message had no id; it is back in the queue under this one")
		return true
	}
	m.ID = resolveID(m, d)
	log := w.log.With("job_id", m.ID)
	attempt := d.Failures() + d.Returns() + 1
	base := job.Event{ID: m.ID, Group: m.Group, Prompt: m.Prompt, Count: m.Count,
		Worker: w.cfg.WorkerName, Attempt: attempt, Returns: d.Returns()}

	if perr != nil {
		reason := perr.Error()
		sctx, scancel := settleContext(ctx)
		defer scancel()
		err := d.Dead(sctx, reason)
		w.finish(log, OutcomeInvalid, start, err, "reason", reason)
		ev.send(with(base, job.Failed, reason))
		return
	}
	if handled, skipped := w.skipCancelled(ctx, d, m.ID, base, start, ev, log); handled {
		return skipped // a cancelled job: no job ran, a one-shot worker takes the next message
	}

	if m.Seed == nil {
		// fastsdcpu draws a seed of its own when given none and records
		// none; the worker chooses it instead, from the job's id, so that
		// the metadata says which seed made the picture, N jobs of one
		// prompt differ, and a redelivery draws the same picture again.
		seed := seedFor(m.ID)
		m.Seed = &seed
	}
	base.Seed = m.Seed
	life.busy(m.ID, attempt, d.Returns())
	log.Info("job started", "prompt_chars", len([]rune(m.Prompt)), "count", m.Count,
		"attempt", attempt, "failures", d.Failures(), "returns", d.Returns(), "seed", *m.Seed)
	ph := &phases{ev: ev, base: base}
	first := job.PhaseGenerating
	if l, ok := w.d.Generator.(Loader); ok && l.NeedsLoad(m) {
		first = job.PhaseLoading
	}
	ph.enter(first)

	jctx, jcancel := w.jobContext(ctx, log)
	defer jcancel()
	out, err := w.safeRun(withPhases(withLogger(jctx, log), ph.enter), m, attempt, start)
	sctx, scancel := settleContext(ctx)
	defer scancel()

	var f *failure
	switch {
	case err == nil:
		serr := d.Ack(sctx)
		w.finish(log, OutcomeDone, start, serr, "objects", len(out.objects), "durations", out.durations)
		if serr == nil {
			w.observe(out.durations)
		}
		done := base
		done.State, done.Objects, done.Durations = job.Done, out.objects, out.durations
		ev.send(done)
	case errors.As(err, &f) && f.requeue:
		serr := d.Requeue(sctx)
		w.finish(log, OutcomeRequeued, start, serr, "reason", f.reason)
		ev.send(w.givenBack(base, d.Returns(), f.reason))
	default:
		dead, serr := d.Retry(sctx, err.Error())
		outcome, state := OutcomeRetry, job.Retrying
		if dead {
			outcome, state = OutcomeDead, job.Failed
		}
		w.finish(log, outcome, start, serr, "reason", err.Error(), "failures", d.Failures()+1)
		if serr == nil {
			ev.send(with(base, state, err.Error()))
		}
	}
	return false
}

// givenBack is the event of a job whose message the worker gave back
// (Requeue): queued, or failed when that was its last delivery, which the
// broker dead-letters instead of putting back (queue.LastDelivery).
func (w *Worker) givenBack(base job.Event, returns int, reason string) job.Event {
	if queue.LastDelivery(returns, w.deliveryLimit) {
		return with(base, job.Failed, fmt.Sprintf("delivery limit (DELIVERY_LIMIT=%d) reached: the broker dead-letters it instead of putting it back (%s)",
			w.deliveryLimit, reason))
	}
	return with(base, job.Queued, "back in the queue: "+reason)
}

// settleContext bounds one settle. It is made when the job is over, not
// when it starts (a long job must not use up its time), and it outlives ctx:
// a job stopped by the shutdown grace must still give its message back.
func settleContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
}

func with(e job.Event, s job.State, reason string) job.Event {
	e.State, e.Reason = s, reason
	return e
}

// finish writes the one log line of an outcome and counts it. A settle that
// failed because the connection died is its own outcome: the broker has the
// message back already.
func (w *Worker) finish(log *slog.Logger, outcome string, start time.Time, settleErr error, attrs ...any) {
	attrs = append(attrs, "outcome", outcome, "seconds", time.Since(start).Seconds())
	switch {
	case settleErr == nil:
		w.m.jobs.WithLabelValues(outcome).Inc()
		lvl := slog.LevelInfo
		if outcome != OutcomeDone {
			lvl = slog.LevelWarn
		}
		log.Log(context.Background(), lvl, "job "+outcome, attrs...)
	case errors.Is(settleErr, queue.ErrStale):
		w.m.jobs.WithLabelValues(OutcomeLost).Inc()
		log.Warn("job "+outcome+", but the connection was lost before the settle: the broker requeued it; "+
			"a redelivery overwrites the same objects", append(attrs, "err", settleErr)...)
	default:
		w.m.jobs.WithLabelValues(OutcomeLost).Inc()
		log.Error("job "+outcome+", but the settle failed; the broker requeues it when the connection closes",
			append(attrs, "err", settleErr)...)
	}
}

// jobOutput is what a finished job leaves: its objects in the store and
// the seconds of its phases (job.Duration* keys).
type jobOutput struct {
	objects   []string
	durations map[string]float64
}

// safeRun is run with panics turned into generator failures (Retry), so a
// bug in one job neither kills the worker nor loses the message.
func (w *Worker) safeRun(ctx context.Context, m job.Message, attempt int, start time.Time) (out jobOutput, err error) {
	defer func() {
		if r := recover(); r != nil {
			loggerFrom(ctx).Error("panic in job", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			out, err = jobOutput{}, fmt.Errorf("panic: %v", r)
		}
	}()
	return w.run(ctx, m, attempt, start)
}

// run generates into a directory of its own, uploads, and removes the local
// files; the caller settles.
func (w *Worker) run(ctx context.Context, m job.Message, attempt int, start time.Time) (jobOutput, error) {
	dir, err := os.MkdirTemp("", "sdkeda-job-")
	if err != nil {
		return jobOutput{}, &failure{requeue: true, reason: fmt.Sprintf("job directory: %v", err)}
	}
	defer os.RemoveAll(dir)

	gctx, gcancel := context.WithTimeoutCause(ctx, w.cfg.JobTimeout,
		fmt.Errorf("job timeout of %s (JOB_TIMEOUT)", w.cfg.JobTimeout))
	genStart := time.Now()
	res, err := w.d.Generator.Generate(gctx, m, dir)
	gcancel()
	genDone := time.Now()
	if err != nil {
		if errors.Is(context.Cause(ctx), errGraceOver) {
			return jobOutput{}, &failure{requeue: true, reason: "stopped by shutdown during generation"}
		}
		return jobOutput{}, err // the generator's failure: counted by Retry
	}
	w.m.generation.Observe(genDone.Sub(start).Seconds())
	if len(res.Images) != m.Count {
		return jobOutput{}, fmt.Errorf("%s made %d images, want %d", w.d.Generator.Name(), len(res.Images), m.Count)
	}
	t := timings{start: start, generated: genDone, load: res.ModelLoad, generation: res.Generation}
	if t.generation <= 0 { // a generator that does not time itself
		t.generation = genDone.Sub(genStart) - t.load
	}
	t.queueWait = queueWait(m, start)

	reportPhase(ctx, job.PhaseUploading)
	// The upload budget is what is left of the job's time, but never less
	// than uploadFloor, so a slow generation can still store its images.
	deadline := start.Add(w.cfg.JobTimeout)
	if min := time.Now().Add(w.uploadFloor); deadline.Before(min) {
		deadline = min
	}
	uctx, ucancel := context.WithDeadline(ctx, deadline)
	defer ucancel()
	u := uploader{st: w.d.Store, log: loggerFrom(ctx)}
	objects := make([]string, 0, len(res.Images)+1)
	// The images go up side by side (each PUT waits mostly for the store's
	// write), the JSON only once they are all stored.
	var g errgroup.Group
	for i, path := range res.Images {
		key := store.ImageKey(m.ID, i+1)
		objects = append(objects, key)
		g.Go(func() error { return u.putFile(uctx, key, path, store.TypePNG) })
	}
	if err := g.Wait(); err != nil {
		return jobOutput{}, w.uploadFailure(ctx, err)
	}
	t.imagesUp = time.Since(genDone)
	meta := res.Metadata
	if meta == nil {
		meta = map[string]any{}
	}
	w.annotate(meta, m, attempt, t)
	body, err := encodeMetadata(meta)
	if err != nil {
		return jobOutput{}, err
	}
	// The JSON goes last: an entry is complete once it exists.
	key := store.MetadataKey(m.ID)
	if err := u.putBytes(uctx, key, body, store.TypeJSON); err != nil {
		return jobOutput{}, w.uploadFailure(ctx, err)
	}
	objects = append(objects, key)
	upload := time.Since(genDone)
	w.m.upload.Observe(upload.Seconds())
	_ = os.RemoveAll(dir) // before the ack: nothing of a finished job stays on disk
	return jobOutput{objects: objects, durations: t.durations(upload)}, nil
}

func (w *Worker) uploadFailure(ctx context.Context, err error) error {
	if errors.Is(context.Cause(ctx), errGraceOver) {
		return &failure{requeue: true, reason: "stopped by shutdown during upload"}
	}
	return &failure{requeue: true, reason: "store unreachable: " + err.Error()}
}

func roundSeconds(d time.Duration) float64 {
	return float64(d.Round(time.Millisecond)) / float64(time.Second)
}

// resolveID is the job id: the body's id, else the message-id, else a new
// one. Only ids that are safe as object keys are taken.
// hasStableID reports whether the message names its job the same on every
// delivery: by its body's id or by its AMQP message-id.
func hasStableID(m job.Message, d queue.Delivery) bool {
	return m.ID != "" && store.ValidID(m.ID) || d.ID() != "" && store.ValidID(d.ID())
}

func resolveID(m job.Message, d queue.Delivery) string {
	switch {
	case m.ID != "" && store.ValidID(m.ID):
		return m.ID
	case d.ID() != "" && store.ValidID(d.ID()):
		return d.ID()
	}
	return job.NewID()
}
