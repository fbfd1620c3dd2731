package deploy

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// tweaks/prefetch_models.py fetches what fastsdcpu will load for an
// LCM_MODEL_ID, or stops the build with one line: its Python tests run it as
// a process against stand-ins for diffusers and huggingface_hub (Debian's
// python3 has neither, and the build machine's network is not the tests').
func TestPrefetchModels(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if ci := strings.ToLower(os.Getenv("CI")); ci == "true" || ci == "1" {
			t.Fatal("python3 is missing (CI=true: a missing tool is a failure)")
		}
		t.Skip("python3 is missing")
	}
	cmd := exec.Command(py, "-B", "-m", "unittest", "-v", "test_prefetch_models")
	cmd.Dir = filepath.Join(repoRoot(t), "tweaks")
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 -m unittest test_prefetch_models: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "OK") {
		t.Fatalf("unexpected unittest output:\n%s", out)
	}
}
