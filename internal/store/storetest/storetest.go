// Package storetest is the contract suite of store.Store: every promise of
// the interface in package store, as subtests that any implementation must
// pass. The directory store (fsstore) and the MinIO one call the same Run
// from their own tests, each with a Harness that opens a fresh store.
//
// Subtests run in parallel, each on a store of its own. Watch notifications
// are awaited until a deadline, never after a fixed sleep.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/store"
)

// Harness adapts the suite to one implementation.
type Harness struct {
	// Open returns a fresh, empty store (a bucket or directory of its own);
	// the harness cleans it up when the test ends (t.Cleanup).
	Open func(t *testing.T) store.Store
	// External changes the store s behind its back, as another program
	// would (`cp` or `rm` in the directory, `mc cp` or `mc rm` on the
	// bucket): it writes data under key, or removes key when remove is
	// set. Nil skips the subtest of external changes.
	External func(t *testing.T, s store.Store, key string, data []byte, remove bool)
	// Wait bounds every wait for a notification (default 20s).
	Wait time.Duration
	// LossyWatch, when set, says why this backend's notifications may not
	// arrive in time at all here; the suite then checks that Watch opens
	// and ends, not what it delivers (readers must resync with List).
	LossyWatch string
}

// Run runs the whole suite against h.
func Run(t *testing.T, h Harness) {
	if h.Open == nil {
		t.Fatal("storetest: Harness.Open is required")
	}
	if h.Wait <= 0 {
		h.Wait = 20 * time.Second
	}
	tests := []struct {
		name string
		fn   func(*testing.T, *fixture)
	}{
		{"PutGetStat", testPutGetStat},
		{"ContentTypeByKind", testContentTypes},
		{"PutUnknownSize", testUnknownSize},
		{"MissingIsErrNotFound", testMissing},
		{"ListByPrefixInKeyOrder", testList},
		{"DeleteRemovesAndMissingIsFine", testDelete},
		{"OverwriteChangesETag", testOverwrite},
		{"WatchSeesPutAndRemove", testWatch},
		{"WatchSeesExternalChanges", testWatchExternal},
		{"WatchEndsWithContext", testWatchEnds},
		{"Ping", testPing},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := &fixture{t: t, h: h}
			f.s = h.Open(t)
			if f.s == nil {
				t.Fatal("Harness.Open returned nil")
			}
			tc.fn(t, f)
		})
	}
}

// fixture is one subtest's store and helpers.
type fixture struct {
	t *testing.T
	h Harness
	s store.Store
}

func (f *fixture) ctx() context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), f.h.Wait)
	f.t.Cleanup(cancel)
	return ctx
}

func (f *fixture) put(key, data, contentType string) {
	f.t.Helper()
	if err := f.s.Put(f.ctx(), key, bytes.NewReader([]byte(data)), int64(len(data)), contentType); err != nil {
		f.t.Fatalf("put %s: %v", key, err)
	}
}

// get reads key whole.
func (f *fixture) get(key string) (string, store.Object) {
	f.t.Helper()
	rc, o, err := f.s.Get(f.ctx(), key)
	if err != nil {
		f.t.Fatalf("get %s: %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		f.t.Fatalf("read %s: %v", key, err)
	}
	return string(b), o
}

func (f *fixture) stat(key string) store.Object {
	f.t.Helper()
	o, err := f.s.Stat(f.ctx(), key)
	if err != nil {
		f.t.Fatalf("stat %s: %v", key, err)
	}
	return o
}

func (f *fixture) notFound(key string) {
	f.t.Helper()
	if _, err := f.s.Stat(f.ctx(), key); !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("stat %s: got %v, want ErrNotFound", key, err)
	}
	rc, _, err := f.s.Get(f.ctx(), key)
	if err == nil {
		rc.Close()
	}
	if !errors.Is(err, store.ErrNotFound) {
		f.t.Errorf("get %s: got %v, want ErrNotFound", key, err)
	}
}

// keys lists prefix and returns the keys.
func (f *fixture) keys(prefix string) []string {
	f.t.Helper()
	objs, err := f.s.List(f.ctx(), prefix)
	if err != nil {
		f.t.Fatalf("list %q: %v", prefix, err)
	}
	out := []string{}
	for _, o := range objs {
		out = append(out, o.Key)
	}
	return out
}

// watch starts a watch that ends with the test.
func (f *fixture) watch() <-chan store.Change {
	f.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(cancel)
	ch, err := f.s.Watch(ctx)
	if err != nil {
		f.t.Fatalf("watch: %v", err)
	}
	return ch
}

// expect reads changes until one of op on key arrives (for a Put, with the
// given size, as a second notification may follow a partial write); other
// changes are skipped.
func (f *fixture) expect(ch <-chan store.Change, op store.Op, key string, size int) store.Change {
	f.t.Helper()
	deadline := time.After(f.h.Wait)
	var seen []string
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				f.t.Fatalf("watch closed while waiting for %s %s", op, key)
			}
			if c.Op == op && c.Object.Key == key && (op != store.Put || c.Object.Size == int64(size)) {
				return c
			}
			seen = append(seen, c.Op.String()+" "+c.Object.Key)
		case <-deadline:
			f.t.Fatalf("no %s %s notification; saw %v", op, key, seen)
		}
	}
}
