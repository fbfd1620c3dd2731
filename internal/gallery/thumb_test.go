package gallery_test

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store"
)

func (f *fixture) thumb(id string, n int) ([]byte, store.Object) {
	f.t.Helper()
	rc, obj, err := f.ix.Thumbnail(f.ctx, id, n)
	if err != nil {
		f.t.Fatalf("thumbnail %s %d: %v", id, n, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		f.t.Fatal(err)
	}
	return b, obj
}

func TestThumbnailIsMadeOnce(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	f.putEntry("e", "p", gallerytest.PNG(512, 384), gallerytest.PNG(64, 64))
	f.waitFor("the entry", func() bool { return f.has("e") })

	var wg sync.WaitGroup
	got := make([][]byte, 4)
	for i := range got {
		wg.Go(func() { got[i], _ = f.thumb("e", 1) })
	}
	wg.Wait()
	again, obj := f.thumb("e", 1)
	for i := range got {
		if !bytes.Equal(got[i], again) {
			t.Fatalf("request %d got other bytes", i)
		}
	}
	if n := f.s.Gets(store.ImageKey("e", 1)); n != 1 {
		t.Errorf("the image was read %d times, want 1", n)
	}
	if st := f.ix.Stats(); st.ThumbsMade != 1 {
		t.Errorf("made %d thumbnails, want 1", st.ThumbsMade)
	}
	stored, err := f.s.Stat(f.ctx, store.ThumbKey("e", 1))
	if err != nil || !store.SameETag(stored.ETag, obj.ETag) || obj.ContentType != store.TypeJPEG {
		t.Fatalf("stored %+v (%v), served %+v", stored, err, obj)
	}
	img, err := jpeg.Decode(bytes.NewReader(again))
	if err != nil || img.Bounds().Dx() != 256 || img.Bounds().Dy() != 192 {
		t.Fatalf("thumbnail %v, %v", img.Bounds(), err)
	}
}

func TestThumbnailOfUnknownImageIsNotFound(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	f.putEntry("e", "p", gallerytest.PNG(8, 8))
	f.s.PutAt(store.ImageKey("half", 1), gallerytest.PNG(8, 8), store.TypePNG, time.Now())
	f.waitFor("the entry", func() bool { return f.has("e") })
	for _, c := range []struct {
		id string
		n  int
	}{{"e", 2}, {"e", 0}, {"nope", 1}, {"half", 1}, {"../e", 1}} {
		if _, _, err := f.ix.Thumbnail(f.ctx, c.id, c.n); !errors.Is(err, gallery.ErrNotFound) {
			t.Errorf("%s %d: %v, want ErrNotFound", c.id, c.n, err)
		}
	}
}

func TestThumbnailsGoWithTheirEntry(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	f.putEntry("e", "p", gallerytest.PNG(8, 8), gallerytest.PNG(8, 8))
	f.waitFor("the entry", func() bool { return f.has("e") })
	f.thumb("e", 1)
	f.thumb("e", 2)
	gone := func(key string) func() bool {
		return func() bool {
			_, err := f.s.Stat(context.Background(), key)
			return errors.Is(err, store.ErrNotFound)
		}
	}
	// An overwritten image makes its thumbnail stale.
	f.s.PutAt(store.ImageKey("e", 2), gallerytest.PNG(16, 16), store.TypePNG, time.Now())
	f.waitFor("the stale thumbnail to go", gone(store.ThumbKey("e", 2)))
	f.del(store.MetadataKey("e"))
	f.waitFor("the thumbnail to go with its entry", gone(store.ThumbKey("e", 1)))
}

func TestResyncDeletesOrphanThumbnails(t *testing.T) {
	t.Parallel()
	f := setup(t, 2)
	keep := gallerytest.FillID(1)
	f.thumb(keep, 1)
	orphans := []string{store.ThumbKey("gone", 1), store.ThumbKey(gallerytest.FillID(0), 2)}
	for _, k := range orphans {
		f.s.PutQuiet(k, []byte("x"), store.TypeJPEG, time.Now())
	}
	if err := f.ix.Resync(f.ctx); err != nil {
		t.Fatal(err)
	}
	for _, k := range orphans {
		f.waitFor("orphan "+k+" to go", func() bool {
			_, err := f.s.Stat(context.Background(), k)
			return errors.Is(err, store.ErrNotFound)
		})
	}
	if _, err := f.s.Stat(f.ctx, store.ThumbKey(keep, 1)); err != nil {
		t.Errorf("a valid thumbnail was deleted: %v", err)
	}
}
