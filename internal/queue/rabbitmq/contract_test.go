package rabbitmq

import (
	"testing"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/queuetest"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// The same contract suite runs against the embedded queue (memq).
func TestContract(t *testing.T) {
	queuetest.Run(t, queuetest.Harness{
		Open: func(t *testing.T, opts queue.Options) queue.Queue {
			opts.Name = testenv.UniqueName("tasks")
			return setup(t, opts).q
		},
		KillConsumer: func(t *testing.T, c queue.Consumer) { killConsumer(c) },
		DeadLetters:  deadLetters,
		PublishFailures: func(t *testing.T, q queue.Queue, m queue.Message, failures int64) {
			publishHeaders(t, q.(*Queue), m, amqp.Table{queue.HeaderFailures: failures})
		},
	})
}

// publishHeaders publishes m with headers from a plain client of its own, as
// another program would, and waits for the broker's confirm.
func publishHeaders(t *testing.T, q *Queue, m queue.Message, h amqp.Table) {
	t.Helper()
	ch := testenv.AMQPChannel(t, q.url)
	defer ch.Close()
	if err := ch.Confirm(false); err != nil {
		t.Fatal(err)
	}
	dc, err := ch.PublishWithDeferredConfirmWithContext(t.Context(), "", q.opts.Name, false, false, amqp.Publishing{
		MessageId: m.ID, Body: m.Body, Headers: h, DeliveryMode: amqp.Persistent, ContentType: "application/json",
	})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := dc.WaitContext(t.Context()); !ok || err != nil {
		t.Fatalf("publish %s not confirmed: %v", m.ID, err)
	}
}

// deadLetters reads the dead-letter queue without consuming it: every
// message is taken unacked and given back when the channel closes.
func deadLetters(t *testing.T, q queue.Queue) []queuetest.DeadLetter {
	t.Helper()
	rq := q.(*Queue)
	ch := testenv.AMQPChannel(t, rq.url)
	defer ch.Close() // gives back every message taken below
	var out []queuetest.DeadLetter
	for {
		m, ok, err := ch.Get(queue.DeadName(rq.opts.Name), false)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return out
		}
		reason, _ := m.Headers[queue.HeaderReason].(string)
		if r, ok := m.Headers["x-first-death-reason"].(string); ok && reason == "" {
			reason = r
		}
		out = append(out, queuetest.DeadLetter{ID: m.MessageId, Reason: reason})
	}
}
