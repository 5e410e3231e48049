package hookd_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

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
