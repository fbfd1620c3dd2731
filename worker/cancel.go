package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/retry"
	"github.com/sdkeda/sdkeda/internal/store"
)

// OutcomeCancelled: a person cancelled the job while it waited (its cancel
// marker is in the store); the message is acked and the job never runs.
const OutcomeCancelled = "cancelled"

// skipCancelled looks for the job's cancel marker (store.CancelKey, written
// by the webui) before the job starts. A marker in the store outlives every
// pod and needs nothing of the queue: whichever worker reaches the message,
// now or after a restart of everything, finds it. When it is there the
// message is acked unrun and a cancelled event published (skipped: no job
// ran). When the store cannot say within JOB_TIMEOUT, the job is given back
// (not skipped: the delivery counts, as for an upload to a store that is
// down).
func (w *Worker) skipCancelled(ctx context.Context, d queue.Delivery, id string, base job.Event, start time.Time, ev *events, log *slog.Logger) (handled, skipped bool) {
	cancelled, err := w.cancelMarked(ctx, id)
	sctx, scancel := settleContext(ctx)
	defer scancel()
	switch {
	case err != nil:
		reason := "cannot tell whether the job was cancelled: " + err.Error()
		serr := d.Requeue(sctx)
		w.finish(log, OutcomeRequeued, start, serr, "reason", reason)
		ev.send(w.givenBack(base, d.Returns(), "store unreachable"))
		return true, false
	case !cancelled:
		return false, false
	}
	serr := d.Ack(sctx)
	w.finish(log, OutcomeCancelled, start, serr, "reason", "cancelled while it waited")
	if serr == nil {
		ev.send(with(base, job.Cancelled, "cancelled while it waited"))
	}
	return true, true
}

// cancelMarked reports whether id's cancel marker is in the store. A store
// that does not answer is asked again (retry.Upload) for up to JOB_TIMEOUT,
// holding the message: a worker can do nothing without its store, and
// giving the job back at once would count a delivery of every waiting job
// during an outage. Past that (or at shutdown) the job is given back.
func (w *Worker) cancelMarked(ctx context.Context, id string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, w.cfg.JobTimeout)
	defer cancel()
	var marked bool
	var last error
	warned := false
	err := retry.Do(ctx, retry.Upload, func() error {
		_, err := w.d.Store.Stat(ctx, store.CancelKey(id))
		switch {
		case err == nil:
			marked = true
			return nil
		case errors.Is(err, store.ErrNotFound):
			return nil
		}
		last = err
		return err
	}, func(err error, wait time.Duration) {
		if !warned {
			warned = true
			w.log.Warn("cancel check: store unreachable, asking again", "job_id", id, "err", err, "budget", w.cfg.JobTimeout.String())
		}
	})
	if err != nil {
		if last != nil {
			return false, fmt.Errorf("%w (%v)", last, context.Cause(ctx))
		}
		return false, err
	}
	return marked, nil
}
