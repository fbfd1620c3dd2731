package worker

import (
	"context"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// lifecycle is the worker's own state as others see it: a worker event
// (job.Event of Kind "worker") on the status exchange at every change and
// again every heartbeat, so that the page can tell a person why a job waits
// (a worker starting, a model loading, all busy), and the readiness that
// /readyz reports.
type lifecycle struct {
	ev        *events
	name, gen string
	ready     func(bool) // nil: nobody asks
	oneShot   bool

	mu        sync.Mutex
	state     job.WorkerState
	run       run  // busy: the job and its delivery
	delivered bool // a one-shot worker is Ready only once it holds a job
	isReady   bool
}

// run is the job a busy worker holds: its id, its attempt and the broker's
// return count of its delivery. A busy worker names them in every event, so
// that a webui that loses the worker (no heartbeat, or it starts anew) can
// tell whether the broker puts the job back or dead-letters it.
type run struct {
	jobID            string
	attempt, returns int
}

// set moves to state s (busy with jobID). Once stopping, only stopped
// follows: a job that finishes in the grace does not make the worker idle.
func (l *lifecycle) set(s job.WorkerState, jobID string) {
	l.move(s, run{jobID: jobID})
}

// busy moves to state busy with jobID, its attempt and the returns of its
// delivery.
func (l *lifecycle) busy(jobID string, attempt, returns int) {
	l.move(job.WorkerBusy, run{jobID: jobID, attempt: attempt, returns: returns})
}

func (l *lifecycle) move(s job.WorkerState, r run) {
	l.mu.Lock()
	if l.state == s && l.run == r ||
		(l.state == job.WorkerStopping || l.state == job.WorkerStopped) && s != job.WorkerStopped ||
		l.state == job.WorkerStopped {
		l.mu.Unlock()
		return
	}
	l.state, l.run = s, r
	e := l.event()
	ready := l.readyLocked()
	changed := ready != l.isReady
	l.isReady = ready
	l.mu.Unlock()
	l.ev.send(e)
	if changed && l.ready != nil {
		l.ready(ready)
	}
}

// took records that a one-shot worker holds its first delivery: KEDA's
// accurate strategy counts a Job's pod as pending until it is Ready, so a
// pod must not look ready while its message still waits in the queue.
func (l *lifecycle) took() {
	l.mu.Lock()
	l.delivered = true
	ready := l.readyLocked()
	changed := ready != l.isReady
	l.isReady = ready
	l.mu.Unlock()
	if changed && l.ready != nil {
		l.ready(ready)
	}
}

// readyLocked: the generator is up (idle or busy), and in one-shot mode a
// job has been taken.
func (l *lifecycle) readyLocked() bool {
	up := l.state == job.WorkerIdle || l.state == job.WorkerBusy
	return up && (!l.oneShot || l.delivered)
}

func (l *lifecycle) event() job.Event {
	return job.Event{Kind: job.KindWorker, Worker: l.name, WorkerState: l.state, ID: l.run.jobID,
		Attempt: l.run.attempt, Returns: l.run.returns, Generator: l.gen, At: time.Now().UTC()}
}

// beat repeats the current state every interval until ctx ends: a consumer
// forgets a worker it has not heard of for three heartbeats (a killed pod
// sends nothing).
func (l *lifecycle) beat(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.mu.Lock()
			e, stopped := l.event(), l.state == job.WorkerStopped || l.state == ""
			l.mu.Unlock()
			if !stopped {
				l.ev.send(e)
			}
		}
	}
}
