package web

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/PuerkitoBio/goquery"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/status"
)

// fixture is a server over fakes, for handler tests.
type fixture struct {
	t       *testing.T
	cfg     config.WebUI
	queue   *fakeQueue
	gallery *fakeGallery
	jobs    *status.Tracker
	hub     *Hub
	handler http.Handler
	now     time.Time
}

func setup(t *testing.T, change ...func(*config.WebUI)) *fixture {
	t.Helper()
	cfg, err := config.LoadWebUI(func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.RateLimit = 0
	cfg.AllowedHosts = nil // httptest's requests are for example.com
	for _, c := range change {
		c(&cfg)
	}
	f := &fixture{t: t, cfg: cfg, queue: &fakeQueue{}, gallery: newFakeGallery(), hub: NewHub(16).Limit(cfg.MaxStreams, cfg.MaxStreamsPerClient),
		now: time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)}
	now := func() time.Time { return f.now }
	f.jobs = status.New(f.queue, f.gallery, status.Options{Now: now})
	f.handler = NewServer(Deps{
		Config: cfg, Queue: f.queue, Images: imagesOf{f.gallery}, Markers: f.gallery, Gallery: f.gallery,
		Jobs: f.jobs, Hub: f.hub, Metrics: NewMetrics(prometheus.NewRegistry(), f.gallery, f.hub, f.jobs), Now: now,
		Ready: map[string]Pinger{"queue": f.queue},
	})
	// The job cards go to the SSE clients as in Run; the status itself is
	// fed by the test (Apply), not by a subscription.
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	changes, unsubscribe := f.jobs.Changes(1024)
	go func() { defer close(done); FollowJobs(ctx, changes, f.jobs, f.hub, nil, now) }()
	t.Cleanup(func() { cancel(); <-done; unsubscribe() })
	return f
}

// do serves one request and returns the recorded answer.
func (f *fixture) do(r *http.Request) *httptest.ResponseRecorder {
	f.t.Helper()
	w := httptest.NewRecorder()
	f.handler.ServeHTTP(w, r)
	return w
}

func (f *fixture) get(target string, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return f.do(r)
}

// postForm posts the form as a browser without JavaScript does.
func (f *fixture) postForm(v url.Values, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/generate", strings.NewReader(v.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return f.do(r)
}

func (f *fixture) postJSON(body string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, "/api/jobs", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return f.do(r)
}

func httptestGet(target string, cookies []*http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	return r
}

func httptestPost(target, body string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	return r
}

func doc(t *testing.T, w *httptest.ResponseRecorder) *goquery.Document {
	t.Helper()
	d, err := goquery.NewDocumentFromReader(w.Body)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testid(d *goquery.Document, id string) *goquery.Selection {
	return d.Find(`[data-testid="` + id + `"]`)
}

func decodeJSON[T any](t testing.TB, r io.Reader) T {
	t.Helper()
	var v T
	if err := json.NewDecoder(r).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

// apiErr is the JSON error as a client reads it.
type apiErr struct {
	Error  string           `json:"error"`
	Fields []job.FieldError `json:"fields"`
	Jobs   []apiJobRef      `json:"jobs"`
}

func (e apiErr) field(name string) string {
	for _, f := range e.Fields {
		if f.Field == name {
			return f.Reason
		}
	}
	return ""
}

func jobEvent(id string, state job.State, prompt string) job.Event {
	return job.Event{ID: id, State: state, Prompt: prompt}
}

func validForm() url.Values {
	return url.Values{"prompt": {"green dog"}, "count": {"1"}}
}
