package queuetest

import (
	"errors"
	"fmt"
	"testing"

	"github.com/sdkeda/sdkeda/internal/queue"
)

// The subtests of publishing, delivering and settling.

func testRoundTrip(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	body := `{"prompt":"green dog","count":2}`
	f.publish("6f1d3c3e-0b7a-4e55-9f43-3f8e3b7c9a10", body)
	f.waitReady(1)
	d := f.next(f.consumer(), "6f1d3c3e-0b7a-4e55-9f43-3f8e3b7c9a10")
	if got := string(d.Body()); got != body {
		t.Errorf("body: got %q, want %q", got, body)
	}
	if d.Failures() != 0 || d.Returns() != 0 {
		t.Errorf("fresh message: failures %d, returns %d, want 0 and 0", d.Failures(), d.Returns())
	}
	f.settle("ack", d.Ack(f.ctx()))
	f.waitReady(0)
	f.waitDead(0)
}

func testFIFO(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	for _, id := range []string{"a", "b", "c"} {
		f.publish(id, `{"prompt":"`+id+`"}`)
	}
	c := f.consumer()
	for _, id := range []string{"a", "b", "c"} {
		f.settle("ack "+id, f.next(c, id).Ack(f.ctx()))
	}
}

// A consumer holding an unsettled delivery is handed nothing more, and the
// second message stays ready for other consumers.
func testPrefetchOne(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	f.publish("a", `{"prompt":"a"}`)
	f.publish("b", `{"prompt":"b"}`)
	c := f.consumer()
	d := f.next(c, "a")
	f.nothing(c, "second Next before the first delivery is settled")
	f.waitReady(1)
	// Another consumer may take it meanwhile.
	c2 := f.consumer()
	d2 := f.next(c2, "b")
	f.settle("ack b", d2.Ack(f.ctx()))
	// Stop the second consumer: a broker that pushes would otherwise be
	// free to hand "c" to it.
	f.settle("stop c2", c2.Stop())
	f.settle("ack a", d.Ack(f.ctx()))
	f.publish("c", `{"prompt":"c"}`)
	f.settle("ack c", f.next(c, "c").Ack(f.ctx()))
}

// An acked message is gone: not ready, not dead, and a consumer that comes
// after the first one stopped gets nothing.
func testAckRemoves(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	f.publish("a", `{"prompt":"a"}`)
	c := f.consumer()
	f.settle("ack", f.next(c, "a").Ack(f.ctx()))
	f.settle("stop", c.Stop())
	f.nothing(f.consumer(), "after ack")
	f.waitReady(0)
	f.waitDead(0)
}

func testRequeue(t *testing.T, f *fixture) {
	f.open(queue.Options{DeliveryLimit: 5})
	f.publish("a", `{"prompt":"a"}`)
	f.publish("b", `{"prompt":"b"}`)
	c := f.consumer()
	for want := 0; want < 3; want++ {
		d := f.next(c, "a") // back at the head, before b
		if d.Returns() != want {
			t.Fatalf("returns: got %d, want %d", d.Returns(), want)
		}
		if d.Failures() != 0 {
			t.Fatalf("a requeue is not a failure: failures %d", d.Failures())
		}
		if string(d.Body()) != `{"prompt":"a"}` {
			t.Fatalf("body changed by requeue: %q", d.Body())
		}
		f.settle("requeue", d.Requeue(f.ctx()))
	}
	f.settle("ack a", f.next(c, "a").Ack(f.ctx()))
	f.settle("ack b", f.next(c, "b").Ack(f.ctx()))
	f.waitDead(0)
}

// With a limit of 2 a message is delivered 3 times (the first delivery and
// two redeliveries, Returns 0, 1, 2); the return of the last one
// (queue.LastDelivery) dead-letters it.
func testDeliveryLimit(t *testing.T, f *fixture) {
	f.open(queue.Options{DeliveryLimit: 2})
	f.publish("poison", `{"prompt":"x"}`)
	f.publish("next", `{"prompt":"y"}`)
	c := f.consumer()
	for i := 0; i < 3; i++ {
		d := f.next(c, "poison")
		if d.Returns() != i || queue.LastDelivery(d.Returns(), 2) != (i == 2) {
			t.Fatalf("delivery %d: returns %d, last delivery %v", i+1, d.Returns(), queue.LastDelivery(d.Returns(), 2))
		}
		f.settle("requeue", d.Requeue(f.ctx()))
	}
	f.settle("ack next", f.next(c, "next").Ack(f.ctx()))
	f.waitDead(1)
	f.waitReady(0)
	f.deadReasons(DeadLetter{ID: "poison", Reason: ReasonDeliveryLimit})
}

// Retry counts failures apart from returns, sends the job to the tail, keeps
// its id and body, and dead-letters it with the last reason at MaxFailures.
func testRetry(t *testing.T, f *fixture) {
	f.open(queue.Options{MaxFailures: 3, DeliveryLimit: 10})
	f.publish("job", `{"prompt":"x"}`)
	c := f.consumer()
	for want := 0; want < 3; want++ {
		f.publish(fmt.Sprint("other-", want), `{"prompt":"o"}`)
		d := f.next(c, "job")
		if d.Failures() != want {
			t.Fatalf("failures: got %d, want %d", d.Failures(), want)
		}
		if string(d.Body()) != `{"prompt":"x"}` {
			t.Fatalf("body changed by retry: %q", d.Body())
		}
		dead, err := d.Retry(f.ctx(), fmt.Sprintf("exit status 1 (try %d)", want+1))
		f.settle("retry", err)
		if dead != (want == 2) {
			t.Fatalf("retry %d: dead=%v, want %v", want+1, dead, want == 2)
		}
		// The retried job went to the tail, behind the other job.
		f.settle("ack other", f.next(c, fmt.Sprint("other-", want)).Ack(f.ctx()))
	}
	f.nothing(c, "after the job was dead-lettered")
	f.waitReady(0)
	f.waitDead(1)
	f.deadReasons(DeadLetter{ID: "job", Reason: "exit status 1 (try 3)"})
}

// A failure count that came with the message is read clamped to
// 0..MaxFailures: a negative one gives the job no extra runs (it runs
// MaxFailures times, as any job), an absurd one dead-letters it at its next
// failure.
func testForeignFailures(t *testing.T, f *fixture) {
	if f.h.PublishFailures == nil {
		t.Skip("the harness cannot publish a failure count of its own")
	}
	f.open(queue.Options{MaxFailures: 3, DeliveryLimit: 10})
	body := []byte(`{"prompt":"x"}`)
	f.h.PublishFailures(t, f.q, queue.Message{ID: "negative", Body: body}, -20)
	c := f.consumer()
	runs := 0
	for dead := false; !dead; {
		d := f.next(c, "negative")
		if d.Failures() != runs {
			t.Fatalf("run %d: failures %d, want %d", runs+1, d.Failures(), runs)
		}
		runs++
		var err error
		dead, err = d.Retry(f.ctx(), "boom")
		f.settle("retry", err)
		if runs > 3 {
			t.Fatalf("a job published with failures -20 ran %d times, want 3", runs)
		}
	}
	if runs != 3 {
		t.Fatalf("a job published with failures -20 ran %d times, want 3", runs)
	}

	f.h.PublishFailures(t, f.q, queue.Message{ID: "absurd", Body: body}, 1<<40)
	d := f.next(c, "absurd")
	if d.Failures() != 3 {
		t.Fatalf("failures 2^40 read as %d, want MaxFailures (3)", d.Failures())
	}
	dead, err := d.Retry(f.ctx(), "boom")
	f.settle("retry absurd", err)
	if !dead {
		t.Fatal("a job at MaxFailures was not dead-lettered at its next failure")
	}
	f.nothing(c, "after both jobs were dead-lettered")
	f.waitDead(2)
	f.deadReasons(DeadLetter{ID: "negative", Reason: "boom"}, DeadLetter{ID: "absurd", Reason: "boom"})
}

func testDead(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	f.publish("bad", `not json`)
	f.publish("good", `{"prompt":"ok"}`)
	c := f.consumer()
	f.settle("dead", f.next(c, "bad").Dead(f.ctx(), "malformed job message: invalid character"))
	f.waitDead(1)
	f.settle("ack good", f.next(c, "good").Ack(f.ctx()))
	f.waitReady(0)
	f.deadReasons(DeadLetter{ID: "bad", Reason: "malformed job message: invalid character"})
}

// Whatever the first settle, any second one is ErrSettled and changes nothing.
func testErrSettled(t *testing.T, f *fixture) {
	f.open(queue.Options{MaxFailures: 5})
	ctx := f.ctx()
	settles := []struct {
		name string
		do   func(queue.Delivery) error
	}{
		{"ack", func(d queue.Delivery) error { return d.Ack(ctx) }},
		{"requeue", func(d queue.Delivery) error { return d.Requeue(ctx) }},
		{"retry", func(d queue.Delivery) error { _, err := d.Retry(ctx, "boom"); return err }},
		{"dead", func(d queue.Delivery) error { return d.Dead(ctx, "bad") }},
	}
	c := f.consumer()
	for _, first := range settles {
		f.publish(first.name, `{"prompt":"x"}`)
		d := f.next(c, first.name)
		f.settle(first.name, first.do(d))
		for _, second := range settles {
			if err := second.do(d); !errors.Is(err, queue.ErrSettled) {
				t.Errorf("%s after %s: got %v, want ErrSettled", second.name, first.name, err)
			}
		}
		if first.name == "requeue" || first.name == "retry" {
			// Back once, not twice.
			f.settle("ack "+first.name, f.next(c, first.name).Ack(ctx))
		}
	}
	f.nothing(c, "after the double settles")
	f.waitDead(1)
}

// Len counts ready messages: not those handed out, not dead ones.
func testLen(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	f.waitReady(0)
	f.waitDead(0)
	for _, id := range []string{"a", "b", "c"} {
		f.publish(id, `{"prompt":"x"}`)
	}
	f.waitReady(3)
	c := f.consumer()
	d := f.next(c, "a")
	f.waitReady(2)
	// Stop first: RabbitMQ pushes the next message to a consumer with
	// prefetch 1 as soon as the previous one is settled, and a message
	// pushed to a consumer is not ready any more.
	if err := c.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	f.settle("dead", d.Dead(f.ctx(), "bad"))
	f.waitReady(2)
	f.waitDead(1)
	c2 := f.consumer()
	d = f.next(c2, "b")
	if err := c2.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	f.settle("requeue", d.Requeue(f.ctx()))
	f.waitReady(2)
}

// A message published without an id is stamped: it comes back at the tail,
// after what was waiting, with the id, its body and its failure count.
func testStamp(t *testing.T, f *fixture) {
	f.open(queue.Options{})
	f.publish("", `{"prompt":"old webui"}`)
	f.publish("b", `{"prompt":"b"}`)
	c := f.consumer()
	d := f.next(c, "")
	f.settle("stamp", d.Stamp(f.ctx(), "stamped-id"))
	f.settle("ack b", f.next(c, "b").Ack(f.ctx()))
	d = f.next(c, "stamped-id")
	if string(d.Body()) != `{"prompt":"old webui"}` || d.Failures() != 0 {
		t.Errorf("stamped: body %q failures %d", d.Body(), d.Failures())
	}
	if err := d.Stamp(f.ctx(), "again"); err != nil {
		t.Fatalf("stamp of a stamped message: %v", err)
	}
	f.settle("ack", f.next(c, "again").Ack(f.ctx()))
	f.settle("stop", c.Stop())
	f.waitReady(0)
	f.waitDead(0)
}
