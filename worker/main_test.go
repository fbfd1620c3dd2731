package worker

import (
	"bytes"
	"context"
	"fmt"
	"io"
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

// The worker logs its effective configuration at start, as the webui does:
// defaults included, the MinIO secret and the broker's password redacted.
// The broker is not there: the line comes before the worker waits for it.
func TestWorkerLogsItsConfigurationRedacted(t *testing.T) {
	t.Parallel()
	env := map[string]string{
		"AMQP_URL":       fmt.Sprintf("amqp://user:amqp-hunter2@127.0.0.1:%d/", testenv.FreePort(t)),
		"MINIO_ENDPOINT": "127.0.0.1:1", "MINIO_ACCESS_KEY": "admin", "MINIO_SECRET_KEY": "s3cr3t-value",
		"GENERATOR": "placeholder", "METRICS_ADDR": "off", "LOG_FORMAT": "text",
	}
	var stderr syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, nil, func(k string) string { return env[k] }, io.Discard, &stderr) }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "generator chosen") && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	log := stderr.String()
	for _, want := range []string{"worker starting", "MINIO_SECRET_KEY=<redacted>", "AMQP_URL=amqp://user:xxxxx@127.0.0.1:",
		"QUEUE_NAME=tasks", "SHUTDOWN_GRACE=10m0s", "MAX_JOBS_PER_POD=1", "GENERATOR=placeholder"} {
		if !strings.Contains(log, want) {
			t.Errorf("the start log lacks %q:\n%s", want, log)
		}
	}
	if strings.Contains(log, "s3cr3t-value") || strings.Contains(log, "amqp-hunter2") {
		t.Errorf("a secret is logged:\n%s", log)
	}
}
