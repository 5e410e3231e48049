package hookd_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

const filterData = `{"disposition": 4, "name": "Alice", "tags": ["vip", "new"], "nested": {"n": 2.5, "s": "x"},
	"flag": true, "nothing": null, "numstr": "10", "big": 12345678901234567890, "id64": 9007199254740993, "items": [{"id": 1}, {"id": 2}]}`

func filterDoc(t testing.TB, typ, data string) map[string]any {
	t.Helper()
	doc, err := hookd.NewFilterDocument(&hookd.Event{ID: "evt_1", Type: typ, Data: json.RawMessage(data), CreatedAt: time.Unix(1700000000, 0)})
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestFilterMatch(t *testing.T) {
	t.Parallel()
	doc := filterDoc(t, "CALL_LOGGED", filterData)
	tests := []struct {
		filter string
		want   bool
	}{
		{`{}`, true},
		{`{"type": "CALL_LOGGED"}`, true},
		{`{"type": "CALL_STARTED"}`, false},
		{`{"id": "evt_1", "type": "CALL_LOGGED"}`, true},
		{`{"id": "evt_1", "type": "CALL_STARTED"}`, false},
		{`{"timestamp": {"$gte": 1700000000}}`, true},
		{`{"timestamp": {"$gt": 1700000000}}`, false},
		// $eq, by literal and by operator; numbers compare numerically, strings do not equal numbers
		{`{"data.disposition": 4}`, true},
		{`{"data.disposition": 4.0}`, true},
		{`{"data.disposition": 4e0}`, true},
		{`{"data.disposition": "4"}`, false},
		{`{"data.numstr": 10}`, false},
		{`{"data.numstr": "10"}`, true},
		{`{"data.disposition": {"$eq": 4}}`, true},
		{`{"data.big": 12345678901234567890}`, true},
		{`{"data.id64": 9007199254740993}`, true},
		{`{"data.id64": 9007199254740992}`, false}, // equal as float64
		{`{"data.id64": {"$gt": 9007199254740992}}`, true},
		{`{"data.id64": {"$in": [9007199254740992]}}`, false},
		{`{"data.flag": true}`, true},
		{`{"data.flag": "true"}`, false},
		{`{"data.nothing": null}`, true},
		{`{"data.missing": null}`, false},
		// $ne: a missing path is not equal to anything
		{`{"data.disposition": {"$ne": 5}}`, true},
		{`{"data.disposition": {"$ne": 4}}`, false},
		{`{"data.missing": {"$ne": 4}}`, true},
		// $in, $nin
		{`{"data.disposition": {"$in": [1, 4]}}`, true},
		{`{"data.disposition": {"$in": [1, 2]}}`, false},
		{`{"data.disposition": {"$in": []}}`, false},
		{`{"data.disposition": {"$in": ["4"]}}`, false},
		{`{"data.missing": {"$in": [null]}}`, false},
		{`{"data.disposition": {"$nin": [1, 2]}}`, true},
		{`{"data.disposition": {"$nin": [1, 4]}}`, false},
		{`{"data.missing": {"$nin": [1]}}`, true},
		{`{"data.disposition": {"$in": [4.0]}}`, true},
		{`{"data.disposition": {"$in": ["x", 1e400, 4e0]}}`, true},
		{`{"data.id64": {"$in": [1, 9007199254740993]}}`, true},
		{`{"data.id64": {"$nin": [9007199254740992]}}`, true},
		{`{"data.big": {"$in": [12345678901234567890]}}`, true},
		{`{"data.nested.n": {"$in": [2, 2.5]}}`, true},
		{`{"data.name": {"$in": [4, "Alice"]}}`, true},
		{`{"data.flag": {"$in": [1, true]}}`, true},
		{`{"data.nothing": {"$in": [0, null]}}`, true},
		{`{"data.tags": {"$in": [["vip", "new"]]}}`, true},
		{`{"data.nested": {"$in": [{"n": 2.5, "s": "x"}]}}`, true},
		{`{"data.nested": {"$nin": [{"n": 2.5}]}}`, true},
		// ordering: numbers with numbers, strings with strings, nothing else
		{`{"data.disposition": {"$gt": 3}}`, true},
		{`{"data.disposition": {"$gt": 4}}`, false},
		{`{"data.disposition": {"$gte": 4}}`, true},
		{`{"data.disposition": {"$lt": 5}}`, true},
		{`{"data.disposition": {"$lt": 4}}`, false},
		{`{"data.disposition": {"$lte": 4}}`, true},
		{`{"data.disposition": {"$gt": 1, "$lt": 5}}`, true},
		{`{"data.disposition": {"$gt": 1, "$lt": 3}}`, false},
		{`{"data.nested.n": {"$gt": 2.4, "$lt": 2.6}}`, true},
		{`{"data.name": {"$gt": "Aa"}}`, true},
		{`{"data.name": {"$lt": "Aa"}}`, false},
		{`{"data.numstr": {"$gt": 5}}`, false},
		{`{"data.disposition": {"$gt": "1"}}`, false},
		{`{"data.missing": {"$lt": 5}}`, false},
		{`{"data.tags": {"$gt": 1}}`, false},
		// $exists
		{`{"data.name": {"$exists": true}}`, true},
		{`{"data.nothing": {"$exists": true}}`, true},
		{`{"data.missing": {"$exists": true}}`, false},
		{`{"data.missing": {"$exists": false}}`, true},
		{`{"data.name.deeper": {"$exists": false}}`, true},
		// $contains on strings and arrays, $prefix on strings
		{`{"data.name": {"$contains": "lic"}}`, true},
		{`{"data.name": {"$contains": "bob"}}`, false},
		{`{"data.tags": {"$contains": "vip"}}`, true},
		{`{"data.tags": {"$contains": "old"}}`, false},
		{`{"data.items": {"$contains": {"id": 2}}}`, true},
		{`{"data.disposition": {"$contains": 4}}`, false},
		{`{"data.name": {"$contains": 4}}`, false},
		{`{"data.missing": {"$contains": "x"}}`, false},
		{`{"data.name": {"$prefix": "Al"}}`, true},
		{`{"data.name": {"$prefix": "al"}}`, false},
		{`{"data.disposition": {"$prefix": "4"}}`, false},
		{`{"data.missing": {"$prefix": ""}}`, false},
		// arrays: numeric segments index, whole arrays compare in order
		{`{"data.tags.0": "vip"}`, true},
		{`{"data.tags.1": "vip"}`, false},
		{`{"data.tags.5": {"$exists": false}}`, true},
		{`{"data.tags.-1": {"$exists": false}}`, true},
		{`{"data.items.1.id": 2}`, true},
		{`{"data.tags": ["vip", "new"]}`, true},
		{`{"data.tags": ["new", "vip"]}`, false},
		{`{"data.tags": ["vip"]}`, false},
		{`{"data.nested": {"$eq": {"n": 2.5, "s": "x"}}}`, true},
		{`{"data.nested": {"$eq": {"n": 2.5}}}`, false},
		{`{"data.nested": {"$in": [{"s": "x", "n": 2.5}]}}`, true},
		// $and, $or, $not
		{`{"$and": [{"type": "CALL_LOGGED"}, {"data.disposition": 4}]}`, true},
		{`{"$and": [{"type": "CALL_LOGGED"}, {"data.disposition": 5}]}`, false},
		{`{"$or": [{"type": "X"}, {"data.disposition": 4}]}`, true},
		{`{"$or": [{"type": "X"}, {"data.disposition": 5}]}`, false},
		{`{"$not": {"type": "CALL_LOGGED"}}`, false},
		{`{"$not": {"$not": {"type": "CALL_LOGGED"}}}`, true},
		{`{"$or": [{"type": {"$ne": "CALL_LOGGED"}}, {"data.disposition": {"$in": [1, 4]}}]}`, true},
		{`{"type": "CALL_LOGGED", "$or": [{"data.flag": false}, {"data.name": "Alice"}]}`, true},
		{`{"type": "CALL_LOGGED", "$or": [{"data.flag": false}, {"data.name": "Bob"}]}`, false},
	}
	for _, tt := range tests {
		f, err := hookd.ParseFilter([]byte(tt.filter))
		if err != nil {
			t.Errorf("ParseFilter(%s): %v", tt.filter, err)
			continue
		}
		if got := f.Match(doc); got != tt.want {
			t.Errorf("%s: Match = %v, want %v", tt.filter, got, tt.want)
		}
	}
}

// TestFilterDesignExample is the design's "only CALL_LOGGED events whose
// disposition is 1 or 4, everything else" over several events.
func TestFilterDesignExample(t *testing.T) {
	t.Parallel()
	f, err := hookd.ParseFilter([]byte(`{"$or": [{"type": {"$ne": "CALL_LOGGED"}}, {"data.disposition": {"$in": [1, 4]}}]}`))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		typ, data string
		want      bool
	}{
		{"CALL_LOGGED", `{"disposition": 1}`, true},
		{"CALL_LOGGED", `{"disposition": 4}`, true},
		{"CALL_LOGGED", `{"disposition": 2}`, false},
		{"CALL_LOGGED", `{}`, false},
		{"CALL_LOGGED", `[1, 4]`, false},
		{"CallBroadcast.started", `{"disposition": 2}`, true},
		{"CallBroadcast.started", `null`, true},
	}
	for _, tt := range tests {
		if got := f.Match(filterDoc(t, tt.typ, tt.data)); got != tt.want {
			t.Errorf("%s %s: Match = %v, want %v", tt.typ, tt.data, got, tt.want)
		}
	}
}

func TestFilterMatchPlainJSON(t *testing.T) {
	t.Parallel()
	// A document decoded without UseNumber holds float64s.
	var doc any
	if err := json.Unmarshal([]byte(`{"type": "A", "data": {"n": 4, "s": "x"}}`), &doc); err != nil {
		t.Fatal(err)
	}
	for filter, want := range map[string]bool{
		`{"data.n": 4}`:               true,
		`{"data.n": {"$in": [1, 4]}}`: true,
		`{"data.n": {"$gt": 3.5}}`:    true,
		`{"data.s": {"$ne": "x"}}`:    false,
	} {
		f, err := hookd.ParseFilter([]byte(filter))
		if err != nil {
			t.Fatal(err)
		}
		if got := f.Match(doc); got != want {
			t.Errorf("%s: Match = %v, want %v", filter, got, want)
		}
	}
	var none *hookd.Filter
	if !none.Match(doc) {
		t.Error("a nil filter must match everything")
	}
}

func TestParseFilterErrors(t *testing.T) {
	t.Parallel()
	deep := `{"type": "x"}`
	for range 17 {
		deep = `{"$not": ` + deep + `}`
	}
	var many bytes.Buffer
	many.WriteString("{")
	for i := range 257 {
		if i > 0 {
			many.WriteString(",")
		}
		many.WriteString(`"data.f` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strings.Repeat("y", i/26) + `": 1`)
	}
	many.WriteString("}")
	tests := []struct {
		filter string
		want   string // the message must contain this, which names the place
	}{
		{`not json`, "is not valid JSON"},
		{``, "is not valid JSON"},
		{`{"a": 1`, "is not valid JSON"},
		{`{} ]`, "has data after the JSON document"},
		{`{}}`, "has data after the JSON document"},
		{`{} {}`, "has data after the JSON document"},
		{`[]`, "filter: must be a JSON object"},
		{`"type"`, "filter: must be a JSON object"},
		{`null`, "filter: must be a JSON object"},
		{`{"$and": []}`, "filter.$and: must be a non-empty array of filters"},
		{`{"$or": {"type": "x"}}`, "filter.$or: must be a non-empty array of filters"},
		{`{"$and": [{"type": "x"}, 5]}`, "filter.$and[1]: must be a JSON object"},
		{`{"$not": 5}`, "filter.$not: must be a JSON object"},
		{`{"$nope": 1}`, `filter: unknown operator "$nope"`},
		{`{"$or": [{"$xor": 1}]}`, `filter.$or[0]: unknown operator "$xor"`},
		{`{"a..b": 1}`, `filter.a..b: "a..b" is not a dot-separated path`},
		{`{".a": 1}`, `filter..a: ".a" is not a dot-separated path`},
		{`{"a.": 1}`, `filter.a.: "a." is not a dot-separated path`},
		{`{"a": {}}`, "filter.a: an empty object compares nothing"},
		{`{"a": {"$in": 1}}`, "filter.a.$in: must be an array"},
		{`{"a": {"$nin": {"x": 1}}}`, "filter.a.$nin: must be an array"},
		{`{"a": {"$gt": true}}`, "filter.a.$gt: must be a number or a string"},
		{`{"a": {"$lte": [1]}}`, "filter.a.$lte: must be a number or a string"},
		{`{"a": {"$exists": 1}}`, "filter.a.$exists: must be true or false"},
		{`{"a": {"$prefix": 1}}`, "filter.a.$prefix: must be a string"},
		{`{"a": {"$regex": "x"}}`, "filter.a.$regex: unknown operator"},
		{`{"a": {"$eq": 1, "b": 2}}`, "filter.a: mixes a field path with operators"},
		{`{"data": {"x": 1}}`, `filter.data: "x" is not an operator; write a nested path with dots ("data.x")`},
		{`{"$or": [{"a": {"$in": "x"}}]}`, "filter.$or[0].a.$in: must be an array"},
		{`{"$and": [{"$not": {"a": {"$gt": null}}}]}`, "filter.$and[0].$not.a.$gt: must be a number or a string"},
		{deep, "nested deeper than 16 levels"},
		{many.String(), "more than 256 conditions"},
		{`{"a": "` + strings.Repeat("x", hookd.MaxFilterBytes) + `"}`, "must be at most 16384 bytes"},
	}
	for _, tt := range tests {
		f, err := hookd.ParseFilter([]byte(tt.filter))
		if err == nil {
			t.Errorf("ParseFilter(%.60s) = %v, want an error", tt.filter, f)
			continue
		}
		if hookd.ErrorCode(err) != hookd.EINVALID || !strings.Contains(hookd.ErrorMessage(err), tt.want) {
			t.Errorf("ParseFilter(%.60s) = %v, want EINVALID containing %q", tt.filter, err, tt.want)
		}
	}
}

// FuzzParseFilter checks that no input makes ParseFilter panic, and that a
// filter it accepts can be matched against any JSON without panicking.
func FuzzParseFilter(f *testing.F) {
	seeds := [][2]string{
		{`{"type": "CALL_LOGGED", "data.disposition": {"$in": [1, 4]}}`, filterData},
		{`{"$or": [{"type": {"$ne": "CALL_LOGGED"}}, {"data.disposition": {"$in": [1, 4]}}]}`, `{"disposition": 1}`},
		{`{"$not": {"data.tags": {"$contains": "vip"}}}`, `{"tags": ["vip"]}`},
		{`{"data.items.1.id": {"$gte": 2, "$lt": "z"}, "data.s": {"$prefix": "a", "$exists": true}}`, `{"items": [1, {"id": 2}], "s": "abc"}`},
		{`{"$and": [{"data": {"$eq": {"a": [1, {"b": null}]}}}, {"data.a.0": {"$nin": [1e400, -0]}}]}`, `{"a": [1e400, {"b": null}]}`},
		{`{"data.x": 1e999}`, `{"x": 1e999}`},
		{`{} ]`, `[]`},
	}
	for _, s := range seeds {
		f.Add([]byte(s[0]), []byte(s[1]))
	}
	f.Fuzz(func(t *testing.T, filter, data []byte) {
		flt, err := hookd.ParseFilter(filter)
		if err != nil {
			if hookd.ErrorCode(err) != hookd.EINVALID {
				t.Fatalf("ParseFilter error %v is not EINVALID", err)
			}
			return
		}
		if !json.Valid(data) {
			return
		}
		if doc, err := hookd.NewFilterDocument(&hookd.Event{ID: "evt_1", Type: "T", Data: data}); err == nil {
			flt.Match(doc)
		}
		var plain any
		if json.Unmarshal(data, &plain) == nil {
			flt.Match(plain)
			flt.Match(map[string]any{"type": "T", "data": plain})
		}
	})
}
