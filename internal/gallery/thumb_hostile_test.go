package gallery_test

import (
	"bytes"
	"context"
	"errors"
	"image/jpeg"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

// hostileIndex is a running index on s, loaded, logging into logs.
func hostileIndex(t *testing.T, s store.Store, logs *testenv.Buffer) *gallery.Index {
	t.Helper()
	ix := gallery.New(s, gallery.Options{Resync: time.Hour, Log: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- ix.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for !ix.Ready() {
		time.Sleep(5 * time.Millisecond)
	}
	return ix
}

func readThumb(t *testing.T, ix *gallery.Index, id string) ([]byte, store.Object) {
	t.Helper()
	rc, obj, err := ix.Thumbnail(t.Context(), id, 1)
	if err != nil {
		t.Fatalf("thumbnail of %s: %v", id, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b, obj
}

// An image that is not a PNG gets a placeholder thumbnail (D10): made once,
// stored like any thumbnail, logged once; the image is not read again.
func TestNotAPNGGetsAPlaceholderOnce(t *testing.T) {
	t.Parallel()
	s := gallerytest.NewStore()
	old := time.Now().Add(-time.Minute)
	whole := gallerytest.PNG(512, 512)
	for id, img := range map[string][]byte{"gif": []byte("GIF89a\x01\x00\x01\x00"), "empty": {},
		"cut": whole[:len(whole)/2]} {
		s.PutAt(store.ImageKey(id, 1), img, store.TypePNG, old)
		s.PutAt(store.MetadataKey(id), gallerytest.Metadata(id, 1, nil), store.TypeJSON, old)
	}
	var logs testenv.Buffer
	ix := hostileIndex(t, s, &logs)
	for _, id := range []string{"gif", "empty", "cut"} {
		first, _ := readThumb(t, ix, id)
		for range 2 {
			if again, _ := readThumb(t, ix, id); !bytes.Equal(again, first) {
				t.Errorf("%s: another placeholder", id)
			}
		}
		img, err := jpeg.Decode(bytes.NewReader(first))
		if err != nil || img.Bounds().Dx() != gallery.ThumbSize || img.Bounds().Dy() != gallery.ThumbSize {
			t.Errorf("%s: placeholder %v, %v", id, img.Bounds(), err)
		}
		if n := s.Gets(store.ImageKey(id, 1)); n != 1 {
			t.Errorf("%s: the image was read %d times, want 1", id, n)
		}
		if _, err := s.Stat(t.Context(), store.ThumbKey(id, 1)); err != nil {
			t.Errorf("%s: the placeholder is not stored: %v", id, err)
		}
		if n := strings.Count(logs.String(), store.ImageKey(id, 1)); n != 1 {
			t.Errorf("%s: logged %d times, want once:\n%s", id, n, logs.String())
		}
	}
	// A new image replaces the placeholder, as it would a thumbnail.
	s.PutAt(store.ImageKey("gif", 1), gallerytest.PNG(512, 256), store.TypePNG, time.Now())
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := s.Stat(t.Context(), store.ThumbKey("gif", 1)); errors.Is(err, store.ErrNotFound) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the placeholder of a replaced image stays")
		}
	}
	b, _ := readThumb(t, ix, "gif")
	if img, err := jpeg.Decode(bytes.NewReader(b)); err != nil || img.Bounds().Dy() != 128 {
		t.Errorf("thumbnail of the new image: %v", err)
	}
}

// An image whose decoding alone would be over the budget (D3) is not
// decoded: a placeholder of its shape stands in. Not parallel: it reads the
// process's allocation counter.
func TestImageOverBudgetIsNotDecoded(t *testing.T) {
	s := gallerytest.NewStore()
	old := time.Now().Add(-time.Minute)
	big := gallerytest.PNG16(4096, 2048) // 64 MiB decoded: at the budget
	bigger := gallerytest.PNG16(4096, 4096)
	ids := []string{"p0", "p1", "p2", "p3", "p4"}
	for _, id := range ids {
		s.PutAt(store.ImageKey(id, 1), bigger, store.TypePNG, old)
		s.PutAt(store.MetadataKey(id), gallerytest.Metadata(id, 1, nil), store.TypeJSON, old)
	}
	s.PutAt(store.ImageKey("fits", 1), big, store.TypePNG, old)
	s.PutAt(store.MetadataKey("fits"), gallerytest.Metadata("fits", 1, nil), store.TypeJSON, old)
	var logs testenv.Buffer
	ix := hostileIndex(t, s, &logs)

	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	var wg sync.WaitGroup
	thumbs := make([][]byte, len(ids))
	for i, id := range ids {
		wg.Go(func() { thumbs[i], _ = readThumb(t, ix, id) })
	}
	wg.Wait()
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 16<<20 {
		t.Errorf("five thumbnails over budget allocated %d MB", alloc>>20)
	}
	for i, b := range thumbs {
		img, err := jpeg.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Dx() != 256 || img.Bounds().Dy() != 256 {
			t.Errorf("%s: %v %v", ids[i], img.Bounds(), err)
		}
	}
	if !strings.Contains(logs.String(), "16-bit colour PNG takes 128 MiB decoded, over the budget of 64 MiB") {
		t.Errorf("log: %s", logs.String())
	}
	// One at the budget is decoded: a real thumbnail, of its shape.
	b, _ := readThumb(t, ix, "fits")
	if img, err := jpeg.Decode(bytes.NewReader(b)); err != nil || img.Bounds().Dx() != 256 || img.Bounds().Dy() != 128 {
		t.Errorf("at the budget: %v, %v", img.Bounds(), err)
	}
	if strings.Contains(logs.String(), "fits-1.png") {
		t.Errorf("an image at the budget got a placeholder: %s", logs.String())
	}
}

// failingStore fails the reads of images after a few bytes, as a store
// whose connection breaks does.
type failingStore struct {
	*gallerytest.Store
	mu   sync.Mutex
	fail bool
}

func (f *failingStore) Get(ctx context.Context, key string) (io.ReadCloser, store.Object, error) {
	rc, obj, err := f.Store.Get(ctx, key)
	f.mu.Lock()
	defer f.mu.Unlock()
	if err == nil && f.fail && strings.HasSuffix(key, ".png") {
		return io.NopCloser(io.MultiReader(io.LimitReader(rc, 40), errReader{})), obj, nil
	}
	return rc, obj, err
}

type errReader struct{}

func (errReader) Read([]byte) (int, error) { return 0, errors.New("connection reset") }

// A store that fails is not an image that cannot be decoded: no placeholder
// is stored, the next request tries again.
func TestStoreFailureIsNoPlaceholder(t *testing.T) {
	t.Parallel()
	s := &failingStore{Store: gallerytest.NewStore(), fail: true}
	old := time.Now().Add(-time.Minute)
	s.PutAt(store.ImageKey("e", 1), gallerytest.PNG(512, 512), store.TypePNG, old)
	s.PutAt(store.MetadataKey("e"), gallerytest.Metadata("e", 1, nil), store.TypeJSON, old)
	ix := hostileIndex(t, s, &testenv.Buffer{})
	_, _, err := ix.Thumbnail(t.Context(), "e", 1)
	if err == nil || !strings.Contains(err.Error(), "connection reset") || errors.Is(err, gallery.ErrUndecodable) {
		t.Fatalf("got %v, want the store's error", err)
	}
	if _, err := s.Stat(t.Context(), store.ThumbKey("e", 1)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("something was stored: %v", err)
	}
	s.mu.Lock()
	s.fail = false
	s.mu.Unlock()
	b, _ := readThumb(t, ix, "e")
	if img, err := jpeg.Decode(bytes.NewReader(b)); err != nil || img.Bounds().Dx() != 256 {
		t.Fatalf("after the store came back: %v", err)
	}
}
