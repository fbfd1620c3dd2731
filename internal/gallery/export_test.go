package gallery

// Stats are the index's counters, for the tests.
type Stats struct {
	Dropped       uint64 // events not delivered to slow subscribers
	Resyncs       uint64 // full listings done
	ResyncChanges uint64 // differences the listings found: lost notifications
	ThumbsMade    uint64 // thumbnails generated
}

// Stats returns the counters.
func (ix *Index) Stats() Stats {
	return Stats{
		Dropped:       ix.stats.dropped.Load(),
		Resyncs:       ix.stats.resyncs.Load(),
		ResyncChanges: ix.stats.resyncChanges.Load(),
		ThumbsMade:    ix.stats.thumbsMade.Load(),
	}
}

// len is the number of entries and the bytes they hold.
func (c *metaCache) len() (int, int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len(), c.bytes
}

// Trusted reports whether the index trusts the store's notifications now.
func (ix *Index) Trusted() bool { return ix.trusted.Load() }
