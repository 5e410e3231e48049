package compat

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hookd/hookd"
)

func TestDecodeJSON(t *testing.T) {
	t.Parallel()
	type body struct {
		Name  string   `json:"name"`
		Count int      `json:"count"`
		Tags  []string `json:"tags"`
	}
	tests := []struct {
		name, contentType, body string
		code, mention           string
	}{
		{"ok", "application/json", `{"name": "a", "count": 1, "unknown": true}`, "", ""},
		{"ok with charset", "application/json; charset=utf-8", `{"name": "a"}`, "", ""},
		{"ok vendor type", "application/vnd.api+json", `{"name": "a"}`, "", ""},
		{"ok without content type", "", `{"name": "a"}`, "", ""},
		{"text", "text/plain", `{"name": "a"}`, hookd.EUNSUPPORTED, "text/plain"},
		{"unparseable content type", "application/json;;", `{}`, hookd.EUNSUPPORTED, "Content-Type"},
		{"empty", "application/json", "  \n", hookd.EMALFORMED, "empty"},
		{"syntax", "application/json", "{\n  \"name\": \"a\",\n  \"count\": x\n}", hookd.EMALFORMED, "line 3, column 12"},
		{"truncated", "application/json", `{"name": "a"`, hookd.EMALFORMED, "ends before"},
		{"array", "application/json", `[]`, hookd.EMALFORMED, "JSON object"},
		{"trailing", "application/json", `{} []`, hookd.EMALFORMED, "after the object"},
		{"wrong type", "application/json", `{"count": "one"}`, hookd.EINVALID, "count must be an integer, got a JSON string"},
		{"wrong element type", "application/json", `{"tags": [1]}`, hookd.EINVALID, "tags must be a string"},
		{"too large", "application/json", `{"name": "` + strings.Repeat("x", 100) + `"}`, hookd.ETOOLARGE, "at most 64 bytes"},
	}
	for _, tt := range tests {
		r := httptest.NewRequest("POST", "/", strings.NewReader(tt.body))
		if tt.contentType != "" {
			r.Header.Set("Content-Type", tt.contentType)
		}
		var b body
		err := DecodeJSON(r, 64, &b)
		if code := hookd.ErrorCode(err); code != tt.code || !strings.Contains(hookd.ErrorMessage(err), tt.mention) {
			t.Errorf("%s: error %v, want code %q mentioning %q", tt.name, err, tt.code, tt.mention)
		}
	}
}

func TestStatus(t *testing.T) {
	t.Parallel()
	want := map[string]int{
		hookd.EINVALID: 422, hookd.EMALFORMED: 400, hookd.EUNAUTHORIZED: 401, hookd.EFORBIDDEN: 403,
		hookd.ENOTFOUND: 404, hookd.ECONFLICT: 409, hookd.ETOOLARGE: 413, hookd.EUNSUPPORTED: 415,
		hookd.ERATELIMITED: 429, hookd.EINTERNAL: 500, hookd.EUNAVAILABLE: 503, "surprise": 500,
	}
	for code, st := range want {
		if got := Status(code); got != st {
			t.Errorf("Status(%q) = %d, want %d", code, got, st)
		}
	}
}

// countingTypes counts EnsureEventTypes calls; the other methods are unused.
type countingTypes struct {
	hookd.EventTypeService
	calls map[hookd.Scope]int
}

func (c *countingTypes) EnsureEventTypes(_ context.Context, s hookd.Scope, _ []*hookd.EventType) error {
	c.calls[s]++
	return nil
}

func TestCatalogEnsuresOncePerScope(t *testing.T) {
	t.Parallel()
	svc := &countingTypes{calls: map[hookd.Scope]int{}}
	c := NewCatalog(svc, []*hookd.EventType{{Name: "A.b"}})
	a := hookd.Scope{TenantID: "t1", Mode: hookd.ModeLive}
	b := hookd.Scope{TenantID: "t1", Mode: hookd.ModeTest}
	for range 3 {
		for _, s := range []hookd.Scope{a, b} {
			if err := c.Ensure(context.Background(), s); err != nil {
				t.Fatal(err)
			}
		}
	}
	if svc.calls[a] != 1 || svc.calls[b] != 1 {
		t.Errorf("EnsureEventTypes calls = %v, want one per scope", svc.calls)
	}
}

// FuzzUnmarshal checks that any body decodes or fails with a domain error,
// never a panic or an unexpected error.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{`{"name": "a"}`, `{"count": "x"}`, `{`, `[]`, "{\n\"a\":\n", `{} {}`, ``} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		var v struct {
			Name  string
			Count int
			Tags  []string
		}
		err := Unmarshal([]byte(s), &v)
		if err != nil && hookd.ErrorCode(err) == hookd.EINTERNAL {
			t.Fatalf("Unmarshal(%q) = %v, not a domain error", s, err)
		}
	})
}
