package hookd

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"time"
)

// tenants is the TenantService: tenants, keys, who a key is, portal links.
type tenants struct {
	st    TenantStore
	now   func() time.Time
	cache *authCache
	// lookups leads one store read at a time per key hash, and per tenant
	// an operator acts as, that the cache missed.
	lookups flights
	// stopped is told the webhooks of a deleted tenant, so that none of
	// their requests starts afterwards (may be nil).
	stopped func(webhookIDs []string)
}

// touchEvery is how often a key's last_used_at is written at most.
const touchEvery = time.Minute

func (t *tenants) CreateTenant(ctx context.Context, name string) (*Tenant, error) {
	ten, _, err := t.PutTenant(ctx, &Tenant{Name: name})
	return ten, err
}

func (t *tenants) PutTenant(ctx context.Context, in *Tenant) (*Tenant, bool, error) {
	if in.Name == "" {
		in.Name = in.UID
	}
	if err := in.Validate(); err != nil {
		return nil, false, err
	}
	if in.UID != "" {
		if have, err := t.st.FindTenantByUID(ctx, in.UID); err == nil {
			return have, false, nil
		} else if ErrorCode(err) != ENOTFOUND {
			return nil, false, err
		}
	}
	now := t.now()
	in.ID = NewIDAt("ten", now)
	in.CreatedAt, in.UpdatedAt = now, now
	err := t.st.InsertTenant(ctx, in)
	if ErrorCode(err) == ECONFLICT && in.UID != "" {
		// Another request created the uid meanwhile: the same answer as if
		// it had come first.
		if have, ferr := t.st.FindTenantByUID(ctx, in.UID); ferr == nil {
			return have, false, nil
		}
	}
	if ErrorCode(err) == ECONFLICT {
		return nil, false, Errorf(ECONFLICT, "a tenant named %q exists", in.Name)
	}
	if err != nil {
		return nil, false, err
	}
	return in, true, nil
}

func (t *tenants) FindTenant(ctx context.Context, ref string) (*Tenant, error) {
	if ref == "" {
		return nil, Errorf(EINVALID, "name the tenant by its id or uid")
	}
	if IsTenantID(ref) {
		return t.st.FindTenantByID(ctx, ref)
	}
	return t.st.FindTenantByUID(ctx, ref)
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

func (t *tenants) FindTenants(ctx context.Context, f TenantFilter) ([]*Tenant, int, error) {
	if err := f.Page.Normalize(); err != nil {
		return nil, 0, err
	}
	return t.st.FindTenants(ctx, f)
}

func (t *tenants) UpdateTenant(ctx context.Context, ref string, u TenantUpdate) (*Tenant, error) {
	cur, err := t.FindTenant(ctx, ref)
	if err != nil {
		return nil, err
	}
	now := t.now()
	updated, err := t.st.UpdateTenant(ctx, cur.ID, func(ten *Tenant) error {
		if u.UID != nil {
			ten.UID = *u.UID
		}
		if u.Name != nil {
			ten.Name = *u.Name
		}
		if u.Metadata != nil {
			ten.Metadata = *u.Metadata
		}
		if u.Limits != nil {
			ten.Limits = *u.Limits
		}
		ten.UpdatedAt = now
		return ten.Validate()
	})
	if err == nil && u.UID != nil {
		t.cache.forget() // the old uid names no tenant any more
	}
	return updated, err
}

func (t *tenants) DeleteTenant(ctx context.Context, ref string) error {
	cur, err := t.FindTenant(ctx, ref)
	if err != nil {
		return err
	}
	if cur.ID == OperatorTenantID {
		return Errorf(EFORBIDDEN, "the operator tenant holds the operator's own endpoints and cannot be deleted")
	}
	webhooks, err := t.st.DeleteTenant(ctx, cur.ID)
	if err != nil {
		return err
	}
	t.cache.forget()
	if t.stopped != nil && len(webhooks) > 0 {
		t.stopped(webhooks)
	}
	return nil
}

func (t *tenants) EnsureOperatorTenant(ctx context.Context) error {
	if _, err := t.st.FindTenantByID(ctx, OperatorTenantID); err == nil {
		return nil
	} else if ErrorCode(err) != ENOTFOUND {
		return err
	}
	now := t.now()
	err := t.st.InsertTenant(ctx, &Tenant{ID: OperatorTenantID, Name: "hookd operator events", Metadata: map[string]string{}, CreatedAt: now, UpdatedAt: now})
	if ErrorCode(err) == ECONFLICT {
		if _, ferr := t.st.FindTenantByID(ctx, OperatorTenantID); ferr == nil {
			return nil // another instance made it
		}
		return Errorf(ECONFLICT, "the operator tenant cannot be made: a tenant is named %q", "hookd operator events")
	}
	return err
}

func (t *tenants) CreateAPIKey(ctx context.Context, tenantID string, m Mode) (*APIKey, string, error) {
	if !m.Valid() {
		return nil, "", Errorf(EINVALID, "mode must be %q or %q, got %q", ModeLive, ModeTest, m)
	}
	k, plain := NewAPIKey(tenantID, m, t.now())
	if err := t.st.InsertAPIKey(ctx, k); err != nil {
		return nil, "", err
	}
	return k, plain, nil
}

func (t *tenants) ListAPIKeys(ctx context.Context, tenantID string) ([]*APIKey, error) {
	return t.st.ListAPIKeys(ctx, tenantID)
}

func (t *tenants) RevokeAPIKey(ctx context.Context, id string) error {
	if err := t.st.RevokeAPIKey(ctx, id, t.now()); err != nil {
		return err
	}
	t.cache.forget()
	return nil
}

func (t *tenants) RevokeTenantAPIKey(ctx context.Context, tenantID, id string) error {
	keys, err := t.st.ListAPIKeys(ctx, tenantID)
	if err != nil {
		return err
	}
	for _, k := range keys {
		if k.ID == id {
			return t.RevokeAPIKey(ctx, id)
		}
	}
	return Errorf(ENOTFOUND, "api key %s not found", id)
}

func (t *tenants) Authenticate(ctx context.Context, plain string) (Scope, error) {
	c, err := t.AuthenticateCaller(ctx, plain)
	if err != nil {
		return Scope{}, err
	}
	if c.Operator {
		return Scope{}, Errorf(EFORBIDDEN, "an operator key names no tenant here: use a tenant's API key")
	}
	return c.Scope, nil
}

// AuthenticateCaller looks a key up by its hash and compares in constant
// time. Every refusal reads alike, so that a caller learns nothing of which
// keys exist.
func (t *tenants) AuthenticateCaller(ctx context.Context, plain string) (Caller, error) {
	bad := Errorf(EUNAUTHORIZED, "invalid or revoked API key")
	operator := IsOperatorKey(plain)
	mode := KeyMode(plain)
	if !operator && mode == "" {
		return Caller{}, bad
	}
	hash := HashAPIKey(plain)
	ck := [sha256.Size]byte(hash)
	var c Caller
	if t.cache != nil {
		hit, done, err := t.lookups.join(ctx, string(ck[:]), func() (ok bool) { c, ok = t.cache.get(ck); return ok })
		if err != nil {
			return Caller{}, err
		}
		if hit {
			return c, nil
		}
		defer done()
	}
	var (
		stored   []byte
		revoked  bool
		lastUsed *time.Time
		err      error
		touch    func(context.Context, string, time.Time) error
	)
	if operator {
		var k *OperatorKey
		if k, err = t.st.FindOperatorKeyByHash(ctx, hash); err == nil {
			c = Caller{Operator: true, KeyID: k.ID}
			stored, revoked, lastUsed, touch = k.Hash, k.RevokedAt != nil, k.LastUsedAt, t.st.TouchOperatorKey
		}
	} else {
		var k *APIKey
		if k, err = t.st.FindAPIKeyByHash(ctx, hash); err == nil {
			c = Caller{KeyID: k.ID, Scope: Scope{TenantID: k.TenantID, Mode: k.Mode}}
			stored, revoked, lastUsed, touch = k.Hash, k.RevokedAt != nil || k.Mode != mode, k.LastUsedAt, t.st.TouchAPIKey
		}
	}
	if ErrorCode(err) == ENOTFOUND {
		return Caller{}, bad
	}
	if err != nil {
		return Caller{}, fmt.Errorf("authenticate: %w", err)
	}
	if subtle.ConstantTimeCompare(stored, hash) != 1 || revoked {
		return Caller{}, bad
	}
	now := t.now()
	if lastUsed == nil || now.Sub(*lastUsed) >= touchEvery {
		if err := touch(ctx, c.KeyID, now); err != nil {
			return Caller{}, fmt.Errorf("authenticate: %w", err)
		}
	}
	t.cache.put(ck, c)
	return c, nil
}

func (t *tenants) ActAs(ctx context.Context, c Caller, ref string, m Mode) (Scope, error) {
	if !c.Operator {
		if ref != "" && ref != c.Scope.TenantID {
			if ten, err := t.FindTenant(ctx, ref); err != nil || ten.ID != c.Scope.TenantID {
				return Scope{}, Errorf(EFORBIDDEN, "a tenant's API key acts only for its own tenant; naming another needs an operator key")
			}
		}
		if m != "" && m != c.Scope.Mode {
			return Scope{}, Errorf(EFORBIDDEN, "this API key is a %s key; it cannot act in %s mode", c.Scope.Mode, m)
		}
		return c.Scope, nil
	}
	if ref == "" {
		return Scope{}, Errorf(EINVALID, "an operator key acts for a tenant: name it (its id or uid) in the "+TenantHeader+" header")
	}
	if m == "" {
		m = ModeLive
	}
	if !m.Valid() {
		return Scope{}, Errorf(EINVALID, "mode must be %q or %q, got %q", ModeLive, ModeTest, m)
	}
	if t.cache != nil {
		var id string
		hit, done, err := t.lookups.join(ctx, "tenant "+ref, func() (ok bool) { id, ok = t.cache.tenantOf(ref); return ok })
		if err != nil {
			return Scope{}, err
		}
		if hit {
			return Scope{TenantID: id, Mode: m}, nil
		}
		defer done()
	}
	ten, err := t.FindTenant(ctx, ref)
	if err != nil {
		return Scope{}, err
	}
	t.cache.putTenant(ref, ten.ID)
	return Scope{TenantID: ten.ID, Mode: m}, nil
}

func (t *tenants) CreateOperatorKey(ctx context.Context, name string) (*OperatorKey, string, error) {
	if len(name) > MaxNameLength {
		return nil, "", Errorf(EINVALID, "name must be at most %d characters", MaxNameLength)
	}
	if err := ValidateText("name", name); err != nil {
		return nil, "", err
	}
	k, plain := NewOperatorKey(name, t.now())
	if err := t.st.InsertOperatorKey(ctx, k); err != nil {
		return nil, "", err
	}
	return k, plain, nil
}

func (t *tenants) ListOperatorKeys(ctx context.Context) ([]*OperatorKey, error) {
	return t.st.ListOperatorKeys(ctx)
}

func (t *tenants) RevokeOperatorKey(ctx context.Context, id string) error {
	if err := t.st.RevokeOperatorKey(ctx, id, t.now()); err != nil {
		return err
	}
	t.cache.forget()
	return nil
}

func (t *tenants) CreatePortalLink(ctx context.Context, ref string, r PortalLinkRequest) (*PortalLink, string, error) {
	if r.Mode == "" {
		r.Mode = ModeLive
	}
	if !r.Mode.Valid() {
		return nil, "", Errorf(EINVALID, "mode must be %q or %q, got %q", ModeLive, ModeTest, r.Mode)
	}
	if r.TTL == 0 {
		r.TTL = DefaultPortalLinkTTL
	}
	if r.TTL < time.Minute || r.TTL > MaxPortalLinkTTL {
		return nil, "", Errorf(EINVALID, "expiry must be between 1 minute and %s", MaxPortalLinkTTL)
	}
	if r.MakerKeyID == "" {
		// Without its maker, a link (and its session) would outlive the
		// revocation of the key that asked for it.
		return nil, "", Errorf(EINVALID, "a portal link needs the key that makes it")
	}
	ten, err := t.FindTenant(ctx, ref)
	if err != nil {
		return nil, "", err
	}
	l, token := NewPortalLink(Scope{TenantID: ten.ID, Mode: r.Mode}, r.ReadOnly, r.TTL, t.now())
	l.MakerKeyID = r.MakerKeyID
	if err := t.st.InsertPortalLink(ctx, l); err != nil {
		return nil, "", err
	}
	return l, token, nil
}

func (t *tenants) UsePortalLink(ctx context.Context, token string) (*PortalLink, error) {
	l, err := t.st.UsePortalLink(ctx, HashAPIKey(token), t.now())
	if ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ENOTFOUND, "this portal link is not known: ask for a new one")
	}
	if err != nil {
		return nil, err
	}
	switch {
	case l.UsedAt != nil:
		return nil, Errorf(EFORBIDDEN, "this portal link was already used at %s: links open the portal once; ask for a new one", l.UsedAt.Format(time.RFC3339))
	case !t.now().Before(l.ExpiresAt):
		return nil, Errorf(EFORBIDDEN, "this portal link expired at %s: ask for a new one", l.ExpiresAt.Format(time.RFC3339))
	}
	return l, nil
}
