package web

import (
	"sync"
)

// sseEvent is one named Server-Sent Event, encoded once for every client.
type sseEvent struct {
	Name string
	Data []byte // one line of JSON
}

// Hub fans events out to the SSE clients. Send never blocks: a client whose
// buffer is full is disconnected (its browser reconnects and catches up).
type Hub struct {
	buf int

	mu      sync.Mutex
	clients map[*sseClient]struct{}
	closed  bool
}

type sseClient struct {
	events chan sseEvent
	gone   chan struct{} // closed when the hub drops the client
}

// NewHub returns a hub giving each client a buffer of buf events.
func NewHub(buf int) *Hub {
	if buf <= 0 {
		buf = 64
	}
	return &Hub{buf: buf, clients: map[*sseClient]struct{}{}}
}

// join adds a client; leave must be called when it goes.
func (h *Hub) join() (c *sseClient, ok bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, false
	}
	c = &sseClient{events: make(chan sseEvent, h.buf), gone: make(chan struct{})}
	h.clients[c] = struct{}{}
	return c, true
}

func (h *Hub) leave(c *sseClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(c)
}

func (h *Hub) dropLocked(c *sseClient) {
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		close(c.gone)
	}
}

// Send queues e for every client without waiting; it reports how many slow
// clients it dropped.
func (h *Hub) Send(e sseEvent) (dropped int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		select {
		case c.events <- e:
		default:
			h.dropLocked(c)
			dropped++
		}
	}
	return dropped
}

// Clients is the number of connected clients.
func (h *Hub) Clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.clients)
}

// Close ends every stream and refuses new ones (graceful shutdown).
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for c := range h.clients {
		h.dropLocked(c)
	}
}
