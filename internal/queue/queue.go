// Package queue is the job queue of docs/design.md §2.2, behind one small set of
// interfaces with two implementations: RabbitMQ (package queue/rabbitmq) for
// production and an in-process queue (package queue/memq) for the embedded
// mode. Both keep the same semantics, checked by one contract suite
// (package queue/queuetest):
//
//   - Publish returns only when the queue owns the message (a publisher
//     confirm); an unconfirmed publish is an error the caller sees.
//   - A consumer holds at most one unsettled message (prefetch 1) and settles
//     each delivery exactly once: Ack, Requeue, Retry or Dead.
//   - A delivery whose consumer dies unsettled goes back to the queue. The
//     queue counts every return (DeliveryLimit); past it the message is
//     dead-lettered by the queue itself.
//   - Generator failures are counted apart (Retry, MaxFailures), so a job
//     whose pods were killed a few times is not dead-lettered as fast as one
//     whose generator keeps failing.
package queue

import (
	"context"
	"errors"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// Options name the queue and its limits. Both programs declare the queue with
// the same options: RabbitMQ refuses a second declaration with other ones.
type Options struct {
	Name          string // the work queue, "tasks"
	DeliveryLimit int    // returns of one message (nack, dead consumer) before it is dead-lettered
	MaxFailures   int    // generator failures of one job before it is dead-lettered
	ConfirmWait   time.Duration
}

// DeadName is the dead-letter queue of the work queue name.
func DeadName(name string) string { return name + ".dead" }

// StatusName is the exchange where status events of jobs are published.
func StatusName(name string) string { return name + ".status" }

// Default limits (DELIVERY_LIMIT, MAX_FAILURES): wide for returns, which
// are not the job's fault (spot nodes), narrow for generator failures.
const (
	DefaultDeliveryLimit = 10
	DefaultMaxFailures   = 3
)

// Defaults fills the zero fields of o.
func (o Options) Defaults() Options {
	if o.Name == "" {
		o.Name = "tasks"
	}
	if o.DeliveryLimit <= 0 {
		o.DeliveryLimit = DefaultDeliveryLimit
	}
	if o.MaxFailures <= 0 {
		o.MaxFailures = DefaultMaxFailures
	}
	if o.ConfirmWait <= 0 {
		o.ConfirmWait = 10 * time.Second
	}
	return o
}

// LastDelivery reports whether a delivery that carries returns (its
// Returns) is the last one the queue makes of its message under
// deliveryLimit: its return, whether a Requeue or a consumer that died
// holding it, dead-letters the message instead of putting it back. RabbitMQ
// 3.10 (measured: rabbitmq's TestDeliveryLimitCountsLostConsumers) delivers
// a message deliveryLimit+1 times, the last carrying x-delivery-count
// deliveryLimit, and dead-letters it on that delivery's return; memq does
// the same. A Retry republishes the message with a fresh count.
func LastDelivery(returns, deliveryLimit int) bool {
	return returns >= deliveryLimit
}

// Headers carried by messages beside the body.
const (
	HeaderFailures = "x-sd-failures" // generator failures so far (int)
	HeaderReason   = "x-sd-reason"   // why the message was dead-lettered or last failed
)

// ClampFailures is how a consumer reads a failure count. The header comes
// with the message, and any publisher can write it: a negative count is read
// as 0 and one above maxFailures as maxFailures, so a forged or corrupt
// header can neither buy a job extra runs (-20 would otherwise give it 23)
// nor make the count overflow. The next failure of a job read at
// maxFailures dead-letters it.
func ClampFailures(n, maxFailures int) int {
	return min(max(n, 0), maxFailures)
}

// Message is what a publisher hands to the queue: the job id (AMQP
// message-id) and the JSON body.
type Message struct {
	ID   string
	Body []byte
}

// Errors shared by the implementations.
var (
	ErrClosed      = errors.New("queue: closed")
	ErrUnconfirmed = errors.New("queue: publish not confirmed by the broker")
	ErrSettled     = errors.New("queue: delivery already settled")
	// ErrStale means the delivery came over a connection that has since been
	// lost: the broker has already put the message back, so settling it is
	// impossible and unnecessary.
	ErrStale = errors.New("queue: delivery belongs to a lost connection; the broker requeued it")
)

// Delivery is one message taken from the queue. Exactly one of Ack, Requeue,
// Retry or Dead must be called; a second call returns ErrSettled.
type Delivery interface {
	ID() string   // the message-id: the job id chosen by the publisher, or ""
	Body() []byte // the JSON body
	// Failures is how many times the generator failed on this job before.
	Failures() int
	// Returns is how many times the queue gave this message back after a
	// requeue or a lost consumer (the broker's delivery count).
	Returns() int
	// Ack removes the message: the job is done.
	Ack(ctx context.Context) error
	// Requeue gives the message back unchanged (shutdown, or the store was
	// unreachable). The queue counts it against DeliveryLimit.
	Requeue(ctx context.Context) error
	// Retry records one more generator failure with its reason: the message
	// goes back to the tail of the queue, or to the dead-letter queue when
	// MaxFailures is reached (dead reports which).
	Retry(ctx context.Context, reason string) (dead bool, err error)
	// Dead sends the message to the dead-letter queue now with the reason in
	// a header: it is malformed or invalid and will never succeed.
	Dead(ctx context.Context, reason string) error
	// Stamp gives a message that came without any id (the old system's
	// publisher set none) the message-id id for good: the message goes back
	// to the tail of the queue with it, and this copy is acked. Every later
	// run of the job then names its objects the same, so a worker killed
	// mid-job leads to an overwrite, not to a second entry.
	Stamp(ctx context.Context, id string) error
}

// Publisher puts jobs on the queue.
type Publisher interface {
	Publish(ctx context.Context, m Message) error
}

// Consumer hands out deliveries one at a time.
type Consumer interface {
	// Next blocks until a message arrives or ctx ends (then ctx.Err()).
	Next(ctx context.Context) (Delivery, error)
	// Stop ends consuming: nothing more is delivered, and a delivery already
	// handed out can still be settled.
	Stop() error
}

// Lengther tells how many jobs are waiting (ready, not yet taken).
type Lengther interface {
	Len(ctx context.Context) (int, error)
}

// StatusPublisher publishes status events of jobs.
type StatusPublisher interface {
	PublishStatus(ctx context.Context, e job.Event) error
}

// StatusSubscriber receives every status event published after it
// subscribed; the channel is closed when ctx ends.
type StatusSubscriber interface {
	SubscribeStatus(ctx context.Context) (<-chan job.Event, error)
}

// Queue is the whole of one implementation.
type Queue interface {
	Publisher
	Lengther
	StatusPublisher
	StatusSubscriber
	// Consume starts a consumer with prefetch 1.
	Consume(ctx context.Context) (Consumer, error)
	// DeadLen tells how many messages wait in the dead-letter queue.
	DeadLen(ctx context.Context) (int, error)
	// Ping checks that the queue is reachable now (readiness).
	Ping(ctx context.Context) error
	Close() error
}
