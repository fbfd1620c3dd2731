package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// client talks to the webui's JSON API like a script would.
type client struct {
	base string
	hc   *http.Client
}

func newClient(base string, conns int) *client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// Keep a connection per concurrent sender: without it a burst opens and
	// closes thousands and runs out of loopback ports in TIME_WAIT.
	tr.MaxIdleConns, tr.MaxIdleConnsPerHost = conns, conns
	return &client{base: base, hc: &http.Client{Transport: tr, Timeout: 60 * time.Second}}
}

// spec is a job as submitted: what its entry must hold.
type spec struct {
	Prompt        string
	Count         int
	Width, Height int // 0: the generator's default
}

// submission is the outcome of one POST /api/jobs.
type submission struct {
	Spec   spec
	ID     string // the job id when accepted (202)
	Status int    // 0 when no answer came
	Reason string // the JSON error of a refusal
	Err    error
	Sent   time.Time
	RTT    time.Duration
}

// submit posts one job and returns what came back.
func (c *client) submit(ctx context.Context, s spec) submission {
	out := submission{Spec: s, Sent: time.Now()}
	req := map[string]any{"prompt": s.Prompt, "count": s.Count}
	if s.Width != 0 {
		req["width"], req["height"] = s.Width, s.Height
	}
	body, _ := json.Marshal(req)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, c.base+"/api/jobs", bytes.NewReader(body))
	if err != nil {
		out.Err = err
		return out
	}
	hreq.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(hreq)
	if err != nil {
		out.Err = fmt.Errorf("post /api/jobs: %w", err)
		out.RTT = time.Since(out.Sent)
		return out
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	out.RTT = time.Since(out.Sent)
	out.Status = resp.StatusCode
	if err != nil {
		out.Err = fmt.Errorf("read answer: %w", err)
		return out
	}
	if resp.StatusCode != http.StatusAccepted {
		var refused struct {
			Error string `json:"error"`
		}
		_ = json.Unmarshal(b, &refused)
		out.Reason = refused.Error
		return out
	}
	var ok struct {
		Jobs []struct {
			ID string `json:"id"`
		} `json:"jobs"`
	}
	if err := json.Unmarshal(b, &ok); err != nil || len(ok.Jobs) != 1 || ok.Jobs[0].ID == "" {
		out.Err = fmt.Errorf("202 without one job id: %s", b)
		return out
	}
	out.ID = ok.Jobs[0].ID
	return out
}

// submitAll sends specs with at most conc requests in flight and returns
// every outcome (in the order of specs) and the wall time of the whole.
func (c *client) submitAll(ctx context.Context, specs []spec, conc int) ([]submission, time.Duration) {
	out := make([]submission, len(specs))
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= len(specs) || ctx.Err() != nil {
					return
				}
				out[i] = c.submit(ctx, specs[i])
			}
		})
	}
	wg.Wait()
	return out, time.Since(start)
}

// accepted returns the jobs that got a 202, by id.
func accepted(subs []submission) map[string]spec {
	out := map[string]spec{}
	for _, s := range subs {
		if s.ID != "" {
			out[s.ID] = s.Spec
		}
	}
	return out
}

// statuses counts the answers by HTTP status ("error" for no answer).
func statuses(subs []submission) map[string]int {
	out := map[string]int{}
	for _, s := range subs {
		switch {
		case s.Status == 0:
			out["error"]++
		case s.Err != nil:
			out["bad answer"]++
		default:
			out[fmt.Sprint(s.Status)]++
		}
	}
	return out
}

// specs makes n jobs with distinct prompts, of 1 to maxCount images in turn.
func specs(n, maxCount int, label string) []spec {
	out := make([]spec, n)
	for i := range out {
		out[i] = spec{Prompt: fmt.Sprintf("%s %d: a lighthouse on a cliff at dusk", label, i), Count: 1 + i%maxCount}
	}
	return out
}
