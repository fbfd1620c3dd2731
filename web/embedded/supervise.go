package embedded

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/memq"
	"github.com/sdkeda/sdkeda/internal/retry"
)

// supervisor keeps the in-process worker running, as Kubernetes restarts a
// crashed worker pod. A panic inside a job is the worker's own business (it
// recovers it and counts a failure); the supervisor handles what escapes
// Run: a panic elsewhere or an error. Then it does what the broker does when
// a worker process dies: every consumer the worker had is killed, so the
// delivery it held goes back to the queue with one more return. Nothing is
// lost, and a job that keeps crashing the worker ends in the dead letters at
// the delivery limit.
type supervisor struct {
	q   *memq.Queue
	log *slog.Logger

	mu        sync.Mutex
	consumers []*memq.Consumer // of the current run
}

// consume is the worker's Deps.Consume: it remembers the consumers so a
// crash can return their deliveries.
func (s *supervisor) consume(ctx context.Context) (queue.Consumer, error) {
	c, err := s.q.Consume(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.consumers = append(s.consumers, c.(*memq.Consumer))
	s.mu.Unlock()
	return c, nil
}

// run calls run until ctx ends, restarting it after a crash. It returns nil
// once ctx has ended and run returned, or an error if the queue is closed
// under a running worker.
// Restarts back off by the policy retry.Restart.
func (s *supervisor) run(ctx context.Context, run func(context.Context) error) error {
	err := retry.Do(ctx, retry.Restart, func() error {
		err := s.once(ctx, run)
		// Whatever happened, the consumers of that run are finished: kill
		// them so an unsettled delivery is returned, not stranded. After a
		// clean return this changes nothing (all is settled and stopped).
		s.killAll()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, queue.ErrClosed):
			return backoff.Permanent(fmt.Errorf("embedded: worker: %w", err))
		case err == nil:
			err = errors.New("returned before its context ended")
		}
		return err
	}, func(err error, wait time.Duration) {
		s.log.Error("worker stopped unexpectedly; restarting it", "err", err, "restart_in", wait.Round(time.Millisecond))
	})
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// once runs the worker one time, turning a panic into an error.
func (s *supervisor) once(ctx context.Context, run func(context.Context) error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.Error("worker panic", "panic", fmt.Sprint(r), "stack", string(debug.Stack()))
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	if err := run(ctx); err != nil {
		return err
	}
	if ctx.Err() == nil {
		return errors.New("the worker returned while still asked to run")
	}
	return nil
}

func (s *supervisor) killAll() {
	s.mu.Lock()
	cs := s.consumers
	s.consumers = nil
	s.mu.Unlock()
	for _, c := range cs {
		c.Kill()
	}
}
