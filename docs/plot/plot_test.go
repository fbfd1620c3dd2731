package main

import (
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Both kinds of chart are drawn from their JSON into a PNG beside it.
func TestRunDrawsEveryChart(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "bench-a.json", `{"kind":"cdf","title":"t","x_label":"ms","y_label":"share",
		"series":[{"name":"one","values":[3,1,2]},{"name":"empty"}],"goals":[2],"dashed_label":"goal","x_max":4,"tick_step":1}`)
	write(t, dir, "bench-b.json", `{"kind":"scaling","title":"t","series":[{"name":"measured","x":[1,2,4],"y":[10,18,30]}],"dashed_label":"linear"}`)
	if err := run([]string{dir}); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"bench-a.png", "bench-b.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if w := img.Bounds().Dx(); w < 400 {
			t.Errorf("%s: %d pixels wide, want a 16 cm figure", name, w)
		}
	}
}

func TestRunRefusesBadCharts(t *testing.T) {
	for name, body := range map[string]string{
		"no series":      `{"kind":"cdf"}`,
		"unknown kind":   `{"kind":"pie","series":[{"name":"x","values":[1]}]}`,
		"x and y differ": `{"kind":"scaling","series":[{"name":"x","x":[1,2],"y":[1]}]}`,
		"not JSON":       `{`,
	} {
		dir := t.TempDir()
		write(t, dir, "bench-x.json", body)
		if err := run([]string{dir}); err == nil {
			t.Errorf("%s: drawn, want an error", name)
		}
	}
	if err := run([]string{t.TempDir()}); err == nil || !strings.Contains(err.Error(), "make bench") {
		t.Errorf("empty directory: %v, want a hint to run make bench", err)
	}
}

func write(t *testing.T, dir, name, body string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}
