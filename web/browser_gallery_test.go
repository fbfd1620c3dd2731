package web

import (
	"context"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/sdkeda/sdkeda/internal/gallery"
)

// A group card's image keeps its own metadata in the lightbox when a live
// event brings its entry again (an "updated" after a second notification, or
// an "added" for an entry the page shows already): the copy that replaces it
// came from a card of its own, where its metadata was the card's, not its
// set's. (It showed the group's first entry's, seed and all.)
func TestBrowserGroupImageKeepsItsMetadataWhenItsEntryComesAgain(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.now = time.Now().UTC()
	d := &demo{fixture: f}
	const group, first, second = "77777777-7777-4777-8777-777777777777",
		"71000001-0000-4000-8000-000000000001", "71000002-0000-4000-8000-000000000002"
	d.entry(first, "a paper boat", 501, group, 1, f.now.Add(-2*time.Minute))
	d.entry(second, "a paper boat", 502, group, 1, f.now.Add(-time.Minute))
	feed := &chanFeed{g: f.gallery, ch: make(chan gallery.Event, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		FollowGallery(ctx, feed, f.hub, nil, nopLog(), func() time.Time { return f.now })
	}()
	srv := httptest.NewServer(f.handler)
	t.Cleanup(func() { cancel(); <-done; srv.Close() })

	bctx, problems := browser(t)
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"/"), chromedp.WaitVisible(css("gallery-entry"))); err != nil {
		t.Fatalf("open the page: %v (console: %v)", err, problems())
	}
	if n := eval[int](t, bctx, `document.querySelectorAll('[data-testid=gallery-entry] .shot-set').length`); n != 2 {
		t.Fatalf("the group card has %d images, want 2", n)
	}
	waitFor(t, "the page's event stream", func() bool { return f.hub.Clients() == 1 })
	seedOf := func(i int) string {
		t.Helper()
		press(t, bctx, `[data-testid=gallery-entry] .shot-set:nth-child(`+strconv.Itoa(i)+`) a.shot`)
		poll(t, bctx, "the lightbox opens", `document.getElementById('lightbox').open`, problems)
		meta := eval[string](t, bctx, `document.querySelector('.lightbox-meta').textContent`)
		press(t, bctx, `[data-testid=lightbox-close]`)
		poll(t, bctx, "the lightbox closes", `!document.getElementById('lightbox').open`, problems)
		return meta
	}
	for _, op := range []gallery.EventOp{gallery.Updated, gallery.Added} {
		// Mark the sets, so that their replacements can be told apart.
		eval[bool](t, bctx, `document.querySelectorAll('.shot-set').forEach(s => s.dataset.old = '1'), true`)
		e, _, _ := f.gallery.Get(context.Background(), second)
		feed.ch <- gallery.Event{Op: op, Entry: e}
		poll(t, bctx, "the second image's set replaced", `!document.getElementById('entry-`+second+`').dataset.old`, problems)
		for i, want := range []string{"Seed501", "Seed502"} {
			if meta := seedOf(i + 1); !strings.Contains(meta, want) {
				t.Errorf("after %s of the second entry: image %d's metadata %q lacks %s", op, i+1, meta, want)
			}
		}
	}
	noProblems(t, problems)
}
