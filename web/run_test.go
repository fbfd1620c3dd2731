package web

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

type syncBuffer = testenv.Buffer

func TestRunRefusesABadConfigurationNamingEachVariable(t *testing.T) {
	t.Parallel()
	env := map[string]string{"AMQP_URL": "http://nope", "LISTEN_ADDR": "3000", "MAX_IMAGES": "x"}
	var stderr syncBuffer
	err := Run(context.Background(), nil, func(k string) string { return env[k] }, io.Discard, &stderr)
	if err == nil {
		t.Fatal("Run accepted a bad configuration")
	}
	for _, name := range []string{"AMQP_URL", "LISTEN_ADDR", "MAX_IMAGES", "MINIO_ENDPOINT"} {
		if !strings.Contains(stderr.String(), name) {
			t.Errorf("stderr does not name %s:\n%s", name, stderr.String())
		}
	}
}

// The whole program in embedded mode: no RabbitMQ, no MinIO; a job goes
// through the in-process worker into the gallery.
func TestRunInEmbeddedMode(t *testing.T) {
	t.Parallel()
	port := testenv.FreePort(t)
	env := map[string]string{"LISTEN_ADDR": fmt.Sprintf("127.0.0.1:%d", port), "DATA_DIR": t.TempDir(), "GENERATOR": "placeholder"}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, nil, func(k string) string { return env[k] }, &stdout, &stderr) }()
	waitUp(t, base, done, &stderr)
	if !strings.Contains(stdout.String(), "placeholder") {
		t.Errorf("the banner should say what runs:\n%s", stdout.String())
	}

	resp, err := http.Post(base+"/api/jobs", "application/json", strings.NewReader(`{"prompt":"embedded dog"}`))
	if err != nil {
		t.Fatal(err)
	}
	var accepted struct{ Jobs []apiJobRef }
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || len(accepted.Jobs) != 1 {
		t.Fatalf("submit: %s", resp.Status)
	}
	waitFor(t, "the job is done and in the gallery", func() bool {
		var j apiJob
		var page apiImages
		return getJSON(base+accepted.Jobs[0].StatusURL, &j) == http.StatusOK && j.Status == "done" &&
			getJSON(base+"/api/images", &page) == http.StatusOK && len(page.Entries) == 1 && page.Entries[0].ID == j.ID
	})
	// The in-process worker's metrics are on the webui's /metrics.
	resp, err = http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	metrics, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`sdkeda_worker_jobs_total{outcome="done"} 1`, "sdkeda_webui_tracked_jobs 1"} {
		if !strings.Contains(string(metrics), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	stopRun(t, cancel, done)
}

// stopRun ends Run's context and waits for it to return nil.
func stopRun(t *testing.T, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop within 30s of its context ending")
	}
}

// waitUp waits until the program answers /healthz, failing if Run returns.
func waitUp(t *testing.T, base string, done <-chan error, stderr *syncBuffer) {
	t.Helper()
	waitFor(t, "/healthz answers", func() bool {
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v\n%s", err, stderr.String())
		default:
		}
		return getJSON(base+"/healthz", nil) == http.StatusOK
	})
}

func getJSON(url string, into any) int {
	resp, err := http.Get(url)
	if err != nil {
		return 0
	}
	defer resp.Body.Close()
	if into != nil && resp.StatusCode == http.StatusOK {
		_ = json.NewDecoder(resp.Body).Decode(into)
	}
	return resp.StatusCode
}

// The whole program in production mode against the real servers: it comes
// up (/healthz, then /readyz), serves the page, and stops cleanly, closing
// its event streams.
func TestRunInProductionMode(t *testing.T) {
	t.Parallel()
	rabbit, mio := testenv.RabbitMQ(t), testenv.MinIO(t)
	port := testenv.FreePort(t)
	env := map[string]string{
		"AMQP_URL": rabbit.URL, "QUEUE_NAME": testenv.UniqueName("run"),
		"MINIO_ENDPOINT": mio.Endpoint, "MINIO_ACCESS_KEY": mio.AccessKey, "MINIO_SECRET_KEY": mio.SecretKey,
		"MINIO_BUCKET": testenv.UniqueName("run"), "LISTEN_ADDR": fmt.Sprintf("127.0.0.1:%d", port),
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, nil, func(k string) string { return env[k] }, io.Discard, &stderr) }()

	status := func(path string) int { return getJSON(base+path, nil) }
	waitUp(t, base, done, &stderr)
	waitFor(t, "/readyz is ready", func() bool { return status("/readyz") == http.StatusOK })
	if code := status("/"); code != http.StatusOK {
		t.Errorf("GET / = %d", code)
	}
	if !strings.Contains(stderr.String(), "MINIO_SECRET_KEY=<redacted>") || strings.Contains(stderr.String(), mio.SecretKey) {
		t.Error("the effective configuration must be logged with the secret redacted")
	}

	events := openEvents(t, context.Background(), base)
	stopRun(t, cancel, done)
	events.ends(10 * time.Second)
}

// While RabbitMQ and MinIO cannot be reached yet (in a cluster they may
// start after the webui), the port answers: /healthz is up, so a liveness
// probe does not restart the pod, and /readyz says it is not ready.
func TestRunAnswersHealthWhileConnecting(t *testing.T) {
	t.Parallel()
	port := testenv.FreePort(t)
	closed := testenv.FreePort(t) // nothing listens there
	env := map[string]string{
		"LISTEN_ADDR":      fmt.Sprintf("127.0.0.1:%d", port),
		"AMQP_URL":         fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", closed),
		"MINIO_ENDPOINT":   fmt.Sprintf("127.0.0.1:%d", closed),
		"MINIO_ACCESS_KEY": "a", "MINIO_SECRET_KEY": "b",
	}
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan error, 1)
	go func() { done <- Run(ctx, nil, func(k string) string { return env[k] }, &stdout, &stderr) }()
	waitUp(t, base, done, &stderr)
	if code := getJSON(base+"/readyz", nil); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while connecting: %d, want 503", code)
	}
	if code := getJSON(base+"/api/images", nil); code != http.StatusServiceUnavailable {
		t.Errorf("/api/images while connecting: %d, want 503", code)
	}
	stopRun(t, cancel, done)
}
