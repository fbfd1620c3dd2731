// Package gallerytest has fakes for tests and benchmarks of the gallery and
// its users: a fast in-memory store.Store with change notifications, and
// helpers that put entries in the layout of docs/design.md §2.3.
package gallerytest

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/sdkeda/sdkeda/internal/store"
)

// Store is an in-memory store.Store. Watch notifications are delivered in
// order through a buffer per watcher; a full buffer drops them (counted in
// Lost), as a real server may lose them.
type Store struct {
	mu       sync.Mutex
	objs     map[string]object
	watchers map[chan store.Change]struct{}
	now      func() time.Time

	gets map[string]int // Get calls per key

	// Lost counts notifications dropped for slow watchers.
	Lost atomic.Int64
}

type object struct {
	info store.Object
	data []byte // shared, never modified
}

var _ store.Store = (*Store)(nil)

// NewStore returns an empty store.
func NewStore() *Store {
	return &Store{objs: map[string]object{}, watchers: map[chan store.Change]struct{}{},
		gets: map[string]int{}, now: time.Now}
}

// Put stores r under key with Modified = now.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	b, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("memstore: put %s: %w", key, err)
	}
	s.PutAt(key, b, contentType, s.now())
	return nil
}

// PutAt stores data under key with the given Modified time, notifying
// watchers. data is kept, not copied: do not modify it afterwards.
func (s *Store) PutAt(key string, data []byte, contentType string, mod time.Time) {
	sum := md5.Sum(data)
	o := store.Object{Key: key, Size: int64(len(data)), ETag: `"` + hex.EncodeToString(sum[:]) + `"`,
		Modified: mod.UTC(), ContentType: contentType}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs[key] = object{info: o, data: data}
	s.notify(store.Change{Op: store.Put, Object: o})
}

// PutQuiet stores without notifying: a lost notification, or a fast fill.
func (s *Store) PutQuiet(key string, data []byte, contentType string, mod time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objs[key] = object{info: store.Object{Key: key, Size: int64(len(data)), ETag: `"fill"`,
		Modified: mod.UTC(), ContentType: contentType}, data: data}
}

// Get opens key.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, store.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, store.Object{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[key]
	if !ok {
		return nil, store.Object{}, fmt.Errorf("memstore: get %s: %w", key, store.ErrNotFound)
	}
	s.gets[key]++
	return io.NopCloser(bytes.NewReader(o.data)), o.info, nil
}

// Gets is the number of Get calls of key so far.
func (s *Store) Gets(key string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gets[key]
}

// Stat describes key.
func (s *Store) Stat(ctx context.Context, key string) (store.Object, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objs[key]
	if !ok {
		return store.Object{}, fmt.Errorf("memstore: stat %s: %w", key, store.ErrNotFound)
	}
	return o.info, nil
}

// List returns the objects under prefix in key order.
func (s *Store) List(ctx context.Context, prefix string) ([]store.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.mu.Lock()
	out := make([]store.Object, 0, len(s.objs))
	for k, o := range s.objs {
		if strings.HasPrefix(k, prefix) {
			out = append(out, o.info)
		}
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b store.Object) int { return strings.Compare(a.Key, b.Key) })
	return out, nil
}

// Delete removes key (a missing key is not an error), notifying watchers.
func (s *Store) Delete(ctx context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.objs[key]; !ok {
		return nil
	}
	delete(s.objs, key)
	s.notify(store.Change{Op: store.Removed, Object: store.Object{Key: key}})
	return nil
}

// DeleteQuiet removes key without notifying: a lost notification.
func (s *Store) DeleteQuiet(key string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.objs, key)
}

// Len is the number of objects stored.
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.objs)
}

// Watch reports changes made after it returns until ctx ends.
func (s *Store) Watch(ctx context.Context) (<-chan store.Change, error) {
	ch := make(chan store.Change, 4096)
	s.mu.Lock()
	s.watchers[ch] = struct{}{}
	s.mu.Unlock()
	go func() {
		<-ctx.Done()
		s.mu.Lock()
		delete(s.watchers, ch)
		close(ch)
		s.mu.Unlock()
	}()
	return ch, nil
}

// notify sends c to every watcher without blocking; s.mu is held, so the
// order of changes is the order of the writes.
func (s *Store) notify(c store.Change) {
	for ch := range s.watchers {
		select {
		case ch <- c:
		default:
			s.Lost.Add(1)
		}
	}
}

// Ping always succeeds.
func (s *Store) Ping(ctx context.Context) error { return ctx.Err() }
