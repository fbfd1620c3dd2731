package gallery_test

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store"
)

// fixture is one test's store and running index.
type fixture struct {
	t   *testing.T
	ctx context.Context
	s   *gallerytest.Store
	ix  *gallery.Index
}

// setup fills an in-memory store with n entries (FillID(n-1) the newest),
// starts an index on it and waits until it is ready.
func setup(t *testing.T, n int) *fixture {
	t.Helper()
	s := gallerytest.NewStore()
	gallerytest.Fill(s, n, 1, time.Now().Add(-time.Duration(n+60)*time.Second))
	return run(t, s)
}

// run starts an index on s that resyncs only when the test asks: changes
// must come by notification.
func run(t *testing.T, s store.Store) *fixture { t.Helper(); return runWith(t, s, time.Hour) }

func runWith(t *testing.T, s store.Store, resync time.Duration) *fixture {
	t.Helper()
	log := slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
	// MinResync = Resync: a fixed interval, so that no relisting the test did
	// not ask for stands in for a notification.
	ix := gallery.New(s, gallery.Options{Resync: resync, MinResync: resync, Log: log})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
	})
	f := &fixture{t: t, ctx: t.Context(), ix: ix}
	f.s, _ = s.(*gallerytest.Store)
	f.waitFor("the index to be ready", ix.Ready)
	return f
}

// waitFor polls cond until it holds, failing the test after a generous
// deadline.
func (f *fixture) waitFor(what string, cond func() bool) {
	f.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			f.t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// next returns the next event, failing after a generous deadline.
func (f *fixture) next(ch <-chan gallery.Event) gallery.Event {
	f.t.Helper()
	select {
	case ev, ok := <-ch:
		if !ok {
			f.t.Fatal("event channel closed")
		}
		return ev
	case <-time.After(10 * time.Second):
		f.t.Fatal("timed out waiting for an event")
	}
	return gallery.Event{}
}

// expect reads the next event and checks its op and id.
func (f *fixture) expect(ch <-chan gallery.Event, op gallery.EventOp, id string) gallery.Event {
	f.t.Helper()
	ev := f.next(ch)
	if ev.Op != op || ev.Entry.ID != id {
		f.t.Fatalf("event %v %q, want %v %q", ev.Op, ev.Entry.ID, op, id)
	}
	return ev
}

func (f *fixture) putEntry(id, prompt string, images ...[]byte) {
	f.t.Helper()
	if err := gallerytest.PutEntry(f.ctx, f.s, id, gallerytest.Metadata(prompt, 7, nil), images...); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) del(key string) {
	f.t.Helper()
	if err := f.s.Delete(f.ctx, key); err != nil {
		f.t.Fatal(err)
	}
}

func (f *fixture) page(limit int, before string) ([]gallery.Entry, string) {
	f.t.Helper()
	p, next, err := f.ix.Page(f.ctx, limit, before)
	if err != nil {
		f.t.Fatalf("page(%d, %q): %v", limit, before, err)
	}
	return p, next
}

func (f *fixture) has(id string) bool {
	_, ok, err := f.ix.Get(f.ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return ok
}

func ids(es []gallery.Entry) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.ID
	}
	return out
}
