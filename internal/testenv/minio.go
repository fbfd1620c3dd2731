package testenv

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Minio is a MinIO server for tests.
type Minio struct {
	Endpoint  string // host:port
	AccessKey string
	SecretKey string

	mu       sync.Mutex
	p        *proc
	bin      string
	dir      string
	port     int
	external bool
}

// MinIO returns the shared server of this test binary: MINIO_ENDPOINT (with
// MINIO_ACCESS_KEY and MINIO_SECRET_KEY) when set, else one started on first
// use. Tests use their own buckets on it.
func MinIO(t testing.TB) *Minio {
	t.Helper()
	Short(t)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if err := sharedErr["minio"]; err != nil {
		failOrSkip(t, "minio", err)
	}
	if sharedMinio != nil {
		return sharedMinio
	}
	if ep := os.Getenv("MINIO_ENDPOINT"); ep != "" {
		sharedMinio = &Minio{Endpoint: ep, AccessKey: os.Getenv("MINIO_ACCESS_KEY"),
			SecretKey: os.Getenv("MINIO_SECRET_KEY"), external: true}
		return sharedMinio
	}
	m, err := newMinio()
	if err != nil {
		sharedErr["minio"] = err
		failOrSkip(t, "minio", err)
	}
	sharedMinio = m
	sharedStops = append(sharedStops, m.cleanup)
	return m
}

// StartMinIO starts a server that belongs to this test alone, so the test may
// stop and restart it; it is removed when the test ends.
func StartMinIO(t testing.TB) *Minio {
	t.Helper()
	Short(t)
	m, err := newMinio()
	if err != nil {
		failOrSkip(t, "minio", err)
	}
	t.Cleanup(m.cleanup)
	return m
}

// MinioBinary is the path of the minio server binary, or "".
func MinioBinary() string { return lookBin("minio", gopathBin("minio")) }

func newMinio() (*Minio, error) {
	bin := MinioBinary()
	if bin == "" {
		return nil, fmt.Errorf("%w: the minio server (go install github.com/minio/minio@v0.0.0-20260212201848-7aac2a2c5b7c)", errNotInstalled)
	}
	dir, err := os.MkdirTemp("", "sdkeda-minio-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	m := &Minio{
		Endpoint:  fmt.Sprintf("127.0.0.1:%d", port),
		AccessKey: "sdkeda-test",
		SecretKey: "sdkeda-test-secret",
		bin:       bin, dir: dir, port: port,
	}
	if err := m.Start(); err != nil {
		m.cleanup()
		return nil, err
	}
	return m, nil
}

// Start starts the server (again) on the same port and data directory.
func (m *Minio) Start() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.external {
		return fmt.Errorf("cannot start an external MinIO (MINIO_ENDPOINT is set)")
	}
	if m.p != nil {
		return nil
	}
	console, err := freePort()
	if err != nil {
		return err
	}
	env := []string{
		"MINIO_ROOT_USER=" + m.AccessKey,
		"MINIO_ROOT_PASSWORD=" + m.SecretKey,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_CI_CD=1",
		"HOME=" + m.dir,
	}
	p, err := startProc("minio", filepath.Join(m.dir, "server.log"), env, m.bin,
		"server", "--quiet", "--address", m.Endpoint,
		"--console-address", fmt.Sprintf("127.0.0.1:%d", console),
		filepath.Join(m.dir, "data"))
	if err != nil {
		return err
	}
	if err := waitHTTP("http://"+m.Endpoint+"/minio/health/ready", 60*time.Second, p.exited); err != nil {
		p.stop(syscall.SIGKILL, time.Second)
		return fmt.Errorf("%w; log:\n%s", err, Tail(p.log, 20))
	}
	m.p = p
	return nil
}

// Stop ends the server (SIGTERM).
func (m *Minio) Stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.p.stop(syscall.SIGTERM, 20*time.Second)
	m.p = nil
}

func (m *Minio) cleanup() {
	if m.external {
		return
	}
	m.Stop()
	if m.dir != "" {
		_ = os.RemoveAll(m.dir)
	}
}

func waitHTTP(url string, within time.Duration, exited <-chan struct{}) error {
	deadline := time.Now().Add(within)
	c := &http.Client{Timeout: time.Second}
	var last string
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			return fmt.Errorf("process exited before %s answered", url)
		default:
		}
		resp, err := c.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			last = resp.Status
		} else {
			last = err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("%s not ready within %s (last: %s)", url, within, strings.TrimSpace(last))
}
