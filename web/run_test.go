package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

// syncBuffer is an io.Writer safe for the program's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

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

	status := func(path string) int {
		resp, err := http.Get(base + path)
		if err != nil {
			return 0
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	waitFor(t, "/healthz answers", func() bool {
		select {
		case err := <-done:
			t.Fatalf("Run returned early: %v\n%s", err, stderr.String())
		default:
		}
		return status("/healthz") == http.StatusOK
	})
	waitFor(t, "/readyz is ready", func() bool { return status("/readyz") == http.StatusOK })
	if code := status("/"); code != http.StatusOK {
		t.Errorf("GET / = %d", code)
	}
	if !strings.Contains(stderr.String(), "MINIO_SECRET_KEY=<redacted>") || strings.Contains(stderr.String(), mio.SecretKey) {
		t.Error("the effective configuration must be logged with the secret redacted")
	}

	events := openEvents(t, context.Background(), base)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not stop")
	}
	events.ends(10 * time.Second)
}
