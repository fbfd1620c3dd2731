package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// throughputRound is one number of workers draining a full queue.
type throughputRound struct {
	Workers    int
	Jobs       int
	Rate       float64       // jobs per second, steady part (first 10% left out)
	Drain      time.Duration // from starting the workers to the last entry
	SubmitRate float64       // POST /api/jobs per second while filling, each with a confirm
	Submit     dist          // POST round trips (ms)
	Tally      tally
}

const submitClients = 16

// BenchmarkThroughput fills the queue over HTTP (submissions per second,
// each publish confirmed before the 202), then starts 1, 2 or 4 workers with
// the placeholder generator (a few ms per image, no process) and times how
// fast they empty it, from the times of the entries' JSON in the bucket.
func BenchmarkThroughput(b *testing.B) {
	n := envInt(b, "E2E_THROUGHPUT_JOBS", 600)
	load := loadAverage()
	s := newStack(b, options{Generator: "placeholder"})
	c := newClient(s.base, submitClients)
	var rounds []throughputRound
	for b.Loop() {
		rounds = nil
		for _, w := range []int{1, 2, 4} {
			rounds = append(rounds, drainRound(b, s, c, w, n))
		}
	}
	var workers []int
	var rates []float64
	for _, r := range rounds {
		workers, rates = append(workers, r.Workers), append(rates, r.Rate)
		b.ReportMetric(r.Rate, fmt.Sprintf("w%d_jobs/s", r.Workers))
		b.ReportMetric(r.SubmitRate, fmt.Sprintf("fill%d_submits/s", r.Workers))
	}
	path, err := writeChart("throughput", throughputChart(workers, rates))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("chart: %s (make plots draws it)", path)
	writeSection(b, "throughput", throughputSection(rounds, n, load), machineFacts(s.rabbit.URL))
}

// drainRound submits n jobs with no worker running, then starts workers
// and waits until every job is in the bucket.
func drainRound(b *testing.B, s *stack, c *client, workers, n int) throughputRound {
	b.Helper()
	c1, cancel := ctx(10 * time.Minute)
	defer cancel()
	subs, wall := c.submitAll(c1, specs(n, 1, fmt.Sprintf("throughput w%d", workers)), submitClients)
	want := accepted(subs)
	if len(want) != n {
		b.Fatalf("%d of %d submissions accepted: %v", len(want), n, statuses(subs))
	}
	var rtt []float64
	for _, x := range subs {
		rtt = append(rtt, ms(x.RTT))
	}
	start := time.Now()
	s.addWorkers(workers)
	missing := s.waitComplete(want, 10*time.Minute)
	drain := time.Since(start)
	s.stopWorkers()
	t, _, err := s.audit(want)
	if err != nil {
		b.Fatal(err)
	}
	if missing > 0 || t.Lost > 0 || t.Doubled > 0 {
		b.Fatalf("%d workers: %+v", workers, t)
	}
	rate, err := steadyRate(s, want)
	if err != nil {
		b.Fatal(err)
	}
	return throughputRound{Workers: workers, Jobs: n, Rate: rate, Drain: drain,
		SubmitRate: float64(n) / wall.Seconds(), Submit: summarize(rtt), Tally: t}
}

// steadyRate is jobs per second between the entries' JSON times, leaving
// out the first 10% (the workers connecting).
func steadyRate(s *stack, want map[string]spec) (float64, error) {
	c, cancel := ctx(time.Minute)
	defer cancel()
	objs, err := s.objects(c)
	if err != nil {
		return 0, err
	}
	var at []time.Time
	for id := range want {
		at = append(at, objs[id].Modified)
	}
	slices.SortFunc(at, func(a, b time.Time) int { return a.Compare(b) })
	first := at[len(at)/10]
	span := at[len(at)-1].Sub(first)
	if span <= 0 {
		return 0, fmt.Errorf("entries within %s: the bucket's times are too coarse", span)
	}
	return float64(len(at)-1-len(at)/10) / span.Seconds(), nil
}

func throughputSection(rounds []throughputRound, n int, load string) string {
	var sb strings.Builder
	sb.WriteString(measured("go test -run '^$' -bench Throughput -benchtime 1x ./e2e/", load))
	fmt.Fprintf(&sb, `
Each row: %d jobs of one image submitted over HTTP by %d concurrent clients while no
worker runs (each `+"`POST /api/jobs`"+` answers 202 only after the broker confirmed the
publish), then that many workers are started with `+"`GENERATOR=placeholder`"+` (a few ms
per image, no process to start) and the queue is drained. Jobs per second count the
entries' `+"`<id>.json`"+` times in the bucket, the first 10%% left out (workers
connecting); "drain" is from starting the workers to the last entry. No browser is
connected, so the webui renders no cards. Every program of the stack and the client
share this machine's cores: past a worker per core the figure is the machine's
ceiling (the workers, RabbitMQ and MinIO compete for the CPU), not the workers'.

| workers | jobs/s | drain (s) | jobs/s incl. start | per worker | submissions/s (with confirms) | POST p50 / p99 (ms) | lost / doubled |
|---|---|---|---|---|---|---|---|
`, n, submitClients)
	for _, r := range rounds {
		fmt.Fprintf(&sb, "| %d | %s | %s | %s | %s | %s | %s / %s | %d / %d |\n", r.Workers, f(r.Rate),
			f(r.Drain.Seconds()), f(float64(r.Jobs)/r.Drain.Seconds()), f(r.Rate/float64(r.Workers)),
			f(r.SubmitRate), f(r.Submit.P50), f(r.Submit.P99), r.Tally.Lost, r.Tally.Doubled)
	}
	sb.WriteString("\n![Jobs per second against workers](bench-throughput.png)\n")
	return sb.String()
}
