package worker

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// Modes and stopping, on fakes; the integration tests do the same with the
// real program, broker and store.

func TestOneShotTakesOneJobAndStopsConsuming(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.cfg.ExitAfterOneTask = true
	d1, d2 := newDelivery(jobID, `{"prompt":"one"}`), newDelivery("", `{"prompt":"two"}`)
	var stoppedDuringJob bool
	f.gen = genFunc(func(ctx context.Context, m job.Message, dir string) (Result, error) {
		stoppedDuringJob = f.cons.isStopped()
		return Placeholder{}.Generate(ctx, m, dir)
	})
	f.cons = newConsumer(d1, d2)
	if err := f.worker().Run(context.Background()); err != nil {
		t.Fatal(err)
	}
	if kinds, _ := d1.settled(t); !slices.Equal(kinds, []string{"ack"}) {
		t.Errorf("first: %v", kinds)
	}
	if !stoppedDuringJob {
		t.Error("the consumer was not stopped before the job ran")
	}
	if len(f.cons.ch) != 1 {
		t.Errorf("the second message was taken")
	}
}

func TestOneShotOnAnEmptyQueueReturnsAfterTheWait(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.cfg.ExitAfterOneTask = true
	f.cfg.EmptyQueueWait = 50 * time.Millisecond
	if err := f.worker().Run(context.Background()); err != nil {
		t.Fatalf("run: %v", err)
	}
}

func TestLoopRunsJobsUntilStopped(t *testing.T) {
	t.Parallel()
	f := setup(t)
	ds := []*fakeDelivery{newDelivery("job-a", `{"prompt":"a"}`), newDelivery("job-b", `{"prompt":"b"}`), newDelivery("job-c", `{"prompt":"c"}`)}
	for _, d := range ds {
		f.cons.ch <- d
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.worker().Run(ctx) }()
	for _, d := range ds {
		if kinds, _ := d.settled(t); !slices.Equal(kinds, []string{"ack"}) {
			t.Errorf("settles: %v", kinds)
		}
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("run: %v", err)
	}
	if !f.cons.isStopped() {
		t.Error("consumer not stopped")
	}
}

// blockingGen signals when it started and waits for release or ctx.
func blockingGen(started chan<- struct{}, release <-chan struct{}) Generator {
	return genFunc(func(ctx context.Context, m job.Message, dir string) (Result, error) {
		close(started)
		select {
		case <-release:
			return Placeholder{}.Generate(ctx, m, dir)
		case <-ctx.Done():
			return Result{}, context.Cause(ctx)
		}
	})
}

func TestStopLetsTheRunningJobFinishWithinTheGrace(t *testing.T) {
	t.Parallel()
	f := setup(t)
	started, release := make(chan struct{}), make(chan struct{})
	f.gen = blockingGen(started, release)
	d := newDelivery(jobID, `{"prompt":"x"}`)
	f.cons.ch <- d
	f.cons.ch <- newDelivery("", `{"prompt":"not taken"}`)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.worker().Run(ctx) }()
	<-started
	cancel() // SIGTERM
	waitFor(t, "consumer stopped", f.cons.isStopped)
	close(release)
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if kinds, _ := d.settled(t); !slices.Equal(kinds, []string{"ack"}) {
		t.Errorf("settles: %v", kinds)
	}
	if len(f.cons.ch) != 1 {
		t.Error("a job was taken after the stop")
	}
}

func TestStopPastTheGraceRequeues(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.cfg.ShutdownGrace = 10 * time.Millisecond
	started := make(chan struct{})
	f.gen = blockingGen(started, nil)
	d := newDelivery(jobID, `{"prompt":"x"}`)
	f.cons.ch <- d
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.worker().Run(ctx) }()
	<-started
	cancel()
	if err := <-errc; err != nil {
		t.Fatal(err)
	}
	if kinds, _ := d.settled(t); !slices.Equal(kinds, []string{"requeue"}) {
		t.Errorf("settles: %v", kinds)
	}
}
