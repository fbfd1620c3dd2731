package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// docs/benchmarks.md is made of sections, each written by the benchmark or
// test that measures it: a run rewrites its own section and the machine
// facts, and keeps the others as they were. The prose around them lives
// here, so the file is always whole.

// docsDir is where benchmarks.md and the charts go (E2E_DOCS_DIR overrides).
func docsDir() string {
	if d := os.Getenv("E2E_DOCS_DIR"); d != "" {
		return d
	}
	return filepath.Join("..", "docs")
}

type section struct{ name, title, empty string }

var sections = []section{
	{"machine", "Machine", "Not measured yet."},
	{"overhead", "Pipeline overhead", "Not measured yet: run `make bench`."},
	// Written by the worker package's BenchmarkWarmGenerator (worker/bench_warm_test.go).
	{"warm", "Warm generator (one worker)", "Not measured yet: run `go test -run '^$' -bench WarmGenerator -benchtime 1x ./worker/`."},
	{"throughput", "Throughput", "Not measured yet: run `make bench`."},
	{"burst", "Burst", "Not measured yet: run `make bench`."},
	{"faults", "Faults", "Not measured yet: run `make chaos`."},
}

const intro = `# Benchmarks and fault suite, end to end

Written by the benchmarks themselves (package ` + "`e2e`" + `): the webui and N workers
run as real processes, built with ` + "`go build`" + `, against a real RabbitMQ and MinIO on
loopback, each benchmark with servers of its own, driven over HTTP and Server-Sent
Events as a browser would. Figures are distributions and ratios from one run on the
machine below; no test asserts a time. The fault suite asserts counts only.

| command | what runs | writes |
|---|---|---|
| ` + "`make bench`" + ` | every package's benchmarks, then ` + "`go test -run '^$' -bench . -benchtime 1x -count 1 ./e2e/`" + ` | the overhead, throughput and burst sections, ` + "`docs/bench-*.json`" + `, drawn into ` + "`docs/bench-*.png`" + ` by ` + "`make plots`" + ` (` + "`docs/plot`" + `) |
| ` + "`make chaos`" + ` | ` + "`E2E_CHAOS_JOBS=200 go test -run '^TestFaults$' -count 1 -v ./e2e/`" + ` | the faults section |
| ` + "`go test ./e2e/`" + ` (in ` + "`make test`" + ` and CI) | the short fault suite: 40 jobs, one kill round, one RabbitMQ restart, one MinIO stop | nothing |

Knobs (environment): ` + "`E2E_OVERHEAD_JOBS`" + ` (200), ` + "`E2E_THROUGHPUT_JOBS`" + ` (600),
` + "`E2E_BURST_JOBS`" + ` (10000), ` + "`E2E_BURST_LIMIT`" + ` (the webui's ` + "`MAX_QUEUE_LENGTH`" + `, 2000),
` + "`E2E_CHAOS_JOBS`" + ` (40), ` + "`E2E_CHAOS_SEED`" + `, ` + "`E2E_DOCS_DIR`" + ` (` + "`docs`" + `).
Each section says when it was measured and the load average of the machine then:
on a 2-core machine every process of the stack, the client included, shares the
same two cores.
`

var (
	reportMu sync.Mutex
	markerRe = regexp.MustCompile(`(?s)<!-- e2e:([a-z]+) -->\n(.*?)<!-- /e2e:([a-z]+) -->`)
)

// writeSection replaces one section of docs/benchmarks.md and the machine
// facts, keeping the other sections.
func writeSection(t testing.TB, name, body string, m machine) {
	t.Helper()
	reportMu.Lock()
	defer reportMu.Unlock()
	path := filepath.Join(docsDir(), "benchmarks.md")
	have := map[string]string{}
	if b, err := os.ReadFile(path); err == nil {
		for _, sm := range markerRe.FindAllStringSubmatch(string(b), -1) {
			if sm[1] == sm[3] {
				have[sm[1]] = sm[2]
			}
		}
	}
	have[name] = strings.TrimSpace(body) + "\n"
	have["machine"] = machineTable(m)
	var out strings.Builder
	out.WriteString(intro)
	for _, s := range sections {
		b, ok := have[s.name]
		if !ok {
			b = s.empty + "\n"
		}
		fmt.Fprintf(&out, "\n## %s\n<!-- e2e:%s -->\n%s<!-- /e2e:%s -->\n", s.title, s.name, b, s.name)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("report: %v", err)
	}
	if err := os.WriteFile(path, []byte(out.String()), 0o644); err != nil {
		t.Fatalf("report: %v", err)
	}
	t.Logf("wrote the %s section of %s", name, path)
}

func machineTable(m machine) string {
	return fmt.Sprintf(`The machine of the latest run (%s).

| | |
|---|---|
| CPU | %s |
| cores (`+"`nproc`"+`) | %s |
| memory | %s |
| Go | %s |
| kernel | %s |
| RabbitMQ | %s (Debian package, one node) |
| MinIO | %s (single drive) |
`, time.Now().UTC().Format("2006-01-02 15:04 MST"), m.CPU, m.Cores, m.Memory, m.Go, m.Kernel, m.RabbitMQ, m.MinIO)
}

// measured is the first line of a section: when, with what, under what load.
func measured(command, load string) string {
	var knobs []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "E2E_") && !strings.HasPrefix(kv, "E2E_DOCS_DIR=") {
			knobs = append(knobs, "`"+kv+"`")
		}
	}
	sort.Strings(knobs)
	env := ""
	if len(knobs) > 0 {
		env = " with " + strings.Join(knobs, " ")
	}
	return fmt.Sprintf("Measured %s by `%s`%s; load average %s at the start.\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), command, env, load)
}

// f formats a figure for a table: 3 significant digits, no exponent.
func f(x float64) string {
	switch {
	case x != x:
		return "–"
	case x >= 100 || x <= -100:
		return fmt.Sprintf("%.0f", x)
	case x >= 10 || x <= -10:
		return fmt.Sprintf("%.1f", x)
	}
	return fmt.Sprintf("%.2f", x)
}
