package hookd_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

func TestBadJSONText(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"clean", `{"url": "https://x", "data": {"a": ["é", "\u00e9", "\ud83d\ude00"]}}`, ""},
		{"invalid UTF-8 in a value", "{\"name\": \"a\xffb\"}", "name"},
		{"lone high surrogate", `{"name": "a\ud800b"}`, "name"},
		{"lone low surrogate", `{"name": "\udc00"}`, "name"},
		{"high surrogate then a non-surrogate escape", `{"name": "\ud800\u0041"}`, "name"},
		{"high surrogate at the end", `{"name": "\ud800"}`, "name"},
		{"deep in data", `{"type": "A.b", "data": {"x": [1, {"y": "\udfff"}]}}`, "data.x[1].y"},
		{"in an array", "{\"event_types\": [\"A.b\", \"\xc3\"]}", "event_types[1]"},
		{"a key", "{\"data\": {\"k\xff\": 1}}", "a key of data"},
		{"a key at the top", "{\"k\xff\": 1}", "a key"},
		{"an escaped key names the path", `{"d\u0061ta": {"x": "\ud800"}}`, "data.x"},
		{"escaped quote before", `{"a": "x\"y", "b": "\ud800"}`, "b"},
		{"cut short after the surrogate", `{"a": "\ud800`, "a"},
		{"malformed is the decoder's", `{"a": "x`, ""},
		{"after a syntax error", `{"a" 1, "b": "\ud800"}`, ""},
		{"top-level string", `"\ud800"`, "the document"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, found := hookd.BadJSONText([]byte(tc.doc))
			if found != (tc.want != "") || path != tc.want {
				t.Errorf("BadJSONText(%q) = %q, %v; want %q", tc.doc, path, found, tc.want)
			}
		})
	}
}

// FuzzBadJSONText checks BadJSONText against what encoding/json keeps: on
// a well-formed document, a string is reported exactly when decoding and
// encoding it again changes it (a replaced byte or surrogate), and the
// scan never panics on anything.
func FuzzBadJSONText(f *testing.F) {
	for _, seed := range []string{`{"a":"b"}`, `{"a":"\ud800"}`, "{\"a\":\"\xff\"}", `[1,{"k":["\udc00"]}]`, `{"a":"\ud83d\ude00"}`, `"x"`, `{"a":`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		path, found := hookd.BadJSONText(doc)
		if found && path == "" {
			t.Fatalf("found without a path in %q", doc)
		}
		if !json.Valid(doc) {
			return
		}
		var v any
		if err := json.Unmarshal(doc, &v); err != nil {
			return
		}
		if found != changesText(v, doc) {
			t.Fatalf("BadJSONText(%q) = %q, %v", doc, path, found)
		}
	})
}

// changesText reports whether decoding doc replaced something: its
// strings, re-encoded and decoded, hold U+FFFD that doc did not spell.
func changesText(v any, doc []byte) bool {
	var count func(any) int
	count = func(v any) int {
		n := 0
		switch v := v.(type) {
		case string:
			n += strings.Count(v, "\uFFFD")
		case []any:
			for _, e := range v {
				n += count(e)
			}
		case map[string]any:
			for k, e := range v {
				n += strings.Count(k, "\uFFFD") + count(e)
			}
		}
		return n
	}
	spelled := bytes.Count(doc, []byte("\uFFFD")) + bytes.Count(bytes.ToLower(doc), []byte(`\ufffd`))
	return count(v) > spelled
}
