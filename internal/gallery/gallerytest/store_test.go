package gallerytest_test

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store"
	"github.com/sdkeda/sdkeda/internal/store/storetest"
)

// The fake keeps the contract of the real stores.
func TestStoreContract(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		Open: func(t *testing.T) store.Store { return gallerytest.NewStore() },
		External: func(t *testing.T, s store.Store, key string, data []byte, remove bool) {
			if remove {
				_ = s.Delete(context.Background(), key)
				return
			}
			s.(*gallerytest.Store).PutAt(key, bytes.Clone(data), "", time.Now())
		},
		Wait: 5 * time.Second,
	})
}

func TestFill(t *testing.T) {
	t.Parallel()
	s := gallerytest.NewStore()
	gallerytest.Fill(s, 10, 2, time.Now().Add(-time.Hour))
	if imgs, newest := layout(t, s); len(imgs) != 10 || newest != gallerytest.FillID(9) || imgs[newest] != 2 {
		t.Fatalf("%d entries, newest %s with %d images", len(imgs), newest, imgs[newest])
	}
}

func TestSyntheticListsAndGets(t *testing.T) {
	t.Parallel()
	s := gallerytest.NewSynthetic(50, 2)
	if imgs, newest := layout(t, s); len(imgs) != 50 || newest != gallerytest.FillID(49) || imgs[newest] != 2 {
		t.Fatalf("%d entries, newest %s with %d images", len(imgs), newest, imgs[newest])
	}
	var byChar int
	for _, c := range "0123456789abcdef" {
		objs, err := s.List(t.Context(), string(c))
		if err != nil {
			t.Fatal(err)
		}
		byChar += len(objs)
	}
	if byChar != 150 {
		t.Errorf("lists by first character hold %d objects, want 150", byChar)
	}
	rc, o, err := s.Get(t.Context(), store.MetadataKey(gallerytest.FillID(7)))
	if err != nil || o.ContentType != store.TypeJSON || !o.Modified.Equal(s.Start.Add(7*time.Second)) {
		t.Fatalf("get: %+v %v", o, err)
	}
	rc.Close()
	for _, k := range []string{store.ImageKey(gallerytest.FillID(7), 3), store.MetadataKey(gallerytest.FillID(50)), "x.json"} {
		if _, _, err := s.Get(t.Context(), k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v", k, err)
		}
	}
	if err := s.Put(t.Context(), "thumbs/x-1.jpg", strings.NewReader("j"), 1, store.TypeJPEG); err != nil {
		t.Fatal(err)
	}
	if objs, _ := s.List(t.Context(), "thumbs/"); len(objs) != 1 {
		t.Errorf("overlay: %v", objs)
	}
}

// layout lists s: the number of images of each id that has a metadata JSON,
// and the id whose JSON is the newest.
func layout(t *testing.T, s store.Store) (imgs map[string]int, newest string) {
	t.Helper()
	objs, err := s.List(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	imgs = map[string]int{}
	var newestAt time.Time
	for _, o := range objs {
		if kind, id, _ := store.ParseKey(o.Key); kind == store.Metadata {
			imgs[id] = 0
			if o.Modified.After(newestAt) {
				newest, newestAt = id, o.Modified
			}
		}
	}
	for _, o := range objs {
		if kind, id, _ := store.ParseKey(o.Key); kind == store.Image {
			if _, ok := imgs[id]; ok {
				imgs[id]++
			}
		}
	}
	return imgs, newest
}
