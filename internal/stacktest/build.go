package stacktest

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/sdkeda/sdkeda/internal/testenv"
)

// Commands of the module, to Build.
const (
	WebUI  = "github.com/sdkeda/sdkeda/cmd/webui"
	Worker = "github.com/sdkeda/sdkeda/cmd/worker"
)

var (
	buildMu  sync.Mutex
	buildDir string
	built    = map[string]string{} // import path -> binary
)

// Build builds the commands (import paths of main packages) once per test
// binary, and returns their binaries in the order asked. The binaries are
// removed when testenv.Main returns.
func Build(t testing.TB, pkgs ...string) []string {
	t.Helper()
	buildMu.Lock()
	defer buildMu.Unlock()
	if buildDir == "" {
		dir, err := os.MkdirTemp("", "sdkeda-bin-")
		if err != nil {
			t.Fatal(err)
		}
		buildDir = dir
		testenv.AtExit(func() { _ = os.RemoveAll(dir) })
	}
	var missing []string
	for _, p := range pkgs {
		if built[p] == "" {
			missing = append(missing, p)
		}
	}
	if len(missing) > 0 {
		// One `go build` for all: it links them in parallel.
		args := append([]string{"build", "-o", buildDir + string(filepath.Separator)}, missing...)
		cmd := exec.Command("go", args...)
		cmd.Dir = Root()
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build %s: %v\n%s", strings.Join(missing, " "), err, out)
		}
		for _, p := range missing {
			built[p] = filepath.Join(buildDir, filepath.Base(p))
		}
	}
	out := make([]string, len(pkgs))
	for i, p := range pkgs {
		out[i] = built[p]
	}
	return out
}

// Root is the module's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

var (
	pythonOnce sync.Once
	pythonPath string
)

// Python is the real interpreter behind `python3` (a pyenv shim costs
// hundreds of milliseconds per start); without one the test is Unavailable.
func Python(t testing.TB) string {
	t.Helper()
	pythonOnce.Do(func() {
		out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
		if err == nil {
			pythonPath = strings.TrimSpace(string(out))
		}
	})
	if pythonPath == "" {
		testenv.Unavailable(t, "python3 is not installed (the stand-in fastsdcpu needs it)")
	}
	return pythonPath
}

// FakeFastSDCPU copies the worker's stand-in fastsdcpu checkout
// (worker/testdata/fastsdcpu: fastsdcpu's CLI and modules, with their names
// and signatures) into dir, or a new directory when dir is "", and returns
// it: one checkout per worker, since results/ serves one job at a time.
func FakeFastSDCPU(t testing.TB, dir string) string {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	src := filepath.Join(Root(), "worker", "testdata", "fastsdcpu")
	if err := os.CopyFS(dir, os.DirFS(src)); err != nil {
		t.Fatalf("the stand-in fastsdcpu: %v", err)
	}
	return dir
}

// FakeEnv is the worker's environment for the stand-in fastsdcpu in dir.
func FakeEnv(t testing.TB, dir string) []string {
	t.Helper()
	return []string{"GENERATOR=fastsdcpu", "FASTSDCPU_DIR=" + dir, "PYTHON=" + Python(t), "DEVICE=cpu"}
}
