package portal

import (
	"math"
	"strconv"
)

// The statistics page draws its charts as inline SVG built here from
// numbers alone: no script, no image request, and the same figures stand
// beside each chart as a table.

// svgChart is a chart drawn on the server as inline SVG: only shapes and
// text with presentation attributes and classes from app.css, since the
// Content-Security-Policy allows no inline style. The template draws it.
type svgChart struct {
	ID, Title, Desc string
	Width, Height   float64
	Dir             string
	Bars            []svgBar
	Texts           []svgText
	Lines           []svgLine
	Hatch           bool // the chart uses the hatch pattern (defined once per chart)
}

type svgBar struct {
	X, Y, W, H float64
	Class      string
	Hatch      bool
}

type svgText struct {
	X, Y   float64
	Anchor string // start or end, in the chart's direction
	Class  string
	Text   string
}

type svgLine struct {
	X1, Y1, X2, Y2 float64
	Class          string
}

// Geometry of the charts, in SVG user units (about CSS pixels at full size).
const (
	chartWidth   = 640.0
	chartPad     = 8.0
	valueRoom    = 110.0 // beside the longest bar, for its value label
	hbarLabelH   = 20.0
	hbarBarH     = 18.0
	hbarGap      = 4.0
	hbarRowGap   = 12.0
	legendHeight = 28.0
	colHeight    = 220.0
	colTop       = 22.0
	colBottom    = 30.0
)

// hbarChart draws horizontal bars, one row per category: its label on a
// line of its own (labels in any script and of any length fit), then a bar
// per series with its value written at the bar's end. series names two or
// more series, the second drawn hatched; nil is a single series. A
// right-to-left page gets the chart mirrored.
func hbarChart(id, title, desc, dir string, cats, series []string, values [][]float64, texts [][]string) *svgChart {
	ch := &svgChart{ID: id, Title: title, Desc: desc, Width: chartWidth, Dir: dir}
	rtl := dir == "rtl"
	x := func(v float64) float64 { // a distance from the start edge, as an x
		if rtl {
			return chartWidth - v
		}
		return v
	}
	peak := 0.0
	for _, vs := range values {
		for _, v := range vs {
			peak = max(peak, v)
		}
	}
	scale := 0.0
	if peak > 0 {
		scale = (chartWidth - 2*chartPad - valueRoom) / peak
	}
	y := chartPad
	if len(series) > 1 {
		// The legend: a sample of each series' fill, then its name.
		pos := chartPad
		for s, name := range series {
			b := svgBar{Y: y, W: 18, H: 14, Class: "bar", Hatch: s%2 == 1}
			b.X = x(pos)
			if rtl {
				b.X -= b.W
			}
			ch.Bars = append(ch.Bars, b)
			ch.Texts = append(ch.Texts, svgText{X: x(pos + 24), Y: y + 12, Anchor: "start", Class: "legend", Text: name})
			pos += 24 + 12*float64(len([]rune(name))) + 24
		}
		ch.Hatch = true
		y += legendHeight
	}
	for i, cat := range cats {
		ch.Texts = append(ch.Texts, svgText{X: x(chartPad), Y: y + 15, Anchor: "start", Class: "label", Text: cat})
		y += hbarLabelH
		top := y
		for s := range values {
			w := values[s][i] * scale
			b := svgBar{Y: y, W: w, H: hbarBarH, Class: "bar", Hatch: s%2 == 1}
			b.X = x(chartPad)
			if rtl {
				b.X -= w
			}
			if w > 0 {
				ch.Bars = append(ch.Bars, b)
			}
			ch.Texts = append(ch.Texts, svgText{X: x(chartPad + w + 6), Y: y + 14, Anchor: "start", Class: "value", Text: texts[s][i]})
			y += hbarBarH + hbarGap
		}
		// The axis the bars grow from.
		ch.Lines = append(ch.Lines, svgLine{X1: x(chartPad), Y1: top, X2: x(chartPad), Y2: y - hbarGap, Class: "axis"})
		y += hbarRowGap
	}
	ch.Height = y + chartPad - hbarRowGap
	return ch.rounded()
}

// columnChart draws a series in time order (days, weeks, hours) as
// columns, time running in the page's reading direction: from the right
// on a right-to-left page, as its tables and text run. Values are written
// above the columns while they fit; tick labels are thinned to stay
// readable.
func columnChart(id, title, desc, dir string, ticks []string, values []float64) *svgChart {
	ch := &svgChart{ID: id, Title: title, Desc: desc, Width: chartWidth, Height: colHeight, Dir: dir}
	n := len(values)
	if n == 0 {
		return ch
	}
	slot := (chartWidth - 2*chartPad) / float64(n)
	barW := math.Max(1, slot*0.7)
	base := colHeight - colBottom
	peak := 0.0
	for _, v := range values {
		peak = max(peak, v)
	}
	scale := 0.0
	if peak > 0 {
		scale = (base - colTop) / peak
	}
	showValues := slot >= 18
	every := max(1, int(math.Ceil(44/slot)))
	for i, v := range values {
		cx := chartPad + slot*float64(i) + slot/2
		if dir == "rtl" {
			cx = chartWidth - cx
		}
		h := v * scale
		if h > 0 {
			ch.Bars = append(ch.Bars, svgBar{X: cx - barW/2, Y: base - h, W: barW, H: h, Class: "bar"})
		}
		if showValues || v == peak && v > 0 {
			ch.Texts = append(ch.Texts, svgText{X: cx, Y: base - h - 5, Anchor: "middle", Class: "value", Text: strconv.FormatFloat(v, 'f', -1, 64)})
		}
		if i%every == 0 {
			ch.Texts = append(ch.Texts, svgText{X: cx, Y: base + 18, Anchor: "middle", Class: "tick", Text: ticks[i]})
		}
	}
	ch.Lines = append(ch.Lines, svgLine{X1: chartPad, Y1: base, X2: chartWidth - chartPad, Y2: base, Class: "axis"})
	return ch.rounded()
}

// rounded keeps coordinates to a tenth of a unit: finer is invisible and
// only makes the page longer.
func (ch *svgChart) rounded() *svgChart {
	r := func(v *float64) { *v = math.Round(*v*10) / 10 }
	r(&ch.Height)
	for i := range ch.Bars {
		b := &ch.Bars[i]
		r(&b.X)
		r(&b.Y)
		r(&b.W)
		r(&b.H)
	}
	for i := range ch.Texts {
		r(&ch.Texts[i].X)
		r(&ch.Texts[i].Y)
	}
	for i := range ch.Lines {
		l := &ch.Lines[i]
		r(&l.X1)
		r(&l.Y1)
		r(&l.X2)
		r(&l.Y2)
	}
	return ch
}
