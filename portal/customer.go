package portal

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// session is a request's resumed session.
type session struct {
	*hookd.Session
	token string
	v     *view
}

// handler is what a page of a session does; its error is rendered by fail.
type handler func(w http.ResponseWriter, r *http.Request, s *session) error

// pageLimit is how many rows a list page shows.
const pageLimit = 50

func (h *Handler) routeCustomer() {
	h.mux.HandleFunc("GET /portal/enter", h.enterPage)
	h.mux.HandleFunc("POST /portal/enter", h.enter)
	h.mux.HandleFunc("GET /portal/{$}", h.home)
	get := func(p string, fn handler) { h.mux.Handle("GET /portal/s/{sid}"+p, h.page(false, read, fn)) }
	post := func(p string, fn handler) { h.mux.Handle("POST /portal/s/{sid}"+p, h.page(false, change, fn)) }
	get("/{$}", func(w http.ResponseWriter, r *http.Request, s *session) error {
		http.Redirect(w, r, s.v.Base+"/endpoints", http.StatusFound)
		return nil
	})
	get("/endpoints", h.endpoints)
	get("/endpoints/new", h.newEndpoint)
	post("/endpoints", h.createEndpoint)
	get("/endpoints/{id}", h.endpoint)
	get("/endpoints/{id}/edit", h.editEndpoint)
	post("/endpoints/{id}", h.updateEndpoint)
	post("/endpoints/{id}/enable", h.setEnabled(true))
	post("/endpoints/{id}/disable", h.setEnabled(false))
	get("/endpoints/{id}/delete", h.confirmDelete)
	post("/endpoints/{id}/delete", h.deleteEndpoint)
	get("/endpoints/{id}/secret", h.revealSecret)
	post("/endpoints/{id}/rotate", h.rotateSecret)
	post("/endpoints/{id}/test", h.sendTest)
	post("/endpoints/{id}/recover", h.recoverEndpoint)
	get("/catalog", h.catalog)
	get("/deliveries", h.deliveries)
	get("/deliveries/{id}", h.delivery)
	post("/deliveries/{id}/retry", h.retryDelivery)
	// check-filter only reads: a read-only session may use it too.
	h.mux.Handle("POST /portal/s/{sid}/check-filter", h.page(false, check, h.checkFilter))
	h.mux.Handle("POST /portal/s/{sid}/logout", h.page(false, check, func(w http.ResponseWriter, r *http.Request, s *session) error {
		if err := h.svc.Sessions.End(r.Context(), s.token); err != nil {
			return err
		}
		h.render(w, http.StatusOK, "ended", &view{Title: "Signed out"})
		return nil
	}))
}

// home answers /portal/ without a session.
func (h *Handler) home(w http.ResponseWriter, r *http.Request) {
	h.fail(w, r, nil, hookd.Errorf(hookd.EUNAUTHORIZED, "open the portal with the link your provider gave you"))
}

// enterPage answers a portal link's GET with a page whose button spends
// it (a POST), so that a link preview or a mail scanner that fetches the
// link spends nothing. In a frame, the page's script presses the button at
// once: a product that embeds the portal shows it without a click.
func (h *Handler) enterPage(w http.ResponseWriter, r *http.Request) {
	tok := r.URL.Query().Get("token")
	if tok == "" {
		h.fail(w, r, nil, hookd.Errorf(hookd.EINVALID, "the link has no token"))
		return
	}
	h.render(w, http.StatusOK, "enter", &view{Title: "Open the portal", Data: tok})
}

// enter spends a portal link and starts a session. The form must come
// from hookd's own page: another site cannot sign a browser into a
// portal of its choosing.
func (h *Handler) enter(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := checkSameSite(r); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	tok := r.PostFormValue("token")
	if tok == "" {
		h.fail(w, r, nil, hookd.Errorf(hookd.EINVALID, "the link has no token"))
		return
	}
	_, sess, err := h.svc.Sessions.EnterPortal(r.Context(), tok, h.cfg.SessionTTL)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/portal/s/"+sess+"/endpoints", http.StatusSeeOther)
}

// resume finds the request's session; operator says which kind it must be.
func (h *Handler) resume(r *http.Request, operator bool) (*session, error) {
	tok := r.PathValue("sid")
	sess, err := h.svc.Sessions.Resume(r.Context(), tok)
	if err != nil {
		return nil, err
	}
	if sess.Operator() != operator {
		return nil, hookd.Errorf(hookd.EUNAUTHORIZED, "the session has ended: open a new portal link, or sign in again")
	}
	v := &view{CSRF: csrfToken(tok), ReadOnly: sess.ReadOnly, Operator: operator, Mode: sess.Mode}
	if operator {
		v.Base = "/dashboard/s/" + tok
	} else {
		v.Base = "/portal/s/" + tok
		if v.Tenant, err = h.svc.Tenants.FindTenantByID(r.Context(), sess.TenantID); err != nil {
			return nil, err
		}
	}
	return &session{Session: sess, token: tok, v: v}, nil
}

// what a page of a session may do.
type access int

const (
	read   access = iota // a GET
	check                // a POST that changes nothing: the CSRF token, read-only allowed
	change               // a POST that changes: the CSRF token, not read-only
)

// errReadOnly refuses a change in a read-only session.
var errReadOnly = hookd.Errorf(hookd.EFORBIDDEN, "this portal link is read-only: it shows everything and changes nothing")

// page wraps a page of a session: of the dashboard if operator, else of
// the portal.
func (h *Handler) page(operator bool, a access, fn handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := h.resume(r, operator)
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		if a != read {
			r.Body = http.MaxBytesReader(w, r.Body, maxForm)
			err = checkChange(r, s.token)
		}
		if err == nil && a == change && s.ReadOnly {
			err = errReadOnly
		}
		if err == nil {
			err = fn(w, r, s)
		}
		if err != nil {
			h.fail(w, r, s.v, err)
		}
	})
}

// endpointRow is a line of the endpoints list.
type endpointRow struct {
	*hookd.Webhook
	Health hookd.WebhookHealth
}

// Rate is the success rate as text, or "—".
func (e endpointRow) Rate() string {
	r, ok := e.Health.SuccessRate()
	if !ok {
		return "—"
	}
	return fmt.Sprintf("%.1f %%", r*100)
}

// Healthy says how the rate reads: "good", "warn", "bad" or "none".
func (e endpointRow) Healthy() string {
	r, ok := e.Health.SuccessRate()
	switch {
	case !ok:
		return "none"
	case r >= 0.99:
		return "good"
	case r >= 0.9:
		return "warn"
	}
	return "bad"
}

type endpointsPage struct {
	Rows  []endpointRow
	Total int
	Next  string
}

func (h *Handler) endpoints(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	ws, total, err := h.svc.Webhooks.FindWebhooks(ctx, s.Scope(), hookd.WebhookFilter{Page: hookd.Page{Limit: pageLimit, Cursor: r.URL.Query().Get("cursor")}})
	if err != nil {
		return err
	}
	ids := make([]string, len(ws))
	for i, wh := range ws {
		ids[i] = wh.ID
	}
	health, err := h.svc.Stats.Health(ctx, s.Scope(), ids, 24*time.Hour)
	if err != nil {
		return err
	}
	p := endpointsPage{Total: total}
	for _, wh := range ws {
		p.Rows = append(p.Rows, endpointRow{Webhook: wh, Health: health[wh.ID]})
	}
	if len(ws) == pageLimit {
		p.Next = ws[len(ws)-1].ID
	}
	s.v.Title, s.v.Nav, s.v.Data = "Endpoints", "endpoints", p
	h.render(w, http.StatusOK, "endpoints", s.v)
	return nil
}

// endpointForm is the create and edit form, as typed.
type endpointForm struct {
	ID          string
	URL         string
	Name        string
	Description string
	EventTypes  map[string]bool
	Extra       string // wildcards and names outside the catalog, comma-separated
	Filter      string
	Fields      string
	Headers     string
	RateLimit   string
	Error       string
	Catalog     []resourceGroup
}

// resourceGroup is a resource of the catalog with its event types.
type resourceGroup struct {
	Resource string
	Types    []*hookd.EventType
}

// catalogGroups reads the whole catalog (at most MaxPageLimit types),
// grouped by resource.
func (h *Handler) catalogGroups(ctx context.Context, sc hookd.Scope) ([]resourceGroup, error) {
	ts, _, err := h.svc.EventTypes.FindEventTypes(ctx, sc, hookd.EventTypeFilter{Page: hookd.Page{Limit: hookd.MaxPageLimit}})
	if err != nil {
		return nil, err
	}
	var out []resourceGroup
	for _, t := range ts {
		res := hookd.ResourceOf(t.Name)
		if len(out) == 0 || out[len(out)-1].Resource != res {
			out = append(out, resourceGroup{Resource: res})
		}
		out[len(out)-1].Types = append(out[len(out)-1].Types, t)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Resource < out[j].Resource })
	return out, nil
}

func formOf(wh *hookd.Webhook) *endpointForm {
	f := &endpointForm{ID: wh.ID, URL: wh.URL, Name: wh.Name, Description: wh.Description, EventTypes: map[string]bool{},
		Fields: strings.Join(wh.Fields, ", ")}
	for _, t := range wh.EventTypes {
		f.EventTypes[t] = true
	}
	if len(wh.Filter) > 0 && string(wh.Filter) != "null" {
		f.Filter = prettyJSON(wh.Filter)
	}
	keys := make([]string, 0, len(wh.Headers))
	for k := range wh.Headers {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		f.Headers += k + ": " + wh.Headers[k] + "\n"
	}
	if wh.RateLimit != nil {
		f.RateLimit = strconv.Itoa(*wh.RateLimit)
	}
	return f
}

// readForm reads the posted endpoint form.
func readForm(r *http.Request) *endpointForm {
	f := &endpointForm{
		ID: r.PathValue("id"), URL: strings.TrimSpace(r.PostFormValue("url")), Name: r.PostFormValue("name"),
		Description: r.PostFormValue("description"), Extra: r.PostFormValue("event_types_extra"),
		Filter: strings.TrimSpace(r.PostFormValue("filter")), Fields: r.PostFormValue("fields"),
		Headers: r.PostFormValue("headers"), RateLimit: strings.TrimSpace(r.PostFormValue("rate_limit")),
		EventTypes: map[string]bool{},
	}
	for _, t := range r.PostForm["event_types"] {
		f.EventTypes[t] = true
	}
	return f
}

// update turns the form into a webhook update, or an EINVALID naming the field.
func (f *endpointForm) update() (hookd.WebhookUpdate, error) {
	u := hookd.WebhookUpdate{URL: &f.URL, Name: &f.Name, Description: &f.Description}
	types := []string{}
	for t := range f.EventTypes {
		types = append(types, t)
	}
	types = append(types, splitList(f.Extra)...)
	sort.Strings(types)
	u.EventTypes = &types
	var filter json.RawMessage
	if f.Filter != "" {
		if _, err := hookd.ParseFilter([]byte(f.Filter)); err != nil {
			return u, hookd.Errorf(hookd.EINVALID, "filter %s", hookd.ErrorMessage(err))
		}
		filter = json.RawMessage(f.Filter)
	}
	u.Filter = &filter
	fields := splitList(f.Fields)
	u.Fields = &fields
	headers := map[string]string{}
	for i, line := range strings.Split(f.Headers, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			return u, hookd.Errorf(hookd.EINVALID, "headers: line %d must read Name: value", i+1)
		}
		headers[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	u.Headers = &headers
	var rate *int
	if f.RateLimit != "" {
		n, err := strconv.Atoi(f.RateLimit)
		if err != nil {
			return u, hookd.Errorf(hookd.EINVALID, "rate limit must be a whole number of deliveries per second")
		}
		rate = &n
	}
	u.RateLimit = &rate
	return u, nil
}

// splitList splits a comma- or space-separated list; never nil.
func splitList(s string) []string {
	return append([]string{}, strings.FieldsFunc(s, func(r rune) bool {
		return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t'
	})...)
}

func (h *Handler) showForm(w http.ResponseWriter, r *http.Request, s *session, f *endpointForm, status int) error {
	cat, err := h.catalogGroups(r.Context(), s.Scope())
	if err != nil {
		return err
	}
	f.Catalog = cat
	s.v.Nav, s.v.Data = "endpoints", f
	s.v.Title = "New endpoint"
	if f.ID != "" {
		s.v.Title = "Edit endpoint"
	}
	h.render(w, status, "endpoint_form", s.v)
	return nil
}

func (h *Handler) newEndpoint(w http.ResponseWriter, r *http.Request, s *session) error {
	if s.ReadOnly {
		return errReadOnly
	}
	return h.showForm(w, r, s, &endpointForm{EventTypes: map[string]bool{}}, http.StatusOK)
}

// formError re-renders the form with a client's error, or returns any other.
func (h *Handler) formError(w http.ResponseWriter, r *http.Request, s *session, f *endpointForm, err error) error {
	st := hookd.HTTPStatus(hookd.ErrorCode(err))
	if st >= 500 || st == http.StatusNotFound {
		return err
	}
	f.Error = hookd.ErrorMessage(err)
	return h.showForm(w, r, s, f, st)
}

func (h *Handler) createEndpoint(w http.ResponseWriter, r *http.Request, s *session) error {
	f := readForm(r)
	u, err := f.update()
	if err != nil {
		return h.formError(w, r, s, f, err)
	}
	wh := &hookd.Webhook{Enabled: true, TLSVerify: true}
	u.Apply(wh, time.Time{})
	if err := h.svc.Webhooks.CreateWebhook(r.Context(), s.Scope(), wh); err != nil {
		return h.formError(w, r, s, f, err)
	}
	seeOther(w, r, s.v.Base+"/endpoints/"+wh.ID)
	return nil
}

func (h *Handler) editEndpoint(w http.ResponseWriter, r *http.Request, s *session) error {
	if s.ReadOnly {
		return errReadOnly
	}
	wh, err := h.svc.Webhooks.FindWebhookByID(r.Context(), s.Scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	return h.showForm(w, r, s, formOf(wh), http.StatusOK)
}

func (h *Handler) updateEndpoint(w http.ResponseWriter, r *http.Request, s *session) error {
	f := readForm(r)
	u, err := f.update()
	if err != nil {
		return h.formError(w, r, s, f, err)
	}
	if _, err := h.svc.Webhooks.UpdateWebhook(r.Context(), s.Scope(), f.ID, u); err != nil {
		return h.formError(w, r, s, f, err)
	}
	seeOther(w, r, s.v.Base+"/endpoints/"+f.ID)
	return nil
}

// endpointPage is one endpoint: its settings, health, charts and recent deliveries.
type endpointPage struct {
	*hookd.Webhook
	Filter     string
	Health     endpointRow
	Day, Week  chart
	Deliveries []*hookd.Delivery
	Secret     string // shown only on the reveal page
	Rotated    bool
	Since      string // the recover form's default: a day ago
}

func (h *Handler) endpointData(ctx context.Context, s *session, id string) (*endpointPage, error) {
	sc := s.Scope()
	wh, err := h.svc.Webhooks.FindWebhookByID(ctx, sc, id)
	if err != nil {
		return nil, err
	}
	health, err := h.svc.Stats.Health(ctx, sc, []string{id}, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	day, err := h.svc.Stats.Series(ctx, sc, id, 24*time.Hour, 24)
	if err != nil {
		return nil, err
	}
	week, err := h.svc.Stats.Series(ctx, sc, id, 7*24*time.Hour, 28)
	if err != nil {
		return nil, err
	}
	ds, err := h.svc.Deliveries.FindDeliveries(ctx, sc, hookd.DeliveryFilter{WebhookID: id, Page: hookd.Page{Limit: 10}})
	if err != nil {
		return nil, err
	}
	p := &endpointPage{Webhook: wh, Health: endpointRow{Webhook: wh, Health: health[id]},
		Day: newChart(day, "15:04"), Week: newChart(week, "Jan 2"), Deliveries: ds,
		Since: h.cfg.Now().UTC().Add(-24 * time.Hour).Format(timeInput)}
	if len(wh.Filter) > 0 && string(wh.Filter) != "null" {
		p.Filter = prettyJSON(wh.Filter)
	}
	return p, nil
}

func (h *Handler) endpoint(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := h.endpointData(r.Context(), s, r.PathValue("id"))
	if err != nil {
		return err
	}
	p.Rotated = r.URL.Query().Get("rotated") == "1"
	s.v.Title, s.v.Nav, s.v.Data = "Endpoint", "endpoints", p
	s.v.Flash = r.URL.Query().Get("flash")
	h.render(w, http.StatusOK, "endpoint", s.v)
	return nil
}

func (h *Handler) revealSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	p, err := h.endpointData(r.Context(), s, r.PathValue("id"))
	if err != nil {
		return err
	}
	p.Secret = p.Webhook.Secret
	s.v.Title, s.v.Nav, s.v.Data = "Endpoint", "endpoints", p
	h.render(w, http.StatusOK, "endpoint", s.v)
	return nil
}

func (h *Handler) setEnabled(on bool) handler {
	return func(w http.ResponseWriter, r *http.Request, s *session) error {
		id := r.PathValue("id")
		if _, err := h.svc.Webhooks.UpdateWebhook(r.Context(), s.Scope(), id, hookd.WebhookUpdate{Enabled: &on}); err != nil {
			return err
		}
		msg := "Endpoint disabled: its pending deliveries were cancelled."
		if on {
			msg = "Endpoint enabled."
		}
		seeOther(w, r, s.v.Base+"/endpoints/"+id+"?flash="+url.QueryEscape(msg))
		return nil
	}
}

func (h *Handler) confirmDelete(w http.ResponseWriter, r *http.Request, s *session) error {
	wh, err := h.svc.Webhooks.FindWebhookByID(r.Context(), s.Scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	s.v.Title, s.v.Nav, s.v.Data = "Delete endpoint", "endpoints", wh
	h.render(w, http.StatusOK, "confirm_delete", s.v)
	return nil
}

func (h *Handler) deleteEndpoint(w http.ResponseWriter, r *http.Request, s *session) error {
	if r.PostFormValue("confirm") != "yes" {
		return hookd.Errorf(hookd.EINVALID, "confirm the deletion")
	}
	if err := h.svc.Webhooks.DeleteWebhook(r.Context(), s.Scope(), r.PathValue("id")); err != nil {
		return err
	}
	seeOther(w, r, s.v.Base+"/endpoints")
	return nil
}

func (h *Handler) rotateSecret(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	if _, err := h.svc.Webhooks.RotateWebhookSecret(r.Context(), s.Scope(), id, h.cfg.SecretGrace); err != nil {
		return err
	}
	msg := fmt.Sprintf("Secret rotated: the old one keeps signing for %s.", h.cfg.SecretGrace)
	seeOther(w, r, s.v.Base+"/endpoints/"+id+"?flash="+url.QueryEscape(msg))
	return nil
}

// testEventType is the type of a test event, as on the API.
const testEventType = "webhook.test"

// sendTest publishes a test event to one endpoint and shows its delivery,
// which reloads until it is no longer pending.
func (h *Handler) sendTest(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx, id := r.Context(), r.PathValue("id")
	if _, err := h.svc.Webhooks.FindWebhookByID(ctx, s.Scope(), id); err != nil {
		return err
	}
	now := h.cfg.Now()
	payload, _ := json.Marshal(map[string]string{"message": "This is a test event from hookd.", "sent_at": now.UTC().Format(time.RFC3339)})
	e := &hookd.Event{Type: testEventType, Data: payload, CreatedAt: now, BodyHash: hookd.ComputeBodyHash(testEventType, payload)}
	res, err := h.svc.Publisher.Publish(ctx, hookd.PublishRequest{Scope: s.Scope(), Event: e, Test: true, WebhookID: id})
	if err != nil {
		return err
	}
	ds, err := h.svc.Deliveries.FindDeliveries(ctx, s.Scope(), hookd.DeliveryFilter{WebhookID: id, EventID: res.Event.ID, Page: hookd.Page{Limit: 1}})
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return hookd.Errorf(hookd.ECONFLICT, "the endpoint is not enabled: no test delivery was made")
	}
	seeOther(w, r, s.v.Base+"/deliveries/"+ds[0].ID)
	return nil
}

// timeInput is the layout of <input type="datetime-local">, read as UTC.
const timeInput = "2006-01-02T15:04"

func parseTime(field, v string) (*time.Time, error) {
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(timeInput, v)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, v); err != nil {
			return nil, hookd.Errorf(hookd.EINVALID, "%s must be a time such as 2026-01-02T15:04 (UTC)", field)
		}
	}
	return &t, nil
}

func (h *Handler) recoverEndpoint(w http.ResponseWriter, r *http.Request, s *session) error {
	id := r.PathValue("id")
	since, err := parseTime("since", r.PostFormValue("since"))
	if err != nil {
		return err
	}
	if since == nil {
		return hookd.Errorf(hookd.EINVALID, "since is required")
	}
	n, err := h.svc.Deliveries.RecoverWebhook(r.Context(), s.Scope(), id, *since, nil)
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("%d failed deliveries since %s UTC are being sent again.", n, since.Format("2006-01-02 15:04"))
	seeOther(w, r, s.v.Base+"/endpoints/"+id+"?flash="+url.QueryEscape(msg))
	return nil
}

// checkFilter answers the form's live validation of a filter: a line of text.
func (h *Handler) checkFilter(w http.ResponseWriter, r *http.Request, s *session) error {
	msg := "The filter is valid."
	if f := strings.TrimSpace(r.PostFormValue("filter")); f == "" {
		msg = "No filter: every event of the chosen types is delivered."
	} else if _, err := hookd.ParseFilter([]byte(f)); err != nil {
		if hookd.ErrorCode(err) != hookd.EINVALID {
			return err
		}
		msg = "The filter " + hookd.ErrorMessage(err)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(msg))
	return nil
}

func (h *Handler) catalog(w http.ResponseWriter, r *http.Request, s *session) error {
	cat, err := h.catalogGroups(r.Context(), s.Scope())
	if err != nil {
		return err
	}
	s.v.Title, s.v.Nav, s.v.Data = "Event catalog", "catalog", cat
	h.render(w, http.StatusOK, "catalog", s.v)
	return nil
}

// deliveriesPage is the delivery log with its filters as typed.
type deliveriesPage struct {
	Status, Endpoint, EventType, Since, Until string
	Rows                                      []*hookd.Delivery
	Next                                      string // the query of the next page, or ""
	Statuses                                  []hookd.DeliveryStatus
}

func (h *Handler) deliveries(w http.ResponseWriter, r *http.Request, s *session) error {
	q := r.URL.Query()
	p := deliveriesPage{Status: q.Get("status"), Endpoint: q.Get("endpoint"), EventType: q.Get("event_type"),
		Since: q.Get("since"), Until: q.Get("until"),
		Statuses: []hookd.DeliveryStatus{hookd.DeliveryPending, hookd.DeliverySucceeded, hookd.DeliveryFailed, hookd.DeliveryCancelled}}
	f := hookd.DeliveryFilter{WebhookID: p.Endpoint, EventType: p.EventType, Status: hookd.DeliveryStatus(p.Status),
		Page: hookd.Page{Limit: pageLimit, Cursor: q.Get("cursor")}}
	var err error
	if f.Since, err = parseTime("since", p.Since); err != nil {
		return err
	}
	if f.Until, err = parseTime("until", p.Until); err != nil {
		return err
	}
	if p.Status != "" && !slicesContains(p.Statuses, f.Status) {
		return hookd.Errorf(hookd.EINVALID, "status must be pending, succeeded, failed or cancelled")
	}
	if p.Rows, err = h.svc.Deliveries.FindDeliveries(r.Context(), s.Scope(), f); err != nil {
		return err
	}
	if len(p.Rows) == pageLimit {
		q.Set("cursor", p.Rows[len(p.Rows)-1].ID)
		p.Next = q.Encode()
	}
	s.v.Title, s.v.Nav, s.v.Data = "Deliveries", "deliveries", p
	h.render(w, http.StatusOK, "deliveries", s.v)
	return nil
}

func slicesContains(ss []hookd.DeliveryStatus, s hookd.DeliveryStatus) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// deliveryPage is one delivery with its event and attempts.
type deliveryPage struct {
	*hookd.Delivery
	Event    *hookd.Event
	Payload  string
	Attempts []*hookd.Attempt
}

func (h *Handler) delivery(w http.ResponseWriter, r *http.Request, s *session) error {
	ctx := r.Context()
	d, as, err := h.svc.Deliveries.FindDeliveryByID(ctx, s.Scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	p := deliveryPage{Delivery: d, Attempts: as}
	if ev, err := h.svc.Events.FindEventByID(ctx, s.Scope(), d.EventID); err == nil {
		p.Event, p.Payload = ev, prettyJSON(ev.Data)
	} else if hookd.ErrorCode(err) != hookd.ENOTFOUND {
		return err
	}
	s.v.Title, s.v.Nav, s.v.Data = "Delivery", "deliveries", p
	s.v.Flash = r.URL.Query().Get("flash")
	if d.Status == hookd.DeliveryPending {
		s.v.Refresh = 2 // a test, a retry: watch it arrive
	}
	h.render(w, http.StatusOK, "delivery", s.v)
	return nil
}

func (h *Handler) retryDelivery(w http.ResponseWriter, r *http.Request, s *session) error {
	d, err := h.svc.Deliveries.RetryDelivery(r.Context(), s.Scope(), r.PathValue("id"))
	if err != nil {
		return err
	}
	seeOther(w, r, s.v.Base+"/deliveries/"+d.ID+"?flash="+url.QueryEscape("Retry queued."))
	return nil
}

// prettyJSON indents a JSON document as it was written (key order and
// numbers kept), with the \u003c, \u003e and \u0026 escapes that JSON
// encoders write for <, > and & shown as those characters: the template
// escapes them for HTML, and a payload reads as it was meant. Anything that
// is not JSON is returned as it is.
func prettyJSON(raw []byte) string {
	var b bytes.Buffer
	if err := json.Indent(&b, raw, "", "  "); err != nil {
		return string(raw)
	}
	in := b.Bytes()
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); i++ {
		if in[i] != '\\' || i+1 >= len(in) {
			out = append(out, in[i])
			continue
		}
		if in[i+1] == 'u' && i+6 <= len(in) {
			switch string(in[i+2 : i+6]) {
			case "003c", "003C":
				out, i = append(out, '<'), i+5
				continue
			case "003e", "003E":
				out, i = append(out, '>'), i+5
				continue
			case "0026":
				out, i = append(out, '&'), i+5
				continue
			}
		}
		out, i = append(out, in[i], in[i+1]), i+1 // any other escape, whole
	}
	return string(out)
}
