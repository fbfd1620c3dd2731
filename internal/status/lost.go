package status

import (
	"context"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// A worker killed mid-job (a pod killed, its node lost, the worker's own
// out-of-memory kill) says nothing: the broker puts its message back at the
// head of the queue, or, when that was its last delivery, dead-letters it,
// and no event tells either. RabbitMQ's dead letters can only be read by
// taking them (README), so the tracker concludes it from the fleet: a
// worker that has left its run without its job's outcome (forgotten after 3
// silent heartbeats, or heard starting anew, idle or stopped while the job
// still runs on it here) has lost that run.

// lose ends a run whose worker is lost: its job, when it is still running
// on that worker in that attempt, goes back to queued (the broker put it
// back), or fails with the delivery limit when it was on its last delivery
// (the broker dead-lettered it). why is for the log.
func (t *Tracker) lose(r run, why string) {
	j, ok := t.table.lose(r, t.opts.DeliveryLimit)
	if !ok {
		return
	}
	t.opts.Log.Info("job's worker lost", "job_id", j.ID, "worker", r.worker, "why", why, "attempt", j.Attempt,
		"returns", j.returns, "delivery_limit", t.opts.DeliveryLimit, "state", string(j.State), "reason_kind", string(j.ReasonKind))
	t.changes.publish(Change{Kind: JobChanged, Job: j})
}

// lose applies r's loss to its job, under the table's lock, so that no
// event can come between the check and the change. A job that moved on (a
// later run, on this worker or another, or any outcome) is left alone.
func (t *table) lose(r run, deliveryLimit int) (Job, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	j, ok := t.jobs[r.jobID]
	if !ok || j.State != job.Started || j.Worker != r.worker || r.attempt > 0 && j.Attempt != r.attempt {
		return Job{}, false
	}
	now := t.now()
	j.updated = now
	j.returns = max(j.returns, r.returns)
	j.Phase, j.PhaseAt = "", time.Time{}
	if queue.LastDelivery(j.returns, deliveryLimit) {
		j.State, j.gaveUp, j.FinishedAt = job.Failed, true, now
		j.ReasonKind = job.ReasonGaveUp
	} else {
		// Its attempt stays: queued(a) outranks the run it ends, and the
		// next run is a+1. It keeps its place in line: the broker puts a
		// returned message back at the head.
		j.State = job.Queued
		j.ReasonKind = job.ReasonWorkerLost
	}
	j.Reason = j.ReasonKind.Text()
	out := t.copyLocked(j)
	if out.Waiting() {
		out.Position = t.joinLine(j)
	}
	return out, true
}

// hearing is whether the tracker hears its status subscription. A worker is
// only taken for lost while it does: a webui whose subscription is cut for a
// minute hears no worker either, and they have not died. Every webui
// publishes a probe each heartbeat (probe), so that it hears something
// even when no worker is left to speak.
type hearing struct {
	mu    sync.Mutex
	last  time.Time // the last event received
	since time.Time // since when events came without a gap of deafAfter
	deaf  bool      // logged as deaf
}

// heard records an event received at now.
func (h *hearing) heard(now time.Time, deafAfter time.Duration) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.last.IsZero() || now.Sub(h.last) > deafAfter {
		h.since = now
	}
	h.last = now
}

// check reports whether the tracker hears now, and since when; changed
// tells that this differs from the last check (one log line each way).
func (h *hearing) check(now time.Time, deafAfter time.Duration) (hears bool, since time.Time, changed bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	hears = !h.last.IsZero() && now.Sub(h.last) <= deafAfter
	changed = h.deaf == hears
	h.deaf = !hears
	return hears, h.since, changed
}

// deafAfter is how long without any event means the tracker no longer hears
// its subscription: its own probe comes every heartbeat.
func (t *Tracker) deafAfter() time.Duration { return 2 * t.opts.Heartbeat }

// expireWorkers forgets the workers not heard of for 3 heartbeats, and loses
// the runs they held; while the tracker hears nothing (not even its own
// probe), nobody is forgotten. Without a publisher for probes, silence
// cannot be told from deafness, and a worker is forgotten on time alone.
func (t *Tracker) expireWorkers() {
	now := t.opts.Now()
	var since time.Time
	if t.pub != nil {
		hears, s, changed := t.hear.check(now, t.deafAfter())
		if changed && !hears {
			t.opts.Log.Warn("status events: nothing heard, not even this webui's probe; no worker is taken for lost until events flow again",
				"for_more_than", t.deafAfter().String())
		} else if changed {
			t.opts.Log.Info("status events: heard again")
		}
		if !hears {
			return
		}
		since = s
	}
	changed, lost := t.fleet.expire(now, since)
	if changed {
		t.changes.publish(Change{Kind: FleetChanged, Fleet: t.fleet.snapshot()})
	}
	for _, r := range lost {
		t.lose(r, "no heartbeat")
	}
}

// probe publishes this webui's probe (Run: every heartbeat).
func (t *Tracker) probe(ctx context.Context) {
	pctx, cancel := context.WithTimeout(ctx, t.opts.Heartbeat)
	err := t.pub.PublishStatus(pctx, job.Event{Kind: job.KindProbe, At: t.opts.Now().UTC()})
	cancel()
	if err != nil && ctx.Err() == nil {
		t.opts.Log.Debug("status events: probe not published", "err", err)
	}
}
