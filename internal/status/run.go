package status

import (
	"context"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/retry"
	"github.com/sdkeda/sdkeda/internal/store"
)

// pruneEvery is how often Run forgets old jobs.
const pruneEvery = time.Minute

// subscription is one status subscription, ended by cancel.
type subscription struct {
	events <-chan job.Event
	cancel context.CancelFunc
}

// Subscribe makes the status subscription now, retrying until it is made or
// ctx ends. The webui calls it before it serves: then no event of a job
// submitted through it can be missed (an event published before a
// subscription exists reaches nobody). Run follows this subscription; it
// subscribes itself when Subscribe was not called. The subscription lives
// until ctx ends or Run returns.
func (t *Tracker) Subscribe(ctx context.Context) error {
	s, err := t.subscribe(ctx, ctx)
	if err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.first != nil {
		t.first.cancel()
	}
	t.first = s
	return nil
}

// subscribe retries SubscribeStatus by retry.Reopen until it succeeds or
// ctx ends; the subscription lives on life.
func (t *Tracker) subscribe(ctx, life context.Context) (*subscription, error) {
	var s *subscription
	err := retry.Do(ctx, retry.Reopen, func() error {
		sctx, cancel := context.WithCancel(life)
		events, err := t.q.SubscribeStatus(sctx)
		if err != nil {
			cancel()
			return err
		}
		s = &subscription{events: events, cancel: cancel}
		return nil
	}, func(err error, wait time.Duration) {
		t.opts.Log.Warn("status events: subscribe", "err", err, "retry_in", wait.String())
	})
	return s, err
}

// Run follows the status events, joins them with the gallery and the dead
// letters, tells the gallery index the objects of done jobs, and prunes,
// until ctx ends.
func (t *Tracker) Run(ctx context.Context) error {
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { t.follow(ctx); return nil })
	g.Go(func() error { t.notifyGallery(ctx); return nil })
	g.Go(func() error { t.joinGallery(ctx); return nil })
	// Each loop below waits a whole period before its first call, but the
	// fleet's depth and the probe, which go at once.
	g.Go(func() error { every(ctx, t.opts.Reconcile, false, t.reconcile); return nil })
	g.Go(func() error { every(ctx, t.opts.DepthEvery, true, t.pollDepth); return nil })
	// expireWorkers runs often enough that a lost worker is found within
	// a fraction of a heartbeat of its third missed one.
	g.Go(func() error {
		every(ctx, min(time.Second, t.opts.Heartbeat/4), false, func(context.Context) { t.expireWorkers() })
		return nil
	})
	if t.pub != nil {
		g.Go(func() error { every(ctx, t.opts.Heartbeat, true, t.probe); return nil })
	}
	g.Go(func() error { every(ctx, pruneEvery, false, func(context.Context) { t.Prune() }); return nil })
	return g.Wait()
}

// every calls f every period until ctx ends, first at once when now is set.
func every(ctx context.Context, period time.Duration, now bool, f func(context.Context)) {
	if now {
		f(ctx)
	}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			f(ctx)
		}
	}
}

// follow applies the status events of every worker and webui replica until
// ctx ends, subscribing again when the stream breaks. Events published
// between two subscriptions are lost: the jobs not finished are then looked
// up at once.
func (t *Tracker) follow(ctx context.Context) {
	t.mu.Lock()
	s := t.first
	t.first = nil
	t.mu.Unlock()
	defer func() {
		if s != nil {
			s.cancel()
		}
	}()
	for again := false; ctx.Err() == nil; again = true {
		if s == nil {
			var err error
			if s, err = t.subscribe(ctx, ctx); err != nil {
				return
			}
		}
		if again {
			t.opts.Log.Info("status events: subscribed again; looking up the jobs not finished")
			t.reconcile(ctx)
		}
		t.drain(ctx, s.events)
		s.cancel()
		s = nil
	}
}

// drain applies the events of one subscription until it ends or ctx does.
func (t *Tracker) drain(ctx context.Context, events <-chan job.Event) {
	for {
		select {
		case <-ctx.Done():
			return
		case e, ok := <-events:
			if !ok {
				return
			}
			t.event(e)
		}
	}
}

// event applies one status event. A done event names the job's objects: the
// gallery index learns them at once, whether or not the store's notification
// comes (MinIO's can be late or lost). That goes through a buffer so that a
// busy index never holds up the events.
func (t *Tracker) event(e job.Event) {
	t.hear.heard(t.opts.Now(), t.deafAfter())
	if e.IsProbe() {
		return
	}
	t.Apply(e)
	if e.State != job.Done {
		return
	}
	t.recent.add(e.Durations)
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
