package gallery

import (
	"context"
	"fmt"
	"time"

	"github.com/sdkeda/sdkeda/internal/store"
)

// listChars are the first characters of every key of an entry (ids start
// with one of them, store.ValidID). Resync lists one of them at a time: a
// single listing of a bucket of 100k entries is ~300k objects, ~60 MB at
// once, which alone would break the webui's memory budget.
const listChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

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
	ix.resyncMu.Lock()
	defer ix.resyncMu.Unlock()
	start := time.Now()
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

	thumbs, err := ix.listThumbs(ctx)
	if err != nil {
		return err
	}
	changes, objects := 0, 0
	var stale []string
	for _, c := range listChars {
		objs, err := ix.s.List(ctx, string(c))
		if err != nil {
			return fmt.Errorf("gallery: resync: %w", err)
		}
		objects += len(objs)
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

	ix.stats.resyncs.Add(1)
	if ix.ready.Swap(true) {
		ix.stats.resyncChanges.Add(uint64(changes))
		if changes > 0 {
			ix.log.Info("gallery: resync found lost changes", "changes", changes, "entries", entries)
		}
	} else {
		ix.log.Info("gallery: index loaded", "entries", entries, "objects", objects,
			"took", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// listThumbs lists the thumbnails: their times by the key of their image.
func (ix *Index) listThumbs(ctx context.Context) (map[string]int64, error) {
	objs, err := ix.s.List(ctx, store.ThumbPrefix)
	if err != nil {
		return nil, fmt.Errorf("gallery: resync: %w", err)
	}
	thumbs := make(map[string]int64, len(objs))
	for _, o := range objs {
		if kind, id, n := store.ParseKey(o.Key); kind == store.Thumb {
			thumbs[store.ImageKey(id, n)] = o.Modified.UnixNano()
		}
	}
	return thumbs, nil
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
