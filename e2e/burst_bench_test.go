package e2e

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"
)

const (
	burstClients = 64 // requests in flight at once
	burstWorkers = 2
)

// BenchmarkBurst sends E2E_BURST_JOBS submissions (10,000) as fast as
// burstClients concurrent senders can, while two workers (placeholder
// generator) drain the queue. The webui takes jobs up to MAX_QUEUE_LENGTH
// (E2E_BURST_LIMIT) and answers 503 past it. Every 202 must end as exactly
// one complete entry in the bucket, made by one run (attempt 1): these are
// counts, asserted; the times are only reported.
func BenchmarkBurst(b *testing.B) {
	n := envInt(b, "E2E_BURST_JOBS", 10000)
	limit := envInt(b, "E2E_BURST_LIMIT", 2000)
	load := loadAverage()
	s := newStack(b, options{Generator: "placeholder", MaxQueue: limit})
	s.addWorkers(burstWorkers)
	c := newClient(s.base, burstClients)

	var subs []submission
	var wall time.Duration
	for b.Loop() {
		c1, cancel := ctx(10 * time.Minute)
		subs, wall = c.submitAll(c1, specs(n, 2, "burst"), burstClients)
		cancel()
	}
	want := accepted(subs)
	start := time.Now()
	missing := s.waitComplete(want, 15*time.Minute)
	drain := time.Since(start)
	t, _, err := s.audit(want)
	if err != nil {
		b.Fatal(err)
	}
	codes := statuses(subs)
	b.ReportMetric(float64(n)/wall.Seconds(), "submits/s")
	b.ReportMetric(float64(len(want)), "accepted")
	b.ReportMetric(float64(codes["503"]), "rejected_503")
	b.Logf("burst: %d sent in %s, answers %v; after %s: %+v (still missing at the deadline: %d)",
		n, wall.Round(time.Millisecond), codes, drain.Round(time.Millisecond), t, missing)
	if t.Lost != 0 || t.Doubled != 0 || t.Reruns != 0 {
		b.Errorf("every accepted job must be stored exactly once, by one run: lost %d, doubled %d, run again %d; %s",
			t.Lost, t.Doubled, t.Reruns, strings.Join(t.Problems, "; "))
	}
	writeSection(b, "burst", burstSection(n, limit, wall, drain, subs, t, load), machineFacts(s.rabbit.URL))
}

func burstSection(n, limit int, wall, drain time.Duration, subs []submission, t tally, load string) string {
	codes := statuses(subs)
	var keys []string
	for k := range codes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var answers []string
	for _, k := range keys {
		answers = append(answers, fmt.Sprintf("%s: %d", k, codes[k]))
	}
	var ok, full []float64
	for _, x := range subs {
		switch x.Status {
		case http.StatusAccepted:
			ok = append(ok, ms(x.RTT))
		case http.StatusServiceUnavailable:
			full = append(full, ms(x.RTT))
		}
	}
	a, r := summarize(ok), summarize(full)
	var sb strings.Builder
	sb.WriteString(measured("go test -run '^$' -bench Burst -benchtime 1x ./e2e/", load))
	fmt.Fprintf(&sb, `
%d submissions (one or two images, in turn) sent as fast as %d concurrent senders
can over loopback, while %d workers (`+"`GENERATOR=placeholder`"+`) drain the queue; the
webui runs with `+"`MAX_QUEUE_LENGTH=%d`"+` and `+"`RATE_LIMIT=0`"+`. Afterwards the bucket is
listed with minio-go: every accepted job must have exactly one complete entry
(`+"`<id>.json`"+` and images 1..count, nothing more, metadata naming the job and its
prompt) written by one run (`+"`attempt`"+` 1). Asserted: lost = doubled = run again = 0.
The limit is approximate by design: the webui compares a queue length cached for up
to a second (plus its own publishes since), so a few more than the limit get in.

| sent | in (s) | submissions/s | answers | accepted | 503 past the limit | 202 p50 / p99 (ms) | 503 p50 / p99 (ms) |
|---|---|---|---|---|---|---|---|
| %d | %s | %s | %s | %d | %d | %s / %s | %s / %s |

| accepted | completed | lost | doubled | run again | entries without a 202 | drain after the burst (s) |
|---|---|---|---|---|---|---|
| %d | %d | %d | %d | %d | %d | %s |
`, n, burstClients, burstWorkers, limit, n, f(wall.Seconds()), f(float64(n)/wall.Seconds()),
		strings.Join(answers, ", "), t.Accepted, codes["503"], f(a.P50), f(a.P99), f(r.P50), f(r.P99),
		t.Accepted, t.Completed, t.Lost, t.Doubled, t.Reruns, t.Unexpected, f(drain.Seconds()))
	return sb.String()
}
