package rabbitmq

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sdkeda/sdkeda/internal/queue"
)

// consumer takes jobs over a connection of its own with prefetch 1: the
// broker hands it one message and waits for the settle before the next, so a
// worker never holds a job it is not working on.
type consumer struct {
	q   *Queue
	tag string
	s   *session

	mu          sync.Mutex
	stopped     bool
	stop        chan struct{}
	outstanding *delivery // handed out, not settled
}

// Consume starts a consumer on the work queue.
func (q *Queue) Consume(ctx context.Context) (queue.Consumer, error) {
	c := &consumer{q: q, tag: "worker-" + uuid.NewString()[:8], stop: make(chan struct{})}
	s, err := q.openSession(ctx, "consume", func(ch *amqp.Channel) (<-chan amqp.Delivery, error) {
		if err := declare(ch, q.opts); err != nil {
			return nil, err
		}
		if err := ch.Qos(1, 0, false); err != nil { // prefetch 1, per consumer
			return nil, fmt.Errorf("rabbitmq: qos: %w", err)
		}
		c.mu.Lock()
		stopped := c.stopped
		c.mu.Unlock()
		if stopped {
			return nil, nil // after Stop a reconnect must not consume again
		}
		return ch.ConsumeWithContext(context.Background(), q.opts.Name, c.tag,
			false, // autoAck off: the job is acked only once its images are stored
			false, // exclusive: many workers share the queue
			false, // noLocal (unsupported by RabbitMQ)
			false, nil)
	})
	if err != nil {
		return nil, err
	}
	c.s = s
	return c, nil
}

// Next waits for the next message. A link lost while waiting is replaced
// transparently; whatever the old link had handed out the broker requeues.
func (c *consumer) Next(ctx context.Context) (queue.Delivery, error) {
	for {
		l, err := c.s.get(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, err
		}
		select {
		case <-c.stop:
			// Stop wins over a delivery channel that is ready too: after a
			// cancel the library closes it, which is not a lost link.
			return nil, queue.ErrClosed
		default:
		}
		if l.deliveries == nil {
			return nil, queue.ErrClosed // stopped
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-c.stop:
			return nil, queue.ErrClosed
		case d, ok := <-l.deliveries:
			if !ok {
				// The channel died, or the broker cancelled the consumer
				// (the queue was deleted, say): drop the link so keep()
				// reconnects, declares again and consumes anew, and wait
				// for that rather than spin on the closed channel.
				select {
				case <-c.stop:
					return nil, queue.ErrClosed // our own cancel
				default:
				}
				if !l.isLost() {
					l.conn.Close()
				}
				select {
				case <-l.lost:
				case <-c.stop:
					return nil, queue.ErrClosed
				case <-ctx.Done():
					return nil, ctx.Err()
				case <-time.After(time.Second):
				}
				continue
			}
			dl := &delivery{c: c, l: l, d: d}
			c.mu.Lock()
			c.outstanding = dl
			c.mu.Unlock()
			return dl, nil
		}
	}
}

// Stop cancels the subscription: the broker sends nothing more. A delivery
// in hand can still be settled; the connection closes after that (or now if
// there is none).
func (c *consumer) Stop() error {
	c.mu.Lock()
	if c.stopped {
		c.mu.Unlock()
		return nil
	}
	c.stopped = true
	close(c.stop)
	busy := c.outstanding != nil
	c.mu.Unlock()
	var err error
	if l := c.s.current(); l != nil {
		err = l.ch.Cancel(c.tag, false)
	}
	if !busy {
		c.q.closeSession(c.s)
	}
	return err
}

// settled is called once per delivery after its settle.
func (c *consumer) settled(d *delivery) {
	c.mu.Lock()
	if c.outstanding == d {
		c.outstanding = nil
	}
	done := c.stopped && c.outstanding == nil
	c.mu.Unlock()
	if done {
		c.q.closeSession(c.s)
	}
}

// delivery is one message in hand.
type delivery struct {
	c *consumer
	l *link
	d amqp.Delivery

	mu      sync.Mutex
	settled bool
}

func (d *delivery) ID() string   { return d.d.MessageId }
func (d *delivery) Body() []byte { return d.d.Body }

// Failures reads the product's own failure counter (see Retry), clamped to
// 0..MaxFailures: the header is whatever the publisher wrote. A value that is
// not an integer is read as 0.
func (d *delivery) Failures() int {
	return queue.ClampFailures(headerInt(d.d.Headers, queue.HeaderFailures), d.c.q.opts.MaxFailures)
}

// Returns is the quorum queue's own delivery count.
func (d *delivery) Returns() int { return headerInt(d.d.Headers, "x-delivery-count") }

// settle runs f once. A delivery whose link has died cannot be settled: the
// broker already put the message back when the connection dropped.
func (d *delivery) settle(f func() error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.settled {
		return queue.ErrSettled
	}
	d.settled = true
	defer d.c.settled(d)
	if d.l.isLost() {
		return queue.ErrStale
	}
	if err := f(); err != nil {
		if d.l.isLost() {
			return queue.ErrStale
		}
		return err
	}
	return nil
}

func (d *delivery) Ack(ctx context.Context) error {
	return d.settle(func() error { return d.d.Ack(false) })
}

func (d *delivery) Requeue(ctx context.Context) error {
	return d.settle(func() error { return d.d.Nack(false, true) })
}

// Retry counts one generator failure. Below MaxFailures the job is published
// again at the tail of the queue with the count and reason in its headers,
// then this copy is acked; a crash between the two leaves both copies, and
// the job runs twice onto the same object keys: an overwrite, never two
// entries. At MaxFailures it is dead-lettered.
func (d *delivery) Retry(ctx context.Context, reason string) (bool, error) {
	failures := d.Failures() + 1
	if failures >= d.c.q.opts.MaxFailures {
		return true, d.dead(ctx, reason, failures)
	}
	err := d.settle(func() error {
		if err := d.c.q.publish(ctx, "", d.c.q.opts.Name, d.copy(reason, failures)); err != nil {
			// Could not republish: give it back as it was; the broker's
			// delivery limit still bounds the loop.
			_ = d.d.Nack(false, true)
			return fmt.Errorf("rabbitmq: retry: %w", err)
		}
		return d.d.Ack(false)
	})
	return false, err
}

// Dead moves the message to the dead-letter queue now, the reason in a
// header, by publishing a copy there (confirmed) and acking this one. The
// broker's own dead-lettering (reject) cannot carry a reason.
func (d *delivery) Dead(ctx context.Context, reason string) error {
	return d.dead(ctx, reason, d.Failures())
}

func (d *delivery) dead(ctx context.Context, reason string, failures int) error {
	return d.settle(func() error {
		if err := d.c.q.publish(ctx, "", queue.DeadName(d.c.q.opts.Name), d.copy(reason, failures)); err != nil {
			_ = d.d.Nack(false, true)
			return fmt.Errorf("rabbitmq: dead-letter: %w", err)
		}
		return d.d.Ack(false)
	})
}

// Stamp publishes the message again to the tail with message-id id
// (confirmed), then acks this copy. A crash between the two leaves the
// id-less copy too, which is stamped again: at worst two entries, in that
// instant only, instead of during the whole job.
func (d *delivery) Stamp(ctx context.Context, id string) error {
	return d.settle(func() error {
		p := d.copy("", d.Failures())
		p.MessageId = id
		if err := d.c.q.publish(ctx, "", d.c.q.opts.Name, p); err != nil {
			_ = d.d.Nack(false, true)
			return fmt.Errorf("rabbitmq: stamp: %w", err)
		}
		return d.d.Ack(false)
	})
}

// copy is the message as it came, with the failure count and reason set.
func (d *delivery) copy(reason string, failures int) amqp.Publishing {
	h := amqp.Table{}
	for k, v := range d.d.Headers {
		if k != "x-delivery-count" && k != "x-death" && k != "x-first-death-exchange" &&
			k != "x-first-death-queue" && k != "x-first-death-reason" {
			h[k] = v
		}
	}
	h[queue.HeaderFailures] = int64(failures)
	if len(reason) > 1024 {
		reason = reason[:1024]
	}
	if reason != "" {
		h[queue.HeaderReason] = reason
	}
	return amqp.Publishing{
		Headers:      h,
		ContentType:  d.d.ContentType,
		DeliveryMode: amqp.Persistent,
		MessageId:    d.d.MessageId,
		Timestamp:    d.d.Timestamp,
		Body:         d.d.Body,
	}
}

// headerInt reads an integer header of any AMQP integer type; anything else
// (absent, a string, a float) is 0. Values beyond ±2³¹ are cut to that, so
// the result never wraps around on any platform.
func headerInt(h amqp.Table, key string) int {
	var n int64
	switch v := h[key].(type) {
	case int:
		n = int64(v)
	case int8:
		n = int64(v)
	case int16:
		n = int64(v)
	case int32:
		n = int64(v)
	case int64:
		n = v
	case uint8:
		n = int64(v)
	case uint16:
		n = int64(v)
	case uint32:
		n = int64(v)
	}
	return int(min(max(n, math.MinInt32), math.MaxInt32))
}
