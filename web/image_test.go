package web

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

func TestImagesAreStreamedWithETagAndLongCache(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.gallery.add(entry("job1", "dog", time.Minute, f.now), []byte("PNGDATA1"), []byte("PNGDATA2"))
	cases := []struct{ path, body, ctype string }{
		{"/images/job1-2.png", "PNGDATA2", "image/png"},
		{"/images/thumbs/job1-1.jpg", "thumb:PNGDATA1", "image/jpeg"},
	}
	for _, tc := range cases {
		w := f.get(tc.path)
		if w.Code != http.StatusOK || w.Body.String() != tc.body {
			t.Fatalf("%s: status %d body %q", tc.path, w.Code, w.Body)
		}
		h := w.Header()
		if h.Get("Content-Type") != tc.ctype || h.Get("Cache-Control") != "public, max-age=31536000, immutable" ||
			h.Get("ETag") == "" || h.Get("Content-Length") != strconv.Itoa(len(tc.body)) || h.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: headers %v", tc.path, h)
		}
		// Conditional GET: the same ETag is 304 without a body.
		for _, inm := range []string{h.Get("ETag"), `W/` + h.Get("ETag"), `"other", ` + h.Get("ETag"), "*"} {
			w2 := f.get(tc.path, "If-None-Match", inm)
			if w2.Code != http.StatusNotModified || w2.Body.Len() != 0 || w2.Header().Get("ETag") != h.Get("ETag") {
				t.Errorf("%s If-None-Match %s: status %d", tc.path, inm, w2.Code)
			}
		}
		if w3 := f.get(tc.path, "If-None-Match", `"stale"`); w3.Code != http.StatusOK {
			t.Errorf("%s with a stale ETag: status %d", tc.path, w3.Code)
		}
	}
}

func TestOnlyNamesOfTheLayoutAreServed(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.gallery.add(entry("job1", "dog", time.Minute, f.now), []byte("PNG"))
	f.gallery.files["secret.txt"] = []byte("no")
	f.gallery.files["job1.json"] = []byte("{}")
	for _, target := range []string{
		"/images/../x",
		"/images/%2e%2e%2fx",
		"/images/%2e%2e/secret.txt",
		"/images/..%2fsecret.txt",
		"/images/x/y.png",
		"/images/job1-1.png/",
		"/images/thumbs/../job1-1.png",
		"/images/thumbs/x/job1-1.jpg",
		"/images/job1%2d1.png",
		"/images/job1-1.PNG",
		"/images/job1-01.png",
		"/images/job1-0.png",
		"/images/job1.json",
		"/images/secret.txt",
		"/images/thumbs/job1-1.png",
		"/images/.job1-1.png",
		"/images/job1-1.png%00",
		"/images/job1-1.png;.txt",
		"/images/",
		"/images/job9-1.png", // the right shape, but not stored
	} {
		r := httptest.NewRequest(http.MethodGet, "http://x"+target, nil)
		if w := f.do(r); w.Code != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", target, w.Code)
		}
	}
	if w := f.get("/images/job1-1.png"); w.Code != http.StatusOK {
		t.Errorf("the real name: status %d", w.Code)
	}
}
