// Package rabbitmq is the production queue.Queue on RabbitMQ (amqp091-go):
// a durable quorum queue with a delivery limit and at-least-once
// dead-lettering, publisher confirms on every publish, manual acks with
// prefetch 1, and a fanout exchange for status events. Publishing and each
// consumer use separate connections, so a slow consumer never throttles
// publishers (RabbitMQ applies flow control per connection).
package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// Queue is the RabbitMQ implementation of queue.Queue.
type Queue struct {
	url  string
	opts queue.Options
	log  *slog.Logger
	pub  *session // publishing connection: jobs, dead letters, status events

	mu       sync.Mutex
	sessions map[*session]struct{} // consumers and subscribers, closed with the Queue
	closed   bool
}

var _ queue.Queue = (*Queue)(nil)

// Open connects (retrying with backoff until ctx ends), declares the topology
// and returns the queue. A topology conflict (*TopologyError) or refused
// credentials return at once: retrying cannot fix them.
func Open(ctx context.Context, url string, opts queue.Options, log *slog.Logger) (*Queue, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	q := &Queue{url: url, opts: opts.Defaults(), log: log, sessions: map[*session]struct{}{}}
	pub, err := openSession(ctx, url, "publish", func(ch *amqp.Channel) (<-chan amqp.Delivery, error) {
		if err := declare(ch, q.opts); err != nil {
			return nil, err
		}
		// Confirm mode: the broker acks each publish once it owns the
		// message (for a quorum queue: written to a majority).
		return nil, ch.Confirm(false)
	}, log)
	if err != nil {
		return nil, err
	}
	q.pub = pub
	return q, nil
}

// Options returns the effective options.
func (q *Queue) Options() queue.Options { return q.opts }

// Publish puts a job on the work queue and returns once the broker confirmed
// it. It waits for a reconnect while ctx (bounded by ConfirmWait) allows.
func (q *Queue) Publish(ctx context.Context, m queue.Message) error {
	return q.publish(ctx, "", q.opts.Name, amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		MessageId:    m.ID,
		Timestamp:    time.Now(),
		Body:         m.Body,
	})
}

// publish sends one message on the confirm channel and waits for its confirm.
// When the link dies before the confirm comes, nobody knows whether the
// broker kept the message, so it is published again on the next link (while
// ctx allows): a job is then queued once or twice, never lost. Twice is
// harmless: the job id names its objects, so a second run overwrites them
// (docs/design.md §2.3), and the caller is never told "failed" about a job that
// will run. A nack is the broker's clear refusal: an error, not retried; the
// link is renewed after one, because RabbitMQ goes on refusing on a channel
// that first published to a quorum queue while the queue had no leader (a
// channel opened during the election that follows a node loss), where a new
// channel reaches the new leader. Nothing else nacks here (no length limit).
func (q *Queue) publish(ctx context.Context, exchange, key string, p amqp.Publishing) error {
	ctx, cancel := context.WithTimeout(ctx, q.opts.ConfirmWait)
	defer cancel()
	for {
		l, err := q.pub.get(ctx)
		if err != nil {
			return fmt.Errorf("rabbitmq: publish: %w", err)
		}
		dc, err := l.ch.PublishWithDeferredConfirmWithContext(ctx, exchange, key,
			false, // mandatory: the queue is declared on every connect
			false, // immediate: unsupported by RabbitMQ
			p)
		if err != nil {
			if l.isLost() || errors.Is(err, amqp.ErrClosed) {
				continue // not sent: the next link will take it
			}
			return fmt.Errorf("rabbitmq: publish: %w", err)
		}
		ok, err := dc.WaitContext(ctx)
		switch {
		case err != nil:
			return fmt.Errorf("%w: %v", queue.ErrUnconfirmed, err)
		case !ok && l.ch.IsClosed():
			continue // the link died, which resolves every pending confirm as false
		case !ok:
			l.conn.Close() // the session dials a fresh link for the next publish
			return fmt.Errorf("%w: the broker refused it (nack)", queue.ErrUnconfirmed)
		}
		return nil
	}
}

// Len is the number of ready jobs (not those being worked on).
func (q *Queue) Len(ctx context.Context) (int, error) { return q.count(ctx, q.opts.Name) }

// DeadLen is the number of messages in the dead-letter queue.
func (q *Queue) DeadLen(ctx context.Context) (int, error) {
	return q.count(ctx, queue.DeadName(q.opts.Name))
}

// count inspects a queue on a short-lived channel of the publishing
// connection: a failed passive declare closes its channel, and that must not
// be the confirm channel.
func (q *Queue) count(ctx context.Context, name string) (int, error) {
	l, err := q.pub.get(ctx)
	if err != nil {
		return 0, err
	}
	ch, err := l.conn.Channel()
	if err != nil {
		return 0, fmt.Errorf("rabbitmq: inspect %s: %w", name, err)
	}
	defer ch.Close()
	st, err := ch.QueueDeclarePassive(name, true, false, false, false, nil)
	if err != nil {
		return 0, fmt.Errorf("rabbitmq: inspect %s: %w", name, err)
	}
	return st.Messages, nil
}

// Ping reports whether the publishing connection is up now.
func (q *Queue) Ping(ctx context.Context) error {
	if q.pub.current() == nil {
		return errors.New("rabbitmq: not connected")
	}
	_, err := q.Len(ctx)
	return err
}

// PublishStatus publishes a job status event to the status exchange.
// Events are transient: they describe now, and a restart forgets them.
func (q *Queue) PublishStatus(ctx context.Context, e job.Event) error {
	if e.At.IsZero() {
		e.At = time.Now().UTC()
	}
	return q.publish(ctx, queue.StatusName(q.opts.Name), "", amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Transient,
		MessageId:    e.ID,
		Timestamp:    e.At,
		Body:         e.Encode(),
	})
}

func (q *Queue) openSession(ctx context.Context, name string, setup setupFunc) (*session, error) {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return nil, queue.ErrClosed
	}
	q.mu.Unlock()
	s, err := openSession(ctx, q.url, name, setup, q.log)
	if err != nil {
		return nil, err
	}
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.closed {
		s.close()
		return nil, queue.ErrClosed
	}
	q.sessions[s] = struct{}{}
	return s, nil
}

func (q *Queue) closeSession(s *session) {
	s.close()
	q.mu.Lock()
	delete(q.sessions, s)
	q.mu.Unlock()
}

// Close closes every connection of the queue. Unsettled deliveries go back
// to the queue (the broker counts them as returns).
func (q *Queue) Close() error {
	q.mu.Lock()
	q.closed = true
	ss := make([]*session, 0, len(q.sessions))
	for s := range q.sessions {
		ss = append(ss, s)
	}
	q.mu.Unlock()
	for _, s := range ss {
		q.closeSession(s)
	}
	q.pub.close()
	return nil
}
