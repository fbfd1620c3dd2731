package web

import (
	"context"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/queue"
)

// lenCache asks the broker for the queue length at most once per ttl: every
// submission checks it, and asking costs more than the publish itself. A
// value up to staleFor old is answered at once while one goroutine asks
// again, so submissions never queue behind the question.
type lenCache struct {
	src queue.Lengther
	ttl time.Duration
	now func() time.Time

	mu         sync.Mutex // held while asking synchronously, so a burst asks once
	at         time.Time
	n          int
	err        error
	refreshing bool
}

const staleFor = 10 // ttls

func newLenCache(src queue.Lengther, ttl time.Duration, now func() time.Time) *lenCache {
	return &lenCache{src: src, ttl: ttl, now: now}
}

// Len returns the cached length, refreshing it as needed. An error is cached
// for one ttl: while the broker is down, submissions fail fast.
func (c *lenCache) Len(ctx context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	age := c.now().Sub(c.at)
	switch {
	case !c.at.IsZero() && age < c.ttl:
		return c.n, c.err
	case !c.at.IsZero() && c.err == nil && age < staleFor*c.ttl:
		if !c.refreshing {
			c.refreshing = true
			go c.refresh()
		}
		return c.n, nil
	}
	c.n, c.err = c.ask(ctx)
	c.at = c.now()
	return c.n, c.err
}

func (c *lenCache) refresh() {
	n, err := c.ask(context.Background())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.err, c.at, c.refreshing = n, err, c.now(), false
}

func (c *lenCache) ask(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return c.src.Len(ctx)
}

// added counts jobs just published, so a burst within one ttl is bounded too.
func (c *lenCache) added(n int) {
	c.mu.Lock()
	c.n += n
	c.mu.Unlock()
}
