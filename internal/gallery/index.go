package gallery

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/btree"
	"golang.org/x/sync/semaphore"
	"golang.org/x/sync/singleflight"

	"github.com/sdkeda/sdkeda/internal/store"
)

// maxImage is the highest image number the index tracks (a bit each in
// rec.imgs); the product makes at most a few per job.
const maxImage = 64

// rec is all the index keeps per id, complete or not: about 150 bytes with
// its map slot and tree item, so 100k entries fit in ~15 MB.
type rec struct {
	id       string
	mod      int64  // sortTime of the metadata JSON; the sort key while complete
	imgs     uint64 // bit n-1 set: image n exists
	complete bool   // the JSON exists; exactly then the rec is in the tree
	gen      uint32 // the last Resync whose listing had it
}

// newer orders the tree newest first: by time, then id.
func newer(a, b *rec) bool {
	if a.mod != b.mod {
		return a.mod > b.mod
	}
	return a.id > b.id
}

// Index is the gallery index of one store. Create it with New, start it with
// Run; every other method is safe for concurrent use, also before Run.
type Index struct {
	s   store.Store
	o   Options
	log *slog.Logger

	ready   atomic.Bool
	running atomic.Bool

	// mu guards the fields below it. Writers are the watch loop, the fetch
	// workers and Resync; readers are Page, Get, Thumbnail and Len. Every
	// mutation publishes its event while holding mu, so subscribers see
	// events in the order the index changed.
	mu   sync.RWMutex
	recs map[string]*rec
	tree *btree.BTreeG[*rec]
	// pending holds the JSON fetches in flight (notified puts not applied
	// yet): the token of the newest per id. A fetch applies only if its token
	// is still there, so a removal or a newer put that came meanwhile wins.
	pending map[string]uint64
	seq     uint64
	// touched is non-nil while Resync runs: the ids that notifications changed
	// since its listing began. The listing is older than those changes, so
	// Resync leaves these ids alone.
	touched map[string]struct{}
	gen     uint32 // of the last Resync
	subs    map[*sub]struct{}

	resyncMu    sync.Mutex    // one Resync at a time
	lastObjects int           // keys the last Resync listed; -1: none yet (guarded by resyncMu)
	kick        chan struct{} // relist now (within the budget)
	reschedule  chan struct{} // plan the next relisting again
	// Trust in the store's notifications (schedule.go): notified counts
	// those on time since the last relisting, late is set by one that was
	// not (or a broken stream).
	trusted  atomic.Bool
	notified atomic.Int64
	late     atomic.Bool
	fetches  chan fetch
	thumbDel chan string

	cache   *metaCache
	warned  onceSet // metadata JSONs too large, logged once
	metaSF  singleflight.Group
	metaSem chan struct{} // bounds concurrent metadata reads of Page and Get
	thumbSF singleflight.Group
	// thumbSem bounds thumbnails decoded at once: each holds a decoded image
	// of a few MB, and a first page asks for dozens.
	thumbSem chan struct{}
	// decodeMem bounds the bytes of the images decoded at once
	// (Options.ThumbBudget), whatever their size and colour depth.
	decodeMem *semaphore.Weighted

	// stats are what the tests observe (export_test.go).
	stats struct {
		dropped, resyncs, resyncChanges, thumbsMade atomic.Uint64
	}
}

// New makes an empty index of s; Run fills and keeps it.
func New(s store.Store, o Options) *Index {
	o = o.withDefaults()
	return &Index{
		s: s, o: o, log: o.Log,
		recs:        map[string]*rec{},
		lastObjects: -1,
		tree:        btree.NewG(32, newer),
		pending:     map[string]uint64{},
		subs:        map[*sub]struct{}{},
		kick:        make(chan struct{}, 1),
		reschedule:  make(chan struct{}, 1),
		fetches:     make(chan fetch, 256),
		thumbDel:    make(chan string, 1024),
		cache:       newMetaCache(o.MetaCache, o.MetaCacheBytes),
		metaSem:     make(chan struct{}, 8),
		thumbSem:    make(chan struct{}, 2),

		decodeMem: semaphore.NewWeighted(o.ThumbBudget),
	}
}

// Ready reports whether the first full listing is in.
func (ix *Index) Ready() bool { return ix.ready.Load() }

// Len is the number of complete entries.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.tree.Len()
}

// The mutations below run with ix.mu held for writing.

func (ix *Index) touch(id string) {
	if ix.touched != nil {
		ix.touched[id] = struct{}{}
	}
}

func (ix *Index) get(id string) *rec {
	r := ix.recs[id]
	if r == nil {
		r = &rec{id: id}
		ix.recs[id] = r
	}
	return r
}

// forget drops r from the map once nothing of it is left.
func (ix *Index) forget(r *rec) {
	if !r.complete && r.imgs == 0 {
		delete(ix.recs, r.id)
	}
}

// setJSON makes r complete with its JSON modified at mod.
func (ix *Index) setJSON(r *rec, mod int64) {
	switch {
	case !r.complete:
		r.mod, r.complete = mod, true
		ix.tree.ReplaceOrInsert(r)
		ix.publish(Added, r)
	case r.mod != mod:
		// The key changes: take it out of the tree before changing it.
		ix.tree.Delete(r)
		r.mod = mod
		ix.tree.ReplaceOrInsert(r)
		ix.publish(Updated, r)
	default:
		ix.publish(Updated, r)
	}
}

// dropJSON removes r from the gallery; its thumbnails go too.
func (ix *Index) dropJSON(r *rec) {
	if !r.complete {
		return
	}
	ix.tree.Delete(r)
	r.complete = false
	ix.publish(Removed, r)
	ix.cache.remove(r.id)
	ix.dropThumbs(r.id, r.imgs)
}

// setImages replaces r's image set, dropping the thumbnails of images gone.
func (ix *Index) setImages(r *rec, imgs uint64) {
	if r.imgs == imgs {
		return
	}
	ix.dropThumbs(r.id, r.imgs&^imgs)
	r.imgs = imgs
	if r.complete {
		ix.publish(Updated, r)
	}
}

// dropThumbs queues the deletion of the thumbnails of the images in mask.
// Best effort: a full queue drops it, the next Resync finds the orphan.
func (ix *Index) dropThumbs(id string, mask uint64) {
	for n := 1; mask != 0 && n <= maxImage; n++ {
		if mask&bit(n) != 0 {
			mask &^= bit(n)
			select {
			case ix.thumbDel <- store.ThumbKey(id, n):
			default:
			}
		}
	}
}

func bit(n int) uint64 { return 1 << (n - 1) }

// entry is the public view of r (ix.mu held); Meta only if cached.
func (ix *Index) entry(r *rec) Entry {
	e := Entry{ID: r.id, Modified: time.Unix(0, r.mod).UTC()}
	for n := 1; n <= maxImage && r.imgs>>(n-1) != 0; n++ {
		if r.imgs&bit(n) != 0 {
			e.Images = append(e.Images, store.ImageKey(r.id, n))
		}
	}
	if m, ok := ix.cache.get(r.id, r.mod); ok {
		e.Meta = m
	}
	return e
}

// deleteThumbs drains the deletion queue until ctx ends.
func (ix *Index) deleteThumbs(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case key := <-ix.thumbDel:
			if err := ix.s.Delete(ctx, key); err != nil && !errors.Is(err, store.ErrNotFound) && ctx.Err() == nil {
				ix.log.Warn("gallery: delete thumbnail", "key", key, "err", err)
			}
		}
	}
}
