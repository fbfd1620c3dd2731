package worker

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// events publishes status events from one goroutine, off the job's path: a
// slow confirm must not delay the next job, and a broker that is down must
// not fail one whose images are stored. Events are best effort (the webui
// also learns of finished jobs from the store).
//
// A job's events go out in order through a bounded buffer. The worker's own
// lifecycle events are a state, where only the latest counts: they wait in
// one slot that a newer one replaces, so a burst of short jobs (busy, idle,
// busy, ...) never crowds the jobs' events out of the buffer; a state never
// overtakes the jobs' events sent before it (a webui takes a worker that
// leaves its job without a word for one that lost it).
type events struct {
	pub  queue.StatusPublisher
	log  *slog.Logger
	ch   chan job.Event
	wake chan struct{} // a worker event waits in the slot
	done chan struct{}
	once sync.Once

	mu     sync.Mutex
	worker *job.Event // the slot
}

const eventTimeout = 10 * time.Second

func newEvents(pub queue.StatusPublisher, log *slog.Logger) *events {
	e := &events{pub: pub, log: log, ch: make(chan job.Event, 256), wake: make(chan struct{}, 1), done: make(chan struct{})}
	go e.loop()
	return e
}

func (e *events) loop() {
	defer close(e.done)
	for {
		select {
		case ev, ok := <-e.ch:
			if !ok {
				e.flushWorker() // the last state (stopped) goes last
				return
			}
			e.publish(ev)
		case <-e.wake:
			// The jobs' events queued before this state go first: a webui
			// that sees a worker leave its job (idle, stopped, busy with the
			// next) before that job's outcome would take the job for lost.
			open := e.drain()
			e.flushWorker()
			if !open {
				return
			}
		}
	}
}

// drain publishes the jobs' events queued now; false once the buffer is
// closed and empty.
func (e *events) drain() bool {
	for {
		select {
		case ev, ok := <-e.ch:
			if !ok {
				return false
			}
			e.publish(ev)
		default:
			return true
		}
	}
}

func (e *events) flushWorker() {
	e.mu.Lock()
	ev := e.worker
	e.worker = nil
	e.mu.Unlock()
	if ev != nil {
		e.publish(*ev)
	}
}

func (e *events) publish(ev job.Event) {
	if e.pub == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), eventTimeout)
	defer cancel()
	if err := e.pub.PublishStatus(ctx, ev); err != nil {
		e.log.Warn("status event not published", "job_id", ev.ID, "state", ev.State, "worker_state", ev.WorkerState, "err", err)
	}
}

// send queues a job's event; never blocks the job (a full buffer drops it).
func (e *events) send(ev job.Event) {
	if ev.At.IsZero() {
		ev.At = time.Now().UTC()
	}
	if ev.IsWorker() {
		e.mu.Lock()
		e.worker = &ev
		e.mu.Unlock()
		select {
		case e.wake <- struct{}{}:
		default: // the loop is already told
		}
		return
	}
	select {
	case e.ch <- ev:
	default:
		e.log.Warn("status event dropped: publisher behind", "job_id", ev.ID, "state", ev.State)
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
