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

// D8: reservations count the submissions still publishing, and a count
// asked while jobs were published is corrected by them.
func TestLenCacheReservesRoomForEveryJob(t *testing.T) {
	t.Parallel()
	now := time.Unix(1000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	src := &countingLen{n: 1}
	c := newLenCache(src, time.Second, clock)
	ctx := context.Background()
	if n, ok, _ := c.reserve(ctx, 4, 5); !ok || n != 1 {
		t.Fatalf("4 jobs into 1 of 5: %d %v", n, ok)
	}
	if n, ok, _ := c.reserve(ctx, 1, 5); ok || n != 5 {
		t.Fatalf("a fifth while 4 publish: %d %v, want refused at 5", n, ok)
	}
	c.release(4, 3) // one of the 4 was not confirmed
	if n, ok, _ := c.reserve(ctx, 1, 5); !ok || n != 4 {
		t.Fatalf("after the release: %d %v, want 4 and room for 1", n, ok)
	}
	// A background count that started before a publish: the publish is
	// added to it (it may or may not be in the broker's answer).
	advance(2 * time.Second)
	c.Len(ctx) // starts the refresh
	c.release(1, 1)
	waitFor(t, "the refresh", func() bool { return src.calls() == 2 && !refreshing(c) })
	if n, _ := c.Len(ctx); n < 2 {
		t.Errorf("length %d after a refresh that missed a publish: want the broker's 1 + 1", n)
	}
}

func refreshing(c *lenCache) bool { c.mu.Lock(); defer c.mu.Unlock(); return c.refreshing }
