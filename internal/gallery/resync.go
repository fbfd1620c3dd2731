package gallery

import (
	"context"
	"fmt"
	"time"

	"github.com/sdkeda/sdkeda/internal/store"
)

// listed is what one listing says of an id.
type listed struct {
	mod  int64
	imgs uint64
	json bool
}

// resyncChunk bounds how long Resync holds the lock at a time, so pages
// are served while a large listing is applied.
const resyncChunk = 512

// Resync relists the store now and applies the difference: entries whose
// notifications were lost appear, vanish or move; thumbnails whose image or
// entry is gone, or older than their image, are deleted. Run calls it at
// start and every Options.Resync; tests and benchmarks may call it without
// Run. The first success makes the index Ready.
func (ix *Index) Resync(ctx context.Context) error {
	ix.resyncMu.Lock()
	defer ix.resyncMu.Unlock()
	start := time.Now()
	// From here on notifications mark what they change: the listing may
	// predate those changes.
	ix.mu.Lock()
	ix.touched = map[string]struct{}{}
	ix.mu.Unlock()
	defer func() {
		ix.mu.Lock()
		ix.touched = nil
		ix.mu.Unlock()
	}()

	objs, err := ix.s.List(ctx, "")
	if err != nil {
		return fmt.Errorf("gallery: resync: %w", err)
	}
	seen, thumbs := scan(objs)

	changes := 0
	ids := make([]string, 0, len(seen))
	for id := range seen {
		ids = append(ids, id)
	}
	for len(ids) > 0 {
		chunk := ids[:min(resyncChunk, len(ids))]
		ids = ids[len(chunk):]
		ix.mu.Lock()
		for _, id := range chunk {
			if ix.fresh(id) {
				continue
			}
			if ix.reconcile(ix.get(id), seen[id]) {
				changes++
			}
		}
		ix.mu.Unlock()
	}

	// What the index holds and the listing does not is gone.
	var gone []string
	ix.mu.RLock()
	for id := range ix.recs {
		if _, ok := seen[id]; !ok && !ix.fresh(id) {
			gone = append(gone, id)
		}
	}
	ix.mu.RUnlock()
	ix.mu.Lock()
	for _, id := range gone {
		if r := ix.recs[id]; r != nil && !ix.fresh(id) {
			ix.dropJSON(r) // and the thumbnails of its images
			delete(ix.recs, id)
			changes++
		}
	}
	// Thumbnails of images or entries gone, or made from an older image.
	for _, key := range thumbs {
		if _, id, _ := store.ParseKey(key); !ix.fresh(id) {
			select {
			case ix.thumbDel <- key:
			default:
			}
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
		ix.log.Info("gallery: index loaded", "entries", entries, "objects", len(seen),
			"took", time.Since(start).Round(time.Millisecond))
	}
	return nil
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

// scan groups a listing by id, and returns the keys of the thumbnails to
// delete: those of an image or entry not listed, or older than their image.
func scan(objs []store.Object) (map[string]listed, []string) {
	seen := make(map[string]listed, len(objs)/2)
	thumbMod := map[string]time.Time{} // by image key
	for _, o := range objs {
		switch kind, id, n := store.ParseKey(o.Key); kind {
		case store.Metadata:
			l := seen[id]
			l.json, l.mod = true, o.Modified.UnixNano()
			seen[id] = l
		case store.Image:
			if n <= maxImage {
				l := seen[id]
				l.imgs |= bit(n)
				seen[id] = l
			}
		case store.Thumb:
			thumbMod[store.ImageKey(id, n)] = o.Modified
		}
	}
	var stale []string
	if len(thumbMod) == 0 {
		return seen, nil
	}
	for _, o := range objs {
		if t, ok := thumbMod[o.Key]; ok && o.Modified.After(t) {
			_, id, n := store.ParseKey(o.Key)
			stale = append(stale, store.ThumbKey(id, n))
		}
	}
	for img := range thumbMod {
		_, id, n := store.ParseKey(img)
		if l := seen[id]; !l.json || n > maxImage || l.imgs&bit(n) == 0 {
			stale = append(stale, store.ThumbKey(id, n))
		}
	}
	return seen, stale
}
