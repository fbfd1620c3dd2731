package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/worker"
)

// Hostile use of jobs (issue 12): submissions that overshoot the queue's
// limit together (D8), a failed job's stderr tail and everyone's job cards
// reaching every client (D9).

// D8: a submission's own jobs count against MAX_QUEUE_LENGTH, all or none.
func TestSubmissionsJobsCountAgainstTheQueueLimit(t *testing.T) {
	t.Parallel()
	f := setup(t, func(c *config.WebUI) { c.MaxQueueLength = 5 })
	f.queue.length = 2
	w := f.postJSON(`{"prompt":"dog","count":4,"parallel":true}`)
	if e := decodeJSON[apiErr](t, w.Body); w.Code != http.StatusServiceUnavailable || !strings.Contains(e.Error, "room for 3 more jobs") {
		t.Fatalf("4 into 2 of 5: %d %q", w.Code, e.Error)
	}
	if w := f.postJSON(`{"prompt":"dog","count":3,"parallel":true}`); w.Code != http.StatusAccepted {
		t.Fatalf("3 into 2 of 5: %d", w.Code)
	}
	// The broker's count (2, cached) does not know them yet: this webui does.
	if w := f.postJSON(`{"prompt":"dog"}`); w.Code != http.StatusServiceUnavailable {
		t.Errorf("a sixth job: %d, want 503", w.Code)
	}
	if n := len(f.queue.messages()); n != 3 {
		t.Errorf("%d published, want 3", n)
	}
}

// D8 on RabbitMQ as issue 12 tried it: 40 concurrent submissions of 4
// parallel images with MAX_QUEUE_LENGTH=5 queued 16 jobs. Now one
// submission fits (4 jobs) and 39 are refused; then 40 concurrent single
// jobs fill the one place left. The broker holds exactly what was
// accepted.
func TestQueueLimitOnRabbitMQWithConcurrentSubmissions(t *testing.T) {
	t.Parallel()
	st := startStack(t, func(c *config.WebUI) { c.MaxQueueLength = 5 })
	length := func() int {
		n, err := st.q.Len(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if codes := burst(t, 40, st.url, `{"prompt":"dog","count":4,"parallel":true}`, nil); codes[http.StatusAccepted] != 1 || codes[http.StatusServiceUnavailable] != 39 {
		t.Errorf("40 × 4 parallel: %v, want 1 × 202 and 39 × 503", codes)
	}
	if n := length(); n != 4 {
		t.Errorf("the queue holds %d jobs, want 4", n)
	}
	if codes := burst(t, 40, st.url, `{"prompt":"dog"}`, nil); codes[http.StatusAccepted] != 1 || codes[http.StatusServiceUnavailable] != 39 {
		t.Errorf("40 × 1: %v, want 1 × 202 and 39 × 503", codes)
	}
	if n := length(); n != 5 {
		t.Errorf("the queue holds %d jobs, want 5 (MAX_QUEUE_LENGTH)", n)
	}
}

// oomGenerator fails every job as fastsdcpu does when CUDA runs out of
// memory: its error carries the CLI's stderr tail.
type oomGenerator struct{ worker.Placeholder }

const oomTail = "fastsdcpu exit status 1: Traceback (most recent call last):\n" +
	"  File \"/app/src/backend/lcm_text_to_image.py\", line 412, in generate\n" +
	"torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB"

func (oomGenerator) Generate(context.Context, job.Message, string) (worker.Result, error) {
	return worker.Result{}, errors.New(oomTail)
}

// D9 on RabbitMQ with a worker: a job fails three times with the
// generator's stderr tail as its reason. The browser that submitted it sees
// its cards, each with a short classified reason; another browser sees no
// card of it (only that the line moved); GET /api/jobs/{id} says the same
// short reason; the tail reaches no client (the status package logs it, and
// /metrics counts the kinds).
func TestFailedJobShowsAClassifiedReasonToItsOwnerOnly(t *testing.T) {
	t.Parallel()
	st := startStack(t)
	resp, err := http.Post(st.url+"/api/jobs", "application/json", strings.NewReader(`{"prompt":"a private prompt"}`))
	if err != nil {
		t.Fatal(err)
	}
	var accepted struct{ Jobs []apiJobRef }
	_ = json.NewDecoder(resp.Body).Decode(&accepted)
	resp.Body.Close()
	if len(accepted.Jobs) != 1 {
		t.Fatalf("submit: %s", resp.Status)
	}
	id := accepted.Jobs[0].ID
	owner := openEvents(t, st.ctx, st.url, id)
	other := openEvents(t, st.ctx, st.url, "00000000-0000-4000-8000-000000000001")
	stranger := openEvents(t, st.ctx, st.url)
	waitFor(t, "the three streams are open", func() bool { return st.app.hub.Clients() == 3 })
	st.startWorker(oomGenerator{})

	var seen []jobEventData
	for {
		d := jobData(t, owner.next("job", 60*time.Second, func(string) bool { return true }))
		seen = append(seen, d)
		if d.Status == "failed" {
			break
		}
	}
	states := []string{}
	for _, d := range seen {
		states = append(states, d.Status)
		if strings.Contains(d.HTML, "Traceback") || strings.Contains(d.HTML, "/app/src") || strings.Contains(d.HTML, "Tried to allocate") {
			t.Errorf("a %s card carries the stderr tail: %s", d.Status, d.HTML)
		}
		if d.Status == "retrying" || d.Status == "failed" {
			if !strings.Contains(d.HTML, "out of memory") {
				t.Errorf("a %s card does not say out of memory: %s", d.Status, d.HTML)
			}
		}
	}
	if !slices.Contains(states, "retrying") {
		t.Errorf("states %v: no retry seen", states)
	}
	var j apiJob
	if code := getJSON(st.url+accepted.Jobs[0].StatusURL, &j); code != http.StatusOK || j.Status != "failed" ||
		j.Reason != "out of memory" || j.ReasonKind != "out_of_memory" {
		t.Errorf("GET %s: %d %+v", accepted.Jobs[0].StatusURL, code, j)
	}
	// The other streams got the line's moves, never the job.
	for name, s := range map[string]*sseStream{"a browser with another job": other, "a browser without jobs": stranger} {
		s.next("jobs", 10*time.Second, func(d string) bool { return d == `{"op":"moved"}` })
		drain := time.After(500 * time.Millisecond)
	read:
		for {
			select {
			case m := <-s.ch:
				if strings.Contains(m.Data, id) || strings.Contains(m.Data, "private prompt") {
					t.Errorf("%s got %s %s", name, m.Name, m.Data)
				}
			case <-drain:
				break read
			}
		}
	}
	metrics := httpGetBody(t, st.url+"/metrics")
	for _, want := range []string{`sdkeda_webui_job_reasons_total{reason="out_of_memory",state="failed"} 1`,
		`sdkeda_webui_job_reasons_total{reason="out_of_memory",state="retrying"} 2`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func httpGetBody(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// burst POSTs body to base/api/jobs n times at once, submission i with the
// header pairs header(i) (nil: none), and counts the answers by status.
func burst(t *testing.T, n int, base, body string, header func(i int) []string) map[int]int {
	t.Helper()
	codes := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			req, _ := http.NewRequest(http.MethodPost, base+"/api/jobs", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if header != nil {
				h := header(i)
				for j := 0; j+1 < len(h); j += 2 {
					req.Header.Set(h[j], h[j+1])
				}
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	wg.Wait()
	return codes
}
