package e2e

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/queue"
	"github.com/sdkeda/sdkeda/internal/queue/rabbitmq"
	"github.com/sdkeda/sdkeda/internal/testenv"
)

const (
	faultWorkers = 3
	faultDelayMS = 300 // the fake CLI's time per job: kills land mid-generation
)

// TestFaults submits jobs over HTTP at a steady pace while workers are
// killed with SIGKILL (and restarted, as Kubernetes would), RabbitMQ is
// restarted once and MinIO is stopped for 10 s once. Every accepted job
// must end with exactly one complete entry: lost = 0, doubled = 0. Only
// counts are asserted. The short form (40 jobs, one kill round) runs in
// `go test ./...`; `make chaos` sets E2E_CHAOS_JOBS=200 for the long one,
// which also writes the faults section of docs/benchmarks.md.
func TestFaults(t *testing.T) {
	testenv.Short(t)
	jobs := envInt(t, "E2E_CHAOS_JOBS", 40)
	long := os.Getenv("E2E_CHAOS_JOBS") != ""
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("E2E_CHAOS_SEED"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("E2E_CHAOS_SEED: %v", err)
		}
		seed = n
	}
	t.Logf("E2E_CHAOS_SEED=%d E2E_CHAOS_JOBS=%d", seed, jobs)
	load := loadAverage()
	s := newStack(t, options{Generator: "fastsdcpu", DelayMS: faultDelayMS})
	s.addWorkers(faultWorkers)
	c := newClient(s.base, 4)

	// The submissions are spread over span, so every fault hits a run in
	// progress.
	span := max(30*time.Second, time.Duration(jobs)*250*time.Millisecond)
	began := time.Now()
	ch := startChaos(s, seed, span, long)
	subs := submitPaced(c, jobs, span/time.Duration(jobs), began.Add(span+3*time.Minute))
	ch.wait()
	for _, err := range ch.errs {
		t.Errorf("fault: %v", err)
	}
	if t.Failed() {
		t.FailNow()
	}
	s.waitReady(2 * time.Minute)
	want := accepted(subs)
	missing := s.waitComplete(want, 4*time.Minute)
	wall := time.Since(began)
	tl, _, err := s.audit(want)
	if err != nil {
		t.Fatal(err)
	}
	ready, dead := queueLengths(t, s)
	r := faultReport{jobs: jobs, subs: subs, t: tl, ch: ch, ready: ready, dead: dead, wall: wall, s: s}
	t.Logf("faults:\n%s\n%s", strings.Join(ch.events, "\n"), r.table())
	for _, p := range s.pods() {
		if _, _, exits := p.report(); len(exits) > 0 {
			t.Logf("%s", strings.Join(exits, "\n"))
		}
	}
	if missing > 0 {
		t.Logf("%d accepted jobs still without an entry after waiting 4 min", missing)
	}
	if tl.Lost != 0 || tl.Doubled != 0 {
		t.Errorf("lost %d, doubled %d (want 0 and 0): %s", tl.Lost, tl.Doubled, strings.Join(tl.Problems, "; "))
	}
	if len(want) < jobs {
		t.Errorf("only %d of %d jobs accepted in %d submissions: %v", len(want), jobs, len(subs), statuses(subs))
	}
	if ch.kills == 0 {
		t.Error("no worker was killed: the run proves nothing about kills")
	}
	if long {
		writeSection(t, "faults", r.section(seed, load), machineFacts(s.rabbit.URL))
	}
}

// submitPaced submits until n jobs are accepted, one every pace; a refused
// or unanswered submission is tried again (as a new job) at the next tick.
// Bounded by 20n submissions and the deadline.
func submitPaced(c *client, n int, pace time.Duration, deadline time.Time) []submission {
	var out []submission
	next := time.Now()
	for i, try := 0, 0; i < n && len(out) < 20*n && time.Now().Before(deadline); {
		time.Sleep(time.Until(next))
		next = maxTime(next.Add(pace), time.Now())
		c1, cancel := ctx(30 * time.Second)
		sub := c.submit(c1, spec{Prompt: fmt.Sprintf("fault job %d try %d: a lighthouse at dusk", i, try), Count: 1 + i%2})
		cancel()
		out = append(out, sub)
		if sub.ID != "" {
			i, try = i+1, 0
		} else {
			try++
		}
	}
	return out
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// queueLengths asks RabbitMQ how many jobs wait and how many were
// dead-lettered.
func queueLengths(t *testing.T, s *stack) (ready, dead int) {
	t.Helper()
	c, cancel := ctx(time.Minute)
	defer cancel()
	q, err := rabbitmq.Open(c, s.rabbit.URL, queue.Options{Name: queueName}, nil)
	if err != nil {
		t.Fatalf("queue lengths: %v", err)
	}
	defer q.Close()
	if ready, err = q.Len(c); err != nil {
		t.Fatalf("queue length: %v", err)
	}
	if dead, err = q.DeadLen(c); err != nil {
		t.Fatalf("dead-letter length: %v", err)
	}
	return ready, dead
}
