package memq_test

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
	"github.com/sdkeda/sdkeda/internal/queue/queuetest"
)

func TestContract(t *testing.T) {
	t.Parallel()
	queuetest.Run(t, queuetest.Harness{
		Open: func(t *testing.T, opts queue.Options) queue.Queue {
			q := memq.New(opts)
			t.Cleanup(func() { q.Close() })
			return q
		},
		KillConsumer: func(t *testing.T, c queue.Consumer) { c.(*memq.Consumer).Kill() },
		DeadLetters: func(t *testing.T, q queue.Queue) []queuetest.DeadLetter {
			var out []queuetest.DeadLetter
			for _, d := range q.(*memq.Queue).DeadLetters() {
				out = append(out, queuetest.DeadLetter{ID: d.Message.ID, Reason: d.Reason})
			}
			return out
		},
		PublishFailures: func(t *testing.T, q queue.Queue, m queue.Message, failures int64) {
			q.(*memq.Queue).PublishFailures(m, int(failures))
		},
	})
}

func setup(t *testing.T, opts queue.Options) (*memq.Queue, context.Context) {
	t.Helper()
	q := memq.New(opts)
	t.Cleanup(func() { q.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return q, ctx
}

func consume(t *testing.T, ctx context.Context, q *memq.Queue) *memq.Consumer {
	t.Helper()
	c, err := q.Consume(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*memq.Consumer)
}

// Killing consumers one after another dead-letters the job past the limit,
// as the broker does with a job that keeps crashing its pods.
func TestKillPastDeliveryLimitDeadLetters(t *testing.T) {
	t.Parallel()
	q, ctx := setup(t, queue.Options{DeliveryLimit: 1})
	q.Publish(ctx, queue.Message{ID: "crash", Body: []byte(`{}`)})
	for i := 0; i < 2; i++ {
		c := consume(t, ctx, q)
		if _, err := c.Next(ctx); err != nil {
			t.Fatal(err)
		}
		c.Kill()
	}
	dead := q.DeadLetters()
	if len(dead) != 1 || dead[0].Message.ID != "crash" || dead[0].Reason != memq.ReasonDeliveryLimit || dead[0].Returns != 2 {
		t.Fatalf("dead letters: %+v", dead)
	}
	if n, _ := q.Len(ctx); n != 0 {
		t.Errorf("ready: %d", n)
	}
	// The webui's status asks for a job's dead letter by id.
	if reason, at, ok := q.DeadReason("crash"); !ok || reason != memq.ReasonDeliveryLimit || at.IsZero() {
		t.Errorf("DeadReason(crash) = %q %v %v", reason, at, ok)
	}
	if _, _, ok := q.DeadReason("other"); ok {
		t.Error("DeadReason found a job that was never dead-lettered")
	}
}

func TestKillWithoutDeliveryStopsConsumer(t *testing.T) {
	t.Parallel()
	q, ctx := setup(t, queue.Options{})
	c := consume(t, ctx, q)
	c.Kill()
	if _, err := c.Next(ctx); !errors.Is(err, queue.ErrClosed) {
		t.Fatalf("Next after Kill: %v", err)
	}
}

func TestPublishCopiesBody(t *testing.T) {
	t.Parallel()
	q, ctx := setup(t, queue.Options{})
	body := []byte(`{"prompt":"a"}`)
	q.Publish(ctx, queue.Message{ID: "a", Body: body})
	copy(body, "XXXXXXXXXX")
	d, err := consume(t, ctx, q).Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(d.Body()) != `{"prompt":"a"}` {
		t.Fatalf("body: %q", d.Body())
	}
}

// A subscriber that never reads loses events; the publisher and the other
// subscribers go on.
func TestSlowSubscriberNeverBlocksPublisher(t *testing.T) {
	t.Parallel()
	q, ctx := setup(t, queue.Options{})
	if _, err := q.SubscribeStatus(ctx); err != nil { // never read
		t.Fatal(err)
	}
	fast, err := q.SubscribeStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const n = 500
	got := make(chan int)
	go func() {
		seen := 0
		for range fast {
			if seen++; seen == n {
				break
			}
		}
		got <- seen
	}()
	for i := range n {
		if err := q.PublishStatus(ctx, job.Event{ID: fmt.Sprint(i), State: job.Started}); err != nil {
			t.Fatal(err)
		}
		// Pace the publisher by the fast reader's buffer only, so the
		// fast one loses nothing while the slow one overflows.
		for len(fast) > 32 {
			time.Sleep(time.Millisecond)
		}
	}
	if seen := <-got; seen != n {
		t.Errorf("fast subscriber: %d of %d events", seen, n)
	}
	if q.DroppedEvents() == 0 {
		t.Error("the slow subscriber dropped nothing")
	}
}

func TestCloseEndsEverything(t *testing.T) {
	t.Parallel()
	q, ctx := setup(t, queue.Options{})
	events, _ := q.SubscribeStatus(ctx)
	q.Publish(ctx, queue.Message{ID: "a"})
	held := consume(t, ctx, q)
	d, err := held.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	idle := consume(t, ctx, q)
	done := make(chan error, 1)
	go func() { _, err := idle.Next(ctx); done <- err }()
	q.Close()
	if err := <-done; !errors.Is(err, queue.ErrClosed) {
		t.Errorf("blocked Next after Close: %v", err)
	}
	if _, ok := <-events; ok {
		t.Error("status channel open after Close")
	}
	if err := d.Ack(ctx); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("ack after Close: %v", err)
	}
	if err := q.Publish(ctx, queue.Message{ID: "b"}); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("publish after Close: %v", err)
	}
	if err := q.Ping(ctx); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("ping after Close: %v", err)
	}
}

// Many publishers and consumers at once: every message is acked exactly
// once, whatever the interleaving of requeues and kills.
func TestConcurrentConsumersLoseNothing(t *testing.T) {
	t.Parallel()
	q, ctx := setup(t, queue.Options{DeliveryLimit: 1000})
	const msgs, workers = 400, 4
	var (
		mu    sync.Mutex
		acked = map[string]int{}
		wg    sync.WaitGroup
	)
	// The run ends when the last message is acked; a lost message would
	// leave the workers waiting until ctx's deadline, and the test fails.
	run, allAcked := context.WithCancel(ctx)
	defer allAcked()
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := consume(t, ctx, q)
			defer func() { c.Stop() }()
			for i := 0; ; i++ {
				d, err := c.Next(run)
				if err != nil {
					return
				}
				switch {
				case i%7 == w: // an unlucky worker dies and is replaced
					c.Kill()
					c = consume(t, ctx, q)
				case i%5 == 0:
					d.Requeue(ctx)
				default:
					if err := d.Ack(ctx); err != nil {
						t.Errorf("ack: %v", err)
					}
					mu.Lock()
					acked[d.ID()]++
					if len(acked) == msgs {
						allAcked()
					}
					mu.Unlock()
				}
			}
		}()
	}
	for i := range msgs {
		q.Publish(ctx, queue.Message{ID: fmt.Sprint(i)})
	}
	wg.Wait()
	if len(acked) != msgs {
		t.Fatalf("acked %d of %d messages", len(acked), msgs)
	}
	for id, n := range acked {
		if n != 1 {
			t.Errorf("message %s acked %d times", id, n)
		}
	}
	if n, _ := q.DeadLen(ctx); n != 0 {
		t.Errorf("dead letters: %d", n)
	}
}
