package portal

import (
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestPrettyJSON(t *testing.T) {
	t.Parallel()
	for _, c := range []struct{ in, want string }{
		{`{"b":1,"a":"\u003cscript\u003e \u0026"}`, "{\n  \"b\": 1,\n  \"a\": \"<script> &\"\n}"},
		{`{"a":"\\u003c"}`, "{\n  \"a\": \"\\\\u003c\"\n}"},
		{`{"n":12345678901234567890}`, "{\n  \"n\": 12345678901234567890\n}"},
		{`not json <b>`, `not json <b>`},
		{`"\"\u00e9"`, `"\"\u00e9"`},
	} {
		if got := prettyJSON([]byte(c.in)); got != c.want {
			t.Errorf("prettyJSON(%s) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestCheckOrigin(t *testing.T) {
	t.Parallel()
	for _, ok := range []string{"https://app.example.com", "http://localhost:3000", "https://*.example.com"} {
		if err := checkOrigin(ok); err != nil {
			t.Errorf("checkOrigin(%q): %v", ok, err)
		}
	}
	for _, bad := range []string{"", "app.example.com", "https://a.example/path", "https://a.example; script-src *", "'unsafe-inline'", "javascript:x"} {
		if err := checkOrigin(bad); err == nil {
			t.Errorf("checkOrigin(%q) accepted", bad)
		}
	}
}

func TestChartScales(t *testing.T) {
	t.Parallel()
	c := newChart(nil, "15:04")
	if len(c.Bars) != 0 || c.Max != 0 {
		t.Errorf("empty chart: %+v", c)
	}
}

func TestQueueChartGapsAndScale(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 2, 3, 0, 0, 0, time.UTC)
	ps := []hookd.QueuePoint{
		{At: at, Width: time.Minute},
		{At: at.Add(time.Minute), Width: time.Minute, Samples: 1, Pending: 10},
		{At: at.Add(2 * time.Minute), Width: time.Minute, Samples: 2, Pending: 40, Succeeded: 3, Failed: 1},
	}
	h := newQueueHistory(ps, queueWindows[0])
	pending, failures := h.Charts[0], h.Charts[4]
	if pending.Bars[0].Label != "03:00 UTC: no sample" || !pending.Bars[0].Gap || pending.Bars[0].H != 0 {
		t.Errorf("a bucket without samples: %+v", pending.Bars[0])
	}
	if pending.Bars[1].H != seriesHeight/4 || pending.Bars[2].H != seriesHeight || pending.Bars[2].Y != 0 {
		t.Errorf("pending bars not scaled to the peak: %+v", pending.Bars)
	}
	if pending.Summary != "Pending, Last hour: latest 40, peak 40 at Jan 2 03:02 UTC" {
		t.Errorf("pending summary %q", pending.Summary)
	}
	if failures.Bars[1].Label != "03:01 UTC: no attempts" || failures.Latest != "25.0 %" {
		t.Errorf("failure rate: %+v, latest %q", failures.Bars[1], failures.Latest)
	}
	if len(h.Rows) != 3 || h.Rows[0].At != "03:02" || h.Rows[0].Failures != "25.0 %" || h.Rows[2].Sampled {
		t.Errorf("rows (newest first): %+v", h.Rows)
	}
	if empty := newQueueHistory(ps[:1], queueWindows[1]); empty.Charts[0].Summary != "Pending, Last 24 hours: no samples" {
		t.Errorf("an empty chart's summary: %q", empty.Charts[0].Summary)
	}
}
