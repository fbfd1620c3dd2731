package status

import (
	"context"

	"github.com/sdkeda/sdkeda/internal/job"
)

// workerEvent records a worker's lifecycle event in the fleet. A worker
// that has left its run without its job's outcome has lost it (lose). A
// busy worker names its job, its attempt and returns: the job has started,
// even when its running event was lost (the worker repeats it every
// heartbeat), and no longer holds a place in line that would push the
// others back. That goes by the ranks like any event, so a heartbeat of a
// run that was already taken for lost never brings the job back.
func (t *Tracker) workerEvent(e job.Event) {
	changed, ended := t.fleet.apply(e, t.opts.Now())
	if changed {
		t.changes.publish(Change{Kind: FleetChanged, Fleet: t.fleet.snapshot()})
	}
	if ended != nil {
		t.lose(*ended, "worker "+string(e.WorkerState)+" without the job's outcome")
	}
	if e.WorkerState != job.WorkerBusy || e.ID == "" {
		return
	}
	j, ok := t.table.get(e.ID)
	switch {
	case !ok:
	case e.Attempt > 0:
		t.Apply(job.Event{ID: e.ID, State: job.Started, Attempt: e.Attempt, Returns: e.Returns, Worker: e.Worker, At: e.At})
	case j.Waiting() && j.Attempt == 0: // a worker that does not name the attempt: its first, as far as known
		t.Apply(job.Event{ID: e.ID, State: job.Started, Attempt: 1, Worker: e.Worker, At: e.At})
	}
}

// pollDepth reads the queue's depth (Run: every DepthEvery); a change goes
// to the subscribers.
func (t *Tracker) pollDepth(ctx context.Context) {
	lctx, cancel := context.WithTimeout(ctx, t.opts.DepthEvery)
	n, err := t.q.Len(lctx)
	cancel()
	if err != nil {
		if ctx.Err() == nil {
			t.opts.Log.Debug("status: queue depth unknown", "err", err)
		}
		return
	}
	if t.fleet.setDepth(n) {
		t.changes.publish(Change{Kind: FleetChanged, Fleet: t.fleet.snapshot()})
	}
}
