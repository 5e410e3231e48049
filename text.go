package hookd

import (
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
