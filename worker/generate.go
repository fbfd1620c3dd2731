package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/store"
)

// runGenerate is `worker generate`: one job straight into a directory, no
// queue, no store (`make run-example LOCAL=1`). It writes <id>-<n>.png and
// <id>.json into --out and prints their paths.
func runGenerate(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("worker generate", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		m         job.Message
		seed      = fs.Int64("seed", -1, "seed (-1: random, fastsdcpu's default)")
		guidance  = fs.Float64("guidance-scale", 0, "guidance scale (fastsdcpu's default when unset)")
		out       = fs.String("out", "out", "directory to write the images and the metadata JSON into")
		generator = fs.String("generator", "", "fastsdcpu or placeholder (default: GENERATOR, else fastsdcpu when FASTSDCPU_DIR has src/app.py, else placeholder)")
	)
	fs.StringVar(&m.Prompt, "prompt", "", "what to draw (required)")
	fs.IntVar(&m.Count, "count", 1, "number of images, 1 to MAX_IMAGES (4)")
	fs.IntVar(&m.Width, "width", 0, "image width, a multiple of 8 from 256 to MAX_IMAGE_SIZE (1024) (default 512)")
	fs.IntVar(&m.Height, "height", 0, "image height, a multiple of 8 from 256 to MAX_IMAGE_SIZE (1024) (default 512)")
	fs.IntVar(&m.Steps, "steps", 0, "inference steps (fastsdcpu's default when unset)")
	fs.StringVar(&m.NegativePrompt, "negative-prompt", "", "what to leave out")
	fs.StringVar(&m.ID, "id", "", "job id, a UUID (default: a new one)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("worker generate: %w", err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("worker generate: unexpected argument %q (quote the prompt: --prompt 'a green dog')", fs.Arg(0))
	}
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "seed":
			m.Seed = seed
		case "guidance-scale":
			m.GuidanceScale = guidance
		}
	})
	if *seed < 0 {
		m.Seed = nil
	}
	cfg, _ := loadLocal(getenv) // a wrong variable is reported by localGenerator below
	if err := m.Normalize(cfg.Limits); err != nil {
		return fmt.Errorf("worker generate: %w", err)
	}
	if m.ID == "" {
		m.ID = job.NewID()
	}

	gen, err := localGenerator(*generator, getenv, stderr)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("worker generate: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	gctx, cancel := context.WithTimeoutCause(ctx, cfg.JobTimeout, fmt.Errorf("job timeout of %s (JOB_TIMEOUT)", cfg.JobTimeout))
	defer cancel()

	start := time.Now()
	res, err := gen.Generate(gctx, m, *out)
	if err != nil {
		return fmt.Errorf("worker generate: %w", err)
	}
	done := time.Now()
	meta := res.Metadata
	meta[FieldJobID] = m.ID
	meta[FieldWorker] = cfg.WorkerName
	meta[FieldGenerator] = gen.Name()
	meta[FieldStartedAt] = start.UTC().Format(time.RFC3339Nano)
	meta[FieldFinishedAt] = done.UTC().Format(time.RFC3339Nano)
	meta[FieldGenerationSeconds] = roundSeconds(done.Sub(start))
	body, err := encodeMetadata(meta)
	if err != nil {
		return err
	}
	metaPath := filepath.Join(*out, store.MetadataKey(m.ID))
	if err := os.WriteFile(metaPath, body, 0o644); err != nil {
		return fmt.Errorf("worker generate: %w", err)
	}
	for _, p := range append(res.Images, metaPath) {
		fmt.Fprintln(stdout, p)
	}
	return nil
}

// localGenerator picks the generator of `worker generate` and says which.
func localGenerator(name string, getenv func(string) string, stderr io.Writer) (Generator, error) {
	cfg, err := loadLocal(getenv)
	if err != nil {
		return nil, fmt.Errorf("worker generate: configuration:\n%w", err)
	}
	if name == "" {
		name = getenv("GENERATOR")
	}
	fast := &FastSDCPU{Dir: cfg.FastSDCPUDir, Python: cfg.Python, Device: cfg.Device,
		SafetyChecker: cfg.UseSafetyChecker, LCMModelID: cfg.LCMModelID}
	// A person's own checkout: their earlier images in results/ stay.
	fast.CleanLeftovers = false
	switch name {
	case "":
		if fast.Check() == nil {
			fmt.Fprintf(stderr, "generator: fastsdcpu in %s (DEVICE=%s)\n", cfg.FastSDCPUDir, cfg.Device)
			return fast, nil
		}
		fmt.Fprintf(stderr, "generator: placeholder (no model; FASTSDCPU_DIR=%s has no src/app.py)\n", cfg.FastSDCPUDir)
		return Placeholder{}, nil
	case "fastsdcpu":
		if err := fast.Check(); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "generator: fastsdcpu in %s (DEVICE=%s)\n", cfg.FastSDCPUDir, cfg.Device)
		return fast, nil
	case "placeholder":
		fmt.Fprintln(stderr, "generator: placeholder (no model)")
		return Placeholder{}, nil
	}
	return nil, fmt.Errorf("worker generate: unknown generator %q (want fastsdcpu or placeholder)", name)
}

// loadLocal reads the worker's configuration for a run without a queue or a
// store: the generator's variables parse with the same rules as in the
// worker, the services' are not needed.
func loadLocal(getenv func(string) string) (config.Worker, error) {
	return config.LoadWorker(func(k string) string {
		switch k {
		case "AMQP_URL":
			return "amqp://unused/"
		case "MINIO_ENDPOINT":
			return "unused:9000"
		case "MINIO_ACCESS_KEY", "MINIO_SECRET_KEY":
			return "unused"
		case "GENERATOR":
			return "" // chosen by localGenerator
		case "METRICS_ADDR":
			return "off"
		}
		return getenv(k)
	})
}
