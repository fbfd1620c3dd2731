package worker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/stacktest"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// childEnv makes the test binary run the worker program instead of tests:
// the integration tests start the real program (the same Run that
// cmd/worker calls) as a process they can signal and kill -9, without a
// separate build step.
const childEnv = "SDKEDA_WORKER_TEST_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		if err := Run(context.Background(), os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	testenv.Main(m)
}

// proc is a worker process started by a test: the real program, run by
// stacktest from this test binary.
type proc struct {
	*stacktest.Proc
	t   testing.TB
	out procLog
}

// procLog is a process's output so far.
type procLog struct{ p *stacktest.Proc }

func (l procLog) String() string { return l.p.Log() }

// startProc runs the worker program with env (NAME=value) added.
func startProc(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	sp := stacktest.Start(t, stacktest.Spec{Name: name, Bin: os.Args[0], Args: args,
		Env: append([]string{childEnv + "=1", "WORKER_NAME=" + name}, env...)})
	return &proc{Proc: sp, t: t, out: procLog{sp}}
}

// wait waits for the exit and returns its error (nil for status 0).
func (p *proc) wait(within time.Duration) error {
	p.t.Helper()
	return p.Wait(p.t, within)
}

func (p *proc) running() bool { return p.Running() }

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.Signal(sig); err != nil {
		p.t.Fatalf("signal %s: %v", p.Name, err)
	}
}

// waitLog waits until the output contains s.
func (p *proc) waitLog(s string) {
	p.t.Helper()
	p.WaitLog(p.t, s, 90*time.Second)
}

type syncBuffer = testenv.Buffer

// TestGenerateWritesImagesAndMetadata runs `worker generate` in-process.
func TestGenerateWritesImagesAndMetadata(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dir, generator, want string
	}{
		{"placeholder without a checkout", t.TempDir(), "", "generator: placeholder"},
		{"fastsdcpu with a checkout", fakeCheckout(t), "", "generator: fastsdcpu ("},
		{"the warm generator asked", fakeCheckout(t), "fastsdcpu-warm", "generator: fastsdcpu-warm ("},
	} {
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		env := map[string]string{"FASTSDCPU_DIR": tc.dir, "PYTHON": python(t), "GENERATOR": tc.generator}
		err := Run(context.Background(), []string{"generate", "--prompt", "-rf green dog", "--count", "2",
			"--seed", "5", "--out", out}, func(k string) string { return env[k] }, &stdout, &stderr)
		if err != nil {
			t.Fatalf("%s: %v (stderr %s)", tc.name, err, stderr.String())
		}
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("%s: stderr %q, want %q", tc.name, stderr.String(), tc.want)
		}
		files, _ := filepath.Glob(filepath.Join(out, "*"))
		printed := strings.Fields(stdout.String())
		if len(files) != 3 || len(printed) != 3 {
			t.Fatalf("%s: files %v, printed %v", tc.name, files, printed)
		}
		meta, err := os.ReadFile(printed[2])
		if err != nil || !strings.Contains(string(meta), `"prompt": "-rf green dog"`) || !strings.Contains(string(meta), `"job_id"`) ||
			!strings.Contains(string(meta), `"seed": 5,`) {
			t.Errorf("%s: metadata %s (%v)", tc.name, meta, err)
		}
	}
}

func TestGenerateRejectsAnInvalidJob(t *testing.T) {
	t.Parallel()
	var stdout, stderr bytes.Buffer
	err := Run(context.Background(), []string{"generate", "--prompt", "x", "--count", "9", "--out", t.TempDir()},
		func(string) string { return "" }, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "count") {
		t.Fatalf("got %v", err)
	}
}
