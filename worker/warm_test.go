package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
)

// The warm generator against the stand-in fastsdcpu tree, driven by the
// real tweaks/fastsdcpu_driver.py under Debian's Python; no queue, no store.

// warmFixture is a warm generator on a checkout of its own, with the
// stand-in's pipeline builds logged.
type warmFixture struct {
	*warmLog
	t *testing.T
	w *Warm
}

func newWarm(t *testing.T, env ...string) *warmFixture {
	t.Helper()
	f := &warmFixture{warmLog: newWarmLog(t), t: t}
	cfg := config.Generator{Name: config.GeneratorWarm, FastSDCPUDir: fakeCheckout(t), Python: python(t),
		Device: "cpu", UseSafetyChecker: true, JobTimeout: time.Minute}
	f.w = NewWarm(cfg, true)
	f.w.env = append(f.standIn(), env...)
	t.Cleanup(func() { f.w.Close() })
	return f
}

func (f *warmFixture) generate(ctx context.Context, m job.Message) (Result, error) {
	if m.ID == "" {
		m.ID = job.NewID()
	}
	if m.Count == 0 {
		m.Count = 1
	}
	return f.w.Generate(ctx, m, f.t.TempDir())
}

func TestWarmLoadsTheModelOnceForManyJobs(t *testing.T) {
	t.Parallel()
	f := newWarm(t, "FAKE_LOAD_MS=300")
	if f.w.Ready() {
		t.Fatal("ready before Start")
	}
	if err := f.w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if !f.w.Ready() || f.w.NeedsLoad(job.Message{Prompt: "x"}) {
		t.Fatal("not ready after Start")
	}
	var pids []int
	for i := range 3 {
		seed := int64(100 + i)
		res, err := f.generate(context.Background(), job.Message{Prompt: "a lighthouse " + strconv.Itoa(i), Count: 2, Seed: &seed})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Images) != 2 || res.ModelLoad != 0 || res.Generation <= 0 {
			t.Errorf("job %d: %d images, load %s, generation %s", i, len(res.Images), res.ModelLoad, res.Generation)
		}
		if res.Metadata["seed"] != json.Number(strconv.FormatInt(seed, 10)) || res.Metadata["use_seed"] != true {
			t.Errorf("job %d: seed %v use_seed %v", i, res.Metadata["seed"], res.Metadata["use_seed"])
		}
		pids = append(pids, f.lastPid())
	}
	if b := f.builds(); len(b) != 1 {
		t.Errorf("pipeline built %d times (%v), want once", len(b), b)
	}
	if pids[0] != pids[1] || pids[1] != pids[2] {
		t.Errorf("jobs ran in processes %v, want one", pids)
	}
}

// The warm generator writes what the CLI writes for the same job: the same
// metadata JSON, the same pictures (the stand-in draws from the seed).
func TestWarmWritesWhatTheCLIWrites(t *testing.T) {
	t.Parallel()
	f := newWarm(t)
	cli := &FastSDCPU{Dir: fakeCheckout(t), Python: python(t), Device: "cpu", SafetyChecker: true, CleanLeftovers: true}
	seed, guidance := int64(42), 7.5
	m := job.Message{ID: jobID, Prompt: `-rf "quoted" * $(x)`, Count: 2, Seed: &seed, GuidanceScale: &guidance,
		Width: 320, Height: 256, Steps: 2, NegativePrompt: "--blurry"}
	want, err := cli.Generate(context.Background(), m, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.generate(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Metadata, want.Metadata) {
		t.Errorf("metadata:\n warm %v\n  cli %v", got.Metadata, want.Metadata)
	}
	for i := range want.Images {
		a, _ := os.ReadFile(want.Images[i])
		b, _ := os.ReadFile(got.Images[i])
		if len(a) == 0 || !bytes.Equal(a, b) {
			t.Errorf("image %d differs (%d and %d bytes)", i+1, len(a), len(b))
		}
	}
	if left, _ := filepath.Glob(filepath.Join(f.w.cfg.FastSDCPUDir, "results", "*")); len(left) != 0 {
		t.Errorf("files left in results/: %v", left)
	}
}

// A job that asks for other model settings: fastsdcpu's init builds the
// pipeline again, once, and the job reports the load.
func TestWarmRebuildsThePipelineForAnotherModel(t *testing.T) {
	t.Parallel()
	f := newWarm(t, "FAKE_LOAD_MS=200")
	f.w.modelOf = func(m job.Message) map[string]any {
		args := f.w.modelArgs(m)
		if strings.HasPrefix(m.Prompt, "other:") {
			args["lcm_model_id"] = "other/model"
		}
		return args
	}
	if err := f.w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	other := job.Message{Prompt: "other: a fox"}
	if !f.w.NeedsLoad(other) || f.w.NeedsLoad(job.Message{Prompt: "a fox"}) {
		t.Fatal("NeedsLoad does not tell the models apart")
	}
	var phases []job.Phase
	ctx := withPhases(context.Background(), func(p job.Phase) { phases = append(phases, p) })
	res, err := f.generate(ctx, other)
	if err != nil {
		t.Fatal(err)
	}
	if res.ModelLoad < 150*time.Millisecond || res.Metadata["lcm_model_id"] != "other/model" {
		t.Errorf("load %s, model %v", res.ModelLoad, res.Metadata["lcm_model_id"])
	}
	if len(phases) != 1 || phases[0] != job.PhaseGenerating {
		t.Errorf("phases reported: %v", phases)
	}
	res, err = f.generate(context.Background(), job.Message{Prompt: "other: a hare"})
	if err != nil || res.ModelLoad != 0 {
		t.Errorf("the same model again: load %s, %v", res.ModelLoad, err)
	}
	if got := f.models(); !slices.Equal(got, []string{"stabilityai/sd-turbo", "other/model"}) {
		t.Errorf("builds %v", got)
	}
}

// A Python error in a job fails that job with the exception first; the
// driver and its model stay.
func TestWarmJobErrorKeepsTheDriver(t *testing.T) {
	t.Parallel()
	f := newWarm(t, "FAKE_SD_FAIL=prompt:poison")
	if err := f.w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	_, err := f.generate(context.Background(), job.Message{Prompt: "poison"})
	if err == nil || !strings.HasPrefix(err.Error(), "fastsdcpu-warm: RuntimeError: fake generator failure for this prompt\n") ||
		!strings.Contains(err.Error(), "Traceback") {
		t.Fatalf("got %v", err)
	}
	pid := f.lastPid()
	if _, err := f.generate(context.Background(), job.Message{Prompt: "fine"}); err != nil {
		t.Fatal(err)
	}
	if f.lastPid() != pid || len(f.builds()) != 1 || !f.w.Ready() {
		t.Errorf("the driver did not stay: pids %d/%d, builds %v", pid, f.lastPid(), f.builds())
	}
	if left, _ := filepath.Glob(filepath.Join(f.w.cfg.FastSDCPUDir, "results", "*")); len(left) != 0 {
		t.Errorf("files left in results/: %v", left)
	}
}

// kill -9 of the driver in the middle of a job: the job fails with how the
// driver ended; the generator is not ready until started again, and a new
// driver loads the model anew.
func TestWarmDriverKilledMidJob(t *testing.T) {
	t.Parallel()
	g := newGate(t, "generate")
	f := newWarm(t, "FAKE_SD_GATE="+g.path)
	if err := f.w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() {
		_, err := f.generate(context.Background(), job.Message{Prompt: "slow"})
		errc <- err
	}()
	pid := g.waiter() // the driver, in the job's generate call
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err := <-errc
	if err == nil || !strings.Contains(err.Error(), "fastsdcpu-warm driver ended: signal: killed during the job") {
		t.Fatalf("got %v", err)
	}
	if f.w.Ready() {
		t.Error("ready with a dead driver")
	}
	g.open()
	if err := f.w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := f.generate(context.Background(), job.Message{Prompt: "after"}); err != nil {
		t.Fatal(err)
	}
	if f.lastPid() == pid || len(f.builds()) != 2 {
		t.Errorf("pid %d after %d, builds %v", f.lastPid(), pid, f.builds())
	}
}

// A job that hangs: its context's end kills the driver's whole process
// group (the helpers it started too).
func TestWarmHangKillsTheProcessGroup(t *testing.T) {
	t.Parallel()
	child := filepath.Join(t.TempDir(), "child")
	f := newWarm(t, "FAKE_SD_FAIL=hang:stuck", "FAKE_SD_CHILD_PIDFILE="+child)
	if err := f.w.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeoutCause(context.Background(), time.Second, errTestTimeout)
	defer cancel()
	_, err := f.generate(ctx, job.Message{Prompt: "stuck"})
	if err == nil || !strings.Contains(err.Error(), "process group was killed") || !strings.Contains(err.Error(), errTestTimeout.Error()) {
		t.Fatalf("got %v", err)
	}
	b, _ := os.ReadFile(child)
	pid, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	for _, p := range []int{pid, f.lastPid()} {
		waitFor(t, "process "+strconv.Itoa(p)+" to end", func() bool { return p != 0 && gone(p) })
	}
	if f.w.Ready() {
		t.Error("ready after the kill")
	}
}

var errTestTimeout = &testTimeout{}

type testTimeout struct{}

func (*testTimeout) Error() string { return "job timeout of 1s (JOB_TIMEOUT)" }

// A model that cannot load: Start fails with the exception; nothing runs.
func TestWarmLoadFailure(t *testing.T) {
	t.Parallel()
	f := newWarm(t, "FAKE_SD_FAIL=load")
	err := f.w.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "loading the model failed: OSError: fake: no weights") {
		t.Fatalf("got %v", err)
	}
	if f.w.Ready() {
		t.Error("ready without a model")
	}
}

// SIGTERM while the model loads: Start returns at once and the driver is gone.
func TestWarmStopDuringTheLoad(t *testing.T) {
	t.Parallel()
	f := newWarm(t, "FAKE_LOAD_MS=60000")
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.w.Start(ctx) }()
	waitFor(t, "the load to begin", func() bool { return f.lastPid() != 0 })
	begin := time.Now()
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("Start succeeded")
	}
	if d := time.Since(begin); d > 10*time.Second {
		t.Errorf("Start took %s to give up", d)
	}
	if f.w.Ready() || len(f.builds()) != 0 {
		t.Errorf("ready %v, builds %v", f.w.Ready(), f.builds())
	}
	if pid := f.lastPid(); !gone(pid) {
		t.Errorf("the driver %d outlived the stop", pid)
	}
}
