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

	"github.com/sdkeda/sdkeda/internal/benchchart"
)

// Chart and Series are the benchmarks' JSON (internal/benchchart, shared
// with the e2e benchmarks that write it).
type (
	Chart  = benchchart.Chart
	Series = benchchart.Series
)

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
