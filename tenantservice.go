package hookd

import (
	"context"
	"crypto/subtle"
	"fmt"
	"time"
)

// tenants is the TenantService: names, keys and authentication.
type tenants struct {
	st  TenantStore
	now func() time.Time
}

func (t *tenants) CreateTenant(ctx context.Context, name string) (*Tenant, error) {
	if err := ValidateTenantName(name); err != nil {
		return nil, err
	}
	now := t.now().UTC()
	ten := &Tenant{ID: NewIDAt("ten", now), Name: name, CreatedAt: now}
	if err := t.st.InsertTenant(ctx, ten); err != nil {
		if ErrorCode(err) == ECONFLICT {
			return nil, Errorf(ECONFLICT, "tenant %q already exists", name)
		}
		return nil, err
	}
	return ten, nil
}

func (t *tenants) FindTenantByName(ctx context.Context, name string) (*Tenant, error) {
	return t.st.FindTenantByName(ctx, name)
}

func (t *tenants) FindTenantByID(ctx context.Context, id string) (*Tenant, error) {
	return t.st.FindTenantByID(ctx, id)
}

func (t *tenants) ListTenants(ctx context.Context) ([]*Tenant, error) {
	return t.st.ListTenants(ctx)
}

func (t *tenants) CreateAPIKey(ctx context.Context, tenantID string, m Mode) (*APIKey, string, error) {
	if !m.Valid() {
		return nil, "", Errorf(EINVALID, "mode must be %q or %q, got %q", ModeLive, ModeTest, m)
	}
	k, plain := NewAPIKey(tenantID, m, t.now().UTC())
	if err := t.st.InsertAPIKey(ctx, k); err != nil {
		return nil, "", err
	}
	return k, plain, nil
}

func (t *tenants) ListAPIKeys(ctx context.Context, tenantID string) ([]*APIKey, error) {
	return t.st.ListAPIKeys(ctx, tenantID)
}

func (t *tenants) RevokeAPIKey(ctx context.Context, id string) error {
	return t.st.RevokeAPIKey(ctx, id, t.now().UTC())
}

// Authenticate looks the key up by its hash and compares in constant time.
// Every refusal reads alike, so that a caller learns nothing of which keys
// exist.
func (t *tenants) Authenticate(ctx context.Context, plain string) (Scope, error) {
	bad := Errorf(EUNAUTHORIZED, "invalid or revoked API key")
	mode := KeyMode(plain)
	if mode == "" {
		return Scope{}, bad
	}
	hash := HashAPIKey(plain)
	k, err := t.st.FindAPIKeyByHash(ctx, hash)
	if ErrorCode(err) == ENOTFOUND {
		return Scope{}, bad
	}
	if err != nil {
		return Scope{}, fmt.Errorf("authenticate: %w", err)
	}
	if subtle.ConstantTimeCompare(k.Hash, hash) != 1 || k.RevokedAt != nil || k.Mode != mode {
		return Scope{}, bad
	}
	return Scope{TenantID: k.TenantID, Mode: k.Mode}, nil
}
