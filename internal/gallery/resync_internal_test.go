package gallery

import (
	"testing"
	"time"
)

func TestNextResync(t *testing.T) {
	t.Parallel()
	o := Options{Resync: 5 * time.Minute, MinResync: time.Second}
	for _, c := range []struct {
		name         string
		trusted      bool
		took, budget time.Duration
		want         time.Duration
	}{
		{"trusted", true, 10 * time.Millisecond, 0, 5 * time.Minute},
		{"trusted, budget spent", true, 0, 10 * time.Minute, 10 * time.Minute},
		{"cheap listing", false, 10 * time.Millisecond, 0, time.Second},
		{"20x the listing", false, 200 * time.Millisecond, 0, 4 * time.Second},
		{"at most Resync", false, time.Minute, 0, 5 * time.Minute},
		{"the budget waits", false, 10 * time.Millisecond, 30 * time.Second, 30 * time.Second},
	} {
		if got := nextResync(o, c.trusted, c.took, c.budget); got != c.want {
			t.Errorf("%s: got %v, want %v", c.name, got, c.want)
		}
	}
}

// Relisting as often as the budget allows spends at most ListRate LIST calls
// per second over time, plus the burst, whatever each relisting costs.
func TestBudgetBoundsListCallsPerSecond(t *testing.T) {
	t.Parallel()
	o := Options{Resync: 5 * time.Minute, MinResync: time.Second}
	for _, cost := range []int{1, 7, 63, 250} {
		now := time.Unix(0, 0)
		b := newBudget(1, now)
		calls := 0
		for end := now.Add(time.Hour); now.Before(end); {
			b.spend(now, cost, cost)
			calls += cost
			now = now.Add(nextResync(o, false, 0, b.wait(now)))
		}
		if limit := 3600 + listBurst + cost; calls > limit {
			t.Errorf("relistings of %d calls: %d calls in an hour, want at most %d", cost, calls, limit)
		}
		if cost == 1 && calls < 3500 {
			t.Errorf("relistings of 1 call: only %d in an hour; the budget allows one a second", calls)
		}
	}
}

func TestListCallsOfAListing(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]int{0: 1, 1: 1, 1000: 1, 1001: 2, 300000: 300} {
		if got := lists(n); got != want {
			t.Errorf("%d keys: %d calls, want %d", n, got, want)
		}
	}
}
