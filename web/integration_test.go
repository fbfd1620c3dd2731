package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/stacktest"
	"github.com/sdkeda/sdkeda/internal/store"
)

func (st *stack) getJSON(path string, into any) int { return stacktest.GetJSON(st.url+path, into) }

// submit posts a job to /api/jobs and returns the accepted jobs; anything
// but 202 fails the test.
func (st *stack) submit(body string) []apiJobRef {
	st.t.Helper()
	resp, err := http.Post(st.url+"/api/jobs", "application/json", strings.NewReader(body))
	if err != nil {
		st.t.Fatal(err)
	}
	defer resp.Body.Close()
	var accepted struct{ Jobs []apiJobRef }
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	if resp.StatusCode != http.StatusAccepted || len(accepted.Jobs) == 0 {
		st.t.Fatalf("submit %s: %s %+v", body, resp.Status, accepted)
	}
	return accepted.Jobs
}

type apiImages struct {
	Entries []apiEntry `json:"entries"`
	Next    string     `json:"next"`
}

func (st *stack) inGallery(id string) bool {
	var page apiImages
	st.getJSON("/api/images?limit=50", &page)
	for _, e := range page.Entries {
		if e.ID == id {
			return true
		}
	}
	return false
}

// The whole way of a job, as a browser sees it: queued, running and done over
// SSE, then its entry in the gallery, its images and thumbnails served.
func TestSubmittedJobGoesQueuedRunningDoneOverSSE(t *testing.T) {
	t.Parallel()
	st := startStack(t)

	jobs := st.submit(`{"prompt":"a green dog","count":2}`)
	if len(jobs) != 1 {
		t.Fatalf("submit: %+v", jobs)
	}
	id := jobs[0].ID
	// The queued card came with the answer (a browser's cookie then holds
	// the job); the stream carries the job's card from then on.
	var j apiJob
	if code := getJSON(st.url+jobs[0].StatusURL, &j); code != http.StatusOK || j.Status != "queued" {
		t.Fatalf("before any worker: %d %+v", code, j)
	}
	events := openEvents(t, st.ctx, st.url, id)
	waitFor(t, "the stream is open", func() bool { return st.app.hub.Clients() == 1 })
	st.startWorker(nil)

	for _, state := range []string{"running", "done"} {
		data := events.next("job", 60*time.Second, func(data string) bool {
			d := jobData(t, data)
			return d.ID == id && d.Status == state
		})
		d := jobData(t, data)
		if !strings.Contains(d.HTML, `data-status="`+state+`"`) || !strings.Contains(d.HTML, "a green dog") {
			t.Errorf("%s card: %s", state, d.HTML)
		}
		if state == "done" && strings.Count(d.HTML, `data-testid="job-image"`) != 2 {
			t.Errorf("done card without its 2 images: %s", d.HTML)
		}
	}
	added := events.next("gallery", 60*time.Second, func(data string) bool {
		return strings.Contains(data, `"op":"added"`) && strings.Contains(data, id)
	})
	if !strings.Contains(added, "a green dog") {
		t.Errorf("gallery card: %s", added)
	}

	var status apiJob
	if code := st.getJSON("/api/jobs/"+id, &status); code != http.StatusOK || status.Status != "done" || len(status.Images) != 2 {
		t.Fatalf("status %d %+v", code, status)
	}
	if !st.inGallery(id) {
		t.Error("the entry is not in /api/images")
	}
	for _, u := range []string{status.Images[0], thumbURL(strings.TrimPrefix(status.Images[1], "/images/"))} {
		resp, err := http.Get(st.url + u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Header.Get("ETag") == "" {
			t.Errorf("%s: %s etag %q", u, resp.Status, resp.Header.Get("ETag"))
		}
		req, _ := http.NewRequest(http.MethodGet, st.url+u, nil)
		req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
		again, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		again.Body.Close()
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("%s conditional: %s", u, again.Status)
		}
	}
}

// Objects put and removed in MinIO by anyone else (mc, a worker of the old
// system) appear in and vanish from /api/images and SSE without a restart.
func TestObjectsPutAndRemovedByOthersShowAndGo(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	events := openEvents(t, st.ctx, st.url)
	put := func(key string, data []byte, ctype string) {
		t.Helper()
		if _, err := st.mc.PutObject(st.ctx, st.bucket, key, bytes.NewReader(data), int64(len(data)),
			minio.PutObjectOptions{ContentType: ctype}); err != nil {
			t.Fatal(err)
		}
	}

	start := time.Now()
	put(store.ImageKey("by-mc", 1), gallerytest.PNG(32, 32), store.TypePNG)
	put(store.MetadataKey("by-mc"), gallerytest.Metadata("put with minio-go", 7, nil), store.TypeJSON)
	events.next("gallery", 30*time.Second, func(d string) bool {
		return strings.Contains(d, `"op":"added","id":"by-mc"`) && strings.Contains(d, "put with minio-go")
	})
	t.Logf("added: seen over SSE after %s", time.Since(start).Round(time.Millisecond))
	waitFor(t, "the entry is in /api/images", func() bool { return st.inGallery("by-mc") })
	t.Logf("added: in /api/images after %s", time.Since(start).Round(time.Millisecond))

	start = time.Now()
	for _, k := range []string{store.MetadataKey("by-mc"), store.ImageKey("by-mc", 1)} {
		if err := st.mc.RemoveObject(st.ctx, st.bucket, k, minio.RemoveObjectOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	events.next("gallery", 30*time.Second, func(d string) bool { return strings.Contains(d, `"op":"removed","id":"by-mc"`) })
	t.Logf("removed: seen over SSE after %s", time.Since(start).Round(time.Millisecond))
	waitFor(t, "the entry is gone from /api/images", func() bool { return !st.inGallery("by-mc") })
	t.Logf("removed: gone from /api/images after %s", time.Since(start).Round(time.Millisecond))
}

// Readiness checks the real queue and store.
func TestReadyOnRealServers(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	var status map[string]string
	if code := st.getJSON("/readyz", &status); code != http.StatusOK || status["queue"] != "ok" || status["store"] != "ok" {
		t.Fatalf("readyz %d %v", code, status)
	}
}
