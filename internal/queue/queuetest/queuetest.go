// Package queuetest is the contract suite of queue.Queue: every promise of
// the interfaces in package queue, as subtests that any implementation must
// pass. The in-process queue (memq) and the RabbitMQ one call the same Run
// from their own tests, each with a Harness that opens a fresh queue.
//
// Subtests run in parallel, each on a queue of its own. Asynchronous
// conditions (a broker's message counts) are polled until a deadline, never
// awaited with a fixed sleep; "nothing is delivered" is checked by a Next
// that must still be waiting when a short context ends.
package queuetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/queue"
)

// Harness adapts the suite to one implementation.
type Harness struct {
	// Open returns a fresh, empty queue with opts. opts.Name is empty: the
	// harness picks a name of its own (a broker is shared by parallel
	// subtests). The harness closes the queue when the test ends
	// (t.Cleanup).
	Open func(t *testing.T, opts queue.Options) queue.Queue
	// KillConsumer ends c as the death of its process would: it settles
	// nothing, and the broker takes back its unsettled delivery. Nil skips
	// the subtests that need it.
	KillConsumer func(t *testing.T, c queue.Consumer)
	// DeadLetters lists what the dead-letter queue holds, oldest first,
	// leaving it there. Nil skips the checks of dead-letter reasons (the
	// counts are still checked with DeadLen).
	DeadLetters func(t *testing.T, q queue.Queue) []DeadLetter
	// PublishFailures puts m on q as another publisher could, with the
	// failure count (queue.HeaderFailures) set to failures whatever its
	// value, and returns once q holds it. Nil skips the subtest that needs it.
	PublishFailures func(t *testing.T, q queue.Queue, m queue.Message, failures int64)
	// Wait bounds every wait for an asynchronous condition (default 20s).
	Wait time.Duration
	// Quiet is how long Next must stay blocked for the suite to conclude
	// that nothing is delivered (default 300ms). Longer only makes the
	// check stricter, never flakier.
	Quiet time.Duration
}

// DeadLetter is one message of the dead-letter queue.
type DeadLetter struct {
	ID     string
	Reason string // "delivery_limit" for the broker's own dead-lettering
}

// ReasonDeliveryLimit is the reason of a message returned more times than
// the delivery limit allows (RabbitMQ's x-first-death-reason).
const ReasonDeliveryLimit = "delivery_limit"

// Run runs the whole suite against h.
func Run(t *testing.T, h Harness) {
	if h.Open == nil {
		t.Fatal("queuetest: Harness.Open is required")
	}
	if h.Wait <= 0 {
		h.Wait = 20 * time.Second
	}
	if h.Quiet <= 0 {
		h.Quiet = 300 * time.Millisecond
	}
	tests := []struct {
		name string
		fn   func(*testing.T, *fixture)
	}{
		{"RoundTripKeepsBodyAndID", testRoundTrip},
		{"FirstInFirstOut", testFIFO},
		{"PrefetchOne", testPrefetchOne},
		{"AckRemoves", testAckRemoves},
		{"RequeueRedeliversAtHeadAndCountsReturns", testRequeue},
		{"DeliveryLimitDeadLetters", testDeliveryLimit},
		{"RetryCountsFailuresThenDeadLetters", testRetry},
		{"ForeignFailureCountIsClamped", testForeignFailures},
		{"DeadAtOnceWithReason", testDead},
		{"StampGivesAnIDForGood", testStamp},
		{"SecondSettleIsErrSettled", testErrSettled},
		{"LenCountsReadyOnly", testLen},
		{"StatusFansOutToEverySubscriber", testStatusFanOut},
		{"StatusSubscriptionEndsWithContext", testStatusEnds},
		{"NextHonoursContext", testNextContext},
		{"StopWakesNextAndKeepsDeliverySettleable", testStop},
		{"DeadConsumerRedeliversToNext", testConsumerDied},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.fn(t, &fixture{t: t, h: h})
		})
	}
}

// fixture is one subtest's queue and helpers.
type fixture struct {
	t *testing.T
	h Harness
	q queue.Queue
}

// open opens the subtest's queue with opts.
func (f *fixture) open(opts queue.Options) queue.Queue {
	f.t.Helper()
	f.q = f.h.Open(f.t, opts)
	if f.q == nil {
		f.t.Fatal("Harness.Open returned nil")
	}
	return f.q
}

// ctx is a context bounded by the harness's wait, ended with the test.
func (f *fixture) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), f.h.Wait)
	f.t.Cleanup(cancel)
	return ctx
}

func (f *fixture) publish(id, body string) {
	f.t.Helper()
	if err := f.q.Publish(f.ctx(), queue.Message{ID: id, Body: []byte(body)}); err != nil {
		f.t.Fatalf("publish %s: %v", id, err)
	}
}

func (f *fixture) consumer() queue.Consumer {
	f.t.Helper()
	c, err := f.q.Consume(f.ctx())
	if err != nil {
		f.t.Fatalf("consume: %v", err)
	}
	f.t.Cleanup(func() { _ = c.Stop() })
	return c
}

// next takes the next delivery and checks its id.
func (f *fixture) next(c queue.Consumer, wantID string) queue.Delivery {
	f.t.Helper()
	d, err := c.Next(f.ctx())
	if err != nil {
		f.t.Fatalf("next (want %q): %v", wantID, err)
	}
	if d.ID() != wantID {
		f.t.Fatalf("next: got message %q, want %q", d.ID(), wantID)
	}
	return d
}

// nothing checks that c is handed nothing for the quiet period.
func (f *fixture) nothing(c queue.Consumer, why string) {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), f.h.Quiet)
	defer cancel()
	d, err := c.Next(ctx)
	if err == nil {
		f.t.Fatalf("%s: got message %q, want none", why, d.ID())
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		f.t.Fatalf("%s: Next: got %v, want the context's deadline", why, err)
	}
}

// settle fails the test on a settle error.
func (f *fixture) settle(what string, err error) {
	f.t.Helper()
	if err != nil {
		f.t.Fatalf("%s: %v", what, err)
	}
}

// waitLen polls a count until it equals want.
func (f *fixture) waitLen(what string, count func(context.Context) (int, error), want int) {
	f.t.Helper()
	deadline := time.Now().Add(f.h.Wait)
	for {
		n, err := count(f.ctx())
		if err == nil && n == want {
			return
		}
		if time.Now().After(deadline) {
			f.t.Fatalf("%s: want %d, have %d (err %v)", what, want, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (f *fixture) waitReady(want int) { f.t.Helper(); f.waitLen("ready messages", f.q.Len, want) }
func (f *fixture) waitDead(want int)  { f.t.Helper(); f.waitLen("dead letters", f.q.DeadLen, want) }

// deadReasons checks the dead-letter queue's ids and reasons, oldest first,
// when the harness can read it.
func (f *fixture) deadReasons(want ...DeadLetter) {
	f.t.Helper()
	if f.h.DeadLetters == nil {
		return
	}
	got := f.h.DeadLetters(f.t, f.q)
	if len(got) != len(want) {
		f.t.Fatalf("dead letters: got %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			f.t.Errorf("dead letter %d: got %+v, want %+v", i, got[i], want[i])
		}
	}
}
