package hookd_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

// FirstIDAt(t) sorts after every id made before t's millisecond and not
// after any made in it or later.
func TestFirstIDAt(t *testing.T) {
	at := time.UnixMilli(1_800_000_000_000)
	first := hookd.FirstIDAt("dlv", at)
	for i := 0; i < 1000; i++ {
		if before := hookd.NewIDAt("dlv", at.Add(-time.Millisecond)); before >= first {
			t.Fatalf("id made 1 ms before, %s, is not before FirstIDAt %s", before, first)
		}
		if in := hookd.NewIDAt("dlv", at); in < first {
			t.Fatalf("id made at the millisecond, %s, is before FirstIDAt %s", in, first)
		}
		if later := hookd.NewIDAt("dlv", at.Add(time.Duration(i)*time.Hour)); later < first {
			t.Fatalf("id made %d h later, %s, is before FirstIDAt %s", i, later, first)
		}
	}
}

func TestNewIDMonotonicWithinMillisecond(t *testing.T) {
	at := time.UnixMilli(1_800_000_000_000)
	prev := hookd.NewIDAt("wh", at)
	for i := 0; i < 10000; i++ {
		id := hookd.NewIDAt("wh", at)
		if id <= prev {
			t.Fatalf("id %d made in the same millisecond sorts before the previous: %q <= %q", i, id, prev)
		}
		prev = id
	}
}

func TestHTTPStatus(t *testing.T) {
	for code, want := range map[string]int{
		hookd.EINVALID: 422, hookd.EMALFORMED: 400, hookd.EUNAUTHORIZED: 401, hookd.EFORBIDDEN: 403,
		hookd.ENOTFOUND: 404, hookd.ECONFLICT: 409, hookd.ETOOLARGE: 413, hookd.EUNSUPPORTED: 415,
		hookd.ERATELIMITED: 429, hookd.EUNAVAILABLE: 503, hookd.EINTERNAL: 500, "": 500, "something else": 500,
	} {
		if got := hookd.HTTPStatus(code); got != want {
			t.Errorf("HTTPStatus(%q) = %d, want %d (%s)", code, got, want, http.StatusText(want))
		}
	}
}
