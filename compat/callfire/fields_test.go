package callfire

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSelection(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, want string
		paths    []string
	}{
		{"id,name", "id,name", []string{"id", "name"}},
		{" items( id , name ) , totalCount ", "items(id,name),totalCount", []string{"items.id", "items.name", "totalCount"}},
		{"contact.id,contact.homePhone", "contact(id,homePhone)", []string{"contact.id", "contact.homePhone"}},
		{"a(b),a(c)", "a(b,c)", []string{"a.b", "a.c"}},
		{"a(b),a", "a", []string{"a"}},
		{"a(b(c,d))", "a(b(c,d))", []string{"a.b.c", "a.b.d"}},
	}
	for _, tt := range tests {
		sel, err := parseSelection("fields", tt.in)
		if err != nil {
			t.Errorf("parseSelection(%q): %v", tt.in, err)
			continue
		}
		if got := sel.String(); got != tt.want {
			t.Errorf("parseSelection(%q) = %s, want %s", tt.in, got, tt.want)
		}
		if diff := cmp.Diff(tt.paths, sel.paths()); diff != "" {
			t.Errorf("parseSelection(%q).paths() (-want +got):\n%s", tt.in, diff)
		}
	}
	for _, bad := range []string{"(", "a(", "a)", "a,", ",a", "a()", "a..b", ".a", "a b", "a(b)(c)", "a;b"} {
		if _, err := parseSelection("fields", bad); err == nil {
			t.Errorf("parseSelection(%q) succeeded, want an error", bad)
		}
	}
}

func TestProject(t *testing.T) {
	t.Parallel()
	doc := map[string]any{
		"items": []any{map[string]any{"id": 1, "name": "a", "x": map[string]any{"y": 1, "z": 2}}},
		"total": 1,
	}
	sel, _ := parseSelection("fields", "items(id,x(z))")
	want := map[string]any{"items": []any{map[string]any{"id": 1, "x": map[string]any{"z": 2}}}}
	if diff := cmp.Diff(want, sel.project(doc)); diff != "" {
		t.Errorf("project (-want +got):\n%s", diff)
	}
}

// FuzzParseSelection checks that the parser never panics and that what it
// accepts prints back to an expression that parses to the same selection.
func FuzzParseSelection(f *testing.F) {
	for _, s := range []string{"id,name", "items(id,name),totalCount", "a.b(c)", "a((", "x(y(z(w)))", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sel, err := parseSelection("fields", s)
		if err != nil || sel == nil {
			return
		}
		again, err := parseSelection("fields", sel.String())
		if err != nil {
			t.Fatalf("%q printed as %q, which does not parse: %v", s, sel.String(), err)
		}
		if again.String() != sel.String() {
			t.Fatalf("%q printed as %q, which reparses as %q", s, sel.String(), again.String())
		}
		_ = sel.paths()
	})
}
