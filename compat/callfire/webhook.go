package callfire

import (
	"bytes"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat"
)

// webhookJSON is the Webhook object of seed 001 as this API answers it.
type webhookJSON struct {
	ID           int64    `json:"id"`
	Name         string   `json:"name,omitempty"`
	Resource     string   `json:"resource,omitempty"`
	Events       []string `json:"events,omitempty"`
	Callback     string   `json:"callback"`
	Enabled      bool     `json:"enabled"`
	Secret       string   `json:"secret,omitempty"`
	SingleUse    bool     `json:"singleUse"`
	NonStrictSsl bool     `json:"nonStrictSsl"`
	Fields       string   `json:"fields,omitempty"`
	ExpiresAt    *int64   `json:"expiresAt,omitempty"`
	CreatedAt    int64    `json:"createdAt"`
	UpdatedAt    int64    `json:"updatedAt"`
}

func toJSON(w *hookd.Webhook) webhookJSON {
	r, events := describe(w.EventTypes)
	out := webhookJSON{
		ID:           w.Number,
		Name:         w.Name,
		Resource:     r,
		Events:       events,
		Callback:     w.URL,
		Enabled:      w.Enabled,
		Secret:       hookd.SecretText(w.Secret),
		SingleUse:    w.SingleUse,
		NonStrictSsl: !w.TLSVerify,
		Fields:       fieldsOf(w),
		CreatedAt:    w.CreatedAt.UnixMilli(),
		UpdatedAt:    w.UpdatedAt.UnixMilli(),
	}
	if w.ExpiresAt != nil {
		ms := w.ExpiresAt.UnixMilli()
		out.ExpiresAt = &ms
	}
	return out
}

// MetadataFields is the metadata key that keeps the fields expression as the
// client wrote it (contact(id,homePhone)), since hookd keeps only the paths
// it selects (contact.id, contact.homePhone).
const MetadataFields = "callfire.fields"

// fieldsOf answers the fields expression as it was written, unless the
// webhook's fields were changed since through another API.
func fieldsOf(w *hookd.Webhook) string {
	if expr, ok := w.Metadata[MetadataFields]; ok {
		if sel, err := parseSelection("fields", expr); err == nil && slices.Equal(sel.paths(), w.Fields) {
			return expr
		}
	}
	return strings.Join(w.Fields, ",")
}

// webhookInput is a Webhook object sent by a client. Absent (or null)
// properties are left as they are on update; read-only ones (id, createdAt,
// updatedAt) are ignored, since clients send back what they read.
type webhookInput struct {
	Name         *string    `json:"name"`
	Resource     *string    `json:"resource"`
	Events       *eventList `json:"events"`
	Callback     *string    `json:"callback"`
	Enabled      *bool      `json:"enabled"`
	Secret       *string    `json:"secret"`
	SingleUse    *bool      `json:"singleUse"`
	NonStrictSsl *bool      `json:"nonStrictSsl"`
	Fields       *string    `json:"fields"`
	// ExpiresAt is raw so that an explicit null can clear it.
	ExpiresAt json.RawMessage `json:"expiresAt"`
}

// eventList accepts the documented set of names and, leniently, the
// "comma separated list" the property's description mentions.
type eventList []string

func (l *eventList) UnmarshalJSON(b []byte) error {
	var list []string
	if err := json.Unmarshal(b, &list); err == nil {
		*l = list
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return compat.NewFieldError(hookd.EINVALID, "events must be an array of event names, such as [\"started\", \"finished\"]")
	}
	*l = nil
	for _, e := range strings.Split(s, ",") {
		if e = strings.TrimSpace(e); e != "" {
			*l = append(*l, e)
		}
	}
	return nil
}

// update translates the input into a domain update of cur (nil on create),
// checking each property under its CallFire name.
func (in *webhookInput) update(cur *hookd.Webhook, cat *catalog, now time.Time) (hookd.WebhookUpdate, error) {
	var u hookd.WebhookUpdate
	if in.Name != nil {
		if len(*in.Name) > hookd.MaxNameLength {
			return u, hookd.Errorf(hookd.EINVALID, "name must be at most %d characters", hookd.MaxNameLength)
		}
		u.Name = in.Name
	}
	if in.Callback != nil || cur == nil {
		var cb string
		if in.Callback != nil {
			cb = strings.TrimSpace(*in.Callback)
		}
		if err := hookd.ValidateURL("callback", cb); err != nil {
			return u, err
		}
		u.URL = &cb
	}
	if err := in.updateEvents(&u, cur, cat); err != nil {
		return u, err
	}
	u.Enabled = in.Enabled
	if cur == nil && u.Enabled == nil {
		yes := true
		u.Enabled = &yes
	}
	if in.Secret != nil && *in.Secret != "" {
		if err := validateSecret(*in.Secret); err != nil {
			return u, err
		}
		// CallFire's secret is any string; it is kept as the whsec_ secret
		// whose key is that string (hookd.SecretFromText), so that its
		// deliveries verify with the Standard Webhooks libraries too.
		sec := hookd.SecretFromText(*in.Secret)
		if cur == nil || sec != cur.Secret {
			u.Secret = &sec
		}
	}
	u.SingleUse = in.SingleUse
	if in.NonStrictSsl != nil {
		verify := !*in.NonStrictSsl
		u.TLSVerify = &verify
	} else if cur == nil {
		verify := true
		u.TLSVerify = &verify
	}
	if in.Fields != nil {
		sel, err := parseSelection("fields", *in.Fields)
		if err != nil {
			return u, err
		}
		paths := sel.paths()
		if paths == nil {
			paths = []string{}
		}
		u.Fields = &paths
		md := map[string]string{}
		if cur != nil {
			maps.Copy(md, cur.Metadata)
		}
		if expr := strings.TrimSpace(*in.Fields); expr != "" {
			md[MetadataFields] = expr
		} else {
			delete(md, MetadataFields)
		}
		u.Metadata = &md
	}
	if len(in.ExpiresAt) > 0 {
		exp, err := expiresAt(in.ExpiresAt, now)
		if err != nil {
			return u, err
		}
		u.ExpiresAt = &exp
	}
	return u, nil
}

// updateEvents sets the event types from resource and events. On update a
// missing resource is the current one, and a new resource without events
// means all of its events.
func (in *webhookInput) updateEvents(u *hookd.WebhookUpdate, cur *hookd.Webhook, cat *catalog) error {
	if cur != nil && in.Resource == nil && in.Events == nil {
		return nil
	}
	var res string
	switch {
	case in.Resource != nil && strings.TrimSpace(*in.Resource) != "":
		res = *in.Resource
	case cur != nil:
		res, _ = describe(cur.EventTypes)
	}
	if res == "" {
		return hookd.Errorf(hookd.EINVALID, "resource is required; available: %s", cat.names())
	}
	var events []string
	if in.Events != nil {
		events = *in.Events
	} else if cur != nil {
		if r, ev := describe(cur.EventTypes); strings.EqualFold(r, res) {
			events = ev
		}
	}
	patterns, err := cat.patterns(res, events)
	if err != nil {
		return err
	}
	u.EventTypes = &patterns
	return nil
}

// expiresAt decodes unix milliseconds, or null to clear.
func expiresAt(raw json.RawMessage, now time.Time) (*time.Time, error) {
	if bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
		return nil, nil
	}
	var ms int64
	if err := json.Unmarshal(raw, &ms); err != nil {
		return nil, hookd.Errorf(hookd.EINVALID, "expiresAt must be a time in unix milliseconds, got %s", raw)
	}
	t := time.UnixMilli(ms).UTC()
	if !t.After(now) {
		return nil, hookd.Errorf(hookd.EINVALID, "expiresAt must be in the future, got %d", ms)
	}
	return &t, nil
}

// validateSecret accepts what CallFire accepted: 8 to 256 printable ASCII
// characters without spaces.
func validateSecret(s string) error {
	if len(s) < hookd.MinSecretKeyBytes || len(s) > hookd.MaxSecretKeyBytes {
		return hookd.Errorf(hookd.EINVALID, "secret must be %d to %d characters", hookd.MinSecretKeyBytes, hookd.MaxSecretKeyBytes)
	}
	for _, r := range s {
		if r <= ' ' || r > '~' {
			return hookd.Errorf(hookd.EINVALID, "secret must be printable ASCII without spaces")
		}
	}
	return nil
}
