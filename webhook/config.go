// Package webhook makes the outbound HTTP request of a delivery: the
// Standard Webhooks envelope and signatures, an SSRF-checked dialer, timeouts,
// a capped response read, and the classification of what happened into a
// hookd.Attempt. Its Client implements hookd.Sender.
package webhook

import (
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// Defaults for a zero Config field.
const (
	DefaultConnectTimeout      = 5 * time.Second
	DefaultRequestTimeout      = 15 * time.Second
	DefaultMaxResponseRead     = 64 << 10
	DefaultMaxIdleConnsPerHost = 256
	DefaultIdleConnTimeout     = 90 * time.Second
)

// Config tunes a Client. Zero fields take the defaults above.
type Config struct {
	// ConnectTimeout bounds the TCP connect and the TLS handshake.
	ConnectTimeout time.Duration
	// RequestTimeout bounds the whole attempt: connect, request, response
	// headers and the capped body read.
	RequestTimeout time.Duration
	// MaxResponseRead is how much of a response body is read (and so drained
	// for connection reuse); only hookd.MaxResponseExcerpt of it is kept.
	MaxResponseRead int64
	// Policy decides which resolved addresses may be dialled.
	Policy hookd.NetPolicy
	// UserAgent defaults to "hookd/" + hookd.Version.
	UserAgent string
	// MaxIdleConnsPerHost is the keep-alive pool kept for each receiver. The
	// dispatcher sends many concurrent requests to one host, so it is large.
	MaxIdleConnsPerHost int
	// IdleConnTimeout is how long a kept-alive connection may wait for its
	// next delivery before the client closes it.
	IdleConnTimeout time.Duration
	// Now is the clock; time.Now by default.
	Now func() time.Time
}

func (c Config) withDefaults() Config {
	if c.ConnectTimeout == 0 {
		c.ConnectTimeout = DefaultConnectTimeout
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.MaxResponseRead == 0 {
		c.MaxResponseRead = DefaultMaxResponseRead
	}
	if c.UserAgent == "" {
		c.UserAgent = "hookd/" + hookd.Version
	}
	if c.MaxIdleConnsPerHost == 0 {
		c.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	if c.IdleConnTimeout == 0 {
		c.IdleConnTimeout = DefaultIdleConnTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate returns EINVALID naming the first bad field. Zero fields are
// valid: they mean the default.
func (c Config) Validate() error {
	switch {
	case c.ConnectTimeout < 0:
		return hookd.Errorf(hookd.EINVALID, "webhook: connect timeout must not be negative, got %v", c.ConnectTimeout)
	case c.RequestTimeout < 0:
		return hookd.Errorf(hookd.EINVALID, "webhook: request timeout must not be negative, got %v", c.RequestTimeout)
	case c.MaxResponseRead < 0:
		return hookd.Errorf(hookd.EINVALID, "webhook: max response read must not be negative, got %d", c.MaxResponseRead)
	case c.MaxIdleConnsPerHost < 0:
		return hookd.Errorf(hookd.EINVALID, "webhook: max idle connections per host must not be negative, got %d", c.MaxIdleConnsPerHost)
	case c.IdleConnTimeout < 0:
		return hookd.Errorf(hookd.EINVALID, "webhook: idle connection timeout must not be negative, got %v", c.IdleConnTimeout)
	case strings.ContainsAny(c.UserAgent, "\r\n\x00"):
		return hookd.Errorf(hookd.EINVALID, "webhook: user agent must not contain line breaks")
	}
	for i, p := range c.Policy.Allow {
		if !p.IsValid() {
			return hookd.Errorf(hookd.EINVALID, "webhook: allowed network %d is not a valid prefix", i+1)
		}
	}
	return nil
}
