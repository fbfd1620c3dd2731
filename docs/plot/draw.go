package main

import (
	"fmt"
	"image/color"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
)

var dashed = []vg.Length{vg.Points(4), vg.Points(3)}

func draw(c Chart, out string) error {
	p := plot.New()
	p.Title.Text, p.X.Label.Text, p.Y.Label.Text = c.Title, c.XLabel, c.YLabel
	p.Add(plotter.NewGrid())
	var err error
	switch c.Kind {
	case "cdf":
		err = drawCDF(p, c)
	case "scaling":
		err = drawScaling(p, c)
	default:
		err = fmt.Errorf("unknown kind %q (want cdf or scaling)", c.Kind)
	}
	if err != nil {
		return err
	}
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, out)
}

// drawCDF draws the share of values at or below x for each series, the
// goals as dashed vertical lines; past XMax the tails are cut.
func drawCDF(p *plot.Plot, c Chart) error {
	step := c.TickStep
	if step <= 0 {
		step = 50
	}
	xMax := math.Ceil(c.XMax/step) * step
	var ticks []plot.Tick
	for x := 0.0; x <= xMax; x += step {
		ticks = append(ticks, plot.Tick{Value: x, Label: fmt.Sprint(x)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, xMax, 0, 1
	for i, s := range c.Series {
		if len(s.Values) == 0 {
			continue
		}
		v := slices.Sorted(slices.Values(s.Values))
		pts := make(plotter.XYs, 0, len(v)+1)
		pts = append(pts, plotter.XY{X: v[0], Y: 0})
		for j, x := range v {
			pts = append(pts, plotter.XY{X: x, Y: float64(j+1) / float64(len(v))})
		}
		l, err := plotter.NewLine(pts)
		if err != nil {
			return fmt.Errorf("series %q: %w", s.Name, err)
		}
		l.Color, l.Width = plotutil.Color(i), vg.Points(1.6)
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	var goal *plotter.Line
	for _, g := range c.Goals {
		l, err := plotter.NewLine(plotter.XYs{{X: g, Y: 0}, {X: g, Y: 1}})
		if err != nil {
			return err
		}
		l.Color, l.Dashes = color.Gray{Y: 110}, dashed
		p.Add(l)
		goal = l
	}
	if goal != nil && c.DashedLabel != "" {
		p.Legend.Add(c.DashedLabel, goal)
	}
	p.Legend.Top, p.Legend.Left = false, false
	p.Legend.XOffs, p.Legend.YOffs = -vg.Points(8), vg.Points(8)
	return nil
}

// drawScaling draws the first series' Y against X with points, and linear
// scaling from its first point as a dashed line.
func drawScaling(p *plot.Plot, c Chart) error {
	s := c.Series[0]
	pts, ideal := make(plotter.XYs, len(s.X)), make(plotter.XYs, len(s.X))
	var ticks []plot.Tick
	top := 0.0
	for i := range s.X {
		pts[i] = plotter.XY{X: s.X[i], Y: s.Y[i]}
		ideal[i] = plotter.XY{X: s.X[i], Y: s.Y[0] * s.X[i] / s.X[0]}
		ticks = append(ticks, plot.Tick{Value: s.X[i], Label: fmt.Sprint(s.X[i])})
		top = max(top, s.Y[i], ideal[i].Y)
	}
	l, sc, err := plotter.NewLinePoints(pts)
	if err != nil {
		return fmt.Errorf("series %q: %w", s.Name, err)
	}
	l.Color, l.Width, sc.Color = plotutil.Color(0), vg.Points(1.6), plotutil.Color(0)
	il, err := plotter.NewLine(ideal)
	if err != nil {
		return err
	}
	il.Color, il.Dashes = color.Gray{Y: 110}, dashed
	p.Add(il, l, sc)
	p.Legend.Add(s.Name, l, sc)
	p.Legend.Add(c.DashedLabel, il)
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.XOffs, p.Legend.YOffs = vg.Points(10), -vg.Points(6)
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	p.X.Min, p.X.Max = s.X[0]-0.5, s.X[len(s.X)-1]+0.5
	p.Y.Min, p.Y.Max = 0, top*1.1
	return nil
}
