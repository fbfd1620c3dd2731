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
	r.Get("/jobs", s.showJobList)            // this browser's job cards (fragment)
	r.Post("/jobs/{id}/cancel", s.cancelJob) // a card's buttons: answer the cards (htmx) or 303 to /
	r.Post("/jobs/{id}/retry", s.retryJob)
	r.Post("/jobs/clear", s.clearJobs)
	r.Get("/gallery", s.showGalleryPage)   // "load more" (fragment)
	r.Get("/events", s.streamEvents)       // Server-Sent Events: job, gallery
	r.Handle("/static/*", staticHandler()) // embedded CSS, htmx, app.js
	r.Get("/favicon.ico", favicon)         // asked for by a browser showing an image alone

	// The JSON API.
	r.Post("/api/jobs", s.submitJSON)
	r.Get("/api/jobs/{id}", s.showJob)
	r.Post("/api/jobs/{id}/cancel", s.cancelJSON)
	r.Get("/api/images", s.listImages)

	// Images and thumbnails, streamed from the store: /images/<id>-<n>.png,
	// /images/thumbs/<id>-<n>.jpg.
	r.Get("/images/*", s.serveImage)
	r.Head("/images/*", s.serveImage) // curl -I: the headers of GET, no body

	// Operations.
	r.Get("/healthz", s.healthz)
	r.Get("/readyz", s.readyz)
	r.Handle("/metrics", s.Metrics.Handler())

	return r
}
