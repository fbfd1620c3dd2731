package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
)

// Generator turns one validated job into images and fastsdcpu-style metadata
// in dir. m.ID is the job id the worker resolved; m.Count images are wanted.
type Generator interface {
	Name() string // "fastsdcpu", "fastsdcpu-warm" or "placeholder"
	Generate(ctx context.Context, m job.Message, dir string) (Result, error)
}

// Result is what one run produced.
type Result struct {
	Images   []string       // file paths in dir, image 1 first
	Metadata map[string]any // fastsdcpu's JSON fields, values as it wrote them
	// The generator's own time: ModelLoad when this job paid a (re)build of
	// the pipeline, Generation the rest. Zero Generation means the generator
	// does not measure itself; the worker then takes its wall time.
	ModelLoad, Generation time.Duration
}

// Starter is a generator with a process of its own that must get ready
// before the worker takes a job (the warm generator loads its model), and
// that the worker restarts when it is gone (Ready false after a crash or a
// timeout). Close stops it; Start may be called again after Close.
type Starter interface {
	Start(ctx context.Context) error
	Ready() bool
	Close() error
}

// Loader tells, before a job starts, whether the generator must build its
// pipeline for it first (the job's first phase is then loading_model).
type Loader interface {
	NeedsLoad(m job.Message) bool
}

// Product fields the worker adds to the metadata JSON beside fastsdcpu's own
// keys, which are kept unchanged.
const (
	FieldJobID             = "job_id"
	FieldWorker            = "worker"
	FieldGenerator         = "generator"
	FieldStartedAt         = "started_at"
	FieldFinishedAt        = "finished_at"
	FieldGenerationSeconds = "generation_seconds" // the generator's own time, a model load left out
	FieldModelLoadSeconds  = "model_load_seconds" // only when the job paid a pipeline build
	FieldQueueWaitSeconds  = "queue_wait_seconds" // from submitted_at to the job's start
	FieldUploadSeconds     = "upload_seconds"
	FieldAttempt           = "attempt"
	FieldGroup             = "group"
	FieldSubmittedAt       = "submitted_at"
)

// encodeMetadata renders the metadata as fastsdcpu does (indent 4).
func encodeMetadata(meta map[string]any) ([]byte, error) {
	b, err := json.MarshalIndent(meta, "", "    ")
	if err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	return append(b, '\n'), nil
}

// moveFile renames src to dst, copying when they are on different file
// systems (the job directory may be on tmpfs, the checkout on an overlay).
func moveFile(src, dst string) error {
	if err := os.Rename(src, dst); err == nil {
		return nil
	}
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Remove(src)
}

// imagePath is where image n (from 1) of job id goes in dir.
func imagePath(dir, id string, n int) string {
	return filepath.Join(dir, fmt.Sprintf("%s-%d.png", id, n))
}

type logKey struct{}

// withLogger hands the job's logger (job id attached) to the generator.
func withLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, logKey{}, l)
}

func loggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(logKey{}).(*slog.Logger); ok {
		return l
	}
	return slog.New(slog.DiscardHandler)
}
