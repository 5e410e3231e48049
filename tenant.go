package hookd

import (
	"context"
	"crypto/sha256"
	"regexp"
	"strings"
	"time"
)

// Tenant is the unit of isolation: it owns API keys, event types, webhooks
// and events. It is one of the operator's customers.
type Tenant struct {
	ID string `json:"id"`
	// UID is the operator's own id for the customer, unique, usable wherever
	// a tenant id is; "" when none was given.
	UID      string            `json:"uid"`
	Name     string            `json:"name"` // unique
	Metadata map[string]string `json:"metadata"`
	Limits   TenantLimits      `json:"limits"`

	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TenantLimits are what the operator allows a tenant; nil is no limit.
type TenantLimits struct {
	PublishRate *int `json:"publish_rate"` // events per second, per instance
	MaxWebhooks *int `json:"max_webhooks"` // per mode
}

// Limits on tenant fields.
const (
	MaxTenantName   = 256
	MaxUID          = 256
	MaxPublishRate  = 1000000
	MaxWebhooksCeil = 1000000
)

// ValidateTenantName returns EINVALID unless name is 1 to 256 characters of
// printable text.
func ValidateTenantName(name string) error {
	if name == "" || len(name) > MaxTenantName {
		return Errorf(EINVALID, "name must be 1 to %d characters, got %d", MaxTenantName, len(name))
	}
	for _, r := range name {
		if r < ' ' || r == 0x7f {
			return Errorf(EINVALID, "name must not contain control characters")
		}
	}
	return ValidateText("name", name)
}

var uidRE = regexp.MustCompile(`^[a-zA-Z0-9_.-]+$`)

// ValidateUID returns EINVALID unless uid is 1 to 256 letters, digits, '_',
// '.' or '-' (Svix's rule for its uids), and does not look like a tenant id.
func ValidateUID(uid string) error {
	if len(uid) > MaxUID || !uidRE.MatchString(uid) {
		return Errorf(EINVALID, "uid must be 1 to %d characters of a-z, A-Z, 0-9, '_', '.' or '-'; got %q", MaxUID, uid)
	}
	if strings.HasPrefix(uid, "ten_") {
		return Errorf(EINVALID, "uid must not start with \"ten_\", which names tenant ids")
	}
	return nil
}

// IsTenantID reports whether ref is a tenant id rather than a uid.
func IsTenantID(ref string) bool { return strings.HasPrefix(ref, "ten_") }

// Validate checks what the operator sets on a tenant.
func (t *Tenant) Validate() error {
	if err := ValidateTenantName(t.Name); err != nil {
		return err
	}
	if t.UID != "" {
		if err := ValidateUID(t.UID); err != nil {
			return err
		}
	}
	if len(t.Metadata) > MaxMetadata {
		return Errorf(EINVALID, "metadata may hold at most %d entries", MaxMetadata)
	}
	for k, v := range t.Metadata {
		if err := ValidateText("metadata", k+v); err != nil {
			return err
		}
	}
	if r := t.Limits.PublishRate; r != nil && (*r < 1 || *r > MaxPublishRate) {
		return Errorf(EINVALID, "limits.publish_rate must be between 1 and %d events per second", MaxPublishRate)
	}
	if m := t.Limits.MaxWebhooks; m != nil && (*m < 0 || *m > MaxWebhooksCeil) {
		return Errorf(EINVALID, "limits.max_webhooks must be between 0 and %d", MaxWebhooksCeil)
	}
	if t.Metadata == nil {
		t.Metadata = map[string]string{}
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
	// LastUsedAt is when the key last authenticated, to within a minute.
	LastUsedAt *time.Time `json:"last_used_at"`
}

// keyRandomBytes is how much randomness a key carries (the issue asks for at least 32).
const keyRandomBytes = 32

// NewAPIKey makes a key for tenantID in mode m: the stored form and the
// plaintext, which looks like sk_live_<43 base64url characters>.
func NewAPIKey(tenantID string, m Mode, now time.Time) (*APIKey, string) {
	plain := "sk_" + string(m) + "_" + randomToken()
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

// TenantUpdate is a partial update of a tenant: nil fields are left as
// they are.
type TenantUpdate struct {
	UID      *string
	Name     *string
	Metadata *map[string]string
	Limits   *TenantLimits
}

// PortalLinkRequest asks for a portal link.
type PortalLinkRequest struct {
	Mode     Mode
	ReadOnly bool
	TTL      time.Duration // 0: DefaultPortalLinkTTL
	// MakerKeyID is the key asking (Caller.KeyID): revoking it deletes the
	// link if unused and ends the session it opened. Required.
	MakerKeyID string
}

// TenantService manages tenants, their API keys, operator keys, portal
// links, and who a key is. A tenant reference (ref) is a tenant id
// ("ten_…") or the tenant's uid.
type TenantService interface {
	// CreateTenant creates a tenant with only a name. EINVALID, ECONFLICT.
	CreateTenant(ctx context.Context, name string) (*Tenant, error)
	// PutTenant creates t, filling its id and times; t.Name defaults to its
	// UID. If t has a UID that a tenant already has, that tenant is
	// returned as it is and created is false: "create or get by uid" is one
	// idempotent call. EINVALID, ECONFLICT (the name is another tenant's).
	PutTenant(ctx context.Context, t *Tenant) (_ *Tenant, created bool, _ error)
	// FindTenant returns the tenant ref names, or ENOTFOUND.
	FindTenant(ctx context.Context, ref string) (*Tenant, error)
	// FindTenantByName returns ENOTFOUND if there is none.
	FindTenantByName(ctx context.Context, name string) (*Tenant, error)
	// FindTenantByID returns ENOTFOUND if there is none.
	FindTenantByID(ctx context.Context, id string) (*Tenant, error)
	ListTenants(ctx context.Context) ([]*Tenant, error)
	// FindTenants returns one page ordered by id and the total.
	FindTenants(ctx context.Context, f TenantFilter) ([]*Tenant, int, error)
	// UpdateTenant applies u. ENOTFOUND, EINVALID, ECONFLICT.
	UpdateTenant(ctx context.Context, ref string, u TenantUpdate) (*Tenant, error)
	// DeleteTenant deletes the tenant and everything it owns; its keys stop
	// working at once. ENOTFOUND; EFORBIDDEN for the operator tenant.
	DeleteTenant(ctx context.Context, ref string) error
	// EnsureOperatorTenant creates the operator tenant (OperatorTenantID),
	// whose webhooks receive the operator events, unless it exists.
	EnsureOperatorTenant(ctx context.Context) error

	// CreateAPIKey stores a new key and returns it with its plaintext, which is
	// never available again. Returns ENOTFOUND for an unknown tenant.
	CreateAPIKey(ctx context.Context, tenantID string, m Mode) (*APIKey, string, error)
	// ListAPIKeys lists the keys of a tenant, or of every tenant if tenantID is "".
	ListAPIKeys(ctx context.Context, tenantID string) ([]*APIKey, error)
	// RevokeAPIKey stops the key at once, and ends the portal links it made
	// and the sessions they opened. It returns ENOTFOUND for an unknown id.
	// Revoking twice is not an error.
	RevokeAPIKey(ctx context.Context, id string) error
	// RevokeTenantAPIKey is RevokeAPIKey for a key of tenantID only: another
	// tenant's key is ENOTFOUND.
	RevokeTenantAPIKey(ctx context.Context, tenantID, id string) error
	// Authenticate returns the scope of a valid, unrevoked tenant key, or
	// EUNAUTHORIZED; an operator key is EFORBIDDEN here (it names no scope).
	Authenticate(ctx context.Context, plain string) (Scope, error)
	// AuthenticateCaller returns who a valid, unrevoked key is: a tenant
	// key's scope, or an operator. EUNAUTHORIZED.
	AuthenticateCaller(ctx context.Context, plain string) (Caller, error)
	// ActAs returns the scope c acts in: a tenant key's own; for an operator,
	// the tenant ref names, in mode m ("" is live). A tenant key naming
	// another tenant is EFORBIDDEN; an operator naming none is EINVALID;
	// an unknown ref ENOTFOUND.
	ActAs(ctx context.Context, c Caller, ref string, m Mode) (Scope, error)

	// CreateOperatorKey makes an operator key and returns its plaintext,
	// shown once.
	CreateOperatorKey(ctx context.Context, name string) (*OperatorKey, string, error)
	ListOperatorKeys(ctx context.Context) ([]*OperatorKey, error)
	// RevokeOperatorKey stops the key at once, and ends the dashboard
	// sessions it signed in, the portal links it made and the sessions they
	// opened. It returns ENOTFOUND for an unknown id.
	RevokeOperatorKey(ctx context.Context, id string) error

	// CreatePortalLink makes a single-use link into ref's portal, made by
	// r.MakerKeyID, and returns it with its token, shown once. ENOTFOUND,
	// EINVALID.
	CreatePortalLink(ctx context.Context, ref string, r PortalLinkRequest) (*PortalLink, string, error)
	// UsePortalLink spends a link's token and returns the link. An unknown
	// token is ENOTFOUND; a used or expired one EFORBIDDEN, saying which.
	UsePortalLink(ctx context.Context, token string) (*PortalLink, error)
}
