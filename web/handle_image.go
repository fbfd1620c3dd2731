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
					s.copyImage(w, b, store.ImageKey(id, n))
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
	// Immutable although a redelivered job rewrites the same keys: the
	// worker always passes the seed (chosen once, in the message), so a
	// second run of a job draws the same picture from the same settings
	// (bit for bit on CPU; on a GPU, to within rounding). The ETag still
	// answers a revalidation (a reload with the cache bypassed).
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
	s.copyImage(w, body, name)
}

// imageWriteTimeout bounds each write of an image's body: a chunk of
// imageChunk bytes that a client does not take within it ends the answer. A
// phone that reads at all takes a chunk in well under a second (5 s is
// 6.5 KB/s), and however long the whole image takes, each chunk written
// gives the next one this long again; a client that stopped reading is cut
// within it, instead of holding its handler (and the shutdown, whose grace
// is 10 s) for as long as the whole download was allowed.
const (
	imageWriteTimeout = 5 * time.Second
	imageChunk        = 32 << 10
)

// copyImage streams body to w, each chunk with a write deadline of its
// own, which replaces the server's (the one WriteTimeout of the whole
// answer, too short for a large PNG to a slow phone).
func (s *server) copyImage(w http.ResponseWriter, body io.Reader, key string) {
	dw := &deadlineWriter{w: w, rc: http.NewResponseController(w), timeout: imageWriteTimeout}
	if _, err := io.Copy(dw, body); err != nil {
		// The client went or stopped reading (or the store broke off):
		// nothing to tell it any more.
		s.Log.Debug("image: copy", "key", key, "err", err)
	}
}

// deadlineWriter writes in chunks of imageChunk bytes at most, each with a
// write deadline of its own: a source that writes itself out at once
// (io.Copy from a bytes.Reader calls Write once) gets the same bound.
type deadlineWriter struct {
	w       io.Writer
	rc      *http.ResponseController
	timeout time.Duration
}

func (d *deadlineWriter) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		chunk := p[:min(len(p), imageChunk)]
		// A writer with no connection under it (a test's recorder) has no
		// deadline to set.
		if err := d.rc.SetWriteDeadline(time.Now().Add(d.timeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return written, err
		}
		n, err := d.w.Write(chunk)
		written += n
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
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
