package web

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"
)

const (
	// keepAlive is how often an idle stream gets a comment, so that proxies
	// and load balancers do not close it.
	keepAlive = 15 * time.Second
	// sseWriteTimeout bounds each write of the stream. An event is a few KB,
	// which the kernel takes at once while the client reads at all; a write
	// that waits this long has a client that stopped reading (issue 12, D4).
	sseWriteTimeout = 5 * time.Second
	// sseRetryAfter is what a refused stream is told to wait, in seconds.
	sseRetryAfter = "30"
)

// streamEvents handles GET /events: Server-Sent Events named "job" (a job of
// this browser's sd_jobs cookie changed state), "jobs" (re-read the cards)
// and "gallery" (an entry was added or removed), each with JSON data that
// carries the rendered card. Events are not replayed: after a reconnect the
// page re-reads what it shows. A client past the caps gets 429 (its
// address) or 503 (in all), with Retry-After.
func (s *server) streamEvents(w http.ResponseWriter, r *http.Request) {
	c, err := s.Hub.join(clientKey(r), cookieJobIDs(r))
	if err != nil {
		code := http.StatusServiceUnavailable
		w.Header().Set("Retry-After", sseRetryAfter)
		switch {
		case errors.Is(err, errHubClosed):
			w.Header().Set("Retry-After", "2")
		case errors.Is(err, errTooManyOfClient):
			code = http.StatusTooManyRequests
		}
		s.Metrics.sseRefused(code)
		http.Error(w, err.Error()+"; try again later", code)
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

	// A write blocked on a client that does not read ends at its deadline,
	// or at once when the hub drops the client or the server shuts down:
	// the deadline is moved to now from here. The loop checks gone after
	// setting each deadline, so a drop between the two is not missed.
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-done:
			return
		case <-c.gone:
		case <-r.Context().Done():
		}
		_ = rc.SetWriteDeadline(time.Now())
	}()
	var stuck bool // a write ran into its own deadline: the client stopped reading
	write := func(format string, args ...any) error {
		start := time.Now()
		if err := rc.SetWriteDeadline(start.Add(sseWriteTimeout)); err != nil {
			return err
		}
		defer func() { stuck = time.Since(start) >= sseWriteTimeout }()
		select {
		case <-c.gone:
			return errHubClosed
		case <-r.Context().Done():
			return r.Context().Err()
		default:
		}
		if _, err := fmt.Fprintf(w, format, args...); err != nil {
			return err
		}
		return rc.Flush()
	}

	if write("retry: 2000\n: connected\n\n") != nil {
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
			err = write(": keep-alive\n\n")
		case e := <-c.events:
			err = write("event: %s\ndata: %s\n\n", e.Name, e.Data)
		}
		if err != nil {
			if stuck && errors.Is(err, os.ErrDeadlineExceeded) {
				s.Metrics.sseCut.Inc() // not a drop or the shutdown, which end it sooner
			}
			return
		}
	}
}
