// Package verify checks, on the receiving side, that a delivery came from
// hookd: the Standard Webhooks signature headers (webhook-id,
// webhook-timestamp, webhook-signature) with a timestamp tolerance, and the
// X-CallFire-Signature of webhooks made through the CallFire API.
//
// A receiver keeps one Verifier per secret:
//
//	v, err := verify.New(os.Getenv("WEBHOOK_SECRET"))
//	…
//	body, _ := io.ReadAll(r.Body)
//	if err := v.Verify(r.Header, body); err != nil { /* 400 */ }
package verify

import (
	"crypto/hmac"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd/webhook"
)

// DefaultTolerance is how far a webhook-timestamp may be from now.
const DefaultTolerance = 5 * time.Minute

// Errors of Verify and VerifyCallFire, for errors.Is.
var (
	ErrMissingHeaders      = errors.New("missing webhook signature headers")
	ErrInvalidTimestamp    = errors.New("webhook-timestamp is not unix seconds")
	ErrTimestampTooOld     = errors.New("webhook-timestamp is too old")
	ErrTimestampTooNew     = errors.New("webhook-timestamp is too far in the future")
	ErrNoMatchingSignature = errors.New("no matching signature")
)

// Verifier verifies deliveries signed with one secret. It is safe for
// concurrent use.
type Verifier struct {
	key       []byte
	tolerance time.Duration
	now       func() time.Time
}

// Option adjusts a Verifier.
type Option func(*Verifier)

// WithTolerance sets how far the timestamp may be from now (default 5 min).
// Zero or less turns the timestamp check off, which exposes the receiver to
// replays: keep it on outside tests.
func WithTolerance(d time.Duration) Option { return func(v *Verifier) { v.tolerance = d } }

// WithClock sets the clock (default time.Now).
func WithClock(now func() time.Time) Option { return func(v *Verifier) { v.now = now } }

// New returns a Verifier for secret: a whsec_ secret's key is the base64
// after the prefix; any other secret is used as raw bytes.
func New(secret string, opts ...Option) (*Verifier, error) {
	key, err := webhook.DecodeSecret(secret)
	if err != nil {
		return nil, fmt.Errorf("verify: %w", err)
	}
	v := &Verifier{key: key, tolerance: DefaultTolerance, now: time.Now}
	for _, o := range opts {
		o(v)
	}
	return v, nil
}

// Verify checks the headers against body, the exact bytes received. It
// accepts when any of the space-separated v1 signatures matches, compared
// in constant time, and the timestamp is within the tolerance.
func (v *Verifier) Verify(header http.Header, body []byte) error {
	id := header.Get("webhook-id")
	tsText := header.Get("webhook-timestamp")
	sigs := header.Get("webhook-signature")
	if id == "" || tsText == "" || sigs == "" {
		return ErrMissingHeaders
	}
	ts, err := strconv.ParseInt(tsText, 10, 64)
	if err != nil {
		return ErrInvalidTimestamp
	}
	if v.tolerance > 0 {
		now := v.now().Unix()
		tol := int64(v.tolerance / time.Second)
		switch {
		case ts < now-tol:
			return ErrTimestampTooOld
		case ts > now+tol:
			return ErrTimestampTooNew
		}
	}
	want := webhook.AppendSignature(nil, v.key, id, ts, body)[len("v1,"):]
	for s := range strings.FieldsSeq(sigs) {
		got, ok := strings.CutPrefix(s, "v1,")
		if ok && hmac.Equal([]byte(got), want) {
			return nil
		}
	}
	return ErrNoMatchingSignature
}

// VerifyCallFire checks the X-CallFire-Signature header as CallFire's
// published verifiers do: the standard Base64 of the HMAC-SHA1 of body,
// keyed by the secret's raw bytes (a whsec_ secret is not decoded),
// compared in constant time. body must be the exact bytes received.
func VerifyCallFire(secret string, header http.Header, body []byte) error {
	got := strings.TrimSpace(header.Get("X-CallFire-Signature"))
	if got == "" {
		return ErrMissingHeaders
	}
	if !hmac.Equal([]byte(got), []byte(webhook.SignCallFire(secret, body))) {
		return ErrNoMatchingSignature
	}
	return nil
}
