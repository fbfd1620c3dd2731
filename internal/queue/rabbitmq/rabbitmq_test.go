package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

type fixture struct {
	t    *testing.T
	url  string
	opts queue.Options
	q    *Queue
}

// setup opens a queue of its own name on the shared broker.
func setup(t *testing.T, opts queue.Options) *fixture {
	t.Helper()
	r := testenv.RabbitMQ(t)
	if opts.Name == "" {
		opts.Name = testenv.UniqueName("tasks")
	}
	return setupOn(t, r.URL, opts)
}

func setupOn(t *testing.T, url string, opts queue.Options) *fixture {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	q, err := Open(ctx, url, opts, testLogger(t))
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	t.Cleanup(func() { q.Close() })
	return &fixture{t: t, url: url, opts: q.Options(), q: q}
}

func testLogger(t *testing.T) *slog.Logger {
	if testing.Verbose() {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("test", t.Name())
	}
	return slog.New(slog.DiscardHandler)
}

func ctxT(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func (f *fixture) publish(id, body string) {
	f.t.Helper()
	if err := f.q.Publish(ctxT(f.t, 10*time.Second), queue.Message{ID: id, Body: []byte(body)}); err != nil {
		f.t.Fatalf("publish %s: %v", id, err)
	}
}

func (f *fixture) consumer() queue.Consumer {
	f.t.Helper()
	c, err := f.q.Consume(ctxT(f.t, 10*time.Second))
	if err != nil {
		f.t.Fatalf("consume: %v", err)
	}
	f.t.Cleanup(func() { c.Stop() })
	return c
}

func (f *fixture) next(c queue.Consumer) queue.Delivery {
	f.t.Helper()
	d, err := c.Next(ctxT(f.t, 15*time.Second))
	if err != nil {
		f.t.Fatalf("next: %v", err)
	}
	return d
}

// waitCount polls a queue length until it equals want.
func (f *fixture) waitCount(what string, count func(context.Context) (int, error), want int) {
	f.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var n int
	var err error
	for time.Now().Before(deadline) {
		if n, err = count(ctxT(f.t, 5*time.Second)); err == nil && n == want {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	f.t.Fatalf("%s: want %d, have %d (err %v)", what, want, n, err)
}

func TestRoundTripKeepsBodyAndMessageID(t *testing.T) {
	t.Parallel()
	f := setup(t, queue.Options{})
	body := `{"prompt":"green dog","count":2}`
	f.publish("6f1d3c3e-0b7a-4e55-9f43-3f8e3b7c9a10", body)
	f.waitCount("ready", f.q.Len, 1)

	d := f.next(f.consumer())
	if got := string(d.Body()); got != body {
		t.Errorf("body: got %q, want %q", got, body)
	}
	if d.ID() != "6f1d3c3e-0b7a-4e55-9f43-3f8e3b7c9a10" {
		t.Errorf("message-id: got %q", d.ID())
	}
	if d.Failures() != 0 || d.Returns() != 0 {
		t.Errorf("fresh message: failures %d returns %d", d.Failures(), d.Returns())
	}
	if err := d.Ack(ctxT(t, 5*time.Second)); err != nil {
		t.Fatalf("ack: %v", err)
	}
	if err := d.Ack(ctxT(t, 5*time.Second)); !errors.Is(err, queue.ErrSettled) {
		t.Errorf("second ack: got %v, want ErrSettled", err)
	}
	f.waitCount("ready after ack", f.q.Len, 0)
}

func TestSeedStylePublisherIsConsumable(t *testing.T) {
	t.Parallel()
	f := setup(t, queue.Options{})
	// A plain client, as the old webui published: no message-id, no headers.
	ch := testenv.AMQPChannel(t, f.url)
	if err := ch.Publish("", f.opts.Name, false, false, amqp.Publishing{Body: []byte(`{"prompt": "green dog", "count": 2}`)}); err != nil {
		t.Fatal(err)
	}
	d := f.next(f.consumer())
	m, err := job.Parse(d.Body(), job.DefaultLimits)
	if err != nil || m.Prompt != "green dog" || m.Count != 2 {
		t.Fatalf("parse seed message: %+v, %v", m, err)
	}
	if err := d.Ack(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestLostConsumerConnectionRedelivers(t *testing.T) {
	t.Parallel()
	f := setup(t, queue.Options{})
	f.publish("a", `{"prompt":"a"}`)

	c1 := f.consumer()
	d1 := f.next(c1)
	// The worker dies before it acks: its connection closes for good.
	killConsumer(c1)

	d2 := f.next(f.consumer())
	if string(d2.Body()) != `{"prompt":"a"}` || d2.ID() != "a" {
		t.Fatalf("redelivered: %q %q", d2.ID(), d2.Body())
	}
	if d2.Returns() != 1 {
		t.Errorf("returns after one lost consumer: got %d, want 1", d2.Returns())
	}
	if err := d1.Ack(ctxT(t, 5*time.Second)); !errors.Is(err, queue.ErrStale) {
		t.Errorf("ack over the dead connection: got %v, want ErrStale", err)
	}
	if err := d2.Ack(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	f.waitCount("ready", f.q.Len, 0)
	f.waitCount("dead", f.q.DeadLen, 0)
}

func TestDeliveryLimitDeadLetters(t *testing.T) {
	t.Parallel()
	f := setup(t, queue.Options{DeliveryLimit: 2})
	f.publish("poison", `{"prompt":"x"}`)
	f.publish("next", `{"prompt":"y"}`)
	c := f.consumer()
	// Returned 3 times: the first delivery and two redeliveries are allowed,
	// the third return passes the limit of 2.
	for i := 0; i < 3; i++ {
		d := f.next(c)
		if d.ID() != "poison" {
			t.Fatalf("delivery %d: got %q, want the requeued poison message at the head", i, d.ID())
		}
		if err := d.Requeue(ctxT(t, 5*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	d := f.next(c)
	if d.ID() != "next" {
		t.Fatalf("after the limit: got %q, want the next job", d.ID())
	}
	if err := d.Ack(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	f.waitCount("dead", f.q.DeadLen, 1)
	reason := testenv.PeekHeader(t, f.url, queue.DeadName(f.opts.Name), "x-first-death-reason")
	if reason != "delivery_limit" {
		t.Errorf("dead-letter reason: got %q, want delivery_limit", reason)
	}
}

func TestRetryCountsFailuresApartAndDeadLettersWithReason(t *testing.T) {
	t.Parallel()
	f := setup(t, queue.Options{MaxFailures: 3, DeliveryLimit: 10})
	f.publish("job-1", `{"prompt":"x"}`)
	c := f.consumer()
	for want := 0; want < 3; want++ {
		d := f.next(c)
		if d.Failures() != want {
			t.Fatalf("failures: got %d, want %d", d.Failures(), want)
		}
		if d.ID() != "job-1" {
			t.Fatalf("message-id lost on retry: %q", d.ID())
		}
		dead, err := d.Retry(ctxT(t, 5*time.Second), fmt.Sprintf("exit status 1 (try %d)", want+1))
		if err != nil {
			t.Fatal(err)
		}
		if dead != (want == 2) {
			t.Fatalf("retry %d: dead=%v", want+1, dead)
		}
	}
	f.waitCount("ready", f.q.Len, 0)
	f.waitCount("dead", f.q.DeadLen, 1)
	if got := testenv.PeekHeader(t, f.url, queue.DeadName(f.opts.Name), queue.HeaderReason); got != "exit status 1 (try 3)" {
		t.Errorf("reason header: %q", got)
	}
}

func TestDeadAtOnceWithReason(t *testing.T) {
	t.Parallel()
	f := setup(t, queue.Options{})
	f.publish("bad", `not json`)
	d := f.next(f.consumer())
	if err := d.Dead(ctxT(t, 5*time.Second), "malformed job message: invalid character"); err != nil {
		t.Fatal(err)
	}
	f.waitCount("dead", f.q.DeadLen, 1)
	f.waitCount("ready", f.q.Len, 0)
	if got := testenv.PeekHeader(t, f.url, queue.DeadName(f.opts.Name), queue.HeaderReason); !strings.HasPrefix(got, "malformed job message") {
		t.Errorf("reason header: %q", got)
	}
}

// killConsumer ends a consumer's connection without settling, as the death
// of its process would.
func killConsumer(c queue.Consumer) {
	cc := c.(*consumer)
	cc.q.closeSession(cc.s)
}

// A consumer whose connection drops reconnects by itself; the message it
// held comes back to it, and the old delivery can no longer be settled.
func TestConsumerReconnectsAfterConnectionLoss(t *testing.T) {
	t.Parallel()
	f := setup(t, queue.Options{})
	f.publish("a", `{"prompt":"a"}`)
	c := f.consumer()
	d1 := f.next(c)
	c.(*consumer).s.current().conn.Close()

	d2 := f.next(c)
	if d2.ID() != "a" || d2.Returns() != 1 {
		t.Fatalf("after reconnect: id %q returns %d", d2.ID(), d2.Returns())
	}
	if err := d1.Ack(ctxT(t, 5*time.Second)); !errors.Is(err, queue.ErrStale) {
		t.Errorf("old delivery: got %v, want ErrStale", err)
	}
	if err := d2.Ack(ctxT(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	f.waitCount("ready", f.q.Len, 0)
}

// The failure header is whatever the publisher wrote: any AMQP integer type
// is read, clamped to 0..MaxFailures; anything else is read as 0.
func TestFailureHeaderOfAnyType(t *testing.T) {
	t.Parallel()
	f := setup(t, queue.Options{MaxFailures: 3})
	cases := []struct {
		name  string
		value any
		want  int
	}{
		{"absent", nil, 0},
		{"int8 2", int8(2), 2},
		{"int16 -5", int16(-5), 0},
		{"int32 100", int32(100), 3},
		{"int64 min", int64(-1 << 63), 0},
		{"int64 max", int64(1<<63 - 1), 3},
		{"uint32 max", uint32(1<<32 - 1), 3},
		{"string 2", "2", 0},
		{"float 2.5", 2.5, 0},
		{"bool", true, 0},
	}
	for _, tc := range cases {
		h := amqp.Table{}
		if tc.value != nil {
			h[queue.HeaderFailures] = tc.value
		}
		publishHeaders(t, f.q, queue.Message{ID: tc.name, Body: []byte(`{"prompt":"x"}`)}, h)
	}
	c := f.consumer()
	for _, tc := range cases {
		d, err := c.Next(ctxT(t, 10*time.Second))
		if err != nil {
			t.Fatalf("next (want %s): %v", tc.name, err)
		}
		if d.ID() != tc.name || d.Failures() != tc.want {
			t.Errorf("%s: message %q read failures %d, want %d", tc.name, d.ID(), d.Failures(), tc.want)
		}
		if err := d.Ack(ctxT(t, 10*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
}
