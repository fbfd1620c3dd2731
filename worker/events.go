package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// events publishes status events from one goroutine, in order, off the job's
// path: a slow confirm must not delay the next job, and a broker that is down
// must not fail one whose images are stored. Events are best effort (the
// webui also learns of finished jobs from the store).
type events struct {
	pub  queue.StatusPublisher
	log  *slog.Logger
	ch   chan job.Event
	done chan struct{}
	once sync.Once
}

const eventTimeout = 10 * time.Second

func newEvents(pub queue.StatusPublisher, log *slog.Logger) *events {
	e := &events{pub: pub, log: log, ch: make(chan job.Event, 64), done: make(chan struct{})}
	go e.loop()
	return e
}

func (e *events) loop() {
	defer close(e.done)
	for ev := range e.ch {
		if e.pub == nil {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
		if err := e.pub.PublishStatus(ctx, ev); err != nil {
			e.log.Warn("status event not published", "job_id", ev.ID, "state", ev.State, "worker_state", ev.WorkerState, "err", err)
		}
		cancel()
	}
}

// send queues an event; never blocks the job (a full buffer drops it).
func (e *events) send(ev job.Event) {
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	select {
	case e.ch <- ev:
	default:
		e.log.Warn("status event dropped: publisher behind", "job_id", ev.ID, "state", ev.State, "worker_state", ev.WorkerState)
	}
}

// close sends what is queued, waiting at most wait.
func (e *events) close(wait time.Duration) {
	e.once.Do(func() { close(e.ch) })
	select {
	case <-e.done:
	case <-time.After(wait):
		e.log.Warn("status events still pending at exit")
	}
}
