package rabbitmq

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"
	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/retry"
)

// We keep the connection alive ourselves with a NotifyClose loop rather than
// amqp091-go's built-in recovery: a channel that comes back by itself keeps
// handing out delivery tags that mean nothing on the new channel, and the
// worker must know that a delivery in hand was given back by the broker the
// moment its connection died (queue.ErrStale). A link (connection + channel)
// is never reused after it is lost; a new one is made and set up again, which
// re-declares the topology.

// link is one live connection and its channel.
type link struct {
	gen        uint64
	conn       *amqp.Connection
	ch         *amqp.Channel
	deliveries <-chan amqp.Delivery // consumers only
	lost       chan struct{}        // closed once the connection or channel dies
}

func (l *link) isLost() bool {
	select {
	case <-l.lost:
		return true
	default:
		return false
	}
}

// setupFunc prepares a fresh channel: declarations, QoS, consume. It returns
// the deliveries channel for consumers, nil otherwise.
type setupFunc func(ch *amqp.Channel) (<-chan amqp.Delivery, error)

// session keeps one link alive: it dials, sets up, watches for loss and
// reconnects with backoff until closed. Errors that a retry cannot fix (bad
// credentials, a queue declared with other arguments) end it for good.
type session struct {
	url   string
	name  string
	setup setupFunc
	log   *slog.Logger

	mu     sync.Mutex
	cur    *link         // nil while disconnected
	ready  chan struct{} // closed when cur becomes non-nil, then replaced
	gen    uint64
	fatal  error
	closed bool
	done   chan struct{}
}

// openSession dials until the first link is up (or ctx ends, or a permanent
// error), then keeps it up in the background.
func openSession(ctx context.Context, url, name string, setup setupFunc, log *slog.Logger) (*session, error) {
	s := &session{url: url, name: name, setup: setup, log: log.With("amqp_link", name),
		ready: make(chan struct{}), done: make(chan struct{})}
	l, err := s.dialWithBackoff(ctx)
	if err != nil {
		return nil, err
	}
	s.setLink(l)
	go s.keep(l)
	return s, nil
}

// dialWithBackoff dials until a link is up (policy retry.Connect), a
// permanent error, ctx ends or the session is closed (queue.ErrClosed).
func (s *session) dialWithBackoff(ctx context.Context) (*link, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.done:
			cancel()
		case <-ctx.Done():
		}
	}()
	var l *link
	var last error
	err := retry.Do(ctx, retry.Connect, func() error {
		var err error
		if l, err = s.dial(); err != nil && permanent(err) {
			return backoff.Permanent(err)
		}
		last = err
		return err
	}, func(err error, wait time.Duration) {
		s.log.Warn("rabbitmq unreachable, retrying", "err", err, "retry_in", wait.Round(time.Millisecond))
	})
	switch {
	case err == nil:
		return l, nil
	case !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded):
		return nil, err // permanent
	case isClosed(s.done):
		return nil, queue.ErrClosed
	}
	return nil, fmt.Errorf("rabbitmq: %w (last error: %v)", err, last)
}

func isClosed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

func (s *session) dial() (*link, error) {
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName("sdkeda-" + s.name)
	conn, err := amqp.DialConfig(s.url, amqp.Config{Heartbeat: 10 * time.Second, Properties: props})
	if err != nil {
		return nil, fmt.Errorf("rabbitmq: dial: %w", err)
	}
	ch, err := conn.Channel()
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("rabbitmq: open channel: %w", err)
	}
	l := &link{conn: conn, ch: ch, lost: make(chan struct{})}
	// Watch both before setup so a failure during setup is seen too.
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	go func() {
		select {
		case <-connClosed:
		case <-chClosed:
		}
		close(l.lost)
	}()
	if l.deliveries, err = s.setup(ch); err != nil {
		conn.Close()
		return nil, err
	}
	return l, nil
}

// keep waits for the link to die and replaces it, until the session closes.
func (s *session) keep(l *link) {
	for {
		select {
		case <-s.done:
			l.conn.Close()
			return
		case <-l.lost:
		}
		s.mu.Lock()
		s.cur = nil
		s.mu.Unlock()
		l.conn.Close()
		s.log.Warn("rabbitmq connection lost, reconnecting")
		next, err := s.dialWithBackoff(context.Background())
		if err != nil {
			if !errors.Is(err, queue.ErrClosed) {
				s.log.Error("rabbitmq: giving up", "err", err)
				s.mu.Lock()
				s.fatal = err
				close(s.ready) // wake waiters so they see fatal
				s.mu.Unlock()
			}
			return
		}
		s.log.Info("rabbitmq reconnected")
		s.setLink(next)
		l = next
	}
}

func (s *session) setLink(l *link) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.gen++
	l.gen = s.gen
	s.cur = l
	close(s.ready)
	s.ready = make(chan struct{})
}

// get returns the live link, waiting for a reconnect while ctx allows.
func (s *session) get(ctx context.Context) (*link, error) {
	for {
		s.mu.Lock()
		switch {
		case s.closed:
			s.mu.Unlock()
			return nil, queue.ErrClosed
		case s.fatal != nil:
			err := s.fatal
			s.mu.Unlock()
			return nil, err
		case s.cur != nil && !s.cur.isLost():
			l := s.cur
			s.mu.Unlock()
			return l, nil
		}
		ready := s.ready
		s.mu.Unlock()
		select {
		case <-ready:
		case <-ctx.Done():
			return nil, fmt.Errorf("rabbitmq: not connected: %w", ctx.Err())
		case <-time.After(50 * time.Millisecond):
			// The link may be lost before keep() noticed; look again.
		}
	}
}

// current returns the live link without waiting, or nil.
func (s *session) current() *link {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cur == nil || s.cur.isLost() {
		return nil
	}
	return s.cur
}

func (s *session) close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	close(s.done)
	if s.cur != nil {
		s.cur.conn.Close()
	}
}

// permanent tells errors a reconnect cannot fix.
func permanent(err error) bool {
	var terr *TopologyError
	if errors.As(err, &terr) {
		return true
	}
	var aerr *amqp.Error
	if errors.As(err, &aerr) {
		switch aerr.Code {
		case amqp.AccessRefused, amqp.NotAllowed, amqp.PreconditionFailed:
			return true
		}
	}
	return strings.Contains(err.Error(), "username or password not allowed")
}
