package memq

import (
	"context"

	"github.com/sdkeda/sdkeda/internal/queue"
)

// Consumer takes messages one at a time (prefetch 1): Next hands out the next
// message only once the previous delivery is settled, as the broker does for
// a consumer with basic.qos 1.
type Consumer struct {
	q *Queue

	// Guarded by q.mu.
	stopped     bool
	stop        chan struct{} // closed by Stop and Kill: wakes a blocked Next
	outstanding *delivery     // handed out, not settled
}

// Consume starts a consumer.
func (q *Queue) Consume(ctx context.Context) (queue.Consumer, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, queue.ErrClosed
	}
	return &Consumer{q: q, stop: make(chan struct{})}, nil
}

// Next waits until this consumer holds nothing and a message is ready, then
// hands out the head of the queue. It returns ctx.Err() when ctx ends and
// queue.ErrClosed once the consumer is stopped or the queue closed.
func (c *Consumer) Next(ctx context.Context) (queue.Delivery, error) {
	q := c.q
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		q.mu.Lock()
		if q.closed || c.stopped {
			q.mu.Unlock()
			return nil, queue.ErrClosed
		}
		if c.outstanding == nil && len(q.ready) > 0 {
			m := q.ready[0]
			q.ready[0] = nil // let the backing array forget it
			q.ready = q.ready[1:]
			d := &delivery{c: c, m: m, failures: m.failures, returns: m.returns}
			c.outstanding = d
			q.mu.Unlock()
			return d, nil
		}
		// Take the broadcast channel under the lock: any change after this
		// point closes it, so the wake-up cannot be missed.
		changed := q.changed
		q.mu.Unlock()
		select {
		case <-changed:
		case <-c.stop:
		case <-ctx.Done():
		}
	}
}

// Stop ends consuming: Next returns queue.ErrClosed from now on, and a
// delivery already handed out can still be settled.
func (c *Consumer) Stop() error {
	c.q.mu.Lock()
	defer c.q.mu.Unlock()
	c.stopLocked()
	return nil
}

func (c *Consumer) stopLocked() {
	if !c.stopped {
		c.stopped = true
		close(c.stop)
	}
}

// Kill simulates the death of the consumer's process: consuming stops and an
// unsettled delivery goes back to the head of the queue, counted as a return
// (dead-lettered past the delivery limit), as RabbitMQ does when a consumer's
// connection drops. Settling that delivery afterwards gives queue.ErrStale.
func (c *Consumer) Kill() {
	q := c.q
	q.mu.Lock()
	defer q.mu.Unlock()
	c.stopLocked()
	d := c.outstanding
	if d == nil {
		return
	}
	c.outstanding = nil
	d.stale = true
	if !q.closed {
		q.requeue(d.m)
	}
}

// delivery is one message in hand. Its counters are a snapshot taken when it
// was handed out.
type delivery struct {
	c        *Consumer
	m        *message
	failures int
	returns  int

	// Guarded by q.mu.
	settled bool
	stale   bool // the consumer was killed: the message is back in the queue
}

func (d *delivery) ID() string    { return d.m.id }
func (d *delivery) Body() []byte  { return d.m.body }
func (d *delivery) Failures() int { return queue.ClampFailures(d.failures, d.c.q.opts.MaxFailures) }
func (d *delivery) Returns() int  { return d.returns }

// settle runs f under the queue lock, once. The first call marks the
// delivery settled whatever the outcome, as in the RabbitMQ implementation:
// a second call is a bug of the caller and gets ErrSettled.
func (d *delivery) settle(f func(q *Queue, m *message)) error {
	q := d.c.q
	q.mu.Lock()
	defer q.mu.Unlock()
	if d.settled {
		return queue.ErrSettled
	}
	d.settled = true
	if d.stale {
		return queue.ErrStale
	}
	if d.c.outstanding == d {
		d.c.outstanding = nil
	}
	if q.closed {
		return queue.ErrClosed
	}
	f(q, d.m)
	// The consumer may take its next message now.
	q.broadcast()
	return nil
}

// Ack removes the message: it is simply not put back.
func (d *delivery) Ack(ctx context.Context) error {
	return d.settle(func(*Queue, *message) {})
}

// Requeue puts the message back at the head and counts a return.
func (d *delivery) Requeue(ctx context.Context) error {
	return d.settle(func(q *Queue, m *message) { q.requeue(m) })
}

// Retry counts a generator failure. Below MaxFailures the message goes to the
// tail with a fresh return count (RabbitMQ's republished copy starts one);
// at MaxFailures it is dead-lettered with the reason.
func (d *delivery) Retry(ctx context.Context, reason string) (bool, error) {
	var dead bool
	err := d.settle(func(q *Queue, m *message) {
		m.failures = queue.ClampFailures(m.failures, q.opts.MaxFailures) + 1
		if m.failures >= q.opts.MaxFailures {
			dead = true
			q.deadLetter(m, reason)
			return
		}
		m.returns = 0
		q.ready = append(q.ready, m)
	})
	return dead, err
}

// Dead dead-letters the message now with the reason.
func (d *delivery) Dead(ctx context.Context, reason string) error {
	return d.settle(func(q *Queue, m *message) { q.deadLetter(m, reason) })
}

// Stamp sets the message-id and puts the message at the tail, as the
// RabbitMQ implementation's republished copy would be (with a fresh return
// count).
func (d *delivery) Stamp(ctx context.Context, id string) error {
	return d.settle(func(q *Queue, m *message) {
		m.id = id
		m.returns = 0
		q.ready = append(q.ready, m)
	})
}
