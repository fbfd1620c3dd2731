package status

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

const (
	id1 = "11111111-1111-4111-8111-111111111111"
	id2 = "22222222-2222-4222-8222-222222222222"
	id3 = "33333333-3333-4333-8333-333333333333"
)

// newTestTracker is a tracker on a clock of the test's, without a queue or
// gallery (Run is not called); changes collects what subscribers get.
func newTestTracker(now *time.Time, o Options) (*Tracker, func() []Job) {
	o.Now = func() time.Time { return *now }
	t := New(nil, nopGallery{}, o)
	ch, _ := t.Changes(1 << 16)
	var got []Job
	return t, func() []Job {
		for {
			select {
			case c := <-ch:
				got = append(got, c.Job)
			default:
				return got
			}
		}
	}
}

func TestTrackerNeverGoesBack(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, changes := newTestTracker(&now, Options{})
	at := func(s int) time.Time { return now.Add(time.Duration(s) * time.Second) }
	steps := []struct {
		e    job.Event
		want job.State
	}{
		{job.Event{ID: id1, State: job.Started, Attempt: 1, At: at(2), Worker: "w1"}, job.Started}, // overtook queued
		{job.Event{ID: id1, State: job.Queued, Prompt: "dog", At: at(1)}, job.Started},
		{job.Event{ID: id1, State: job.Retrying, Attempt: 1, Reason: "oom", At: at(3)}, job.Retrying},
		{job.Event{ID: id1, State: job.Started, Attempt: 1, At: at(2)}, job.Retrying}, // duplicate of the first run
		{job.Event{ID: id1, State: job.Started, Attempt: 2, At: at(4)}, job.Started},
		{job.Event{ID: id1, State: job.Done, Attempt: 2, At: at(9), Objects: []string{id1 + "-1.png", id1 + ".json"}}, job.Done},
		{job.Event{ID: id1, State: job.Started, Attempt: 3, At: at(10)}, job.Done},
		{job.Event{ID: id1, State: job.Failed, Reason: "late", At: at(11)}, job.Done},
	}
	for i, s := range steps {
		j, _ := tr.Apply(s.e)
		if j.State != s.want {
			t.Fatalf("step %d (%s): state %s, want %s", i, s.e.State, j.State, s.want)
		}
	}
	j, _ := tr.table.get(id1)
	if j.Prompt != "dog" || j.Worker != "w1" || len(j.Images) != 1 || j.Images[0] != id1+"-1.png" ||
		!j.StartedAt.Equal(at(4)) || !j.FinishedAt.Equal(at(9)) {
		t.Errorf("job %+v", j)
	}
	if len(changes()) != 4 {
		t.Errorf("%d changes reported, want 4 (one per step forward)", len(changes()))
	}
}

// A worker that gives a job back (shutdown) sends queued with its attempt:
// the job is in line again, in its place (the broker returns the message to
// the head), then runs again.
func TestTrackerJobGivenBackIsQueuedAgain(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, _ := newTestTracker(&now, Options{})
	tr.Apply(job.Event{ID: id1, State: job.Queued, At: now})
	tr.Apply(job.Event{ID: id2, State: job.Queued, At: now.Add(time.Second)})
	tr.Apply(job.Event{ID: id1, State: job.Started, Attempt: 1, At: now.Add(2 * time.Second)})
	j, changed := tr.Apply(job.Event{ID: id1, State: job.Queued, Attempt: 1, Reason: "back in the queue: stopped by shutdown during generation", At: now.Add(3 * time.Second)})
	if !changed || j.State != job.Queued || j.Position != 1 || j.ReasonKind != job.ReasonWorkerStopped || j.Reason != "its worker stopped" {
		t.Fatalf("given back: %+v", j)
	}
	if j, _ = tr.Apply(job.Event{ID: id1, State: job.Queued, At: now}); j.Position != 1 {
		t.Errorf("the webui's own late queued event moved it: %+v", j)
	}
	if j, _ = tr.Apply(job.Event{ID: id1, State: job.Started, Attempt: 2}); j.State != job.Started || j.Reason != "" || j.ReasonKind != "" {
		t.Errorf("second run: %+v", j)
	}
}

func TestTrackerPositionsFollowSubmitTime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, _ := newTestTracker(&now, Options{})
	for i, id := range []string{id3, id1, id2} { // id3 first in line
		tr.Apply(job.Event{ID: id, State: job.Queued, At: now.Add(time.Duration(i) * time.Second)})
	}
	pos := func(id string) int { j, _ := tr.table.get(id); return j.Position }
	if pos(id3) != 1 || pos(id1) != 2 || pos(id2) != 3 {
		t.Fatalf("positions %d %d %d", pos(id3), pos(id1), pos(id2))
	}
	tr.Apply(job.Event{ID: id3, State: job.Started, Attempt: 1})
	if pos(id1) != 1 || pos(id2) != 2 || pos(id3) != 0 {
		t.Errorf("after the first started: %d %d %d", pos(id1), pos(id2), pos(id3))
	}
	// A job given back by its worker keeps its place: the broker returns
	// the message to the head.
	tr.Apply(job.Event{ID: id3, State: job.Queued, Attempt: 1, Reason: "back in the queue: stopping", At: now.Add(time.Minute)})
	if pos(id3) != 1 || pos(id1) != 2 || pos(id2) != 3 {
		t.Errorf("after a give-back: %d %d %d, want 1 2 3", pos(id3), pos(id1), pos(id2))
	}
	// A retried job is published anew: the tail of the line.
	tr.Apply(job.Event{ID: id3, State: job.Started, Attempt: 2})
	tr.Apply(job.Event{ID: id3, State: job.Retrying, Attempt: 2, At: now.Add(2 * time.Minute)})
	if pos(id3) != 3 {
		t.Errorf("retried job at %d, want 3", pos(id3))
	}
}

func TestTrackerForgetsOldFinishedJobsAndStaysBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, _ := newTestTracker(&now, Options{MaxJobs: 100})
	tr.Apply(job.Event{ID: id1, State: job.Done, At: now})
	tr.Apply(job.Event{ID: id2, State: job.Queued, At: now})
	now = now.Add(61 * time.Minute)
	tr.Prune()
	if _, ok := tr.table.get(id1); ok {
		t.Error("a job finished an hour ago is still there")
	}
	if _, ok := tr.table.get(id2); !ok {
		t.Error("a queued job was forgotten")
	}
	for i := range 1000 {
		tr.Apply(job.Event{ID: fmt.Sprintf("00000000-0000-4000-8000-%012d", i), State: job.Queued})
	}
	if n := tr.Len(); n > 100 {
		t.Errorf("%d jobs kept, limit 100", n)
	}
}

// The line kept sorted gives the same places as counting, whatever the
// order of events.
func TestTrackerLineMatchesCounting(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, _ := newTestTracker(&now, Options{MaxJobs: 50})
	rng := rand.New(rand.NewPCG(1, 2))
	states := []job.State{job.Queued, job.Queued, job.Started, job.Retrying, job.Done, job.Failed}
	ids := make([]string, 80)
	for i := range ids {
		ids[i] = fmt.Sprintf("00000000-0000-4000-8000-%012d", i)
	}
	for step := range 5000 {
		now = now.Add(time.Duration(rng.IntN(3)) * time.Second)
		e := job.Event{ID: ids[rng.IntN(len(ids))], State: states[rng.IntN(len(states))],
			Attempt: 1 + rng.IntN(3), At: now.Add(-time.Duration(rng.IntN(5)) * time.Second)}
		tr.Apply(e)
		if step%50 == 0 {
			tr.Prune()
		}
		tb := tr.table
		tb.mu.Lock()
		for _, j := range tb.jobs {
			want := 0
			if j.Waiting() {
				want = 1
				for _, o := range tb.jobs {
					if o != j && o.Waiting() && inFront(o, j) {
						want++
					}
				}
			}
			got := 0
			if j.Waiting() {
				got = tb.place(j) + 1
				if tb.line[got-1] != j {
					t.Fatalf("step %d: %s not at its place", step, j.ID)
				}
			}
			if got != want {
				t.Fatalf("step %d: %s at %d, counting says %d", step, j.ID, got, want)
			}
		}
		waiting := 0
		for _, j := range tb.jobs {
			if j.Waiting() {
				waiting++
			}
		}
		if waiting != len(tb.line) {
			t.Fatalf("step %d: %d waiting, %d in line", step, waiting, len(tb.line))
		}
		tb.mu.Unlock()
	}
}

// A worker's reason may carry the generator's stderr tail: the job holds
// its class and a few words, the log the words (issue 12, D9).
func TestTrackerKeepsTheClassOfAReasonNotItsWords(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var log testenv.Buffer
	tr, changes := newTestTracker(&now, Options{Log: slog.New(slog.NewTextHandler(&log, nil))})
	tail := "fastsdcpu exit status 1: Traceback (most recent call last):\n  File \"/app/src/backend/lcm.py\"\nRuntimeError: CUDA out of memory"
	tr.Apply(job.Event{ID: id1, State: job.Retrying, Attempt: 1, Reason: tail})
	j, _ := tr.Apply(job.Event{ID: id1, State: job.Failed, Attempt: 2, Reason: "fastsdcpu exit status 1: Traceback (most recent call last): /srv/secret.py"})
	if j.State != job.Failed || j.ReasonKind != job.ReasonGenerator || j.Reason != "generator error" {
		t.Errorf("failed: %+v", j)
	}
	for _, c := range changes() {
		if strings.Contains(c.Reason, "Traceback") || strings.Contains(c.Reason, "/app") {
			t.Errorf("a change carries the worker's words: %q", c.Reason)
		}
	}
	if got, _ := tr.Get(context.Background(), id1); got.Reason != "generator error" {
		t.Errorf("Get: %q", got.Reason)
	}
	if !strings.Contains(log.String(), "reason_kind=out_of_memory") || !strings.Contains(log.String(), "/srv/secret.py") ||
		!strings.Contains(log.String(), "job_id="+id1) {
		t.Errorf("the log lacks the worker's words:\n%s", log.String())
	}
}

// A cancel names the attempt that does not run: the worker's own cancelled
// event changes nothing visible, and a running event of that attempt (the
// worker took the message before the marker was written) outranks it.
func TestTrackerCancelledRanksBelowTheRunItStops(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tr, _ := newTestTracker(&now, Options{})
	seed := int64(7)
	tr.Apply(job.Event{ID: id1, State: job.Queued, Prompt: "dog", Seed: &seed, Width: 640, Height: 384, At: now})
	tr.Apply(job.Event{ID: id2, State: job.Queued, At: now.Add(time.Second)})
	j, changed := tr.Apply(job.Event{ID: id1, State: job.Cancelled, Attempt: 1, Reason: "cancelled"})
	if !changed || j.State != job.Cancelled || !j.Terminal() || j.Waiting() {
		t.Fatalf("cancelled: %+v", j)
	}
	if j, _ := tr.table.get(id2); j.Position != 1 {
		t.Errorf("the job behind a cancelled one is at %d, want 1", j.Position)
	}
	if j, _ := tr.Apply(job.Event{ID: id1, State: job.Queued}); j.State != job.Cancelled {
		t.Errorf("a late queued event undid the cancel: %+v", j)
	}
	if j2, _ := tr.Apply(job.Event{ID: id1, State: job.Cancelled, Attempt: 1, Worker: "w1"}); j2.State != job.Cancelled || j2.Rank() != j.Rank() {
		t.Errorf("the worker's cancelled event of the same attempt moved the job: %+v", j2)
	}
	if j, _ := tr.Apply(job.Event{ID: id1, State: job.Started, Attempt: 1}); j.State != job.Started {
		t.Errorf("the run the cancel came too late for does not show: %+v", j)
	}
	// A retrying job cancelled: the next attempt is the one that does not run.
	tr.Apply(job.Event{ID: id3, State: job.Retrying, Attempt: 1, Reason: "oom"})
	if j, _ := tr.Apply(job.Event{ID: id3, State: job.Cancelled, Attempt: 2}); j.State != job.Cancelled {
		t.Errorf("retrying job not cancelled: %+v", j)
	}
	if j, _ := tr.Apply(job.Event{ID: id3, State: job.Retrying, Attempt: 1}); j.State != job.Cancelled {
		t.Errorf("a late retrying event undid the cancel: %+v", j)
	}
	j, _ = tr.table.get(id1)
	if j.Seed == nil || *j.Seed != 7 || j.Settings.Width != 640 || j.Settings.Height != 384 {
		t.Errorf("settings of the queued event lost: seed %v %+v", j.Seed, j.Settings)
	}
}
