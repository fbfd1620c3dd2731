package rabbitmq

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// A status subscription's own queue. It outlives a lost connection, so the
// events published while the subscriber reconnects wait in it instead of
// being lost (a server-named exclusive queue dies with its connection, and
// with it every event of the gap: a job could then stay "queued" on the
// page). A subscriber gone for good leaves it unused, and the broker deletes
// it after statusExpiry; statusMaxLength bounds what it holds meanwhile.
const (
	statusExpiry    = 5 * time.Minute
	statusMaxLength = 50000 // events; the oldest go first
	statusPrefetch  = 256   // unacked events in flight to the subscriber
)

// SubscribeStatus receives every status event published from now on, over
// its own connection and a queue of its own bound to the status exchange.
// After a reconnect it resumes the same queue: the events published while it
// was away arrive then, and an event that was in flight unacked when the
// connection died arrives again (events are idempotent for their
// consumers). Only a broker restart or an absence past statusExpiry loses
// events. When ctx ends the queue is deleted.
func (q *Queue) SubscribeStatus(ctx context.Context) (<-chan job.Event, error) {
	name := queue.StatusName(q.opts.Name) + "." + uuid.NewString()
	s, err := q.openSession(ctx, "status", func(ch *amqp.Channel) (<-chan amqp.Delivery, error) {
		if err := declare(ch, q.opts); err != nil {
			return nil, err
		}
		if _, err := ch.QueueDeclare(name,
			false, // durable: the events are transient; a broker restart loses them anyway
			false, // autoDelete: not when the consumer's connection drops, which is the point
			false, // exclusive: the next connection of this subscription takes it over
			false, // noWait
			amqp.Table{
				amqp.QueueTypeArg:     amqp.QueueTypeClassic,
				amqp.QueueTTLArg:      statusExpiry.Milliseconds(), // x-expires: unused this long, deleted
				amqp.QueueMaxLenArg:   int64(statusMaxLength),
				amqp.QueueOverflowArg: amqp.QueueOverflowDropHead,
			}); err != nil {
			return nil, fmt.Errorf("rabbitmq: status queue: %w", err)
		}
		if err := ch.QueueBind(name, "", queue.StatusName(q.opts.Name), false, nil); err != nil {
			return nil, fmt.Errorf("rabbitmq: status bind: %w", err)
		}
		if err := ch.Qos(statusPrefetch, 0, false); err != nil {
			return nil, fmt.Errorf("rabbitmq: status qos: %w", err)
		}
		return ch.ConsumeWithContext(context.Background(), name, "",
			false, // autoAck: acked once handed on, so an event in flight on a dying connection comes again
			false, // exclusive: a half-dead earlier connection may still hold its consumer for a moment
			false, // noLocal (unsupported by RabbitMQ)
			false, nil)
	})
	if err != nil {
		return nil, err
	}
	out := make(chan job.Event, 64)
	go func() {
		defer close(out)
		defer q.closeSession(s)
		for {
			l, err := s.get(ctx)
			if err != nil {
				return
			}
			for d := range l.deliveries {
				e, err := job.DecodeEvent(d.Body)
				if err != nil {
					q.log.Warn("rabbitmq: bad status event", "err", err)
				} else {
					select {
					case out <- e:
					case <-ctx.Done():
						return
					}
				}
				_ = d.Ack(false) // on a lost channel the broker requeues it anyway
			}
			if ctx.Err() != nil {
				return
			}
		}
	}()
	go func() {
		<-ctx.Done()
		q.deleteStatusQueue(s, name) // which also ends the consumer
		q.closeSession(s)
	}()
	return out, nil
}

// deleteStatusQueue removes a subscription's queue once it is done with, so
// that it does not collect events until it expires.
func (q *Queue) deleteStatusQueue(s *session, name string) {
	l := s.current()
	if l == nil {
		return // it expires by itself
	}
	if _, err := l.ch.QueueDelete(name, false, false, false); err != nil {
		q.log.Debug("rabbitmq: status queue left to expire", "queue", name, "err", err)
	}
}
