// Command plot draws the figures of docs/benchmarks.md: every
// bench-<name>.json in a directory (written by the e2e benchmarks) becomes
// bench-<name>.png beside it.
//
// It is a module of its own so that its charting dependencies (gonum/plot
// and what it draws with) stay out of the programs' module: the benchmarks
// write numbers, this draws them.
//
//	cd docs/plot && go run . ..     # what `make plots` (and `make bench`) runs
package main

import (
	"encoding/json"
	"fmt"
	"os"
)

// Chart is one figure, as the e2e benchmarks write it (e2e/chart_test.go
// keeps the same JSON shape).
type Chart struct {
	// Kind is "cdf" (the cumulative distribution of each series' values,
	// goals as dashed vertical lines) or "scaling" (Y against X for the
	// first series, and linear scaling from its first point dashed).
	Kind   string   `json:"kind"`
	Title  string   `json:"title"`
	XLabel string   `json:"x_label"`
	YLabel string   `json:"y_label"`
	Series []Series `json:"series"`
	// DashedLabel names the dashed lines in the legend: the goals of a
	// cdf, the linear scaling of a scaling chart.
	DashedLabel string `json:"dashed_label,omitempty"`
	// cdf only: goals on the x axis, where the axis ends, its tick step.
	Goals    []float64 `json:"goals,omitempty"`
	XMax     float64   `json:"x_max,omitempty"`
	TickStep float64   `json:"tick_step,omitempty"`
}

// Series is one named line. A cdf series has Values; a scaling series has
// X and Y of the same length.
type Series struct {
	Name   string    `json:"name"`
	Values []float64 `json:"values,omitempty"`
	X      []float64 `json:"x,omitempty"`
	Y      []float64 `json:"y,omitempty"`
}

func readChart(path string) (Chart, error) {
	var c Chart
	b, err := os.ReadFile(path)
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if len(c.Series) == 0 {
		return c, fmt.Errorf("%s: no series", path)
	}
	for _, s := range c.Series {
		if c.Kind == "scaling" && (len(s.X) == 0 || len(s.X) != len(s.Y)) {
			return c, fmt.Errorf("%s: series %q: want x and y of the same non-zero length", path, s.Name)
		}
	}
	return c, nil
}
