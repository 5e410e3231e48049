package svix

import (
	"net/http"
	"net/url"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat"
)

// appJSON is Svix's ApplicationOut.
type appJSON struct {
	ID        string            `json:"id"`
	UID       *string           `json:"uid,omitempty"`
	Name      string            `json:"name"`
	RateLimit *int              `json:"rateLimit,omitempty"`
	Metadata  map[string]string `json:"metadata"`
	CreatedAt string            `json:"createdAt"`
	UpdatedAt string            `json:"updatedAt"`
}

func toApp(t *hookd.Tenant) appJSON {
	out := appJSON{
		ID: appID(t.ID), Name: t.Name, Metadata: userMetadata(t.Metadata),
		CreatedAt: timeJSON(t.CreatedAt), UpdatedAt: timeJSON(t.UpdatedAt),
	}
	if n, ok := t.Metadata[MetaName]; ok {
		out.Name = n
	}
	if t.UID != "" {
		uid := t.UID
		out.UID = &uid
	}
	return out
}

// appIn is Svix's ApplicationIn (and, with every field optional, its
// ApplicationPatch). rateLimit/throttleRate are read and not kept: hookd's
// per-tenant limit is the operator's publish_rate, not Svix's per-endpoint
// throttle.
type appIn struct {
	Name     *string                     `json:"name"`
	UID      nullable[string]            `json:"uid"`
	Metadata nullable[map[string]string] `json:"metadata"`
}

func (a *api) listApps(w http.ResponseWriter, r *http.Request) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	var apps []appJSON
	read := func(cursor string, limit int) ([]*hookd.Tenant, error) {
		ts, _, err := a.svc.Tenants.FindTenants(r.Context(), hookd.TenantFilter{Page: hookd.Page{Limit: limit, Cursor: cursor}})
		for _, t := range ts {
			if t.ID != hookd.OperatorTenantID { // not an application
				apps = append(apps, toApp(t))
			}
		}
		return ts, err
	}
	if p.desc {
		err = each(func(cursor string) ([]*hookd.Tenant, error) { return read(cursor, hookd.MaxPageLimit) },
			func(t *hookd.Tenant) string { return t.ID }, func(*hookd.Tenant) bool { return true })
	} else {
		// One more than the page, and one more for the operator's tenant.
		_, err = read(swapPrefix(p.iterator, "app_", "ten_"), p.limit+2)
		if len(apps) > p.limit+1 {
			apps = apps[:p.limit+1]
		}
	}
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, answer(p, apps, func(a appJSON) string { return a.ID }))
	return nil
}

// createApp is POST /app: with ?get_if_exists=true, an application of the
// same uid is answered (200) instead of a 409.
func (a *api) createApp(w http.ResponseWriter, r *http.Request) error {
	var in appIn
	if err := a.decode(r, &in); err != nil {
		return err
	}
	t, created, err := a.putTenant(r, in)
	if err != nil {
		return err
	}
	if !created {
		if r.URL.Query().Get("get_if_exists") != "true" {
			return hookd.Errorf(hookd.ECONFLICT, "an application with uid %q already exists", t.UID)
		}
		compat.WriteJSON(w, http.StatusOK, toApp(t))
		return nil
	}
	compat.WriteJSON(w, http.StatusCreated, toApp(t))
	return nil
}

// putTenant creates the tenant of an ApplicationIn, or finds the one with
// its uid. Svix's names need not be unique and hookd's must: a name that
// another tenant has gets a suffix in hookd, and Svix's is kept in
// metadata.
func (a *api) putTenant(r *http.Request, in appIn) (*hookd.Tenant, bool, error) {
	if in.Name == nil || *in.Name == "" {
		return nil, false, hookd.Errorf(hookd.EINVALID, "name is required")
	}
	t := &hookd.Tenant{Name: *in.Name}
	if in.UID.Value != nil {
		t.UID = *in.UID.Value
	}
	if in.Metadata.Value != nil {
		m, err := withOwn(*in.Metadata.Value, nil)
		if err != nil {
			return nil, false, err
		}
		t.Metadata = m
	}
	got, created, err := a.svc.Tenants.PutTenant(r.Context(), copyTenant(t))
	if hookd.ErrorCode(err) == hookd.ECONFLICT {
		// The name is another tenant's: keep Svix's in metadata.
		alt := copyTenant(t)
		alt.Name = *in.Name + " (" + suffix(t) + ")"
		if alt.Metadata == nil {
			alt.Metadata = map[string]string{}
		}
		alt.Metadata[MetaName] = *in.Name
		got, created, err = a.svc.Tenants.PutTenant(r.Context(), alt)
	}
	return got, created, err
}

func copyTenant(t *hookd.Tenant) *hookd.Tenant {
	c := *t
	if t.Metadata != nil {
		c.Metadata = map[string]string{}
		for k, v := range t.Metadata {
			c.Metadata[k] = v
		}
	}
	return &c
}

// suffix tells a tenant apart from another of the same Svix name.
func suffix(t *hookd.Tenant) string {
	if t.UID != "" {
		return t.UID
	}
	return hookd.NewID("app")[4:]
}

func (a *api) getApp(w http.ResponseWriter, r *http.Request) error {
	t, err := a.svc.Tenants.FindTenant(r.Context(), tenantRef(r.PathValue("app_id")))
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, toApp(t))
	return nil
}

// putApp is PUT /app/{app_id}: an update, or a create (201) when a uid
// names no application yet.
func (a *api) putApp(w http.ResponseWriter, r *http.Request) error {
	var in appIn
	if err := a.decode(r, &in); err != nil {
		return err
	}
	if in.Name == nil {
		return hookd.Errorf(hookd.EINVALID, "name is required")
	}
	ref := tenantRef(r.PathValue("app_id"))
	if _, err := a.svc.Tenants.FindTenant(r.Context(), ref); hookd.ErrorCode(err) == hookd.ENOTFOUND && !hookd.IsTenantID(ref) {
		if !in.UID.Set {
			in.UID = nullable[string]{Set: true, Value: &ref}
		}
		t, _, err := a.putTenant(r, in)
		if err != nil {
			return err
		}
		compat.WriteJSON(w, http.StatusCreated, toApp(t))
		return nil
	} else if err != nil {
		return err
	}
	if !in.Metadata.Set {
		in.Metadata = nullable[map[string]string]{Set: true, Value: &map[string]string{}}
	}
	return a.updateApp(w, r, ref, in)
}

func (a *api) patchApp(w http.ResponseWriter, r *http.Request) error {
	var in appIn
	if err := a.decode(r, &in); err != nil {
		return err
	}
	return a.updateApp(w, r, tenantRef(r.PathValue("app_id")), in)
}

func (a *api) updateApp(w http.ResponseWriter, r *http.Request, ref string, in appIn) error {
	cur, err := a.svc.Tenants.FindTenant(r.Context(), ref)
	if err != nil {
		return err
	}
	var u hookd.TenantUpdate
	if in.UID.Set {
		uid := ""
		if in.UID.Value != nil {
			uid = *in.UID.Value
		}
		u.UID = &uid
	}
	meta := cur.Metadata
	if in.Metadata.Set {
		user := map[string]string{}
		if in.Metadata.Value != nil {
			user = *in.Metadata.Value
		}
		if meta, err = withOwn(user, cur.Metadata); err != nil {
			return err
		}
	}
	if in.Name != nil && *in.Name != toApp(cur).Name {
		if *in.Name == "" {
			return hookd.Errorf(hookd.EINVALID, "name must not be empty")
		}
		meta = copyTenant(&hookd.Tenant{Metadata: meta}).Metadata
		if meta == nil {
			meta = map[string]string{}
		}
		delete(meta, MetaName)
		name := *in.Name
		u.Name = &name
		u.Metadata = &meta
		t, err := a.svc.Tenants.UpdateTenant(r.Context(), cur.ID, u)
		if hookd.ErrorCode(err) == hookd.ECONFLICT && (u.UID == nil || *u.UID == cur.UID) {
			alt := name + " (" + suffix(cur) + ")"
			meta[MetaName] = name
			u.Name = &alt
			t, err = a.svc.Tenants.UpdateTenant(r.Context(), cur.ID, u)
		}
		if err != nil {
			return err
		}
		compat.WriteJSON(w, http.StatusOK, toApp(t))
		return nil
	}
	u.Metadata = &meta
	t, err := a.svc.Tenants.UpdateTenant(r.Context(), cur.ID, u)
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, toApp(t))
	return nil
}

func (a *api) deleteApp(w http.ResponseWriter, r *http.Request) error {
	if err := a.svc.Tenants.DeleteTenant(r.Context(), tenantRef(r.PathValue("app_id"))); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// portalAccess is POST /auth/app-portal-access/{app_id}: a single-use
// link into hookd's customer portal for the application (live mode unless
// Hookd-Mode says test). An ApplicationIn in "application" creates the
// application first if its uid names none.
func (a *api) portalAccess(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Application *appIn `json:"application"`
		Expiry      *int   `json:"expiry"` // seconds
		ReadOnly    bool   `json:"readOnly"`
	}
	if r.ContentLength != 0 {
		if err := a.decode(r, &in); err != nil {
			return err
		}
	}
	ref := tenantRef(r.PathValue("app_id"))
	if in.Application != nil && !hookd.IsTenantID(ref) {
		if !in.Application.UID.Set {
			in.Application.UID = nullable[string]{Set: true, Value: &ref}
		}
		if _, _, err := a.putTenant(r, *in.Application); err != nil {
			return err
		}
	}
	req := hookd.PortalLinkRequest{Mode: hookd.ModeLive, ReadOnly: in.ReadOnly, MakerKeyID: callerFrom(r.Context()).KeyID}
	if m := r.Header.Get(hookd.ModeHeader); m != "" {
		req.Mode = hookd.Mode(m)
	}
	if in.Expiry != nil {
		req.TTL = time.Duration(*in.Expiry) * time.Second
		if req.TTL < time.Minute {
			return hookd.Errorf(hookd.EINVALID, "expiry must be at least 60 seconds")
		}
	}
	_, token, err := a.svc.Tenants.CreatePortalLink(r.Context(), ref, req)
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, struct {
		URL   string `json:"url"`
		Token string `json:"token"`
	}{a.portalURL(r) + "?token=" + url.QueryEscape(token), token})
	return nil
}

// portalURL is the absolute portal address on the host that served r.
func (a *api) portalURL(r *http.Request) string {
	u := a.opts.PortalURL
	if len(u) > 0 && u[0] == '/' {
		scheme := "http"
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		return scheme + "://" + r.Host + u
	}
	return u
}
