package gallery

// sub is one subscriber. Only publish sends on ch, always with ix.mu held,
// so len(ch) can only shrink between its checks.
type sub struct {
	ch chan Event
	// lost: a Lost event was queued as the last event in ch and nothing
	// after it. While len(ch) > 0 it is unread, so further events may be
	// dropped: the subscriber re-reads the page after it anyway.
	lost bool
}

// Subscribe streams the index's changes from now on (none during the first
// load). Sending never blocks the index: when only one slot of the buffer of
// buf events (at least 2) is left, a Lost event takes it and the events after
// it are dropped until the subscriber has read it; on Lost, re-read the page.
// cancel ends the subscription and closes the channel; call it once done.
func (ix *Index) Subscribe(buf int) (events <-chan Event, cancel func()) {
	s := &sub{ch: make(chan Event, max(buf, 2))}
	ix.mu.Lock()
	ix.subs[s] = struct{}{}
	ix.mu.Unlock()
	return s.ch, func() {
		ix.mu.Lock()
		defer ix.mu.Unlock()
		if _, ok := ix.subs[s]; ok {
			delete(ix.subs, s)
			close(s.ch)
		}
	}
}

// publish sends the change of r to every subscriber without blocking; ix.mu
// is held for writing. Nothing is sent during the first load: nobody shows
// a page before the index is Ready.
func (ix *Index) publish(op EventOp, r *rec) {
	if len(ix.subs) == 0 || !ix.ready.Load() {
		return
	}
	ev := Event{Op: op, Entry: ix.entry(r)}
	for s := range ix.subs {
		if s.lost {
			if len(s.ch) > 0 {
				ix.stats.dropped.Add(1)
				continue
			}
			s.lost = false // Lost was read: deliver again
		}
		if len(s.ch) < cap(s.ch)-1 {
			s.ch <- ev // cannot block: only publish sends, and there is room
			continue
		}
		s.ch <- Event{Op: Lost}
		s.lost = true
		ix.stats.dropped.Add(1)
	}
}
