package portal

import "testing"

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
