package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// A broker restart keeps every queued job (defect 2 of the old system), and
// the publisher and consumer reconnect by themselves.
func TestBrokerRestartKeepsQueuedJobs(t *testing.T) {
	t.Parallel()
	r := testenv.StartRabbitMQ(t)
	f := setupOn(t, r.URL, queue.Options{Name: "tasks"})
	for i := 0; i < 100; i++ {
		f.publish(fmt.Sprintf("job-%03d", i), fmt.Sprintf(`{"prompt":"p%d"}`, i))
	}
	f.waitCount("ready before restart", f.q.Len, 100)

	r.Restart(t)

	f.waitCount("ready after restart", f.q.Len, 100)
	// Publishing works again over the new connection.
	f.publish("after", `{"prompt":"after"}`)
	f.waitCount("ready after a new publish", f.q.Len, 101)

	c := f.consumer()
	seen := map[string]bool{}
	for len(seen) < 101 {
		d := f.next(c)
		if seen[d.ID()] {
			t.Fatalf("%s delivered twice", d.ID())
		}
		seen[d.ID()] = true
		if err := d.Ack(ctxT(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	f.waitCount("ready at the end", f.q.Len, 0)
}

// The old system's queue was a non-durable classic queue named tasks: the
// declaration must stop with one clear line that names the fix.
func TestOldNonDurableQueueIsAClearError(t *testing.T) {
	t.Parallel()
	url := testenv.RabbitMQ(t).URL
	name := testenv.UniqueName("tasks")
	ch := testenv.AMQPChannel(t, url)
	if _, err := ch.QueueDeclare(name, false, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	defer ch.QueueDelete(name, false, false, false)

	start := time.Now()
	_, err := Open(ctxT(t, 60*time.Second), url, queue.Options{Name: name}, testLogger(t))
	var te *TopologyError
	if !errors.As(err, &te) {
		t.Fatalf("open: got %v, want a *TopologyError", err)
	}
	msg := err.Error()
	for _, want := range []string{name, "durable", "rabbitmqctl delete_queue " + name} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.Contains(msg, "\n") {
		t.Errorf("error is not one line: %q", msg)
	}
	if time.Since(start) > 30*time.Second {
		t.Errorf("a topology conflict must not be retried until the deadline")
	}
}

// Two programs with different DELIVERY_LIMIT cannot both declare the queue.
func TestDeliveryLimitMismatchNamesTheVariable(t *testing.T) {
	t.Parallel()
	f := setup(t, queue.Options{DeliveryLimit: 10})
	_, err := Open(ctxT(t, 30*time.Second), f.url, queue.Options{Name: f.opts.Name, DeliveryLimit: 5}, testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "DELIVERY_LIMIT") {
		t.Fatalf("got %v, want an error naming DELIVERY_LIMIT", err)
	}
}

func TestStatusEventsFanOut(t *testing.T) {
	t.Parallel()
	f := setup(t, queue.Options{})
	ctx := ctxT(t, 30*time.Second)
	a, err := f.q.SubscribeStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.q.SubscribeStatus(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := job.Event{ID: "j1", State: job.Done, Objects: []string{"j1-1.png", "j1.json"}}
	if err := f.q.PublishStatus(ctx, want); err != nil {
		t.Fatal(err)
	}
	for _, ch := range []<-chan job.Event{a, b} {
		select {
		case got := <-ch:
			if got.ID != want.ID || got.State != want.State || len(got.Objects) != 2 || got.At.IsZero() {
				t.Errorf("event: got %+v", got)
			}
		case <-ctx.Done():
			t.Fatal("no event")
		}
	}
}

func TestStopEndsConsumingButLetsTheJobFinish(t *testing.T) {
	t.Parallel()
	f := setup(t, queue.Options{})
	f.publish("one", `{"prompt":"1"}`)
	f.publish("two", `{"prompt":"2"}`)
	c := f.consumer()
	d := f.next(c)
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Next(ctxT(t, 2*time.Second)); !errors.Is(err, queue.ErrClosed) {
		t.Errorf("next after stop: got %v, want ErrClosed", err)
	}
	if err := d.Ack(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("ack after stop: %v", err)
	}
	// The second job stayed in the queue for another worker.
	f.waitCount("ready", f.q.Len, 1)
	if d2 := f.next(f.consumer()); d2.ID() != "two" {
		t.Fatalf("got %q", d2.ID())
	}
}

func TestPublishWithoutBrokerIsAnErrorTheCallerSees(t *testing.T) {
	t.Parallel()
	r := testenv.StartRabbitMQ(t)
	f := setupOn(t, r.URL, queue.Options{Name: "tasks"})
	r.Stop()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := f.q.Publish(ctx, queue.Message{ID: "x", Body: []byte(`{"prompt":"x"}`)}); err == nil {
		t.Fatal("publish with the broker down succeeded")
	}
	if err := f.q.Ping(ctxT(t, 2*time.Second)); err == nil {
		t.Error("ping with the broker down succeeded")
	}
}

// Publishing through a broker restart: every publish returns nil once the
// broker is back (none reports a failure for a job that will run), and every
// job is in the queue afterwards, a few perhaps twice (a publish whose
// confirm was lost with the connection is sent again; the job id makes a
// second run an overwrite).
func TestPublishAcrossABrokerRestartLosesNothing(t *testing.T) {
	t.Parallel()
	r := testenv.StartRabbitMQ(t)
	// ConfirmWait bounds a publish, waiting for the reconnect included.
	f := setupOn(t, r.URL, queue.Options{Name: "tasks", ConfirmWait: 90 * time.Second})
	const n = 300
	errs := make(chan error, n)
	started := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			if i == 20 {
				close(started)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			err := f.q.publish(ctx, "", "tasks", amqp.Publishing{DeliveryMode: amqp.Persistent,
				MessageId: fmt.Sprintf("job-%03d", i), Body: []byte(`{"prompt":"x"}`)})
			cancel()
			errs <- err
		}
	}()
	<-started
	r.Restart(t)
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Errorf("publish %d: %v", i, err)
		}
	}
	c := f.consumer()
	seen := map[string]int{}
	for len(seen) < n {
		d := f.next(c)
		seen[d.ID()]++
		if err := d.Ack(ctxT(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	twice := 0
	for _, k := range seen {
		twice += k - 1
	}
	t.Logf("%d jobs, %d published twice across the restart", n, twice)
}
