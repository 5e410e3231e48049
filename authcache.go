package hookd

import (
	"crypto/sha256"
	"sync"
	"time"
)

// Defaults of the authentication cache.
const (
	DefaultAuthCacheTTL  = time.Second
	DefaultAuthCacheSize = 4096
)

// authCache remembers, for a second, who the keys that authenticated are,
// so that a producer publishing many events does not cost a database query
// per request. Only successes are kept: an unknown key is looked up every
// time, and cannot fill the cache. A revocation or a tenant's deletion
// clears it at once on the instance that made it, and on the others when
// they hear of the change (Services.Forget, from PostgreSQL's NOTIFY); the
// TTL bounds what a change made elsewhere costs otherwise (the CLI writing
// the SQLite file of a running server, a missed notification).
type authCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[[sha256.Size]byte]authEntry
	// refs maps a tenant reference (id or uid) that an operator key acted
	// as to the tenant's id, so that acting as a tenant costs no query per
	// request either. A deletion clears it with the keys.
	refs map[string]refEntry
}

type refEntry struct {
	tenantID string
	expires  time.Time
}

type authEntry struct {
	caller  Caller
	expires time.Time
}

// newAuthCache returns a cache, or nil (no caching) when ttl is negative.
func newAuthCache(ttl time.Duration, size int, now func() time.Time) *authCache {
	if ttl < 0 {
		return nil
	}
	if ttl == 0 {
		ttl = DefaultAuthCacheTTL
	}
	if size <= 0 {
		size = DefaultAuthCacheSize
	}
	return &authCache{ttl: ttl, max: size, now: now, m: make(map[[sha256.Size]byte]authEntry), refs: make(map[string]refEntry)}
}

func (c *authCache) get(k [sha256.Size]byte) (Caller, bool) {
	if c == nil {
		return Caller{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return Caller{}, false
	}
	if !c.now().Before(e.expires) {
		delete(c.m, k)
		return Caller{}, false
	}
	return e.caller, true
}

func (c *authCache) put(k [sha256.Size]byte, caller Caller) {
	if c == nil {
		return
	}
	now := c.now()
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.expires) {
				delete(c.m, k)
			}
		}
		if len(c.m) >= c.max {
			clear(c.m) // many live keys at once: start over rather than track an LRU
		}
	}
	c.m[k] = authEntry{caller: caller, expires: now.Add(c.ttl)}
}

// tenantOf returns the tenant id a reference resolved to within the TTL.
func (c *authCache) tenantOf(ref string) (string, bool) {
	if c == nil {
		return "", false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.refs[ref]
	if !ok || !c.now().Before(e.expires) {
		return "", false
	}
	return e.tenantID, true
}

// putTenant remembers what ref resolved to.
func (c *authCache) putTenant(ref, tenantID string) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.refs) >= c.max {
		clear(c.refs)
	}
	c.refs[ref] = refEntry{tenantID: tenantID, expires: c.now().Add(c.ttl)}
}

// forget empties the cache.
func (c *authCache) forget() {
	if c == nil {
		return
	}
	c.mu.Lock()
	clear(c.m)
	clear(c.refs)
	c.mu.Unlock()
}
