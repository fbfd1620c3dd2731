package queuetest

import (
	"context"
	"errors"
	"github.com/sdkeda/sdkeda/internal/testenv"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// The subtests of consumers' lives, status events and readiness.

func testStatusFanOut(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	var subs []<-chan job.Event
	for range 2 {
		ch, err := f.q.SubscribeStatus(f.ctx())
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
		subs = append(subs, ch)
	}
	sent := []job.Event{
		{ID: "j1", State: job.Started, Worker: "w1", Attempt: 1},
		{ID: "j1", State: job.Done, Objects: []string{"j1-1.png", "j1.json"}},
		{ID: "j2", State: job.Failed, Reason: "exit status 1"},
	}
	for _, e := range sent {
		if err := f.q.PublishStatus(f.ctx(), e); err != nil {
			t.Fatalf("publish status: %v", err)
		}
	}
	for i, ch := range subs {
		for _, want := range sent {
			select {
			case got, ok := <-ch:
				if !ok {
					t.Fatalf("subscriber %d: closed early", i)
				}
				if got.ID != want.ID || got.State != want.State || got.Reason != want.Reason ||
					len(got.Objects) != len(want.Objects) {
					t.Errorf("subscriber %d: got %+v, want %+v", i, got, want)
				}
				if got.At.IsZero() {
					t.Errorf("subscriber %d: event without a time: %+v", i, got)
				}
			case <-time.After(f.h.Wait):
				t.Fatalf("subscriber %d: no event %s/%s", i, want.ID, want.State)
			}
		}
	}
}

func testStatusEnds(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := f.q.SubscribeStatus(ctx)
	if err != nil {
		t.Fatalf("subscribe: %v", err)
	}
	cancel()
	if !testenv.Closes(ch, f.h.Wait) {
		t.Fatal("the status channel stayed open after its context ended")
	}
}

func testNextContext(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	c := f.consumer()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Next(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Next with an ended context: got %v, want context.Canceled", err)
	}
	ctx, cancel = context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		d, err := c.Next(ctx)
		if d != nil {
			err = errors.New("got a message from an empty queue: " + d.ID())
		}
		done <- err
	}()
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("blocked Next after cancel: got %v, want context.Canceled", err)
		}
	case <-time.After(f.h.Wait):
		t.Fatal("a blocked Next did not return when its context ended")
	}
	// The consumer still works.
	f.publish("a", `{"prompt":"a"}`)
	f.settle("ack", f.next(c, "a").Ack(f.ctx()))
}

// Stop wakes a blocked Next, and a delivery handed out before Stop can still
// be settled; nothing is lost.
func testStop(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	idle := f.consumer()
	done := make(chan error, 1)
	go func() {
		d, err := idle.Next(f.ctx())
		if d != nil {
			err = errors.New("got a message from an empty queue: " + d.ID())
		} else if err == nil {
			err = errors.New("Next returned neither a delivery nor an error")
		}
		done <- err
	}()
	f.settle("stop idle", idle.Stop())
	select {
	case err := <-done:
		if errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Next ended by its deadline, not by Stop")
		}
	case <-time.After(f.h.Wait):
		t.Fatal("Stop did not wake a blocked Next")
	}
	if _, err := idle.Next(f.ctx()); err == nil {
		t.Error("Next after Stop: got a delivery, want an error")
	}

	f.publish("a", `{"prompt":"a"}`)
	f.publish("b", `{"prompt":"b"}`)
	busy := f.consumer()
	d := f.next(busy, "a")
	f.settle("stop busy", busy.Stop())
	f.settle("ack after stop", d.Ack(f.ctx()))
	// b went to nobody: the next consumer gets it.
	f.settle("ack b", f.next(f.consumer(), "b").Ack(f.ctx()))
	f.waitReady(0)
	f.waitDead(0)
}

// A consumer that dies holding a delivery loses nothing: the next consumer
// gets the same message with one more return, and the dead consumer's
// delivery can no longer be settled.
func testConsumerDied(t *testing.T, f *fixture) {
	if f.h.KillConsumer == nil {
		t.Skip("the harness cannot kill a consumer")
	}
	f.open(queue.Options{})
	f.publish("a", `{"prompt":"a"}`)
	c1 := f.consumer()
	d1 := f.next(c1, "a")
	f.h.KillConsumer(t, c1)
	d2 := f.next(f.consumer(), "a")
	if string(d2.Body()) != `{"prompt":"a"}` {
		t.Errorf("redelivered body: %q", d2.Body())
	}
	if d2.Returns() != 1 || d2.Failures() != 0 {
		t.Errorf("after one dead consumer: returns %d failures %d, want 1 and 0", d2.Returns(), d2.Failures())
	}
	if err := d1.Ack(f.ctx()); !errors.Is(err, queue.ErrStale) {
		t.Errorf("ack by the dead consumer: got %v, want ErrStale", err)
	}
	f.settle("ack", d2.Ack(f.ctx()))
	f.waitReady(0)
	f.waitDead(0)
}

func testPing(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	if err := f.q.Ping(f.ctx()); err != nil {
		t.Errorf("ping: %v", err)
	}
}
