package rabbitmq

import (
	"testing"

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
	})
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
