package e2e

import (
	"fmt"
	"image/color"
	"math"
	"path/filepath"
	"runtime"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

// series is one named sample to draw.
type series struct {
	Name   string
	Values []float64
}

// plotLatency draws the cumulative distribution of each series (ms) with
// the goals as dashed lines, into docs/<file>. Past xMax the tails are cut.
func plotLatency(file, title string, ss []series, goals []float64, xMax float64) (string, error) {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "overhead (ms)"
	p.Y.Label.Text = "share of jobs at or below"
	step := 50.0
	if xMax > 500 {
		step = 100
	}
	xMax = math.Ceil(xMax/step) * step
	var ticks []plot.Tick
	for x := 0.0; x <= xMax; x += step {
		ticks = append(ticks, plot.Tick{Value: x, Label: fmt.Sprint(x)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, xMax, 0, 1
	p.Add(plotter.NewGrid())
	for i, s := range ss {
		d := summarize(s.Values)
		pts := make(plotter.XYs, 0, d.N+1)
		pts = append(pts, plotter.XY{X: d.Min, Y: 0})
		for j, v := range d.sorted {
			pts = append(pts, plotter.XY{X: v, Y: float64(j+1) / float64(d.N)})
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return "", fmt.Errorf("plot %s: %w", s.Name, err)
		}
		l.Color, l.Width = plotutil.Color(i), vg.Points(1.6)
		p.Add(l)
		p.Legend.Add(fmt.Sprintf("%s (p50 %.0f, p99 %.0f ms)", s.Name, d.P50, d.P99), l)
	}
	var goal *plotter.Line
	for _, g := range goals {
		l, err := plotter.NewLine(plotter.XYs{{X: g, Y: 0}, {X: g, Y: 1}})
		if err != nil {
			return "", err
		}
		l.Color, l.Dashes = color.Gray{Y: 110}, []vg.Length{vg.Points(4), vg.Points(3)}
		p.Add(l)
		goal = l
	}
	if goal != nil {
		p.Legend.Add("goals: p50 ≤ 50 ms, p99 ≤ 200 ms", goal)
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(8), vg.Points(8)
	return save(p, file)
}

// plotThroughput draws jobs per second against the number of workers, with
// linear scaling from one worker as a dashed line.
func plotThroughput(file string, workers []int, rates []float64) (string, error) {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("Throughput, placeholder generator, everything on %d cores", runtime.NumCPU())
	p.X.Label.Text = "workers"
	p.Y.Label.Text = "jobs per second"
	p.Add(plotter.NewGrid())
	pts, ideal := make(plotter.XYs, len(workers)), make(plotter.XYs, len(workers))
	var ticks []plot.Tick
	top := 0.0
	for i, w := range workers {
		pts[i] = plotter.XY{X: float64(w), Y: rates[i]}
		ideal[i] = plotter.XY{X: float64(w), Y: rates[0] * float64(w) / float64(workers[0])}
		ticks = append(ticks, plot.Tick{Value: float64(w), Label: fmt.Sprint(w)})
		top = max(top, rates[i], ideal[i].Y)
	}
	l, s, err := plotter.NewLinePoints(pts)
	if err != nil {
		return "", fmt.Errorf("plot throughput: %w", err)
	}
	l.Color, l.Width, s.Color = plotutil.Color(0), vg.Points(1.6), plotutil.Color(0)
	il, err := plotter.NewLine(ideal)
	if err != nil {
		return "", err
	}
	il.Color, il.Dashes = color.Gray{Y: 110}, []vg.Length{vg.Points(4), vg.Points(3)}
	p.Add(il, l, s)
	p.Legend.Add("measured", l, s)
	p.Legend.Add("linear from 1 worker", il)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(10), -vg.Points(6)
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = 0.5, float64(workers[len(workers)-1])+0.5
	p.Y.Min, p.Y.Max = 0, top*1.1
	return save(p, file)
}

func save(p *plot.Plot, file string) (string, error) {
	path := filepath.Join(docsDir(), file)
	if err := p.Save(16*vg.Centimeter, 10*vg.Centimeter, path); err != nil {
		return "", fmt.Errorf("save %s: %w", path, err)
	}
	return path, nil
}
