package status

import (
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// Job is what the webui knows of one job, fed by its own publishes and by the
// status events of the workers (and of other webui replicas), and joined
// with the gallery and the dead letters when events are missing.
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
	Images     []string       // object keys of the images, when done
	Reason     string         // why it failed, is retried or was given back, in a few words (ReasonKind.Text)
	ReasonKind job.ReasonKind // the same, classified; the worker's own words (a stderr tail) are only logged
	Worker     string
	Position   int // about where it is in line when queued; 0 otherwise

	// Phase is what a running job does now (loading_model, generating,
	// uploading; "" when its worker does not tell), since PhaseAt.
	Phase   job.Phase
	PhaseAt time.Time
	// Seed is the seed the generator was given (running, done); nil when
	// not told.
	Seed *int64
	// Durations are a done job's seconds per phase (the job.Duration* keys:
	// queue_wait, model_load, generation, upload), as far as told.
	Durations map[string]float64
	// Settings are the rest of what the job asked for, as submitted.
	Settings Settings

	updated time.Time
	// returns is the broker's return count of the run's delivery (running):
	// if its worker is lost on the last delivery, the broker dead-letters
	// the job (queue.LastDelivery).
	returns int
	// gaveUp: failed because its worker was lost on its last delivery, as
	// this tracker concludes; no event said so. It ranks just above the
	// run it ends, so a later run of the job still wins (Rank).
	gaveUp bool
}

// setReason keeps the class of a worker's reason, never its words: they
// may carry the generator's stderr (tracebacks, server paths), which no
// client is shown (issue 12, D9). Tracker.Apply logs them.
func (j *Job) setReason(reason string) {
	j.ReasonKind = job.ClassifyReason(reason)
	j.Reason = j.ReasonKind.Text()
}

// Settings are what a job asks of the generator beyond its prompt, count
// and seed, as the webui's queued event carries them (or the job's metadata
// in the gallery): reuse and retry make the job again from them.
type Settings struct {
	NegativePrompt string
	Width, Height  int
	Steps          int
	GuidanceScale  *float64
}

// fill gives the zero fields of s the event's values: the first report of a
// fact is kept, whichever publisher's event brings it.
func (s *Settings) fill(e job.Event) {
	if s.NegativePrompt == "" {
		s.NegativePrompt = e.NegativePrompt
	}
	if s.Width == 0 && s.Height == 0 {
		s.Width, s.Height = e.Width, e.Height
	}
	if s.Steps == 0 {
		s.Steps = e.Steps
	}
	if s.GuidanceScale == nil && e.GuidanceScale != nil {
		v := *e.GuidanceScale
		s.GuidanceScale = &v
	}
}

// Rank orders the states of a job so that a late event never moves it back:
// queued < cancelled(1) < running(1) < retrying(1) or requeued(1) <
// cancelled(2) < running(2) < ... < failed < done, and within one run its
// phases: running without a phase < loading_model < generating < uploading.
// The webui's own queued event has attempt 0; a worker that gives a job back
// (shutdown, store down) sends queued with its attempt. A cancel names the
// attempt that does not run, so that attempt's running event (the worker
// took the message before the cancel marker was written) outranks it: the
// card then tells the truth, the job runs.
//
// A job whose worker was lost (Tracker.lose) goes back to queued(a), which
// outranks the run it ends; on its last delivery it is failed, but ranked
// queued(a)+1 (below cancelled(a+1) and running(a+1)): that failure is
// this tracker's conclusion, not an event, and a later run of the job
// proves it wrong.
func (j Job) Rank() int {
	if j.gaveUp {
		return 8*max(j.Attempt, 1) + 1
	}
	return rank(j.State, j.Attempt, j.Phase)
}

// rank spans 8 per attempt: queued(a) and retrying(a) are 8a, cancelled(a)
// is 8a-6, running(a) is 8a-4 plus its phase's order (0..3); 8a+1 is a
// failure concluded from a lost worker (Job.Rank).
func rank(s job.State, attempt int, p job.Phase) int {
	if s == job.Queued {
		return 8 * max(attempt, 0)
	}
	if attempt < 1 {
		attempt = 1
	}
	switch s {
	case job.Cancelled:
		return 8*attempt - 6
	case job.Started:
		return 8*attempt - 4 + p.Order()
	case job.Retrying:
		return 8 * attempt
	case job.Failed:
		return 1 << 20
	case job.Done:
		return 1<<20 + 1
	}
	return -1
}

// Terminal reports whether the job will not change any more (a cancelled
// job runs only if the cancel came too late, and then says so).
func (j Job) Terminal() bool {
	return j.State == job.Done || j.State == job.Failed || j.State == job.Cancelled
}

// Waiting reports whether the job is in line (queued or retrying).
func (j Job) Waiting() bool { return j.State == job.Queued || j.State == job.Retrying }
