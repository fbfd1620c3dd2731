package gallery_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store/fsstore"
)

// The notification path on a real watcher: files copied into and removed
// from the embedded mode's directory by a shell.
func TestDirectoryChangesByAShellShowAndGo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s, err := fsstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	f := run(t, s)
	events, cancel := f.ix.Subscribe(64)
	defer cancel()
	write := func(name string, data []byte) {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("cp-1.png", gallerytest.PNG(8, 8))
	write("cp.json", gallerytest.Metadata("copied", 5, nil))
	if ev := f.expect(events, gallery.Added, "cp"); len(ev.Entry.Images) != 1 {
		t.Errorf("added event: %+v", ev.Entry)
	}
	// A copy is not atomic: the JSON may be read half written first, and
	// again when its write is notified.
	f.waitFor("the metadata", func() bool {
		e, _, _ := f.ix.Get(f.ctx, "cp")
		return e.Meta != nil && e.Meta.Prompt == "copied"
	})
	// The time a notification brought is the listing's.
	if err := f.ix.Resync(f.ctx); err != nil {
		t.Fatal(err)
	}
	if st := f.ix.Stats(); st.ResyncChanges != 0 {
		t.Errorf("resync changed %d entries the notifications had applied", st.ResyncChanges)
	}
	if err := os.Remove(filepath.Join(dir, "cp.json")); err != nil {
		t.Fatal(err)
	}
	f.expect(events, gallery.Removed, "cp")
	if f.has("cp") {
		t.Error("removed entry still there")
	}
}
