package gallerytest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/sdkeda/sdkeda/internal/store"
)

// Synthetic is a read-mostly store.Store of n entries that holds almost
// nothing: its listing is generated on each List, and every entry shares one
// metadata JSON and one PNG. It measures what an index of a big bucket costs
// without the store's own objects in the same heap (benchmarks of the gallery
// and of the webui's memory). Entry i is FillID(i) with Images images,
// modified at Start + i seconds. Puts and deletes (thumbnails) go to a small
// overlay; deleting a generated object is not supported (ignored). Watch
// reports nothing.
type Synthetic struct {
	N      int
	Images int
	Start  time.Time
	Meta   []byte
	PNG    []byte

	byChar map[byte][]int32 // entry numbers by the first character of their id

	mu      sync.Mutex
	overlay map[string]object
}

var _ store.Store = (*Synthetic)(nil)

// NewSynthetic makes a store of n entries with images images each, the
// newest one second before now.
func NewSynthetic(n, images int) *Synthetic {
	s := &Synthetic{N: n, Images: images, Start: time.Now().Add(-time.Duration(n) * time.Second).Truncate(time.Second),
		Meta: Metadata("a synthetic entry for benchmarks, "+strings.Repeat("with a prompt of usual length ", 3), 42, nil),
		PNG:  PNG(8, 8), byChar: map[byte][]int32{}, overlay: map[string]object{}}
	for i := range n {
		c := FillID(i)[0]
		s.byChar[c] = append(s.byChar[c], int32(i))
	}
	return s
}

func (s *Synthetic) objects(i int) []store.Object {
	id, mod := FillID(i), s.Start.Add(time.Duration(i)*time.Second)
	out := make([]store.Object, 0, s.Images+1)
	for k := 1; k <= s.Images; k++ {
		out = append(out, store.Object{Key: store.ImageKey(id, k), Size: int64(len(s.PNG)), ETag: `"png"`,
			Modified: mod, ContentType: store.TypePNG})
	}
	return append(out, store.Object{Key: store.MetadataKey(id), Size: int64(len(s.Meta)), ETag: `"json"`,
		Modified: mod, ContentType: store.TypeJSON})
}

// entry returns the entry number of a generated key, or -1.
func (s *Synthetic) entry(key string) (int, store.Kind, int) {
	kind, id, n := store.ParseKey(key)
	if kind != store.Image && kind != store.Metadata {
		return -1, kind, n
	}
	if len(id) != 36 {
		return -1, kind, n
	}
	i, err := strconv.ParseInt(id[24:], 16, 32)
	if err != nil || int(i) >= s.N || FillID(int(i)) != id || (kind == store.Image && n > s.Images) {
		return -1, kind, n
	}
	return int(i), kind, n
}

// Put stores in the overlay.
func (s *Synthetic) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.overlay[key] = object{info: store.Object{Key: key, Size: int64(len(b)), ETag: `"overlay"`,
		Modified: time.Now().UTC(), ContentType: contentType}, data: b}
	return nil
}

// Get opens a generated object or one of the overlay.
func (s *Synthetic) Get(ctx context.Context, key string) (io.ReadCloser, store.Object, error) {
	if i, kind, _ := s.entry(key); i >= 0 {
		data := s.PNG
		if kind == store.Metadata {
			data = s.Meta
		}
		o, _ := s.Stat(ctx, key)
		return io.NopCloser(bytes.NewReader(data)), o, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.overlay[key]; ok {
		return io.NopCloser(bytes.NewReader(o.data)), o.info, nil
	}
	return nil, store.Object{}, fmt.Errorf("synthetic: get %s: %w", key, store.ErrNotFound)
}

// Stat describes a generated object or one of the overlay.
func (s *Synthetic) Stat(ctx context.Context, key string) (store.Object, error) {
	if i, _, _ := s.entry(key); i >= 0 {
		for _, o := range s.objects(i) {
			if o.Key == key {
				return o, nil
			}
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.overlay[key]; ok {
		return o.info, nil
	}
	return store.Object{}, fmt.Errorf("synthetic: stat %s: %w", key, store.ErrNotFound)
}

// List generates the objects under prefix, in key order. A prefix of one
// character or more only generates the entries it can match.
func (s *Synthetic) List(ctx context.Context, prefix string) ([]store.Object, error) {
	var out []store.Object
	add := func(i int32) {
		for _, o := range s.objects(int(i)) {
			if strings.HasPrefix(o.Key, prefix) {
				out = append(out, o)
			}
		}
	}
	if prefix == "" {
		for i := range s.N {
			add(int32(i))
		}
	} else {
		for _, i := range s.byChar[prefix[0]] {
			add(i)
		}
	}
	s.mu.Lock()
	for k, o := range s.overlay {
		if strings.HasPrefix(k, prefix) {
			out = append(out, o.info)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b store.Object) int { return strings.Compare(a.Key, b.Key) })
	return out, ctx.Err()
}

// Delete removes from the overlay.
func (s *Synthetic) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.overlay, key)
	return nil
}

// Watch reports nothing until ctx ends.
func (s *Synthetic) Watch(ctx context.Context) (<-chan store.Change, error) {
	ch := make(chan store.Change)
	go func() {
		<-ctx.Done()
		close(ch)
	}()
	return ch, nil
}

// Ping always succeeds.
func (s *Synthetic) Ping(ctx context.Context) error { return ctx.Err() }
