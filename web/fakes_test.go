package web

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sort"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/store"
)

// fakeQueue records publishes; errors and length are set by the test.
type fakeQueue struct {
	mu         sync.Mutex
	published  []queue.Message
	events     []job.Event
	length     int
	lenErr     error
	publishErr error
	failAfter  int // with publishErr: the first failAfter publishes succeed
	feed       chan job.Event
}

func (q *fakeQueue) Publish(ctx context.Context, m queue.Message) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.publishErr != nil && len(q.published) >= q.failAfter {
		return q.publishErr
	}
	q.published = append(q.published, m)
	return nil
}

func (q *fakeQueue) PublishStatus(ctx context.Context, e job.Event) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.events = append(q.events, e)
	return nil
}

func (q *fakeQueue) Len(ctx context.Context) (int, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.length, q.lenErr
}

func (q *fakeQueue) Ping(ctx context.Context) error { return q.lenErr }

// SubscribeStatus hands out what the test sends to feed (handler tests
// mostly apply events to the status directly).
func (q *fakeQueue) SubscribeStatus(ctx context.Context) (<-chan job.Event, error) {
	q.mu.Lock()
	if q.feed == nil {
		q.feed = make(chan job.Event, 64)
	}
	feed := q.feed
	q.mu.Unlock()
	ch := make(chan job.Event)
	go func() {
		defer close(ch)
		for {
			select {
			case <-ctx.Done():
				return
			case e := <-feed:
				select {
				case ch <- e:
				case <-ctx.Done():
					return
				}
			}
		}
	}()
	return ch, nil
}

// publish sends e to the status subscription, as a worker would.
func (q *fakeQueue) publish(e job.Event) {
	q.mu.Lock()
	if q.feed == nil {
		q.feed = make(chan job.Event, 64)
	}
	feed := q.feed
	q.mu.Unlock()
	feed <- e
}

func (q *fakeQueue) statusEvents() []job.Event {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]job.Event(nil), q.events...)
}

func (q *fakeQueue) messages() []job.Message {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := make([]job.Message, 0, len(q.published))
	for _, p := range q.published {
		m, err := job.Decode(p.Body)
		if err != nil {
			panic(err)
		}
		out = append(out, m)
	}
	return out
}

// fakeGallery is a fixed list of entries, newest first, with their images in
// a map of key -> bytes; the cursor is the id of the last entry of a page.
type fakeGallery struct {
	mu      sync.Mutex
	entries []gallery.Entry
	files   map[string][]byte
	ready   bool
	putErr  error
}

func newFakeGallery() *fakeGallery { return &fakeGallery{files: map[string][]byte{}, ready: true} }

func (g *fakeGallery) add(e gallery.Entry, images ...[]byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for i, b := range images {
		key := store.ImageKey(e.ID, i+1)
		e.Images = append(e.Images, key)
		g.files[key] = b
		g.files[store.ThumbKey(e.ID, i+1)] = append([]byte("thumb:"), b...)
	}
	g.entries = append(g.entries, e)
	sort.Slice(g.entries, func(i, j int) bool { return g.entries[i].Modified.After(g.entries[j].Modified) })
}

func (g *fakeGallery) Ready() bool { g.mu.Lock(); defer g.mu.Unlock(); return g.ready }
func (g *fakeGallery) Len() int    { g.mu.Lock(); defer g.mu.Unlock(); return len(g.entries) }

func (g *fakeGallery) Page(ctx context.Context, limit int, before string) ([]gallery.Entry, string, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	start := 0
	if before != "" {
		start = -1
		for i, e := range g.entries {
			if e.ID == before {
				start = i + 1
			}
		}
		if start < 0 {
			return nil, "", gallery.ErrBadCursor
		}
	}
	end := min(start+limit, len(g.entries))
	page := append([]gallery.Entry(nil), g.entries[start:end]...)
	next := ""
	if end < len(g.entries) && end > start {
		next = g.entries[end-1].ID
	}
	return page, next, nil
}

func (g *fakeGallery) Get(ctx context.Context, id string) (gallery.Entry, bool, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, e := range g.entries {
		if e.ID == id {
			return e, true, nil
		}
	}
	return gallery.Entry{}, false, nil
}

func (g *fakeGallery) Thumbnail(ctx context.Context, id string, n int) (io.ReadCloser, store.Object, error) {
	return g.open(store.ThumbKey(id, n), store.TypeJPEG)
}

// Subscribe gives the status no gallery events: handler tests add entries
// directly, and the status looks them up (Get).
func (g *fakeGallery) Subscribe(int) (<-chan gallery.Event, func()) { return nil, func() {} }

// Notify is what the status tells the index of done jobs: ignored here.
func (g *fakeGallery) Notify(context.Context, store.Change) {}

// GetObject makes the fake an ImageStore too (through imagesOf).
func (g *fakeGallery) GetObject(ctx context.Context, key string) (io.ReadCloser, store.Object, error) {
	return g.open(key, store.TypePNG)
}

func (g *fakeGallery) open(key, ct string) (io.ReadCloser, store.Object, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.files[key]
	if !ok {
		return nil, store.Object{}, errors.Join(store.ErrNotFound, errors.New(key))
	}
	return io.NopCloser(bytes.NewReader(b)), store.Object{Key: key, Size: int64(len(b)),
		ETag: `"etag-` + key + `"`, Modified: time.Unix(0, 0), ContentType: ct}, nil
}

// Put stores an object (cancel markers); putErr fails it.
func (g *fakeGallery) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.putErr != nil {
		return g.putErr
	}
	g.files[key] = b
	return nil
}

func (g *fakeGallery) setFile(key string, b []byte) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.files[key] = b
}

func (g *fakeGallery) has(key string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.files[key]
	return ok
}

// imagesOf adapts the fake to ImageStore.
type imagesOf struct{ g *fakeGallery }

func (i imagesOf) Get(ctx context.Context, key string) (io.ReadCloser, store.Object, error) {
	return i.g.GetObject(ctx, key)
}
