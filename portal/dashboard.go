package portal

import (
	"net/http"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

func (h *Handler) routeDashboard() {
	h.mux.HandleFunc("GET /dashboard/{$}", h.signInPage)
	h.mux.HandleFunc("POST /dashboard/sign-in", h.signIn)
	get := func(p string, fn handler) { h.mux.Handle("GET /dashboard/s/{sid}"+p, h.page(true, read, fn)) }
	post := func(p string, fn handler) { h.mux.Handle("POST /dashboard/s/{sid}"+p, h.page(true, change, fn)) }
	get("/{$}", h.overview)
	get("/tenants", h.tenants)
	post("/tenants", h.createTenant)
	get("/tenants/{id}", h.tenant)
	post("/tenants/{id}/keys", h.createKey)
	post("/tenants/{id}/keys/{key}/revoke", h.revokeKey)
	post("/tenants/{id}/portal", h.openPortal)
	post("/logout", func(w http.ResponseWriter, r *http.Request, s *session) error {
		if err := h.svc.Sessions.End(r.Context(), s.token); err != nil {
			return err
		}
		seeOther(w, r, "/dashboard/")
		return nil
	})
}

func (h *Handler) signInPage(w http.ResponseWriter, _ *http.Request) {
	h.render(w, http.StatusOK, "signin", &view{Title: "Operator dashboard"})
}

// signIn takes the operator key from a form field (never from the URL) and
// starts a session.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := checkSameSite(r); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	_, tok, err := h.svc.Sessions.SignIn(r.Context(), strings.TrimSpace(r.PostFormValue("key")), h.cfg.SessionTTL)
	if err != nil {
		if st := hookd.HTTPStatus(hookd.ErrorCode(err)); st == http.StatusUnauthorized || st == http.StatusForbidden {
			h.render(w, st, "signin", &view{Title: "Operator dashboard", Data: hookd.ErrorMessage(err)})
			return
		}
		h.fail(w, r, nil, err)
		return
	}
	seeOther(w, r, "/dashboard/s/"+tok+"/")
}

// overviewPage is the dashboard's first page.
type overviewPage struct {
	Queue   hookd.QueueStats
	AsOf    string // when Queue was read, if from the history; "": now
	History queueHistory
	Failing []*hookd.Webhook
	// The operator's event endpoints: the operator tenant's live webhooks
	// (the first page; OwnTotal counts them all).
	Own      []*hookd.Webhook
	OwnTotal int
	OwnID    string
}

func (h *Handler) overview(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	win, err := historyWindow(r.URL.Query().Get("history"))
	if err != nil {
		return err
	}
	// The queue as the maintenance loop read it last (at most two minutes
	// ago), or, if nothing sampled it lately, as counted now: a backlog of
	// a million pending rows takes half a second to count.
	var (
		q    hookd.QueueStats
		asOf string
	)
	recent, err := h.svc.Stats.RecentQueue(ctx, 2*time.Minute)
	if err != nil {
		return err
	}
	if recent != nil {
		q = hookd.QueueStats{Pending: recent.Pending, Due: recent.Due, OldestDueAge: recent.OldestDueAge}
		asOf = recent.At.UTC().Format("15:04") + " UTC"
	} else if q, err = h.svc.Stats.Queue(ctx); err != nil {
		return err
	}
	points, err := h.svc.Stats.QueueHistory(ctx, win.Span, win.Buckets)
	if err != nil {
		return err
	}
	failing, err := h.svc.Stats.FailingWebhooks(ctx, 20)
	if err != nil {
		return err
	}
	s.v.Title, s.v.Nav = "Overview", "home"
	own, ownTotal, err := h.svc.Webhooks.FindWebhooks(ctx, hookd.Scope{TenantID: hookd.OperatorTenantID, Mode: hookd.ModeLive},
		hookd.WebhookFilter{Page: hookd.Page{Limit: 20}})
	if err != nil && hookd.ErrorCode(err) != hookd.ENOTFOUND {
		return err
	}
	s.v.Data = overviewPage{Queue: q, AsOf: asOf, History: newQueueHistory(points, win), Failing: failing,
		Own: own, OwnTotal: ownTotal, OwnID: hookd.OperatorTenantID}
	h.render(w, http.StatusOK, "dash_overview", s.v)
	return nil
}

// historyWindow is the queue history's window named by key ("" is the
// first), or EINVALID.
func historyWindow(key string) (queueWindow, error) {
	if key == "" {
		return queueWindows[0], nil
	}
	for _, w := range queueWindows {
		if w.Key == key {
			return w, nil
		}
	}
	return queueWindow{}, hookd.Errorf(hookd.EINVALID, "history must be 1h, 24h or 7d")
}

// tenantsPage lists tenants with the search as typed.
type tenantsPage struct {
	Search string
	Rows   []*hookd.Tenant
	Total  int
	Next   string
	Error  string
}

func (h *Handler) tenants(w http.ResponseWriter, r *http.Request, s *session) error {
	return h.showTenants(w, r, s, "", http.StatusOK)
}

func (h *Handler) showTenants(w http.ResponseWriter, r *http.Request, s *session, formErr string, status int) error {
	q := r.URL.Query()
	p := tenantsPage{Search: q.Get("search"), Error: formErr}
	var err error
	p.Rows, p.Total, err = h.svc.Tenants.FindTenants(r.Context(), hookd.TenantFilter{Search: p.Search, Page: hookd.Page{Limit: pageLimit, Cursor: q.Get("cursor")}})
	if err != nil {
		return err
	}
	if len(p.Rows) == pageLimit {
		q.Set("cursor", p.Rows[len(p.Rows)-1].ID)
		p.Next = q.Encode()
	}
	s.v.Title, s.v.Nav, s.v.Data = "Tenants", "tenants", p
	h.render(w, status, "dash_tenants", s.v)
	return nil
}

func (h *Handler) createTenant(w http.ResponseWriter, r *http.Request, s *session) error {
	t, _, err := h.svc.Tenants.PutTenant(r.Context(), &hookd.Tenant{UID: strings.TrimSpace(r.PostFormValue("uid")), Name: strings.TrimSpace(r.PostFormValue("name"))})
	if err != nil {
		if st := hookd.HTTPStatus(hookd.ErrorCode(err)); st < 500 {
			return h.showTenants(w, r, s, hookd.ErrorMessage(err), st)
		}
		return err
	}
	seeOther(w, r, s.v.Base+"/tenants/"+t.ID)
	return nil
}

// tenantPage is one tenant with its keys; NewKey is shown once.
type tenantPage struct {
	*hookd.Tenant
	Keys   []*hookd.APIKey
	NewKey string
}

func (h *Handler) tenantData(r *http.Request) (*tenantPage, error) {
	t, err := h.svc.Tenants.FindTenant(r.Context(), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	keys, err := h.svc.Tenants.ListAPIKeys(r.Context(), t.ID)
	if err != nil {
		return nil, err
	}
	return &tenantPage{Tenant: t, Keys: keys}, nil
}

func (h *Handler) tenant(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := h.tenantData(r)
	if err != nil {
		return err
	}
	s.v.Title, s.v.Nav, s.v.Data = "Tenant", "tenants", p
	s.v.Flash = r.URL.Query().Get("flash")
	h.render(w, http.StatusOK, "dash_tenant", s.v)
	return nil
}

// createKey makes a tenant key and shows it on the answer to the POST,
// once: it is never in a URL.
func (h *Handler) createKey(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := h.tenantData(r)
	if err != nil {
		return err
	}
	m, err := hookd.ParseMode(r.PostFormValue("mode"))
	if err != nil {
		return err
	}
	_, plain, err := h.svc.Tenants.CreateAPIKey(r.Context(), p.ID, m)
	if err != nil {
		return err
	}
	if p.Keys, err = h.svc.Tenants.ListAPIKeys(r.Context(), p.ID); err != nil {
		return err
	}
	p.NewKey = plain
	s.v.Title, s.v.Nav, s.v.Data = "Tenant", "tenants", p
	h.render(w, http.StatusOK, "dash_tenant", s.v)
	return nil
}

func (h *Handler) revokeKey(w http.ResponseWriter, r *http.Request, s *session) error {
	t, err := h.svc.Tenants.FindTenant(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if err := h.svc.Tenants.RevokeTenantAPIKey(r.Context(), t.ID, r.PathValue("key")); err != nil {
		return err
	}
	seeOther(w, r, s.v.Base+"/tenants/"+t.ID+"?flash=Key+revoked.")
	return nil
}

// openPortal makes a portal link for the tenant and spends it at once:
// the link is never shown, and the operator lands in the portal. The link
// is made by the operator key the dashboard session stands on, so revoking
// that key ends the portal session too.
func (h *Handler) openPortal(w http.ResponseWriter, r *http.Request, s *session) error {
	m, err := hookd.ParseMode(r.PostFormValue("mode"))
	if err != nil {
		return err
	}
	_, tok, err := h.svc.Tenants.CreatePortalLink(r.Context(), r.PathValue("id"), hookd.PortalLinkRequest{
		Mode: m, ReadOnly: r.PostFormValue("read_only") == "on", MakerKeyID: s.OperatorKeyID,
	})
	if err != nil {
		return err
	}
	_, sess, err := h.svc.Sessions.EnterPortal(r.Context(), tok, h.cfg.SessionTTL)
	if err != nil {
		return err
	}
	seeOther(w, r, "/portal/s/"+sess+"/endpoints")
	return nil
}
