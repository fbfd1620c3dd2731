package web

import (
	"errors"
	"net/http"

	"github.com/a-h/templ"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/web/components"
)

// galleryPageSize is the old page's: a grid of 2×12, 3×8 or 4×6.
const galleryPageSize = 24

// showPage handles GET /: the form (filled from the query: a "reuse" link,
// or the form as it was sent before the redirect of a submission without
// JavaScript), this browser's jobs and a gallery page (?before= for older).
func (s *server) showPage(w http.ResponseWriter, r *http.Request) {
	f := s.newForm()
	if q := validUTF8(r.URL.Query()); hasFormValues(q) {
		f = s.formValues(q, false)
	}
	f.Notice = takeNotice(w, r)
	c := components.ComposerVM{Form: f, Jobs: s.jobCards(r.Context(), cookieJobIDs(r))}
	s.render(w, r, http.StatusOK, components.Page(s.page(r, c)))
}

// page builds the whole page around the composer c.
func (s *server) page(r *http.Request, c components.ComposerVM) components.PageVM {
	vm := components.PageVM{AssetVersion: s.assetVer, About: s.about(), Fleet: fleetVM(s.Jobs.Fleet()),
		Composer: c, Gallery: s.galleryVM(r)}
	for _, g := range c.Jobs.Groups {
		for _, j := range g.Jobs {
			if !j.Finished() {
				vm.Refresh = true
			}
		}
	}
	return vm
}

// about is the banner: what actually runs behind the page.
func (s *server) about() string {
	switch g := s.EmbeddedGenerator; {
	case g == "":
		return "This AI model is autoscaled by Kubernetes Event-Driven Autoscaling (KEDA): GPU workers start when jobs wait in the queue and scale to zero when it is empty."
	case g == "placeholder":
		return "Embedded mode: one worker inside this program draws placeholder pictures (no model, no GPU, nothing autoscaled). Deployed on Kubernetes, KEDA starts GPU workers from the queue's length and scales them to zero."
	default:
		return "Embedded mode: one worker inside this program runs " + g + " on this machine (no GPU cluster, nothing autoscaled). Deployed on Kubernetes, KEDA starts GPU workers from the queue's length and scales them to zero."
	}
}

// galleryVM is the page of ?before=, or the newest when it is absent or stale.
func (s *server) galleryVM(r *http.Request) components.GalleryVM {
	g := components.GalleryVM{Ready: s.Gallery.Ready()}
	before := r.URL.Query().Get("before")
	entries, next, err := s.Gallery.Page(r.Context(), galleryPageSize, before)
	if errors.Is(err, gallery.ErrBadCursor) {
		before = ""
		entries, next, err = s.Gallery.Page(r.Context(), galleryPageSize, "")
	}
	if err != nil {
		s.Log.Warn("gallery page", "err", err)
		return g
	}
	g.Older, g.Next = before != "", next
	g.Entries = entryCards(entries, s.Now())
	return g
}

// showGalleryPage handles GET /gallery?before=: the next cards and the next
// "load more" link, for htmx.
func (s *server) showGalleryPage(w http.ResponseWriter, r *http.Request) {
	entries, next, err := s.Gallery.Page(r.Context(), galleryPageSize, r.URL.Query().Get("before"))
	switch {
	case errors.Is(err, gallery.ErrBadCursor):
		http.Error(w, "bad cursor: reload the page", http.StatusBadRequest)
		return
	case err != nil:
		s.Log.Warn("gallery page", "err", err)
		http.Error(w, "the gallery is unavailable right now", http.StatusServiceUnavailable)
		return
	}
	s.render(w, r, http.StatusOK, components.GalleryPage(entryCards(entries, s.Now()), next))
}

// showJobList handles GET /jobs: this browser's job cards, for the page to
// refresh the places in line when the queue moves.
func (s *server) showJobList(w http.ResponseWriter, r *http.Request) {
	s.render(w, r, http.StatusOK, components.JobList(s.jobCards(r.Context(), cookieJobIDs(r))))
}

// render writes an HTML component with status.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, c templ.Component) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache") // it depends on the cookie and changes all the time
	w.WriteHeader(status)
	if err := c.Render(r.Context(), w); err != nil {
		s.Log.Warn("render", "err", err)
	}
}
