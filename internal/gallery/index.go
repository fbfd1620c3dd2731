package gallery

import (
	"context"
	"errors"
	"io"
	"sync/atomic"

	"github.com/sdkeda/sdkeda/internal/store"
)

// Index is the gallery index of one store. Create it with New, start it with
// Run; every other method is safe for concurrent use, also before Run.
type Index struct {
	s     store.Store
	o     Options
	ready atomic.Bool
}

// New makes an empty index of s; Run fills and keeps it.
func New(s store.Store, o Options) *Index {
	return &Index{s: s, o: o.withDefaults()}
}

// Run opens the store's change stream, loads the index with a full listing
// (retried with backoff until it succeeds), then applies changes as they come
// and relists every Options.Resync until ctx ends; it returns nil then. Ready
// turns true after the first listing. Call it once.
func (ix *Index) Run(ctx context.Context) error {
	<-ctx.Done()
	return nil
}

// Ready reports whether the first full listing is in.
func (ix *Index) Ready() bool { return ix.ready.Load() }

// Len is the number of complete entries.
func (ix *Index) Len() int { return 0 }

// Resync relists the store now and applies the difference (Run does it
// periodically; tests and benchmarks may call it without Run).
func (ix *Index) Resync(ctx context.Context) error { return errors.New("gallery: not implemented") }

// Page returns up to limit entries (DefaultPage for limit <= 0, at most
// MaxPage), newest first, older than the cursor before ("" = the newest), with
// their metadata loaded (Meta stays nil for an entry whose JSON could not be
// read now). next is the cursor of the following page, "" at the end. A
// cursor is opaque; it stays valid when its entry is removed.
func (ix *Index) Page(ctx context.Context, limit int, before string) (page []Entry, next string, err error) {
	return nil, "", nil
}

// Get returns the complete entry id with its metadata loaded.
func (ix *Index) Get(ctx context.Context, id string) (Entry, bool, error) {
	return Entry{}, false, nil
}

// Subscribe streams the index's changes from now on (none during the first
// load). Sending never blocks the index: when the buffer of buf events is
// full, events are dropped, and the next one delivered is a Lost event so the
// subscriber re-reads the page. cancel ends the subscription and closes the
// channel.
func (ix *Index) Subscribe(buf int) (events <-chan Event, cancel func()) {
	ch := make(chan Event)
	close(ch)
	return ch, func() {}
}

// Stats are counters for /metrics.
type Stats struct {
	Entries       int    // complete entries
	Dropped       uint64 // events not delivered to slow subscribers
	Resyncs       uint64 // full listings done
	ResyncChanges uint64 // differences the listings found (lost notifications)
	MetaLoads     uint64 // metadata JSON reads
	ThumbsMade    uint64 // thumbnails generated
}

// Stats returns the counters.
func (ix *Index) Stats() Stats { return Stats{} }

// Thumbnail opens the JPEG thumbnail (at most 256 px a side) of image n of
// entry id, stored under store.ThumbKey(id, n). The first request makes it
// from the PNG and stores it; concurrent requests for the same thumbnail make
// it once. An entry or image the index does not hold is ErrNotFound.
func (ix *Index) Thumbnail(ctx context.Context, id string, n int) (io.ReadCloser, store.Object, error) {
	return nil, store.Object{}, ErrNotFound
}
