package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/sqlite"
)

// Browser tests: the portal's main flows and the dashboard in a real
// headless Chromium (Debian's chromium), driven with chromedp. Without
// Chromium they skip, saying so; with CI=true they fail instead.
//
// HOOKD_SCREENSHOTS=dir saves a screenshot of each main page in dir (how
// docs/img was made).

// browser starts a headless Chromium for one test and returns its context.
func browser(t *testing.T) context.Context {
	t.Helper()
	path := os.Getenv("HOOKD_CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("chromium not found, and CI=true: .ci/run installs Debian's chromium package")
		}
		t.Skip("chromium not found: install Debian's chromium package (or set HOOKD_CHROMIUM) to run the browser tests")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.WindowSize(1280, 900),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		// Third-party cookies blocked, as they are (or will be) in current browsers.
		chromedp.Flag("test-third-party-cookie-phaseout", true),
	)
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	ctx, cancelTimeout := context.WithTimeout(ctx, 120*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancelCtx(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.SetCookieControls, network.SetCookieControlsParams{EnableThirdPartyCookieRestriction: true}); err != nil {
		t.Logf("Network.setCookieControls: %v (the phase-out flag still blocks them)", err)
	}
	return ctx
}

// do runs steps and fails the test on an error.
func do(t *testing.T, ctx context.Context, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, steps...); err != nil {
		html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
		t.Fatalf("browser: %v\npage: %s", err, html)
	}
}

// waitVisible waits until sel matches a visible element, across page loads:
// a query that starts on a page that a click is leaving would wait on the
// old document, so each try has its own short deadline.
func waitVisible(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		err := chromedp.Do(c, chromedp.WaitVisible(chromedp.CSS(sel)))
		cancel()
		if err == nil {
			return
		}
		if ctx.Err() != nil {
			break
		}
	}
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
	t.Fatalf("%s never appeared; page: %s", sel, html)
}

// clickTo clicks sel and waits for next on the page that follows.
func clickTo(t *testing.T, ctx context.Context, sel, next string) {
	t.Helper()
	do(t, ctx, chromedp.Click(chromedp.CSS(sel)))
	waitVisible(t, ctx, next)
}

// waitLocation waits until the page's URL contains part.
func waitLocation(t *testing.T, ctx context.Context, part string) {
	t.Helper()
	var loc string
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		c, cancel := context.WithTimeout(ctx, 1500*time.Millisecond)
		loc, _ = chromedp.Run(c, chromedp.Location())
		cancel()
		if strings.Contains(loc, part) {
			return
		}
	}
	t.Fatalf("the page is at %q, never at one with %q", loc, part)
}

// jsClick clicks sel with the DOM's click().
func jsClick(t *testing.T, ctx context.Context, sel string) {
	t.Helper()
	ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return false; e.click(); return true })()`, sel)))
	if err != nil || !ok {
		t.Fatalf("click %s: %v (found: %v)", sel, err, ok)
	}
}

// text returns the text of the first element sel matches.
func text(t *testing.T, ctx context.Context, sel string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// waitText waits until the element sel matches reads want, across the
// page's own reloads.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var got string
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		s, err := chromedp.Run(c, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if got = strings.TrimSpace(s); err == nil && got == want {
			return
		}
		time.Sleep(300 * time.Millisecond)
	}
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("main")))
	t.Fatalf("%s reads %q, want %q\npage: %s", sel, got, want, html)
}

// screenshot saves the page as name.png in $HOOKD_SCREENSHOTS, if set.
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	dir := os.Getenv("HOOKD_SCREENSHOTS")
	if dir == "" {
		return
	}
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, name+".png"), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// receiver is a webhook receiver that succeeds, or fails while fail is set.
type receiver struct {
	*httptest.Server
	fail atomic.Bool
	got  atomic.Int64
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.got.Add(1)
		if r.fail.Load() {
			http.Error(w, `{"error":"receiver <b>down</b>"}`, http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	t.Cleanup(r.Close)
	return r
}

func TestBrowserPortal(t *testing.T) {
	ctx := browser(t)
	in := startHookd(t, "--allow-private-networks", "--retry-schedule", "300ms")
	rcv := newReceiver(t)
	in.client(t, in.opKey).must(201, "POST", "/v1/tenants", map[string]any{"uid": "shop", "name": "Shop Inc."})
	c := in.asTenant(t, "shop")
	c.must(201, "POST", "/v1/event-types", map[string]any{"name": "Order.created", "description": "An order was placed."})
	c.must(201, "POST", "/v1/event-types", map[string]any{"name": "Order.shipped", "description": "An order left the warehouse."})

	// Open the link; add an endpoint.
	// The link's page spends it when its button is pressed (a link preview
	// spends nothing).
	do(t, ctx, chromedp.Navigate(in.portalLink(t, "shop", "live", false)))
	clickTo(t, ctx, "#enter-button", `a[href$="/endpoints/new"]`)
	if who := text(t, ctx, ".who"); !strings.Contains(who, "Shop Inc.") {
		t.Errorf("the portal shows %q as its tenant", who)
	}
	clickTo(t, ctx, `a[href$="/endpoints/new"]`, "#url")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("url"), rcv.URL+"/hook"),
		chromedp.SendKeys(chromedp.ID("name"), "Orders receiver"),
		chromedp.Click(chromedp.CSS(`input[value="Order.created"]`)),
		chromedp.SendKeys(chromedp.ID("filter"), `{"data.total": {"$gt": `))
	waitText(t, ctx, "#filter-msg", "The filter is not valid JSON: unexpected EOF")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("filter"), `0}}`))
	waitText(t, ctx, "#filter-msg", "The filter is valid.")
	screenshot(t, ctx, "portal-endpoint-form")
	clickTo(t, ctx, `button[type=submit]`, "#send-test")
	endpointURL, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}

	// Send a test and watch its delivery arrive.
	clickTo(t, ctx, "#send-test", "#delivery-status")
	waitText(t, ctx, "#delivery-status", "succeeded")
	if a := text(t, ctx, "#attempts tbody"); !strings.Contains(a, "200") {
		t.Errorf("the attempt does not show the 200: %q", a)
	}
	screenshot(t, ctx, "portal-delivery")

	// Make the receiver fail: the delivery fails; retry it once it is back.
	rcv.fail.Store(true)
	do(t, ctx, chromedp.Navigate(endpointURL))
	waitVisible(t, ctx, "#send-test")
	clickTo(t, ctx, "#send-test", "#delivery-status")
	waitText(t, ctx, "#delivery-status", "failed")
	if a := text(t, ctx, "#attempts tbody"); !strings.Contains(a, "500") || !strings.Contains(a, "receiver <b>down</b>") {
		t.Errorf("the failed attempts do not show the 500 and the answer as text: %q", a)
	}
	rcv.fail.Store(false)
	clickTo(t, ctx, "#retry", ".flash")
	waitText(t, ctx, "#delivery-status", "succeeded")

	// Rotate the secret and reveal the new one.
	ws := c.must(200, "GET", "/v1/webhooks", nil).list(t)
	id := str(ws[0].(map[string]any)["id"])
	before := str(c.must(200, "GET", "/v1/webhooks/{id}/secret", nil, id).data(t)["secret"])
	do(t, ctx, chromedp.Navigate(endpointURL))
	waitVisible(t, ctx, "#rotate")
	clickTo(t, ctx, "#rotate", ".flash")
	clickTo(t, ctx, "#reveal", "#secret")
	shown := text(t, ctx, "#secret")
	after := str(c.must(200, "GET", "/v1/webhooks/{id}/secret", nil, id).data(t)["secret"])
	if shown != after || after == before || !strings.HasPrefix(shown, "whsec_") {
		t.Errorf("revealed %q; the secret was %q and is %q", shown, before, after)
	}
	do(t, ctx, chromedp.Navigate(endpointURL))
	waitVisible(t, ctx, "svg.chart")
	// Two charts of deliveries by outcome, 24 hours and 7 days: every
	// delivery of this test is in both.
	charts, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll("figure")].map(f => f.querySelector("figcaption").textContent + ": " + f.querySelector("svg.chart").getAttribute("aria-label").replace(/,[^,]* to .*$/, ""))`))
	if err != nil {
		t.Fatal(err)
	}
	if len(charts) != 2 || !strings.HasPrefix(charts[0], "Last 24 hours: ") || !strings.HasPrefix(charts[1], "Last 7 days: ") ||
		strings.TrimPrefix(charts[0], "Last 24 hours: ") != strings.TrimPrefix(charts[1], "Last 7 days: ") ||
		strings.Contains(charts[0], ": 0 succeeded") {
		t.Errorf("the endpoint's charts read %q", charts)
	}
	screenshot(t, ctx, "portal-endpoint")
	do(t, ctx, chromedp.Navigate(strings.TrimSuffix(endpointURL, "/endpoints/"+id)+"/endpoints"))
	waitVisible(t, ctx, "table.list")
	screenshot(t, ctx, "portal-endpoints")

	// The delivery log, filtered by status.
	clickTo(t, ctx, `nav a[href$="/deliveries"]`, "form.filters")
	do(t, ctx, chromedp.SetValue(chromedp.CSS(`select[name=status]`), "succeeded"))
	do(t, ctx, chromedp.Click(chromedp.CSS("form.filters button")))
	waitLocation(t, ctx, "status=succeeded")
	if rows := text(t, ctx, "table.list tbody"); strings.Contains(rows, "failed") || !strings.Contains(rows, "succeeded") {
		t.Errorf("the log filtered by succeeded shows %q", rows)
	}
	screenshot(t, ctx, "portal-deliveries")
	clickTo(t, ctx, `nav a[href$="/catalog"]`, "dl.catalog")
	if cat := text(t, ctx, "main"); !strings.Contains(cat, "An order left the warehouse.") {
		t.Errorf("the catalog shows %q", cat)
	}

	// Delete, with confirmation.
	do(t, ctx, chromedp.Navigate(endpointURL))
	waitVisible(t, ctx, `a[href$="/delete"]`)
	clickTo(t, ctx, `a[href$="/delete"]`, "#confirm-delete")
	clickTo(t, ctx, "#confirm-delete", "p.empty")
	if n := len(c.must(200, "GET", "/v1/webhooks", nil).list(t)); n != 0 {
		t.Errorf("%d webhooks after the delete", n)
	}
	if rcv.got.Load() < 4 {
		t.Errorf("the receiver got %d requests, want at least 4", rcv.got.Load())
	}
}

// TestBrowserPortalInFrame embeds the portal in a page of another site
// (localhost vs 127.0.0.1), with third-party cookies blocked, and works in
// it: the session needs no cookie.
func TestBrowserPortalInFrame(t *testing.T) {
	ctx := browser(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	host := "http://localhost:" + fmt.Sprint(ln.Addr().(*net.TCPAddr).Port)
	in := startHookd(t, "--portal-frame-ancestors", host)
	in.client(t, in.opKey).must(201, "POST", "/v1/tenants", map[string]any{"uid": "framed", "name": "Framed Co"})
	link := in.portalLink(t, "framed", "live", false)
	product := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, `<!doctype html><title>Product</title><h1>The product's settings</h1>
<iframe id="portal" src="%s" width="1100" height="760" title="Webhooks"></iframe>`, link)
	})}
	go func() { _ = product.Serve(ln) }()
	t.Cleanup(func() { product.Close() })

	// Not chromedp.Navigate, which waits for the page's load event: that
	// waits for the cross-site iframe, whose target waits for a debugger
	// until portalFrame attaches to it.
	if _, err := chromedp.Call(ctx, cdppage.Navigate, cdppage.NavigateParams{URL: host + "/"}); err != nil {
		t.Fatal(err)
	}
	frame := portalFrame(t, ctx, in.base)
	// The frame is driven with the DOM's click() and values, which the
	// browser handles as a person's (the link navigates, the form posts).
	waitVisible(t, frame, `a[href$="/endpoints/new"]`)
	jsClick(t, frame, `a[href$="/endpoints/new"]`)
	waitVisible(t, frame, "#url")
	do(t, frame, chromedp.SetValue(chromedp.ID("url"), "https://framed.example/hook"),
		chromedp.SetValue(chromedp.ID("name"), "Framed hook"))
	jsClick(t, frame, `button[type=submit]`)
	waitVisible(t, frame, "#send-test")
	if h := text(t, frame, "h1"); h != "Framed hook" {
		t.Errorf("after saving in the frame, the frame shows %q", h)
	}
	cookies, err := chromedp.Call(frame, network.GetCookies, network.GetCookiesParams{URLs: []string{in.base + "/"}})
	if err == nil && len(cookies.Cookies) > 0 {
		t.Errorf("the portal set cookies: %v", cookies.Cookies)
	}
	screenshot(t, ctx, "portal-in-frame")
	if n := len(in.asTenant(t, "framed").must(200, "GET", "/v1/webhooks", nil).list(t)); n != 1 {
		t.Errorf("the tenant has %d webhooks after a create in the frame", n)
	}
}

// portalFrame attaches to the cross-site iframe that shows base's pages.
func portalFrame(t *testing.T, ctx context.Context, base string) context.Context {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		infos, err := chromedp.Targets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, info := range infos {
			if info.Type == "iframe" && strings.HasPrefix(info.URL, base+"/portal/") {
				fctx, cancel := chromedp.NewContext(ctx, chromedp.WithTargetID(info.TargetID))
				t.Cleanup(cancel)
				// The frame's target waits for a debugger before it runs
				// its scripts and finishes loading.
				if _, err := chromedp.Call(fctx, runtime.RunIfWaitingForDebugger, cdp.Empty{}); err != nil {
					t.Fatalf("resume the frame: %v", err)
				}
				return fctx
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
	t.Fatalf("no iframe target shows the portal; page: %s", html)
	return nil
}

func TestBrowserDashboard(t *testing.T) {
	ctx := browser(t)
	in := startHookd(t)
	writeQueueHistory(t, in)
	signIn := func() {
		do(t, ctx, chromedp.Navigate(in.base+"/dashboard/"))
		waitVisible(t, ctx, "#key")
		do(t, ctx, chromedp.SendKeys(chromedp.ID("key"), in.opKey))
		clickTo(t, ctx, `button[type=submit]`, "#queue")
	}
	signIn()
	// The queue over time: five charts, their values as a table.
	waitVisible(t, ctx, "#history-pending svg")
	if f := text(t, ctx, "#history-failures figcaption"); !strings.Contains(f, "peak 25.0 %") {
		t.Errorf("the failure rate's chart reads %q", f)
	}
	screenshot(t, ctx, "dashboard-overview")
	do(t, ctx, chromedp.Click(chromedp.CSS("#history-values summary")))
	waitVisible(t, ctx, "#history-values tbody tr")
	clickTo(t, ctx, `nav.tabs a[href$="history=24h"]`, "#history-pending svg")
	waitLocation(t, ctx, "history=24h")
	clickTo(t, ctx, `nav a[href$="/tenants"]`, "#uid")
	do(t, ctx, chromedp.SendKeys(chromedp.ID("uid"), "acme-42"), chromedp.SendKeys(chromedp.ID("tname"), "Acme Browser Co"))
	clickTo(t, ctx, `form.form button[type=submit]`, "#open-portal")
	if h := text(t, ctx, "h1"); h != "Acme Browser Co" {
		t.Errorf("the new tenant's page shows %q", h)
	}
	clickTo(t, ctx, "#new-key-button", "#new-key")
	key := text(t, ctx, "#new-key")
	if !strings.HasPrefix(key, "sk_live_") {
		t.Fatalf("the new key reads %q", key)
	}
	if r := in.client(t, key).do("GET", "/v1/webhooks", nil); r.status != 200 {
		t.Errorf("the key made in the dashboard: %d", r.status)
	}
	// Sign in again (the session is in the path) and find the tenant by a part of its name.
	signIn()
	clickTo(t, ctx, `nav a[href$="/tenants"]`, "#search")
	waitLocation(t, ctx, "/tenants")
	// The node found can belong to a document the sign-in's last load is
	// replacing ("Could not find node with given id", seen under load):
	// find it again and type once more.
	for try := 1; ; try++ {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := chromedp.Do(c, chromedp.SendKeys(chromedp.ID("search"), "browser"))
		cancel()
		if err == nil {
			break
		}
		if try == 3 {
			t.Fatalf("typing into #search: %v", err)
		}
		waitVisible(t, ctx, "#search")
		do(t, ctx, chromedp.SetValue(chromedp.ID("search"), ""))
	}
	do(t, ctx, chromedp.Click(chromedp.CSS("form.filters button")))
	waitLocation(t, ctx, "search=browser")
	waitVisible(t, ctx, "#tenants tbody a")
	screenshot(t, ctx, "dashboard-tenants")
	clickTo(t, ctx, "#tenants tbody a", "#open-portal")
	clickTo(t, ctx, "#open-portal", ".who")
	if who := text(t, ctx, ".who"); !strings.Contains(who, "Acme Browser Co") {
		t.Errorf("the portal opened from the dashboard shows %q", who)
	}
}

// writeQueueHistory writes 40 minutes of the queue's history into in's
// database, as the maintenance loop of another instance would.
func writeQueueHistory(t *testing.T, in *instance) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), filepath.Join(in.dataDir, "hookd.db"), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	minute := time.Now().UTC().Truncate(time.Minute)
	for i := range 40 {
		wave := (i * 7) % 20 // a saw: a backlog that builds and drains
		s := hookd.QueueSample{At: minute.Add(time.Duration(i-40) * time.Minute), Pending: 200 + 40*wave, Due: 10 * wave,
			OldestDueAge: time.Duration(wave) * 3 * time.Second, Succeeded: 3000 - 50*wave, Failed: 40 + 10*wave}
		if i%5 == 0 {
			total := s.Succeeded + s.Failed
			s.Failed = total / 4 // 25 %
			s.Succeeded = total - s.Failed
		}
		if err := st.AddQueueSample(t.Context(), s); err != nil {
			t.Fatal(err)
		}
	}
}
