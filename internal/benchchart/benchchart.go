// Package benchchart is the JSON of the benchmarks' figures: the e2e
// benchmarks write docs/bench-<name>.json in it, and docs/plot (a module
// of its own, so that the charting libraries stay out of the programs'
// module) draws each into docs/bench-<name>.png. One type for both sides,
// so the writer and the reader cannot drift apart.
package benchchart

// Chart is one figure.
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
