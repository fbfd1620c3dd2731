package gallery

import (
	"container/list"
	"sync"
)

// metaCache is a small LRU of parsed metadata, by id, valid for one
// modification time of the JSON. It is bounded by count and by the bytes
// its Metas hold (Meta.size), so whatever the bucket holds it stays small.
type metaCache struct {
	mu       sync.Mutex
	max      int // entries
	maxBytes int
	bytes    int
	ll       *list.List // of *cached, most recently used first
	m        map[string]*list.Element
}

type cached struct {
	id   string
	mod  int64
	meta *Meta
	size int
}

func newMetaCache(max, maxBytes int) *metaCache {
	return &metaCache{max: max, maxBytes: maxBytes, ll: list.New(), m: map[string]*list.Element{}}
}

func (c *metaCache) get(id string, mod int64) (*Meta, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[id]
	if !ok || e.Value.(*cached).mod != mod {
		return nil, false
	}
	c.ll.MoveToFront(e)
	return e.Value.(*cached).meta, true
}

func (c *metaCache) add(id string, mod int64, m *Meta) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v := &cached{id, mod, m, m.size() + len(id)}
	if e, ok := c.m[id]; ok {
		c.bytes -= e.Value.(*cached).size
		e.Value = v
		c.ll.MoveToFront(e)
	} else {
		c.m[id] = c.ll.PushFront(v)
	}
	c.bytes += v.size
	// The newest stays even alone over the budget: a page needs it now.
	for c.ll.Len() > 1 && (c.ll.Len() > c.max || c.bytes > c.maxBytes) {
		c.drop(c.ll.Back())
	}
}

func (c *metaCache) remove(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		c.drop(e)
	}
}

// drop removes e; c.mu is held.
func (c *metaCache) drop(e *list.Element) {
	old := c.ll.Remove(e).(*cached)
	delete(c.m, old.id)
	c.bytes -= old.size
}
