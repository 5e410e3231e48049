package hookd

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"
)

// ValidateText refuses a value that not every store can keep as text:
// invalid UTF-8 or a NUL character (PostgreSQL's text and jsonb refuse
// both, SQLite would keep them). Checking here gives both stores the same
// answer, and data stays movable between them.
func ValidateText(field, s string) error {
	if !StorableText(s) {
		return Errorf(EINVALID, "%s must be valid UTF-8 without NUL characters (\\u0000)", field)
	}
	return nil
}

// StorableText reports whether every store can keep s as text.
func StorableText(s string) bool { return strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) }

// ValidateTarget refuses a request path or query parameter that is not
// text (invalid UTF-8 or NUL, %ff or %00 escaped): one store would keep it
// and the other refuse it, so every API refuses it before a store sees it.
// The path is EMALFORMED, a query parameter EINVALID naming it.
func ValidateTarget(u *url.URL) error {
	if !StorableText(u.Path) {
		return Errorf(EMALFORMED, "the path must be valid UTF-8 without NUL characters (%%00)")
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil {
		return Errorf(EMALFORMED, "the query string is malformed: %v", err)
	}
	for k, vs := range q {
		if !StorableText(k) {
			return Errorf(EINVALID, "query parameter names must be valid UTF-8 without NUL characters (%%00)")
		}
		for _, v := range vs {
			if !StorableText(v) {
				return Errorf(EINVALID, "query parameter %s must be valid UTF-8 without NUL characters (%%00)", k)
			}
		}
	}
	return nil
}

// BadJSONText finds the first string of a JSON document, a key or a value,
// that is not Unicode text: invalid UTF-8, or a \u escape of a lone
// surrogate (\ud800), both of which decoders silently replace with U+FFFD.
// It returns where that string is ("url", "data.name", "event_types[2]"),
// or false when every string is text. A document that is not well-formed
// is scanned only as far as it is: saying where it breaks is the
// decoder's business.
func BadJSONText(doc []byte) (path string, found bool) {
	s := jsonTextScan{b: doc}
	s.value("")
	if s.found && s.path == "" {
		s.path = "the document"
	}
	return s.path, s.found
}

// maxJSONTextDepth is where BadJSONText stops descending; decoders refuse
// deeper documents.
const maxJSONTextDepth = 10000

type jsonTextScan struct {
	b      []byte
	i      int
	depth  int
	path   string
	found  bool
	broken bool
}

func (s *jsonTextScan) done() bool { return s.found || s.broken || s.i >= len(s.b) }

func (s *jsonTextScan) space() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// next reports whether the next byte, after space, is c, and consumes it.
func (s *jsonTextScan) next(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *jsonTextScan) value(path string) {
	s.space()
	if s.done() {
		return
	}
	switch s.b[s.i] {
	case '{':
		s.container(path, '}', func(n int) string {
			where := "a key"
			if path != "" {
				where = "a key of " + path
			}
			key := s.str(where)
			if !s.next(':') {
				s.broken = true
			}
			if path == "" {
				return key
			}
			return path + "." + key
		})
	case '[':
		s.container(path, ']', func(n int) string { return fmt.Sprintf("%s[%d]", path, n) })
	case '"':
		s.str(path)
	default: // a number, true, false or null
		for s.i < len(s.b) && !strings.ContainsRune(",]} \t\r\n", rune(s.b[s.i])) {
			s.i++
		}
	}
}

// container scans an object or array from its opening byte; member reads
// what precedes the n-th value (an object's key) and returns the value's path.
func (s *jsonTextScan) container(path string, closing byte, member func(n int) string) {
	s.i++
	if s.depth++; s.depth > maxJSONTextDepth {
		s.broken = true
		return
	}
	defer func() { s.depth-- }()
	if s.next(closing) {
		return
	}
	for n := 0; !s.done(); n++ {
		s.space()
		p := member(n)
		if s.done() {
			return
		}
		s.value(p)
		if s.next(',') {
			continue
		}
		if !s.next(closing) {
			s.broken = true
		}
		return
	}
}

// str scans a string at s.i and returns its text (to name a key by); a
// string that is not text is found, reported as where.
func (s *jsonTextScan) str(where string) string {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		s.broken = true
		return ""
	}
	s.i++
	start, escaped := s.i, false
	bad := func() string {
		s.found, s.path = true, where
		return ""
	}
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if !escaped {
				return string(raw)
			}
			var text string
			if json.Unmarshal(s.b[start-1:s.i], &text) != nil {
				s.broken = true
			}
			return text
		case c == '\\':
			escaped = true
			if s.i+1 < len(s.b) && s.b[s.i+1] == 'u' {
				r, ok := hex4(s.b, s.i+2)
				if !ok {
					s.broken = true
					return ""
				}
				s.i += 6
				switch {
				case 0xDC00 <= r && r <= 0xDFFF:
					return bad()
				case 0xD800 <= r && r <= 0xDBFF:
					low, ok := rune(0), s.i+1 < len(s.b) && s.b[s.i] == '\\' && s.b[s.i+1] == 'u'
					if ok {
						low, ok = hex4(s.b, s.i+2)
					}
					if !ok || low < 0xDC00 || low > 0xDFFF {
						return bad()
					}
					s.i += 6
				}
				continue
			}
			s.i += 2
		case c < 0x80:
			s.i++
		default:
			r, size := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && size <= 1 {
				return bad()
			}
			s.i += size
		}
	}
	s.broken = true
	return ""
}

func hex4(b []byte, at int) (rune, bool) {
	if at+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[at : at+4] {
		switch {
		case '0' <= c && c <= '9':
			r = r<<4 | rune(c-'0')
		case 'a' <= c && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case 'A' <= c && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
