package web

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

type countingLen struct {
	mu    sync.Mutex
	asked int
	n     int
	err   error
}

func (c *countingLen) Len(context.Context) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.asked++
	return c.n, c.err
}

func (c *countingLen) calls() int { c.mu.Lock(); defer c.mu.Unlock(); return c.asked }

func TestLenCacheAsksOncePerSecondWithoutMakingAnyoneWait(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	src := &countingLen{n: 7}
	c := newLenCache(src, time.Second, clock)
	ctx := context.Background()

	if n, err := c.Len(ctx); n != 7 || err != nil || src.calls() != 1 {
		t.Fatalf("first: %d %v, %d asks", n, err, src.calls())
	}
	c.Len(ctx)
	if src.calls() != 1 {
		t.Fatal("asked again within the second")
	}
	// Stale: the old value at once, and one refresh behind it.
	src.mu.Lock()
	src.n = 9
	src.mu.Unlock()
	advance(2 * time.Second)
	if n, _ := c.Len(ctx); n != 7 {
		t.Errorf("stale answer %d, want the cached 7", n)
	}
	waitFor(t, "the refresh", func() bool { n, _ := c.Len(ctx); return n == 9 })
	if src.calls() != 2 {
		t.Errorf("%d asks, want 2", src.calls())
	}
	// Too old, or an error: asked synchronously, errors cached for a second.
	src.mu.Lock()
	src.err = errors.New("down")
	src.mu.Unlock()
	advance(time.Minute)
	if _, err := c.Len(ctx); err == nil {
		t.Fatal("an old value hid the broker's error")
	}
	asked := src.calls()
	if _, err := c.Len(ctx); err == nil || src.calls() != asked {
		t.Errorf("the error was not cached: %v, %d asks", err, src.calls())
	}
}
