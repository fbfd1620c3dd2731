package worker

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/cenkalti/backoff/v4"

	"github.com/sdkeda/sdkeda/internal/retry"
	"github.com/sdkeda/sdkeda/internal/store"
)

// uploader puts objects, retrying with backoff until its context ends: a
// store that is down for a while (MinIO restarting) costs time, not the job.
// Keys come from the job id, so a retried or redelivered upload overwrites.
type uploader struct {
	st  store.Store
	log *slog.Logger
}

// Each attempt is bounded on its own, so one hung connection cannot eat the
// whole budget.
const attemptTimeout = 30 * time.Second

func (u uploader) putFile(ctx context.Context, key, path, contentType string) error {
	return u.retry(ctx, key, func(ctx context.Context) error {
		f, err := os.Open(path)
		if err != nil {
			return backoff.Permanent(fmt.Errorf("open %s: %w", path, err))
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return backoff.Permanent(err)
		}
		return u.st.Put(ctx, key, f, st.Size(), contentType)
	})
}

func (u uploader) putBytes(ctx context.Context, key string, b []byte, contentType string) error {
	return u.retry(ctx, key, func(ctx context.Context) error {
		return u.st.Put(ctx, key, bytes.NewReader(b), int64(len(b)), contentType)
	})
}

// retry runs put until it succeeds or ctx ends (policy retry.Upload).
func (u uploader) retry(ctx context.Context, key string, put func(context.Context) error) error {
	attempts := 0
	var last error
	op := func() error {
		attempts++
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		defer cancel()
		err := put(actx)
		last = err
		if err != nil && ctx.Err() == nil {
			u.log.Warn("upload failed, retrying", "key", key, "attempt", attempts, "err", err)
		}
		return err
	}
	if err := retry.Do(ctx, retry.Upload, op, nil); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("upload %s: gave up after %d attempts (%v); last error: %v", key, attempts, context.Cause(ctx), last)
		}
		return fmt.Errorf("upload %s: %w", key, err)
	}
	return nil
}
