// Package portal serves hookd's two screens from the one binary: the
// customer portal (/portal/…), which a tenant enters through a portal link
// to manage its endpoints, read its catalog and delivery log, retry and
// recover; and the operator dashboard (/dashboard/…), entered with an
// operator key, for tenants, keys, queue health and failing endpoints.
//
// Pages are rendered on the server with html/template (so everything a
// tenant wrote is escaped as text) from files embedded with go:embed, with
// one small script and one stylesheet of our own: no build step, no CDN,
// no request that leaves the machine. The portal works inside an <iframe>
// on another origin where third-party cookies are blocked because it uses
// no cookie: the session token rides in the path of every page
// (/portal/s/pss_…/…), and every change is a POST that also carries a CSRF
// token derived from it. It calls only hookd.Services.
package portal

import (
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets
var assetFS embed.FS

// Config is what the screens need.
type Config struct {
	Services hookd.Services
	Logger   *slog.Logger
	// FrameAncestors are the origins allowed to embed the portal in a frame
	// (CSP frame-ancestors), e.g. "https://app.example.com". Empty: only
	// hookd's own origin ('self').
	FrameAncestors []string
	// SessionTTL is how long a session lasts (default hookd.DefaultSessionTTL).
	SessionTTL time.Duration
	// SecretGrace is how long a rotated-out secret keeps signing (default 24 h).
	SecretGrace time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Handler serves /portal/… and /dashboard/….
type Handler struct {
	cfg   Config
	svc   hookd.Services
	log   *slog.Logger
	mux   *http.ServeMux
	pages map[string]*template.Template
	csp   string
}

// New returns the screens' handler, or an error for an incomplete Config.
func New(cfg Config) (*Handler, error) {
	s := cfg.Services
	if s.Tenants == nil || s.Webhooks == nil || s.EventTypes == nil || s.Events == nil || s.Deliveries == nil ||
		s.Publisher == nil || s.Sessions == nil || s.Stats == nil {
		return nil, errors.New("portal: every service of Config.Services is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if cfg.SecretGrace == 0 {
		cfg.SecretGrace = 24 * time.Hour
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	ancestors := "'self'"
	for _, a := range cfg.FrameAncestors {
		if err := checkOrigin(a); err != nil {
			return nil, err
		}
		ancestors += " " + a
	}
	pages, err := parsePages()
	if err != nil {
		return nil, err
	}
	h := &Handler{cfg: cfg, svc: s, log: cfg.Logger, mux: http.NewServeMux(), pages: pages,
		csp: "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
			"form-action 'self'; base-uri 'none'; frame-ancestors " + ancestors}
	assets, _ := fs.Sub(assetFS, "assets")
	h.mux.Handle("GET /portal/assets/", http.StripPrefix("/portal/assets/", http.FileServerFS(assets)))
	h.routeCustomer()
	h.routeDashboard()
	return h, nil
}

// checkOrigin accepts a frame-ancestors source: scheme://host[:port], with
// an optional leading "*." in the host.
func checkOrigin(o string) error {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" ||
		strings.ContainsAny(o, " ;,'\"") {
		return fmt.Errorf("portal: frame ancestor %q must be an origin such as https://app.example.com", o)
	}
	return nil
}

// ServeHTTP sets the headers every answer carries and routes the request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", h.csp)
	hd.Set("X-Content-Type-Options", "nosniff")
	// The session token is in the path: no page may send it to another
	// site as a referrer. (Not no-referrer: with it, a browser sends
	// "Origin: null" on the forms' POSTs, which checkChange refuses.)
	hd.Set("Referrer-Policy", "same-origin")
	if !strings.HasPrefix(r.URL.Path, "/portal/assets/") {
		hd.Set("Cache-Control", "no-store")
	}
	h.mux.ServeHTTP(w, r)
}

// csrfToken is derived from the session token: a page of another origin
// cannot know it, and it changes with every session.
func csrfToken(sessionToken string) string {
	sum := sha256.Sum256([]byte("hookd-csrf\x00" + sessionToken))
	return base64.RawURLEncoding.EncodeToString(sum[:18])
}

// checkChange refuses a change (POST) that does not carry the session's
// CSRF token, or that a page of another origin sent.
func checkChange(r *http.Request, sessionToken string) error {
	if err := checkSameSite(r); err != nil {
		return err
	}
	want := csrfToken(sessionToken)
	if subtle.ConstantTimeCompare([]byte(r.PostFormValue("csrf")), []byte(want)) != 1 {
		return hookd.Errorf(hookd.EFORBIDDEN, "the form has expired: reload the page and try again")
	}
	return nil
}

// checkSameSite refuses a form that the browser says a page of another
// origin sent (Origin, Sec-Fetch-Site).
func checkSameSite(r *http.Request) error {
	if o := r.Header.Get("Origin"); o != "" && !sameHost(o, r.Host) {
		return hookd.Errorf(hookd.EFORBIDDEN, "this form was sent from another site")
	}
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return hookd.Errorf(hookd.EFORBIDDEN, "this form was sent from another site")
	}
	return nil
}

// sameHost reports whether the origin o names host.
func sameHost(o, host string) bool {
	u, err := url.Parse(o)
	return err == nil && u.Host == host
}

// maxForm bounds a form's body.
const maxForm = 256 << 10

// fail renders err as an error page: the domain's message for the
// client's errors, "internal error" (and a log line) for the rest.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, v *view, err error) {
	st := hookd.HTTPStatus(hookd.ErrorCode(err))
	msg := hookd.ErrorMessage(err)
	if st == http.StatusInternalServerError {
		h.log.Error("portal", "path", redactPath(r.URL.Path), "err", err)
		msg = "internal error"
	}
	if v == nil {
		v = &view{}
	}
	v.Title = http.StatusText(st)
	v.Data = msg
	h.render(w, st, "error", v)
}

// redactPath hides a session token in a logged path.
func redactPath(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		if hookd.IsSessionToken(s) {
			parts[i] = "pss_…"
		}
	}
	return strings.Join(parts, "/")
}

// view is what every page gets.
type view struct {
	Title    string
	Base     string // the session's root: /portal/s/pss_… or /dashboard/s/pss_…
	CSRF     string
	ReadOnly bool
	Operator bool
	Tenant   *hookd.Tenant
	Mode     hookd.Mode
	Nav      string // which tab is current
	Flash    string
	Refresh  int // seconds; 0: no automatic reload
	Data     any
}

func (h *Handler) render(w http.ResponseWriter, status int, page string, v *view) {
	t, ok := h.pages[page]
	if !ok {
		http.Error(w, "internal error", http.StatusInternalServerError)
		h.log.Error("portal: no such page", "page", page)
		return
	}
	var b strings.Builder
	if err := t.ExecuteTemplate(&b, "layout", v); err != nil {
		h.log.Error("portal: render", "page", page, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, b.String())
}

// seeOther answers a POST with a redirect to a page of the session.
func seeOther(w http.ResponseWriter, r *http.Request, to string) {
	http.Redirect(w, r, to, http.StatusSeeOther)
}
