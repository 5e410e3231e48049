package webhook

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

func TestProject(t *testing.T) {
	t.Parallel()
	const data = `{"a": {"b": 1, "c": [1, 2]}, "d": "x", "items": [{"id": 1, "n": "p"}, {"id": 2}, {"n": "q"}, 5], "e": null}`
	tests := []struct {
		fields []string
		want   string
	}{
		{[]string{"d"}, `{"d":"x"}`},
		{[]string{"a.b", "d"}, `{"a":{"b":1},"d":"x"}`},
		{[]string{"a", "a.b"}, `{"a":{"b": 1, "c": [1, 2]}}`},
		{[]string{"a.b", "a"}, `{"a":{"b": 1, "c": [1, 2]}}`},
		{[]string{"a.c"}, `{"a":{"c":[1, 2]}}`},
		{[]string{"items.id"}, `{"items":[{"id":1},{"id":2}]}`},
		{[]string{"e"}, `{"e":null}`},
		{[]string{"missing"}, `{}`},
		{[]string{"a.missing"}, `{}`},
		{[]string{"d.deeper"}, `{}`},
		{[]string{"a.b.c"}, `{}`},
	}
	for _, tt := range tests {
		got, err := project([]byte(data), tt.fields)
		if err != nil {
			t.Errorf("project(%q): %v", tt.fields, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("project(%q) = %s, want %s", tt.fields, got, tt.want)
		}
		if !json.Valid(got) {
			t.Errorf("project(%q) = %s: not JSON", tt.fields, got)
		}
	}
	for _, bad := range []string{`{"a":`, `{"a":1} x`, `[1,`, `nope`} {
		if got, err := project([]byte(bad), []string{"a"}); err == nil {
			t.Errorf("project(%q) = %s, want an error", bad, got)
		}
	}
}

func TestAppendEnvelope(t *testing.T) {
	t.Parallel()
	e := &hookd.Event{ID: "id\"with\\odd\n\x01chars\xff", Type: "T.x", CreatedAt: time.Unix(1614265330, 0)}
	for _, data := range []string{"", "  ", `{"k": [1, 2.50]}`} {
		got := appendEnvelope(nil, e, []byte(data))
		var env struct {
			ID        string          `json:"id"`
			Type      string          `json:"type"`
			Timestamp int64           `json:"timestamp"`
			Data      json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(got, &env); err != nil {
			t.Fatalf("envelope %s: %v", got, err)
		}
		wantData := data
		if data == "" || data == "  " {
			wantData = "null"
		}
		want := []any{"id\"with\\odd\n\x01chars\uFFFD", "T.x", int64(1614265330), wantData}
		if diff := cmp.Diff(want, []any{env.ID, env.Type, env.Timestamp, string(env.Data)}); diff != "" {
			t.Errorf("envelope %s (-want +got):\n%s", got, diff)
		}
	}
}

// FuzzAppendJSONString checks the hand-written string encoder against
// encoding/json: the same string comes back.
func FuzzAppendJSONString(f *testing.F) {
	for _, s := range []string{"", "plain", "q\"b\\s/\n\r\t\x00\x1f\x7f", "é€😀", "\xff\xfe", "\u2028<>&"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		out := appendJSONString(nil, s)
		var got string
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("appendJSONString(%q) = %s: %v", s, out, err)
		}
		ref, _ := json.Marshal(s)
		var want string
		if err := json.Unmarshal(ref, &want); err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("appendJSONString(%q) decodes to %q, encoding/json to %q", s, got, want)
		}
	})
}

func TestExcerpt(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"plain":          "plain",
		"a\x00b":         "ab",
		"bad\xffbyte":    "bad?byte",
		"cut é"[:5]:      "cut ",
		"cut 😀"[:6]:      "cut ",
		"\xff\xfe\xfd":   "???",
		"\xe2\x28\xa1ok": "?(?ok",
	}
	for in, want := range tests {
		got := excerpt([]byte(in))
		if got != want {
			t.Errorf("excerpt(%q) = %q, want %q", in, got, want)
		}
		if !utf8.ValidString(got) || len(got) > len(in) {
			t.Errorf("excerpt(%q) = %q: invalid or longer", in, got)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := map[string]time.Duration{
		"":                  0,
		"7":                 7 * time.Second,
		" 120 ":             2 * time.Minute,
		"0":                 0,
		"-5":                0,
		"1.5":               0,
		"soon":              0,
		"99999999999999999": maxRetryAfter,
		now.Add(time.Minute).Format(http.TimeFormat):  time.Minute,
		now.Add(-time.Minute).Format(http.TimeFormat): 0,
		"Sat, 01 Mar 2125 12:00:00 GMT":               maxRetryAfter,
	}
	for in, want := range tests {
		if got := parseRetryAfter(in, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", in, got, want)
		}
	}
}
