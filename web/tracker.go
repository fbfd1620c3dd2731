package web

import (
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/store"
)

// Job is what the webui knows of one job, fed by its own publishes and by the
// status events of the workers (and of other webui replicas).
type Job struct {
	ID         string
	Group      string
	Prompt     string
	Count      int
	State      job.State
	Attempt    int
	QueuedAt   time.Time // when it last entered the queue: the order of the line
	StartedAt  time.Time
	FinishedAt time.Time
	Images     []string // object keys of the images, when done
	Reason     string
	Worker     string
	Position   int // about where it is in line when queued; 0 otherwise
	updated    time.Time
}

// Rank orders the states of a job so that a late event never moves it back:
// queued < running(1) < retrying(1) or requeued(1) < running(2) < ... <
// failed < done. The webui's own queued event has attempt 0; a worker that
// gives a job back (shutdown, store down) sends queued with its attempt.
func (j Job) Rank() int { return rank(j.State, j.Attempt) }

func rank(s job.State, attempt int) int {
	if s == job.Queued {
		return 2 * max(attempt, 0)
	}
	if attempt < 1 {
		attempt = 1
	}
	switch s {
	case job.Started:
		return 2*attempt - 1
	case job.Retrying:
		return 2 * attempt
	case job.Failed:
		return 1 << 20
	case job.Done:
		return 1<<20 + 1
	}
	return -1
}

// Terminal reports whether the job will not change any more.
func (j Job) Terminal() bool { return j.State == job.Done || j.State == job.Failed }

func (j Job) waiting() bool { return j.State == job.Queued || j.State == job.Retrying }

// TrackerOptions bound the tracker's memory.
type TrackerOptions struct {
	MaxJobs  int           // at most this many jobs (10,000)
	Finished time.Duration // finished jobs are forgotten after this (1 h)
	Stale    time.Duration // any job without news is forgotten after this (24 h)
	Now      func() time.Time
}

// Tracker is the in-memory table of job states. It is safe for concurrent
// use; onChange runs outside its lock, once per state change.
type Tracker struct {
	opts     TrackerOptions
	onChange func(Job)

	mu   sync.Mutex
	jobs map[string]*Job
	line []*Job // the waiting jobs in line order: a place is a binary search
}

// NewTracker returns an empty tracker; onChange (may be nil) hears every change.
func NewTracker(o TrackerOptions, onChange func(Job)) *Tracker {
	if o.MaxJobs <= 0 {
		o.MaxJobs = 10000
	}
	if o.Finished <= 0 {
		o.Finished = time.Hour
	}
	if o.Stale <= 0 {
		o.Stale = 24 * time.Hour
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Tracker{opts: o, onChange: onChange, jobs: map[string]*Job{}}
}

// Apply records an event. A state older than the known one is ignored (events
// can arrive out of order, from several publishers), but the facts it brings
// that were missing (prompt, group) are kept.
func (t *Tracker) Apply(e job.Event) (Job, bool) {
	if e.ID == "" || rank(e.State, e.Attempt) < 0 {
		return Job{}, false
	}
	now := t.opts.Now()
	at := e.At
	if at.IsZero() {
		at = now
	}
	t.mu.Lock()
	j, ok := t.jobs[e.ID]
	if !ok {
		if len(t.jobs) >= t.opts.MaxJobs {
			t.pruneLocked(now, true)
		}
		j = &Job{ID: e.ID, State: job.Queued, QueuedAt: at}
		t.jobs[e.ID] = j
	} else {
		t.leaveLine(j) // its place may change below
	}
	j.updated = now
	if j.Prompt == "" {
		j.Prompt = e.Prompt
	}
	if j.Group == "" {
		j.Group = e.Group
	}
	if j.Count == 0 {
		j.Count = e.Count
	}
	if e.State == job.Queued && e.Attempt == 0 && j.Rank() == 0 && at.Before(j.QueuedAt) {
		j.QueuedAt = at // our own record came after a replica's earlier one
	}
	changed := !ok || rank(e.State, e.Attempt) > j.Rank()
	if changed {
		t.advance(j, e, at)
	}
	out := *j
	if out.waiting() {
		out.Position = t.joinLine(j)
	}
	t.mu.Unlock()
	if changed && t.onChange != nil {
		t.onChange(out)
	}
	return out, changed
}

func (t *Tracker) advance(j *Job, e job.Event, at time.Time) {
	j.State, j.Attempt = e.State, e.Attempt
	if e.Worker != "" {
		j.Worker = e.Worker
	}
	switch e.State {
	case job.Started:
		j.StartedAt, j.Reason = at, ""
	case job.Retrying, job.Queued:
		if e.State == job.Retrying || e.Attempt > 0 { // given back by a worker: in line again
			j.QueuedAt, j.Reason = at, e.Reason
		}
	case job.Failed:
		j.FinishedAt, j.Reason = at, e.Reason
	case job.Done:
		j.FinishedAt, j.Reason = at, ""
		j.Images = j.Images[:0]
		for _, k := range e.Objects {
			if kind, _, _ := store.ParseKey(k); kind == store.Image {
				j.Images = append(j.Images, k)
			}
		}
	}
}

// Get returns the job and, when it waits, its place in line.
func (t *Tracker) Get(id string) (Job, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	j, ok := t.jobs[id]
	if !ok {
		return Job{}, false
	}
	out := *j
	if out.waiting() {
		out.Position = t.positionLocked(j)
	}
	return out, true
}

// The line holds the waiting jobs ordered by when they entered it. A place
// is "about": only jobs this webui heard of are counted.
func inFront(a, b *Job) bool {
	return a.QueuedAt.Before(b.QueuedAt) || a.QueuedAt.Equal(b.QueuedAt) && a.ID < b.ID
}

// place is where j is, or would be, in the line.
func (t *Tracker) place(j *Job) int {
	return sort.Search(len(t.line), func(i int) bool { return !inFront(t.line[i], j) })
}

func (t *Tracker) positionLocked(j *Job) int { return t.place(j) + 1 }

// joinLine puts a waiting j in the line and returns its position (from 1).
func (t *Tracker) joinLine(j *Job) int {
	i := t.place(j)
	if i < len(t.line) && t.line[i] == j {
		return i + 1
	}
	t.line = slices.Insert(t.line, i, j)
	return i + 1
}

// leaveLine takes j out of the line, if it is there.
func (t *Tracker) leaveLine(j *Job) {
	if i := t.place(j); i < len(t.line) && t.line[i] == j {
		t.line = slices.Delete(t.line, i, i+1)
	}
}

// Len is the number of jobs tracked.
func (t *Tracker) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.jobs)
}

// Prune forgets finished jobs older than Finished and jobs without news for
// Stale; Run calls it every minute.
func (t *Tracker) Prune() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(t.opts.Now(), false)
}

// pruneLocked drops expired jobs; when full, also the least recently updated
// ones (finished first) until a tenth of the room is free.
func (t *Tracker) pruneLocked(now time.Time, full bool) {
	defer func() {
		t.line = slices.DeleteFunc(t.line, func(j *Job) bool { return t.jobs[j.ID] != j })
	}()
	for id, j := range t.jobs {
		if j.Terminal() && now.Sub(j.FinishedAt) > t.opts.Finished || now.Sub(j.updated) > t.opts.Stale {
			delete(t.jobs, id)
		}
	}
	if !full || len(t.jobs) < t.opts.MaxJobs {
		return
	}
	all := make([]*Job, 0, len(t.jobs))
	for _, j := range t.jobs {
		all = append(all, j)
	}
	sort.Slice(all, func(a, b int) bool {
		if all[a].Terminal() != all[b].Terminal() {
			return all[a].Terminal()
		}
		return all[a].updated.Before(all[b].updated)
	})
	for _, j := range all[:len(all)-t.opts.MaxJobs*9/10] {
		delete(t.jobs, j.ID)
	}
}
