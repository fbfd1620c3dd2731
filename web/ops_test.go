package web

import (
	"errors"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func nopLog() *slog.Logger { return slog.New(slog.DiscardHandler) }

func TestHealthAndReadiness(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if w := f.get("/healthz"); w.Code != http.StatusOK {
		t.Errorf("healthz %d", w.Code)
	}
	if w := f.get("/readyz"); w.Code != http.StatusOK {
		t.Errorf("readyz %d: %s", w.Code, w.Body)
	}
	f.queue.lenErr = errors.New("rabbitmq: not connected")
	w := f.get("/readyz")
	if w.Code != http.StatusServiceUnavailable || !strings.Contains(w.Body.String(), "not connected") {
		t.Errorf("readyz with the queue down: %d %s", w.Code, w.Body)
	}
	f.queue.lenErr = nil
	f.gallery.ready = false
	if w := f.get("/readyz"); w.Code != http.StatusServiceUnavailable {
		t.Errorf("readyz with the gallery loading: %d", w.Code)
	}
	if w := f.get("/healthz"); w.Code != http.StatusOK {
		t.Errorf("healthz must not depend on anything: %d", w.Code)
	}
}

func TestMetricsCountRequestsSubmissionsAndClients(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.postJSON(`{"prompt":"dog"}`)
	f.postJSON(`{"prompt":""}`)
	f.get("/images/../x")
	body := f.get("/metrics").Body.String()
	for _, want := range []string{
		`sdkeda_webui_submissions_total{outcome="accepted"} 1`,
		`sdkeda_webui_submissions_total{outcome="invalid"} 1`,
		`sdkeda_webui_http_requests_total{code="202",route="/api/jobs"} 1`,
		`sdkeda_webui_http_requests_total{code="404",route="/images/*"} 1`,
		`sdkeda_webui_sse_clients 0`,
		`sdkeda_webui_gallery_entries 0`,
		`sdkeda_webui_tracked_jobs 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestGeneratedComponentsAreUpToDate fails when `go tool templ generate`
// would change a committed *_templ.go file.
func TestGeneratedComponentsAreUpToDate(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command")
	}
	tmp := t.TempDir()
	templs, _ := filepath.Glob("components/*.templ")
	if len(templs) == 0 {
		t.Fatal("no templ files")
	}
	for _, p := range templs {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tmp, filepath.Base(p)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "tool", "templ", "generate", "-path", tmp)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("templ generate: %v\n%s", err, out)
	}
	for _, p := range templs {
		gen := strings.TrimSuffix(p, ".templ") + "_templ.go"
		want, err := os.ReadFile(filepath.Join(tmp, filepath.Base(gen)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(gen)
		if err != nil || string(got) != string(want) {
			t.Errorf("%s is not what `go tool templ generate` makes: run `make generate` and commit it", gen)
		}
	}
}
