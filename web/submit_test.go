package web

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
)

func TestStopListMatchesWholeWordsOnly(t *testing.T) {
	t.Parallel()
	f := setup(t)
	// "Sussex", "essex", "bloodhound": the old page's substring match refused them.
	if w := f.postJSON(`{"prompt":"a bloodhound in Sussex"}`); w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	g := setup(t, func(c *config.WebUI) { c.NSFWWords = []string{"giraffe"} })
	if w := g.postJSON(`{"prompt":"a Giraffe."}`); w.Code != http.StatusBadRequest {
		t.Fatalf("configured stop word: status %d", w.Code)
	}
}

func TestMalformedJSONIs400(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, body := range []string{``, `{`, `[1]`, `{"prompt":"a"} {"prompt":"b"}`} {
		w := f.postJSON(body)
		if w.Code != http.StatusBadRequest {
			t.Errorf("%q: status %d, want 400", body, w.Code)
		}
		if e := decodeJSON[apiErr](t, w.Body); e.Error == "" {
			t.Errorf("%q: no error message", body)
		}
	}
}

func TestFormPublishesOneJobAndRedirects(t *testing.T) {
	t.Parallel()
	f := setup(t)
	v := url.Values{"prompt": {"  green dog "}, "count": {"3"}, "negative_prompt": {"blurry"},
		"seed": {"42"}, "width": {"512"}, "height": {"768"}, "steps": {"4"}}
	w := f.postForm(v)
	loc := w.Header().Get("Location")
	if w.Code != http.StatusSeeOther || !strings.HasPrefix(loc, "/?") {
		t.Fatalf("status %d Location %q, want 303 to /?<the form>", w.Code, loc)
	}
	msgs := f.queue.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Prompt != "green dog" || m.Count != 3 || m.NegativePrompt != "blurry" || *m.Seed != 42 ||
		m.Width != 512 || m.Height != 768 || m.Steps != 4 || m.Group != "" || m.ID == "" || m.SubmittedAt == "" {
		t.Errorf("message %+v", m)
	}
	if f.queue.published[0].ID != m.ID {
		t.Error("the AMQP message id must be the job id")
	}
	waitFor(t, "the queued event is published", func() bool { return len(f.queue.statusEvents()) == 1 })
	if e := f.queue.statusEvents()[0]; e.State != job.Queued || e.ID != m.ID || e.Prompt != "green dog" {
		t.Errorf("queued event %+v", e)
	}

	// The page after the redirect shows the job's card, from the cookie,
	// the notice, and the form as it was sent.
	r := httptestGet(loc, w.Result().Cookies())
	page := f.do(r)
	d := doc(t, page)
	if got := testid(d, "form-notice").Text(); got != "Queued 1 job." {
		t.Errorf("notice after the redirect %q", got)
	}
	if testid(d, "prompt").Text() != "  green dog " || testid(d, "count").AttrOr("value", "") != "3" ||
		testid(d, "seed").AttrOr("value", "") != "42" || testid(d, "negative_prompt").Text() != "blurry" {
		t.Errorf("the form was not kept: prompt %q count %q seed %q", testid(d, "prompt").Text(),
			testid(d, "count").AttrOr("value", ""), testid(d, "seed").AttrOr("value", ""))
	}
	if _, checked := testid(d, "parallel").Attr("checked"); checked {
		t.Error("parallel was off when sent")
	}
	// The notice is shown once: the page deletes its cookie.
	if c := page.Result().Cookies(); len(c) != 1 || c[0].Name != noticeCookie || c[0].MaxAge >= 0 {
		t.Errorf("notice cookie not deleted: %v", c)
	}
	card := testid(d, "job-card")
	if card.Length() != 1 || card.AttrOr("data-job-id", "") != m.ID || card.AttrOr("data-status", "") != "queued" {
		t.Fatalf("job cards: %d, %v", card.Length(), card.AttrOr("data-status", ""))
	}
	if !strings.Contains(card.Find(`[data-testid="job-status"]`).Text(), "about #1 in line") {
		t.Errorf("status line %q", card.Find(`[data-testid="job-status"]`).Text())
	}
}

func TestInParallelMakesOneMessagePerImage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	w := f.postJSON(`{"prompt":"green dog","count":4,"parallel":true}`)
	if w.Code != http.StatusAccepted {
		t.Fatalf("status %d: %s", w.Code, w.Body)
	}
	got := decodeJSON[struct{ Jobs []apiJobRef }](t, w.Body)
	msgs := f.queue.messages()
	if len(msgs) != 4 || len(got.Jobs) != 4 {
		t.Fatalf("%d messages, %d ids answered, want 4", len(msgs), len(got.Jobs))
	}
	ids := map[string]bool{}
	for _, m := range msgs {
		if m.Count != 1 || m.Group == "" || m.Group != msgs[0].Group {
			t.Errorf("message %+v: want count 1 and the shared group", m)
		}
		ids[m.ID] = true
	}
	for _, j := range got.Jobs {
		if !ids[j.ID] || j.StatusURL != "/api/jobs/"+j.ID {
			t.Errorf("answered %+v", j)
		}
	}
	// Not in parallel: one message of count 4.
	g := setup(t)
	g.postJSON(`{"prompt":"green dog","count":4}`)
	if msgs := g.queue.messages(); len(msgs) != 1 || msgs[0].Count != 4 || msgs[0].Group != "" {
		t.Errorf("not in parallel: %+v", msgs)
	}
}

// A submission without a count asks for one image, as the old webui's did;
// an explicit 0 is refused (validation_test.go).
func TestNoCountIsOneImage(t *testing.T) {
	t.Parallel()
	f := setup(t)
	if w := f.postJSON(`{"prompt":"green dog"}`); w.Code != http.StatusAccepted {
		t.Fatalf("API: status %d: %s", w.Code, w.Body)
	}
	if w := f.postForm(url.Values{"prompt": {"green dog"}}); w.Code != http.StatusSeeOther {
		t.Fatalf("form: status %d: %s", w.Code, w.Body)
	}
	msgs := f.queue.messages()
	if len(msgs) != 2 || msgs[0].Count != 1 || msgs[1].Count != 1 {
		t.Fatalf("messages %+v, want two of count 1", msgs)
	}
}

func TestFormToHTMXAnswersTheComposer(t *testing.T) {
	t.Parallel()
	f := setup(t)
	w := f.postForm(url.Values{"prompt": {"green dog"}, "count": {"2"}, "parallel": {"on"}}, "HX-Request", "true")
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	d := doc(t, w)
	if testid(d, "title").Length() != 0 || testid(d, "composer").Length() != 1 {
		t.Fatal("want the composer fragment alone")
	}
	if n := testid(d, "job-card").Length(); n != 2 {
		t.Errorf("%d job cards, want 2", n)
	}
	if got := testid(d, "form-notice").Text(); got != "Queued 2 jobs." {
		t.Errorf("notice %q", got)
	}
	// The form comes back as it was sent: the next try changes one thing.
	if got := testid(d, "prompt").Text(); got != "green dog" {
		t.Errorf("the prompt should be kept, got %q", got)
	}
	if _, checked := testid(d, "parallel").Attr("checked"); !checked || testid(d, "count").AttrOr("value", "") != "2" {
		t.Error("count and parallel should be kept")
	}
	// An invalid form to htmx: the fragment with the errors, status 400.
	w = f.postForm(url.Values{"prompt": {""}}, "HX-Request", "true")
	d = doc(t, w)
	if w.Code != http.StatusBadRequest || testid(d, "error-prompt").Text() == "" || testid(d, "title").Length() != 0 {
		t.Errorf("status %d, error %q", w.Code, testid(d, "error-prompt").Text())
	}
}

func TestTooLargeBodyIs413(t *testing.T) {
	t.Parallel()
	f := setup(t)
	big := strings.Repeat("x", maxBody+1)
	w := f.postJSON(`{"prompt":"` + big + `"}`)
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("API: status %d", w.Code)
	}
	if e := decodeJSON[apiErr](t, w.Body); !strings.Contains(e.Error, "larger than") {
		t.Errorf("API error %q", e.Error)
	}
	w = f.postForm(url.Values{"prompt": {big}})
	if w.Code != http.StatusRequestEntityTooLarge {
		t.Fatalf("form: status %d", w.Code)
	}
	if got := testid(doc(t, w), "form-problem").Text(); !strings.Contains(got, "larger than") {
		t.Errorf("form problem %q", got)
	}
}

func TestRateLimitIs429(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *config.WebUI) { c.RateLimit = 2 })
	for i := range 2 {
		if w := f.postJSON(`{"prompt":"dog"}`); w.Code != http.StatusAccepted {
			t.Fatalf("submission %d: status %d", i+1, w.Code)
		}
	}
	w := f.postJSON(`{"prompt":"dog"}`)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" {
		t.Fatalf("status %d, Retry-After %q", w.Code, w.Header().Get("Retry-After"))
	}
	if e := decodeJSON[apiErr](t, w.Body); !strings.Contains(e.Error, "too many") {
		t.Errorf("error %q", e.Error)
	}
	// The form shares the limit and says it beside the form, keeping the prompt.
	w = f.postForm(url.Values{"prompt": {"my prompt"}})
	d := doc(t, w)
	if w.Code != http.StatusTooManyRequests || !strings.Contains(testid(d, "form-problem").Text(), "Too many") ||
		testid(d, "prompt").Text() != "my prompt" {
		t.Errorf("form: status %d problem %q", w.Code, testid(d, "form-problem").Text())
	}
	// Another address has its own budget.
	r := httptestPost("/api/jobs", `{"prompt":"dog"}`)
	r.RemoteAddr = "198.51.100.7:4000"
	if w := f.do(r); w.Code != http.StatusAccepted {
		t.Errorf("another client: status %d", w.Code)
	}
}

func TestFullOrUnreachableQueueIs503(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, want string
		break_     func(*fakeQueue)
	}{
		{"full", "queue is full", func(q *fakeQueue) { q.length = 500 }},
		{"length unknown", "unreachable", func(q *fakeQueue) { q.lenErr = errors.New("dial tcp: connection refused") }},
		{"publish unconfirmed", "did not take", func(q *fakeQueue) { q.publishErr = errors.New("queue: publish not confirmed") }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := setup(t)
			tc.break_(f.queue)
			w := f.postJSON(`{"prompt":"dog"}`)
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("status %d", w.Code)
			}
			if e := decodeJSON[apiErr](t, w.Body); !strings.Contains(e.Error, tc.want) {
				t.Errorf("error %q, want %q", e.Error, tc.want)
			}
			w = f.postForm(validForm())
			if w.Code != http.StatusServiceUnavailable {
				t.Fatalf("form: status %d", w.Code)
			}
			if got := testid(doc(t, w), "form-problem").Text(); !strings.Contains(got, tc.want) {
				t.Errorf("form problem %q, want %q", got, tc.want)
			}
		})
	}
}

func TestPartlyPublishedSaysWhichJobsAreQueued(t *testing.T) {
	t.Parallel()
	f := setup(t)
	f.queue.publishErr, f.queue.failAfter = errors.New("queue: publish not confirmed"), 2
	w := f.postJSON(`{"prompt":"dog","count":4,"parallel":true}`)
	e := decodeJSON[apiErr](t, w.Body)
	if w.Code != http.StatusServiceUnavailable || len(e.Jobs) != 2 || !strings.Contains(e.Error, "only 2 of 4") {
		t.Fatalf("status %d, %+v", w.Code, e)
	}
}

func TestCrossOriginPostIsRefused(t *testing.T) {
	t.Parallel()
	f := setup(t)
	for _, target := range []string{"/generate", "/api/jobs"} {
		r := httptestPost(target, `{"prompt":"dog"}`)
		r.Header.Set("Sec-Fetch-Site", "cross-site")
		if w := f.do(r); w.Code != http.StatusForbidden {
			t.Errorf("%s: status %d, want 403", target, w.Code)
		}
	}
	if n := len(f.queue.messages()); n != 0 {
		t.Errorf("%d published", n)
	}
}
