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

	"github.com/sdkeda/sdkeda/internal/stacktest"
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
	listen, _ := stacktest.Listen(t)
	r := runWebUI(t, envMap([]string{listen, "DATA_DIR=" + t.TempDir(), "GENERATOR=placeholder"}), true)
	if !strings.Contains(r.stdout.String(), "placeholder") {
		t.Errorf("the banner should say what runs:\n%s", r.stdout.String())
	}

	resp, err := http.Post(r.base+"/api/jobs", "application/json", strings.NewReader(`{"prompt":"embedded dog"}`))
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
		return getJSON(r.base+accepted.Jobs[0].StatusURL, &j) == http.StatusOK && j.Status == "done" &&
			getJSON(r.base+"/api/images", &page) == http.StatusOK && len(page.Entries) == 1 && page.Entries[0].ID == j.ID
	})
	r.stop()
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

// getJSON is stacktest.GetJSON: the status of GET url, the body decoded into
// into on 200.
func getJSON(url string, into any) int { return stacktest.GetJSON(url, into) }

// The whole program in production mode against the real servers: it comes
// up (/healthz, then /readyz), serves the page, and stops cleanly, closing
// its event streams.
func TestRunInProductionMode(t *testing.T) {
	t.Parallel()
	env := productionEnv(t)
	r := runWebUI(t, env, true)
	if code := getJSON(r.base+"/", nil); code != http.StatusOK {
		t.Errorf("GET / = %d", code)
	}
	if log := r.stderr.String(); !strings.Contains(log, "MINIO_SECRET_KEY=<redacted>") || strings.Contains(log, env["MINIO_SECRET_KEY"]) {
		t.Error("the effective configuration must be logged with the secret redacted")
	}

	events := openEvents(t, context.Background(), r.base)
	r.stop()
	events.ends(10 * time.Second)
}

// While RabbitMQ and MinIO cannot be reached yet (in a cluster they may
// start after the webui), the port answers: /healthz is up, so a liveness
// probe does not restart the pod, and /readyz says it is not ready.
func TestRunAnswersHealthWhileConnecting(t *testing.T) {
	t.Parallel()
	listen, _ := stacktest.Listen(t)
	closed := testenv.FreePort(t) // nothing listens there
	r := runWebUI(t, envMap([]string{listen,
		fmt.Sprintf("AMQP_URL=amqp://guest:guest@127.0.0.1:%d/", closed),
		fmt.Sprintf("MINIO_ENDPOINT=127.0.0.1:%d", closed),
		"MINIO_ACCESS_KEY=a", "MINIO_SECRET_KEY=b"}), false)
	if code := getJSON(r.base+"/readyz", nil); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz while connecting: %d, want 503", code)
	}
	if code := getJSON(r.base+"/api/images", nil); code != http.StatusServiceUnavailable {
		t.Errorf("/api/images while connecting: %d, want 503", code)
	}
	r.stop()
}
