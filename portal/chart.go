package portal

import (
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// chart is a stacked bar chart of deliveries by outcome, drawn as SVG by
// the template from these numbers (no script, no style attribute).
type chart struct {
	Width, Height int
	Bars          []bar
	Max           int
	Total         hookd.SeriesPoint
	From, To      string
}

// bar is one bucket: three stacked rectangles, bottom up.
type bar struct {
	X, W                   int
	SucceededY, SucceededH int
	FailedY, FailedH       int
	PendingY, PendingH     int
	Label                  string
}

const (
	chartHeight = 100
	barWidth    = 12
	barGap      = 3
)

// newChart lays out points; label is the time layout of a bar's title.
func newChart(ps []hookd.SeriesPoint, label string) chart {
	c := chart{Height: chartHeight, Width: len(ps) * (barWidth + barGap)}
	for _, p := range ps {
		c.Max = max(c.Max, p.Succeeded+p.Failed+p.Pending)
		c.Total.Succeeded += p.Succeeded
		c.Total.Failed += p.Failed
		c.Total.Pending += p.Pending
	}
	scale := func(n int) int {
		if c.Max == 0 || n == 0 {
			return 0
		}
		return max(1, n*chartHeight/c.Max)
	}
	for i, p := range ps {
		b := bar{X: i * (barWidth + barGap), W: barWidth}
		b.SucceededH, b.FailedH, b.PendingH = scale(p.Succeeded), scale(p.Failed), scale(p.Pending)
		b.SucceededY = chartHeight - b.SucceededH
		b.FailedY = b.SucceededY - b.FailedH
		b.PendingY = b.FailedY - b.PendingH
		b.Label = fmt.Sprintf("%s UTC: %d succeeded, %d failed, %d pending", p.At.UTC().Format(label), p.Succeeded, p.Failed, p.Pending)
		c.Bars = append(c.Bars, b)
	}
	if len(ps) > 0 {
		c.From = ps[0].At.UTC().Format("Jan 2 15:04")
		c.To = ps[len(ps)-1].At.Add(ps[len(ps)-1].At.Sub(ps[0].At) / time.Duration(max(1, len(ps)-1))).UTC().Format("Jan 2 15:04")
	}
	return c
}
