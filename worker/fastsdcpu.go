package worker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// FastSDCPU runs the fastsdcpu CLI (docs/design.md §3) once per job:
//
//	PYTHON src/app.py --prompt=VALUE --number_of_images=N [--flag=VALUE ...]
//
// in its checkout, as an argv list (never a shell), in its own process group.
// fastsdcpu has no output-directory flag: it writes <its uuid>-<i>.png and
// <its uuid>.json into <Dir>/results, so one checkout serves one job at a
// time, and the files of this run are told apart from leftovers by a
// snapshot of the directory taken before the run.
type FastSDCPU struct {
	Dir           string // the checkout: src/app.py and results/
	Python        string // interpreter, "python3" when empty
	Device        string // DEVICE for fastsdcpu: cpu, GPU, cuda...
	SafetyChecker bool   // --use_safety_checker
	LCMModelID    string // --lcm_model_id when set
	// CleanLeftovers deletes files of earlier, crashed runs from results/
	// (the worker owns its checkout); off for a person's own checkout.
	CleanLeftovers bool
	Env            []string // extra environment, after the process's own
}

// TailBytes is how much of the CLI's stderr a failure reason keeps.
const TailBytes = 2048

// Name is "fastsdcpu".
func (f *FastSDCPU) Name() string { return "fastsdcpu" }

// Check tells whether Dir looks like a fastsdcpu checkout.
func (f *FastSDCPU) Check() error {
	app := filepath.Join(f.Dir, "src", "app.py")
	if _, err := os.Stat(app); err != nil {
		return fmt.Errorf("worker: FASTSDCPU_DIR=%s is not a fastsdcpu checkout (no src/app.py); "+
			"point FASTSDCPU_DIR at one, or set GENERATOR=placeholder", f.Dir)
	}
	return nil
}

// Args is the argv after the interpreter: every value in --flag=VALUE form
// so a prompt that starts with "-" is never read as a flag, and the optional
// parameters only when the job sets them (fastsdcpu's defaults otherwise).
func (f *FastSDCPU) Args(m job.Message) []string {
	args := []string{
		filepath.Join("src", "app.py"),
		"--prompt=" + m.Prompt,
		"--number_of_images=" + strconv.Itoa(m.Count),
	}
	if f.SafetyChecker {
		args = append(args, "--use_safety_checker")
	}
	if f.LCMModelID != "" {
		args = append(args, "--lcm_model_id="+f.LCMModelID)
	}
	if m.NegativePrompt != "" {
		args = append(args, "--negative_prompt="+m.NegativePrompt)
	}
	if m.Seed != nil {
		args = append(args, "--seed="+strconv.FormatInt(*m.Seed, 10))
	}
	if m.Width != 0 {
		args = append(args, "--image_width="+strconv.Itoa(m.Width))
	}
	if m.Height != 0 {
		args = append(args, "--image_height="+strconv.Itoa(m.Height))
	}
	if m.Steps != 0 {
		args = append(args, "--inference_steps="+strconv.Itoa(m.Steps))
	}
	if m.GuidanceScale != nil {
		args = append(args, "--guidance_scale="+strconv.FormatFloat(*m.GuidanceScale, 'f', -1, 64))
	}
	return args
}

// checkouts serializes runs on one checkout within this process: results/
// is shared, and the snapshot diff is only sound for one run at a time.
var checkouts sync.Map // results dir -> *sync.Mutex

// Generate runs the CLI and moves this run's files into dir as
// <m.ID>-<n>.png. ctx's end (the job timeout or a shutdown) kills the whole
// process group.
func (f *FastSDCPU) Generate(ctx context.Context, m job.Message, dir string) (Result, error) {
	results := filepath.Join(f.Dir, "results")
	mu, _ := checkouts.LoadOrStore(results, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()

	if err := os.MkdirAll(results, 0o755); err != nil {
		return Result{}, fmt.Errorf("fastsdcpu: results dir: %w", err)
	}
	before, err := snapshot(ctx, results, f.CleanLeftovers)
	if err != nil {
		return Result{}, err
	}
	stdout, stderr := &tail{max: TailBytes}, &tail{max: TailBytes}
	start := time.Now()
	// fastsdcpu prints "Pipeline : ..." once its init has built the
	// pipeline: what comes before is the model's load (Python's imports
	// included), what comes after is generation.
	loaded := &lineWatch{prefix: "Pipeline : ", w: stdout, seen: func() { reportPhase(ctx, job.PhaseGenerating) }}
	if err := f.run(ctx, m, loaded, stderr); err != nil {
		removeNew(results, before) // a failed run's partial output
		return Result{}, err
	}
	end := time.Now()
	res, err := collect(results, before, m, dir)
	if err != nil {
		// fastsdcpu reports some errors on stdout and still exits 0
		// ("Error : You need to provide a prompt").
		return Result{}, fmt.Errorf("fastsdcpu exited 0 but %w; stdout: %s", err, stdout.String())
	}
	res.Generation = end.Sub(start)
	if at := loaded.at(); !at.IsZero() {
		res.ModelLoad, res.Generation = at.Sub(start), end.Sub(at)
	}
	return res, nil
}

// NeedsLoad is true: every run of the CLI loads the model.
func (f *FastSDCPU) NeedsLoad(job.Message) bool { return true }

// snapshot lists results/ before a run. Output files found there are
// leftovers of a run that crashed: never this job's; deleted when the
// worker owns the checkout (clean).
func snapshot(ctx context.Context, results string, clean bool) (map[string]bool, error) {
	entries, err := os.ReadDir(results)
	if err != nil {
		return nil, fmt.Errorf("fastsdcpu: list results: %w", err)
	}
	seen := make(map[string]bool, len(entries))
	var removed int
	for _, e := range entries {
		if clean && outputRe.MatchString(e.Name()) {
			if os.Remove(filepath.Join(results, e.Name())) == nil {
				removed++
				continue
			}
		}
		seen[e.Name()] = true
	}
	if removed > 0 {
		loggerFrom(ctx).Info("removed leftovers of an earlier run", "dir", results, "files", removed)
	}
	return seen, nil
}

// run starts the CLI and waits for it. A non-zero exit, a signal or the end
// of ctx is an error carrying the tail of stderr.
func (f *FastSDCPU) run(ctx context.Context, m job.Message, stdout *lineWatch, stderr *tail) error {
	python := f.Python
	if python == "" {
		python = "python3"
	}
	cmd := exec.CommandContext(ctx, python, f.Args(m)...)
	cmd.Dir = f.Dir
	cmd.Env = append(os.Environ(), f.Env...)
	// Unbuffered, so that "Pipeline : " arrives when it is printed.
	cmd.Env = append(cmd.Env, "DEVICE="+f.Device, "PYTHONUNBUFFERED=1")
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = procAttr()
	// The CLI may spawn helpers (pip, torch compile workers): end the whole
	// group, not just python.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// A grandchild holding the pipes open must not hang Wait after a kill.
	cmd.WaitDelay = 5 * time.Second
	start := time.Now()
	err := cmd.Run()
	if cmd.Process != nil {
		// Helpers the CLI left behind go with it, on success too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if err == nil {
		return nil
	}
	why := err.Error()
	if ctx.Err() != nil {
		why = fmt.Sprintf("stopped after %s (%v); process group killed", time.Since(start).Round(time.Millisecond), context.Cause(ctx))
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) || ctx.Err() != nil {
		msg := stderr.String()
		if msg == "" {
			msg = stdout.w.String()
		}
		return fmt.Errorf("fastsdcpu %s: %s", why, pythonReason(msg))
	}
	return fmt.Errorf("fastsdcpu: start %s: %w", python, err)
}
