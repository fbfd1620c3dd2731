package worker

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
	"github.com/sdkeda/sdkeda/internal/job"
	"github.com/sdkeda/sdkeda/internal/queue"
)

// benchJobs is the number of jobs per benchmark operation: `make bench`
// runs one operation (-benchtime 1x), which must still be a fair sample.
const benchJobs = 40

// BenchmarkWorkerThroughput compares one worker (real RabbitMQ and MinIO,
// the fake fastsdcpu at 0 ms) with the same fake CLI run alone in a loop:
// the ratio is the share of the generator's own throughput that survives the
// queue, the uploads and the acks. Goal: >= 0.8.
func BenchmarkWorkerThroughput(b *testing.B) {
	it := newITest(b, nil, queue.Options{})
	gen := &FastSDCPU{Dir: it.checkout, Python: python(b), Device: "cpu", SafetyChecker: true, CleanLeftovers: true}
	var cliTime, workerTime time.Duration
	for b.Loop() {
		// Interleaved halves, so a change of load on the machine weighs on
		// both sides alike.
		for range 2 {
			cliTime += runCLIAlone(b, gen, benchJobs/2)
			workerTime += runWorker(b, it, gen, benchJobs/2)
		}
	}
	cli := float64(b.N*benchJobs) / cliTime.Seconds()
	wrk := float64(b.N*benchJobs) / workerTime.Seconds()
	b.ReportMetric(cli, "cli_jobs/s")
	b.ReportMetric(wrk, "worker_jobs/s")
	b.ReportMetric(wrk/cli, "ratio")
	b.ReportMetric(1000*(workerTime-cliTime).Seconds()/float64(b.N*benchJobs), "overhead_ms/job")
}

// BenchmarkWorkerPlaceholder is the worker's own ceiling: jobs per second
// with the placeholder generator (no process to start).
func BenchmarkWorkerPlaceholder(b *testing.B) {
	it := newITest(b, nil, queue.Options{})
	var total time.Duration
	for b.Loop() {
		total += runWorker(b, it, Placeholder{}, benchJobs)
	}
	b.ReportMetric(float64(b.N*benchJobs)/total.Seconds(), "worker_jobs/s")
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

// runCLIAlone runs the CLI n times as the worker would, and clears results/.
func runCLIAlone(b *testing.B, gen *FastSDCPU, n int) time.Duration {
	b.Helper()
	start := time.Now()
	for i := range n {
		cmd := exec.Command(gen.Python, gen.Args(job.Message{Prompt: fmt.Sprintf("alone %d", i), Count: 1})...)
		cmd.Dir = gen.Dir
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("cli: %v: %s", err, out)
		}
		files, _ := filepath.Glob(filepath.Join(gen.Dir, "results", "*"))
		for _, f := range files {
			os.Remove(f)
		}
	}
	return time.Since(start)
}

// runWorker publishes n jobs, then times one worker from its start until it
// has reported all of them done.
func runWorker(b *testing.B, it *itest, gen Generator, n int) time.Duration {
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
	cfg := config.Worker{WorkerName: "bench", JobTimeout: time.Minute, ShutdownGrace: time.Minute, EmptyQueueWait: time.Minute}
	w := New(cfg, Deps{Consume: it.q.Consume, Status: it.q, Store: it.st, Generator: gen, Log: testLogger(b)})

	start := time.Now()
	wctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- w.Run(wctx) }()
	timeout := time.After(5 * time.Minute)
	for len(want) > 0 {
		select {
		case e := <-events:
			if e.State == job.Done {
				delete(want, e.ID)
			}
		case <-timeout:
			b.Fatalf("%d jobs not done", len(want))
		}
	}
	elapsed := time.Since(start)
	stop()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	return elapsed
}
