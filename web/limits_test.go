package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/sdkeda/sdkeda/worker"
)

// MAX_IMAGES=8 end to end: the webui (Run, production mode) and a worker
// (worker.Run) read it from the same environment against the real RabbitMQ
// and MinIO. A job of 8 images is accepted and makes 8 images; 9 is refused
// by the webui with the same bound the worker would apply, and nothing is
// published for it.
func TestMaxImagesEightEndToEnd(t *testing.T) {
	t.Parallel()
	env := productionEnv(t, "MAX_IMAGES=8",
		// the worker's own
		"GENERATOR=placeholder", "EXIT_AFTER_ONE_TASK=0", "METRICS_ADDR=off", "WORKER_NAME=limits")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wstderr syncBuffer
	wdone := make(chan error, 1)
	go func() { wdone <- worker.Run(ctx, nil, func(k string) string { return env[k] }, io.Discard, &wstderr) }()
	r := runWebUI(t, env, true)
	base := r.base

	post := func(body string) (int, string) {
		resp, err := http.Post(base+"/api/jobs", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := post(`{"prompt":"nine dogs","count":9}`); code != http.StatusBadRequest || !strings.Contains(body, "between 1 and 8, not 9") {
		t.Errorf("count 9: %d %s, want 400 naming the bound 8", code, body)
	}
	code, body := post(`{"prompt":"eight dogs","count":8}`)
	if code != http.StatusAccepted {
		t.Fatalf("count 8: %d %s", code, body)
	}
	var accepted struct{ Jobs []apiJobRef }
	if err := json.Unmarshal([]byte(body), &accepted); err != nil || len(accepted.Jobs) != 1 {
		t.Fatalf("answer %s: %v", body, err)
	}
	var j apiJob
	waitFor(t, "the job of 8 images is done", func() bool {
		return getJSON(base+accepted.Jobs[0].StatusURL, &j) == http.StatusOK && (j.Status == "done" || j.Status == "failed")
	})
	if j.Status != "done" || len(j.Images) != 8 {
		t.Fatalf("job %+v: want done with 8 images\nworker log:\n%s", j, wstderr.String())
	}
	var page apiImages
	waitFor(t, "the entry with its 8 images is in the gallery", func() bool {
		return getJSON(base+"/api/images", &page) == http.StatusOK && len(page.Entries) == 1 && len(page.Entries[0].Images) == 8
	})
	r.stop()
	cancel()
	if err := <-wdone; err != nil {
		t.Errorf("worker: %v", err)
	}
	if strings.Contains(wstderr.String(), "job dead") || strings.Contains(wstderr.String(), "job invalid") {
		t.Errorf("the worker refused a job:\n%s", wstderr.String())
	}
}
