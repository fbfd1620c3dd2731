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
//
// A submission reserves room for all its jobs before it publishes (issue 12,
// D8: 40 concurrent submissions of 4 parallel images all saw an empty queue
// and queued 16 with MAX_QUEUE_LENGTH=5). The length it is checked against
// is the broker's count, plus what this webui published since that count
// was asked, plus the reservations still publishing.
type lenCache struct {
	src queue.Lengther
	ttl time.Duration
	now func() time.Time

	mu         sync.Mutex // held while asking synchronously, so a burst asks once
	at         time.Time
	n          int // the broker's count at `at`, plus the jobs published since
	err        error
	refreshing bool
	pending    int    // jobs reserved and not yet published (or given up)
	published  uint64 // jobs this webui ever published: a count asked while they were publishing is corrected by them
}

const staleFor = 10 // ttls

func newLenCache(src queue.Lengther, ttl time.Duration, now func() time.Time) *lenCache {
	return &lenCache{src: src, ttl: ttl, now: now}
}

// lenLocked returns the cached length, refreshing it as needed; c.mu is
// held. An error is cached for one ttl: while the broker is down,
// submissions fail fast.
func (c *lenCache) lenLocked(ctx context.Context) (int, error) {
	age := c.now().Sub(c.at)
	switch {
	case !c.at.IsZero() && age < c.ttl:
		return c.n, c.err
	case !c.at.IsZero() && c.err == nil && age < staleFor*c.ttl:
		if !c.refreshing {
			c.refreshing = true
			go c.refresh(c.published)
		}
		return c.n, nil
	}
	c.n, c.err = c.ask(ctx) // under the lock: nothing is published meanwhile
	c.at = c.now()
	return c.n, c.err
}

// reserve takes room for k jobs if the queue, with the reservations of
// submissions still publishing, then holds at most max. It returns the
// length counted (reservations included) and whether the k jobs fit; when
// they do, release must follow.
func (c *lenCache) reserve(ctx context.Context, k, max int) (int, bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.lenLocked(ctx)
	if err != nil {
		return n, false, err
	}
	n += c.pending
	if n+k > max {
		return n, false, nil
	}
	c.pending += k
	return n, true, nil
}

// release ends a reservation of reserved jobs, of which published were
// published: those count in the length until the broker's next count.
func (c *lenCache) release(reserved, published int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending -= reserved
	c.n += published
	c.published += uint64(published)
}

// refresh asks again in the background; since is c.published when it
// started. Jobs published while it asked may or may not be in the broker's
// answer: they are added to it, so the length errs on the full side until
// the next count.
func (c *lenCache) refresh(since uint64) {
	n, err := c.ask(context.Background())
	c.mu.Lock()
	defer c.mu.Unlock()
	c.n, c.err, c.at, c.refreshing = n+int(c.published-since), err, c.now(), false
}

func (c *lenCache) ask(ctx context.Context) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return c.src.Len(ctx)
}
