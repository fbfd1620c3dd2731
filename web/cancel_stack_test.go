package web

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/memq"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/store/fsstore"
	"github.com/sdkeda/sdkeda/web/embedded"
	"github.com/sdkeda/sdkeda/worker"
)

// runs counts the jobs a generator ran, by id.
type runs struct {
	worker.Placeholder
	mu   sync.Mutex
	ran  map[string]int
	gate chan struct{} // when not nil, each job waits for it to close
}

func (g *runs) Generate(ctx context.Context, m job.Message, dir string) (worker.Result, error) {
	g.mu.Lock()
	if g.ran == nil {
		g.ran = map[string]int{}
	}
	g.ran[m.ID]++
	g.mu.Unlock()
	if g.gate != nil {
		select {
		case <-g.gate:
		case <-ctx.Done():
			return worker.Result{}, ctx.Err()
		}
	}
	return g.Placeholder.Generate(ctx, m, dir)
}

func (g *runs) count(id string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.ran[id]
}

func (g *runs) total() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	n := 0
	for _, c := range g.ran {
		n += c
	}
	return n
}

// submitN submits one "in parallel" submission of n jobs through the API.
func submitN(t *testing.T, base string, n int) []string {
	t.Helper()
	resp, err := http.Post(base+"/api/jobs", "application/json",
		strings.NewReader(fmt.Sprintf(`{"prompt":"cancel me maybe","count":%d,"parallel":true}`, n)))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got := decodeJSON[struct{ Jobs []apiJobRef }](t, resp.Body)
	if resp.StatusCode != http.StatusAccepted || len(got.Jobs) != n {
		t.Fatalf("submit: %s, %d jobs", resp.Status, len(got.Jobs))
	}
	var ids []string
	for _, j := range got.Jobs {
		ids = append(ids, j.ID)
	}
	return ids
}

// cancelJob cancels id through the API and returns the status code and the
// job's state.
func cancelJob(t *testing.T, base, id string) (int, string) {
	t.Helper()
	resp, err := http.Post(base+"/api/jobs/"+id+"/cancel", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, ""
	}
	return resp.StatusCode, decodeJSON[apiJob](t, resp.Body).Status
}

func jobState(base, id string) string {
	var j apiJob
	if getJSON(base+"/api/jobs/"+id, &j) != http.StatusOK {
		return ""
	}
	return j.Status
}

// Cancelled jobs never run on RabbitMQ and MinIO, even when every worker
// that reaches them is a fresh one-shot process (a KEDA ScaledJob's pod):
// the marker is in the store, not in any process. The others run once each;
// nothing is lost, doubled or dead-lettered.
func TestCancelledJobsNeverRunOnRabbitMQAndMinIO(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	ids := append(submitN(t, st.url, 3), submitN(t, st.url, 3)...)
	cancelled := []string{ids[1], ids[3], ids[4]}
	for _, id := range cancelled {
		if code, state := cancelJob(t, st.url, id); code != http.StatusOK || state != "cancelled" {
			t.Fatalf("cancel %s: %d %q", id, code, state)
		}
	}
	if code, _ := cancelJob(t, st.url, ids[1]); code != http.StatusOK {
		t.Errorf("a second cancel: %d, want 200 (nothing to do)", code)
	}
	for _, id := range cancelled {
		if _, err := st.s.Stat(st.ctx, store.CancelKey(id)); err != nil {
			t.Errorf("no marker for %s: %v", id, err)
		}
	}

	// Fresh one-shot workers, one after the other, until the queue is
	// empty: each is a new process as far as the job is concerned.
	gen := &runs{}
	for pods := 0; ; pods++ {
		if n, err := st.q.Len(st.ctx); err == nil && n == 0 && gen.total() == 3 {
			break
		}
		if pods > 10 {
			t.Fatalf("still %d ran after 10 one-shot workers", gen.total())
		}
		runOneShot(t, st.env, gen)
	}
	for _, id := range ids {
		want := 1
		if slices.Contains(cancelled, id) {
			want = 0
		}
		if got := gen.count(id); got != want {
			t.Errorf("%s ran %d times, want %d", id, got, want)
		}
	}
	waitFor(t, "every card ends", func() bool {
		for _, id := range ids {
			want := "done"
			if slices.Contains(cancelled, id) {
				want = "cancelled"
			}
			if jobState(st.url, id) != want {
				return false
			}
		}
		return true
	})
	for _, id := range cancelled {
		objs, err := st.s.List(st.ctx, id)
		if err != nil || len(objs) != 0 {
			t.Errorf("a cancelled job has objects: %v %v", objs, err)
		}
	}
	if n, err := st.q.DeadLen(st.ctx); err != nil || n != 0 {
		t.Errorf("dead letters: %d %v", n, err)
	}
	// A job that runs can no longer be cancelled.
	if code, _ := cancelJob(t, st.url, ids[0]); code != http.StatusConflict {
		t.Errorf("cancel of a done job: %d, want 409", code)
	}
}

// runOneShot runs one worker process's life in one-shot mode (a ScaledJob's
// pod: EXIT_AFTER_ONE_TASK=1) on env's queue and bucket, until it exits.
func runOneShot(t *testing.T, env map[string]string, gen worker.Generator) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	w, closeQueue := newWorker(t, ctx, env, map[string]string{"EXIT_AFTER_ONE_TASK": "1", "EMPTY_QUEUE_WAIT": "2s",
		"WORKER_NAME": "one-shot"}, gen, testLogger(t))
	defer closeQueue()
	if err := w.Run(ctx); err != nil {
		t.Fatalf("one-shot worker: %v", err)
	}
}

// The embedded mode's parts (memq, a directory, an in-process worker in
// loop mode, as web/embedded composes them; the worker's generator is the
// test's, held at a gate): a job cancelled while the worker is busy never
// runs; the ones around it do.
func TestCancelledJobNeverRunsInEmbeddedMode(t *testing.T) {
	t.Parallel()
	cfg, err := config.LoadWebUI(func(k string) string {
		return map[string]string{"DATA_DIR": t.TempDir(), "RATE_LIMIT": "0"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	gen := &runs{gate: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	p := startEmbeddedParts(t, ctx, cfg, gen)
	app := newWebUI(cfg, testLogger(t), prometheus.NewRegistry(), p.Queue, p.Store, p.Generator)
	if err := app.jobs.Subscribe(ctx); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.handler)
	done := make(chan struct{})
	go func() { defer close(done); _ = app.run(ctx) }()
	t.Cleanup(func() {
		cancel()
		app.hub.Close()
		srv.Close()
		<-done
		if err := p.Wait(); err != nil {
			t.Errorf("embedded worker: %v", err)
		}
		_ = p.Queue.Close()
	})

	ids := submitN(t, srv.URL, 4)
	waitFor(t, "the first job runs", func() bool { return gen.count(ids[0]) == 1 })
	for _, id := range ids[2:] {
		if code, state := cancelJob(t, srv.URL, id); code != http.StatusOK || state != "cancelled" {
			t.Fatalf("cancel %s: %d %q", id, code, state)
		}
	}
	close(gen.gate)
	waitFor(t, "the others are done and the queue is empty", func() bool {
		n, _ := p.Queue.Len(ctx)
		return n == 0 && jobState(srv.URL, ids[0]) == "done" && jobState(srv.URL, ids[1]) == "done"
	})
	// The worker's own cancelled events for the two came and went.
	time.Sleep(200 * time.Millisecond)
	for i, id := range ids {
		want, state := 1, "done"
		if i >= 2 {
			want, state = 0, "cancelled"
		}
		if got := gen.count(id); got != want {
			t.Errorf("job %d ran %d times, want %d", i, got, want)
		}
		if got := jobState(srv.URL, id); got != state {
			t.Errorf("job %d is %s, want %s", i, got, state)
		}
	}
	if dead := p.Queue.(*memq.Queue).DeadLetters(); len(dead) != 0 {
		t.Errorf("dead letters: %v", dead)
	}
}

// startEmbeddedParts starts what embedded.Start does (memq, fsstore under
// DATA_DIR/images, one worker in loop mode until ctx ends) with gen as the
// worker's generator.
func startEmbeddedParts(t *testing.T, ctx context.Context, cfg config.WebUI, gen worker.Generator) *embedded.Parts {
	t.Helper()
	st, err := fsstore.Open(filepath.Join(cfg.DataDir, "images"))
	if err != nil {
		t.Fatal(err)
	}
	q := memq.New(queue.Options{Name: cfg.QueueName, DeliveryLimit: cfg.DeliveryLimit, MaxFailures: cfg.MaxFailures})
	wcfg := config.Worker{Common: cfg.Common, WorkerName: "embedded", ShutdownGrace: 5 * time.Second,
		Generator: config.Generator{JobTimeout: time.Minute}}
	w := worker.New(wcfg, worker.Deps{Consume: q.Consume, Status: q, Store: st, Generator: gen, Log: testLogger(t)})
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	return &embedded.Parts{Queue: q, Store: st, Generator: gen.Name(), Wait: func() error { return <-done }}
}
