package main

import (
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres/pgtest"
	"github.com/hookd/hookd/sqlite"
)

// The portal and the dashboard over plain HTTP, on the real binary: what
// a tenant wrote is escaped, one tenant's session never reaches another's
// rows, read-only links change nothing, every change needs the CSRF token,
// and sessions end with their tenant or operator key. browser_test.go
// drives the same screens in Chromium.

// noRedirect is a client that keeps no cookie and shows redirects.
var noRedirect = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

type page struct {
	status   int
	header   http.Header
	body     string
	location string
}

func visit(t *testing.T, method, u string, form url.Values, header ...string) page {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirect.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(b), location: resp.Header.Get("Location")}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of a page of the session at base.
func csrf(t *testing.T, base string) string {
	t.Helper()
	p := visit(t, "GET", base+"/endpoints", nil)
	m := csrfRE.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no CSRF token on %s (%d): %s", base, p.status, p.body)
	}
	return m[1]
}

// portalLink makes a portal link for tenant and returns its URL.
func (in *instance) portalLink(t *testing.T, tenant, mode string, readOnly bool) string {
	t.Helper()
	op := in.client(t, in.opKey)
	r := op.must(201, "POST", "/v1/tenants/{t}/portal-links", map[string]any{"mode": mode, "read_only": readOnly}, tenant)
	return in.base + str(r.data(t)["url"])
}

// enterPortal opens a portal link (its page, then its button) and returns
// the session's root URL.
func (in *instance) enterPortal(t *testing.T, tenant, mode string, readOnly bool) string {
	t.Helper()
	p := spendLink(t, in.portalLink(t, tenant, mode, readOnly))
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/portal/s/pss_") {
		t.Fatalf("entering the portal: %d %q: %s", p.status, p.location, p.body)
	}
	return in.base + strings.TrimSuffix(p.location, "/endpoints")
}

var linkTokenRE = regexp.MustCompile(`name="token" value="(ptl_[^"]+)"`)

// spendLink opens a portal link's page and presses its button, as a
// browser does, with header on the POST.
func spendLink(t *testing.T, link string, header ...string) page {
	t.Helper()
	p := visit(t, "GET", link, nil)
	m := linkTokenRE.FindStringSubmatch(p.body)
	if p.status != http.StatusOK || m == nil || !strings.Contains(p.body, `action="/portal/enter"`) {
		t.Fatalf("a portal link's page: %d: %s", p.status, p.body)
	}
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return visit(t, "POST", u.Scheme+"://"+u.Host+"/portal/enter", url.Values{"token": {m[1]}}, header...)
}

// asTenant is an operator client acting as tenant.
func (in *instance) asTenant(t *testing.T, tenant string) *client {
	c := in.client(t, in.opKey)
	c.header = http.Header{"Hookd-Tenant": {tenant}}
	return c
}

func TestPortalEscapesWhatTenantsWrote(t *testing.T) {
	t.Parallel()
	in := startHookd(t)
	op := in.client(t, in.opKey)
	op.must(201, "POST", "/v1/tenants", map[string]any{"uid": "evil", "name": `Evil <script>alert("name")</script>`})
	c := in.asTenant(t, "evil")
	c.must(201, "POST", "/v1/event-types", map[string]any{"name": "Order.created", "description": `<script>alert("desc")</script>`})
	wh := c.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://receiver.example/hook",
		"name": `"><img src=x onerror=alert(1)>`, "description": `<script>alert("d")</script>`,
		"headers": map[string]string{"X-Note": `"><img src=x onerror=alert(2)>`}}).data(t)
	c.must(202, "POST", "/v1/events", map[string]any{"type": "Order.created",
		"data": map[string]any{"note": `<script>alert("payload")</script>`, "attr": `"><img src=x onerror=alert(3)>`}})
	ds := c.must(200, "GET", "/v1/deliveries", nil).list(t)
	if len(ds) != 1 {
		t.Fatalf("%d deliveries", len(ds))
	}
	dlv := str(ds[0].(map[string]any)["id"])

	base := in.enterPortal(t, "evil", "live", false)
	for _, path := range []string{"/endpoints", "/endpoints/" + str(wh["id"]), "/endpoints/" + str(wh["id"]) + "/edit",
		"/catalog", "/deliveries", "/deliveries/" + dlv} {
		p := visit(t, "GET", base+path, nil)
		if p.status != 200 {
			t.Fatalf("GET %s: %d: %s", path, p.status, p.body)
		}
		for _, raw := range []string{"<script>alert", "<img src=x"} {
			if strings.Contains(p.body, raw) {
				t.Errorf("%s shows %q unescaped", path, raw)
			}
		}
	}
	p := visit(t, "GET", base+"/deliveries/"+dlv, nil)
	for _, want := range []string{`&lt;script&gt;alert(`, `&lt;/script&gt;`, `&lt;img src=x onerror=alert(3)&gt;`} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the payload does not show %s literally:\n%s", want, p.body)
		}
	}
	if p := visit(t, "GET", base+"/endpoints", nil); !strings.Contains(p.body, `&#34;&gt;&lt;img src=x onerror=alert(1)&gt;`) {
		t.Errorf("the endpoint's name is not shown literally:\n%s", p.body)
	}
}

func TestPortalTwoTenants(t *testing.T) {
	t.Parallel()
	in := startHookd(t)
	op := in.client(t, in.opKey)
	for _, uid := range []string{"alpha", "beta"} {
		op.must(201, "POST", "/v1/tenants", map[string]any{"uid": uid})
	}
	a := in.asTenant(t, "alpha")
	wh := a.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://alpha.example/hook", "name": "alpha-hook"}).data(t)
	id := str(wh["id"])
	a.must(202, "POST", "/v1/events", map[string]any{"type": "A.b", "data": map[string]any{"secret": "alpha-only"}})
	dlv := str(a.must(200, "GET", "/v1/deliveries", nil).list(t)[0].(map[string]any)["id"])
	secret := str(a.must(200, "GET", "/v1/webhooks/{id}/secret", nil, id).data(t)["secret"])

	b := in.enterPortal(t, "beta", "live", false)
	tok := csrf(t, b)
	for _, path := range []string{"/endpoints/" + id, "/endpoints/" + id + "/edit", "/endpoints/" + id + "/secret",
		"/endpoints/" + id + "/delete", "/deliveries/" + dlv} {
		if p := visit(t, "GET", b+path, nil); p.status != 404 || strings.Contains(p.body, "alpha") {
			t.Errorf("beta GET %s: %d, want 404 showing nothing of alpha's", path, p.status)
		}
	}
	for _, path := range []string{"/endpoints/" + id, "/endpoints/" + id + "/disable", "/endpoints/" + id + "/rotate",
		"/endpoints/" + id + "/test", "/endpoints/" + id + "/delete", "/endpoints/" + id + "/recover", "/deliveries/" + dlv + "/retry"} {
		f := url.Values{"csrf": {tok}, "confirm": {"yes"}, "url": {"https://beta.example/x"}, "since": {"2020-01-01T00:00"}}
		if p := visit(t, "POST", b+path, f); p.status != 404 {
			t.Errorf("beta POST %s: %d, want 404: %s", path, p.status, p.body)
		}
	}
	for _, path := range []string{"/endpoints", "/deliveries", "/catalog"} {
		if p := visit(t, "GET", b+path, nil); p.status != 200 || strings.Contains(p.body, "alpha") || strings.Contains(p.body, id) || strings.Contains(p.body, dlv) {
			t.Errorf("beta GET %s: %d, or shows alpha's rows", path, p.status)
		}
	}
	if p := visit(t, "GET", b+"/deliveries?endpoint="+id, nil); p.status != 200 || strings.Contains(p.body, dlv) || !strings.Contains(p.body, "No deliveries") {
		t.Errorf("beta's delivery log filtered by alpha's endpoint: %d, or shows alpha's rows", p.status)
	}
	// Alpha's webhook is as it was.
	got := a.must(200, "GET", "/v1/webhooks/{id}", nil, id).data(t)
	if got["url"] != "https://alpha.example/hook" || got["enabled"] != true {
		t.Errorf("alpha's webhook changed: %v", got)
	}
	if s := str(a.must(200, "GET", "/v1/webhooks/{id}/secret", nil, id).data(t)["secret"]); s != secret {
		t.Error("alpha's secret changed")
	}
	if n := len(a.must(200, "GET", "/v1/webhooks", nil).list(t)); n != 1 {
		t.Errorf("alpha has %d webhooks", n)
	}
	// Test mode is another scope too.
	at := in.enterPortal(t, "alpha", "test", false)
	if p := visit(t, "GET", at+"/endpoints/"+id, nil); p.status != 404 {
		t.Errorf("alpha's test-mode session sees its live webhook: %d", p.status)
	}
}

func TestPortalReadOnly(t *testing.T) {
	t.Parallel()
	in := startHookd(t)
	in.client(t, in.opKey).must(201, "POST", "/v1/tenants", map[string]any{"uid": "ro"})
	c := in.asTenant(t, "ro")
	id := str(c.must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://ro.example/hook"}).data(t)["id"])
	base := in.enterPortal(t, "ro", "live", true)
	p := visit(t, "GET", base+"/endpoints/"+id, nil)
	if p.status != 200 || !strings.Contains(p.body, "read-only") || strings.Contains(p.body, "/rotate") || strings.Contains(p.body, "/test\"") {
		t.Fatalf("a read-only endpoint page shows its actions (%d):\n%s", p.status, p.body)
	}
	if p := visit(t, "GET", base+"/endpoints/"+id+"/secret", nil); p.status != 200 || !strings.Contains(p.body, "whsec_") {
		t.Errorf("a read-only link shows everything, the secret too: %d", p.status)
	}
	tok := csrf(t, base)
	for _, path := range []string{"/endpoints", "/endpoints/" + id, "/endpoints/" + id + "/disable", "/endpoints/" + id + "/rotate",
		"/endpoints/" + id + "/test", "/endpoints/" + id + "/delete"} {
		f := url.Values{"csrf": {tok}, "confirm": {"yes"}, "url": {"https://ro.example/changed"}}
		if p := visit(t, "POST", base+path, f); p.status != 403 {
			t.Errorf("read-only POST %s: %d, want 403", path, p.status)
		}
	}
	for _, path := range []string{"/endpoints/new", "/endpoints/" + id + "/edit"} {
		if p := visit(t, "GET", base+path, nil); p.status != 403 {
			t.Errorf("read-only GET %s: %d, want 403", path, p.status)
		}
	}
	got := c.must(200, "GET", "/v1/webhooks/{id}", nil, id).data(t)
	if got["url"] != "https://ro.example/hook" || got["enabled"] != true {
		t.Errorf("a read-only session changed the webhook: %v", got)
	}
	if n := len(c.must(200, "GET", "/v1/events", nil).list(t)); n != 0 {
		t.Errorf("a read-only session sent %d test events", n)
	}
}

func TestPortalCSRFAndSessions(t *testing.T) {
	t.Parallel()
	in := startHookd(t, "--portal-frame-ancestors", "https://app.example.com")
	op := in.client(t, in.opKey)
	op.must(201, "POST", "/v1/tenants", map[string]any{"uid": "csrf"})
	id := str(in.asTenant(t, "csrf").must(201, "POST", "/v1/webhooks", map[string]any{"url": "https://c.example/hook"}).data(t)["id"])

	link := in.portalLink(t, "csrf", "live", false)
	// A GET (a link preview, a mail scanner) spends nothing: it shows a
	// button. Another site cannot press it for the browser.
	for range 2 {
		if p := visit(t, "GET", link, nil); p.status != 200 || strings.Contains(p.body, "pss_") {
			t.Fatalf("a portal link's GET: %d %s", p.status, p.body)
		}
	}
	if p := spendLink(t, link, "Origin", "https://evil.example"); p.status != 403 {
		t.Errorf("a portal link spent by a form of another site: %d", p.status)
	}
	if p := spendLink(t, link, "Sec-Fetch-Site", "cross-site"); p.status != 403 {
		t.Errorf("a portal link spent by a cross-site form: %d", p.status)
	}
	if p := visit(t, "POST", in.base+"/portal/enter", url.Values{}); p.status != 422 {
		t.Errorf("a portal link's POST without a token: %d", p.status)
	}
	first := spendLink(t, link, "Origin", in.base)
	if first.status != http.StatusSeeOther {
		t.Fatalf("enter: %d %s", first.status, first.body)
	}
	if again := spendLink(t, link); again.status != 403 || !strings.Contains(again.body, "used") {
		t.Errorf("a link used twice: %d %s", again.status, again.body)
	}
	base := in.base + strings.TrimSuffix(first.location, "/endpoints")
	p := visit(t, "GET", base+"/endpoints", nil)
	csp := p.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'self' https://app.example.com", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	if p.header.Get("Set-Cookie") != "" || p.header.Get("X-Frame-Options") != "" {
		t.Errorf("the portal sets a cookie or X-Frame-Options: %v", p.header)
	}
	if p.header.Get("Referrer-Policy") != "same-origin" {
		t.Errorf("Referrer-Policy = %q", p.header.Get("Referrer-Policy"))
	}
	tok := csrf(t, base)
	if p := visit(t, "POST", base+"/endpoints/"+id+"/disable", url.Values{}); p.status != 403 {
		t.Errorf("a change without the CSRF token: %d", p.status)
	}
	if p := visit(t, "POST", base+"/endpoints/"+id+"/disable", url.Values{"csrf": {"forged"}}); p.status != 403 {
		t.Errorf("a change with a wrong CSRF token: %d", p.status)
	}
	if p := visit(t, "POST", base+"/endpoints/"+id+"/disable", url.Values{"csrf": {tok}}, "Origin", "https://evil.example"); p.status != 403 {
		t.Errorf("a change sent from another origin: %d", p.status)
	}
	if p := visit(t, "POST", base+"/endpoints/"+id+"/disable", url.Values{"csrf": {tok}}, "Origin", in.base); p.status != http.StatusSeeOther {
		t.Errorf("a change with the token from the same origin: %d %s", p.status, p.body)
	}
	// Deleting the tenant ends its sessions.
	op.must(204, "DELETE", "/v1/tenants/{t}", nil, "csrf")
	if p := visit(t, "GET", base+"/endpoints", nil); p.status != 401 {
		t.Errorf("a deleted tenant's session: %d", p.status)
	}

	// The dashboard: sign in with an operator key; revoking it ends the session.
	key := in.run(t, "operator-key", "create", "--name", "dash")
	opk := regexp.MustCompile(`opk_\S+`).FindString(key)
	kid := regexp.MustCompile(`okey_[0-9a-z]+`).FindString(key)
	if opk == "" || kid == "" {
		t.Fatalf("no key in %q", key)
	}
	if p := visit(t, "POST", in.base+"/dashboard/sign-in", url.Values{"key": {"opk_wrong"}}); p.status != 401 {
		t.Errorf("sign-in with a wrong key: %d", p.status)
	}
	if p := visit(t, "POST", in.base+"/dashboard/sign-in", url.Values{"key": {in.liveKey}}); p.status != 403 {
		t.Errorf("sign-in with a tenant key: %d", p.status)
	}
	si := visit(t, "POST", in.base+"/dashboard/sign-in", url.Values{"key": {opk}})
	if si.status != http.StatusSeeOther || !strings.HasPrefix(si.location, "/dashboard/s/pss_") {
		t.Fatalf("sign-in: %d %q", si.status, si.location)
	}
	dash := in.base + si.location
	if p := visit(t, "GET", dash, nil); p.status != 200 || !strings.Contains(p.body, "Queue") {
		t.Fatalf("dashboard: %d", p.status)
	}
	opTok := strings.Trim(strings.TrimPrefix(si.location, "/dashboard/s/"), "/")
	if p := visit(t, "GET", in.base+"/portal/s/"+opTok+"/endpoints", nil); p.status != 401 {
		t.Errorf("an operator's session opens the portal: %d", p.status)
	}
	if p := visit(t, "GET", in.base+"/dashboard/s/"+strings.TrimPrefix(base, in.base+"/portal/s/")+"/", nil); p.status != 401 {
		t.Errorf("a portal session opens the dashboard: %d", p.status)
	}
	in.run(t, "operator-key", "revoke", kid)
	if p := visit(t, "GET", dash, nil); p.status != 401 {
		t.Errorf("a revoked operator key's session: %d", p.status)
	}
}

// TestDashboardQueueHistory: the overview charts the queue's samples over
// the window chosen, with every value as text, on the real binary's
// database (the samples are written as another instance would).
func TestDashboardQueueHistory(t *testing.T) {
	t.Parallel()
	in := startHookd(t)
	st, err := sqlite.Open(t.Context(), filepath.Join(in.dataDir, "hookd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	minute := time.Now().UTC().Truncate(time.Minute)
	for _, s := range []hookd.QueueSample{
		{At: minute.Add(-3 * time.Minute), Pending: 40, Due: 12, OldestDueAge: 95 * time.Second, Succeeded: 120, Failed: 30},
		{At: minute.Add(-2 * time.Minute), Pending: 7, Due: 3, OldestDueAge: 4 * time.Second, Succeeded: 60},
	} {
		if err := st.AddQueueSample(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
	si := visit(t, "POST", in.base+"/dashboard/sign-in", url.Values{"key": {in.opKey}})
	if si.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d", si.status)
	}
	dash := in.base + si.location
	p := visit(t, "GET", dash, nil)
	if p.status != 200 {
		t.Fatalf("overview: %d %s", p.status, p.body)
	}
	at := func(m int) string { return minute.Add(time.Duration(-m-1) * time.Minute).Format("15:04") }
	// (The binary's own sample of a minute that ends during the test may
	// be the latest: only the peaks are known.)
	for _, re := range []string{
		`aria-label="Pending, Last hour: latest \d+, peak 40 at `,
		`aria-label="Due, Last hour: latest \d+, peak 12 at `,
		`aria-label="Oldest due waited, Last hour: latest \w+, peak 1m35s at `,
		`aria-label="Delivered per second, Last hour: latest [\d.]+/s, peak 2.00/s at `,
		`aria-label="Failure rate, Last hour: latest [\d.]+ %, peak 20.0 % at `,
	} {
		if !regexp.MustCompile(re).MatchString(p.body) {
			t.Errorf("the overview lacks %s", re)
		}
	}
	for _, want := range []string{
		"<th scope=\"row\">" + at(3) + "</th><td>40</td><td>12</td><td>1m35s</td><td>2.00/s</td><td>20.0 %</td>",
		"<th scope=\"row\">" + at(2) + "</th><td>7</td><td>3</td><td>4s</td><td>1.00/s</td><td>0.0 %</td>",
		`<title>` + at(3) + ` UTC: 40</title>`,
	} {
		if !strings.Contains(p.body, want) {
			t.Errorf("the overview lacks %q", want)
		}
	}
	// The queue now is the newest sample's, if one is recent (the
	// binary's own, or this one).
	if err := st.AddQueueSample(t.Context(), hookd.QueueSample{At: minute, Pending: 5555}); err != nil {
		t.Fatal(err)
	}
	if p := visit(t, "GET", dash, nil); !regexp.MustCompile(`<b>\d+</b>pending</div>[\s\S]*<b>\d\d:\d\d UTC</b>as sampled at`).MatchString(p.body) {
		t.Errorf("the overview does not show the queue as sampled:\n%s", p.body)
	}
	// A day: the samples fall in a few 15-minute bars; the largest
	// depth is shown and the attempts are summed.
	day := visit(t, "GET", dash+"?history=24h", nil)
	if day.status != 200 || !strings.Contains(day.body, `aria-label="Pending, Last 24 hours: latest `) || !strings.Contains(day.body, "peak 5555 at") {
		t.Errorf("the day's history: %d", day.status)
	}
	if bad := visit(t, "GET", dash+"?history=1y", nil); bad.status != 422 || !strings.Contains(bad.body, "history must be 1h, 24h or 7d") {
		t.Errorf("an unknown window: %d %s", bad.status, bad.body)
	}

	// The operator's own event endpoints are listed, and their portal opens.
	if !strings.Contains(p.body, "No endpoint receives the operator events yet.") {
		t.Error("the overview does not say that no endpoint receives the operator events")
	}
	in.asTenant(t, hookd.OperatorTenantID).must(201, "POST", "/v1/webhooks",
		map[string]any{"url": "https://ops.example/<hookd>", "event_types": []string{"delivery.exhausted"}})
	p = visit(t, "GET", dash, nil)
	if !strings.Contains(p.body, `id="own-endpoints"`) || !strings.Contains(p.body, "https://ops.example/&lt;hookd&gt;") || !strings.Contains(p.body, "delivery.exhausted") {
		t.Errorf("the overview does not list the operator's endpoint:\n%s", p.body)
	}
	tok := csrfRE.FindStringSubmatch(p.body)
	if tok == nil {
		t.Fatal("no CSRF token on the overview")
	}
	op := visit(t, "POST", dash+"tenants/"+hookd.OperatorTenantID+"/portal", url.Values{"csrf": {tok[1]}, "mode": {"live"}})
	if op.status != http.StatusSeeOther || !strings.HasPrefix(op.location, "/portal/s/pss_") {
		t.Fatalf("opening the operator tenant's portal: %d %q %s", op.status, op.location, op.body)
	}
	if p := visit(t, "GET", in.base+op.location, nil); p.status != 200 || !strings.Contains(p.body, "https://ops.example/&lt;hookd&gt;") {
		t.Errorf("the operator tenant's portal: %d", p.status)
	}
}

// TestPortalSessionsEndWithLinkMaker: revoking the key that made a portal
// link ends the session the link opened and refuses the key's unused
// links — a link made over the API, and the one the dashboard's Open
// portal makes with the key it signed in with — while sessions from
// another key's links go on, and revoking a tenant's key ends none of them.
func TestPortalSessionsEndWithLinkMaker(t *testing.T) {
	t.Parallel()
	in := startHookd(t)
	op := in.client(t, in.opKey)
	op.must(201, "POST", "/v1/tenants", map[string]any{"uid": "made"})
	out := in.run(t, "operator-key", "create", "--name", "links")
	opk := regexp.MustCompile(`opk_\S+`).FindString(out)
	kid := regexp.MustCompile(`okey_[0-9a-z]+`).FindString(out)
	if opk == "" || kid == "" {
		t.Fatalf("no key in %q", out)
	}
	link := func(c *client) string {
		t.Helper()
		return in.base + str(c.must(201, "POST", "/v1/tenants/{t}/portal-links", map[string]any{}, "made").data(t)["url"])
	}
	enter := func(link string) string {
		t.Helper()
		p := spendLink(t, link)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/portal/s/pss_") {
			t.Fatalf("entering the portal: %d %q: %s", p.status, p.location, p.body)
		}
		return in.base + strings.TrimSuffix(p.location, "/endpoints")
	}
	alive := func(what, base string) {
		t.Helper()
		if p := visit(t, "GET", base+"/endpoints", nil); p.status != 200 {
			t.Errorf("%s: %d, want 200: %s", what, p.status, p.body)
		}
	}

	maker := in.client(t, opk)
	session, unused := enter(link(maker)), link(maker)
	other := enter(link(op))
	si := visit(t, "POST", in.base+"/dashboard/sign-in", url.Values{"key": {opk}})
	if si.status != http.StatusSeeOther {
		t.Fatalf("sign-in: %d %s", si.status, si.body)
	}
	dash := in.base + si.location
	tok := csrfRE.FindStringSubmatch(visit(t, "GET", dash, nil).body)
	if tok == nil {
		t.Fatal("no CSRF token on the dashboard")
	}
	opened := visit(t, "POST", dash+"tenants/made/portal", url.Values{"csrf": {tok[1]}, "mode": {"live"}})
	if opened.status != http.StatusSeeOther || !strings.HasPrefix(opened.location, "/portal/s/pss_") {
		t.Fatalf("Open portal: %d %q %s", opened.status, opened.location, opened.body)
	}
	fromDashboard := in.base + strings.TrimSuffix(opened.location, "/endpoints")
	for what, base := range map[string]string{"the maker's session": session, "another key's session": other, "the dashboard's portal": fromDashboard} {
		alive(what, base)
	}

	// Revoking a tenant's key ends none of them.
	k := str(op.must(201, "POST", "/v1/tenants/{t}/keys", map[string]any{"mode": "live"}, "made").data(t)["id"])
	op.must(204, "DELETE", "/v1/tenants/{t}/keys/{key}", nil, "made", k)
	alive("the maker's session, after a tenant key's revocation", session)

	// Revoking the maker, from another process on the database file.
	in.run(t, "operator-key", "revoke", kid)
	for what, base := range map[string]string{"the maker's session": session, "the dashboard's portal": fromDashboard} {
		if p := visit(t, "GET", base+"/endpoints", nil); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "session has ended") {
			t.Errorf("%s after its key's revocation: %d, want 401 saying it ended: %s", what, p.status, p.body)
		}
	}
	if p := spendLink(t, unused); p.status != http.StatusNotFound || !strings.Contains(p.body, "not known") {
		t.Errorf("an unused link of the revoked key: %d, want 404: %s", p.status, p.body)
	}
	alive("another key's session, after the maker's revocation", other)
}

// TestPortalSessionEndsOnEveryInstance: on PostgreSQL, a portal session
// opened on one instance with a link another instance made ends on both
// when the CLI revokes the link's key.
func TestPortalSessionEndsOnEveryInstance(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.NewDatabase(t)
	a := startProcess(t, t.TempDir(), "--database-url", dbURL)
	b := startProcess(t, t.TempDir(), "--database-url", dbURL)
	cli := &instance{dataDir: t.TempDir()}
	out := cli.run(t, "operator-key", "create", "--name", "links", "--database-url", dbURL)
	opk := regexp.MustCompile(`opk_\S+`).FindString(out)
	kid := regexp.MustCompile(`okey_[0-9a-z]+`).FindString(out)
	if opk == "" || kid == "" {
		t.Fatalf("no key in %q", out)
	}
	maker := &client{t: t, base: a.base, key: opk, seen: map[string]bool{}}
	maker.must(201, "POST", "/v1/tenants", map[string]any{"uid": "shared"})
	link := str(maker.must(201, "POST", "/v1/tenants/{t}/portal-links", map[string]any{}, "shared").data(t)["url"])
	p := spendLink(t, b.base+link) // made on a, spent on b
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, "/portal/s/pss_") {
		t.Fatalf("entering the portal on b: %d %q: %s", p.status, p.location, p.body)
	}
	for _, base := range []string{a.base, b.base} {
		if p := visit(t, "GET", base+p.location, nil); p.status != 200 {
			t.Fatalf("the session on %s: %d", base, p.status)
		}
	}
	cli.run(t, "operator-key", "revoke", "--database-url", dbURL, kid)
	for _, base := range []string{a.base, b.base} {
		if p := visit(t, "GET", base+p.location, nil); p.status != http.StatusUnauthorized || !strings.Contains(p.body, "session has ended") {
			t.Errorf("the session on %s after its link's key was revoked: %d, want 401", base, p.status)
		}
	}
}
