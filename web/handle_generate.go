package web

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sdkeda/sdkeda/web/components"
)

// submitForm handles POST /generate: without JavaScript it answers 303 to
// the page (the form as sent in its query, what happened in a notice that
// survives the redirect), or the page again with the errors beside the
// fields; to htmx it answers the composer fragment either way. The form
// always comes back as it was sent: the next try changes one thing.
func (s *server) submitForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if !s.allow(w, r) {
		_ = r.ParseForm() // to show back what was typed
		f := s.formValues(validUTF8(r.PostForm), true)
		f.Problem = capitalize(rateLimitedMessage)
		s.renderComposer(w, r, http.StatusTooManyRequests, f, cookieJobIDs(r))
		return
	}
	if err := r.ParseForm(); err != nil {
		f := s.newForm()
		status := http.StatusBadRequest
		f.Problem = "the form could not be read; please try again"
		if tooLarge(err) {
			status = http.StatusRequestEntityTooLarge
			f.Problem = fmt.Sprintf("the form is larger than %d KiB; please shorten the prompt", maxBody>>10)
			s.Metrics.submission(outcomeTooLarge)
		}
		s.renderComposer(w, r, status, f, cookieJobIDs(r))
		return
	}
	validUTF8(r.PostForm)
	jobs, serr := s.submit(r.Context(), s.formRequest(r.PostForm))
	ids := cookieJobIDs(r)
	if len(jobs) > 0 {
		ids = rememberJobs(w, r, jobs)
	}
	f := s.formValues(r.PostForm, true)
	if serr != nil {
		f.Errors = errorMap(serr.Fields)
		if serr.Status != http.StatusBadRequest {
			f.Problem = capitalize(serr.Message)
		}
		s.renderComposer(w, r, serr.Status, f, ids)
		return
	}
	if !isHTMX(r) {
		setNotice(w, r, noticeQueued(len(jobs)))
		http.Redirect(w, r, "/?"+formQuery(f), http.StatusSeeOther)
		return
	}
	f.Notice = noticeText(noticeQueued(len(jobs)))
	s.renderComposer(w, r, http.StatusOK, f, ids)
}

// renderComposer answers the composer alone to htmx, else the whole page.
func (s *server) renderComposer(w http.ResponseWriter, r *http.Request, status int, f components.FormVM, ids []string) {
	c := components.ComposerVM{Form: f, Jobs: s.jobCards(r.Context(), ids)}
	if isHTMX(r) {
		s.render(w, r, status, components.Composer(c))
		return
	}
	s.render(w, r, status, components.Page(s.page(r, c)))
}

func tooLarge(err error) bool {
	var mbe *http.MaxBytesError
	return errors.As(err, &mbe)
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

func capitalize(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}
