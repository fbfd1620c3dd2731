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
		seed      = fs.Int64("seed", -1, "seed (-1: drawn at random, and recorded in the metadata)")
		guidance  = fs.Float64("guidance-scale", 0, "guidance scale (fastsdcpu's default when unset)")
		out       = fs.String("out", "out", "directory to write the images and the metadata JSON into")
		generator = fs.String("generator", "", "fastsdcpu, fastsdcpu-warm or placeholder (default: GENERATOR, else fastsdcpu when FASTSDCPU_DIR has src/app.py, else placeholder)")
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
	// The worker's own settings, without a queue or a store; GENERATOR
	// unset chooses (the CLI when FASTSDCPU_DIR is a checkout).
	cfg, err := config.LoadLocalWorker(getenv, "")
	if err != nil {
		return fmt.Errorf("worker generate: configuration:\n%w", err)
	}
	if err := m.Normalize(cfg.Limits); err != nil {
		return fmt.Errorf("worker generate: %w", err)
	}
	if m.ID == "" {
		m.ID = job.NewID()
	}
	if m.Seed == nil {
		s := seedFor(m.ID) // as the worker does: the metadata says which seed made it
		m.Seed = &s
	}
	if *generator != "" {
		cfg.Generator.Name = *generator
	}
	// A person's own checkout: their earlier images in results/ stay.
	gen, why, err := ChooseGenerator(cfg.Generator, Choice{Unset: config.GeneratorCLI})
	if err != nil {
		return fmt.Errorf("worker generate: %w", err)
	}
	fmt.Fprintf(stderr, "generator: %s (%s)\n", gen.Name(), why)
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return fmt.Errorf("worker generate: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGTERM, os.Interrupt)
	defer stop()
	if s, ok := gen.(Starter); ok {
		defer s.Close()
	}
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
	meta[FieldGenerationSeconds] = roundSeconds(done.Sub(start) - res.ModelLoad)
	if res.ModelLoad > 0 {
		meta[FieldModelLoadSeconds] = roundSeconds(res.ModelLoad)
	}
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
