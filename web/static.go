package web

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"net/http"
	"sort"

	"github.com/sdkeda/sdkeda/web/static"
)

// assetVersion is a hash of every asset: the page links /static/x?v=<it>, so
// a new build's assets are fetched again while old ones stay cached forever.
func assetVersion() string {
	h := sha256.New()
	names, _ := fs.Glob(static.FS, "*")
	sort.Strings(names)
	for _, n := range names {
		b, _ := fs.ReadFile(static.FS, n)
		h.Write([]byte(n))
		h.Write(b)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// staticHandler serves /static/*; a versioned URL is cached for a year.
func staticHandler() http.Handler {
	files := http.StripPrefix("/static/", http.FileServerFS(static.FS))
	version := assetVersion()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("v") == version {
			w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			w.Header().Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}

// favicon answers /favicon.ico, which a browser asks for when it shows an
// image alone (no page names an icon there): the page's SVG icon.
func favicon(w http.ResponseWriter, r *http.Request) {
	b, err := fs.ReadFile(static.FS, "favicon.svg")
	if err != nil {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(b)
}
