package status

import "sync"

// ChangeKind says what a Change is about.
type ChangeKind int

// The changes a subscriber sees.
const (
	// JobChanged: Job holds the job's new state (with its place in line).
	JobChanged ChangeKind = iota + 1
	// FleetChanged: Fleet holds the workers by state and the queue's depth.
	FleetChanged
	// Lost: this subscriber read too slowly and lost changes before this
	// one; re-read what it shows (Job is zero).
	Lost
)

func (k ChangeKind) String() string {
	switch k {
	case JobChanged:
		return "job"
	case FleetChanged:
		return "fleet"
	case Lost:
		return "lost"
	}
	return "unknown"
}

// Change is one typed change of the status, sent to subscribers (Changes).
type Change struct {
	Kind  ChangeKind
	Job   Job
	Fleet Fleet
}

// hub hands changes to subscribers without ever waiting on one, as the
// gallery index does: when only one slot of a subscriber's buffer is left, a
// Lost change takes it and later changes are dropped until it is read.
type hub struct {
	mu   sync.Mutex
	subs map[*sub]struct{}
}

type sub struct {
	ch   chan Change
	lost bool // a Lost change is queued and unread: drop until it is read
}

func (h *hub) subscribe(buf int) (<-chan Change, func()) {
	s := &sub{ch: make(chan Change, max(buf, 2))}
	h.mu.Lock()
	if h.subs == nil {
		h.subs = map[*sub]struct{}{}
	}
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s.ch, func() {
		h.mu.Lock()
		defer h.mu.Unlock()
		if _, ok := h.subs[s]; ok {
			delete(h.subs, s)
			close(s.ch)
		}
	}
}

// publish sends c to every subscriber; it never blocks. Only publish sends,
// always with h.mu held, so len(ch) can only shrink between its checks.
func (h *hub) publish(c Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		if s.lost {
			if len(s.ch) > 0 {
				continue
			}
			s.lost = false // Lost was read: deliver again
		}
		if len(s.ch) < cap(s.ch)-1 {
			s.ch <- c
			continue
		}
		s.ch <- Change{Kind: Lost}
		s.lost = true
	}
}
