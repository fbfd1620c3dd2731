package web

import (
	"bytes"
	"context"
	"net/http"
	"slices"

	"github.com/go-chi/chi/v5"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/web/components"
)

// The buttons of the job cards. Each acts on a job of this browser only
// (its sd_jobs cookie) and answers the cards to htmx, else 303 to / with a
// notice; a refusal comes back as a problem above the cards.

// cancelJob handles POST /jobs/{id}/cancel: a job that waits will not run.
func (s *server) cancelJob(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownJob(w, r)
	if !ok {
		return
	}
	if code, problem := s.cancel(r.Context(), id); problem != "" {
		s.renderJobs(w, r, code, cookieJobIDs(r), problem)
		return
	}
	s.answerJobs(w, r, cookieJobIDs(r), noticeCancelled)
}

// cancel writes the job's cancel marker, then records and announces its
// cancelled state. The marker is what stops the job: whichever worker
// reaches the message, now or after a restart of everything, finds it and
// acks the message without running it.
func (s *server) cancel(ctx context.Context, id string) (int, string) {
	j, ok := s.Jobs.Get(ctx, id)
	switch {
	case !ok:
		return http.StatusNotFound, "that job is not known any more"
	case j.State == job.Cancelled:
		return http.StatusOK, ""
	case !j.Waiting():
		return http.StatusConflict, "that job is not waiting any more (" + string(j.State) + "): it can no longer be cancelled"
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
	defer cancel()
	if err := s.Markers.Put(ctx, store.CancelKey(id), bytes.NewReader(nil), 0, "text/plain"); err != nil {
		s.Log.Warn("cancel: marker not written", "job_id", id, "err", err)
		return http.StatusServiceUnavailable, "the image store did not take the cancel; please try again in a minute"
	}
	// The attempt that will not run: if a worker took the message before
	// the marker was written, that attempt's running event outranks this.
	e := job.Event{ID: id, State: job.Cancelled, Attempt: j.Attempt + 1, At: s.Now().UTC()}
	s.Jobs.Apply(e)
	s.announce([]job.Event{e})
	s.Log.Info("job cancelled", "job_id", id, "was", string(j.State))
	return http.StatusOK, ""
}

// retryJob handles POST /jobs/{id}/retry: a failed or cancelled job is
// submitted again with the same settings, as a new job that takes its card.
func (s *server) retryJob(w http.ResponseWriter, r *http.Request) {
	id, ok := s.ownJob(w, r)
	if !ok {
		return
	}
	j, ok := s.Jobs.Get(r.Context(), id)
	switch {
	case !ok:
		s.renderJobs(w, r, http.StatusNotFound, cookieJobIDs(r), "that job is not known any more")
		return
	case j.State != job.Failed && j.State != job.Cancelled || j.Prompt == "":
		s.renderJobs(w, r, http.StatusConflict, cookieJobIDs(r), "only a failed or cancelled job can be retried")
		return
	}
	if !s.allow(w, r) {
		s.renderJobs(w, r, http.StatusTooManyRequests, cookieJobIDs(r), capitalize(rateLimitedMessage))
		return
	}
	set := j.Settings
	m := job.Message{Prompt: j.Prompt, Count: max(j.Count, 1), NegativePrompt: set.NegativePrompt, Seed: j.Seed,
		Width: set.Width, Height: set.Height, Steps: set.Steps, GuidanceScale: set.GuidanceScale}
	jobs, serr := s.submit(r.Context(), request{Message: m})
	if serr != nil {
		problem := capitalize(serr.Message)
		for _, f := range serr.Fields {
			problem += "; " + f.Field + " " + f.Reason
		}
		s.renderJobs(w, r, serr.Status, cookieJobIDs(r), problem)
		return
	}
	// The new job takes the old one's card.
	s.answerJobs(w, r, rememberJobs(w, r, jobs, id), noticeRetried)
}

// clearJobs handles POST /jobs/clear: the finished cards go.
func (s *server) clearJobs(w http.ResponseWriter, r *http.Request) {
	ids := forgetJobs(w, r, func(id string) bool {
		j, ok := s.Jobs.Get(r.Context(), id)
		return !ok || j.Terminal()
	})
	s.answerJobs(w, r, ids, noticeCleared)
}

// ownJob is the {id} of the route when it is one of this browser's jobs;
// else it answers 404.
func (s *server) ownJob(w http.ResponseWriter, r *http.Request) (string, bool) {
	id := chi.URLParam(r, "id")
	if !slices.Contains(cookieJobIDs(r), id) {
		s.renderJobs(w, r, http.StatusNotFound, cookieJobIDs(r), "that job is not one of this browser's")
		return "", false
	}
	return id, true
}

// answerJobs answers a card's action that worked: the cards to htmx, else
// 303 to / with the notice.
func (s *server) answerJobs(w http.ResponseWriter, r *http.Request, ids []string, notice string) {
	if !isHTMX(r) {
		setNotice(w, r, notice)
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.renderJobs(w, r, http.StatusOK, ids, "")
}

// renderJobs answers the cards with a problem above them: alone to htmx,
// else in the whole page.
func (s *server) renderJobs(w http.ResponseWriter, r *http.Request, code int, ids []string, problem string) {
	l := s.jobCards(r.Context(), ids)
	l.Problem = capitalize(problem)
	if isHTMX(r) {
		s.render(w, r, code, components.JobList(l))
		return
	}
	c := components.ComposerVM{Form: s.newForm(), Jobs: l}
	s.render(w, r, code, components.Page(s.page(r, c)))
}
