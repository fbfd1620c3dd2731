package status

import (
	"maps"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/store"
)

// table is the in-memory table of job states and the line of waiting jobs.
// It is safe for concurrent use; it never calls out while holding its lock.
type table struct {
	maxJobs  int
	finished time.Duration
	stale    time.Duration
	now      func() time.Time

	mu   sync.Mutex
	jobs map[string]*Job
	line []*Job // the waiting jobs in line order: a place is a binary search
}

func newTable(o Options) *table {
	return &table{maxJobs: o.MaxJobs, finished: o.Finished, stale: o.Stale, now: o.Now, jobs: map[string]*Job{}}
}

// apply records an event. A state older than the known one is ignored (events
// can arrive out of order, from several publishers), but the facts it brings
// that were missing (prompt, group) are kept.
func (t *table) apply(e job.Event) (Job, bool) {
	if e.ID == "" || rank(e.State, e.Attempt, e.Phase) < 0 {
		return Job{}, false
	}
	now := t.now()
	at := e.At
	if at.IsZero() {
		at = now
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	j, ok := t.jobs[e.ID]
	if !ok {
		if len(t.jobs) >= t.maxJobs {
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
	j.Settings.fill(e)
	if e.State == job.Queued && e.Attempt == 0 && j.Rank() == 0 && at.Before(j.QueuedAt) {
		j.QueuedAt = at // our own record came after a replica's earlier one
	}
	changed := !ok || rank(e.State, e.Attempt, e.Phase) > j.Rank()
	if changed {
		advance(j, e, at)
	} else {
		changed = enrich(j, e)
	}
	out := t.copyLocked(j)
	if out.Waiting() {
		out.Position = t.joinLine(j)
	}
	return out, changed
}

func advance(j *Job, e job.Event, at time.Time) {
	sameRun := j.State == job.Started && e.State == job.Started && j.Attempt == max(e.Attempt, 1)
	j.State, j.Attempt, j.gaveUp = e.State, e.Attempt, false
	if e.Worker != "" {
		j.Worker = e.Worker
	}
	if e.Seed != nil {
		j.Seed = cloneSeed(e.Seed)
	}
	if e.State != job.Started {
		j.Phase, j.PhaseAt = "", time.Time{}
	}
	switch e.State {
	case job.Started:
		if !sameRun { // a phase of the same run keeps when it started
			j.StartedAt, j.Reason, j.ReasonKind = at, "", ""
		}
		j.returns = e.Returns
		j.Phase, j.PhaseAt = e.Phase, at
	case job.Retrying, job.Queued:
		// A retried job is published anew, at the tail of the line. A job
		// given back by its worker (queued with an attempt: SIGTERM, the
		// store down) keeps its place, as a lost worker's does: the broker
		// puts a returned message back where it was, at the head.
		if e.State == job.Retrying {
			j.QueuedAt = at
		}
		if e.State == job.Retrying || e.Attempt > 0 {
			j.setReason(e.Reason)
		}
	case job.Failed, job.Cancelled:
		j.FinishedAt = at
		j.setReason(e.Reason)
	case job.Done:
		j.FinishedAt, j.Reason, j.ReasonKind = at, "", ""
		j.Images = nil
		for _, k := range e.Objects {
			if kind, _, _ := store.ParseKey(k); kind == store.Image {
				j.Images = append(j.Images, k)
			}
		}
		if len(e.Durations) > 0 {
			j.Durations = maps.Clone(e.Durations)
		}
	}
}

// enrich adds to j what an event that does not move it brings and it lacks:
// a done event that comes after the gallery's entry ended the job has the
// seed and the durations the entry did not tell. It reports whether j
// changed.
func enrich(j *Job, e job.Event) bool {
	if e.State != j.State || e.State == job.Started && max(e.Attempt, 1) != j.Attempt {
		return false
	}
	changed := false
	if j.Seed == nil && e.Seed != nil {
		j.Seed, changed = cloneSeed(e.Seed), true
	}
	if e.State == job.Done && len(e.Durations) > len(j.Durations) {
		j.Durations, changed = maps.Clone(e.Durations), true
	}
	if j.Worker == "" && e.Worker != "" {
		j.Worker, changed = e.Worker, true
	}
	return changed
}

func cloneSeed(s *int64) *int64 {
	v := *s
	return &v
}

// copyLocked is a copy of j that shares nothing mutable with the table.
func (t *table) copyLocked(j *Job) Job {
	out := *j
	out.Images = slices.Clone(j.Images)
	out.Durations = maps.Clone(j.Durations)
	if j.Seed != nil {
		out.Seed = cloneSeed(j.Seed)
	}
	if g := j.Settings.GuidanceScale; g != nil {
		v := *g
		out.Settings.GuidanceScale = &v
	}
	return out
}

// get returns the job and, when it waits, its place in line.
func (t *table) get(id string) (Job, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	j, ok := t.jobs[id]
	if !ok {
		return Job{}, false
	}
	out := t.copyLocked(j)
	if out.Waiting() {
		out.Position = t.place(j) + 1
	}
	return out, true
}

// unfinished lists the ids of the jobs that are not terminal, or failed
// only by this tracker's conclusion (gaveUp).
func (t *table) unfinished() []string {
	t.mu.Lock()
	defer t.mu.Unlock()
	var ids []string
	for id, j := range t.jobs {
		if !j.Terminal() || j.gaveUp {
			ids = append(ids, id)
		}
	}
	return ids
}

// The line holds the waiting jobs ordered by when they entered it. A place
// is "about": only jobs this webui heard of are counted.
func inFront(a, b *Job) bool {
	return a.QueuedAt.Before(b.QueuedAt) || a.QueuedAt.Equal(b.QueuedAt) && a.ID < b.ID
}

// place is where j is, or would be, in the line.
func (t *table) place(j *Job) int {
	return sort.Search(len(t.line), func(i int) bool { return !inFront(t.line[i], j) })
}

// joinLine puts a waiting j in the line and returns its position (from 1).
func (t *table) joinLine(j *Job) int {
	i := t.place(j)
	if i < len(t.line) && t.line[i] == j {
		return i + 1
	}
	t.line = slices.Insert(t.line, i, j)
	return i + 1
}

// leaveLine takes j out of the line, if it is there.
func (t *table) leaveLine(j *Job) {
	if i := t.place(j); i < len(t.line) && t.line[i] == j {
		t.line = slices.Delete(t.line, i, i+1)
	}
}

func (t *table) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.jobs)
}

func (t *table) prune() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pruneLocked(t.now(), false)
}

// pruneLocked drops expired jobs; when full, also the least recently updated
// ones (finished first) until a tenth of the room is free.
func (t *table) pruneLocked(now time.Time, full bool) {
	defer func() {
		t.line = slices.DeleteFunc(t.line, func(j *Job) bool { return t.jobs[j.ID] != j })
	}()
	for id, j := range t.jobs {
		if j.Terminal() && now.Sub(j.FinishedAt) > t.finished || now.Sub(j.updated) > t.stale {
			delete(t.jobs, id)
		}
	}
	if !full || len(t.jobs) < t.maxJobs {
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
	for _, j := range all[:len(all)-t.maxJobs*9/10] {
		delete(t.jobs, j.ID)
	}
}
