package status

import (
	"context"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/memq"
)

func seed(n int64) *int64 { return &n }

// A running job's phases move forward within a run (a phase update has the
// state and attempt of the one before, and must not be dropped); a later
// run starts again; a done event brings the seed and the durations.
func TestPhasesMoveForwardWithinARun(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, changes := newTestTracker(&now, Options{})
	at := func(s int) time.Time { return now.Add(time.Duration(s) * time.Second) }
	run := func(attempt int, p job.Phase, s int) job.Event {
		return job.Event{ID: id1, State: job.Started, Attempt: attempt, Phase: p, At: at(s), Seed: seed(42)}
	}
	steps := []struct {
		e         job.Event
		state     job.State
		phase     job.Phase
		startedAt int
	}{
		{job.Event{ID: id1, State: job.Queued, At: at(0)}, job.Queued, "", -1},
		{run(1, job.PhaseLoading, 1), job.Started, job.PhaseLoading, 1},
		{run(1, "", 1), job.Started, job.PhaseLoading, 1}, // a plain running event, late
		{run(1, job.PhaseGenerating, 5), job.Started, job.PhaseGenerating, 1},
		{run(1, job.PhaseLoading, 1), job.Started, job.PhaseGenerating, 1}, // duplicate, late
		{run(1, job.PhaseUploading, 9), job.Started, job.PhaseUploading, 1},
		{job.Event{ID: id1, State: job.Retrying, Attempt: 1, Reason: "upload", At: at(10)}, job.Retrying, "", 1},
		{run(2, job.PhaseGenerating, 12), job.Started, job.PhaseGenerating, 12}, // a new run: no load this time
		{run(2, job.PhaseUploading, 20), job.Started, job.PhaseUploading, 12},
	}
	for i, s := range steps {
		j, _ := tr.Apply(s.e)
		if j.State != s.state || j.Phase != s.phase || s.startedAt >= 0 && !j.StartedAt.Equal(at(s.startedAt)) {
			t.Fatalf("step %d: %s %q started %s, want %s %q started %s", i, j.State, j.Phase, j.StartedAt, s.state, s.phase, at(s.startedAt))
		}
	}
	j, _ := tr.table.get(id1)
	if !j.PhaseAt.Equal(at(20)) || j.Seed == nil || *j.Seed != 42 {
		t.Errorf("phase since %s, seed %v", j.PhaseAt, j.Seed)
	}
	if n := len(changes()); n != 7 {
		t.Errorf("%d changes, want 7 (every step forward, the phases included)", n)
	}
	d := map[string]float64{job.DurationQueueWait: 1.5, job.DurationGeneration: 7, job.DurationUpload: 0.4}
	j, _ = tr.Apply(job.Event{ID: id1, State: job.Done, Attempt: 2, At: at(21), Seed: seed(42), Durations: d})
	d[job.DurationUpload] = 99 // the tracker keeps its own copy
	if j.Phase != "" || j.Seed == nil || *j.Seed != 42 || j.Durations[job.DurationGeneration] != 7 || j.Durations[job.DurationUpload] != 0.4 {
		t.Errorf("done: %+v", j)
	}
}

// The fleet follows the workers' lifecycle events: heartbeats change
// nothing, a stopped worker leaves, a silent one is forgotten after 3
// heartbeats; a busy worker's job, still in line here, has started.
func TestFleetFollowsTheWorkers(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, _ := newTestTracker(&now, Options{})
	ch, _ := tr.Changes(64)
	worker := func(name string, s job.WorkerState, id string) job.Event {
		return job.Event{Kind: job.KindWorker, Worker: name, WorkerState: s, ID: id, Generator: "placeholder", At: now}
	}
	fleetChanges := func() int {
		n := 0
		for {
			select {
			case c := <-ch:
				if c.Kind == FleetChanged {
					n++
				}
			default:
				return n
			}
		}
	}
	tr.Apply(job.Event{ID: id1, State: job.Queued, At: now})
	tr.Apply(job.Event{ID: id2, State: job.Queued, At: now.Add(time.Second)})
	fleetChanges()

	for _, e := range []job.Event{worker("w1", job.WorkerStarting, ""), worker("w1", job.WorkerLoading, ""),
		worker("w1", job.WorkerIdle, ""), worker("w2", job.WorkerStarting, "")} {
		tr.event(e)
	}
	tr.event(worker("w1", job.WorkerIdle, "")) // a heartbeat
	if n := fleetChanges(); n != 4 {
		t.Errorf("%d fleet changes, want 4 (none for the heartbeat)", n)
	}
	f := tr.Fleet()
	if f.Count(job.WorkerIdle) != 1 || f.Count(job.WorkerStarting) != 1 || len(f.Workers) != 2 || f.Workers[0].Generator != "placeholder" {
		t.Fatalf("fleet %+v", f)
	}

	// w1 takes id1, whose running event this webui never got.
	tr.event(worker("w1", job.WorkerBusy, id1))
	if j, _ := tr.table.get(id1); j.State != job.Started || j.Attempt != 1 || j.Worker != "w1" {
		t.Errorf("the busy worker's job: %+v", j)
	}
	if j, _ := tr.table.get(id2); j.Position != 1 {
		t.Errorf("the next job is at %d, want 1", j.Position)
	}
	if f := tr.Fleet(); f.Count(job.WorkerBusy) != 1 || f.Workers[0].JobID != id1 {
		t.Errorf("fleet %+v", f)
	}

	tr.event(worker("w2", job.WorkerStopped, ""))
	now = now.Add(30 * time.Second)
	tr.event(worker("w1", job.WorkerBusy, id1)) // heard of 30 s later
	now = now.Add(40 * time.Second)
	if changed, _ := tr.fleet.expire(now, time.Time{}); changed {
		t.Error("a worker heard of 40 s ago was forgotten (3 heartbeats are 45 s)")
	}
	now = now.Add(10 * time.Second)
	if changed, _ := tr.fleet.expire(now, time.Time{}); !changed || len(tr.Fleet().Workers) != 0 {
		t.Errorf("after 50 s of silence: %+v", tr.Fleet())
	}
}

// Run reads the queue's depth for the fleet table, and notes each change.
func TestFleetHasTheQueueDepth(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(ctxT(t, 10*time.Second))
	defer cancel()
	q := memq.New(queue.Options{})
	tr := New(q, nopGallery{}, Options{DepthEvery: 10 * time.Millisecond})
	ch, _ := tr.Changes(64)
	go func() { _ = tr.Run(ctx) }()
	for i := range 3 {
		if err := q.Publish(ctx, queue.Message{ID: testID(i), Body: []byte(`{}`)}); err != nil {
			t.Fatal(err)
		}
	}
	for {
		select {
		case c := <-ch:
			if c.Kind == FleetChanged && c.Fleet.Depth == 3 {
				return
			}
		case <-ctx.Done():
			t.Fatalf("no fleet change with depth 3; now %+v", tr.Fleet())
		}
	}
}

// The recent durations give the medians a person's estimate starts from.
func TestTypicalDurationsAreMedians(t *testing.T) {
	t.Parallel()
	now := time.Now()
	tr, _ := newTestTracker(&now, Options{})
	for i, g := range []float64{3, 1, 2, 100} {
		tr.event(job.Event{ID: testID(i), State: job.Done, Durations: map[string]float64{job.DurationGeneration: g, job.DurationUpload: 1}})
	}
	more := func(n int) {
		for range n {
			tr.event(job.Event{ID: testID(99), State: job.Done, Durations: map[string]float64{job.DurationUpload: 0.5}})
		}
	}
	more(40)
	if got := tr.Typical(); got[job.DurationGeneration] != 2.5 || got[job.DurationUpload] != 0.5 {
		t.Errorf("typical %v", got)
	}
	more(10) // only the last 50 count: the first four are gone
	if got := tr.Typical(); len(got) != 1 || got[job.DurationUpload] != 0.5 {
		t.Errorf("typical after 54 jobs: %v", got)
	}
}
