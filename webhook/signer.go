package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"strconv"
	"sync"
)

// signer is an HMAC-SHA256 keyed with one secret, with the scratch space
// that signing needs: handed through an interface, a buffer on the stack
// would escape to the heap on every signature.
type signer struct {
	mac     hash.Hash
	scratch []byte
}

func newSigner(key []byte) *signer {
	return &signer{mac: hmac.New(sha256.New, key), scratch: make([]byte, 0, 128)}
}

// appendSignature appends "v1,<base64 HMAC-SHA256 of id.ts.body>" to dst.
func (s *signer) appendSignature(dst []byte, id string, ts int64, body []byte) []byte {
	s.mac.Reset()
	b := append(s.scratch[:0], id...)
	b = append(b, '.')
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, '.')
	s.mac.Write(b)
	s.mac.Write(body)
	sum := s.mac.Sum(b[:0])
	s.scratch = sum[:0] // keep a buffer that an id longer than 128 bytes grew
	dst = append(dst, "v1,"...)
	return base64.StdEncoding.AppendEncode(dst, sum)
}

// maxCachedSecrets bounds macCache: beyond it the cache starts over.
const maxCachedSecrets = 4096

// macCache keeps, per secret, a pool of signers keyed with it, so that a
// send neither decodes the secret nor sets up an HMAC (two SHA-256 states
// and their pads). It holds secrets in memory only as the jobs that carry
// them already do.
type macCache struct {
	mu    sync.Mutex
	pools map[string]*sync.Pool
}

// get returns a signer for secret, or ErrBadSecret's error; put it back
// with put when done.
func (c *macCache) get(secret string) (*signer, error) {
	c.mu.Lock()
	p := c.pools[secret]
	c.mu.Unlock()
	if p != nil {
		if s, ok := p.Get().(*signer); ok {
			return s, nil
		}
	}
	key, err := DecodeSecret(secret)
	if err != nil {
		return nil, err
	}
	return newSigner(key), nil
}

// put returns a signer made by get for the same secret.
func (c *macCache) put(secret string, s *signer) {
	c.mu.Lock()
	p := c.pools[secret]
	if p == nil {
		if c.pools == nil || len(c.pools) >= maxCachedSecrets {
			c.pools = make(map[string]*sync.Pool)
		}
		p = &sync.Pool{}
		c.pools[secret] = p
	}
	c.mu.Unlock()
	p.Put(s)
}
