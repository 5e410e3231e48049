package httpapi

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// Defaults of the authentication cache.
const (
	DefaultAuthCacheTTL  = 5 * time.Second
	DefaultAuthCacheSize = 4096
)

// authCache remembers, for a few seconds, the scope of keys that
// authenticated, so that a producer publishing many events does not cost a
// database query per request. Only successes are kept: an unknown key is
// looked up every time, and cannot fill the cache. The price is that a
// revoked key keeps working until its entry expires (at most the TTL).
type authCache struct {
	ttl time.Duration
	max int
	now func() time.Time

	mu sync.Mutex
	m  map[[sha256.Size]byte]authEntry
}

type authEntry struct {
	scope   hookd.Scope
	expires time.Time
}

// newAuthCache returns a cache, or nil (no caching) when ttl is negative.
func newAuthCache(ttl time.Duration, size int, now func() time.Time) *authCache {
	if ttl < 0 {
		return nil
	}
	return &authCache{ttl: ttl, max: size, now: now, m: make(map[[sha256.Size]byte]authEntry)}
}

// The map is keyed by the key's hash so that the process does not keep the
// keys themselves.
func cacheKey(key string) [sha256.Size]byte { return sha256.Sum256([]byte(key)) }

func (c *authCache) get(k [sha256.Size]byte) (hookd.Scope, bool) {
	if c == nil {
		return hookd.Scope{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return hookd.Scope{}, false
	}
	if !c.now().Before(e.expires) {
		delete(c.m, k)
		return hookd.Scope{}, false
	}
	return e.scope, true
}

func (c *authCache) put(k [sha256.Size]byte, s hookd.Scope) {
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
	c.m[k] = authEntry{scope: s, expires: now.Add(c.ttl)}
}
