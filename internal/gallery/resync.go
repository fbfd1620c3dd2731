package gallery

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/sdkeda/sdkeda/internal/store"
)

// listChars are the first characters of every key of an entry (ids start
// with one of them, store.ValidID). A big bucket is listed one of them at a
// time: a single listing of a bucket of 100k entries is ~300k objects, ~60 MB
// at once, which alone would break the webui's memory budget. A small one
// (below wholeListingMax keys) is listed whole: one LIST call instead of 63.
const listChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// resyncResult is what one relisting did.
type resyncResult struct {
	lists     int // LIST calls it cost (estimated from the keys each listing returned)
	nextLists int // what the next one will cost, on this bucket
	objects   int // keys listed
	changes   int // differences it found: changes the notifications missed
	took      time.Duration
}

// wholeListing reports whether the next relisting lists the bucket at once.
// resyncMu is held.
func (ix *Index) wholeListing() bool {
	return ix.lastObjects >= 0 && max(ix.lastObjects, 3*ix.Len()) < wholeListingMax
}

// listed is what a listing says of an id.
type listed struct {
	mod  int64
	imgs uint64
	json bool
}

// Resync relists the store now and applies the difference: entries whose
// notifications were lost appear, vanish or move; thumbnails whose image or
// entry is gone, or older than their image, are deleted. Run calls it at
// start, every Options.Resync and after the change stream broke; tests and
// benchmarks may call it without Run. The first success makes the index
// Ready.
func (ix *Index) Resync(ctx context.Context) error {
	_, err := ix.resync(ctx)
	return err
}

func (ix *Index) resync(ctx context.Context) (res resyncResult, err error) {
	ix.resyncMu.Lock()
	defer ix.resyncMu.Unlock()
	start := time.Now()
	defer func() { res.took = time.Since(start) }()
	// From here on notifications mark what they change: the listing may
	// predate those changes.
	ix.mu.Lock()
	ix.touched = map[string]struct{}{}
	ix.gen++
	gen := ix.gen
	ix.mu.Unlock()
	defer func() {
		ix.mu.Lock()
		ix.touched = nil
		ix.mu.Unlock()
	}()

	list := func(prefix string) ([]store.Object, error) {
		objs, err := ix.s.List(ctx, prefix)
		if err != nil {
			return nil, fmt.Errorf("gallery: resync: %w", err)
		}
		res.lists += lists(len(objs))
		res.objects += len(objs)
		return objs, nil
	}
	// The parts to scan: the whole bucket at once, or one first character
	// at a time (a part is listed just before it is scanned).
	var whole []store.Object
	parts := []string{""}
	if !ix.wholeListing() {
		parts = strings.Split(listChars, "")
	}
	var thumbObjs []store.Object
	if len(parts) == 1 {
		if whole, err = list(""); err != nil {
			return res, err
		}
		thumbObjs = whole
	} else if thumbObjs, err = list(store.ThumbPrefix); err != nil {
		return res, err
	}
	thumbs := thumbTimes(thumbObjs)
	changes := 0
	var stale []string
	for _, part := range parts {
		objs := whole
		if len(parts) > 1 {
			if objs, err = list(part); err != nil {
				return res, err
			}
		}
		seen := scan(objs, thumbs, &stale)
		ix.mu.Lock()
		for id, l := range seen {
			if ix.fresh(id) {
				if r := ix.recs[id]; r != nil {
					r.gen = gen
				}
				continue
			}
			r := ix.get(id)
			r.gen = gen
			if ix.reconcile(r, l) {
				changes++
			}
		}
		ix.mu.Unlock()
	}

	// What the index holds and no listing had is gone; a thumbnail is stale
	// unless the index holds its image now.
	ix.mu.Lock()
	for id, r := range ix.recs {
		if r.gen != gen && !ix.fresh(id) {
			ix.dropJSON(r) // and the thumbnails of its images
			delete(ix.recs, id)
			changes++
		}
	}
	for img := range thumbs {
		_, id, n := store.ParseKey(img)
		if r := ix.recs[id]; !ix.fresh(id) && (r == nil || !r.complete || n > maxImage || r.imgs&bit(n) == 0) {
			stale = append(stale, store.ThumbKey(id, n))
		}
	}
	for _, key := range stale {
		select {
		case ix.thumbDel <- key:
		default: // best effort: the next resync finds it again
		}
	}
	entries := ix.tree.Len()
	ix.mu.Unlock()

	ix.lastObjects = res.objects
	res.nextLists = lists(res.objects)
	if !ix.wholeListing() {
		res.nextLists += len(listChars) // and the thumbnails' listing: one more call per first character
	}
	ix.stats.resyncs.Add(1)
	if ix.ready.Swap(true) {
		res.changes = changes
		ix.stats.resyncChanges.Add(uint64(changes))
		if changes > 0 {
			ix.log.Info("gallery: resync found lost changes", "changes", changes, "entries", entries)
		}
	} else {
		ix.log.Info("gallery: index loaded", "entries", entries, "objects", res.objects, "list_calls", res.lists,
			"took", time.Since(start).Round(time.Millisecond))
	}
	return res, nil
}

// thumbTimes picks the thumbnails out of objs: their times by the key of
// their image.
func thumbTimes(objs []store.Object) map[string]int64 {
	thumbs := map[string]int64{}
	for _, o := range objs {
		if kind, id, n := store.ParseKey(o.Key); kind == store.Thumb {
			thumbs[store.ImageKey(id, n)] = o.Modified.UnixNano()
		}
	}
	return thumbs
}

// fresh reports whether a notification changed id during this resync or a
// read of its new JSON is under way: the index knows better than the
// listing. ix.mu is held.
func (ix *Index) fresh(id string) bool {
	_, touched := ix.touched[id]
	_, pending := ix.pending[id]
	return touched || pending
}

// reconcile makes r what the listing says; it reports whether r changed.
// ix.mu is held.
func (ix *Index) reconcile(r *rec, l listed) bool {
	before := *r
	ix.setImages(r, l.imgs)
	switch {
	case l.json && (!r.complete || r.mod != l.mod):
		ix.setJSON(r, l.mod)
	case !l.json:
		ix.dropJSON(r)
	}
	ix.forget(r)
	return *r != before
}

// scan groups part of a listing by id, and adds to stale the thumbnails made
// from an older version of their image.
func scan(objs []store.Object, thumbs map[string]int64, stale *[]string) map[string]listed {
	seen := make(map[string]listed, len(objs)/2)
	for _, o := range objs {
		switch kind, id, n := store.ParseKey(o.Key); kind {
		case store.Metadata:
			l := seen[id]
			l.json, l.mod = true, sortTime(o.Modified)
			seen[id] = l
		case store.Image:
			if n > maxImage {
				continue
			}
			l := seen[id]
			l.imgs |= bit(n)
			seen[id] = l
			if t, ok := thumbs[o.Key]; ok && o.Modified.UnixNano() > t {
				*stale = append(*stale, store.ThumbKey(id, n))
			}
		}
	}
	return seen
}
