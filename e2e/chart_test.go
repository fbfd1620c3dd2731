package e2e

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/sdkeda/sdkeda/internal/benchchart"
)

// The benchmarks write the numbers of their figures as
// docs/bench-<name>.json; docs/plot (a module of its own, so the charting
// libraries stay out of the programs' module) draws them into
// docs/bench-<name>.png: `make plots`, which `make bench` runs last.

// chart and series are the figures' JSON, which docs/plot reads.
type (
	chart  = benchchart.Chart
	series = benchchart.Series
)

// latencyChart is the cumulative distribution of each series (ms), named
// with its p50 and p99, with the goals as dashed lines; past xMax the tails
// are cut.
func latencyChart(title string, ss []series, goals []float64, xMax float64) chart {
	for i, s := range ss {
		d := summarize(s.Values)
		ss[i].Name = fmt.Sprintf("%s (p50 %.0f, p99 %.0f ms)", s.Name, d.P50, d.P99)
	}
	step := 50.0
	if xMax > 500 {
		step = 100
	}
	return chart{Kind: "cdf", Title: title, XLabel: "overhead (ms)", YLabel: "share of jobs at or below",
		Series: ss, Goals: goals, DashedLabel: fmt.Sprintf("goals: p50 ≤ %g ms, p99 ≤ %g ms", goals[0], goals[1]), XMax: xMax, TickStep: step}
}

// throughputChart is jobs per second against the number of workers, with
// linear scaling from one worker dashed.
func throughputChart(workers []int, rates []float64) chart {
	s := series{Name: "measured", Y: rates}
	for _, w := range workers {
		s.X = append(s.X, float64(w))
	}
	return chart{Kind: "scaling", Title: fmt.Sprintf("Throughput, placeholder generator, everything on %d cores", runtime.NumCPU()),
		XLabel: "workers", YLabel: "jobs per second", Series: []series{s}, DashedLabel: "linear from 1 worker"}
}

// writeChart writes c as docs/bench-<name>.json and returns its path.
func writeChart(name string, c chart) (string, error) {
	b, err := json.MarshalIndent(c, "", " ")
	if err != nil {
		return "", err
	}
	path := filepath.Join(docsDir(), "bench-"+name+".json")
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return "", fmt.Errorf("chart %s: %w", name, err)
	}
	return path, nil
}
