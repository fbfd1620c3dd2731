package fsstore_test

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/store/fsstore"
	"github.com/sdkeda/sdkeda/internal/store/storetest"
)

func TestContract(t *testing.T) {
	t.Parallel()
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) store.Store {
			s, err := fsstore.Open(filepath.Join(t.TempDir(), "images"))
			if err != nil {
				t.Fatal(err)
			}
			return s
		},
		// As `cp` and `rm` in a shell: a plain, non-atomic write.
		External: func(t *testing.T, s store.Store, key string, data []byte, remove bool) {
			p := filepath.Join(s.(*fsstore.Store).Dir(), filepath.FromSlash(key))
			if remove {
				if err := os.Remove(p); err != nil {
					t.Fatal(err)
				}
				return
			}
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func setup(t *testing.T) (*fsstore.Store, context.Context) {
	t.Helper()
	s, err := fsstore.Open(filepath.Join(t.TempDir(), "images"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return s, ctx
}

func TestRefusesKeysOutsideTheDirectory(t *testing.T) {
	t.Parallel()
	s, ctx := setup(t)
	for _, key := range []string{"", "../x.png", "a/../../x.png", "/etc/passwd", `a\b.png`, "a//b.png",
		"thumbs/", ".hidden.png", "thumbs/.tmp-1", "a..b.png", "nul\x00.png"} {
		if err := s.Put(ctx, key, strings.NewReader("x"), 1, store.TypePNG); !errors.Is(err, fsstore.ErrBadKey) {
			t.Errorf("put %q: got %v, want ErrBadKey", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("stat %q: got %v, want ErrNotFound", key, err)
		}
		if _, _, err := s.Get(ctx, key); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("get %q: got %v, want ErrNotFound", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, fsstore.ErrBadKey) {
			t.Errorf("delete %q: got %v, want ErrBadKey", key, err)
		}
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(s.Dir()), "x.png")); err == nil {
		t.Error("a key escaped the directory")
	}
}

// While a Put is half done, nobody sees the object: not Stat, not List, not
// Watch; the watch reports the finished file only, never the temporary one.
func TestHalfWrittenObjectIsInvisible(t *testing.T) {
	t.Parallel()
	s, ctx := setup(t)
	changes, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- s.Put(ctx, "a-1.png", pr, 8, store.TypePNG) }()
	pw.Write([]byte("half"))
	if _, err := s.Stat(ctx, "a-1.png"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("stat during the write: %v", err)
	}
	if objs, err := s.List(ctx, ""); err != nil || len(objs) != 0 {
		t.Errorf("list during the write: %v %v", objs, err)
	}
	pw.Write([]byte("full"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for c := range changes {
		if strings.Contains("/"+c.Object.Key, "/.") {
			t.Fatalf("watch reported a hidden file: %+v", c)
		}
		if c.Op == store.Put && c.Object.Key == "a-1.png" {
			if c.Object.Size != 8 {
				t.Errorf("put notified with size %d", c.Object.Size)
			}
			return
		}
	}
	t.Fatal("watch ended before the put")
}

// A Put that fails leaves neither the object nor a temporary file.
func TestFailedPutLeavesNothing(t *testing.T) {
	t.Parallel()
	s, ctx := setup(t)
	if err := s.Put(ctx, "thumbs/a-1.jpg", strings.NewReader("short"), 100, store.TypeJPEG); err == nil {
		t.Error("put of fewer bytes than announced succeeded")
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Put(cancelled, "a.json", strings.NewReader("{}"), 2, store.TypeJSON); err == nil {
		t.Error("put with an ended context succeeded")
	}
	var left []string
	filepath.WalkDir(s.Dir(), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			left = append(left, p)
		}
		return nil
	})
	if len(left) != 0 {
		t.Errorf("files left behind: %v", left)
	}
}

func TestOpenRemovesStaleTemporaryFiles(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stale := filepath.Join(dir, "thumbs", ".tmp-123")
	fresh := filepath.Join(dir, ".tmp-456")
	os.MkdirAll(filepath.Dir(stale), 0o755)
	os.WriteFile(stale, []byte("x"), 0o644)
	os.WriteFile(fresh, []byte("x"), 0o644)
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(stale, old, old)
	if _, err := fsstore.Open(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a write in progress lost its temporary file: %v", err)
	}
}

func TestOpenRefusesAFile(t *testing.T) {
	t.Parallel()
	p := filepath.Join(t.TempDir(), "file")
	os.WriteFile(p, nil, 0o644)
	if _, err := fsstore.Open(p); err == nil {
		t.Error("opened a file as a store")
	}
}

// Directories made behind the store's back are watched too, and files moved
// in and out are reported as put and removed.
func TestWatchFollowsNewDirectoriesAndMoves(t *testing.T) {
	t.Parallel()
	s, ctx := setup(t)
	changes, err := s.Watch(ctx)
	if err != nil {
		t.Fatal(err)
	}
	outside := t.TempDir()
	nested := filepath.Join(s.Dir(), "thumbs", "deep")
	if err := os.MkdirAll(nested, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(nested, "x-1.jpg"), []byte("x"), 0o644)
	expect(t, changes, store.Put, "thumbs/deep/x-1.jpg")
	// A later file in the new directory: its watch is in place by now.
	os.WriteFile(filepath.Join(nested, "x-2.jpg"), []byte("x"), 0o644)
	expect(t, changes, store.Put, "thumbs/deep/x-2.jpg")

	os.WriteFile(filepath.Join(outside, "m.json"), []byte("{}"), 0o644)
	if err := os.Rename(filepath.Join(outside, "m.json"), filepath.Join(s.Dir(), "m.json")); err != nil {
		t.Fatal(err)
	}
	expect(t, changes, store.Put, "m.json")
	if err := os.Rename(filepath.Join(s.Dir(), "m.json"), filepath.Join(outside, "m.json")); err != nil {
		t.Fatal(err)
	}
	expect(t, changes, store.Removed, "m.json")
}

func expect(t *testing.T, ch <-chan store.Change, op store.Op, key string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case c, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed while waiting for %s %s", op, key)
			}
			if c.Op == op && c.Object.Key == key {
				return
			}
		case <-deadline:
			t.Fatalf("no %s %s", op, key)
		}
	}
}
