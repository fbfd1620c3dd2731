package gallery

import (
	"container/list"
	"sync"
)

// metaCache is a small LRU of parsed metadata, by id, valid for one
// modification time of the JSON.
type metaCache struct {
	mu  sync.Mutex
	max int
	ll  *list.List // of *cached, most recently used first
	m   map[string]*list.Element
}

type cached struct {
	id   string
	mod  int64
	meta *Meta
}

func newMetaCache(max int) *metaCache {
	return &metaCache{max: max, ll: list.New(), m: map[string]*list.Element{}}
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
	if e, ok := c.m[id]; ok {
		e.Value = &cached{id, mod, m}
		c.ll.MoveToFront(e)
		return
	}
	c.m[id] = c.ll.PushFront(&cached{id, mod, m})
	if c.ll.Len() > c.max {
		old := c.ll.Remove(c.ll.Back()).(*cached)
		delete(c.m, old.id)
	}
}

func (c *metaCache) remove(id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[id]; ok {
		c.ll.Remove(e)
		delete(c.m, id)
	}
}

func (c *metaCache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ll.Len()
}
