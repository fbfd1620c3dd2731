package worker

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// The warm generator's benchmark (issue 10): the stand-in model loads in
// warmLoadMS per pipeline build and draws one image in warmImageMS; one
// worker in loop mode takes warmJobs jobs of one image, queued before it
// starts. Goal: steady jobs/s ÷ (1 / 0.2 s) ≥ 0.9. The CLI generator does
// the same work beside it (it pays the load on every job).
const (
	warmLoadMS  = 5000
	warmImageMS = 200
	warmJobs    = 50
)

// drainRun is one worker's run over n queued jobs: when it started and
// when each job was done (status events), in order.
type drainRun struct {
	start time.Time
	done  []time.Time
}

func (r drainRun) coldStart() time.Duration { return r.done[0].Sub(r.start) }

// steady are the intervals between two jobs done, the first job left out.
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

// drain queues n jobs, then starts one loop worker with gen and waits until
// it has done them all.
func drain(b *testing.B, it *itest, gen Generator, n int) drainRun {
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
	timeout := time.After(time.Duration(n)*(warmLoadMS+warmImageMS+2000)*time.Millisecond + time.Minute)
	for len(want) > 0 {
		select {
		case e := <-events:
			if e.State == job.Done && want[e.ID] {
				delete(want, e.ID)
				run.done = append(run.done, time.Now())
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

// BenchmarkWarmGenerator: see the constants above. Reports the warm
// worker's steady jobs/s and its ratio to the pure generation rate, the
// first job's latency from the worker's start (cold start: driver start
// and model load included), the steady p50/p99 per job, and the CLI's
// jobs/s on the same work. SDKEDA_BENCH_CLI_JOBS shortens the CLI's run.
func BenchmarkWarmGenerator(b *testing.B) {
	it := newITest(b, nil, queue.Options{})
	env := []string{"FAKE_LOAD_MS=" + strconv.Itoa(warmLoadMS), "FAKE_DELAY_MS=" + strconv.Itoa(warmImageMS)}
	cliJobs := warmJobs
	if n, err := strconv.Atoi(os.Getenv("SDKEDA_BENCH_CLI_JOBS")); err == nil && n >= 2 {
		cliJobs = n
	}
	var warm, cli drainRun
	for b.Loop() {
		gen := NewWarm(config.Generator{Name: config.GeneratorWarm, FastSDCPUDir: it.checkout, Python: python(b),
			Device: "cpu", UseSafetyChecker: true, JobTimeout: time.Minute}, true)
		gen.env = env
		warm = drain(b, it, gen, warmJobs)
		cli = drain(b, it, &FastSDCPU{Dir: it.checkout, Python: python(b), Device: "cpu", SafetyChecker: true,
			CleanLeftovers: true, Env: env}, cliJobs)
	}
	steady := warm.steady()
	slices.Sort(steady)
	rate := 1000.0 / warmImageMS
	b.ReportMetric(warm.jobsPerSecond(), "warm_jobs/s")
	b.ReportMetric(warm.jobsPerSecond()/rate, "warm_ratio")
	b.ReportMetric(warm.coldStart().Seconds(), "cold_start_s")
	b.ReportMetric(ms(steady[len(steady)/2]), "steady_p50_ms")
	b.ReportMetric(ms(steady[(len(steady)*99)/100]), "steady_p99_ms")
	b.ReportMetric(cli.jobsPerSecond(), "cli_jobs/s")
	b.ReportMetric(cli.jobsPerSecond()/rate, "cli_ratio")
	b.ReportMetric(cli.coldStart().Seconds(), "cli_first_job_s")
	b.Logf("warm: %d jobs, %.2f jobs/s steady (%.2f of 1/%d ms), first job %.1f s after the start, per job p50 %.0f ms p99 %.0f ms; "+
		"cli: %d jobs, %.2f jobs/s (%.3f), first job %.1f s", warmJobs, warm.jobsPerSecond(), warm.jobsPerSecond()/rate, warmImageMS,
		warm.coldStart().Seconds(), ms(steady[len(steady)/2]), ms(steady[(len(steady)*99)/100]),
		cliJobs, cli.jobsPerSecond(), cli.jobsPerSecond()/rate, cli.coldStart().Seconds())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
