package status

import (
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// Worker is one worker process as its lifecycle events tell it.
type Worker struct {
	Name      string
	State     job.WorkerState
	Generator string    // fastsdcpu, fastsdcpu-warm, placeholder
	JobID     string    // the job it is busy with
	Since     time.Time // in this state since (its event's time)
	Seen      time.Time // last heard of (this webui's clock): a heartbeat every job.WorkerHeartbeat
}

// Fleet is what a person needs to see why they wait: the workers by state,
// and how many jobs wait in the queue.
type Fleet struct {
	Workers []Worker // by name
	Depth   int      // jobs waiting in the queue (ready, not taken); -1 until known
}

// Count is how many workers are in state s.
func (f Fleet) Count(s job.WorkerState) int {
	n := 0
	for _, w := range f.Workers {
		if w.State == s {
			n++
		}
	}
	return n
}

// fleet is the table of workers. A worker not heard of for forgetAfter (3
// heartbeats) is forgotten: a killed pod says nothing.
type fleet struct {
	forgetAfter time.Duration

	mu      sync.Mutex
	workers map[string]*Worker
	held    map[string]run // by worker: the run it holds, busy or stopping
	depth   int
}

// run is one delivery of a job to a worker, as its busy events tell it.
// attempt is 0 when the worker does not say (a version before the returns
// were told).
type run struct {
	worker, jobID    string
	attempt, returns int
}

func newFleet(forgetAfter time.Duration) *fleet {
	return &fleet{forgetAfter: forgetAfter, workers: map[string]*Worker{}, held: map[string]run{}, depth: -1}
}

// apply records a worker event; changed is false for a heartbeat that
// repeats what is known. ended is the run the worker held and has left
// without being heard to finish it (its job's outcome comes before the
// worker's next state; see Tracker.lose), when the event says so: the
// worker starts anew (a process restarted under the same WORKER_NAME),
// loads, is idle, is busy with another run, or has stopped. A stopping
// worker may still finish its run within its grace: it keeps it.
func (f *fleet) apply(e job.Event, now time.Time) (changed bool, ended *run) {
	if e.Worker == "" {
		return false, nil
	}
	at := e.At
	if at.IsZero() {
		at = now
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	ended = f.moveRun(e)
	w, ok := f.workers[e.Worker]
	if e.WorkerState == job.WorkerStopped {
		delete(f.workers, e.Worker)
		return ok, ended
	}
	if !ok {
		w = &Worker{Name: e.Worker}
		f.workers[e.Worker] = w
	}
	w.Seen = now
	jobID := ""
	if e.WorkerState == job.WorkerBusy {
		jobID = e.ID
	}
	if ok && w.State == e.WorkerState && w.JobID == jobID && (e.Generator == "" || w.Generator == e.Generator) {
		return false, ended // a heartbeat
	}
	if !ok || w.State != e.WorkerState || w.JobID != jobID {
		w.Since = at
	}
	w.State, w.JobID = e.WorkerState, jobID
	if e.Generator != "" {
		w.Generator = e.Generator
	}
	return true, ended
}

// moveRun keeps the run a worker holds up to date with its event e, and
// returns the run e shows it has left. f.mu is held.
func (f *fleet) moveRun(e job.Event) (ended *run) {
	old, had := f.held[e.Worker]
	var next *run
	if e.WorkerState == job.WorkerBusy && e.ID != "" {
		next = &run{worker: e.Worker, jobID: e.ID, attempt: e.Attempt, returns: e.Returns}
	}
	switch {
	case had && next != nil && next.jobID == old.jobID && (next.attempt == old.attempt || next.attempt == 0):
		next = &old // the same run: a heartbeat
	case had && next == nil && e.WorkerState == job.WorkerStopping:
		next = &old // it may finish within its grace
	case had:
		ended = &old
	}
	if next == nil {
		delete(f.held, e.Worker)
	} else {
		f.held[e.Worker] = *next
	}
	return ended
}

// expire forgets the workers not heard of for forgetAfter, counting from
// since when that is later (the tracker could not hear anyone before it):
// it returns the runs they held, which nobody will finish.
func (f *fleet) expire(now, since time.Time) (changed bool, lost []run) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, w := range f.workers {
		if now.Sub(latest(w.Seen, since)) > f.forgetAfter {
			delete(f.workers, name)
			changed = true
			if r, ok := f.held[name]; ok {
				lost = append(lost, r)
				delete(f.held, name)
			}
		}
	}
	return changed, lost
}

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func (f *fleet) setDepth(n int) (changed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	changed = f.depth != n
	f.depth = n
	return changed
}

func (f *fleet) snapshot() Fleet {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := Fleet{Depth: f.depth, Workers: make([]Worker, 0, len(f.workers))}
	for _, w := range f.workers {
		out.Workers = append(out.Workers, *w)
	}
	slices.SortFunc(out.Workers, func(a, b Worker) int { return strings.Compare(a.Name, b.Name) })
	return out
}
