// Package memq is the in-process queue.Queue of the embedded mode. It keeps
// the semantics of the RabbitMQ quorum queue as the product uses it (package
// queue/rabbitmq), checked by the same contract suite (package queue/queuetest):
//
//   - Publish returns once the message is stored (in memory: nothing survives
//     the process, which the embedded mode accepts).
//   - Each consumer holds at most one unsettled delivery (prefetch 1).
//   - Requeue and a consumer that dies holding a delivery (Consumer.Kill) put
//     the message back at the head of the queue, as a quorum queue does, and
//     count a return; past DeliveryLimit returns it is dead-lettered with the
//     reason "delivery_limit".
//   - Retry counts a generator failure and puts the message at the tail, as
//     the RabbitMQ implementation's republish does; at MaxFailures it is
//     dead-lettered with the caller's reason.
//   - Status events fan out to every subscriber; a slow subscriber loses
//     events rather than slowing the publisher.
//
// One mutex guards everything. Waiters (Next) block on a broadcast channel
// that is closed and replaced on every change, so they wake without polling
// and can also select on their context.
package memq

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// ReasonDeliveryLimit is the dead-letter reason of a message returned more
// than DeliveryLimit times; RabbitMQ puts the same word in x-first-death-reason.
const ReasonDeliveryLimit = "delivery_limit"

// subscriberBuffer is how many status events a subscriber may lag behind
// before it starts losing them.
const subscriberBuffer = 64

// Queue is the in-process implementation of queue.Queue.
type Queue struct {
	opts queue.Options

	mu      sync.Mutex
	ready   []*message // head first
	dead    []DeadLetter
	deadIDs map[string]int // message id -> its latest index in dead
	changed chan struct{}  // closed and replaced on every change: wakes waiters
	subs    map[*subscriber]struct{}
	closed  bool

	dropped atomic.Int64 // status events a slow subscriber did not get
}

var _ queue.Queue = (*Queue)(nil)

// message is one job while it lives in the queue. Its counters change only
// under Queue.mu; deliveries keep a snapshot of them.
type message struct {
	id       string
	body     []byte
	failures int // generator failures (Retry)
	returns  int // returns to the queue (Requeue, Kill) since the last Retry
}

// DeadLetter is one message in the dead-letter list, with why it is there.
type DeadLetter struct {
	Message  queue.Message
	Reason   string // ReasonDeliveryLimit, or the reason given to Retry or Dead
	Failures int
	Returns  int
	At       time.Time
}

type subscriber struct{ ch chan job.Event }

// New returns an empty queue with opts (zero fields take their defaults).
func New(opts queue.Options) *Queue {
	return &Queue{
		opts:    opts.Defaults(),
		changed: make(chan struct{}),
		subs:    map[*subscriber]struct{}{},
		deadIDs: map[string]int{},
	}
}

// Options returns the effective options.
func (q *Queue) Options() queue.Options { return q.opts }

// broadcast wakes every waiter; call it with q.mu held after a change.
func (q *Queue) broadcast() {
	close(q.changed)
	q.changed = make(chan struct{})
}

// Publish stores the message at the tail of the queue. The body is copied:
// the caller may reuse its buffer.
func (q *Queue) Publish(ctx context.Context, m queue.Message) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	q.ready = append(q.ready, &message{id: m.ID, body: slices.Clone(m.Body)})
	q.broadcast()
	return nil
}

// Len is the number of ready messages: those handed out are not counted,
// as in RabbitMQ (and so in what KEDA sees).
func (q *Queue) Len(ctx context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, queue.ErrClosed
	}
	return len(q.ready), nil
}

// DeadLen is the number of dead-lettered messages.
func (q *Queue) DeadLen(ctx context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return 0, queue.ErrClosed
	}
	return len(q.dead), nil
}

// DeadLetters returns the dead-lettered messages, oldest first.
func (q *Queue) DeadLetters() []DeadLetter {
	q.mu.Lock()
	defer q.mu.Unlock()
	return slices.Clone(q.dead)
}

// DeadReason tells why the message id was dead-lettered, and when, if it
// was. The queue keeps every dead letter, so the webui of the embedded mode
// learns a failed job's end here even when its failed event was lost.
func (q *Queue) DeadReason(id string) (reason string, at time.Time, ok bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	i, ok := q.deadIDs[id]
	if !ok {
		return "", time.Time{}, false
	}
	return q.dead[i].Reason, q.dead[i].At, true
}

// Ping fails only once the queue is closed.
func (q *Queue) Ping(ctx context.Context) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	return nil
}

// Close ends every consumer's Next and every status subscription. The
// messages are dropped with the process anyway; a delivery still in hand
// can no longer be settled (ErrClosed), as over a closed AMQP connection.
func (q *Queue) Close() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil
	}
	q.closed = true
	for s := range q.subs {
		close(s.ch)
		delete(q.subs, s)
	}
	q.broadcast()
	return nil
}

// PublishStatus hands e to every subscriber without waiting: a subscriber
// whose buffer is full loses the event (counted by DroppedEvents), as a
// browser stream would rather than stall the worker.
func (q *Queue) PublishStatus(ctx context.Context, e job.Event) error {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return queue.ErrClosed
	}
	for s := range q.subs {
		select {
		case s.ch <- e:
		default:
			q.dropped.Add(1)
		}
	}
	return nil
}

// DroppedEvents is how many status events slow subscribers have lost.
func (q *Queue) DroppedEvents() int64 { return q.dropped.Load() }

// SubscribeStatus receives every status event published from now on; the
// channel is closed when ctx ends or the queue closes.
func (q *Queue) SubscribeStatus(ctx context.Context) (<-chan job.Event, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		return nil, queue.ErrClosed
	}
	s := &subscriber{ch: make(chan job.Event, subscriberBuffer)}
	q.subs[s] = struct{}{}
	go func() {
		<-ctx.Done()
		q.mu.Lock()
		defer q.mu.Unlock()
		// Close may have closed it already; sends happen only under q.mu
		// to members of q.subs, so closing here cannot race with a send.
		if _, ok := q.subs[s]; ok {
			delete(q.subs, s)
			close(s.ch)
		}
	}()
	return s.ch, nil
}

// requeue puts m back at the head after a return, or dead-letters it past
// the delivery limit. q.mu is held.
func (q *Queue) requeue(m *message) {
	m.returns++
	if m.returns > q.opts.DeliveryLimit {
		q.deadLetter(m, ReasonDeliveryLimit)
		return
	}
	q.ready = slices.Insert(q.ready, 0, m)
	q.broadcast()
}

// deadLetter moves m to the dead-letter list. q.mu is held.
func (q *Queue) deadLetter(m *message, reason string) {
	q.dead = append(q.dead, DeadLetter{
		Message:  queue.Message{ID: m.id, Body: m.body},
		Reason:   reason,
		Failures: m.failures,
		Returns:  m.returns,
		At:       time.Now().UTC(),
	})
	if m.id != "" {
		q.deadIDs[m.id] = len(q.dead) - 1
	}
	q.broadcast()
}
