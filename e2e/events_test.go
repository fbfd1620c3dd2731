package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// stream follows the webui's /events like a browser tab whose sd_jobs
// cookie holds some jobs (the stream carries those jobs' cards only, and
// every gallery event), and notes when each job's `done` event and its
// `gallery` entry arrived. It reconnects when the stream ends (the hub
// drops a client that falls 64 events behind).
type stream struct {
	mu      sync.Mutex
	done    map[string]time.Time
	gallery map[string]time.Time
	changed chan struct{} // closed and replaced on every event
	opened  int           // connections made
}

// openStream connects to base/events as a browser that submitted jobs and
// follows it until ctx ends.
func openStream(t testing.TB, ctx context.Context, base string, jobs ...string) *stream {
	t.Helper()
	s := &stream{done: map[string]time.Time{}, gallery: map[string]time.Time{}, changed: make(chan struct{})}
	connected := make(chan struct{}, 1)
	go func() {
		for ctx.Err() == nil {
			err := s.follow(ctx, base, jobs, connected)
			if ctx.Err() == nil && err != nil {
				time.Sleep(200 * time.Millisecond)
			}
		}
	}()
	select {
	case <-connected:
	case <-time.After(30 * time.Second):
		t.Fatal("GET /events: not connected within 30s")
	}
	return s
}

func (s *stream) follow(ctx context.Context, base string, jobs []string, connected chan<- struct{}) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
	if err != nil {
		return err
	}
	if len(jobs) > 0 {
		req.AddCookie(&http.Cookie{Name: "sd_jobs", Value: strings.Join(jobs, ".")})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("get /events: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get /events: %s", resp.Status)
	}
	s.mu.Lock()
	s.opened++
	s.mu.Unlock()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 4<<20) // a card's HTML is in one data line
	var name, data string
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, ": connected"):
			select {
			case connected <- struct{}{}:
			default:
			}
		case strings.HasPrefix(line, "event: "):
			name = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = strings.TrimPrefix(line, "data: ")
		case line == "":
			if name != "" {
				s.record(name, data, time.Now())
			}
			name, data = "", ""
		}
	}
	return sc.Err()
}

// record notes the first `done` of a job and the first time its entry was
// added to the gallery.
func (s *stream) record(name, data string, at time.Time) {
	var d struct {
		ID     string `json:"id"`
		Status string `json:"status"` // job events
		Op     string `json:"op"`     // gallery events
	}
	if json.Unmarshal([]byte(data), &d) != nil || d.ID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case name == "job" && d.Status == "done":
		if _, ok := s.done[d.ID]; !ok {
			s.done[d.ID] = at
		}
	case name == "gallery" && (d.Op == "added" || d.Op == "updated"):
		if _, ok := s.gallery[d.ID]; !ok {
			s.gallery[d.ID] = at
		}
	default:
		return
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// await waits until both the done event and the gallery entry of id came,
// and returns when each arrived.
func (s *stream) await(ctx context.Context, id string) (done, gallery time.Time, err error) {
	for {
		s.mu.Lock()
		done, gallery = s.done[id], s.gallery[id]
		changed := s.changed
		s.mu.Unlock()
		if !done.IsZero() && !gallery.IsZero() {
			return done, gallery, nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return done, gallery, fmt.Errorf("job %s: done event %v, gallery entry %v: %w",
				id, !done.IsZero(), !gallery.IsZero(), ctx.Err())
		}
	}
}

// connections is how many times the stream was opened (1: never dropped).
func (s *stream) connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.opened
}
