package status

import (
	"context"
	"time"

	"github.com/cenkalti/backoff/v4"
	"golang.org/x/sync/errgroup"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/store"
)

// pruneEvery is how often Run forgets old jobs.
const pruneEvery = time.Minute

// Run follows the status events, tells the gallery index the objects of done
// jobs and prunes the table, until ctx ends.
func (t *Tracker) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { t.follow(ctx); return nil })
	g.Go(func() error { t.notifyGallery(ctx); return nil })
	g.Go(func() error {
		tick := time.NewTicker(pruneEvery)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
				t.Prune()
			}
		}
	})
	return g.Wait()
}

// subscribePolicy is how the status subscription is made again after it
// broke: soon at first, then at most every 10 s, never giving up.
func subscribePolicy() *backoff.ExponentialBackOff {
	b := backoff.NewExponentialBackOff()
	b.InitialInterval, b.MaxInterval, b.MaxElapsedTime = 100*time.Millisecond, 10*time.Second, 0
	return b
}

// follow applies the status events of every worker and webui replica until
// ctx ends, subscribing again when the stream breaks.
func (t *Tracker) follow(ctx context.Context) {
	b := subscribePolicy()
	for ctx.Err() == nil {
		events, err := t.sub.SubscribeStatus(ctx)
		if err != nil {
			wait := b.NextBackOff()
			t.opts.Log.Warn("status events: subscribe", "err", err, "retry_in", wait.String())
			select {
			case <-ctx.Done():
			case <-time.After(wait):
			}
			continue
		}
		b.Reset()
		for e := range events {
			t.event(e)
		}
	}
}

// event applies one status event. A done event names the job's objects: the
// gallery index learns them at once, whether or not the store's notification
// comes (MinIO's can be late or lost). That goes through a buffer so that a
// busy index never holds up the events.
func (t *Tracker) event(e job.Event) {
	t.Apply(e)
	if e.State != job.Done {
		return
	}
	for _, key := range e.Objects {
		select {
		case t.notify <- store.Change{Op: store.Put, Object: store.Object{Key: key}}:
		default:
			// The index's own notifications and resync bring it later.
			t.opts.Log.Warn("status events: gallery busy, objects of a done job left to its resync", "job_id", e.ID)
			return
		}
	}
}

func (t *Tracker) notifyGallery(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case c := <-t.notify:
			t.gallery.Notify(ctx, c)
		}
	}
}
