package web

import (
	"context"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/queue"
)

// lenCache asks the broker for the queue length at most once per ttl: every
// submission checks it, and a passive declare per request would cost more
// than the publish itself.
type lenCache struct {
	src queue.Lengther
	ttl time.Duration
	now func() time.Time

	mu  sync.Mutex // held while asking, so a burst asks once
	at  time.Time
	n   int
	err error
}

func newLenCache(src queue.Lengther, ttl time.Duration, now func() time.Time) *lenCache {
	return &lenCache{src: src, ttl: ttl, now: now}
}

// Len returns the cached length, or asks when it is older than ttl. An error
// is cached too: while the broker is down, submissions fail fast.
func (c *lenCache) Len(ctx context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.at.IsZero() && c.now().Sub(c.at) < c.ttl {
		return c.n, c.err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	c.n, c.err = c.src.Len(ctx)
	c.at = c.now()
	return c.n, c.err
}

// added counts jobs just published, so a burst within one ttl is bounded too.
func (c *lenCache) added(n int) {
	c.mu.Lock()
	c.n += n
	c.mu.Unlock()
}
