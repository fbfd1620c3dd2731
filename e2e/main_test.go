package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

// The programs under test, built once per test binary into binDir.
var (
	binDir  string
	binOnce sync.Once
	binErr  error
	pyOnce  sync.Once
	pyPath  string
)

// TestMain makes the directory for the binaries and removes it afterwards.
// Every test and benchmark here starts RabbitMQ and MinIO of its own
// (testenv.StartRabbitMQ, StartMinIO), stopped by its cleanup, so there are
// no shared servers for testenv.Main to stop.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "sdkeda-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	binDir = dir
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// binaries builds cmd/webui and cmd/worker once and returns their paths.
func binaries(t testing.TB) (webui, worker string) {
	t.Helper()
	binOnce.Do(func() {
		cmd := exec.Command("go", "build", "-o", binDir+string(filepath.Separator),
			"github.com/sdkeda/sdkeda/cmd/webui", "github.com/sdkeda/sdkeda/cmd/worker")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build ./cmd/webui ./cmd/worker: %w\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return filepath.Join(binDir, "webui"), filepath.Join(binDir, "worker")
}

// python is the interpreter for the fake fastsdcpu CLI.
func python(t testing.TB) string {
	t.Helper()
	pyOnce.Do(func() {
		out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		if err == nil {
			pyPath = strings.TrimSpace(string(out))
		}
	})
	if pyPath == "" {
		testenv.Unavailable(t, "python3 is not installed (the fake fastsdcpu CLI needs it)")
	}
	return pyPath
}

// fakeCheckout copies the worker's stand-in fastsdcpu tree (the CLI and the
// modules the warm driver imports) into dir: one checkout per worker
// process, since results/ serves one job at a time.
func fakeCheckout(t testing.TB, dir string) string {
	t.Helper()
	if err := os.CopyFS(dir, os.DirFS(filepath.Join("..", "worker", "testdata", "fastsdcpu"))); err != nil {
		t.Fatalf("the stand-in fastsdcpu: %v", err)
	}
	return dir
}
