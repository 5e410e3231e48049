// Package hookd holds the domain of the hookd webhook service: its types
// (tenants, API keys, event types, webhooks, events, deliveries, attempts),
// the services that hold every rule (validation, derived state, keys,
// retry and recover, the catalog; services.go), the narrow store interfaces
// that database adapters implement (store.go), the error codes every layer
// speaks, and the pure rules that all adapters share (event-type and filter
// matching, the retry policy).
//
// It imports nothing but the standard library. Adapters are named after the
// technology they wrap (sqlite, postgres, httpapi, webhook) and only cmd/hookd
// wires them together.
package hookd

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// Version is the version reported in the User-Agent of deliveries and by
// `hookd version`. cmd/hookd may override it at link time.
var Version = "0.1.0"

// Mode separates live from test data, as in Stripe: rows created with a key of
// one mode are invisible to keys of the other.
type Mode string

const (
	ModeLive Mode = "live"
	ModeTest Mode = "test"
)

// Valid reports whether m is a known mode.
func (m Mode) Valid() bool { return m == ModeLive || m == ModeTest }

// ParseMode returns the mode named s, or EINVALID.
func ParseMode(s string) (Mode, error) {
	m := Mode(s)
	if !m.Valid() {
		return "", Errorf(EINVALID, "mode must be %q or %q, got %q", ModeLive, ModeTest, s)
	}
	return m, nil
}

// Scope is what an API key grants: one tenant, one mode. Every read and write
// of tenant data takes a Scope, and stores filter every query by it, so that
// another tenant's row answers ENOTFOUND exactly like a missing one.
type Scope struct {
	TenantID string
	Mode     Mode
}

// crockford is Crockford's base32 alphabet in lower case: ids sort by time
// as plain strings, which lets cursors be ids.
const crockford = "0123456789abcdefghjkmnpqrstvwxyz"

// NewID returns prefix + "_" + a 26-character id: 48 bits of milliseconds since
// the epoch followed by 80 random bits, so ids made later sort later.
func NewID(prefix string) string {
	return NewIDAt(prefix, time.Now())
}

// NewIDAt is NewID at a given time. Within one process, ids made in the
// same millisecond still sort in the order they were made: the random part
// of the previous id is incremented instead of drawn again (as in ULID's
// monotonic mode), so lists ordered by id are ordered by creation.
func NewIDAt(prefix string, t time.Time) string {
	var b [16]byte
	ms := uint64(t.UnixMilli())
	idState.Lock()
	if ms == idState.ms {
		// increment the 80-bit random part, carrying
		for i := 15; i >= 6; i-- {
			idState.last[i]++
			if idState.last[i] != 0 {
				break
			}
		}
	} else {
		idState.ms = ms
		if _, err := rand.Read(idState.last[6:]); err != nil {
			panic(fmt.Sprintf("crypto/rand failed: %v", err)) // the runtime cannot recover from this either
		}
		idState.last[6] &= 0x7f // leave room to increment without wrapping
	}
	b = idState.last
	idState.Unlock()
	binary.BigEndian.PutUint64(b[0:8], ms<<16|uint64(binary.BigEndian.Uint16(b[6:8])))
	return prefix + "_" + encodeID(b)
}

// FirstIDAt is the least id NewIDAt(prefix, t) can return: every id made
// before t's millisecond sorts before it, every id made from then on after
// it or equal. A range of ids is a range of creation times.
func FirstIDAt(prefix string, t time.Time) string {
	var b [16]byte
	binary.BigEndian.PutUint64(b[0:8], uint64(t.UnixMilli())<<16)
	return prefix + "_" + encodeID(b)
}

// encodeID writes 128 bits as 26 base32 characters (130 bits, top two bits
// zero).
func encodeID(b [16]byte) string {
	var out [26]byte
	hi := binary.BigEndian.Uint64(b[0:8])
	lo := binary.BigEndian.Uint64(b[8:16])
	for i := 25; i >= 0; i-- {
		out[i] = crockford[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(out[:])
}

// idState is the last id's millisecond and random part. It is process-wide
// by nature: monotonic ids need one sequence per process.
var idState struct {
	sync.Mutex
	ms   uint64
	last [16]byte
}

// Page is the offset/limit half of a list query. Cursor, when set, takes
// precedence over Offset: it is the id of the last row of the previous page.
type Page struct {
	Limit  int
	Offset int
	Cursor string
}

// DefaultPageLimit and MaxPageLimit bound every list.
const (
	DefaultPageLimit = 50
	MaxPageLimit     = 1000
)

// Normalize applies the defaults and bounds, or returns EINVALID.
func (p *Page) Normalize() error {
	if p.Limit < 0 {
		return Errorf(EINVALID, "limit must be between 1 and %d", MaxPageLimit)
	}
	if p.Limit == 0 {
		p.Limit = DefaultPageLimit
	}
	if p.Limit > MaxPageLimit {
		return Errorf(EINVALID, "limit must be between 1 and %d", MaxPageLimit)
	}
	if p.Offset < 0 {
		return Errorf(EINVALID, "offset must not be negative")
	}
	return nil
}
