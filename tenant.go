package hookd

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"regexp"
	"strings"
	"time"
)

// Tenant is the unit of isolation: it owns API keys, event types, webhooks
// and events.
type Tenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

var tenantNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// ValidateTenantName returns EINVALID unless name is 1-63 lower-case letters,
// digits, '-' or '_', starting with a letter or digit.
func ValidateTenantName(name string) error {
	if !tenantNameRE.MatchString(name) {
		return Errorf(EINVALID, "tenant name must be 1-63 characters of a-z, 0-9, '-' or '_', starting with a letter or digit; got %q", name)
	}
	return nil
}

// APIKey is a stored key. The plaintext is shown once, when it is created;
// only its SHA-256 hash is kept.
type APIKey struct {
	ID        string     `json:"id"`
	TenantID  string     `json:"tenant_id"`
	Mode      Mode       `json:"mode"`
	Prefix    string     `json:"prefix"` // the first characters of the key, to recognise it in a list
	Hash      []byte     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// keyRandomBytes is how much randomness a key carries (the issue asks for at least 32).
const keyRandomBytes = 32

// NewAPIKey makes a key for tenantID in mode m: the stored form and the
// plaintext, which looks like sk_live_<43 base64url characters>.
func NewAPIKey(tenantID string, m Mode, now time.Time) (*APIKey, string) {
	var b [keyRandomBytes]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	plain := "sk_" + string(m) + "_" + base64.RawURLEncoding.EncodeToString(b[:])
	return &APIKey{
		ID:        NewIDAt("key", now),
		TenantID:  tenantID,
		Mode:      m,
		Prefix:    plain[:len("sk_")+len(m)+1+6],
		Hash:      HashAPIKey(plain),
		CreatedAt: now,
	}, plain
}

// HashAPIKey is the one-way form of a key that stores keep.
func HashAPIKey(plain string) []byte {
	h := sha256.Sum256([]byte(plain))
	return h[:]
}

// KeyMode returns the mode a plaintext key claims by its prefix, or "".
func KeyMode(plain string) Mode {
	switch {
	case strings.HasPrefix(plain, "sk_live_"):
		return ModeLive
	case strings.HasPrefix(plain, "sk_test_"):
		return ModeTest
	}
	return ""
}

// TenantService manages tenants and their API keys.
type TenantService interface {
	// CreateTenant returns EINVALID for a bad name and ECONFLICT if it exists.
	CreateTenant(ctx context.Context, name string) (*Tenant, error)
	// FindTenantByName returns ENOTFOUND if there is none.
	FindTenantByName(ctx context.Context, name string) (*Tenant, error)
	// FindTenantByID returns ENOTFOUND if there is none.
	FindTenantByID(ctx context.Context, id string) (*Tenant, error)
	ListTenants(ctx context.Context) ([]*Tenant, error)

	// CreateAPIKey stores a new key and returns it with its plaintext, which is
	// never available again. Returns ENOTFOUND for an unknown tenant.
	CreateAPIKey(ctx context.Context, tenantID string, m Mode) (*APIKey, string, error)
	// ListAPIKeys lists the keys of a tenant, or of every tenant if tenantID is "".
	ListAPIKeys(ctx context.Context, tenantID string) ([]*APIKey, error)
	// RevokeAPIKey returns ENOTFOUND for an unknown id. Revoking twice is not an error.
	RevokeAPIKey(ctx context.Context, id string) error
	// Authenticate returns the scope of a valid, unrevoked key, or EUNAUTHORIZED.
	// Stores look the key up by its hash and compare in constant time.
	Authenticate(ctx context.Context, plain string) (Scope, error)
}
