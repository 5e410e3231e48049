package webhook

import (
	"sync"

	"github.com/hookd/hookd"
)

// envelopeCache keeps the envelope bodies of recent events, so that the
// deliveries of one event to many webhooks (without a fields projection)
// build and allocate its body once. Jobs of one claim share their *Event,
// which is the key; bodies are never modified once built.
type envelopeCache struct {
	mu    sync.Mutex
	m     map[*hookd.Event][]byte
	bytes int
}

const (
	// envelopeCacheBytes bounds the bodies kept; past it the cache starts
	// over. The events they belong to stay reachable through the keys
	// until then, so the memory held is about twice this.
	envelopeCacheBytes = 8 << 20
	// envelopeCacheMax is the largest body worth keeping.
	envelopeCacheMax = 256 << 10
)

// body returns the envelope of e with its whole data.
func (c *envelopeCache) body(e *hookd.Event) []byte {
	c.mu.Lock()
	b, ok := c.m[e]
	c.mu.Unlock()
	if ok {
		return b
	}
	b = appendEnvelope(make([]byte, 0, len(e.Data)+len(e.ID)+len(e.Type)+64), e, e.Data)
	if len(b) > envelopeCacheMax {
		return b
	}
	c.mu.Lock()
	if c.m == nil || c.bytes+len(b) > envelopeCacheBytes {
		c.m, c.bytes = make(map[*hookd.Event][]byte, 1024), 0
	}
	c.m[e] = b
	c.bytes += len(b)
	c.mu.Unlock()
	return b
}
