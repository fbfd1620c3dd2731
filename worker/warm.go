package worker

import (
	"context"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
)

// Warm is the fastsdcpu-warm generator: one long-lived Python process, the
// driver (tweaks/fastsdcpu_driver.py), loads fastsdcpu's model once and
// then takes jobs one at a time, so that only the first job of a process
// (or one that asks for other model settings) pays the load. It writes into
// <checkout>/results exactly what the CLI writes, and the worker collects,
// renames and uploads it by the same path as the CLI's.
//
// Supervision: Start starts the driver and has it build the pipeline (the
// worker is ready once it returns); a driver that dies during a job fails
// that job (a generator failure, like a CLI exit ≠ 0) and Ready turns false,
// so the worker starts a fresh one before its next job; a job that outlives
// its context (JOB_TIMEOUT, the end of the shutdown grace) has the driver's
// whole process group killed, likewise.
type Warm struct {
	cfg config.Generator
	own bool     // the worker owns results/: leftovers of crashed runs are deleted
	env []string // extra environment (tests)

	mu      sync.Mutex // one start or job at a time
	d       *driver
	model   map[string]any // the model settings the driver's pipeline was built with
	modelOf func(job.Message) map[string]any
}

// NewWarm makes the warm generator; nothing runs until Start or Generate.
func NewWarm(cfg config.Generator, ownCheckout bool) *Warm {
	w := &Warm{cfg: cfg, own: ownCheckout}
	w.modelOf = w.modelArgs
	return w
}

// Name is "fastsdcpu-warm".
func (w *Warm) Name() string { return config.GeneratorWarm }

// stopGrace is how long a driver asked to end may take before its group is
// killed.
const stopGrace = 5 * time.Second

// modelArgs are the flags that decide which pipeline fastsdcpu builds: the
// worker's, the same for every job.
func (w *Warm) modelArgs(job.Message) map[string]any {
	args := map[string]any{"use_safety_checker": w.cfg.UseSafetyChecker}
	if w.cfg.LCMModelID != "" {
		args["lcm_model_id"] = w.cfg.LCMModelID
	}
	return args
}

// jobArgs are the driver's arguments of one job: what the CLI would get
// as flags (FastSDCPU.Args), by their argparse names.
func (w *Warm) jobArgs(m job.Message) map[string]any {
	args := maps.Clone(w.modelOf(m))
	args["prompt"] = m.Prompt
	args["number_of_images"] = m.Count
	if m.NegativePrompt != "" {
		args["negative_prompt"] = m.NegativePrompt
	}
	if m.Seed != nil {
		args["seed"] = *m.Seed
	}
	if m.Width != 0 {
		args["image_width"] = m.Width
	}
	if m.Height != 0 {
		args["image_height"] = m.Height
	}
	if m.Steps != 0 {
		args["inference_steps"] = m.Steps
	}
	if m.GuidanceScale != nil {
		args["guidance_scale"] = *m.GuidanceScale
	}
	return args
}

// Ready reports whether a driver runs with its pipeline built.
func (w *Warm) Ready() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.d != nil && w.d.alive() && w.model != nil
}

// NeedsLoad reports whether m's job must build a pipeline first: there is
// no driver, or it was built for other model settings.
func (w *Warm) NeedsLoad(m job.Message) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.d == nil || !w.d.alive() || !maps.Equal(w.model, w.modelOf(m))
}

// Start starts a driver, if none runs, and has it build the pipeline for
// the worker's model settings. ctx's end (SIGTERM) kills a load under way.
func (w *Warm) Start(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, err := w.startLocked(ctx)
	return err
}

// startLocked returns how long the start and the load took (0 when a ready
// driver was there).
func (w *Warm) startLocked(ctx context.Context) (time.Duration, error) {
	if w.d != nil && w.d.alive() && w.model != nil {
		return 0, nil
	}
	w.closeLocked()
	start := time.Now()
	env := append(os.Environ(), w.env...)
	env = append(env, "DEVICE="+w.cfg.Device)
	d, err := startDriver(w.python(), w.cfg.FastSDCPUDir, env)
	if err != nil {
		return 0, err
	}
	model := w.modelOf(job.Message{})
	lctx, cancel := context.WithTimeoutCause(ctx, w.cfg.JobTimeout,
		fmt.Errorf("model load longer than JOB_TIMEOUT=%s", w.cfg.JobTimeout))
	defer cancel()
	if err := d.send(driverRequest{Op: "load", Args: model}); err != nil {
		return 0, err
	}
	r, err := d.next(lctx, start, "while loading the model")
	if err == nil && r.Event != "loaded" {
		err = fmt.Errorf("fastsdcpu-warm: loading the model failed: %s", r.reason(d))
	}
	if err != nil {
		d.kill()
		<-d.exited
		return 0, err
	}
	w.d, w.model = d, model
	loggerFrom(ctx).Info("fastsdcpu-warm: model loaded", "seconds", roundSeconds(time.Since(start)),
		"load_seconds", r.Seconds, "pid", d.cmd.Process.Pid)
	return time.Since(start), nil
}

func (w *Warm) python() string {
	if w.cfg.Python == "" {
		return "python3"
	}
	return w.cfg.Python
}

// Close stops the driver: EOF on its stdin, its group killed after a grace.
func (w *Warm) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closeLocked()
	return nil
}

func (w *Warm) closeLocked() {
	if w.d != nil {
		w.d.stop(stopGrace)
	}
	w.d, w.model = nil, nil
}

// Generate runs one job in the driver and moves its files into dir as
// <m.ID>-<n>.png. A job that finds no driver ready starts one and pays the
// load itself.
func (w *Warm) Generate(ctx context.Context, m job.Message, dir string) (Result, error) {
	results := filepath.Join(w.cfg.FastSDCPUDir, "results")
	mu, _ := checkouts.LoadOrStore(results, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	w.mu.Lock()
	defer w.mu.Unlock()

	start := time.Now()
	load, err := w.startLocked(ctx)
	if err != nil {
		return Result{}, err
	}
	if load > 0 {
		reportPhase(ctx, job.PhaseGenerating)
	}
	if err := os.MkdirAll(results, 0o755); err != nil {
		return Result{}, fmt.Errorf("fastsdcpu-warm: results dir: %w", err)
	}
	before, err := snapshot(ctx, results, w.own)
	if err != nil {
		return Result{}, err
	}
	res, err := w.run(ctx, m, start)
	if err != nil {
		removeNew(results, before) // a failed run's partial output
		return Result{}, err
	}
	out, err := collect(results, before, m, dir)
	if err != nil {
		return Result{}, fmt.Errorf("fastsdcpu-warm finished the job but %w", err)
	}
	out.ModelLoad, out.Generation = res.ModelLoad+load, res.Generation
	return out, nil
}

// run sends the job and follows the driver's replies to its end.
func (w *Warm) run(ctx context.Context, m job.Message, start time.Time) (Result, error) {
	d := w.d
	model := w.modelOf(m)
	d.stdout.reset()
	d.stderr.reset()
	if err := d.send(driverRequest{Op: "generate", ID: m.ID, Args: w.jobArgs(m)}); err != nil {
		w.d, w.model = nil, nil
		return Result{}, err
	}
	for {
		r, err := d.next(ctx, start, "during the job")
		if err != nil {
			w.d, w.model = nil, nil // killed or dead: the next job gets a fresh driver
			return Result{}, err
		}
		switch r.Event {
		case "generating": // fastsdcpu's init is done: the pipeline is the job's
			w.model = model
			reportPhase(ctx, job.PhaseGenerating)
		case "done":
			load := seconds(r.LoadSeconds)
			return Result{ModelLoad: load, Generation: seconds(r.Seconds) - load}, nil
		case "error":
			return Result{}, fmt.Errorf("fastsdcpu-warm: %s", r.reason(d))
		}
	}
}

// reason is the failure text of an error reply: the traceback's tail, else
// the error line, else the driver's stderr.
func (r driverReply) reason(d *driver) string {
	switch {
	case r.Traceback != "":
		return pythonReason(r.Traceback)
	case r.Error != "":
		return r.Error
	}
	return pythonReason(d.stderr.String())
}

func seconds(s float64) time.Duration {
	return time.Duration(s * float64(time.Second))
}
