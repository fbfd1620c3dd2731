package web

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/gallery"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/stacktest"
)

// sseStream reads named events from an open /events response.
type sseStream struct {
	t    testing.TB
	resp *http.Response
	ch   chan sseMsg
}

type sseMsg struct {
	Name string
	Data string
}

// openEvents opens /events as a browser whose sd_jobs cookie holds jobs:
// it gets those jobs' cards, and the events for everyone.
func openEvents(t testing.TB, ctx context.Context, base string, jobs ...string) *sseStream {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+"/events", nil)
	if len(jobs) > 0 {
		req.AddCookie(&http.Cookie{Name: jobsCookie, Value: strings.Join(jobs, ".")})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("/events: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	s := &sseStream{t: t, resp: resp, ch: make(chan sseMsg, 1024)}
	go func() {
		defer close(s.ch)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var m sseMsg
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m.Name != "" {
					s.ch <- m
				}
				m = sseMsg{}
			case strings.HasPrefix(line, "event: "):
				m.Name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				m.Data = strings.TrimPrefix(line, "data: ")
			}
		}
	}()
	t.Cleanup(func() { resp.Body.Close() })
	return s
}

// next waits for the next event named name whose data satisfies ok.
func (s *sseStream) next(name string, within time.Duration, ok func(data string) bool) string {
	s.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case m, open := <-s.ch:
			if !open {
				s.t.Fatalf("the stream ended while waiting for a %s event", name)
			}
			if m.Name == name && ok(m.Data) {
				return m.Data
			}
		case <-deadline:
			s.t.Fatalf("no matching %s event within %s", name, within)
		}
	}
}

// ends waits until the server closes the stream.
func (s *sseStream) ends(within time.Duration) {
	s.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case _, open := <-s.ch:
			if !open {
				return
			}
		case <-deadline:
			s.t.Fatalf("the stream is still open after %s", within)
		}
	}
}

func jobData(t testing.TB, data string) jobEventData {
	var d jobEventData
	if err := json.Unmarshal([]byte(data), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// openEvents serves the fixture's handler and opens /events on it, once the
// hub counts the client; both end with the test.
// openEvents opens /events on the fixture's handler as a browser whose
// cookie holds jobs.
func (f *fixture) openEvents(jobs ...string) *sseStream {
	f.t.Helper()
	srv := httptest.NewServer(f.handler)
	ctx, cancel := context.WithCancel(context.Background())
	f.t.Cleanup(func() { cancel(); srv.Close() })
	s := openEvents(f.t, ctx, srv.URL, jobs...)
	waitFor(f.t, "the client joins the hub", func() bool { return f.hub.Clients() == 1 })
	return s
}

func TestEventsStreamJobAndGalleryChanges(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.openEvents(id1) // a browser that submitted id1

	f.jobs.Apply(job.Event{ID: id1, State: job.Queued, Prompt: "green <dog>"})
	d := jobData(t, s.next("job", 5*time.Second, func(string) bool { return true }))
	if d.ID != id1 || d.Status != "queued" || d.Position != 1 ||
		!strings.Contains(d.HTML, `data-testid="job-card"`) || !strings.Contains(d.HTML, "green &lt;dog&gt;") {
		t.Errorf("job event %+v", d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	feed := &chanFeed{g: f.gallery, ch: make(chan gallery.Event, 4)}
	go FollowGallery(ctx, feed, f.hub, nil, nopLog(), func() time.Time { return f.now })
	e := entry("e1", "a fox", time.Minute, f.now)
	f.gallery.add(e, []byte("png"))
	e.Meta = nil // as events may come: the card needs the metadata loaded
	feed.ch <- gallery.Event{Op: gallery.Added, Entry: e}
	feed.ch <- gallery.Event{Op: gallery.Removed, Entry: gallery.Entry{ID: "e1"}}
	added := s.next("gallery", 5*time.Second, func(d string) bool { return strings.Contains(d, `"op":"added"`) })
	var g galleryEventData
	_ = json.Unmarshal([]byte(added), &g)
	if g.ID != "e1" || !strings.Contains(g.HTML, "a fox") || !strings.Contains(g.HTML, `id="entry-e1"`) {
		t.Errorf("added %+v", g)
	}
	s.next("gallery", 5*time.Second, func(d string) bool { return strings.Contains(d, `"op":"removed","id":"e1"`) })

	// Shutdown ends the stream.
	f.hub.Close()
	s.ends(10 * time.Second)
}

func TestHubDropsASlowClientWithoutBlocking(t *testing.T) {
	t.Parallel()
	h := NewHub(2)
	slow, _ := h.join("a", nil)
	fast, _ := h.join("b", nil)
	for range 2 {
		h.Send(sseEvent{Name: "job", Data: []byte("{}")})
		<-fast.events
	}
	if dropped := h.Send(sseEvent{Name: "job", Data: []byte("{}")}); dropped != 1 {
		t.Fatalf("dropped %d, want the slow one", dropped)
	}
	select {
	case <-slow.gone:
	default:
		t.Fatal("the slow client was not told to go")
	}
	if h.Clients() != 1 {
		t.Errorf("%d clients left", h.Clients())
	}
	h.leave(slow) // the handler leaves after being dropped: no double close
	h.Close()
	if _, err := h.join("c", nil); err == nil {
		t.Error("a closed hub accepted a client")
	}
}

// chanFeed is a GalleryFeed whose events the test sends.
type chanFeed struct {
	g  *fakeGallery
	ch chan gallery.Event
}

func (c *chanFeed) Subscribe(int) (<-chan gallery.Event, func()) { return c.ch, func() {} }
func (c *chanFeed) Get(ctx context.Context, id string) (gallery.Entry, bool, error) {
	return c.g.Get(ctx, id)
}

func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	stacktest.WaitFor(t, what, 30*time.Second, cond)
}

// The fleet and a running job's phase reach the browsers and the API.
func TestEventsAndAPIShowPhasesAndTheFleet(t *testing.T) {
	t.Parallel()
	f := setup(t)
	s := f.openEvents(id1) // a browser that submitted id1

	f.jobs.Apply(job.Event{Kind: job.KindWorker, Worker: "w1", WorkerState: job.WorkerIdle, Generator: "placeholder"})
	fleet := s.next("fleet", 5*time.Second, func(string) bool { return true })
	var fd fleetEventData
	if err := json.Unmarshal([]byte(fleet), &fd); err != nil || fd.Workers["idle"] != 1 || fd.Depth != -1 {
		t.Errorf("fleet event %s", fleet)
	}

	seed := int64(7)
	f.jobs.Apply(job.Event{ID: id1, State: job.Started, Attempt: 1, Prompt: "a fox", Seed: &seed})
	f.jobs.Apply(job.Event{ID: id1, State: job.Started, Attempt: 1, Phase: job.PhaseGenerating})
	d := jobData(t, s.next("job", 5*time.Second, func(d string) bool { return strings.Contains(d, `"phase":"generating"`) }))
	if d.ID != id1 || d.Status != "running" {
		t.Errorf("job event %+v", d)
	}
	w := f.get("/api/jobs/" + id1)
	j := decodeJSON[apiJob](t, w.Body)
	if j.Phase != "generating" || j.Seed == nil || *j.Seed != 7 {
		t.Errorf("/api/jobs: %+v", j)
	}
}
