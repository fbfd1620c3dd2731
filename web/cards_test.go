package web

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/status"
	"github.com/sdkeda/sdkeda/internal/store"
)

// Issue 13 points 5, 7 and 9 on the handler: the cards' buttons (cancel,
// retry, clear), the page without JavaScript, the small things.

// post sends a card's button as a browser does, with cookies.
func (f *fixture) post(target string, cookies []*http.Cookie, header ...string) *httptest.ResponseRecorder {
	r := httptest.NewRequest(http.MethodPost, target, nil)
	for _, c := range cookies {
		r.AddCookie(c)
	}
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Set(header[i], header[i+1])
	}
	return f.do(r)
}

func cookiesOf(ids ...string) []*http.Cookie {
	return []*http.Cookie{{Name: jobsCookie, Value: strings.Join(ids, ".")}}
}

func TestCancelWritesTheMarkerAndTheCardSaysCancelled(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.jobs.Apply(job.Event{ID: id1, State: job.Queued, Prompt: "dog", Count: 1, At: f.now})
	f.jobs.Apply(job.Event{ID: id2, State: job.Queued, Prompt: "cat", Count: 1, At: f.now.Add(time.Second)})

	// Not this browser's job: refused, nothing written.
	if w := f.post("/jobs/"+id1+"/cancel", cookiesOf(id2)); w.Code != http.StatusNotFound || f.gallery.has(store.CancelKey(id1)) {
		t.Fatalf("cancel of another's job: %d", w.Code)
	}
	// With htmx: the cards come back, the job's says cancelled.
	w := f.post("/jobs/"+id1+"/cancel", cookiesOf(id1, id2), "HX-Request", "true")
	d := doc(t, w)
	if w.Code != http.StatusOK || !f.gallery.has(store.CancelKey(id1)) {
		t.Fatalf("cancel: %d, marker %v", w.Code, f.gallery.has(store.CancelKey(id1)))
	}
	card := d.Find(`#job-` + id1)
	if card.AttrOr("data-status", "") != "cancelled" || card.Find(`[data-testid="retry"]`).Length() != 1 {
		t.Errorf("card %q", card.AttrOr("data-status", ""))
	}
	if got := d.Find(`#job-` + id2 + ` [data-testid="job-status"]`).Text(); !strings.Contains(got, "about #1 in line") {
		t.Errorf("the job behind did not move up: %q", got)
	}
	waitFor(t, "the cancelled event is announced", func() bool {
		for _, e := range f.queue.statusEvents() {
			if e.ID == id1 && e.State == job.Cancelled && e.Attempt == 1 {
				return true
			}
		}
		return false
	})
	// Without JavaScript: 303 to the page, whose notice says it.
	w = f.post("/jobs/"+id2+"/cancel", cookiesOf(id1, id2))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("no-JS cancel: %d", w.Code)
	}
	page := doc(t, f.do(httptestGet("/", append(w.Result().Cookies(), cookiesOf(id1, id2)...))))
	if got := testid(page, "form-notice").Text(); !strings.Contains(got, "Cancelled") {
		t.Errorf("notice %q", got)
	}
	// A running job cannot be cancelled any more.
	f.jobs.Apply(job.Event{ID: id3, State: job.Started, Attempt: 1, Prompt: "cow"})
	if w := f.post("/jobs/"+id3+"/cancel", cookiesOf(id3), "HX-Request", "true"); w.Code != http.StatusConflict ||
		!strings.Contains(testid(doc(t, w), "jobs-problem").Text(), "not waiting any more") {
		t.Errorf("cancel of a running job: %d", w.Code)
	}
}

// A store that does not take the marker: 503, and the job is not called
// cancelled (it would run).
func TestCancelWithoutTheMarkerIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.jobs.Apply(job.Event{ID: id1, State: job.Queued, Prompt: "dog"})
	f.gallery.putErr = errors.New("connection refused")
	w := f.postJSONTo("/api/jobs/"+id1+"/cancel", "")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d", w.Code)
	}
	if j, _ := f.jobs.Get(t.Context(), id1); j.State != job.Queued {
		t.Errorf("state %s", j.State)
	}
}

func (f *fixture) postJSONTo(target, body string) *httptest.ResponseRecorder {
	return f.do(httptestPost(target, body))
}

// Retry submits a failed job again with its settings, as a new job that
// takes its card.
func TestRetryMakesANewJobWithTheSameSettings(t *testing.T) {
	t.Parallel()
	f := setup(t)
	seed, g := int64(12), 2.5
	f.jobs.Apply(job.Event{ID: id1, State: job.Queued, Prompt: "glass cat", Count: 2, Seed: &seed,
		NegativePrompt: "blurry", Width: 640, Height: 384, Steps: 3, GuidanceScale: &g})
	f.jobs.Apply(job.Event{ID: id1, State: job.Failed, Attempt: 3, Reason: "out of memory"})
	f.jobs.Apply(job.Event{ID: id2, State: job.Queued, Prompt: "waiting"})

	if w := f.post("/jobs/"+id2+"/retry", cookiesOf(id2), "HX-Request", "true"); w.Code != http.StatusConflict {
		t.Errorf("retry of a queued job: %d", w.Code)
	}
	w := f.post("/jobs/"+id1+"/retry", cookiesOf(id1, id2), "HX-Request", "true")
	if w.Code != http.StatusOK {
		t.Fatalf("retry: %d %s", w.Code, w.Body)
	}
	msgs := f.queue.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	m := msgs[0]
	if m.ID == id1 || m.Prompt != "glass cat" || m.Count != 2 || *m.Seed != 12 || m.NegativePrompt != "blurry" ||
		m.Width != 640 || m.Height != 384 || m.Steps != 3 || *m.GuidanceScale != 2.5 || m.Group != "" {
		t.Errorf("message %+v", m)
	}
	ids := cookieIDsOf(w)
	if len(ids) != 2 || ids[0] != m.ID || ids[1] != id2 {
		t.Errorf("cookie %v: want the new job first, the failed one gone", ids)
	}
}

func cookieIDsOf(w *httptest.ResponseRecorder) []string {
	for _, c := range w.Result().Cookies() {
		if c.Name == jobsCookie {
			return strings.Split(c.Value, ".")
		}
	}
	return nil
}

func TestClearFinishedKeepsTheOthers(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.jobs.Apply(job.Event{ID: id1, State: job.Failed, Prompt: "a"})
	f.jobs.Apply(job.Event{ID: id2, State: job.Queued, Prompt: "b"})
	f.jobs.Apply(job.Event{ID: id3, State: job.Done, Prompt: "c"})
	const unknown = "44444444-4444-4444-8444-444444444444"
	w := f.post("/jobs/clear", cookiesOf(id1, id2, id3, unknown))
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d", w.Code)
	}
	if ids := cookieIDsOf(w); len(ids) != 1 || ids[0] != id2 {
		t.Errorf("cookie after clear: %v", ids)
	}
}

// Without JavaScript a page with a job that waits or runs reloads itself
// (a meta refresh inside <noscript>); with every card finished it does not.
func TestPageRefreshesItselfOnlyWhileAJobIsActive(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.jobs.Apply(job.Event{ID: id1, State: job.Queued, Prompt: "a"})
	d := doc(t, f.do(httptestGet("/", cookiesOf(id1))))
	if d.Find("noscript").Length() != 1 || !strings.Contains(d.Find("noscript").Text()+mustHTML(d.Find("noscript")), `http-equiv="refresh"`) {
		t.Errorf("no refresh while a job waits: %q", mustHTML(d.Find("head")))
	}
	f.jobs.Apply(job.Event{ID: id1, State: job.Done, Prompt: "a"})
	d = doc(t, f.do(httptestGet("/", cookiesOf(id1))))
	if strings.Contains(mustHTML(d.Find("head")), "refresh") {
		t.Error("refresh with every job finished")
	}
}

// A notice cookie carries a code, never text: one not ours shows nothing.
func TestNoticeCookieIsACode(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for code, want := range map[string]string{"queued-3": "Queued 3 jobs.", "queued-1": "Queued 1 job.",
		"<b>hi</b>": "", "queued-x": "", "queued-0": "", "cancelled": "Cancelled: that job will not run."} {
		r := httptestGet("/", []*http.Cookie{{Name: noticeCookie, Value: url.QueryEscape(code)}})
		r.Header.Set("Cookie", noticeCookie+"="+code)
		if got := testid(doc(t, f.do(r)), "form-notice").Text(); got != want {
			t.Errorf("code %q: notice %q, want %q", code, got, want)
		}
	}
}

// curl -I on an image: the headers of GET without a body; a browser that
// shows an image alone gets a favicon and a CSP its viewer can work with.
func TestImageHeadFaviconAndCSP(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.gallery.add(entry(id1, "dog", time.Minute, f.now), []byte("a png of 17 bytes"))
	head := f.do(httptest.NewRequest(http.MethodHead, "/images/"+id1+"-1.png", nil))
	if head.Code != http.StatusOK || head.Header().Get("Content-Length") != "17" || head.Body.Len() != 0 ||
		head.Header().Get("Content-Type") != "image/png" || head.Header().Get("ETag") == "" {
		t.Errorf("HEAD: %d %v body %d bytes", head.Code, head.Header(), head.Body.Len())
	}
	get := f.get("/images/" + id1 + "-1.png")
	if get.Body.String() != "a png of 17 bytes" || !strings.Contains(get.Header().Get("Content-Security-Policy"), "sandbox") {
		t.Errorf("GET: %q %v", get.Body.String(), get.Header())
	}
	if w := f.do(httptest.NewRequest(http.MethodHead, "/images/thumbs/"+id1+"-1.jpg", nil)); w.Code != http.StatusOK || w.Body.Len() != 0 {
		t.Errorf("HEAD thumbnail: %d", w.Code)
	}
	if w := f.do(httptest.NewRequest(http.MethodHead, "/images/nope-1.png", nil)); w.Code != http.StatusNotFound {
		t.Errorf("HEAD of a missing image: %d", w.Code)
	}
	fav := f.get("/favicon.ico")
	if fav.Code != http.StatusOK || fav.Header().Get("Content-Type") != "image/svg+xml" || !strings.Contains(fav.Body.String(), "<svg") {
		t.Errorf("favicon: %d %s", fav.Code, fav.Header().Get("Content-Type"))
	}
}

// The banner says what runs: KEDA-scaled workers in production, the
// in-process placeholder in the embedded mode.
func TestBannerSaysWhatRuns(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if got := testid(doc(t, f.get("/")), "keda-line").Text(); !strings.Contains(got, "autoscaled by Kubernetes Event-Driven Autoscaling (KEDA)") {
		t.Errorf("production: %q", got)
	}
	s := &server{Deps: Deps{EmbeddedGenerator: "placeholder"}}
	if got := s.about(); !strings.Contains(got, "placeholder pictures") || !strings.Contains(got, "nothing autoscaled") {
		t.Errorf("embedded placeholder: %q", got)
	}
	s.EmbeddedGenerator = "fastsdcpu"
	if got := s.about(); !strings.Contains(got, "runs fastsdcpu on this machine") {
		t.Errorf("embedded fastsdcpu: %q", got)
	}
}

// What a card says of waiting comes from the phase and the fleet, with an
// estimate from the recent jobs' medians.
func TestCardsSayWhatIsHappening(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 28, 12, 0, 0, 0, time.UTC)
	typical := map[string]float64{job.DurationGeneration: 10, job.DurationUpload: 2, job.DurationModelLoad: 30}
	fleet := func(states ...job.WorkerState) status.Fleet {
		f := status.Fleet{Depth: 3}
		for _, s := range states {
			f.Workers = append(f.Workers, status.Worker{State: s})
		}
		return f
	}
	queued := status.Job{ID: id1, State: job.Queued, Position: 3}
	for _, c := range []struct {
		j        status.Job
		fleet    status.Fleet
		waiting  string
		estimate string
	}{
		{queued, fleet(), "waiting for a worker to start", ""},
		{queued, fleet(job.WorkerStarting), "a worker is starting", "starts in about 54 s"},
		{queued, fleet(job.WorkerLoading), "a worker is loading the model", "starts in about 54 s"},
		{queued, fleet(job.WorkerBusy), "waiting for a free worker", "starts in about 36 s"},
		{queued, fleet(job.WorkerBusy, job.WorkerBusy), "waiting for a free worker", "starts in about 24 s"},
		{queued, fleet(job.WorkerBusy, job.WorkerIdle), "waiting for a free worker", "starts in about 12 s"},
		{status.Job{ID: id1, State: job.Queued, Position: 1}, fleet(job.WorkerIdle), "a worker is free: starting soon", "starts any moment"},
		{status.Job{ID: id1, State: job.Started, Phase: job.PhaseLoading, PhaseAt: now.Add(-10 * time.Second)}, fleet(job.WorkerBusy),
			"loading the model", "about 32 s left"},
		{status.Job{ID: id1, State: job.Started, Phase: job.PhaseGenerating, PhaseAt: now.Add(-4 * time.Second)}, fleet(job.WorkerBusy),
			"generating", "about 8 s left"},
		{status.Job{ID: id1, State: job.Started, Phase: job.PhaseUploading, PhaseAt: now}, fleet(job.WorkerBusy), "uploading", "about 2 s left"},
		{status.Job{ID: id1, State: job.Started, StartedAt: now.Add(-time.Minute)}, fleet(job.WorkerBusy), "", "done any moment"},
	} {
		vm := jobVM(c.j, scene{now: now, fleet: c.fleet, typical: typical})
		if vm.Waiting != c.waiting || vm.Estimate != c.estimate {
			t.Errorf("%s %s %v: %q / %q, want %q / %q", c.j.State, c.j.Phase, c.fleet.Workers, vm.Waiting, vm.Estimate, c.waiting, c.estimate)
		}
	}
	// No recent jobs: no estimate.
	if vm := jobVM(queued, scene{now: now, fleet: fleet(job.WorkerBusy)}); vm.Estimate != "" {
		t.Errorf("estimate without history: %q", vm.Estimate)
	}
}

// The fleet strip: the queue's depth and the workers by state.
func TestFleetStrip(t *testing.T) {
	t.Parallel()
	f := setup(t)
	d := doc(t, f.get("/"))
	if got := testid(d, "fleet-workers").Text(); !strings.Contains(got, "no worker running") {
		t.Errorf("no workers: %q", got)
	}
	f.jobs.Apply(job.Event{Kind: job.KindWorker, Worker: "w1", WorkerState: job.WorkerBusy, ID: id1, At: f.now})
	f.jobs.Apply(job.Event{Kind: job.KindWorker, Worker: "w2", WorkerState: job.WorkerStarting, At: f.now})
	d = doc(t, f.get("/"))
	if testid(d, "fleet-busy").Text() != "1 busy" || testid(d, "fleet-starting").Text() != "1 starting" || testid(d, "fleet-idle").Length() != 0 {
		t.Errorf("fleet %q", testid(d, "fleet").Text())
	}
}

func mustHTML(s interface{ Html() (string, error) }) string {
	h, _ := s.Html()
	return h
}
