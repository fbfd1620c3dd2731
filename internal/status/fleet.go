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
	depth   int
}

func newFleet(forgetAfter time.Duration) *fleet {
	return &fleet{forgetAfter: forgetAfter, workers: map[string]*Worker{}, depth: -1}
}

// apply records a worker event; changed is false for a heartbeat that
// repeats what is known.
func (f *fleet) apply(e job.Event, now time.Time) (changed bool) {
	if e.Worker == "" {
		return false
	}
	at := e.At
	if at.IsZero() {
		at = now
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	w, ok := f.workers[e.Worker]
	if e.WorkerState == job.WorkerStopped {
		delete(f.workers, e.Worker)
		return ok
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
		return false // a heartbeat
	}
	if !ok || w.State != e.WorkerState || w.JobID != jobID {
		w.Since = at
	}
	w.State, w.JobID = e.WorkerState, jobID
	if e.Generator != "" {
		w.Generator = e.Generator
	}
	return true
}

// expire forgets the workers not heard of for forgetAfter.
func (f *fleet) expire(now time.Time) (changed bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for name, w := range f.workers {
		if now.Sub(w.Seen) > f.forgetAfter {
			delete(f.workers, name)
			changed = true
		}
	}
	return changed
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
