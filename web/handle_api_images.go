package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
)

// apiEntry is one gallery entry of GET /api/images.
type apiEntry struct {
	ID         string        `json:"id"`
	Modified   time.Time     `json:"modified"`
	Images     []string      `json:"images"`     // URLs of the PNGs
	Thumbnails []string      `json:"thumbnails"` // URLs of small JPEGs, in the same order
	Meta       *gallery.Meta `json:"meta,omitempty"`
}

// listImages handles GET /api/images?limit=&before=: the newest complete
// entries with their metadata, newest first; "next" is the cursor of the
// next page.
func (s *server) listImages(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := galleryPageSize
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > gallery.MaxPage {
			writeError(w, http.StatusBadRequest, "limit must be a whole number from 1 to "+strconv.Itoa(gallery.MaxPage), nil)
			return
		}
		limit = n
	}
	entries, next, err := s.Gallery.Page(r.Context(), limit, q.Get("before"))
	switch {
	case errors.Is(err, gallery.ErrBadCursor):
		writeError(w, http.StatusBadRequest, "before is not a cursor this server gave out", nil)
		return
	case err != nil:
		s.Log.Warn("gallery page", "err", err)
		writeError(w, http.StatusServiceUnavailable, "the gallery is unavailable right now", nil)
		return
	}
	out := struct {
		Entries []apiEntry `json:"entries"`
		Next    string     `json:"next,omitempty"`
	}{Entries: make([]apiEntry, 0, len(entries)), Next: next}
	for _, e := range entries {
		a := apiEntry{ID: e.ID, Modified: e.Modified.UTC(), Meta: e.Meta,
			Images: make([]string, 0, len(e.Images)), Thumbnails: make([]string, 0, len(e.Images))}
		for _, k := range e.Images {
			a.Images = append(a.Images, imageURL(k))
			a.Thumbnails = append(a.Thumbnails, thumbURL(k))
		}
		out.Entries = append(out.Entries, a)
	}
	if err := writeJSON(w, http.StatusOK, out); err != nil {
		s.Log.Error("gallery page", "err", err)
	}
}
