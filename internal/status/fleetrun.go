package status

import (
	"context"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// workerEvent records a worker's lifecycle event in the fleet. A busy worker
// names its job: a job this webui still has in line has started, even when
// its running event was lost (the worker repeats it every heartbeat), and no
// longer holds a place that would push the others back.
func (t *Tracker) workerEvent(e job.Event) {
	if t.fleet.apply(e, t.opts.Now()) {
		t.changes.publish(Change{Kind: FleetChanged, Fleet: t.fleet.snapshot()})
	}
	if e.WorkerState != job.WorkerBusy || e.ID == "" {
		return
	}
	if j, ok := t.table.get(e.ID); ok && j.Waiting() {
		t.Apply(job.Event{ID: e.ID, State: job.Started, Attempt: j.Attempt + 1, Worker: e.Worker, At: e.At})
	}
}

// fleetLoop reads the queue's depth and forgets silent workers every
// DepthEvery until ctx ends; a change goes to the subscribers.
func (t *Tracker) fleetLoop(ctx context.Context) {
	tick := time.NewTicker(t.opts.DepthEvery)
	defer tick.Stop()
	for {
		changed := t.fleet.expire(t.opts.Now())
		lctx, cancel := context.WithTimeout(ctx, t.opts.DepthEvery)
		n, err := t.q.Len(lctx)
		cancel()
		if err == nil {
			changed = t.fleet.setDepth(n) || changed
		} else if ctx.Err() == nil {
			t.opts.Log.Debug("status: queue depth unknown", "err", err)
		}
		if changed {
			t.changes.publish(Change{Kind: FleetChanged, Fleet: t.fleet.snapshot()})
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
