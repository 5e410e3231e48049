package callfire

import (
	"strings"

	"github.com/hookd/hookd"
)

// A selection is CallFire's partial-response syntax, as in
// fields=id,name or fields=items(id,name),totalCount: a list of names, each
// optionally followed by a parenthesised selection of its own properties.
// A dot is shorthand for one level of nesting (a.b is a(b)).
type selection []selected

type selected struct {
	name string
	sub  selection // nil: the whole value
}

// maxSelectionDepth bounds nesting so that a hostile query stays cheap.
const maxSelectionDepth = 16

// parseSelection parses a fields expression. The empty string selects
// everything (nil). Errors are EINVALID and name param.
func parseSelection(param, s string) (selection, error) {
	if strings.TrimSpace(s) == "" {
		return nil, nil
	}
	p := selectionParser{s: s, param: param}
	sel, err := p.list(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.i < len(p.s) {
		return nil, p.errorf("unexpected %q", p.s[p.i])
	}
	return sel, nil
}

type selectionParser struct {
	s     string
	i     int
	param string
}

func (p *selectionParser) errorf(format string, args ...any) error {
	return hookd.Errorf(hookd.EINVALID, "%s: "+format+" at character %d of %q", append([]any{p.param}, append(args, p.i+1, p.s)...)...)
}

func (p *selectionParser) skipSpace() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *selectionParser) list(depth int) (selection, error) {
	if depth > maxSelectionDepth {
		return nil, p.errorf("nested deeper than %d levels", maxSelectionDepth)
	}
	var out selection
	for {
		p.skipSpace()
		start := p.i
		for p.i < len(p.s) && isNameByte(p.s[p.i]) {
			p.i++
		}
		if p.i == start {
			if p.i == len(p.s) {
				return nil, p.errorf("a field name is missing")
			}
			return nil, p.errorf("a field name is expected, not %q", p.s[p.i])
		}
		item, err := p.dotted(p.s[start:p.i])
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == '(' {
			p.i++
			sub, err := p.list(depth + 1)
			if err != nil {
				return nil, err
			}
			p.skipSpace()
			if p.i >= len(p.s) || p.s[p.i] != ')' {
				return nil, p.errorf("')' is missing")
			}
			p.i++
			item.innermost().sub = sub
		}
		out = out.merge(item)
		p.skipSpace()
		if p.i < len(p.s) && p.s[p.i] == ',' {
			p.i++
			continue
		}
		return out, nil
	}
}

// dotted turns a.b.c into a(b(c)).
func (p *selectionParser) dotted(name string) (selected, error) {
	parts := strings.Split(name, ".")
	for _, part := range parts {
		if part == "" {
			return selected{}, p.errorf("%q is not a field name", name)
		}
	}
	item := selected{name: parts[len(parts)-1]}
	for i := len(parts) - 2; i >= 0; i-- {
		item = selected{name: parts[i], sub: selection{item}}
	}
	return item, nil
}

func (s *selected) innermost() *selected {
	for s.sub != nil {
		s = &s.sub[0]
	}
	return s
}

func isNameByte(c byte) bool {
	return c == '_' || c == '-' || c == '.' || c == '$' ||
		('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
}

// merge adds item, combining it with an earlier entry of the same name:
// a(b),a(c) is a(b,c), and a whole a absorbs any sub-selection of a.
func (sel selection) merge(item selected) selection {
	for i := range sel {
		if sel[i].name != item.name {
			continue
		}
		switch {
		case sel[i].sub == nil:
		case item.sub == nil:
			sel[i].sub = nil
		default:
			for _, c := range item.sub {
				sel[i].sub = sel[i].sub.merge(c)
			}
		}
		return sel
	}
	return append(sel, item)
}

func (sel selection) find(name string) (selected, bool) {
	for _, s := range sel {
		if s.name == name {
			return s, true
		}
	}
	return selected{}, false
}

// project keeps the selected properties of a decoded JSON value. Arrays are
// projected element by element; scalars pass through.
func (sel selection) project(v any) any {
	if sel == nil {
		return v
	}
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(sel))
		for _, s := range sel {
			if x, ok := v[s.name]; ok {
				out[s.name] = s.sub.project(x)
			}
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = sel.project(x)
		}
		return out
	}
	return v
}

// paths flattens a selection into dot-separated paths, in order:
// a(b,c),d is a.b, a.c, d.
func (sel selection) paths() []string {
	var out []string
	for _, s := range sel {
		if s.sub == nil {
			out = append(out, s.name)
			continue
		}
		for _, p := range s.sub.paths() {
			out = append(out, s.name+"."+p)
		}
	}
	return out
}

// String renders the selection back in the partial-response syntax.
func (sel selection) String() string {
	var b strings.Builder
	for i, s := range sel {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s.name)
		if s.sub != nil {
			b.WriteByte('(')
			b.WriteString(s.sub.String())
			b.WriteByte(')')
		}
	}
	return b.String()
}
