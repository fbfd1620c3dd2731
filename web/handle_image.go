package web

import (
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/sdkeda/sdkeda/internal/store"
)

// serveImage handles GET /images/<id>-<n>.png and /images/thumbs/<id>-<n>.jpg.
// Only names of the layout pass (store.ParseKey): anything else, encoded
// slashes and dots included, is 404 before the store is asked.
func (s *server) serveImage(w http.ResponseWriter, r *http.Request) {
	// Opened alone (a new tab, "open image"), the browser draws its own
	// viewer page around the image, with inline styles that the page's CSP
	// forbids (the image stuck top-left, errors in the console). An image
	// runs no script: let the viewer style it, and sandbox the rest.
	w.Header().Set("Content-Security-Policy", imageCSP)
	name := chi.URLParam(r, "*")
	if r.URL.RawPath != "" || strings.ContainsAny(name, "%\\") {
		http.NotFound(w, r) // an escaped name is never one of ours
		return
	}
	kind, id, n := store.ParseKey(name)
	var (
		body        io.ReadCloser
		obj         store.Object
		err         error
		contentType string
	)
	switch kind {
	case store.Image:
		contentType = store.TypePNG
		body, obj, err = s.Images.Get(r.Context(), name)
	case store.Thumb:
		contentType = store.TypeJPEG
		body, obj, err = s.Gallery.Thumbnail(r.Context(), id, n)
		if errors.Is(err, store.ErrNotFound) {
			// A job card may ask before the index has the entry: answer the
			// image itself this once, uncached, rather than a broken picture.
			if b, _, perr := s.Images.Get(r.Context(), store.ImageKey(id, n)); perr == nil {
				defer b.Close()
				w.Header().Set("Content-Type", store.TypePNG)
				w.Header().Set("Cache-Control", "no-store")
				if r.Method != http.MethodHead {
					_, _ = io.Copy(w, b)
				}
				return
			}
		}
	default:
		http.NotFound(w, r)
		return
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		http.NotFound(w, r)
		return
	case err != nil:
		s.Log.Warn("image", "key", name, "err", err)
		http.Error(w, "the image store is unavailable right now", http.StatusServiceUnavailable)
		return
	}
	defer body.Close()

	h := w.Header()
	etag := ""
	if obj.ETag != "" {
		etag = `"` + strings.Trim(obj.ETag, `"`) + `"`
		h.Set("ETag", etag)
	}
	// A redelivered job rewrites the same keys: the ETag tells a changed image.
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	if etag != "" && matchesETag(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", contentType)
	if obj.Size > 0 {
		h.Set("Content-Length", strconv.FormatInt(obj.Size, 10))
	}
	if r.Method == http.MethodHead {
		return // the headers of GET, without the body (curl -I)
	}
	// A large PNG to a phone may take longer than the server's write timeout.
	_ = http.NewResponseController(w).SetWriteDeadline(time.Now().Add(5 * time.Minute))
	if _, err := io.Copy(w, body); err != nil {
		s.Log.Debug("image: copy", "key", name, "err", err)
	}
}

// imageCSP is the policy of an image answer: no script, no other origin;
// inline styles only for the browser's own image viewer.
const imageCSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; frame-ancestors 'none'; sandbox"

// matchesETag reports whether an If-None-Match header names etag.
func matchesETag(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || store.SameETag(t, etag) {
			return true
		}
	}
	return false
}
