package gallerytest_test

import (
	"bytes"
	"context"
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
	entries, err := store.ListEntries(t.Context(), s)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 10 || entries[0].ID != gallerytest.FillID(9) || len(entries[0].Images) != 2 {
		t.Fatalf("%d entries, newest %+v", len(entries), entries[0])
	}
}
