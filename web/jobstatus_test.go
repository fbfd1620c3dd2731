package web

import (
	"net/http"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

const (
	id1 = "11111111-1111-4111-8111-111111111111"
	id2 = "22222222-2222-4222-8222-222222222222"
	id3 = "33333333-3333-4333-8333-333333333333"
)

func TestJobStatusAPI(t *testing.T) {
	t.Parallel()
	f := setup(t)
	get := func(id string) (int, apiJob) {
		w := f.get("/api/jobs/" + id)
		var j apiJob
		if w.Code == http.StatusOK {
			j = decodeJSON[apiJob](t, w.Body)
		}
		return w.Code, j
	}
	if code, _ := get(id1); code != http.StatusNotFound {
		t.Fatalf("unknown job: %d", code)
	}
	if code, _ := get("../etc"); code != http.StatusNotFound {
		t.Fatalf("bad id: %d", code)
	}
	f.jobs.Apply(job.Event{ID: id2, State: job.Queued, At: f.now.Add(-time.Minute)})
	f.jobs.Apply(job.Event{ID: id1, State: job.Queued, At: f.now})
	if _, j := get(id1); j.Status != "queued" || j.Position != 2 || j.StartedAt != nil {
		t.Errorf("queued: %+v", j)
	}
	f.jobs.Apply(job.Event{ID: id1, State: job.Started, Attempt: 1, At: f.now.Add(-12 * time.Second)})
	if _, j := get(id1); j.Status != "running" || j.Position != 0 || j.StartedAt == nil || j.Elapsed == nil || *j.Elapsed != 12 {
		t.Errorf("running: %+v", j)
	}
	f.jobs.Apply(job.Event{ID: id1, State: job.Done, At: f.now, Objects: []string{id1 + "-1.png", id1 + "-2.png", id1 + ".json"}})
	if _, j := get(id1); j.Status != "done" || len(j.Images) != 2 || j.Images[1] != "/images/"+id1+"-2.png" {
		t.Errorf("done: %+v", j)
	}
	f.jobs.Apply(job.Event{ID: id2, State: job.Failed, Reason: "fastsdcpu exit status 1: Traceback (most recent call last): RuntimeError: CUDA out of memory"})
	if _, j := get(id2); j.Status != "failed" || j.Reason != "out of memory" || j.ReasonKind != "out_of_memory" {
		t.Errorf("failed: %+v", j)
	}
	// A job this replica never heard of, but whose entry is in the gallery.
	f.gallery.add(entry(id3, "cat", time.Minute, f.now), []byte("png"))
	if _, j := get(id3); j.Status != "done" || len(j.Images) != 1 {
		t.Errorf("from the gallery: %+v", j)
	}
}
