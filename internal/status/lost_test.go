package status

import (
	"context"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// lostFixture is a tracker on the test's clock, fed through the
// subscription's path (event), with the steps a worker's events take.
type lostFixture struct {
	t   *testing.T
	now time.Time
	tr  *Tracker
}

func newLostFixture(t *testing.T, q Queue, o Options) *lostFixture {
	f := &lostFixture{t: t, now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	o.Now = func() time.Time { return f.now }
	f.tr = New(q, nopGallery{}, o)
	return f
}

func (f *lostFixture) after(d time.Duration) { f.now = f.now.Add(d) }

func (f *lostFixture) queued(ids ...string) {
	for i, id := range ids {
		f.tr.Apply(job.Event{ID: id, State: job.Queued, At: f.now.Add(time.Duration(i) * time.Millisecond)})
	}
}

// takes is worker w taking id on its attempt with the delivery's returns:
// its busy event, then the job's running event.
func (f *lostFixture) takes(w, id string, attempt, returns int) {
	f.worker(w, job.WorkerBusy, id, attempt, returns)
	f.tr.event(job.Event{ID: id, State: job.Started, Phase: job.PhaseGenerating, Worker: w, Attempt: attempt, Returns: returns, At: f.now})
}

func (f *lostFixture) worker(w string, s job.WorkerState, id string, attempt, returns int) {
	f.tr.event(job.Event{Kind: job.KindWorker, Worker: w, WorkerState: s, ID: id, Attempt: attempt, Returns: returns, At: f.now})
}

func (f *lostFixture) job(id string) Job {
	f.t.Helper()
	j, ok := f.tr.table.get(id)
	if !ok {
		f.t.Fatalf("%s not held", id)
	}
	return j
}

func (f *lostFixture) want(what, id string, s job.State, kind job.ReasonKind, attempt int) Job {
	f.t.Helper()
	j := f.job(id)
	if j.State != s || j.ReasonKind != kind || j.Attempt != attempt {
		f.t.Fatalf("%s: %s is %s (%q, attempt %d), want %s (%q, attempt %d)", what, id, j.State, j.ReasonKind, j.Attempt, s, kind, attempt)
	}
	return j
}

// A busy worker that falls silent for 3 heartbeats is forgotten, and its job
// goes back in line, first (the broker puts a returned message back at the
// head), with the worker-lost reason. The lost run's late events (a
// heartbeat, a phase) never bring it back to running; the next run on
// another worker does, and its end wins.
func TestAJobWhoseWorkerIsLostGoesBackInLine(t *testing.T) {
	t.Parallel()
	f := newLostFixture(t, nil, Options{DeliveryLimit: 2})
	changes, _ := f.tr.Changes(64)
	f.queued(id1, id2)
	f.takes("w1", id1, 1, 0)
	f.after(44 * time.Second)
	f.tr.expireWorkers()
	f.want("44 s of silence", id1, job.Started, "", 1)

	f.after(2 * time.Second)
	f.tr.expireWorkers()
	j := f.want("46 s of silence", id1, job.Queued, job.ReasonWorkerLost, 1)
	if j.Position != 1 || j.Reason != "its worker was lost; back in the queue" || j.Phase != "" {
		t.Errorf("back in line: %+v", j)
	}
	if j2 := f.job(id2); j2.Position != 2 {
		t.Errorf("the job behind it is at %d, want 2", j2.Position)
	}
	sawQueued := false
	for len(changes) > 0 {
		c := <-changes
		sawQueued = sawQueued || c.Kind == JobChanged && c.Job.ID == id1 && c.Job.State == job.Queued
	}
	if !sawQueued {
		t.Error("no change told the subscribers")
	}

	// Late words of the lost run.
	f.worker("w1", job.WorkerBusy, id1, 1, 0)
	f.tr.event(job.Event{ID: id1, State: job.Started, Phase: job.PhaseUploading, Worker: "w1", Attempt: 1, At: f.now})
	f.want("late events of the lost run", id1, job.Queued, job.ReasonWorkerLost, 1)

	f.takes("w2", id1, 2, 1)
	f.want("the next run", id1, job.Started, "", 2)
	f.tr.event(job.Event{ID: id1, State: job.Done, Worker: "w2", Attempt: 2, At: f.now})
	f.want("its end", id1, job.Done, "", 2)
}

// On its last delivery (returns >= DELIVERY_LIMIT: the broker dead-letters
// the message when its worker dies) the job fails with the delivery-limit
// reason. That is the tracker's conclusion, not an event: a later run of
// the job (it was not dead after all, or was replayed from the dead
// letters) still wins, and so does an entry in the gallery.
func TestAJobLostOnItsLastDeliveryFails(t *testing.T) {
	t.Parallel()
	f := newLostFixture(t, nil, Options{DeliveryLimit: 2})
	f.queued(id1, id2)
	f.takes("w1", id1, 1, 0)
	f.worker("w1", job.WorkerStarting, "", 0, 0) // its process started anew: the run is lost at once
	f.want("returns 0", id1, job.Queued, job.ReasonWorkerLost, 1)
	f.takes("w2", id1, 2, 1)
	f.worker("w2", job.WorkerStarting, "", 0, 0)
	f.want("returns 1", id1, job.Queued, job.ReasonWorkerLost, 2)
	f.takes("w3", id1, 3, 2)
	f.after(46 * time.Second)
	f.tr.expireWorkers()
	j := f.want("returns 2, the limit", id1, job.Failed, job.ReasonGaveUp, 3)
	if !j.Terminal() || j.Position != 0 || j.FinishedAt.IsZero() || j.Reason != job.ReasonGaveUp.Text() {
		t.Errorf("failed: %+v", j)
	}
	if j2 := f.job(id2); j2.Position != 1 {
		t.Errorf("the job behind it is at %d, want 1", j2.Position)
	}
	// A late event of the lost run, or a repeat of an earlier one, changes
	// nothing.
	f.tr.event(job.Event{ID: id1, State: job.Retrying, Attempt: 3, Reason: "exit status 1", At: f.now})
	f.tr.event(job.Event{ID: id1, State: job.Queued, At: f.now})
	f.want("late events", id1, job.Failed, job.ReasonGaveUp, 3)
	// It runs again after all.
	f.takes("w4", id1, 4, 0)
	f.want("a later run", id1, job.Started, "", 4)

	// A gallery entry ends a job failed by conclusion, on Get and in the
	// reconcile.
	g := newFakeGallery()
	f2 := newLostFixture(t, nil, Options{DeliveryLimit: 1})
	f2.tr.gallery = g
	f2.queued(id3)
	f2.takes("w1", id3, 2, 1)
	f2.worker("w1", job.WorkerStopped, "", 0, 0)
	f2.want("stopped on the last delivery", id3, job.Failed, job.ReasonGaveUp, 2)
	g.add(id3, true)
	if j, _ := f2.tr.Get(context.Background(), id3); j.State != job.Done {
		t.Errorf("Get after the gallery entry: %s", j.State)
	}
}

// A worker that leaves its run without its job's outcome has lost it: its
// process started anew under the same name (a container restarted in its
// pod), it stopped, or it is idle or busy with another job. A worker whose
// job's outcome came first (its events go out in that order), or that stops
// while its job finishes within its grace, loses nothing.
func TestAWorkerThatLeavesItsRunWithoutAnOutcomeLosesIt(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name  string
		after []job.WorkerState
	}{
		{"starting anew", []job.WorkerState{job.WorkerStarting}},
		{"stopped", []job.WorkerState{job.WorkerStopped}},
		{"stopping, then stopped", []job.WorkerState{job.WorkerStopping, job.WorkerStopped}},
		{"idle", []job.WorkerState{job.WorkerIdle}},
		{"busy with another", []job.WorkerState{job.WorkerBusy}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newLostFixture(t, nil, Options{})
			f.queued(id1, id2)
			f.takes("w1", id1, 1, 0)
			for _, s := range c.after {
				id := ""
				if s == job.WorkerBusy {
					id = id2
				}
				f.worker("w1", s, id, 1, 0)
			}
			f.want(c.name, id1, job.Queued, job.ReasonWorkerLost, 1)
		})
	}
	t.Run("outcome first", func(t *testing.T) {
		t.Parallel()
		f := newLostFixture(t, nil, Options{})
		f.queued(id1, id2, id3)
		f.takes("w1", id1, 1, 0)
		f.tr.event(job.Event{ID: id1, State: job.Done, Worker: "w1", Attempt: 1, At: f.now})
		f.worker("w1", job.WorkerIdle, "", 0, 0)
		f.takes("w1", id2, 1, 0)
		f.tr.event(job.Event{ID: id2, State: job.Retrying, Worker: "w1", Attempt: 1, Reason: "exit status 1", At: f.now})
		f.takes("w1", id3, 1, 0)
		f.worker("w1", job.WorkerStopping, "", 0, 0)
		f.tr.event(job.Event{ID: id3, State: job.Queued, Worker: "w1", Attempt: 1, Reason: "back in the queue: stopped by shutdown", At: f.now})
		f.worker("w1", job.WorkerStopped, "", 0, 0)
		f.want("done", id1, job.Done, "", 1)
		f.want("retried", id2, job.Retrying, job.ReasonGenerator, 1)
		f.want("given back", id3, job.Queued, job.ReasonWorkerStopped, 1)
	})
	t.Run("finished within the grace", func(t *testing.T) {
		t.Parallel()
		f := newLostFixture(t, nil, Options{})
		f.queued(id1)
		f.takes("w1", id1, 1, 0)
		f.worker("w1", job.WorkerStopping, "", 0, 0)
		f.want("stopping", id1, job.Started, "", 1)
		f.tr.event(job.Event{ID: id1, State: job.Done, Worker: "w1", Attempt: 1, At: f.now})
		f.worker("w1", job.WorkerStopped, "", 0, 0)
		f.want("stopped", id1, job.Done, "", 1)
	})
}

// A job that moved on to another worker is not lost with the first one, and
// a worker restarted under the same name that took the job again runs it.
func TestOnlyTheRunOfTheLostWorkerIsLost(t *testing.T) {
	t.Parallel()
	f := newLostFixture(t, nil, Options{})
	f.queued(id1)
	f.takes("w1", id1, 1, 0)
	f.after(10 * time.Second)
	f.takes("w2", id1, 2, 1) // w1's connection died first: the broker gave it to w2
	f.after(40 * time.Second)
	f.worker("w2", job.WorkerBusy, id1, 2, 1)
	f.tr.expireWorkers() // w1 silent for 50 s
	f.want("w1 forgotten", id1, job.Started, "", 2)
	if fl := f.tr.Fleet(); len(fl.Workers) != 1 || fl.Workers[0].Name != "w2" {
		t.Errorf("fleet %+v", fl)
	}

	f.worker("w2", job.WorkerStarting, "", 0, 0) // restarted in its pod
	f.want("w2 started anew", id1, job.Queued, job.ReasonWorkerLost, 2)
	f.takes("w2", id1, 3, 2)
	f.want("taken again by the same name", id1, job.Started, "", 3)
	if j := f.job(id1); j.Worker != "w2" {
		t.Errorf("worker %q", j.Worker)
	}
}

// A busy worker names its job, attempt and returns in its heartbeats: a
// job whose running event was lost is taken as started with them, and lost
// with them on the last delivery.
func TestABusyHeartbeatStandsForALostRunningEvent(t *testing.T) {
	t.Parallel()
	f := newLostFixture(t, nil, Options{DeliveryLimit: 3})
	f.queued(id1)
	f.worker("w1", job.WorkerBusy, id1, 4, 3) // failures 0, returns 3: its fourth run
	f.want("busy", id1, job.Started, "", 4)
	f.worker("w1", job.WorkerIdle, "", 0, 0) // and no outcome
	f.want("idle", id1, job.Failed, job.ReasonGaveUp, 4)
}
