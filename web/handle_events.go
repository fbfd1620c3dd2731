package web

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// keepAlive is how often an idle stream gets a comment, so that proxies and
// load balancers do not close it.
const keepAlive = 15 * time.Second

// streamEvents handles GET /events: Server-Sent Events named "job" (a job
// changed state) and "gallery" (an entry was added or removed), each with
// JSON data that carries the rendered card. Events are not replayed: after a
// reconnect the page re-reads what it shows.
func (s *server) streamEvents(w http.ResponseWriter, r *http.Request) {
	c, ok := s.Hub.join()
	if !ok {
		http.Error(w, "shutting down", http.StatusServiceUnavailable)
		return
	}
	defer s.Hub.leave(c)
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx ingress: do not buffer the stream
	if err := rc.Flush(); errors.Is(err, http.ErrNotSupported) {
		http.Error(w, "streaming is not supported here", http.StatusInternalServerError)
		return
	}
	// The server's write timeout is for ordinary answers; this one lasts.
	_ = rc.SetWriteDeadline(time.Time{})

	if _, err := fmt.Fprint(w, "retry: 2000\n: connected\n\n"); err != nil {
		return
	}
	if rc.Flush() != nil {
		return
	}
	tick := time.NewTicker(keepAlive)
	defer tick.Stop()
	for {
		var err error
		select {
		case <-r.Context().Done(): // the browser left, or the server shuts down
			return
		case <-c.gone: // too slow, or the hub closed
			return
		case <-tick.C:
			_, err = fmt.Fprint(w, ": keep-alive\n\n")
		case e := <-c.events:
			_, err = fmt.Fprintf(w, "event: %s\ndata: %s\n\n", e.Name, e.Data)
		}
		if err == nil {
			err = rc.Flush()
		}
		if err != nil {
			return
		}
	}
}
