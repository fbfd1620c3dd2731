package web

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/google/uuid"

	"github.com/sdkeda/sdkeda/internal/status"
	"github.com/sdkeda/sdkeda/web/components"
)

// The job cards of a browser are the ids in its cookie, newest first: the
// server can then render them, with JavaScript off too.
const (
	jobsCookie  = "sd_jobs"
	maxJobCards = 12
)

func cookieJobIDs(r *http.Request) []string {
	c, err := r.Cookie(jobsCookie)
	if err != nil {
		return nil
	}
	var ids []string
	for _, id := range strings.Split(c.Value, ".") {
		if u, err := uuid.Parse(id); err == nil && len(id) == 36 && !slices.Contains(ids, u.String()) {
			ids = append(ids, u.String())
		}
	}
	if len(ids) > maxJobCards {
		ids = ids[:maxJobCards]
	}
	return ids
}

// rememberJobs puts the new jobs first in the cookie and returns the ids.
func rememberJobs(w http.ResponseWriter, r *http.Request, jobs []status.Job) []string {
	ids := make([]string, 0, maxJobCards)
	for i := len(jobs) - 1; i >= 0; i-- {
		ids = append(ids, jobs[i].ID)
	}
	for _, id := range cookieJobIDs(r) {
		if !slices.Contains(ids, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > maxJobCards {
		ids = ids[:maxJobCards]
	}
	http.SetCookie(w, &http.Cookie{
		Name: jobsCookie, Value: strings.Join(ids, "."), Path: "/",
		MaxAge: 24 * 60 * 60, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
	return ids
}

// jobCards are the cards of ids (package status looks a job up in the
// gallery when it holds no terminal state). Unknown ids are left out.
func (s *server) jobCards(ctx context.Context, ids []string) []components.JobVM {
	now := s.Now()
	out := make([]components.JobVM, 0, len(ids))
	for _, id := range ids {
		if j, ok := s.Jobs.Get(ctx, id); ok {
			out = append(out, jobVM(j, now))
		}
	}
	return out
}
