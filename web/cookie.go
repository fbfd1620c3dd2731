package web

import (
	"context"
	"fmt"
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

// rememberJobs puts the new jobs first in the cookie, without the ids of
// forget, and returns the ids.
func rememberJobs(w http.ResponseWriter, r *http.Request, jobs []status.Job, forget ...string) []string {
	ids := make([]string, 0, maxJobCards)
	for i := len(jobs) - 1; i >= 0; i-- {
		ids = append(ids, jobs[i].ID)
	}
	for _, id := range cookieJobIDs(r) {
		if !slices.Contains(ids, id) && !slices.Contains(forget, id) {
			ids = append(ids, id)
		}
	}
	if len(ids) > maxJobCards {
		ids = ids[:maxJobCards]
	}
	setJobsCookie(w, r, ids)
	return ids
}

func setJobsCookie(w http.ResponseWriter, r *http.Request, ids []string) {
	http.SetCookie(w, &http.Cookie{
		Name: jobsCookie, Value: strings.Join(ids, "."), Path: "/",
		MaxAge: 24 * 60 * 60, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil,
	})
}

// jobCards are the cards of ids, the jobs of one submission together
// (package status looks a job up in the gallery when it holds no terminal
// state). Unknown ids are left out.
func (s *server) jobCards(ctx context.Context, ids []string) components.JobListVM {
	sc := sceneOf(s.Jobs, s.Now())
	var l components.JobListVM
	at := map[string]int{} // group -> index in l.Groups
	for _, id := range ids {
		j, ok := s.Jobs.Get(ctx, id)
		if !ok {
			continue
		}
		vm := jobVM(j, sc)
		if vm.Finished() {
			l.Finished++
		}
		if i, ok := at[j.Group]; ok && j.Group != "" {
			l.Groups[i].Jobs = append(l.Groups[i].Jobs, vm)
			continue
		}
		if j.Group != "" {
			at[j.Group] = len(l.Groups)
		}
		l.Groups = append(l.Groups, components.JobGroupVM{Group: j.Group, Prompt: vm.Prompt, Jobs: []components.JobVM{vm}})
	}
	for i := range l.Groups {
		g := &l.Groups[i]
		// The cookie lists the newest first; a submission's jobs in the
		// order they were made (their seeds count up).
		slices.Reverse(g.Jobs)
		g.Summary = groupSummary(g.Jobs)
	}
	return l
}

// groupSummary says what one submission of several jobs is.
func groupSummary(jobs []components.JobVM) string {
	n := fmt.Sprintf("%d images in parallel", len(jobs))
	first, last := jobs[0].Seed, jobs[len(jobs)-1].Seed
	if first != "" && last != "" {
		n += " · seeds " + first + "–" + last
	}
	return n
}

// forgetJobs takes ids out of the cookie.
func forgetJobs(w http.ResponseWriter, r *http.Request, drop func(id string) bool) []string {
	ids := slices.DeleteFunc(cookieJobIDs(r), drop)
	setJobsCookie(w, r, ids)
	return ids
}
