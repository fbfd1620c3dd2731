package gallery

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/sdkeda/sdkeda/internal/store"
)

// Page returns up to limit entries (DefaultPage for limit <= 0, at most
// MaxPage), newest first, older than the cursor before ("" = the newest), with
// their metadata loaded (Meta stays nil for an entry whose JSON could not be
// read now). next is the cursor of the following page, "" at the end. A
// cursor is opaque; it stays valid when its entry is removed. The cost is
// O(log entries + limit).
func (ix *Index) Page(ctx context.Context, limit int, before string) (page []Entry, next string, err error) {
	if limit <= 0 {
		limit = DefaultPage
	}
	limit = min(limit, MaxPage)
	var pivot *rec
	if before != "" {
		if pivot = parseCursor(before); pivot == nil {
			return nil, "", fmt.Errorf("%w: %q", ErrBadCursor, before)
		}
	}
	// One more than asked tells whether a next page exists.
	page = make([]Entry, 0, limit+1)
	ix.mu.RLock()
	collect := func(r *rec) bool {
		if pivot != nil && r.mod == pivot.mod && r.id == pivot.id {
			return true // the cursor's own entry was on the last page
		}
		page = append(page, ix.entry(r))
		return len(page) <= limit
	}
	if pivot == nil {
		ix.tree.Ascend(collect)
	} else {
		ix.tree.AscendGreaterOrEqual(pivot, collect)
	}
	ix.mu.RUnlock()
	if len(page) > limit {
		page = page[:limit]
		last := page[limit-1]
		next = cursor(last.Modified.UnixNano(), last.ID)
	}
	if err := ix.fillMeta(ctx, page); err != nil {
		return nil, "", err
	}
	return page, next, nil
}

// Get returns the complete entry id with its metadata loaded (nil if its JSON
// could not be read now). The error is only ctx's.
func (ix *Index) Get(ctx context.Context, id string) (Entry, bool, error) {
	ix.mu.RLock()
	r := ix.recs[id]
	ok := r != nil && r.complete
	var e Entry
	if ok {
		e = ix.entry(r)
	}
	ix.mu.RUnlock()
	if !ok {
		return Entry{}, false, nil
	}
	es := []Entry{e}
	if err := ix.fillMeta(ctx, es); err != nil {
		return Entry{}, false, err
	}
	return es[0], true, nil
}

// fillMeta loads the metadata the entries lack, a few at a time (reads are
// I/O on a real store). An unreadable JSON leaves Meta nil and is logged.
func (ix *Index) fillMeta(ctx context.Context, es []Entry) error {
	var missing []int
	for i := range es {
		if es[i].Meta == nil {
			missing = append(missing, i)
		}
	}
	var next atomic.Int32
	var wg sync.WaitGroup
	for range min(len(missing), cap(ix.metaSem)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				k := int(next.Add(1)) - 1
				if k >= len(missing) {
					return
				}
				e := &es[missing[k]]
				m, err := ix.loadMeta(ctx, e.ID, e.Modified.UnixNano())
				if err != nil {
					if ctx.Err() == nil {
						ix.log.Warn("gallery: read metadata", "id", e.ID, "err", err)
					}
					continue
				}
				e.Meta = m
			}
		})
	}
	wg.Wait()
	return ctx.Err()
}

// A cursor is "<UnixNano>~<id>": the sort key of the last entry shown, so it
// still finds its place after that entry is removed. '~' is never in an id.
func cursor(mod int64, id string) string { return strconv.FormatInt(mod, 10) + "~" + id }

func parseCursor(c string) *rec {
	ns, id, ok := strings.Cut(c, "~")
	if !ok || !store.ValidID(id) {
		return nil
	}
	mod, err := strconv.ParseInt(ns, 10, 64)
	if err != nil {
		return nil
	}
	return &rec{id: id, mod: mod}
}
