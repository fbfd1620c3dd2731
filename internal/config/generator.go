package config

import (
	"os"
	"time"
)

// The generators a worker can run (GENERATOR).
const (
	GeneratorCLI         = "fastsdcpu"      // fastsdcpu's CLI, one Python process (and model load) per job
	GeneratorWarm        = "fastsdcpu-warm" // one long-lived Python driver that keeps the model loaded
	GeneratorPlaceholder = "placeholder"    // no model: a deterministic picture, for trials and load tests
)

// Generator is the configuration of the image generator. The worker
// program, `worker generate` and the webui's embedded worker read it with
// the same rules, and none of them needs a queue or a store for it.
type Generator struct {
	// Name is GENERATOR. Empty means "choose": fastsdcpu when FastSDCPUDir
	// is a checkout, else the placeholder (`worker generate`, the embedded
	// mode); the worker program defaults to fastsdcpu instead.
	Name             string
	FastSDCPUDir     string        // FASTSDCPU_DIR: the checkout
	Python           string        // PYTHON
	Device           string        // DEVICE, passed to fastsdcpu unchanged
	UseSafetyChecker bool          // USE_SAFETY_CHECKER
	LCMModelID       string        // LCM_MODEL_ID: empty = fastsdcpu's default
	JobTimeout       time.Duration // JOB_TIMEOUT: one job's generation (and upload) budget
}

func (r *reader) generator(defName string) Generator {
	g := Generator{
		Name:             r.str("GENERATOR", defName),
		FastSDCPUDir:     r.str("FASTSDCPU_DIR", "/app"),
		Python:           r.str("PYTHON", "python3"),
		Device:           r.str("DEVICE", "cpu"),
		UseSafetyChecker: r.boolean("USE_SAFETY_CHECKER", true),
		LCMModelID:       r.str("LCM_MODEL_ID", ""),
		JobTimeout:       r.duration("JOB_TIMEOUT", 10*time.Minute, time.Second, 24*time.Hour),
	}
	switch g.Name {
	case GeneratorCLI, GeneratorWarm, GeneratorPlaceholder:
	case "":
		if defName != "" {
			g.Name = defName
		}
	default:
		r.fail("GENERATOR", "want %s, %s or %s, got %q", GeneratorCLI, GeneratorWarm, GeneratorPlaceholder, g.Name)
	}
	return g
}

// LoadLocalWorker reads the worker's own settings (the generator, the mode,
// the time and job limits) but not the queue's and the store's: for a
// worker that is handed its queue and store (the webui's embedded mode) or
// needs none (`worker generate`). GENERATOR defaults to defGenerator ("" =
// choose).
func LoadLocalWorker(getenv func(string) string, defGenerator string) (Worker, error) {
	r := newReader(getenv)
	c := r.worker(defGenerator)
	c.Limits = r.limits() // the job limits the webui checks too
	c.described = r.describe()
	return c, r.err()
}

func (r *reader) worker(defGenerator string) Worker {
	host, _ := os.Hostname()
	c := Worker{
		Generator:        r.generator(defGenerator),
		ExitAfterOneTask: r.boolean("EXIT_AFTER_ONE_TASK", true),
		MaxJobsPerPod:    r.integer("MAX_JOBS_PER_POD", 1, 1, 10000),
		EmptyQueueWait:   r.duration("EMPTY_QUEUE_WAIT", 30*time.Second, 0, time.Hour),
		ShutdownGrace:    r.duration("SHUTDOWN_GRACE", 10*time.Minute, 0, 24*time.Hour),
		MetricsAddr:      r.str("METRICS_ADDR", ":8080"),
		WorkerName:       r.str("WORKER_NAME", host),
	}
	if c.MetricsAddr != "off" {
		r.checkAddr("METRICS_ADDR", c.MetricsAddr)
	}
	return c
}
