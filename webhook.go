package hookd

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// WebhookStatus is where a webhook stands. Only active webhooks receive events.
type WebhookStatus string

const (
	StatusActive       WebhookStatus = "active"
	StatusDisabled     WebhookStatus = "disabled"      // enabled=false, by a person
	StatusAutoDisabled WebhookStatus = "auto_disabled" // failed for the whole window, or answered 410
	StatusExpired      WebhookStatus = "expired"       // expires_at has passed
)

// Webhook is a subscription: where to POST which events, and how.
type Webhook struct {
	ID       string `json:"id"`
	Number   int64  `json:"-"` // a numeric id for APIs that want one (CallFire); unique per store
	TenantID string `json:"-"`
	Mode     Mode   `json:"-"`

	Name        string   `json:"name"`
	Description string   `json:"description"`
	URL         string   `json:"url"`
	EventTypes  []string `json:"event_types"` // names, "*" or "Resource.*"; empty means all
	// Filter is a JSON document in the filter language of filter.go, or nil.
	Filter json.RawMessage `json:"filter,omitempty"`
	// Fields, when set, cuts each event's data to these (dot-separated) paths.
	Fields    []string          `json:"fields"`
	Enabled   bool              `json:"enabled"`
	Status    WebhookStatus     `json:"status"`
	Secret    string            `json:"-"` // whsec_…; served by …/secret and on create only
	SingleUse bool              `json:"single_use"`
	ExpiresAt *time.Time        `json:"expires_at"`
	TLSVerify bool              `json:"tls_verify"`
	Headers   map[string]string `json:"headers"`
	RateLimit *int              `json:"rate_limit"` // deliveries per second; nil = unlimited
	Metadata  map[string]string `json:"metadata"`
	// Source names the API that created the webhook ("", "callfire",
	// "salesfinity", "backend"); deliveries may add that API's own headers.
	Source    string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`

	// PreviousSecret keeps signing until PreviousSecretExpiresAt after a rotation.
	PreviousSecret          string     `json:"-"`
	PreviousSecretExpiresAt *time.Time `json:"-"`
	// FailingSince is the time of the first failed attempt since the last
	// success; nil while healthy. It drives auto-disable.
	FailingSince *time.Time `json:"-"`
}

// Secrets returns the secrets that sign a delivery at time now: the current
// one and, during a rotation's grace period, the previous one.
func (w *Webhook) Secrets(now time.Time) []string {
	s := []string{w.Secret}
	if w.PreviousSecret != "" && w.PreviousSecretExpiresAt != nil && now.Before(*w.PreviousSecretExpiresAt) {
		s = append(s, w.PreviousSecret)
	}
	return s
}

// Deliverable reports whether the webhook receives events at time now.
func (w *Webhook) Deliverable(now time.Time) bool {
	return w.Enabled && w.StatusAt(now) == StatusActive
}

// NewSecret returns a fresh signing secret: whsec_ + base64 of 24 random bytes,
// the Standard Webhooks form.
func NewSecret() string {
	var b [24]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error())
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(b[:])
}

// Limits on webhook fields.
const (
	MaxURLLength         = 2048
	MaxNameLength        = 256
	MaxDescriptionLength = 4096
	MaxEventTypes        = 256
	MaxHeaders           = 32
	MaxMetadata          = 64
	MaxFields            = 256
	MaxRateLimit         = 100000
)

// reservedHeaders are request headers a webhook may not set: hookd owns
// them, or they are about the connection rather than the delivery.
var reservedHeaders = map[string]bool{
	"Content-Type":      true,
	"Content-Length":    true,
	"Host":              true,
	"User-Agent":        true,
	"Transfer-Encoding": true,
	"Trailer":           true,
	"Te":                true,
	"Connection":        true,
	"Keep-Alive":        true,
	"Proxy-Connection":  true,
	"Upgrade":           true,
	"Expect":            true,
}

// ValidateURL checks a delivery URL: absolute http or https, a host, no
// user-info, at most MaxURLLength characters.
func ValidateURL(field, raw string) error {
	if raw == "" {
		return Errorf(EINVALID, "%s is required", field)
	}
	if len(raw) > MaxURLLength {
		return Errorf(EINVALID, "%s must be at most %d characters, got %d", field, MaxURLLength, len(raw))
	}
	u, err := url.Parse(raw)
	if err != nil {
		return Errorf(EINVALID, "%s is not a valid URL: %v", field, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Errorf(EINVALID, "%s must be an absolute http or https URL, got %q", field, raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return Errorf(EINVALID, "%s must name a host, got %q", field, raw)
	}
	if u.User != nil {
		return Errorf(EINVALID, "%s must not contain user-info (user:password@)", field)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return Errorf(EINVALID, "%s port must be between 1 and 65535, got %s", field, p)
		}
	}
	for _, c := range []byte(u.Host) {
		if c <= ' ' || c >= 0x7f {
			return Errorf(EINVALID, "%s host must be ASCII: write an internationalized name in its xn-- (punycode) form, got %q", field, u.Host)
		}
	}
	return nil
}

// Validate checks the fields a client supplies, returning EINVALID with a
// message that names the field. It does not check that the event types
// exist in the catalog: the webhook service does.
func (w *Webhook) Validate(now time.Time) error {
	return w.validate(now, true)
}

// validate is Validate; checkExpiry false leaves expires_at unchecked, for
// an update that does not change it (a webhook that has expired can still
// be renamed, disabled or given a new expiry).
func (w *Webhook) validate(now time.Time, checkExpiry bool) error {
	if err := ValidateURL("url", w.URL); err != nil {
		return err
	}
	if len(w.Name) > MaxNameLength {
		return Errorf(EINVALID, "name must be at most %d characters", MaxNameLength)
	}
	if len(w.Description) > MaxDescriptionLength {
		return Errorf(EINVALID, "description must be at most %d characters", MaxDescriptionLength)
	}
	for _, f := range [...]struct{ name, v string }{{"name", w.Name}, {"description", w.Description}, {"source", w.Source}} {
		if err := ValidateText(f.name, f.v); err != nil {
			return err
		}
	}
	if len(w.EventTypes) > MaxEventTypes {
		return Errorf(EINVALID, "event_types may hold at most %d entries", MaxEventTypes)
	}
	for i, t := range w.EventTypes {
		if err := ValidateEventTypePattern(t); err != nil {
			return Errorf(EINVALID, "event_types[%d]: %s", i, ErrorMessage(err))
		}
	}
	if len(w.Filter) > 0 && string(w.Filter) != "null" {
		if _, err := ParseFilter(w.Filter); err != nil {
			return Errorf(EINVALID, "filter: %s", ErrorMessage(err))
		}
	}
	if len(w.Fields) > MaxFields {
		return Errorf(EINVALID, "fields may hold at most %d entries", MaxFields)
	}
	for i, f := range w.Fields {
		if f == "" || strings.HasPrefix(f, ".") || strings.HasSuffix(f, ".") || strings.Contains(f, "..") {
			return Errorf(EINVALID, "fields[%d]: %q is not a dot-separated field path", i, f)
		}
	}
	if checkExpiry && w.ExpiresAt != nil && !w.ExpiresAt.After(now) {
		return Errorf(EINVALID, "expires_at must be in the future, got %s", w.ExpiresAt.UTC().Format(time.RFC3339))
	}
	if len(w.Headers) > MaxHeaders {
		return Errorf(EINVALID, "headers may hold at most %d entries", MaxHeaders)
	}
	for k, v := range w.Headers {
		if err := validateHeader(k, v); err != nil {
			return err
		}
	}
	if w.RateLimit != nil && (*w.RateLimit < 1 || *w.RateLimit > MaxRateLimit) {
		return Errorf(EINVALID, "rate_limit must be between 1 and %d deliveries per second", MaxRateLimit)
	}
	if len(w.Metadata) > MaxMetadata {
		return Errorf(EINVALID, "metadata may hold at most %d entries", MaxMetadata)
	}
	for k, v := range w.Metadata {
		if err := ValidateText("metadata", k+v); err != nil {
			return err
		}
	}
	if w.Secret != "" {
		if err := ValidateSecret(w.Secret); err != nil {
			return err
		}
	}
	return nil
}

// Bounds of a signing key: the bytes a whsec_ secret's base64 decodes to.
const (
	MinSecretKeyBytes = 8
	MaxSecretKeyBytes = 256
)

// ValidateSecret accepts a client-chosen secret only in the Standard
// Webhooks form, whsec_ and the standard base64 of a key of 8 to 256 bytes:
// every Standard Webhooks library verifies deliveries with such a secret as
// it is, and with nothing else.
func ValidateSecret(s string) error {
	rest, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return Errorf(EINVALID, "secret must be a Standard Webhooks secret: whsec_ followed by the standard base64 of a key of %d to %d bytes (omit it and one is generated)", MinSecretKeyBytes, MaxSecretKeyBytes)
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) < MinSecretKeyBytes || len(key) > MaxSecretKeyBytes {
		return Errorf(EINVALID, "secret must continue after whsec_ with the standard base64 of a key of %d to %d bytes", MinSecretKeyBytes, MaxSecretKeyBytes)
	}
	return nil
}

// SecretFromText is the whsec_ secret whose key is the bytes of text: how
// an API whose clients choose any string as their secret (CallFire) keeps
// it, so that its deliveries verify both with text and with the Standard
// Webhooks libraries. A text that already is a whsec_ secret shown as
// itself (SecretText) is kept as it is.
func SecretFromText(text string) string {
	if ValidateSecret(text) == nil && SecretText(text) == text {
		return text
	}
	return "whsec_" + base64.StdEncoding.EncodeToString([]byte(text))
}

// SecretText is a secret as those APIs show it and sign with: the key of a
// secret made by SecretFromText (printable ASCII without spaces), else the
// secret itself. (A generated key is 24 random bytes: all of them printable
// with a chance of about 4e-11.)
func SecretText(secret string) string {
	rest, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		return secret
	}
	key, err := base64.StdEncoding.DecodeString(rest)
	if err != nil || len(key) < MinSecretKeyBytes {
		return secret
	}
	for _, c := range key {
		if c <= ' ' || c > '~' {
			return secret
		}
	}
	return string(key)
}

func validateHeader(k, v string) error {
	if k == "" || !validHeaderName(k) {
		return Errorf(EINVALID, "headers: %q is not a valid header name", k)
	}
	canon := textproto.CanonicalMIMEHeaderKey(k)
	if reservedHeaders[canon] || strings.HasPrefix(strings.ToLower(k), "webhook-") {
		return Errorf(EINVALID, "headers: %q is set by hookd and cannot be replaced", k)
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return Errorf(EINVALID, "headers: the value of %q must not contain line breaks", k)
	}
	if err := ValidateText(`headers: the value of "`+k+`"`, v); err != nil {
		return err
	}
	return nil
}

func validHeaderName(k string) bool {
	for i := 0; i < len(k); i++ {
		c := k[i]
		ok := c == '-' || c == '_' || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
			c == '\'' || c == '*' || c == '+' || c == '.' || c == '^' || c == '`' || c == '|' || c == '~' ||
			('0' <= c && c <= '9') || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z')
		if !ok {
			return false
		}
	}
	return true
}

// WebhookFilter selects webhooks in a list. Zero fields do not filter.
type WebhookFilter struct {
	URL       string // exact match
	Enabled   *bool
	EventType string // webhooks that would receive this event type (wildcards count)
	Name      string // exact match
	Resource  string // webhooks subscribed to any event of this resource
	Status    WebhookStatus
	Page
}

// WebhookUpdate is a partial update: nil fields are left as they are.
// A non-nil pointer to a zero value clears the field.
type WebhookUpdate struct {
	Name        *string
	Description *string
	URL         *string
	EventTypes  *[]string
	Filter      *json.RawMessage
	Fields      *[]string
	Enabled     *bool
	SingleUse   *bool
	ExpiresAt   **time.Time
	TLSVerify   *bool
	Headers     *map[string]string
	RateLimit   **int
	Metadata    *map[string]string
	Secret      *string
}

// Apply copies the set fields of u onto w. Setting Enabled recomputes Status:
// enabling an auto-disabled webhook brings it back and forgets its failures.
// Status is left as stores keep it (heldStatus).
func (u *WebhookUpdate) Apply(w *Webhook, now time.Time) {
	if u.Name != nil {
		w.Name = *u.Name
	}
	if u.Description != nil {
		w.Description = *u.Description
	}
	if u.URL != nil {
		w.URL = *u.URL
	}
	if u.EventTypes != nil {
		w.EventTypes = *u.EventTypes
	}
	if u.Filter != nil {
		w.Filter = *u.Filter
	}
	if u.Fields != nil {
		w.Fields = *u.Fields
	}
	if u.SingleUse != nil {
		w.SingleUse = *u.SingleUse
	}
	if u.ExpiresAt != nil {
		w.ExpiresAt = *u.ExpiresAt
	}
	if u.TLSVerify != nil {
		w.TLSVerify = *u.TLSVerify
	}
	if u.Headers != nil {
		w.Headers = *u.Headers
	}
	if u.RateLimit != nil {
		w.RateLimit = *u.RateLimit
	}
	if u.Metadata != nil {
		w.Metadata = *u.Metadata
	}
	if u.Secret != nil {
		w.Secret = *u.Secret
	}
	if u.Enabled != nil {
		w.Enabled = *u.Enabled
		if w.Enabled {
			w.FailingSince = nil
		}
	}
	w.Status = w.heldStatus()
	w.UpdatedAt = now
}

// StatusAt is the webhook's status at now, derived when read from its
// fields and the clock: expired comes from expires_at, never from a stored
// value, so a webhook reads expired from the moment it expires.
func (w *Webhook) StatusAt(now time.Time) WebhookStatus {
	st := w.heldStatus()
	if st == StatusActive && w.ExpiresAt != nil && !now.Before(*w.ExpiresAt) {
		return StatusExpired
	}
	return st
}

// heldStatus is the part of the status that does not depend on the clock,
// which is what stores keep: auto_disabled sticks until the webhook is
// enabled again by an update. (A status "expired" stored by an earlier
// version reads as active here and as expired from StatusAt.)
func (w *Webhook) heldStatus() WebhookStatus {
	switch {
	case !w.Enabled && w.Status == StatusAutoDisabled:
		return StatusAutoDisabled
	case !w.Enabled:
		return StatusDisabled
	}
	return StatusActive
}

// Prepare fills what the server owns on a new webhook: id, secret when the
// client chose none, status and timestamps. Stores assign Number.
func (w *Webhook) Prepare(s Scope, now time.Time) {
	w.ID = NewIDAt("wh", now)
	w.TenantID, w.Mode = s.TenantID, s.Mode
	if w.Secret == "" {
		w.Secret = NewSecret()
	}
	w.FillEmpty()
	w.Status = w.heldStatus()
	w.CreatedAt, w.UpdatedAt = now, now
}

// FillEmpty sets nil EventTypes, Fields, Headers and Metadata to empty
// values, so that every store and API writes them as [] and {}, never null.
func (w *Webhook) FillEmpty() {
	if w.EventTypes == nil {
		w.EventTypes = []string{}
	}
	if w.Fields == nil {
		w.Fields = []string{}
	}
	if w.Headers == nil {
		w.Headers = map[string]string{}
	}
	if w.Metadata == nil {
		w.Metadata = map[string]string{}
	}
}

// WebhookService manages webhooks; NewServices implements it over a
// WebhookStore. Every method is confined to its Scope, and every webhook it
// returns carries its status at the time of the call (StatusAt).
type WebhookService interface {
	// CreateWebhook validates w (EINVALID, naming the field; an event type
	// that is neither a wildcard nor in the catalog is EINVALID), fills the
	// server-owned fields with Prepare and stores it.
	CreateWebhook(ctx context.Context, s Scope, w *Webhook) error
	// FindWebhookByID returns ENOTFOUND if no webhook has that id in scope.
	FindWebhookByID(ctx context.Context, s Scope, id string) (*Webhook, error)
	// FindWebhookByNumber is FindWebhookByID for the numeric id.
	FindWebhookByNumber(ctx context.Context, s Scope, n int64) (*Webhook, error)
	// FindWebhooks returns one page, ordered by id, and the total that match.
	FindWebhooks(ctx context.Context, s Scope, f WebhookFilter) ([]*Webhook, int, error)
	// UpdateWebhook applies u and validates the result as CreateWebhook does
	// (expires_at only when u sets it). Disabling cancels the webhook's
	// pending deliveries. Returns ENOTFOUND, EINVALID.
	UpdateWebhook(ctx context.Context, s Scope, id string, u WebhookUpdate) (*Webhook, error)
	// DeleteWebhook returns ENOTFOUND. Its pending deliveries are cancelled.
	DeleteWebhook(ctx context.Context, s Scope, id string) error
	// RotateWebhookSecret makes a new secret; the old one keeps signing for grace.
	RotateWebhookSecret(ctx context.Context, s Scope, id string, grace time.Duration) (*Webhook, error)
}
