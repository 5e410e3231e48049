package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// tenantAdmin is what the tenant and key commands need: the tenant service
// over the database on this host, or a running hookd's operator API
// (--url, --key).
type tenantAdmin interface {
	CreateTenant(ctx context.Context, name string) (*hookd.Tenant, error)
	ListTenants(ctx context.Context) ([]*hookd.Tenant, error)
	FindTenantByName(ctx context.Context, name string) (*hookd.Tenant, error)
	CreateAPIKey(ctx context.Context, tenantID string, m hookd.Mode) (*hookd.APIKey, string, error)
	ListAPIKeys(ctx context.Context, tenantID string) ([]*hookd.APIKey, error)
	RevokeAPIKey(ctx context.Context, id string) error
	RevokeTenantAPIKey(ctx context.Context, tenantID, id string) error
}

// remoteAdmin is tenantAdmin over the operator API of the hookd at base.
type remoteAdmin struct {
	base, key string
	hc        *http.Client
}

func newRemoteAdmin(base, key string) (*remoteAdmin, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%w: --url must be the http(s) address of a running hookd, got %q", errUsage, base)
	}
	if !hookd.IsOperatorKey(key) {
		return nil, fmt.Errorf("%w: --key must be an operator key (opk_…) with --url", errUsage)
	}
	return &remoteAdmin{base: strings.TrimSuffix(base, "/"), key: key, hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

// call sends body (JSON unless nil) and decodes the answer's data into out.
// An error envelope becomes the *hookd.Error it describes.
func (r *remoteAdmin) call(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, r.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+r.key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := r.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var env struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		if json.Unmarshal(raw, &env) == nil && env.Error.Code != "" {
			return &hookd.Error{Code: env.Error.Code, Message: env.Error.Message}
		}
		return fmt.Errorf("%s %s: %s", method, path, resp.Status)
	}
	if out == nil || resp.StatusCode == http.StatusNoContent {
		return nil
	}
	if _, whole := out.(*tenantPage); whole {
		return json.Unmarshal(raw, out)
	}
	return json.Unmarshal(raw, &struct {
		Data any `json:"data"`
	}{out})
}

// remoteTenant and remoteKey are the API's shapes of a tenant and a key.
type remoteTenant struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

func (t remoteTenant) tenant() *hookd.Tenant {
	return &hookd.Tenant{ID: t.ID, Name: t.Name, CreatedAt: t.CreatedAt}
}

type remoteKey struct {
	ID         string     `json:"id"`
	Mode       hookd.Mode `json:"mode"`
	Prefix     string     `json:"prefix"`
	Key        string     `json:"key"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at"`
	RevokedAt  *time.Time `json:"revoked_at"`
}

func (k remoteKey) apiKey(tenantID string) *hookd.APIKey {
	return &hookd.APIKey{ID: k.ID, TenantID: tenantID, Mode: k.Mode, Prefix: k.Prefix, CreatedAt: k.CreatedAt,
		LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt}
}

func (r *remoteAdmin) CreateTenant(ctx context.Context, name string) (*hookd.Tenant, error) {
	var t remoteTenant
	if err := r.call(ctx, http.MethodPost, "/v1/tenants", map[string]string{"name": name}, &t); err != nil {
		return nil, err
	}
	return t.tenant(), nil
}

// tenantPage is one page of GET /v1/tenants, with the cursor to the next
// (opaque: the API's, passed back as it was given).
type tenantPage struct {
	Data       []remoteTenant `json:"data"`
	NextCursor *string        `json:"next_cursor"`
}

func (r *remoteAdmin) ListTenants(ctx context.Context) ([]*hookd.Tenant, error) {
	var out []*hookd.Tenant
	cursor := ""
	for {
		var page tenantPage
		if err := r.call(ctx, http.MethodGet, "/v1/tenants?limit=1000&cursor="+url.QueryEscape(cursor), nil, &page); err != nil {
			return nil, err
		}
		for _, t := range page.Data {
			out = append(out, t.tenant())
		}
		if page.NextCursor == nil || len(page.Data) == 0 {
			return out, nil
		}
		cursor = *page.NextCursor
	}
}

func (r *remoteAdmin) FindTenantByName(ctx context.Context, name string) (*hookd.Tenant, error) {
	var page []remoteTenant
	if err := r.call(ctx, http.MethodGet, "/v1/tenants?limit=1000&search="+url.QueryEscape(name), nil, &page); err != nil {
		return nil, err
	}
	for _, t := range page {
		if t.Name == name {
			return t.tenant(), nil
		}
	}
	return nil, hookd.Errorf(hookd.ENOTFOUND, "tenant %q not found", name)
}

func (r *remoteAdmin) CreateAPIKey(ctx context.Context, tenantID string, m hookd.Mode) (*hookd.APIKey, string, error) {
	var k remoteKey
	if err := r.call(ctx, http.MethodPost, "/v1/tenants/"+url.PathEscape(tenantID)+"/keys", map[string]string{"mode": string(m)}, &k); err != nil {
		return nil, "", err
	}
	return k.apiKey(tenantID), k.Key, nil
}

func (r *remoteAdmin) ListAPIKeys(ctx context.Context, tenantID string) ([]*hookd.APIKey, error) {
	ids := []string{tenantID}
	if tenantID == "" {
		ts, err := r.ListTenants(ctx)
		if err != nil {
			return nil, err
		}
		ids = ids[:0]
		for _, t := range ts {
			ids = append(ids, t.ID)
		}
	}
	var out []*hookd.APIKey
	for _, id := range ids {
		var keys []remoteKey
		if err := r.call(ctx, http.MethodGet, "/v1/tenants/"+url.PathEscape(id)+"/keys", nil, &keys); err != nil {
			return nil, err
		}
		for _, k := range keys {
			out = append(out, k.apiKey(id))
		}
	}
	return out, nil
}

func (r *remoteAdmin) RevokeAPIKey(context.Context, string) error {
	return fmt.Errorf("%w: with --url, name the key's tenant: hookd key revoke --tenant NAME KEY_ID", errUsage)
}

func (r *remoteAdmin) RevokeTenantAPIKey(ctx context.Context, tenantID, id string) error {
	return r.call(ctx, http.MethodDelete, "/v1/tenants/"+url.PathEscape(tenantID)+"/keys/"+url.PathEscape(id), nil, nil)
}
