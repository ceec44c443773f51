package dashboard

import (
	"fmt"
	"math"
	"strconv"

	"recauda-bridge/locale"
	"recauda-bridge/recauda"
)

// The overview's chart: charges sent and paid per day, as grouped bars in
// an SVG drawn here and written by the template, so that it needs no script
// and every label goes through html/template's escaping. The numbers are
// also in a table under it, for screen readers and for copying.

// Chart geometry, in SVG user units; the SVG scales to its box.
const (
	chartWidth   = 760
	chartHeight  = 260
	chartLeft    = 44 // room for the y labels
	chartRight   = 34 // the y labels again: on a phone the chart scrolls and shows its right end
	chartTop     = 14
	chartBottom  = 34 // room for the x labels
	chartBarGap  = 1  // between the two bars of a day
	chartDayPad  = 0.22
	chartColSent = "#1d4ed8" // blue 700: 6.7:1 on white
	chartColPaid = "#15803d" // green 700: 5.0:1 on white
	chartColGrid = "#d4d4d8"
	chartColText = "#3f3f46"
)

// chartView is what the template draws.
type chartView struct {
	// ID names the chart's title and description for aria-labelledby.
	ID            string
	Width, Height int
	Title, Desc   string
	// Left, Right and Base bound the plot: the x axis runs from Left to
	// Right at height Base.
	Left, Right, Base float64
	Grid              []chartTick
	Bars              []chartBar
	Labels            []chartLabel
	SentLabel         string
	PaidLabel         string
	SentColor         string
	PaidColor         string
	GridColor         string
	TextColor         string
	// Rows are the numbers, newest first, for the table under the chart.
	Rows []chartRow
}

type chartTick struct {
	Y     float64
	Label string
	// LabelY is where the label's baseline goes, just under the line.
	LabelY float64
}

type chartBar struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

type chartLabel struct {
	X, Y float64
	Text string
}

type chartRow struct {
	Day        string
	Sent, Paid int64
}

// chartWords are a chart's id on its page and the keys of its title,
// description and two series.
type chartWords struct{ id, title, desc, first, second string }

// newChart lays out the overview's days as grouped bars with a y axis of
// round steps.
func newChart(tr *locale.Locale, days []recauda.DayCount) chartView {
	return newChartOf(tr, chartWords{"chart", "chart_title", "chart_desc", "chart_sent", "chart_paid"}, days)
}

// newChartOf draws two counts per day (Sent and Paid of each DayCount)
// under the words w names.
func newChartOf(tr *locale.Locale, w chartWords, days []recauda.DayCount) chartView {
	v := chartView{
		ID:    w.id,
		Width: chartWidth, Height: chartHeight, Title: tr.T(w.title),
		Left: chartLeft, Right: chartWidth - chartRight, Base: chartHeight - chartBottom,
		SentLabel: tr.T(w.first), PaidLabel: tr.T(w.second),
		SentColor: chartColSent, PaidColor: chartColPaid, GridColor: chartColGrid, TextColor: chartColText,
	}
	var most, sent, paid int64
	for _, d := range days {
		most, sent, paid = max(most, d.Sent, d.Paid), sent+d.Sent, paid+d.Paid
	}
	if len(days) > 0 {
		v.Desc = tr.T(w.desc, locale.Params{"from": tr.Day(days[0].Day), "to": tr.Day(days[len(days)-1].Day), "sent": sent, "paid": paid})
	}
	step, top := axisSteps(most)
	plotH := v.Base - chartTop
	y := func(n int64) float64 { return round2(v.Base - float64(n)/float64(top)*plotH) }
	for n := int64(0); n <= top; n += step {
		v.Grid = append(v.Grid, chartTick{Y: y(n), LabelY: y(n) + 4, Label: strconv.FormatInt(n, 10)})
	}
	if len(days) == 0 {
		return v
	}
	slot := (v.Right - v.Left) / float64(len(days))
	barW := round2((slot*(1-chartDayPad) - chartBarGap) / 2)
	for i, d := range days {
		x0 := v.Left + slot*float64(i) + slot*chartDayPad/2
		day := tr.Day(d.Day)
		if d.Sent > 0 {
			v.Bars = append(v.Bars, chartBar{X: round2(x0), Y: y(d.Sent), W: barW, H: round2(v.Base - y(d.Sent)),
				Fill: chartColSent, Title: fmt.Sprintf("%s: %s %d", day, v.SentLabel, d.Sent)})
		}
		if d.Paid > 0 {
			v.Bars = append(v.Bars, chartBar{X: round2(x0 + barW + chartBarGap), Y: y(d.Paid), W: barW, H: round2(v.Base - y(d.Paid)),
				Fill: chartColPaid, Title: fmt.Sprintf("%s: %s %d", day, v.PaidLabel, d.Paid)})
		}
		// A label every fifth day, counted back from today, which always
		// has one.
		if (len(days)-1-i)%5 == 0 {
			v.Labels = append(v.Labels, chartLabel{X: round2(v.Left + slot*(float64(i)+0.5)), Y: v.Base + 18, Text: day})
		}
	}
	for i := len(days) - 1; i >= 0; i-- {
		v.Rows = append(v.Rows, chartRow{Day: tr.Day(days[i].Day), Sent: days[i].Sent, Paid: days[i].Paid})
	}
	return v
}

// axisSteps picks a round step (1, 2 or 5 times a power of ten, at least
// 1) that divides the y axis into at most 5 parts, and the axis top, a
// multiple of the step at or above most.
func axisSteps(most int64) (step, top int64) {
	if most < 1 {
		return 1, 1
	}
	raw := float64(most) / 5
	for base := int64(1); step == 0; base *= 10 {
		for _, m := range []int64{1, 2, 5} {
			if float64(base*m) >= raw {
				step = base * m
				break
			}
		}
	}
	top = (most + step - 1) / step * step
	return step, top
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }
