package gallery_test

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/jpeg"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/store/fsstore"
)

// holdThumbPut is a store whose first Put of a thumbnail waits until the
// test releases it: the thumbnail has been made from the image as it was,
// and is not stored yet. Deletions of thumbnails are counted.
type holdThumbPut struct {
	store.Store
	reached, release chan struct{}
	once             sync.Once
	deletes          atomic.Int32
}

func newHoldThumbPut(s store.Store) *holdThumbPut {
	return &holdThumbPut{Store: s, reached: make(chan struct{}), release: make(chan struct{})}
}

func (s *holdThumbPut) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if kind, _, _ := store.ParseKey(key); kind == store.Thumb {
		first := false
		s.once.Do(func() { first = true; close(s.reached) })
		if first {
			select {
			case <-s.release:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
	}
	return s.Store.Put(ctx, key, r, size, contentType)
}

func (s *holdThumbPut) Delete(ctx context.Context, key string) error {
	if kind, _, _ := store.ParseKey(key); kind == store.Thumb {
		s.deletes.Add(1)
	}
	return s.Store.Delete(ctx, key)
}

// thumbShape is the size of a JPEG thumbnail.
func thumbShape(t *testing.T, data []byte) image.Point {
	t.Helper()
	cfg, err := jpeg.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a JPEG: %v", err)
	}
	return image.Pt(cfg.Width, cfg.Height)
}

// thumbOfAnOverwrittenImage: the image of an entry is overwritten (a
// redelivered job) while its thumbnail is being made from the old one, and
// the overwrite's notification has deleted the thumbnail before it is
// stored. The thumbnail served, stored and served again is the new image's:
// the old one, stored after the deletion and newer than the image, would
// have been served for good. overwrite writes the new image as another
// program would.
func thumbOfAnOverwrittenImage(t *testing.T, s store.Store, overwrite func(key string, png []byte)) {
	ctx := t.Context()
	before, after := gallerytest.PNG(40, 20), gallerytest.PNG(20, 40) // thumbnails of their own size
	if err := gallerytest.PutEntry(ctx, s, "e", gallerytest.Metadata("redelivered", 1, nil), before); err != nil {
		t.Fatal(err)
	}
	hold := newHoldThumbPut(s)
	f := run(t, hold)
	f.waitFor("the entry", func() bool { return f.has("e") })

	type result struct {
		data []byte
		err  error
	}
	served := make(chan result, 1)
	go func() {
		rc, _, err := f.ix.Thumbnail(ctx, "e", 1)
		if err != nil {
			served <- result{err: err}
			return
		}
		defer rc.Close()
		b, err := io.ReadAll(rc)
		served <- result{b, err}
	}()
	select {
	case <-hold.reached:
	case <-time.After(30 * time.Second):
		t.Fatal("the thumbnail was never stored")
	}
	overwrite(store.ImageKey("e", 1), after)
	deleted := time.Now()
	for hold.deletes.Load() == 0 && time.Since(deleted) < notifyWithin {
		time.Sleep(5 * time.Millisecond)
	}
	if hold.deletes.Load() == 0 {
		t.Logf("the overwrite's notification did not come within %s: the race is not the worst case this time", notifyWithin)
	}
	close(hold.release)

	want := image.Pt(20, 40)
	res := <-served
	if res.err != nil {
		t.Fatalf("thumbnail: %v", res.err)
	}
	if got := thumbShape(t, res.data); got != want {
		t.Errorf("the thumbnail served is %v, the new image's is %v: made from the image it replaced", got, want)
	}
	// A notification that comes late (MinIO's batches) may delete it
	// again: gone is fine, stale is not.
	switch rc, _, err := s.Get(ctx, store.ThumbKey("e", 1)); {
	case errors.Is(err, store.ErrNotFound):
		t.Log("the stored thumbnail was deleted again by a late notification")
	case err != nil:
		t.Fatalf("the stored thumbnail: %v", err)
	default:
		stored, _ := io.ReadAll(rc)
		rc.Close()
		if got := thumbShape(t, stored); got != want {
			t.Errorf("the stored thumbnail is %v, want the new image's %v", got, want)
		}
	}
	rc, _, err := f.ix.Thumbnail(ctx, "e", 1)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := io.ReadAll(rc)
	rc.Close()
	if got := thumbShape(t, again); got != want {
		t.Errorf("served again: %v, want %v", got, want)
	}
}

func TestThumbnailOfAnImageOverwrittenWhileItIsMadeOnADirectory(t *testing.T) {
	t.Parallel()
	s, err := fsstore.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	thumbOfAnOverwrittenImage(t, s, func(key string, png []byte) {
		if err := s.Put(t.Context(), key, bytes.NewReader(png), int64(len(png)), store.TypePNG); err != nil {
			t.Fatal(err)
		}
	})
}

func TestThumbnailOfAnImageOverwrittenWhileItIsMadeOnMinIO(t *testing.T) {
	t.Parallel()
	s, m := openMinIO(t)
	thumbOfAnOverwrittenImage(t, s, func(key string, png []byte) { m.mcPut(key, png, store.TypePNG) })
}
