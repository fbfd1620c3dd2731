package web

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
)

// routes lists every route of the webui (docs/design.md §2.5).
func (s *server) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(s.instrument, securityHeaders, hostCheck(s.Config.AllowedHosts), crossOriginProtection,
		middleware.Recoverer, s.addrs.middleware)

	// The page; without JavaScript the form posts and the gallery pages by links.
	r.Get("/", s.showPage)
	r.Post("/generate", s.submitForm)
	r.Get("/jobs", s.showJobList)          // this browser's job cards (fragment)
	r.Get("/gallery", s.showGalleryPage)   // "load more" (fragment)
	r.Get("/events", s.streamEvents)       // Server-Sent Events: job, gallery
	r.Handle("/static/*", staticHandler()) // embedded CSS, htmx, app.js

	// The JSON API.
	r.Post("/api/jobs", s.submitJSON)
	r.Get("/api/jobs/{id}", s.showJob)
	r.Get("/api/images", s.listImages)

	// Images and thumbnails, streamed from the store: /images/<id>-<n>.png,
	// /images/thumbs/<id>-<n>.jpg.
	r.Get("/images/*", s.serveImage)

	// Operations.
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Handle("/metrics", s.Metrics.Handler())

	return r
}
