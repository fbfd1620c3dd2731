package gallery_test

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/gallery/gallerytest"
	"github.com/sdkeda/sdkeda/internal/store"
)

func TestPagesAreNewestFirstWithMetadata(t *testing.T) {
	t.Parallel()
	f := setup(t, 100)
	var got []string
	before, pages := "", 0
	for {
		p, next := f.page(30, before)
		for _, e := range p {
			if e.Meta == nil || e.Meta.Prompt == "" || e.Meta.Model != "stabilityai/sd-turbo" {
				t.Fatalf("entry %s: metadata not loaded: %+v", e.ID, e.Meta)
			}
			if len(e.Images) != 1 || e.Images[0] != store.ImageKey(e.ID, 1) {
				t.Fatalf("entry %s: images %v", e.ID, e.Images)
			}
		}
		got = append(got, ids(p)...)
		pages++
		if next == "" {
			break
		}
		before = next
	}
	var want []string
	for i := 99; i >= 0; i-- {
		want = append(want, gallerytest.FillID(i))
	}
	if !slices.Equal(got, want) || pages != 4 {
		t.Fatalf("%d pages, ids %v\nwant %v", pages, got, want)
	}
	if f.ix.Len() != 100 {
		t.Errorf("len %d, want 100", f.ix.Len())
	}
}

func TestPageLimitsAndBadCursor(t *testing.T) {
	t.Parallel()
	f := setup(t, 300)
	if p, _ := f.page(0, ""); len(p) != gallery.DefaultPage {
		t.Errorf("limit 0: %d entries, want %d", len(p), gallery.DefaultPage)
	}
	if p, _ := f.page(1000, ""); len(p) != gallery.MaxPage {
		t.Errorf("limit 1000: %d entries, want %d", len(p), gallery.MaxPage)
	}
	for _, c := range []string{"x", "12~../x", "abc~id", "~"} {
		if _, _, err := f.ix.Page(f.ctx, 10, c); !errors.Is(err, gallery.ErrBadCursor) {
			t.Errorf("cursor %q: err %v, want ErrBadCursor", c, err)
		}
	}
}

func TestCursorSurvivesRemovalOfItsEntry(t *testing.T) {
	t.Parallel()
	f := setup(t, 10)
	p, next := f.page(3, "")
	f.del(store.MetadataKey(p[2].ID))
	f.waitFor("the removal", func() bool { return f.ix.Len() == 9 })
	p, _ = f.page(3, next)
	want := []string{gallerytest.FillID(6), gallerytest.FillID(5), gallerytest.FillID(4)}
	if !slices.Equal(ids(p), want) {
		t.Fatalf("after the cursor's entry went: %v, want %v", ids(p), want)
	}
}

func TestEntryWithoutJSONIsNotShown(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	events, cancel := f.ix.Subscribe(16)
	defer cancel()
	img := gallerytest.PNG(4, 4)
	for n := 1; n <= 2; n++ {
		f.s.PutAt(store.ImageKey("half", n), img, store.TypePNG, time.Now())
	}
	// Notifications apply in order: once "whole" is in, the images of
	// "half" were seen before it.
	f.putEntry("whole", "whole entry", img)
	f.expect(events, gallery.Added, "whole")
	if f.has("half") || f.ix.Len() != 1 {
		t.Fatalf("an entry without JSON is shown (len %d)", f.ix.Len())
	}
	if p, _ := f.page(10, ""); !slices.Equal(ids(p), []string{"whole"}) {
		t.Fatalf("page %v", ids(p))
	}

	f.s.PutAt(store.MetadataKey("half"), gallerytest.Metadata("now whole", 1, nil), store.TypeJSON, time.Now())
	ev := f.expect(events, gallery.Added, "half")
	if ev.Entry.Meta == nil || ev.Entry.Meta.Prompt != "now whole" {
		t.Errorf("a notified entry comes with its metadata: %+v", ev.Entry.Meta)
	}
	if !slices.Equal(ev.Entry.Images, []string{"half-1.png", "half-2.png"}) {
		t.Errorf("images %v", ev.Entry.Images)
	}
}

func TestRemovedAndOverwrittenEntries(t *testing.T) {
	t.Parallel()
	f := setup(t, 3)
	events, cancel := f.ix.Subscribe(16)
	defer cancel()
	id := gallerytest.FillID(1)

	f.putEntry(id, "second run")
	f.expect(events, gallery.Updated, id) // the image, overwritten: no event
	e, ok, err := f.ix.Get(f.ctx, id)
	if err != nil || !ok || e.Meta.Prompt != "second run" {
		t.Fatalf("after overwrite: %v %v %+v", ok, err, e.Meta)
	}
	if p, _ := f.page(1, ""); p[0].ID != id {
		t.Errorf("the overwritten entry is the newest now: got %s", p[0].ID)
	}

	f.del(store.ImageKey(id, 1))
	if ev := f.expect(events, gallery.Updated, id); len(ev.Entry.Images) != 0 {
		t.Errorf("images after removal: %v", ev.Entry.Images)
	}
	f.del(store.MetadataKey(id))
	f.expect(events, gallery.Removed, id)
	if f.has(id) || f.ix.Len() != 2 {
		t.Errorf("removed entry still there (len %d)", f.ix.Len())
	}
}

func TestInvalidJSONStillMakesAnEntry(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	f.s.PutAt(store.ImageKey("bad", 1), gallerytest.PNG(4, 4), store.TypePNG, time.Now())
	f.s.PutAt(store.MetadataKey("bad"), []byte("{not json"), store.TypeJSON, time.Now())
	f.waitFor("the entry", func() bool { return f.has("bad") })
	p, _ := f.page(10, "")
	if len(p) != 1 || p[0].Meta == nil || !reflect.DeepEqual(*p[0].Meta, gallery.Meta{}) {
		t.Fatalf("page %+v", p)
	}
}

func TestResyncFindsLostNotifications(t *testing.T) {
	t.Parallel()
	f := setup(t, 3)
	events, cancel := f.ix.Subscribe(16)
	defer cancel()
	now := time.Now()
	f.s.PutQuiet(store.ImageKey("late", 1), gallerytest.PNG(4, 4), store.TypePNG, now)
	f.s.PutQuiet(store.MetadataKey("late"), gallerytest.Metadata("late", 1, nil), store.TypeJSON, now)
	f.s.DeleteQuiet(store.MetadataKey(gallerytest.FillID(0)))
	if err := f.ix.Resync(f.ctx); err != nil {
		t.Fatal(err)
	}
	got := map[gallery.EventOp]string{}
	for range 2 {
		ev := f.next(events)
		got[ev.Op] = ev.Entry.ID
	}
	if got[gallery.Added] != "late" || got[gallery.Removed] != gallerytest.FillID(0) {
		t.Fatalf("events %v", got)
	}
	p, _ := f.page(10, "")
	want := []string{"late", gallerytest.FillID(2), gallerytest.FillID(1)}
	if !slices.Equal(ids(p), want) {
		t.Errorf("page %v, want %v", ids(p), want)
	}
	if st := f.ix.Stats(); st.ResyncChanges != 2 || st.Resyncs != 2 {
		t.Errorf("stats %+v", st)
	}
	// Nothing changed since: nothing to report.
	if err := f.ix.Resync(f.ctx); err != nil {
		t.Fatal(err)
	}
	if st := f.ix.Stats(); st.ResyncChanges != 2 {
		t.Errorf("a resync without changes found %d", st.ResyncChanges-2)
	}
}

func TestSlowSubscriberGetsLostNotBlocked(t *testing.T) {
	t.Parallel()
	f := setup(t, 0)
	events, cancel := f.ix.Subscribe(2)
	for _, id := range []string{"a", "b", "c"} {
		f.putEntry(id, id)
		f.waitFor(id, func() bool { return f.has(id) })
	}
	f.expect(events, gallery.Added, "a")
	if ev := f.next(events); ev.Op != gallery.Lost {
		t.Fatalf("after a full buffer: %v, want Lost", ev.Op)
	}
	if d := f.ix.Stats().Dropped; d != 2 {
		t.Errorf("dropped %d, want 2", d)
	}
	f.putEntry("d", "d")
	f.expect(events, gallery.Added, "d")
	cancel()
	if _, ok := <-events; ok {
		t.Error("the channel is open after cancel")
	}
	cancel() // twice is fine
}
