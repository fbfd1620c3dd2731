package stacktest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

func TestGetenvLaterEntriesWin(t *testing.T) {
	t.Parallel()
	get := Getenv([]string{"A=1", "B=x=y", "A=2", "EMPTY="})
	if get("A") != "2" || get("B") != "x=y" || get("EMPTY") != "" || get("NONE") != "" {
		t.Fatalf("A=%q B=%q", get("A"), get("B"))
	}
}

func TestProcLogsWaitsAndStops(t *testing.T) {
	t.Parallel()
	p := Start(t, Spec{Name: "echo", Bin: "/bin/sh", Args: []string{"-c", `echo "hello $WHO"; exit 3`}, Env: []string{"WHO=world"}})
	if err := p.Wait(t, 10*time.Second); err == nil || !strings.Contains(err.Error(), "exit status 3") {
		t.Errorf("exit: %v, want status 3", err)
	}
	if p.Log() != "hello world\n" || p.Tail(1) != "hello world" {
		t.Errorf("log %q", p.Log())
	}

	// A program that handles SIGTERM exits by itself; one that ignores it
	// is killed after the grace.
	q := Start(t, Spec{Name: "term", Bin: "/bin/sh", Args: []string{"-c", `trap 'echo bye; exit 0' TERM; echo up; while :; do sleep 0.05; done`}})
	q.WaitLog(t, "up", 10*time.Second)
	if err := q.Stop(10 * time.Second); err != nil || !strings.Contains(q.Log(), "bye") {
		t.Errorf("stop: %v, log %q", err, q.Log())
	}
	r := Start(t, Spec{Name: "stubborn", Bin: "/bin/sh", Args: []string{"-c", `trap '' TERM; echo up; while :; do sleep 0.05; done`}})
	r.WaitLog(t, "up", 10*time.Second)
	if err := r.Stop(200 * time.Millisecond); err == nil || r.Running() {
		t.Errorf("a program ignoring SIGTERM: %v, running %v", err, r.Running())
	}
	if err := r.Signal(syscall.SIGTERM); err != nil {
		t.Errorf("signal after exit: %v", err)
	}
}

// The program is unhealthy at first, then healthy but not ready twice:
// counted in requests, not time, so a slow machine changes nothing.
func TestWaitUpWaitsForHealthThenReadiness(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var calls []string
	refuse := map[string]int{"/healthz": 1, "/readyz": 2}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, r.URL.Path)
		if refuse[r.URL.Path] > 0 {
			refuse[r.URL.Path]--
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	WaitUp(t, srv.URL, 10*time.Second, nil)
	mu.Lock()
	if want := []string{"/healthz", "/healthz", "/readyz", "/readyz", "/readyz"}; !slices.Equal(calls, want) {
		t.Errorf("calls %v, want %v", calls, want)
	}
	mu.Unlock()
	var into struct{ X int }
	if code := GetJSON(srv.URL+"/x", &into); code != 0 {
		t.Errorf("an empty 200 body decoded: %d", code)
	}
}

func TestFakeFastSDCPUIsACheckout(t *testing.T) {
	t.Parallel()
	dir := FakeFastSDCPU(t, "")
	if _, err := os.Stat(filepath.Join(dir, "src", "app.py")); err != nil {
		t.Fatal(err)
	}
	env := Getenv(FakeEnv(t, dir))
	if env("FASTSDCPU_DIR") != dir || env("GENERATOR") != "fastsdcpu" || env("PYTHON") == "" {
		t.Errorf("env %v", FakeEnv(t, dir))
	}
}
