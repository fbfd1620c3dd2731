package web

import (
	"errors"
	"sync"
)

// sseEvent is one named Server-Sent Event, encoded once for every client.
type sseEvent struct {
	Name string
	Data []byte // one line of JSON
	Job  string // a job's card: only for the clients whose cookie holds this job; "" for all
}

// Hub fans events out to the SSE clients. Send never blocks: a client whose
// buffer is full is disconnected (its browser reconnects and catches up).
// It caps the clients in all and per client address (issue 12, D5).
type Hub struct {
	buf       int
	max       int // clients in all; 0: no cap
	perClient int // clients of one address; 0: no cap

	mu        sync.Mutex
	clients   map[*sseClient]struct{}
	byAddr    map[string]int // clients per address
	following map[string]int // clients per job id
	closed    bool
}

type sseClient struct {
	addr   string
	jobs   map[string]bool // the jobs whose cards it gets (its sd_jobs cookie)
	events chan sseEvent
	gone   chan struct{} // closed when the hub drops the client
}

// Why join refuses a client.
var (
	errHubClosed       = errors.New("shutting down")
	errTooManyStreams  = errors.New("too many event streams are open")
	errTooManyOfClient = errors.New("too many event streams from your address")
)

// NewHub returns a hub giving each client a buffer of buf events, without
// caps (see Limit).
func NewHub(buf int) *Hub {
	if buf <= 0 {
		buf = 64
	}
	return &Hub{buf: buf, clients: map[*sseClient]struct{}{}, byAddr: map[string]int{}, following: map[string]int{}}
}

// Limit caps the clients at total in all and perClient per address (0: no
// cap) and returns h.
func (h *Hub) Limit(total, perClient int) *Hub {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.max, h.perClient = total, perClient
	return h
}

// join adds a client from address addr that follows the cards of jobs;
// leave must be called when it goes.
func (h *Hub) join(addr string, jobs []string) (*sseClient, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	switch {
	case h.closed:
		return nil, errHubClosed
	case h.perClient > 0 && h.byAddr[addr] >= h.perClient:
		return nil, errTooManyOfClient
	case h.max > 0 && len(h.clients) >= h.max:
		return nil, errTooManyStreams
	}
	c := &sseClient{addr: addr, jobs: make(map[string]bool, len(jobs)),
		events: make(chan sseEvent, h.buf), gone: make(chan struct{})}
	for _, id := range jobs {
		if !c.jobs[id] {
			c.jobs[id] = true
			h.following[id]++
		}
	}
	h.clients[c] = struct{}{}
	h.byAddr[addr]++
	return c, nil
}

func (h *Hub) leave(c *sseClient) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.dropLocked(c)
}

func (h *Hub) dropLocked(c *sseClient) {
	if _, ok := h.clients[c]; ok {
		delete(h.clients, c)
		decrement(h.byAddr, c.addr)
		for id := range c.jobs {
			decrement(h.following, id)
		}
		close(c.gone)
	}
}

// Send queues e for every client it is for without waiting; it reports how
// many slow clients it dropped.
func (h *Hub) Send(e sseEvent) (dropped int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for c := range h.clients {
		if e.Job != "" && !c.jobs[e.Job] {
			continue
		}
		select {
		case c.events <- e:
		default:
			h.dropLocked(c)
			dropped++
		}
	}
	return dropped
}

// Wants reports whether a connected client follows job id: a card nobody
// follows is not rendered.
func (h *Hub) Wants(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.following[id] > 0
}

func decrement(m map[string]int, k string) {
	if m[k]--; m[k] <= 0 {
		delete(m, k)
	}
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
