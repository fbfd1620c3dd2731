package e2e

import (
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// The stand-in generator's fixed time per job (one image) and the image
// side of the overhead run (issue 10: 256², a 300 ms stand-in).
const (
	overheadDelayMS = 300
	overheadSide    = 256
)

// sample is one job of the overhead run, as the client saw it.
type sample struct {
	ID            string
	Post          time.Time // the POST was sent
	RTT           time.Duration
	Done, Gallery time.Time // the SSE `done` event, the gallery entry arrived
	M             meta
}

// generator is the generator's own time in ms: the CLI process, or the
// warm driver's work on the job, a model load included.
func (s sample) generator() float64 {
	return (s.M.GenerationSeconds + s.M.ModelLoadSeconds) * 1000
}

// overheadDone is the time from the POST to the done event minus the
// generator's own time.
func (s sample) overheadDone() float64 { return ms(s.Done.Sub(s.Post)) - s.generator() }

func (s sample) overheadGallery() float64 { return ms(s.Gallery.Sub(s.Post)) - s.generator() }

// overheadRun is the sample of one generator and number of workers.
type overheadRun struct {
	Generator string
	Workers   int
	Samples   []sample
	Drops     int // SSE streams that dropped and were opened again (0: none did)
}

// BenchmarkPipelineOverhead measures what the product adds around the
// generator, for the CLI generator and the warm one: webui + workers as
// processes, the stand-in fastsdcpu drawing one 256² image in 300 ms, one
// job per worker in flight (each client submits its next job when the last
// one is in the gallery), so no job waits in line. The time from the POST
// to the job's SSE `done` event, and to its gallery entry, minus the
// generator's own time from the job's metadata (generation_seconds +
// model_load_seconds: the CLI process, or the warm driver's work), is the
// overhead: HTTP, the confirmed publish, the delivery, the worker's work
// around the generator, the uploads, the ack, the status event and the SSE
// fan-out. Goal: p50 ≤ 20 ms, p99 ≤ 200 ms.
func BenchmarkPipelineOverhead(b *testing.B) {
	jobs := envInt(b, "E2E_OVERHEAD_JOBS", 200)
	load := loadAverage()
	s := newStack(b, options{Generator: "fastsdcpu", ImageMS: overheadDelayMS})
	c := newClient(s.base, 8)

	var runs []overheadRun
	for b.Loop() {
		runs = nil
		for _, gen := range []string{"fastsdcpu", "fastsdcpu-warm"} {
			s.stopWorkers()
			s.opts.Generator = gen
			for _, workers := range []int{1, 4} {
				s.addWorkers(workers - len(s.pods()))
				label := fmt.Sprintf("%s w%d", gen, workers)
				closedLoop(b, s, c, workers, 2*workers, "warm-up "+label) // connections, Python starts, model loads
				samples, drops := closedLoop(b, s, c, workers, jobs, "overhead "+label)
				runs = append(runs, overheadRun{Generator: gen, Workers: workers, Samples: samples, Drops: drops})
			}
		}
	}
	var ss []series
	for _, r := range runs {
		d, g := overheadDists(r)
		p := fmt.Sprintf("%s_w%d_", strings.ReplaceAll(r.Generator, "-", "_"), r.Workers)
		b.ReportMetric(d.P50, p+"done_p50_ms")
		b.ReportMetric(d.P95, p+"done_p95_ms")
		b.ReportMetric(d.P99, p+"done_p99_ms")
		b.ReportMetric(g.P50, p+"gallery_p50_ms")
		b.ReportMetric(g.P99, p+"gallery_p99_ms")
		ss = append(ss, series{Name: fmt.Sprintf("%s, %d worker(s), to done", r.Generator, r.Workers), Values: d.sorted})
	}
	xMax := 100.0
	for _, x := range ss {
		xMax = max(xMax, 1.2*summarize(x.Values).P99)
	}
	path, err := writeChart("overhead", latencyChart("Pipeline overhead: POST to SSE done, minus the generator", ss, []float64{20, 200}, xMax))
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("chart: %s (make plots draws it)", path)
	writeSection(b, "overhead", overheadSection(runs, jobs, load), machineFacts(s.rabbit.URL))
}

// closedLoop runs n jobs with one client per worker, each submitting its
// next job once the last one is done and in the gallery, and returns the
// samples with their metadata and how many SSE streams dropped. Like a
// browser after a submission, a client opens /events with the job in its
// cookie (a stream carries only its cookie's jobs); the job runs 500 ms or
// more, so the stream is open long before the job's events.
func closedLoop(b *testing.B, s *stack, c *client, clients, n int, label string) ([]sample, int) {
	b.Helper()
	var mu sync.Mutex
	var out []sample
	drops := 0
	var next atomic.Int64
	var wg sync.WaitGroup
	for range clients {
		wg.Go(func() {
			for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
				c1, cancel := ctx(2 * time.Minute)
				sub := c.submit(c1, spec{Prompt: fmt.Sprintf("%s %d: a lighthouse at dusk", label, i), Count: 1,
					Width: overheadSide, Height: overheadSide})
				if sub.ID == "" {
					cancel()
					b.Errorf("submit: status %d, %v", sub.Status, sub.Err)
					return
				}
				ev := openStream(b, c1, s.base, sub.ID)
				done, gal, err := ev.await(c1, sub.ID)
				cancel()
				mu.Lock()
				drops += ev.connections() - 1
				mu.Unlock()
				if err != nil {
					b.Errorf("%v", err)
					return
				}
				mu.Lock()
				out = append(out, sample{ID: sub.ID, Post: sub.Sent, RTT: sub.RTT, Done: done, Gallery: gal})
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	ids := make([]string, len(out))
	for i, x := range out {
		ids[i] = x.ID
	}
	c2, cancel := ctx(2 * time.Minute)
	defer cancel()
	metas, err := s.metadataAll(c2, ids)
	if err != nil {
		b.Fatal(err)
	}
	for i := range out {
		out[i].M = metas[out[i].ID]
	}
	return out, drops
}

func overheadDists(r overheadRun) (done, gallery dist) {
	var d, g []float64
	for _, x := range r.Samples {
		d, g = append(d, x.overheadDone()), append(g, x.overheadGallery())
	}
	return summarize(d), summarize(g)
}

func overheadSection(runs []overheadRun, jobs int, load string) string {
	var sb strings.Builder
	sb.WriteString(measured("go test -run '^$' -bench PipelineOverhead -benchtime 1x ./e2e/", load))
	fmt.Fprintf(&sb, `
The webui and the workers as processes, the stand-in fastsdcpu drawing one %d² image
in %d ms, with the CLI generator (`+"`fastsdcpu`"+`: a Python process per job) and the warm
one (`+"`fastsdcpu-warm`"+`: one driver per worker, the model loaded once); %d jobs of one
image per row after a warm-up, one job in flight per worker (a client per worker
submits its next job when the last one is in the gallery), so no job waits in line.
Overhead = time from sending `+"`POST /api/jobs`"+` to the job's SSE `+"`done`"+` event (or to
its SSE `+"`gallery`"+` entry) minus the generator's own time from its metadata JSON
(`+"`generation_seconds`"+` + `+"`model_load_seconds`"+`: the CLI process from its start to its
exit, Python's start included, or the warm driver's work on the job).
Goal: p50 ≤ 20 ms, p99 ≤ 200 ms.

| generator | workers | jobs | to `+"`done`"+` p50 / p95 / p99 / max (ms) | to gallery p50 / p95 / p99 / max (ms) | goal met (done) | SSE streams dropped |
|---|---|---|---|---|---|---|
`, overheadSide, overheadDelayMS, jobs)
	for _, r := range runs {
		d, g := overheadDists(r)
		met := "yes"
		if d.P50 > 20 || d.P99 > 200 {
			met = "no"
		}
		fmt.Fprintf(&sb, "| %s | %d | %d | %s / %s / %s / %s | %s / %s / %s / %s | %s | %d |\n", r.Generator, r.Workers, d.N,
			f(d.P50), f(d.P95), f(d.P99), f(d.Max), f(g.P50), f(g.P95), f(g.P99), f(g.Max), met, r.Drops)
	}
	sb.WriteString(`
Where the time goes, p50 / p99 (ms), from the job's metadata (` + "`started_at`" + `: the worker
took it; ` + "`finished_at`" + `: the generator's output ready); the medians of the parts add up
to about the median of POST → ` + "`done`" + `:

| generator | workers | POST answered (confirmed publish) | POST → worker takes the job | worker before and after the generator | generator (not overhead) | image upload | JSON upload, ack, status event, SSE | gallery after ` + "`done`" + ` |
|---|---|---|---|---|---|---|---|---|
`)
	for _, r := range runs {
		var rtt, start, around, gen, up, tail, gal []float64
		for _, x := range r.Samples {
			rtt = append(rtt, ms(x.RTT))
			start = append(start, ms(x.M.StartedAt.Sub(x.Post)))
			around = append(around, ms(x.M.FinishedAt.Sub(x.M.StartedAt))-x.generator())
			gen = append(gen, x.generator())
			up = append(up, x.M.UploadSeconds*1000)
			tail = append(tail, ms(x.Done.Sub(x.M.FinishedAt))-x.M.UploadSeconds*1000)
			gal = append(gal, ms(x.Gallery.Sub(x.Done)))
		}
		fmt.Fprintf(&sb, "| %s | %d | %s | %s | %s | %s | %s | %s | %s |\n", r.Generator, r.Workers, p50p99(rtt),
			p50p99(start), p50p99(around), p50p99(gen), p50p99(up), p50p99(tail), p50p99(gal))
	}
	sb.WriteString("\n![Cumulative distribution of the overhead](bench-overhead.png)\n")
	return sb.String()
}

func p50p99(xs []float64) string {
	d := summarize(xs)
	return f(d.P50) + " / " + f(d.P99)
}
