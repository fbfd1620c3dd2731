package retry

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cenkalti/backoff/v4"
)

func TestPoliciesNeverStopBySelfAndStayBounded(t *testing.T) {
	t.Parallel()
	for name, p := range map[string]Policy{"Connect": Connect, "Reopen": Reopen, "Upload": Upload, "Restart": Restart} {
		b := p()
		first := b.NextBackOff()
		var most time.Duration
		for range 200 {
			d := b.NextBackOff()
			if d == backoff.Stop {
				t.Fatalf("%s stopped by itself", name)
			}
			most = max(most, d)
		}
		if first <= 0 || first > b.InitialInterval*2 {
			t.Errorf("%s: first wait %s, initial %s", name, first, b.InitialInterval)
		}
		if most > b.MaxInterval*3/2 {
			t.Errorf("%s: waited %s, above its maximum %s plus jitter", name, most, b.MaxInterval)
		}
	}
}

func TestDoRetriesUntilSuccess(t *testing.T) {
	t.Parallel()
	fast := Policy(func() *backoff.ExponentialBackOff { return policy(time.Millisecond, 2*time.Millisecond) })
	calls, notified := 0, 0
	err := Do(t.Context(), fast, func() error {
		if calls++; calls < 4 {
			return errors.New("down")
		}
		return nil
	}, func(error, time.Duration) { notified++ })
	if err != nil || calls != 4 || notified != 3 {
		t.Fatalf("err %v, %d calls, %d notified; want nil, 4, 3", err, calls, notified)
	}
}

func TestDoStopsOnPermanentAndOnContext(t *testing.T) {
	t.Parallel()
	bad := errors.New("bad credentials")
	calls := 0
	err := Do(t.Context(), Connect, func() error { calls++; return backoff.Permanent(bad) }, nil)
	if !errors.Is(err, bad) || calls != 1 {
		t.Errorf("permanent: err %v after %d calls, want %v after 1", err, calls, bad)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err = Do(ctx, Connect, func() error { return errors.New("down") }, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("context: err %v, want the deadline", err)
	}
}

func TestForeverRunsUntilContextEndsAndResetsAfterDelivery(t *testing.T) {
	t.Parallel()
	fast := Policy(func() *backoff.ExponentialBackOff { return policy(time.Millisecond, 8*time.Millisecond) })
	ctx, cancel := context.WithCancel(t.Context())
	runs := 0
	var waits []time.Duration
	Forever(ctx, fast, func() bool {
		runs++
		if runs == 6 {
			cancel()
		}
		return runs == 4 // the fourth stream delivered
	}, func(w time.Duration) { waits = append(waits, w) })
	if runs != 6 || len(waits) != 5 {
		t.Fatalf("%d runs, %d waits; want 6 and 5", runs, len(waits))
	}
	// After the delivering run the wait starts again from the first
	// (1 ms ± 50 %), below the third wait's 2.25 ms ± 50 %.
	if waits[3] > 1500*time.Microsecond {
		t.Errorf("wait after a delivering run: %s, want the first again (waits %v)", waits[3], waits)
	}
}
