package status

import (
	"context"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/store"
)

// nopGallery holds no entry and ignores what it is told.
type nopGallery struct{}

func (nopGallery) Get(context.Context, string) (gallery.Entry, bool, error) {
	return gallery.Entry{}, false, nil
}
func (nopGallery) Notify(context.Context, store.Change) {}
