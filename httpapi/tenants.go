package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/hookd/hookd"
)

// Tenant is one of the operator's customers.
type Tenant struct {
	ID        string            `json:"id" example:"ten_01j9z3x5b8c4d2e6f0g7h1k3m5"`
	UID       *string           `json:"uid" doc:"The operator's own id for the customer; usable wherever a tenant id is"`
	Name      string            `json:"name"`
	Metadata  map[string]string `json:"metadata"`
	Limits    TenantLimits      `json:"limits"`
	CreatedAt time.Time         `json:"created_at"`
	UpdatedAt time.Time         `json:"updated_at"`
}

// TenantLimits are what the operator allows a tenant; null is no limit.
type TenantLimits struct {
	PublishRate *int `json:"publish_rate" required:"false" nullable:"true" minimum:"1" maximum:"1000000" doc:"Events per second a tenant may publish (per instance)"`
	MaxWebhooks *int `json:"max_webhooks" required:"false" nullable:"true" minimum:"0" maximum:"1000000" doc:"Webhooks the tenant may have in each mode"`
}

func tenantJSON(t *hookd.Tenant) Tenant {
	out := Tenant{ID: t.ID, Name: t.Name, Metadata: t.Metadata, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt,
		Limits: TenantLimits{PublishRate: t.Limits.PublishRate, MaxWebhooks: t.Limits.MaxWebhooks}}
	if t.UID != "" {
		out.UID = &t.UID
	}
	if out.Metadata == nil {
		out.Metadata = map[string]string{}
	}
	return out
}

// TenantPath names a tenant by its id or uid.
type TenantPath struct {
	Tenant string `path:"tenant" doc:"The tenant's id (ten_…) or uid"`
}

// TenantKey is a tenant's API key as listed; Key is set only when it is made.
type TenantKey struct {
	ID         string     `json:"id"`
	Mode       hookd.Mode `json:"mode" enum:"live,test"`
	Prefix     string     `json:"prefix" doc:"The key's first characters, to recognise it"`
	Key        string     `json:"key,omitempty" doc:"The key itself: shown once, when it is made"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at" doc:"When it last authenticated, to within a minute"`
	RevokedAt  *time.Time `json:"revoked_at,omitempty"`
}

func tenantKeyJSON(k *hookd.APIKey) TenantKey {
	return TenantKey{ID: k.ID, Mode: k.Mode, Prefix: k.Prefix, CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

// PortalLink opens a tenant's customer portal once.
type PortalLink struct {
	ID        string     `json:"id"`
	URL       string     `json:"url" doc:"Open this, once, before expires_at"`
	Mode      hookd.Mode `json:"mode"`
	ReadOnly  bool       `json:"read_only"`
	ExpiresAt time.Time  `json:"expires_at"`
}

type tenantBody struct {
	UID      *string           `json:"uid,omitempty" doc:"Your own id for the customer: 1-256 of a-z A-Z 0-9 _ . -"`
	Name     *string           `json:"name,omitempty" doc:"Unique; defaults to the uid"`
	Metadata map[string]string `json:"metadata,omitempty"`
	Limits   *TenantLimits     `json:"limits,omitempty"`
}

type createdTenantOutput struct {
	Status int
	Body   dataBody[Tenant]
}

func registerTenants(s *Server) {
	tags := []string{"Tenants"}
	operator := func(o huma.Operation) huma.Operation {
		o.Metadata = map[string]any{operatorOnly: true}
		o.Description = "Needs an operator key."
		return o
	}

	huma.Register(s.api, operator(op(http.MethodPost, "/v1/tenants", "createTenant",
		"Create a tenant, or get the one with this uid", tags, http.StatusCreated, s.cfg.MaxBodyBytes)),
		func(ctx context.Context, in *struct{ Body tenantBody }) (*createdTenantOutput, error) {
			t := &hookd.Tenant{Metadata: in.Body.Metadata}
			if in.Body.UID != nil {
				t.UID = *in.Body.UID
			}
			if in.Body.Name != nil {
				t.Name = *in.Body.Name
			}
			if in.Body.Limits != nil {
				t.Limits = hookd.TenantLimits{PublishRate: in.Body.Limits.PublishRate, MaxWebhooks: in.Body.Limits.MaxWebhooks}
			}
			if t.UID == "" && t.Name == "" {
				return nil, s.fail(ctx, "create tenant", hookd.Errorf(hookd.EINVALID, "uid or name is required"))
			}
			got, created, err := s.svc.Tenants.PutTenant(ctx, t)
			if err != nil {
				return nil, s.fail(ctx, "create tenant", err)
			}
			status := http.StatusCreated
			if !created {
				status = http.StatusOK
			}
			return &createdTenantOutput{Status: status, Body: dataBody[Tenant]{Data: tenantJSON(got)}}, nil
		})

	huma.Register(s.api, operator(op(http.MethodGet, "/v1/tenants", "listTenants", "List tenants", tags, 0, 0)),
		func(ctx context.Context, in *struct {
			Search string `query:"search" doc:"A part of the name (any case), or a whole uid"`
			UID    string `query:"uid" doc:"Exactly this uid"`
			PageQuery
		}) (*countedListOutput[Tenant], error) {
			f := hookd.TenantFilter{Search: in.Search, UID: in.UID, Page: in.page()}
			ts, total, err := s.svc.Tenants.FindTenants(ctx, f)
			if err != nil {
				return nil, s.fail(ctx, "list tenants", err)
			}
			page := listOf(ts, f.Limit, tenantJSON, func(t *hookd.Tenant) string { return t.ID })
			if err := endOnLastPage(&page, func(p hookd.Page) (bool, error) {
				g := f
				g.Page = p
				more, _, err := s.svc.Tenants.FindTenants(ctx, g)
				return len(more) > 0, err
			}); err != nil {
				return nil, s.fail(ctx, "list tenants", err)
			}
			return &countedListOutput[Tenant]{Body: CountedListBody[Tenant]{ListBody: page, Total: total}}, nil
		})

	huma.Register(s.api, operator(op(http.MethodGet, "/v1/tenants/{tenant}", "getTenant", "Get a tenant by id or uid", tags, 0, 0)),
		func(ctx context.Context, in *TenantPath) (*dataOutput[Tenant], error) {
			t, err := s.svc.Tenants.FindTenant(ctx, in.Tenant)
			if err != nil {
				return nil, s.fail(ctx, "get tenant", err)
			}
			return data(tenantJSON(t)), nil
		})

	huma.Register(s.api, operator(op(http.MethodPatch, "/v1/tenants/{tenant}", "updateTenant", "Change a tenant", tags, 0, s.cfg.MaxBodyBytes)),
		func(ctx context.Context, in *struct {
			TenantPath
			Body tenantBody
		}) (*dataOutput[Tenant], error) {
			u := hookd.TenantUpdate{UID: in.Body.UID, Name: in.Body.Name}
			if in.Body.Metadata != nil {
				u.Metadata = &in.Body.Metadata
			}
			if in.Body.Limits != nil {
				u.Limits = &hookd.TenantLimits{PublishRate: in.Body.Limits.PublishRate, MaxWebhooks: in.Body.Limits.MaxWebhooks}
			}
			t, err := s.svc.Tenants.UpdateTenant(ctx, in.Tenant, u)
			if err != nil {
				return nil, s.fail(ctx, "update tenant", err)
			}
			return data(tenantJSON(t)), nil
		})

	huma.Register(s.api, operator(op(http.MethodDelete, "/v1/tenants/{tenant}", "deleteTenant",
		"Delete a tenant with its keys, webhooks, events and deliveries", tags, http.StatusNoContent, 0)),
		func(ctx context.Context, in *TenantPath) (*struct{}, error) {
			if err := s.svc.Tenants.DeleteTenant(ctx, in.Tenant); err != nil {
				return nil, s.fail(ctx, "delete tenant", err)
			}
			return nil, nil
		})

	registerTenantKeys(s, tags, operator)
	registerPortalLinks(s, tags, operator)
}

func registerTenantKeys(s *Server, tags []string, operator func(huma.Operation) huma.Operation) {
	huma.Register(s.api, operator(op(http.MethodPost, "/v1/tenants/{tenant}/keys", "createTenantKey",
		"Make an API key for a tenant; the key is shown once", tags, http.StatusCreated, s.cfg.MaxBodyBytes)),
		func(ctx context.Context, in *struct {
			TenantPath
			Body struct {
				Mode hookd.Mode `json:"mode,omitempty" enum:"live,test" doc:"Default live"`
			}
		}) (*dataOutput[TenantKey], error) {
			t, err := s.svc.Tenants.FindTenant(ctx, in.Tenant)
			if err != nil {
				return nil, s.fail(ctx, "create tenant key", err)
			}
			mode := in.Body.Mode
			if mode == "" {
				mode = hookd.ModeLive
			}
			k, plain, err := s.svc.Tenants.CreateAPIKey(ctx, t.ID, mode)
			if err != nil {
				return nil, s.fail(ctx, "create tenant key", err)
			}
			out := tenantKeyJSON(k)
			out.Key = plain
			return data(out), nil
		})

	huma.Register(s.api, operator(op(http.MethodGet, "/v1/tenants/{tenant}/keys", "listTenantKeys", "List a tenant's API keys", tags, 0, 0)),
		func(ctx context.Context, in *TenantPath) (*dataOutput[[]TenantKey], error) {
			t, err := s.svc.Tenants.FindTenant(ctx, in.Tenant)
			if err != nil {
				return nil, s.fail(ctx, "list tenant keys", err)
			}
			keys, err := s.svc.Tenants.ListAPIKeys(ctx, t.ID)
			if err != nil {
				return nil, s.fail(ctx, "list tenant keys", err)
			}
			out := make([]TenantKey, len(keys))
			for i, k := range keys {
				out[i] = tenantKeyJSON(k)
			}
			return data(out), nil
		})

	huma.Register(s.api, operator(op(http.MethodDelete, "/v1/tenants/{tenant}/keys/{key}", "revokeTenantKey",
		"Revoke a tenant's API key, at once on every instance", tags, http.StatusNoContent, 0)),
		func(ctx context.Context, in *struct {
			TenantPath
			Key string `path:"key" doc:"The key's id (key_…)"`
		}) (*struct{}, error) {
			t, err := s.svc.Tenants.FindTenant(ctx, in.Tenant)
			if err != nil {
				return nil, s.fail(ctx, "revoke tenant key", err)
			}
			if err := s.svc.Tenants.RevokeTenantAPIKey(ctx, t.ID, in.Key); err != nil {
				return nil, s.fail(ctx, "revoke tenant key", err)
			}
			return nil, nil
		})
}

func registerPortalLinks(s *Server, tags []string, operator func(huma.Operation) huma.Operation) {
	huma.Register(s.api, operator(op(http.MethodPost, "/v1/tenants/{tenant}/portal-links", "createPortalLink",
		"Make a single-use link into the tenant's customer portal", tags, http.StatusCreated, s.cfg.MaxBodyBytes)),
		func(ctx context.Context, in *struct {
			TenantPath
			Body struct {
				Mode      hookd.Mode `json:"mode,omitempty" enum:"live,test" doc:"Default live"`
				ReadOnly  bool       `json:"read_only,omitempty" doc:"The portal shows everything and changes nothing"`
				ExpiresIn int        `json:"expires_in,omitempty" minimum:"60" maximum:"604800" doc:"Seconds until the link expires; default 600"`
			}
		}) (*dataOutput[PortalLink], error) {
			l, token, err := s.svc.Tenants.CreatePortalLink(ctx, in.Tenant, hookd.PortalLinkRequest{
				Mode: in.Body.Mode, ReadOnly: in.Body.ReadOnly, TTL: time.Duration(in.Body.ExpiresIn) * time.Second,
				MakerKeyID: callerFrom(ctx).KeyID,
			})
			if err != nil {
				return nil, s.fail(ctx, "create portal link", err)
			}
			return data(PortalLink{ID: l.ID, URL: s.cfg.PortalURL + "?token=" + url.QueryEscape(token),
				Mode: l.Mode, ReadOnly: l.ReadOnly, ExpiresAt: l.ExpiresAt}), nil
		})
}
