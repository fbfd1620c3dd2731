package web

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/status"
)

// request is one submission, from the form or the API.
type request struct {
	Message  job.Message
	Parallel bool
	Fields   []job.FieldError // problems found while parsing (a seed that is not a number)
}

// submitError is a refused submission: its HTTP status, a sentence for
// people, and for 400 the wrong fields. The handlers render it; it is never
// passed on as an error.
type submitError struct {
	Status  int
	Message string
	Fields  []job.FieldError
	Jobs    []status.Job // published before a later publish failed
}

// publishTimeout bounds one submission's publishes and confirms.
const publishTimeout = 15 * time.Second

// submit validates req, checks the queue's length and publishes the job (or
// one job per image when in parallel), each confirmed, then announces each
// as queued so that every webui replica can show its place in line.
func (s *server) submit(ctx context.Context, req request) ([]status.Job, *submitError) {
	m := req.Message
	fields := append([]job.FieldError(nil), req.Fields...)
	var verr *job.ValidationError
	if err := m.Normalize(s.limits); errors.As(err, &verr) {
		for _, f := range verr.Fields {
			if !hasField(fields, f.Field) {
				fields = append(fields, f)
			}
		}
	}
	if m.Seed != nil && req.Parallel && !hasField(fields, "seed") && *m.Seed+int64(m.Count)-1 > job.MaxSeed {
		// Job i of a parallel submission gets seed+i (split).
		fields = append(fields, job.FieldError{Field: "seed", Reason: fmt.Sprintf(
			"with %d images in parallel (seeds %d and up) must be at most %d", m.Count, *m.Seed, job.MaxSeed-int64(m.Count)+1)})
	}
	if w := s.stop.find(m.Prompt); w != "" && !hasField(fields, "prompt") {
		fields = append(fields, job.FieldError{Field: "prompt",
			Reason: fmt.Sprintf("contains %q, a word on the stop list: please don't use this tool for NSFW content", w)})
	}
	if len(fields) > 0 {
		s.Metrics.submission(outcomeInvalid)
		return nil, &submitError{Status: http.StatusBadRequest, Message: "the job is not valid: see the fields", Fields: fields}
	}

	// The user must learn the truth about a publish once it started: a
	// closed tab or a shutdown must not cut it between broker and confirm.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	msgs := split(m, req.Parallel, s.Now().UTC())
	// Every job of the submission counts against the limit, and so do the
	// submissions still publishing (README: what overshoot remains).
	max := s.Config.MaxQueueLength
	switch n, ok, err := s.qlen.reserve(ctx, len(msgs), max); {
	case err != nil:
		s.Log.Warn("queue length unknown", "err", err)
		s.Metrics.submission(outcomeUnavailable)
		return nil, &submitError{Status: http.StatusServiceUnavailable,
			Message: "the job queue is unreachable right now; please try again in a minute"}
	case !ok && n >= max:
		s.Metrics.submission(outcomeQueueFull)
		return nil, &submitError{Status: http.StatusServiceUnavailable,
			Message: fmt.Sprintf("the queue is full (%d jobs waiting); please try again in a few minutes", n)}
	case !ok:
		s.Metrics.submission(outcomeQueueFull)
		return nil, &submitError{Status: http.StatusServiceUnavailable,
			Message: fmt.Sprintf("the queue has room for %d more jobs and this submission makes %d; ask for fewer images in parallel, or try again in a few minutes",
				max-n, len(msgs))}
	}

	// One at a time, in order: the broker then holds a submission's jobs in
	// the order of their queued events (each a nanosecond after the one
	// before), so the places in line the cards show are the order in which
	// the workers take them. Publishing them at once raced for the channel,
	// and the cards said #3 for the job that ran first.
	var firstErr error
	var jobs []status.Job
	var queued []job.Event
	for _, msg := range msgs {
		if firstErr = s.Queue.Publish(ctx, queue.Message{ID: msg.ID, Body: msg.Encode()}); firstErr != nil {
			break // the queue is failing: the rest would fail too
		}
		at, _ := time.Parse(time.RFC3339Nano, msg.SubmittedAt)
		e := queuedEvent(msg, at) // job i of a submission is submitted i nanoseconds after the first (split)
		j, _ := s.Jobs.Apply(e)
		jobs = append(jobs, j)
		queued = append(queued, e)
		s.Log.Info("job queued", "job_id", msg.ID, "group", msg.Group, "count", msg.Count)
	}
	s.announce(queued)
	s.qlen.release(len(msgs), len(jobs))
	if firstErr != nil {
		s.Log.Error("publish failed", "err", firstErr, "published", len(jobs), "wanted", len(msgs))
		s.Metrics.submission(outcomeUnavailable)
		msg := "the job queue did not take the job; please try again in a minute"
		if len(jobs) > 0 {
			msg = fmt.Sprintf("only %d of %d jobs were queued (the queue did not confirm the others); please try again for the rest", len(jobs), len(msgs))
		}
		return jobs, &submitError{Status: http.StatusServiceUnavailable, Message: msg, Jobs: jobs}
	}
	s.Metrics.submission(outcomeAccepted)
	return jobs, nil
}

// announce publishes the queued events so that the other webui replicas can
// place the jobs in line. The user does not wait for these confirms, only
// for the jobs' own; with too many already in flight it does, which bounds
// the goroutines.
func (s *server) announce(events []job.Event) {
	if len(events) == 0 {
		return
	}
	publish := func() {
		ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
		defer cancel()
		for _, e := range events {
			if err := s.Queue.PublishStatus(ctx, e); err != nil {
				// The job is queued; only other replicas miss its queued state.
				s.Log.Warn("queued event not published", "job_id", e.ID, "err", err)
			}
		}
	}
	select {
	case s.announcing <- struct{}{}:
		go func() {
			defer func() { <-s.announcing }()
			publish()
		}()
	default:
		publish()
	}
}

// split makes the messages of one submission: "in parallel" with count N is
// N messages of count 1 sharing a group id, else one message of count N.
// Every message has a seed, so that its card can show it and "reuse" can
// make the same images again: the one asked for, else one drawn here; job
// i of a parallel submission gets seed+i (N parallel jobs of one seed would
// make N identical images). Job i is submitted i nanoseconds after the
// first: the line orders by that time.
func split(m job.Message, parallel bool, now time.Time) []job.Message {
	m.ID = ""
	n := 1
	if parallel && m.Count > 1 {
		n = m.Count
		m.Count, m.Group = 1, job.NewID()
	}
	base := drawSeed(n)
	if m.Seed != nil {
		base = *m.Seed
	}
	out := make([]job.Message, n)
	for i := range out {
		out[i] = m
		out[i].ID = job.NewID()
		seed := base + int64(i)
		out[i].Seed = &seed
		out[i].SubmittedAt = now.Add(time.Duration(i)).Format(time.RFC3339Nano)
	}
	return out
}

// drawSeed is a random seed that leaves room for n-1 more after it.
func drawSeed(n int) int64 { return rand.Int64N(job.MaxSeed - int64(n) + 2) }

// queuedEvent is the webui's queued event of msg: it carries every setting,
// so that each replica can show the job and make it again.
func queuedEvent(msg job.Message, at time.Time) job.Event {
	return job.Event{ID: msg.ID, State: job.Queued, Group: msg.Group, Prompt: msg.Prompt, Count: msg.Count,
		Seed: msg.Seed, NegativePrompt: msg.NegativePrompt, Width: msg.Width, Height: msg.Height,
		Steps: msg.Steps, GuidanceScale: msg.GuidanceScale, At: at}
}

func hasField(fs []job.FieldError, name string) bool {
	for _, f := range fs {
		if f.Field == name {
			return true
		}
	}
	return false
}

// allow applies the per-client rate limit; false means refuse with 429.
func (s *server) allow(w http.ResponseWriter, r *http.Request) bool {
	if s.limiter == nil {
		return true
	}
	key := clientKey(r)
	if s.limiter.OnLimit(w, r, key) {
		s.Metrics.submission(outcomeRateLimited)
		return false
	}
	return true
}

const rateLimitedMessage = "too many submissions from your address; please wait a minute and try again"
