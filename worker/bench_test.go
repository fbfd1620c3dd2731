package worker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// benchJobs is the number of jobs per benchmark operation: `make bench`
// runs one operation (-benchtime 1x), which must still be a fair sample.
const benchJobs = 48

// BenchmarkWorkerThroughput compares one worker (real RabbitMQ and MinIO,
// the fake fastsdcpu at 0 ms) with the same fake CLI run alone in a loop:
// the ratio is the share of the generator's own throughput that survives the
// queue, the uploads and the acks. Goal: >= 0.8.
//
// The two sides run in interleaved rounds, and the ratio is one of medians
// (a CLI run against the interval between two jobs done), so that a burst
// of load from other processes on the machine weighs on both alike.
func BenchmarkWorkerThroughput(b *testing.B) {
	it := newITest(b, nil, queue.Options{})
	gen := &FastSDCPU{Dir: it.checkout, Python: python(b), Device: "cpu", SafetyChecker: true, CleanLeftovers: true}
	const rounds = 4
	var cli, wrk []time.Duration
	for b.Loop() {
		for range rounds {
			cli = append(cli, runCLIAlone(b, gen, benchJobs/rounds)...)
			wrk = append(wrk, drain(b, it, gen, benchJobs/rounds, 5*time.Second).steady()...)
		}
	}
	mc, mw := median(cli), median(wrk)
	b.ReportMetric(1/mc.Seconds(), "cli_jobs/s")
	b.ReportMetric(1/mw.Seconds(), "worker_jobs/s")
	b.ReportMetric(mc.Seconds()/mw.Seconds(), "ratio")
	b.ReportMetric(float64((mw-mc).Microseconds())/1000, "overhead_ms/job")
	b.ReportMetric(mean(cli).Seconds()/mean(wrk).Seconds(), "ratio_of_means")
}

// BenchmarkWorkerPlaceholder is the worker's own ceiling: jobs per second
// with the placeholder generator (no process to start).
func BenchmarkWorkerPlaceholder(b *testing.B) {
	it := newITest(b, nil, queue.Options{})
	var wrk []time.Duration
	for b.Loop() {
		wrk = append(wrk, drain(b, it, Placeholder{}, benchJobs, 5*time.Second).steady()...)
	}
	b.ReportMetric(1/median(wrk).Seconds(), "worker_jobs/s")
}

// BenchmarkPlaceholderImage is the cost of one 512x512 placeholder image.
func BenchmarkPlaceholderImage(b *testing.B) {
	dir := b.TempDir()
	m := job.Message{ID: jobID, Prompt: "green dog", Count: 1}
	for b.Loop() {
		if _, err := (Placeholder{}).Generate(context.Background(), m, dir); err != nil {
			b.Fatal(err)
		}
	}
}

// runCLIAlone runs the CLI n times as the worker would, clears results/
// after each, and returns the time of each run.
func runCLIAlone(b *testing.B, gen *FastSDCPU, n int) []time.Duration {
	b.Helper()
	var out []time.Duration
	for i := range n {
		start := time.Now()
		cmd := exec.Command(gen.Python, gen.Args(job.Message{Prompt: fmt.Sprintf("alone %d", i), Count: 1})...)
		cmd.Dir = gen.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("cli: %v: %s", err, out)
		}
		files, _ := filepath.Glob(filepath.Join(gen.Dir, "results", "*"))
		for _, f := range files {
			os.Remove(f)
		}
		out = append(out, time.Since(start))
	}
	return out
}

// drainRun is one worker's run over n queued jobs: when it started and
// when each job was done (the worker's own time on its done events), in
// order.
type drainRun struct {
	start time.Time
	done  []time.Time
}

func (r drainRun) coldStart() time.Duration { return r.done[0].Sub(r.start) }

// steady are the intervals between two jobs done, the first job (which
// includes connecting, and the model load of a warm generator) left out.
func (r drainRun) steady() []time.Duration {
	var out []time.Duration
	for i := 1; i < len(r.done); i++ {
		out = append(out, r.done[i].Sub(r.done[i-1]))
	}
	return out
}

func (r drainRun) jobsPerSecond() float64 {
	return float64(len(r.done)-1) / r.done[len(r.done)-1].Sub(r.done[0]).Seconds()
}

// drain queues n jobs of one image, then starts one loop worker with gen
// and waits until it has reported them all done, each within perJob on
// average (and a minute more).
func drain(b *testing.B, it *itest, gen Generator, n int, perJob time.Duration) drainRun {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := it.q.SubscribeStatus(ctx)
	if err != nil {
		b.Fatal(err)
	}
	want := map[string]bool{}
	for i := range n {
		m := job.Message{ID: job.NewID(), Prompt: fmt.Sprintf("bench %d", i), Count: 1}
		want[m.ID] = true
		it.publish(m)
	}
	cfg := config.Worker{WorkerName: "bench", Generator: config.Generator{JobTimeout: time.Minute},
		ShutdownGrace: time.Minute, EmptyQueueWait: time.Minute}
	w := New(cfg, Deps{Consume: it.q.Consume, Status: it.q, Store: it.st, Generator: gen, Log: testLogger(b)})
	wctx, stop := context.WithCancel(ctx)
	run := drainRun{start: time.Now()}
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	timeout := time.After(time.Duration(n)*perJob + time.Minute)
	for len(want) > 0 {
		select {
		case e := <-events:
			if e.State == job.Done && want[e.ID] {
				delete(want, e.ID)
				run.done = append(run.done, e.At)
			}
		case <-timeout:
			b.Fatalf("%d jobs not done", len(want))
		}
	}
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return run
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func mean(ds []time.Duration) time.Duration {
	var sum time.Duration
	for _, d := range ds {
		sum += d
	}
	return sum / time.Duration(len(ds))
}
