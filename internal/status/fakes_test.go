package status

import (
	"context"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/store"
)

// nopGallery holds no entry and ignores what it is told.
type nopGallery struct{}

func (nopGallery) Get(context.Context, string) (gallery.Entry, bool, error) {
	return gallery.Entry{}, false, nil
}
func (nopGallery) Subscribe(int) (<-chan gallery.Event, func()) { return nil, func() {} }
func (nopGallery) Notify(context.Context, store.Change)         {}

// fakeGallery holds the entries the test adds, sending their events to its
// subscriber; it records what it is notified of.
type fakeGallery struct {
	mu       sync.Mutex
	entries  map[string]gallery.Entry
	notified []string
	events   chan gallery.Event
}

func newFakeGallery() *fakeGallery {
	return &fakeGallery{entries: map[string]gallery.Entry{}, events: make(chan gallery.Event, 64)}
}

// add puts an entry in; quietly: without an event (as during a first load
// or after lost notifications).
func (g *fakeGallery) add(id string, quietly bool) gallery.Entry {
	e := gallery.Entry{ID: id, Modified: time.Now().Truncate(time.Second), Images: []string{store.ImageKey(id, 1)},
		Meta: &gallery.Meta{Prompt: "from the gallery", Worker: "w9"}}
	g.mu.Lock()
	g.entries[id] = e
	g.mu.Unlock()
	if !quietly {
		g.events <- gallery.Event{Op: gallery.Added, Entry: e}
	}
	return e
}

func (g *fakeGallery) Get(_ context.Context, id string) (gallery.Entry, bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	e, ok := g.entries[id]
	return e, ok, nil
}

func (g *fakeGallery) Subscribe(int) (<-chan gallery.Event, func()) { return g.events, func() {} }

func (g *fakeGallery) Notify(_ context.Context, c store.Change) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.notified = append(g.notified, c.Object.Key)
}

func (g *fakeGallery) notifiedKeys() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]string(nil), g.notified...)
}
