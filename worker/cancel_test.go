package worker

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/store"
)

// mustNotRun is a generator that fails the test when it runs.
func mustNotRun(t *testing.T) Generator {
	return genFunc(func(context.Context, job.Message, string) (Result, error) {
		t.Error("the generator ran a cancelled job")
		return Result{}, errors.New("must not run")
	})
}

func cancelMarker(t *testing.T, s *fakeStore, id string) {
	t.Helper()
	if err := s.Put(context.Background(), store.CancelKey(id), bytes.NewReader(nil), 0, "text/plain"); err != nil {
		t.Fatal(err)
	}
}

// A job whose cancel marker is in the store is acked without running, and
// its cancelled event names the attempt that did not run.
func TestCancelledJobIsAckedUnrun(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.gen = mustNotRun(t)
	cancelMarker(t, f.store, jobID)
	d := newDelivery(jobID, `{"prompt":"x","seed":5}`)
	d.failures, d.returns = 1, 1
	f.runOne(d)
	if kinds, _ := d.settled(t); !slices.Equal(kinds, []string{"ack"}) {
		t.Fatalf("settles: %v", kinds)
	}
	if got := f.status.states(); !slices.Equal(got, []job.State{job.Cancelled}) {
		t.Errorf("events: %v", got)
	}
	if e := f.status.last(); e.ID != jobID || e.Attempt != 3 {
		t.Errorf("cancelled event %+v: want attempt 3 (failures + returns + 1)", e)
	}
	if got := f.store.putOrder(); len(got) != 1 {
		t.Errorf("stored %v: want the marker alone", got)
	}
}

// A store that cannot say whether the job was cancelled gives it back: the
// job neither runs unchecked nor is lost.
func TestCancelCheckOnAStoreThatIsDownRequeues(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.gen = mustNotRun(t)
	f.cfg.JobTimeout = 500 * time.Millisecond
	f.store.failStat = true
	f.wantRequeuedStoreUnreachable()
}

// A one-shot worker (a ScaledJob's pod) that reaches a cancelled message
// takes the next one: KEDA started it for a job that waits.
func TestOneShotWorkerRunsTheJobAfterACancelledOne(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.cfg.ExitAfterOneTask = true
	const other = "6f1d3c3e-0b7a-4e55-9f43-3f8e3b7c9a10"
	cancelMarker(t, f.store, jobID)
	d1, d2 := newDelivery(jobID, `{"prompt":"cancelled"}`), newDelivery(other, `{"prompt":"wanted"}`)
	var ran []string
	f.gen = genFunc(func(ctx context.Context, m job.Message, dir string) (Result, error) {
		ran = append(ran, m.Prompt)
		return Placeholder{}.Generate(ctx, m, dir)
	})
	shared := newConsumer(d1, d2)
	w := f.worker()
	w.d.Consume = func(context.Context) (queue.Consumer, error) {
		// Each subscription is a new consumer on the same queue.
		return &fakeConsumer{ch: shared.ch, stopCh: make(chan struct{})}, nil
	}
	if err := w.Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, d := range []*fakeDelivery{d1, d2} {
		if kinds, _ := d.settled(t); !slices.Equal(kinds, []string{"ack"}) {
			t.Errorf("%s: settles %v", d.id, kinds)
		}
	}
	if !slices.Equal(ran, []string{"wanted"}) {
		t.Errorf("ran %v, want the second job alone", ran)
	}
}
