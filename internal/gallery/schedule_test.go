package gallery_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store"
)

// countingStore counts the listings made of its store.
type countingStore struct {
	*gallerytest.Store
	lists atomic.Int64
}

func (c *countingStore) List(ctx context.Context, prefix string) ([]store.Object, error) {
	c.lists.Add(1)
	return c.Store.List(ctx, prefix)
}

// The relisting follows the trust in notifications: while none came it
// relists often (the untrusted pace, 20 ms here); once notifications arrive
// on time and a relisting finds nothing they missed, only every Resync
// (300 ms here); a relisting that finds a change they missed, or a late
// notification, ends the trust. A small bucket costs one listing a
// relisting, after a first one per first character.
func TestRelistingFollowsTrustInNotifications(t *testing.T) {
	t.Parallel()
	s := gallerytest.NewStore()
	gallerytest.Fill(s, 5, 1, time.Now().Add(-time.Hour))
	cs := &countingStore{Store: s}
	ix := gallery.New(cs, gallery.Options{Resync: 300 * time.Millisecond, MinResync: 20 * time.Millisecond, ListRate: 1000})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	}()
	f := &fixture{t: t, ctx: t.Context(), ix: ix, s: s}
	f.waitFor("the index to be ready", ix.Ready)
	if n := cs.lists.Load(); n != 63 && n != 64 {
		t.Fatalf("first listing: %d listings, want 63 (the thumbnails, then each first character)", n)
	}
	// No notification yet: untrusted, relisting at the fast pace, one
	// listing each.
	n0, r0 := cs.lists.Load(), ix.Stats().Resyncs
	f.waitFor("relisting at the untrusted pace", func() bool { return ix.Stats().Resyncs >= r0+5 })
	if lists, resyncs := cs.lists.Load()-n0, ix.Stats().Resyncs-r0; lists > int64(resyncs)+1 {
		t.Errorf("%d listings for %d relistings of a small bucket, want one each", lists, resyncs)
	}
	if ix.Trusted() {
		t.Fatal("trusted without a notification")
	}

	// A notification on time, then a relisting that finds nothing it missed.
	putEntry(t, s, "notified")
	f.waitFor("trust in notifications", ix.Trusted)
	r1 := ix.Stats().Resyncs
	time.Sleep(150 * time.Millisecond) // not synchronization: a window in which relisting must be rare
	if got := ix.Stats().Resyncs - r1; got > 1 {
		t.Errorf("%d relistings in 150 ms while trusted, want at most 1 (every 300 ms)", got)
	}

	// A change whose notification is lost: the next relisting (within
	// Resync) finds it and ends the trust.
	s.PutQuiet(store.ImageKey("lost", 1), gallerytest.PNG(8, 8), store.TypePNG, time.Now())
	s.PutQuiet(store.MetadataKey("lost"), gallerytest.Metadata("lost", 1, nil), store.TypeJSON, time.Now())
	f.waitFor("the lost change found by relisting", func() bool { return f.has("lost") })
	f.waitFor("trust ended", func() bool { return !ix.Trusted() })

	// Trusted again, then a notification that arrives a minute after its
	// event ends the trust at once.
	putEntry(t, s, "notified2")
	f.waitFor("trust in notifications again", ix.Trusted)
	s.PutAt(store.ImageKey("late", 1), gallerytest.PNG(8, 8), store.TypePNG, time.Now().Add(-time.Minute))
	f.waitFor("trust ended by a late notification", func() bool { return !ix.Trusted() })
}

// putEntry puts an entry through the store's API: notified, on time.
func putEntry(t *testing.T, s store.Store, id string) {
	t.Helper()
	if err := gallerytest.PutEntry(t.Context(), s, id, gallerytest.Metadata(id, 1, nil), gallerytest.PNG(8, 8)); err != nil {
		t.Fatal(err)
	}
}
