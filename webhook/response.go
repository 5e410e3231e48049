package webhook

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// maxRetryAfter bounds a receiver's Retry-After before the dispatcher clamps
// it, so that absurd values cannot overflow a time.Duration.
const maxRetryAfter = 30 * 24 * time.Hour

// parseRetryAfter reads delta-seconds or an HTTP-date relative to now. It
// returns 0 for an absent, malformed or past value: no hint.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseInt(v, 10, 64); err == nil {
		if secs <= 0 {
			return 0
		}
		if secs > int64(maxRetryAfter/time.Second) {
			return maxRetryAfter
		}
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// excerpt makes stored text of a response prefix: valid UTF-8 (invalid
// bytes become '?', a rune cut by the cap is dropped) without NUL bytes,
// which PostgreSQL text refuses. It never grows the input.
func excerpt(b []byte) string {
	if utf8.Valid(b) && bytes.IndexByte(b, 0) < 0 {
		return string(b)
	}
	out := make([]byte, 0, len(b))
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			if !utf8.FullRune(b[i:]) {
				return string(out) // the cap cut this rune
			}
			out = append(out, '?')
		case r != 0:
			out = append(out, b[i:i+size]...)
		}
		i += max(size, 1)
	}
	return string(out)
}
