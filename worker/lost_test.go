package worker

import (
	"context"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// A job's events and its busy worker's events carry the broker's return
// count of the delivery (and the busy event the attempt): a webui that
// loses the worker tells from them whether the broker puts the job back or
// dead-letters it.
func TestEventsCarryTheReturnsOfTheDelivery(t *testing.T) {
	t.Parallel()
	f := setup(t)
	d := newDelivery(jobID, `{"prompt":"x"}`)
	d.returns, d.failures = 2, 1
	f.runOne(d)
	for _, e := range f.status.jobEvents() {
		if e.Returns != 2 || e.Attempt != 4 {
			t.Errorf("%s event: returns %d attempt %d, want 2 and 4", e.State, e.Returns, e.Attempt)
		}
	}
	busy := 0
	f.status.mu.Lock()
	for _, e := range f.status.events {
		if e.IsWorker() && e.WorkerState == job.WorkerBusy {
			busy++
			if e.ID != jobID || e.Returns != 2 || e.Attempt != 4 {
				t.Errorf("busy event %+v", e)
			}
		}
	}
	f.status.mu.Unlock()
	if busy == 0 {
		t.Error("no busy event")
	}
}

// A job given back on its last delivery (Returns >= DELIVERY_LIMIT) is
// dead-lettered by the broker, not put back: its event says failed, with
// the delivery limit as its reason; on an earlier delivery it says queued.
func TestAJobGivenBackOnItsLastDeliveryFails(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		returns int
		want    job.State
		kind    job.ReasonKind
	}{{1, job.Queued, job.ReasonStore}, {2, job.Failed, job.ReasonGaveUp}} {
		t.Run(strconv.Itoa(c.returns), func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			f.cfg.DeliveryLimit = 2
			f.cfg.JobTimeout = time.Second
			f.store.failAll = true
			d := newDelivery(jobID, `{"prompt":"x"}`)
			d.returns = c.returns
			f.runOne(d)
			if kinds, _ := d.settled(t); !slices.Equal(kinds, []string{"requeue"}) {
				t.Fatalf("settles: %v", kinds)
			}
			if e := f.status.last(); e.State != c.want || job.ClassifyReason(e.Reason) != c.kind {
				t.Errorf("returns %d: event %s %q, want %s (%s)", c.returns, e.State, e.Reason, c.want, c.kind)
			}
		})
	}
}

// slowStatus publishes slowly, so that events pile up behind it.
type slowStatus struct {
	fakeStatus
}

func (s *slowStatus) PublishStatus(ctx context.Context, e job.Event) error {
	time.Sleep(50 * time.Microsecond)
	return s.fakeStatus.PublishStatus(ctx, e)
}

// A worker's state never overtakes the jobs' events sent before it: a webui
// that saw a worker go idle before the outcome of its job would take the
// job for lost.
func TestAWorkerStateNeverOvertakesTheJobsEvents(t *testing.T) {
	t.Parallel()
	pub := &slowStatus{}
	ev := newEvents(pub, testLogger(t))
	const n = 300
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range n {
			for len(ev.ch) > 100 { // a backlog, within the buffer: no job event is dropped
				time.Sleep(time.Millisecond)
			}
			ev.send(job.Event{ID: strconv.Itoa(i), State: job.Done})
			ev.send(job.Event{Kind: job.KindWorker, Worker: "w", WorkerState: job.WorkerIdle, ID: strconv.Itoa(i)})
		}
	})
	wg.Wait()
	ev.close(30 * time.Second)
	done, states := -1, 0
	if got := len(pub.jobEvents()); got != n {
		t.Fatalf("%d job events published, want %d", got, n)
	}
	for _, e := range pub.events {
		i, _ := strconv.Atoi(e.ID)
		if !e.IsWorker() {
			done = i
			continue
		}
		states++
		if i > done {
			t.Fatalf("the worker's state after job %d went out before that job's event (last job event: %d)", i, done)
		}
	}
	if states == 0 {
		t.Fatal("no worker event published")
	}
}
