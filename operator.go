package hookd

import (
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"
)

// OperatorKey is a key of the operator: the producer's backend, which
// manages tenants and acts as any of them. Like API keys, only its hash is
// kept.
type OperatorKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Prefix     string     `json:"prefix"`
	Hash       []byte     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
	LastUsedAt *time.Time `json:"last_used_at"`
}

// operatorKeyPrefix starts every operator key, so that neither kind of key
// can be taken for the other.
const operatorKeyPrefix = "opk_"

// IsOperatorKey reports whether plain claims to be an operator key.
func IsOperatorKey(plain string) bool { return strings.HasPrefix(plain, operatorKeyPrefix) }

// NewOperatorKey makes an operator key: the stored form and the plaintext,
// opk_<43 base64url characters>.
func NewOperatorKey(name string, now time.Time) (*OperatorKey, string) {
	plain := operatorKeyPrefix + randomToken()
	return &OperatorKey{
		ID:        NewIDAt("okey", now),
		Name:      name,
		Prefix:    plain[:len(operatorKeyPrefix)+6],
		Hash:      HashAPIKey(plain),
		CreatedAt: now,
	}, plain
}

// randomToken is 32 random bytes in base64url: 43 characters.
func randomToken() string {
	var b [keyRandomBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// The HTTP headers with which an operator key acts as a tenant, on every API.
const (
	TenantHeader = "Hookd-Tenant" // the tenant's id or uid
	ModeHeader   = "Hookd-Mode"   // live (the default) or test
)

// Caller is who sent a request: a tenant key (Scope set, Operator false),
// or an operator key (Operator true), which has a Scope only once it names
// the tenant it acts as.
type Caller struct {
	Operator bool
	KeyID    string
	Scope    Scope
}

// PortalLink opens one tenant's customer portal in one mode, once, before
// it expires. Its token is shown once; only the hash is kept.
type PortalLink struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Mode     Mode   `json:"mode"`
	ReadOnly bool   `json:"read_only"`
	// MakerKeyID is the key that made the link: a tenant's API key (key_…)
	// or an operator key (okey_…). Revoking it deletes the link if unused
	// and ends the session it opened. "" for a link made before makers were
	// recorded, which ends only at its expiry or with its tenant.
	MakerKeyID string     `json:"maker_key_id,omitempty"`
	Hash       []byte     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	UsedAt     *time.Time `json:"used_at,omitempty"`
}

// Portal link lifetimes.
const (
	DefaultPortalLinkTTL = 10 * time.Minute
	MaxPortalLinkTTL     = 7 * 24 * time.Hour
)

const portalTokenPrefix = "ptl_"

// NewPortalLink makes a link for s: the stored form and the token.
func NewPortalLink(s Scope, readOnly bool, ttl time.Duration, now time.Time) (*PortalLink, string) {
	token := portalTokenPrefix + randomToken()
	return &PortalLink{
		ID: NewIDAt("pl", now), TenantID: s.TenantID, Mode: s.Mode, ReadOnly: readOnly,
		Hash: HashAPIKey(token), CreatedAt: now, ExpiresAt: now.Add(ttl),
	}, token
}
