package portal

import (
	"fmt"
	"time"

	"github.com/hookd/hookd"
)

// queueWindow is a span of the dashboard's queue history.
type queueWindow struct {
	Key     string        // the query's value: history=1h
	Label   string        // "Last hour"
	Span    time.Duration // the window
	Buckets int           // bars
	Format  string        // a bucket's time in the table
}

var queueWindows = []queueWindow{
	{"1h", "Last hour", time.Hour, 60, "15:04"},
	{"24h", "Last 24 hours", 24 * time.Hour, 96, "Jan 2 15:04"},
	{"7d", "Last 7 days", 7 * 24 * time.Hour, 84, "Jan 2 15:04"},
}

// queueHistory is the overview's history section: one chart a measure and
// the values as a table.
type queueHistory struct {
	Window  queueWindow
	Windows []queueWindow
	Charts  []seriesChart
	Rows    []queueRow
}

// queueRow is a bucket as text.
type queueRow struct {
	At                                        string
	Sampled                                   bool
	Pending, Due, Oldest, Delivered, Failures string
}

// seriesChart is one measure over the window, drawn as bars by the
// template (no script, no style attribute), with its summary as text.
type seriesChart struct {
	ID, Title     string
	Width, Height int
	Bars          []valueBar
	Latest, Peak  string
	Summary       string
	Empty         bool
}

// valueBar is one bucket's bar; Gap: no sample fell in it.
type valueBar struct {
	X, Y, W, H int
	Gap        bool
	Label      string
}

const (
	seriesWidth  = 480
	seriesHeight = 60
)

// measure is one of the charted values of a point, and whether it has one.
type measure struct {
	id, title string
	value     func(hookd.QueuePoint) (float64, bool)
	format    func(float64) string
}

var measures = []measure{
	{"pending", "Pending", func(p hookd.QueuePoint) (float64, bool) { return float64(p.Pending), p.Samples > 0 }, count},
	{"due", "Due", func(p hookd.QueuePoint) (float64, bool) { return float64(p.Due), p.Samples > 0 }, count},
	{"oldest", "Oldest due waited", func(p hookd.QueuePoint) (float64, bool) { return p.OldestDueAge.Seconds(), p.Samples > 0 }, seconds},
	{"delivered", "Delivered per second", func(p hookd.QueuePoint) (float64, bool) { return p.DeliveredPerSecond(), p.Samples > 0 }, perSecond},
	{"failures", "Failure rate", func(p hookd.QueuePoint) (float64, bool) {
		r, ok := p.FailureRate()
		return r, ok && p.Samples > 0
	}, percent},
}

func count(v float64) string { return fmt.Sprintf("%.0f", v) }
func seconds(v float64) string {
	return (time.Duration(v * float64(time.Second))).Round(time.Second).String()
}
func perSecond(v float64) string { return fmt.Sprintf("%.2f/s", v) }
func percent(v float64) string   { return fmt.Sprintf("%.1f %%", v*100) }

// newQueueHistory lays out the points of window w.
func newQueueHistory(ps []hookd.QueuePoint, w queueWindow) queueHistory {
	h := queueHistory{Window: w, Windows: queueWindows}
	for _, m := range measures {
		h.Charts = append(h.Charts, newSeriesChart(ps, m, w))
	}
	for i := len(ps) - 1; i >= 0; i-- { // newest first
		p := ps[i]
		r := queueRow{At: p.At.UTC().Format(w.Format), Sampled: p.Samples > 0}
		if r.Sampled {
			r.Pending, r.Due, r.Oldest = count(float64(p.Pending)), count(float64(p.Due)), seconds(p.OldestDueAge.Seconds())
			r.Delivered, r.Failures = perSecond(p.DeliveredPerSecond()), "—"
			if f, ok := p.FailureRate(); ok {
				r.Failures = percent(f)
			}
		}
		h.Rows = append(h.Rows, r)
	}
	return h
}

func newSeriesChart(ps []hookd.QueuePoint, m measure, w queueWindow) seriesChart {
	c := seriesChart{ID: m.id, Title: m.title, Width: seriesWidth, Height: seriesHeight, Latest: "—", Peak: "—", Empty: true}
	peak, peakAt := 0.0, -1
	for i, p := range ps {
		v, ok := m.value(p)
		if !ok {
			continue
		}
		c.Empty = false
		c.Latest = m.format(v)
		if peakAt < 0 || v > peak {
			peak, peakAt = v, i
		}
	}
	if peakAt >= 0 {
		c.Peak = m.format(peak) + " at " + ps[peakAt].At.UTC().Format("Jan 2 15:04") + " UTC"
	}
	n := max(1, len(ps))
	bw := seriesWidth / n
	for i, p := range ps {
		b := valueBar{X: i * bw, W: max(1, bw-1)}
		v, ok := m.value(p)
		at := p.At.UTC().Format(w.Format)
		switch {
		case p.Samples == 0:
			b.Gap, b.Label = true, at+" UTC: no sample"
		case !ok:
			b.Label = at + " UTC: no attempts"
		default:
			if peak > 0 {
				b.H = int(v / peak * seriesHeight)
				if v > 0 {
					b.H = max(1, b.H)
				}
			}
			b.Label = at + " UTC: " + m.format(v)
		}
		b.Y = seriesHeight - b.H
		c.Bars = append(c.Bars, b)
	}
	c.Summary = fmt.Sprintf("%s, %s: latest %s, peak %s", m.title, w.Label, c.Latest, c.Peak)
	if c.Empty {
		c.Summary = fmt.Sprintf("%s, %s: no samples", m.title, w.Label)
	}
	return c
}
