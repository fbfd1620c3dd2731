package gallery

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/retry"
	"github.com/sdkeda/sdkeda/internal/store"
)

// fetchWorkers read the JSON of notified puts in parallel.
const fetchWorkers = 8

// fetch is a notified put of a metadata JSON, to read before it is shown.
type fetch struct {
	id    string
	token uint64
	mod   time.Time // from the notification: used only if the read fails
}

// Run opens the store's change stream, loads the index with a full listing
// (retried with backoff until it succeeds), then applies changes as they come
// and relists as schedule.go explains (every Options.Resync while the
// notifications are trusted, else within a budget of LIST calls) until ctx
// ends; it returns nil then. Ready turns true after the first listing. Call
// it once.
func (ix *Index) Run(ctx context.Context) error {
	if !ix.running.CompareAndSwap(false, true) {
		return errors.New("gallery: Run called twice")
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		cancel()
		wg.Wait()
	}()
	for range fetchWorkers {
		wg.Go(func() { ix.fetchLoop(ctx) })
	}
	wg.Go(func() { ix.deleteThumbs(ctx) })
	// The stream opens before the first listing so that nothing written
	// during the listing is missed.
	opened := make(chan struct{})
	wg.Go(func() { ix.watch(ctx, opened) })
	select {
	case <-opened:
	case <-ctx.Done():
		return nil
	}

	b := newBudget(ix.o.ListRate, time.Now())
	var res resyncResult
	if err := retry.Do(ctx, retry.Connect, func() error {
		var err error
		res, err = ix.resync(ctx)
		b.spend(time.Now(), res.lists, res.nextLists)
		return err
	}, func(err error, wait time.Duration) {
		ix.log.Warn("gallery: first listing failed, retrying", "err", err, "retry_in", wait.Round(time.Millisecond))
	}); err != nil {
		return nil // only ctx ends it
	}
	last := time.Now() // the end of the last relisting
	for {
		// The pause counts from the last relisting; the budget from now.
		wait := max(nextResync(ix.o, ix.trusted.Load(), res.took, 0)-time.Since(last), b.wait(time.Now()))
		t := time.NewTimer(max(wait, 0))
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		case <-ix.reschedule:
			t.Stop()
			continue
		case <-ix.kick:
			// Notifications were lost or late: relist as soon as the
			// budget allows.
			t.Stop()
			if !sleep(ctx, b.wait(time.Now())) {
				return nil
			}
		}
		notified, late := ix.notified.Swap(0), ix.late.Swap(false)
		r, err := ix.resync(ctx)
		last = time.Now()
		if err != nil {
			b.spend(time.Now(), r.lists, res.nextLists)
			if ctx.Err() == nil {
				ix.log.Warn("gallery: resync failed", "err", err)
			}
			continue
		}
		b.spend(time.Now(), r.lists, r.nextLists)
		res = r
		ix.judge(r.changes, notified, late)
	}
}

// sleep waits d unless ctx ends first; it reports whether ctx is still on.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// Notify applies a change learned outside the store's own notifications,
// such as the object names in a worker's `done` event: the entry shows at
// once, whether or not the store's notification ever arrives. Applying a
// change twice is harmless.
func (ix *Index) Notify(ctx context.Context, c store.Change) {
	ix.apply(ctx, c)
}

// watch applies the store's changes until ctx ends, re-opening the stream
// (policy retry.Reopen) when it ends early. opened is closed after the first
// attempt to open it.
func (ix *Index) watch(ctx context.Context, opened chan struct{}) {
	attempt := 0
	var err error
	retry.Forever(ctx, retry.Reopen, func() (delivered bool) {
		wctx, cancel := context.WithCancel(ctx)
		defer cancel()
		var ch <-chan store.Change
		ch, err = ix.s.Watch(wctx)
		if attempt++; attempt == 1 {
			close(opened)
		}
		if err != nil {
			return false
		}
		if attempt > 1 {
			// Changes between the streams are lost: relist now.
			ix.distrust(ix.kick)
		}
		for c := range ch {
			ix.noteNotification(c)
			ix.apply(ctx, c)
			delivered = true
		}
		return delivered
	}, func(wait time.Duration) {
		ix.log.Warn("gallery: change stream ended, reopening", "err", err, "retry_in", wait.Round(time.Millisecond))
	})
}

// apply applies one notified change. Images and removals apply at once; a
// put JSON is read first (by a fetch worker), so its entry enters the index
// with its real time and its metadata at hand.
func (ix *Index) apply(ctx context.Context, c store.Change) {
	kind, id, n := store.ParseKey(c.Object.Key)
	switch {
	case kind == store.Metadata && c.Op == store.Put:
		ix.mu.Lock()
		ix.seq++
		f := fetch{id: id, token: ix.seq, mod: c.Object.Modified}
		ix.pending[id] = f.token
		ix.touch(id)
		ix.mu.Unlock()
		// Blocks when the workers are behind: the stream then waits too.
		select {
		case ix.fetches <- f:
		case <-ctx.Done():
		}
	case kind == store.Metadata:
		ix.mu.Lock()
		delete(ix.pending, id)
		ix.touch(id)
		if r := ix.recs[id]; r != nil {
			ix.dropJSON(r)
			ix.forget(r)
		}
		ix.mu.Unlock()
	case kind == store.Image && n <= maxImage:
		ix.mu.Lock()
		ix.touch(id)
		r := ix.get(id)
		if c.Op == store.Put {
			if r.imgs&bit(n) != 0 {
				// Overwritten (a redelivered job): its thumbnail is stale.
				ix.dropThumbs(id, bit(n))
			}
			ix.setImages(r, r.imgs|bit(n))
		} else {
			ix.setImages(r, r.imgs&^bit(n))
		}
		ix.forget(r)
		ix.mu.Unlock()
	}
}

// fetchLoop reads notified JSONs and applies them, unless a later change of
// the same id came first.
func (ix *Index) fetchLoop(ctx context.Context) {
	for {
		var f fetch
		select {
		case <-ctx.Done():
			return
		case f = <-ix.fetches:
		}
		m, obj, err := ix.readMeta(ctx, f.id)
		if errors.Is(err, store.ErrNotFound) || ctx.Err() != nil {
			// Gone already: its removal is notified too (or the next resync
			// finds out); nothing to show.
			ix.mu.Lock()
			if ix.pending[f.id] == f.token {
				delete(ix.pending, f.id)
			}
			ix.mu.Unlock()
			continue
		}
		mod := obj.Modified
		if err != nil {
			// Show it anyway, by the notification's time: its metadata is
			// read again when a page needs it, and the resync fixes the time.
			ix.log.Warn("gallery: read new metadata", "id", f.id, "err", err)
			if mod = f.mod; mod.IsZero() {
				mod = time.Now()
			}
		}
		key := sortTime(mod)
		if m != nil {
			ix.cache.add(f.id, key, m)
		}
		ix.mu.Lock()
		if ix.pending[f.id] == f.token {
			delete(ix.pending, f.id)
			ix.touch(f.id)
			ix.setJSON(ix.get(f.id), key)
		}
		ix.mu.Unlock()
	}
}
