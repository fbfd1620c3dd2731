package worker

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sdkeda/sdkeda/internal/config"
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
		// Each job may pay the load (the CLI does), and some slack.
		perJob := (warmLoadMS + warmImageMS + 2000) * time.Millisecond
		warm = drain(b, it, gen, warmJobs, perJob)
		cli = drain(b, it, &FastSDCPU{Dir: it.checkout, Python: python(b), Device: "cpu", SafetyChecker: true,
			CleanLeftovers: true, Env: env}, cliJobs, perJob)
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
	writeWarmSection(b, warm, cli, cliJobs, steady)
	b.Logf("warm: %d jobs, %.2f jobs/s steady (%.2f of 1/%d ms), first job %.1f s after the start, per job p50 %.0f ms p99 %.0f ms; "+
		"cli: %d jobs, %.2f jobs/s (%.3f), first job %.1f s", warmJobs, warm.jobsPerSecond(), warm.jobsPerSecond()/rate, warmImageMS,
		warm.coldStart().Seconds(), ms(steady[len(steady)/2]), ms(steady[(len(steady)*99)/100]),
		cliJobs, cli.jobsPerSecond(), cli.jobsPerSecond()/rate, cli.coldStart().Seconds())
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// writeWarmSection puts the figures into the "warm" section of
// docs/benchmarks.md (E2E_DOCS_DIR, as the e2e benchmarks do), which the
// e2e report keeps when it rewrites its own sections.
func writeWarmSection(b *testing.B, warm, cli drainRun, cliJobs int, steady []time.Duration) {
	b.Helper()
	dir := os.Getenv("E2E_DOCS_DIR")
	if dir == "" {
		dir = filepath.Join("..", "docs")
	}
	path := filepath.Join(dir, "benchmarks.md")
	old, err := os.ReadFile(path)
	if err != nil {
		b.Logf("docs: %v (section not written)", err)
		return
	}
	load, _ := os.ReadFile("/proc/loadavg")
	loadAvg := strings.Join(strings.Fields(string(load))[:min(3, len(strings.Fields(string(load))))], " / ")
	cliSteady := cli.steady()
	slices.Sort(cliSteady)
	rate := 1000.0 / warmImageMS
	body := fmt.Sprintf(`Measured %s by `+"`go test -run '^$' -bench WarmGenerator -benchtime 1x ./worker/`"+`; load average %s at the end.

One worker in loop mode (in process; real RabbitMQ and MinIO on loopback), the
stand-in fastsdcpu loading its model in %d ms per pipeline build and drawing one
image in %d ms; the jobs (one image each) are queued before the worker starts.
Steady jobs/s counts from the first job done to the last; cold start is the first
job's time from the worker's start (driver start and model load included). Goal:
the warm worker's steady jobs/s ÷ the pure generation rate (1 / %d ms) ≥ 0.9.

| generator | jobs | steady jobs/s | ÷ 1/%d ms (goal ≥ 0.9) | the same from the median job | cold start (first job) | per job p50 / p99 |
|---|---|---|---|---|---|---|
| `+"`fastsdcpu-warm`"+` | %d | %.2f | %.2f | %.2f | %.1f s | %.0f / %.0f ms |
| `+"`fastsdcpu`"+` (the CLI, a load per job) | %d | %.3f | %.3f | %.3f | %.1f s | %.0f / %.0f ms |
`, time.Now().UTC().Format("2006-01-02 15:04 MST"), loadAvg, warmLoadMS, warmImageMS, warmImageMS, warmImageMS,
		len(warm.done), warm.jobsPerSecond(), warm.jobsPerSecond()/rate, float64(warmImageMS)/ms(steady[len(steady)/2]),
		warm.coldStart().Seconds(), ms(steady[len(steady)/2]), ms(steady[(len(steady)*99)/100]),
		len(cli.done), cli.jobsPerSecond(), cli.jobsPerSecond()/rate, float64(warmImageMS)/ms(cliSteady[len(cliSteady)/2]),
		cli.coldStart().Seconds(), ms(cliSteady[len(cliSteady)/2]), ms(cliSteady[(len(cliSteady)*99)/100]))
	re := regexp.MustCompile(`(?s)<!-- e2e:warm -->\n.*?<!-- /e2e:warm -->`)
	section := "<!-- e2e:warm -->\n" + body + "<!-- /e2e:warm -->"
	var out string
	if re.Match(old) {
		out = re.ReplaceAllLiteralString(string(old), section)
	} else {
		out = strings.TrimRight(string(old), "\n") + "\n\n## Warm generator (one worker)\n" + section + "\n"
	}
	if err := os.WriteFile(path, []byte(out), 0o644); err != nil {
		b.Fatalf("docs: %v", err)
	}
	b.Logf("wrote the warm section of %s", path)
}
