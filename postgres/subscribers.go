package postgres

import (
	"bytes"
	"sync"
	"time"

	"github.com/hookd/hookd"
)

// A publish needs its scopes' enabled webhooks before it can write, and
// reading them took a round trip of its own: under the latency benchmark's
// load on PostgreSQL, half of a publish's time from BEGIN to COMMIT (median
// 2–4 ms of 7.4) went to that read, most of it waiting for the backend and
// then hookd to get a core. So the store keeps each scope's subscribers
// from the last read, with a digest of the rows they came from, and a
// publish whose scopes are all kept sends one pipeline: BEGIN, a check that
// each kept digest is still the scope's, the writes, COMMIT — without
// looking its event ids and idempotency keys up (see publishOnce). A
// webhook created, changed or deleted on any instance changes the digest,
// the check fails the transaction before it writes, and the publish is
// tried again the old way, reading the webhooks afresh: what a publish sees
// is what it saw before the cache, the webhooks committed before it
// checked.

// scopeDigest is the SHA-256 of what a publish reads of the enabled
// webhooks of the scope (s.t, s.m), in id order; of no webhooks, of the
// empty string. The load and the check compute it with this one
// expression, so they cannot disagree on the format. The expiry is written
// as epoch seconds, which no session setting changes.
const scopeDigest = `SELECT sha256(convert_to(coalesce(string_agg(d.id || ' ' || d.event_types::text || ' ' ||
		coalesce(encode(d.filter, 'hex'), '-') || ' ' || d.status || ' ' || coalesce(extract(epoch FROM d.expires_at)::text, '-'),
		',' ORDER BY d.id), ''), 'UTF8'))
	FROM webhooks d WHERE d.tenant_id = s.t AND d.mode = s.m AND d.enabled`

// loadSubscribersSQL reads the enabled webhooks of the scopes and each
// scope's digest, in one statement so that both come from one snapshot
// (the digest once per scope, laterally: in the select list it would be
// computed again for each webhook). A scope without webhooks comes back as
// one row with a NULL id. The rows are put in id order by load: an ORDER
// BY here would, with sorts pinned off, walk the whole primary key rather
// than sort a few rows.
const loadSubscribersSQL = `SELECT s.t, s.m, g.digest, w.id, w.event_types, w.filter, w.status, w.expires_at
	FROM unnest($1::text[], $2::text[]) AS s (t, m)
	CROSS JOIN LATERAL (` + scopeDigest + `) AS g (digest)
	LEFT JOIN webhooks w ON w.tenant_id = s.t AND w.mode = s.m AND w.enabled`

// checkSubscribersSQL fails the transaction (division by zero: raceSQLState,
// as insertEventsSQL does) when a scope's digest is no longer the one its
// kept subscribers were read with.
const checkSubscribersSQL = `SELECT 1 / (count(*) = 0)::int
	FROM unnest($1::text[], $2::text[], $3::bytea[]) AS s (t, m, digest)
	WHERE (` + scopeDigest + `) IS DISTINCT FROM s.digest`

// maxKeptScopes and maxKeptSubscribers bound what is kept: a producer with
// 100,000 tenants publishes to any of them at the cost of one more round
// trip once the kept ones are others, rather than keep them all. A scope
// with more webhooks than maxKeptSubscribers is never kept.
const (
	maxKeptScopes      = 10_000
	maxKeptSubscribers = 50_000
)

// subscriberCache is the kept subscribers, by scope. Safe for concurrent use.
type subscriberCache struct {
	mu     sync.Mutex
	scopes map[hookd.Scope]keptScope
	subs   int // kept subscribers, of all scopes
}

type keptScope struct {
	digest []byte
	subs   []hookd.Subscriber // in id order
}

// get returns the kept subscribers of every scope as of now, with their
// digests, or ok false if one of them is not kept.
func (c *subscriberCache) get(scopes []hookd.Scope, now time.Time) (subs map[hookd.Scope][]hookd.Subscriber, digests [][]byte, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	subs = make(map[hookd.Scope][]hookd.Subscriber, len(scopes))
	digests = make([][]byte, len(scopes))
	for i, s := range scopes {
		k, found := c.scopes[s]
		if !found {
			return nil, nil, false
		}
		at := make([]hookd.Subscriber, len(k.subs))
		for j, w := range k.subs {
			at[j] = w.At(now)
		}
		subs[s], digests[i] = at, k.digest
	}
	return subs, digests, true
}

// put keeps a scope's subscribers, read with digest.
func (c *subscriberCache) put(s hookd.Scope, digest []byte, subs []hookd.Subscriber) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.scopes == nil {
		c.scopes = map[hookd.Scope]keptScope{}
	}
	if k, found := c.scopes[s]; found && bytes.Equal(k.digest, digest) {
		return
	}
	c.drop(s)
	if len(subs) > maxKeptSubscribers {
		return
	}
	for other := range c.scopes { // any: map order is random
		if len(c.scopes) < maxKeptScopes && c.subs+len(subs) <= maxKeptSubscribers {
			break
		}
		c.drop(other)
	}
	c.scopes[s] = keptScope{digest: digest, subs: subs}
	c.subs += len(subs)
}

// forget drops the scopes, so that the next publish to them reads them.
func (c *subscriberCache) forget(scopes []hookd.Scope) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, s := range scopes {
		c.drop(s)
	}
}

func (c *subscriberCache) drop(s hookd.Scope) {
	if k, found := c.scopes[s]; found {
		c.subs -= len(k.subs)
		delete(c.scopes, s)
	}
}
