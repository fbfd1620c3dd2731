package worker

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

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

// proc is a worker process started by a test.
type proc struct {
	t      testing.TB
	name   string
	cmd    *exec.Cmd
	out    *syncBuffer
	exited chan struct{}
	err    error
}

// startProc runs the worker program with env (NAME=value) added.
func startProc(t testing.TB, name string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "WORKER_NAME="+name)
	cmd.Env = append(cmd.Env, env...)
	p := &proc{t: t, name: name, cmd: cmd, out: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = p.out, p.out
	// Dies with the test binary, like the servers of testenv.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start worker: %v", err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
		if t.Failed() || os.Getenv("SDKEDA_TEST_WORKER_LOGS") != "" {
			t.Logf("--- output of %s:\n%s", name, p.out.String())
		}
	})
	return p
}

// wait waits for the exit and returns its error (nil for status 0).
func (p *proc) wait(within time.Duration) error {
	p.t.Helper()
	select {
	case <-p.exited:
		return p.err
	case <-time.After(within):
		p.t.Fatalf("%s did not exit within %s", p.name, within)
		return nil
	}
}

func (p *proc) running() bool {
	select {
	case <-p.exited:
		return false
	default:
		return true
	}
}

func (p *proc) signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal %s: %v", p.name, err)
	}
}

// waitLog waits until the output contains s.
func (p *proc) waitLog(s string) {
	p.t.Helper()
	waitFor(p.t, fmt.Sprintf("%q in the log of %s", s, p.name), func() bool {
		return strings.Contains(p.out.String(), s)
	})
}

type syncBuffer = testenv.Buffer

// TestGenerateWritesImagesAndMetadata runs `worker generate` in-process.
func TestGenerateWritesImagesAndMetadata(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, dir, want string
	}{
		{"placeholder without a checkout", t.TempDir(), "generator: placeholder"},
		{"fastsdcpu with a checkout", fakeCheckout(t), "generator: fastsdcpu"},
	} {
		out := t.TempDir()
		var stdout, stderr bytes.Buffer
		env := map[string]string{"FASTSDCPU_DIR": tc.dir, "PYTHON": python(t)}
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
		if err != nil || !strings.Contains(string(meta), `"prompt": "-rf green dog"`) || !strings.Contains(string(meta), `"job_id"`) {
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
