package status

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/memq"
	"github.com/sdkeda/sdkeda/internal/store"
)

func testID(i int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", i) }

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// deadLetter puts a message for id in q and dead-letters it, as a worker
// does with a job that failed for good.
func deadLetter(t *testing.T, ctx context.Context, q *memq.Queue, id, reason string) {
	t.Helper()
	if err := q.Publish(ctx, queue.Message{ID: id, Body: []byte(`{"prompt":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	c, err := q.Consume(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	d, err := c.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Dead(ctx, reason); err != nil {
		t.Fatal(err)
	}
}

// A job whose last event was lost is not left queued: Get finds its end in
// the gallery (done) or the dead letters (failed), records it and tells the
// subscribers. A job the tracker never held is answered but not kept.
func TestGetFindsTheEndOfAJobWhoseEventWasLost(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t, 10*time.Second)
	q := memq.New(queue.Options{})
	g := newFakeGallery()
	tr := New(q, g, Options{})
	changes, _ := tr.Changes(16)
	tr.Apply(job.Event{ID: testID(1), State: job.Queued, Prompt: "a fox"})
	tr.Apply(job.Event{ID: testID(2), State: job.Started, Attempt: 1})
	<-changes
	<-changes
	g.add(testID(1), true)
	deadLetter(t, ctx, q, testID(2), "the generator exited with status 1")

	if j, ok := tr.Get(ctx, testID(1)); !ok || j.State != job.Done || len(j.Images) != 1 || j.Prompt != "a fox" {
		t.Errorf("done in the gallery: %+v", j)
	}
	if j, ok := tr.Get(ctx, testID(2)); !ok || j.State != job.Failed || j.Reason != "generator error" {
		t.Errorf("dead-lettered: %+v", j)
	}
	for _, want := range []job.State{job.Done, job.Failed} {
		if c := <-changes; c.Kind != JobChanged || c.Job.State != want {
			t.Errorf("change %+v, want %s", c, want)
		}
	}

	g.add(testID(3), true)
	if j, ok := tr.Get(ctx, testID(3)); !ok || j.State != job.Done || j.Prompt != "from the gallery" || j.Worker != "w9" {
		t.Errorf("only in the gallery: %+v", j)
	}
	if _, ok := tr.Get(ctx, testID(4)); ok {
		t.Error("an unknown job was found")
	}
	if n := tr.Len(); n != 2 {
		t.Errorf("%d jobs held; looking up others must not add them", n)
	}
}

// The webui subscribes before it serves: an event published between
// Subscribe and Run is not missed.
func TestSubscribeBeforeRunMissesNothing(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(ctxT(t, 10*time.Second))
	q := memq.New(queue.Options{})
	tr := New(q, nopGallery{}, Options{})
	if err := tr.Subscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if err := q.PublishStatus(ctx, job.Event{ID: testID(1), State: job.Failed, Reason: "bad"}); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tr.Run(ctx) }()
	waitUntil(t, ctx, "the failed event is applied", func() bool {
		j, _ := tr.table.get(testID(1))
		return j.State == job.Failed
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// A done event tells the gallery index the job's objects; an entry that
// enters the gallery ends a job whose done event never came.
func TestDoneEventsAndGalleryEntriesMeet(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(ctxT(t, 10*time.Second))
	defer cancel()
	q := memq.New(queue.Options{})
	g := newFakeGallery()
	tr := New(q, g, Options{Reconcile: time.Hour}) // the gallery's event alone must do it
	if err := tr.Subscribe(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { _ = tr.Run(ctx) }()
	objects := []string{store.ImageKey(testID(1), 1), store.MetadataKey(testID(1))}
	if err := q.PublishStatus(ctx, job.Event{ID: testID(1), State: job.Done, Objects: objects}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "the index is told the objects", func() bool { return len(g.notifiedKeys()) == 2 })

	tr.Apply(job.Event{ID: testID(2), State: job.Started, Attempt: 1})
	g.add(testID(2), false)
	waitUntil(t, ctx, "the entry ends the job", func() bool {
		j, _ := tr.table.get(testID(2))
		return j.State == job.Done
	})
	// The done event, later, still brings what the entry did not tell.
	seed := int64(9)
	d := map[string]float64{job.DurationGeneration: 2, job.DurationUpload: 0.1}
	if err := q.PublishStatus(ctx, job.Event{ID: testID(2), State: job.Done, Seed: &seed, Durations: d}); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, ctx, "the late done event's seed and durations are kept", func() bool {
		j, _ := tr.table.get(testID(2))
		return j.Seed != nil && *j.Seed == 9 && len(j.Durations) == 2
	})
}

// flaky is a status subscription that the test breaks: the stream ends, and
// until heal every subscribe fails, so the events published meanwhile reach
// nobody, as with a connection lost for a while.
type flaky struct {
	*memq.Queue
	mu     sync.Mutex
	broken bool
	cancel context.CancelFunc
}

func (f *flaky) SubscribeStatus(ctx context.Context) (<-chan job.Event, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.broken {
		return nil, errors.New("connection refused")
	}
	ctx, f.cancel = context.WithCancel(ctx)
	return f.Queue.SubscribeStatus(ctx)
}

func (f *flaky) breakIt() { f.mu.Lock(); f.broken = true; f.cancel(); f.mu.Unlock() }
func (f *flaky) heal()    { f.mu.Lock(); f.broken = false; f.mu.Unlock() }

// The status subscription is forced to reconnect while the events of the
// jobs' ends are dropped: every job still ends (done from the gallery,
// failed from the dead letters) within 2 s of the worker's decision.
func TestJobsEndWhenTheirEventsAreDroppedDuringAReconnect(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(ctxT(t, 30*time.Second))
	defer cancel()
	q := &flaky{Queue: memq.New(queue.Options{})}
	g := newFakeGallery()
	tr := New(q, g, Options{})
	if err := tr.Subscribe(ctx); err != nil {
		t.Fatal(err)
	}
	go func() { _ = tr.Run(ctx) }()
	const n = 100
	for i := range n {
		tr.Apply(job.Event{ID: testID(i), State: job.Started, Attempt: 1})
	}

	q.breakIt()
	decided := make([]time.Time, n)
	for i := range n {
		if i%2 == 0 {
			g.add(testID(i), true) // its notification lost too
		} else {
			deadLetter(t, ctx, q.Queue, testID(i), "out of memory")
		}
		decided[i] = time.Now()
		state := job.Done
		if i%2 == 1 {
			state = job.Failed
		}
		_ = q.PublishStatus(ctx, job.Event{ID: testID(i), State: state}) // reaches nobody
	}
	time.Sleep(300 * time.Millisecond)
	q.heal()

	ended := make([]time.Time, n)
	waitUntil(t, ctx, "every job ends", func() bool {
		all := true
		for i := range n {
			if !ended[i].IsZero() {
				continue
			}
			if j, _ := tr.table.get(testID(i)); j.Terminal() {
				ended[i] = time.Now()
			} else {
				all = false
			}
		}
		return all
	})
	var worst time.Duration
	for i := range n {
		worst = max(worst, ended[i].Sub(decided[i]))
	}
	t.Logf("slowest job ended %s after the worker's decision", worst.Round(time.Millisecond))
	if worst > 2*time.Second {
		t.Errorf("a job ended %s after the worker's decision, want at most 2s", worst)
	}
}

func waitUntil(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting until %s", what)
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// The embedded queue keeps its dead letters, which the reconcile reads: its
// answer and the lost worker's agree. A consumer killed holding a job (its
// worker crashed) returns it below the delivery limit (the job is queued,
// no dead letter) and dead-letters it on the last delivery (failed, the
// delivery limit, either way).
func TestLostWorkersAndMemqDeadLettersAgree(t *testing.T) {
	t.Parallel()
	ctx := ctxT(t, 10*time.Second)
	q := memq.New(queue.Options{DeliveryLimit: 1})
	f := newLostFixture(t, q, Options{DeliveryLimit: 1})
	f.queued(id1)
	if err := q.Publish(ctx, queue.Message{ID: id1, Body: []byte(`{"prompt":"x"}`)}); err != nil {
		t.Fatal(err)
	}
	for attempt := 1; attempt <= 2; attempt++ {
		c, err := q.Consume(ctx)
		if err != nil {
			t.Fatal(err)
		}
		d, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		f.takes("embedded", id1, attempt, d.Returns())
		c.(*memq.Consumer).Kill()
		f.worker("embedded", job.WorkerStarting, "", 0, 0) // the supervisor restarts it
		f.tr.reconcile(ctx)
		if attempt == 1 {
			f.want("killed below the limit", id1, job.Queued, job.ReasonWorkerLost, 1)
			if _, _, dead := q.DeadReason(id1); dead {
				t.Fatal("memq dead-lettered it below the limit")
			}
			continue
		}
		// The dead letter's event names no attempt.
		if j := f.job(id1); j.State != job.Failed || j.ReasonKind != job.ReasonGaveUp || j.gaveUp {
			t.Errorf("killed on the last delivery: %s (%q), concluded only: %v", j.State, j.ReasonKind, j.gaveUp)
		}
	}
}
