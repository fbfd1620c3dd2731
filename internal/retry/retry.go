// Package retry names the backoff policies of every reconnect and retry loop
// in the product. The loops themselves run on github.com/cenkalti/backoff
// (backoff.RetryNotify with one of these policies): no package writes its own
// sleep-and-double.
//
// Every policy grows by 1.5 per attempt with ±50 % jitter (the library's
// defaults, so replicas that lost a service together do not come back in
// step) and never gives up by itself: the caller's context ends the loop
// (backoff.WithContext), or an error the caller marks backoff.Permanent.
package retry

import (
	"context"
	"errors"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// A Policy makes a fresh backoff of one kind.
type Policy func() *backoff.ExponentialBackOff

// The policies, by what they retry.
var (
	// Connect reaches a service: dialing RabbitMQ, making sure the MinIO
	// bucket exists, the gallery's first listing. In a cluster the service
	// may start after us, so try soon and often, at most every 5 s.
	Connect Policy = func() *backoff.ExponentialBackOff { return policy(100*time.Millisecond, 5*time.Second) }

	// Reopen re-opens a stream that broke (the store's change notifications,
	// the status events): a little later at first, at most every 10 s. A
	// loop resets it once the new stream delivers.
	Reopen Policy = func() *backoff.ExponentialBackOff { return policy(200*time.Millisecond, 10*time.Second) }

	// Upload retries a worker's upload to the store: a store that is down for
	// a while costs the job time, not the job; at most every 5 s.
	Upload Policy = func() *backoff.ExponentialBackOff { return policy(200*time.Millisecond, 5*time.Second) }

	// Restart restarts the embedded mode's in-process worker after a crash,
	// as Kubernetes restarts a pod: at once, then backing off to 30 s so a
	// worker that crashes at every start does not spin.
	Restart Policy = func() *backoff.ExponentialBackOff { return policy(100*time.Millisecond, 30*time.Second) }
)

func policy(initial, maxInterval time.Duration) *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval = initial, maxInterval
	b.MaxElapsedTime = 0 // never stop by itself: the context decides
	b.Reset()
	return b
}

// Do runs op until it succeeds, returns an error wrapped by
// backoff.Permanent (Do returns it unwrapped), or ctx ends (Do returns
// ctx.Err()). notify, if not nil, hears of each failure and the wait before
// the next attempt (for a log line).
func Do(ctx context.Context, p Policy, op func() error, notify func(err error, wait time.Duration)) error {
	return backoff.RetryNotify(op, backoff.WithContext(p(), ctx), notify)
}

// Forever runs op again and again until ctx ends, waiting by p between two
// runs: the loop of a stream that should never end (op returns when it
// broke). When op reports that its stream delivered, the next wait starts
// again from p's first. notify, if not nil, hears each wait.
func Forever(ctx context.Context, p Policy, op func() (delivered bool), notify func(wait time.Duration)) {
	b := p()
	_ = backoff.RetryNotify(func() error {
		if op() {
			b.Reset()
		}
		if ctx.Err() != nil {
			return backoff.Permanent(ctx.Err())
		}
		return errEnded
	}, backoff.WithContext(b, ctx), func(_ error, wait time.Duration) {
		if notify != nil {
			notify(wait)
		}
	})
}

var errEnded = errors.New("retry: the stream ended")
