package svix

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base32"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat"
)

// messageJSON is Svix's MessageOut.
type messageJSON struct {
	ID        string          `json:"id"`
	EventID   *string         `json:"eventId,omitempty"`
	EventType string          `json:"eventType"`
	Payload   json.RawMessage `json:"payload"`
	Channels  []string        `json:"channels,omitempty"`
	Tags      []string        `json:"tags,omitempty"`
	Timestamp string          `json:"timestamp"`
}

// toMessage answers an event as a message.
func toMessage(e *hookd.Event, withContent bool) messageJSON {
	out := messageJSON{ID: e.ID, EventID: eventIDOf(e), EventType: e.Type, Payload: e.Data, Channels: e.Channels, Tags: e.Tags,
		Timestamp: timeJSON(e.CreatedAt)}
	if !withContent {
		out.Payload = json.RawMessage(`{}`)
	}
	return out
}

// A message published with an eventId has, as in Svix, an id of its own
// (msg_…, the svix-id of its deliveries) and the eventId beside it, and
// GET /msg/{id} finds it by either. Its id is derived from the eventId
// (messageID), so that the store's unique ids refuse a second message with
// that eventId; the eventId is kept in the event's idempotency key, with
// the idempotency-key header after it (which may replay the first
// request): "svix-event-id:<eventId>:<header>". An eventId holds no ':'.
const eventIDKey = "svix-event-id:"

// messageID is the id of the message with this eventId.
func messageID(eventID string) string {
	h := sha256.Sum256([]byte(eventID))
	return "msg_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(h[:17]))
}

// messageKey is the idempotency key of a message with this eventId and
// idempotency-key header.
func messageKey(eventID, header string) string { return eventIDKey + eventID + ":" + header }

// eventIDOf is the eventId of a message, or nil. An event published before
// messages had ids of their own has its eventId as its id.
func eventIDOf(e *hookd.Event) *string {
	if rest, ok := strings.CutPrefix(e.IdempotencyKey, eventIDKey); ok {
		id, _, _ := strings.Cut(rest, ":")
		return &id
	}
	if !strings.HasPrefix(e.ID, "msg_") {
		id := e.ID
		return &id
	}
	return nil
}

// findMessage finds the message ref names: its msg_ id or its eventId.
func (a *api) findMessage(ctx context.Context, s hookd.Scope, ref string) (*hookd.Event, error) {
	ids := []string{ref, messageID(ref)}
	if !strings.HasPrefix(ref, "msg_") {
		ids = []string{messageID(ref), ref} // ref itself: an event of before
	}
	for _, id := range ids {
		e, err := a.svc.Events.FindEventByID(ctx, s, id)
		if hookd.ErrorCode(err) != hookd.ENOTFOUND {
			return e, err
		}
	}
	return nil, hookd.Errorf(hookd.ENOTFOUND, "message %q not found", ref)
}

// labelFilters reads Svix's channel and tag filters of message and
// attempt lists into f.
func labelFilters(r *http.Request, f *hookd.EventFilter) error {
	q := r.URL.Query()
	if q.Has("channel") {
		if f.Channel = q.Get("channel"); !channelRE.MatchString(f.Channel) {
			return hookd.Errorf(hookd.EINVALID, "channel: %q must be 1 to 128 characters of %s", f.Channel, channelChars)
		}
	}
	if q.Has("tag") {
		if f.Tag = q.Get("tag"); !tagRE.MatchString(f.Tag) {
			return hookd.Errorf(hookd.EINVALID, "tag: %q must be 1 to 128 characters of %s", f.Tag, tagChars)
		}
	}
	return nil
}

// hasLabels reports whether e has every label of want.
func hasLabels(e *hookd.Event, want []string) bool {
	have := e.Labels()
	for _, l := range want {
		if !slices.Contains(have, l) {
			return false
		}
	}
	return true
}

// Svix's limits on a message's channels and tags.
const (
	maxMessageChannels = 5
	maxMessageTags     = 5
)

// tagRE is Svix's pattern of a tag; tagChars says it in words.
var tagRE = regexp.MustCompile(`^[a-zA-Z0-9\-_.]{1,128}$`)

const tagChars = "a-z, A-Z, 0-9, '-', '_' or '.'"

// checkNames checks a list of channels or tags (field): at most max
// entries, each matching re, which chars describes.
func checkNames(field string, names []string, max int, re *regexp.Regexp, chars string) error {
	if len(names) > max {
		return hookd.Errorf(hookd.EINVALID, "%s may hold at most %d entries", field, max)
	}
	for i, n := range names {
		if !re.MatchString(n) {
			return hookd.Errorf(hookd.EINVALID, "%s[%d]: %q must be 1 to 128 characters of %s", field, i, n, chars)
		}
	}
	return nil
}

// maxIdempotencyKey bounds the idempotency-key header, as /v1 does.
const maxIdempotencyKey = 256

// messageIn is Svix's MessageIn.
type messageIn struct {
	EventType   string          `json:"eventType"`
	Payload     json.RawMessage `json:"payload"`
	EventID     *string         `json:"eventId"`
	Channels    []string        `json:"channels"`
	Tags        []string        `json:"tags"`
	Application *appIn          `json:"application"`
}

// createMessage is POST /app/{app_id}/msg: the message is published as an
// event of the application, with the idempotency-key header as its
// Idempotency-Key and eventId as its id. An "application" in the body
// creates the application first if the path's uid names none.
func (a *api) createMessage(w http.ResponseWriter, r *http.Request) {
	if err := a.publish(w, r); err != nil {
		a.http.Error(w, r, err)
	}
}

func (a *api) publish(w http.ResponseWriter, r *http.Request) error {
	c, err := a.caller(r)
	if err != nil {
		return err
	}
	var in messageIn
	if err := compat.DecodeJSON(r, a.opts.MaxMessageBytes, &in); err != nil {
		return err
	}
	ref := tenantRef(r.PathValue("app_id"))
	if in.Application != nil && c.Operator && !hookd.IsTenantID(ref) {
		if !in.Application.UID.Set {
			in.Application.UID = nullable[string]{Set: true, Value: &ref}
		}
		if _, _, err := a.putTenant(r, *in.Application); err != nil {
			return err
		}
	}
	s, err := a.svc.Tenants.ActAs(r.Context(), c, ref, hookd.Mode(strings.TrimSpace(r.Header.Get(hookd.ModeHeader))))
	if err != nil {
		return err
	}
	if in.EventType == "" {
		return hookd.Errorf(hookd.EINVALID, "eventType is required")
	}
	if p := bytes.TrimSpace(in.Payload); len(p) == 0 || p[0] != '{' {
		return hookd.Errorf(hookd.EINVALID, "payload must be a JSON object")
	}
	if len(in.Payload) > hookd.MaxEventBytes {
		return hookd.Errorf(hookd.ETOOLARGE, "payload must be at most %d bytes", hookd.MaxEventBytes)
	}
	if k := r.Header.Get("Idempotency-Key"); len(k) > maxIdempotencyKey {
		return hookd.Errorf(hookd.EINVALID, "idempotency-key must be at most %d characters", maxIdempotencyKey)
	}
	e := &hookd.Event{Type: in.EventType, Data: in.Payload, CreatedAt: a.opts.Now().UTC().Truncate(time.Millisecond),
		IdempotencyKey: r.Header.Get("Idempotency-Key")}
	if in.EventID != nil {
		if err := hookd.ValidateUID(*in.EventID); err != nil {
			return hookd.Errorf(hookd.EINVALID, "eventId: %s", hookd.ErrorMessage(err))
		}
		e.ID, e.IdempotencyKey = messageID(*in.EventID), messageKey(*in.EventID, e.IdempotencyKey)
	}
	if err := checkNames("channels", in.Channels, maxMessageChannels, channelRE, channelChars); err != nil {
		return err
	}
	e.Channels = in.Channels
	if err := checkNames("tags", in.Tags, maxMessageTags, tagRE, tagChars); err != nil {
		return err
	}
	e.Tags = in.Tags
	if a.svc.Publisher == nil {
		return hookd.Errorf(hookd.EUNAVAILABLE, "publishing is not available")
	}
	res, err := a.svc.Publisher.Publish(r.Context(), hookd.PublishRequest{Scope: s, Event: e})
	// Svix answers 409 for an eventId used before, unless the request is a
	// replay of the same idempotency-key.
	if in.EventID != nil && (hookd.ErrorCode(err) == hookd.ECONFLICT ||
		err == nil && res.Replayed && (r.Header.Get("Idempotency-Key") == "" || res.Event.IdempotencyKey != e.IdempotencyKey)) {
		return hookd.Errorf(hookd.ECONFLICT, "a message with eventId %q already exists", *in.EventID)
	}
	if err != nil {
		return err
	}
	out := toMessage(res.Event, r.URL.Query().Get("with_content") != "false")
	compat.WriteJSON(w, http.StatusAccepted, out)
	return nil
}

func (a *api) listMessages(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	limit, it := p.limit, p.iterator
	f := hookd.EventFilter{Page: hookd.Page{Limit: limit + 1, Cursor: it}}
	if err := labelFilters(r, &f); err != nil {
		return err
	}
	q := r.URL.Query()
	switch types := q["event_types"]; len(types) {
	case 0:
	case 1:
		f.Type = types[0]
	default:
		return hookd.Errorf(hookd.EINVALID, "event_types: hookd filters messages by one event type at a time")
	}
	if f.Since, err = timeParam(r, "after"); err != nil {
		return err
	}
	if f.Until, err = timeParam(r, "before"); err != nil {
		return err
	}
	es, err := a.svc.Events.FindEvents(r.Context(), s, f)
	if err != nil {
		return err
	}
	out := make([]messageJSON, len(es))
	for i, e := range es {
		out[i] = toMessage(e, withContent(r))
	}
	compat.WriteJSON(w, http.StatusOK, list(out, limit, func(m messageJSON) string { return m.ID }))
	return nil
}

func timeParam(r *http.Request, name string) (*time.Time, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return nil, nil
	}
	t, err := time.Parse(time.RFC3339, v)
	if err != nil {
		return nil, hookd.Errorf(hookd.EINVALID, "%s must be an RFC 3339 time, got %q", name, v)
	}
	return &t, nil
}

func (a *api) getMessage(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	e, err := a.findMessage(r.Context(), s, r.PathValue("msg_id"))
	if err != nil {
		return err
	}
	compat.WriteJSON(w, http.StatusOK, toMessage(e, withContent(r)))
	return nil
}

// attemptJSON is Svix's MessageAttemptOut.
type attemptJSON struct {
	ID                 string `json:"id"`
	MsgID              string `json:"msgId"`
	EndpointID         string `json:"endpointId"`
	URL                string `json:"url"`
	Response           string `json:"response"`
	ResponseStatusCode int    `json:"responseStatusCode"`
	ResponseDurationMs int64  `json:"responseDurationMs"`
	Status             int    `json:"status"`      // 0 success, 2 fail
	TriggerType        int    `json:"triggerType"` // 0 scheduled
	Timestamp          string `json:"timestamp"`
}

// Svix's MessageStatus values.
const (
	statusSuccess = 0
	statusPending = 1
	statusFail    = 2
	statusSending = 3
)

// attempts returns the attempts of the deliveries f selects whose
// messages have every label of want, newest first.
func (a *api) attempts(ctx context.Context, s hookd.Scope, f hookd.DeliveryFilter, want []string) ([]attemptJSON, error) {
	var ds []*hookd.Delivery
	if err := a.eachDelivery(ctx, s, f, func(d *hookd.Delivery) bool { ds = append(ds, d); return true }); err != nil {
		return nil, err
	}
	if want != nil {
		var err error
		if ds, err = a.labelled(ctx, s, ds, want); err != nil {
			return nil, err
		}
	}
	urls := map[string]string{}
	out := []attemptJSON{}
	for _, d := range ds {
		_, atts, err := a.svc.Deliveries.FindDeliveryByID(ctx, s, d.ID)
		if hookd.ErrorCode(err) == hookd.ENOTFOUND {
			continue // pruned meanwhile
		} else if err != nil {
			return nil, err
		}
		u, ok := urls[d.WebhookID]
		if !ok {
			if wh, err := a.svc.Webhooks.FindWebhookByID(ctx, s, d.WebhookID); err == nil {
				u = wh.URL
			} else if hookd.ErrorCode(err) != hookd.ENOTFOUND {
				return nil, err
			}
			urls[d.WebhookID] = u
		}
		for _, at := range atts {
			st := statusSuccess
			if at.ErrorClass != hookd.ClassNone || at.StatusCode < 200 || at.StatusCode > 299 {
				st = statusFail
			}
			out = append(out, attemptJSON{
				ID: attemptID(at.ID), MsgID: d.EventID, EndpointID: endpointID(d.WebhookID), URL: u,
				Response: at.ResponseExcerpt, ResponseStatusCode: at.StatusCode, ResponseDurationMs: at.DurationMS,
				Status: st, Timestamp: timeJSON(at.At),
			})
		}
	}
	slices.SortFunc(out, func(x, y attemptJSON) int { return strings.Compare(y.ID, x.ID) })
	return out, nil
}

// labelled returns the deliveries of ds whose messages have every label
// of want, reading each message once.
func (a *api) labelled(ctx context.Context, s hookd.Scope, ds []*hookd.Delivery, want []string) ([]*hookd.Delivery, error) {
	keep := map[string]bool{}
	out := ds[:0]
	for _, d := range ds {
		ok, seen := keep[d.EventID]
		if !seen {
			e, err := a.svc.Events.FindEventByID(ctx, s, d.EventID)
			if err != nil && hookd.ErrorCode(err) != hookd.ENOTFOUND {
				return nil, err
			}
			ok = err == nil && hasLabels(e, want)
			keep[d.EventID] = ok
		}
		if ok {
			out = append(out, d)
		}
	}
	return out, nil
}

// attemptLabels reads the channel and tag filters of an attempt list.
func attemptLabels(r *http.Request) ([]string, error) {
	var f hookd.EventFilter
	if err := labelFilters(r, &f); err != nil {
		return nil, err
	}
	return f.Labels(), nil
}

// attemptPage answers one page of attempts, newest first, after the iterator.
func attemptPage(w http.ResponseWriter, r *http.Request, all []attemptJSON) error {
	p, err := page(r)
	if err != nil {
		return err
	}
	limit, it := p.limit, p.iterator
	var want *int
	if v := r.URL.Query().Get("status"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < statusSuccess || n > statusSending {
			return hookd.Errorf(hookd.EINVALID, "status must be 0, 1, 2 or 3, got %q", v)
		}
		want = &n
	}
	ep := r.URL.Query().Get("endpoint_id")
	sel := []attemptJSON{}
	for _, at := range all {
		if (it != "" && at.ID >= it) || (want != nil && at.Status != *want) || (ep != "" && at.EndpointID != ep) {
			continue
		}
		sel = append(sel, at)
		if len(sel) > limit {
			break
		}
	}
	compat.WriteJSON(w, http.StatusOK, list(sel, limit, func(at attemptJSON) string { return at.ID }))
	return nil
}

// messageAttempts returns the attempts of the message of the path, newest
// first: none unless the message has every label of want.
func (a *api) messageAttempts(r *http.Request, s hookd.Scope, want []string) ([]attemptJSON, error) {
	e, err := a.findMessage(r.Context(), s, r.PathValue("msg_id"))
	if err != nil {
		return nil, err
	}
	if !hasLabels(e, want) {
		return []attemptJSON{}, nil
	}
	return a.attempts(r.Context(), s, hookd.DeliveryFilter{EventID: e.ID}, nil)
}

func (a *api) attemptsByMessage(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	want, err := attemptLabels(r)
	if err != nil {
		return err
	}
	all, err := a.messageAttempts(r, s, want)
	if err != nil {
		return err
	}
	return attemptPage(w, r, all)
}

// attemptsByEndpoint filters by channel and tag by reading each message
// the endpoint was sent once: like the rest of this list, its cost grows
// with the endpoint's deliveries.
func (a *api) attemptsByEndpoint(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	want, err := attemptLabels(r)
	if err != nil {
		return err
	}
	wh, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	all, err := a.attempts(r.Context(), s, hookd.DeliveryFilter{WebhookID: wh.ID}, want)
	if err != nil {
		return err
	}
	return attemptPage(w, r, all)
}

func (a *api) getAttempt(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	all, err := a.messageAttempts(r, s, nil)
	if err != nil {
		return err
	}
	id := r.PathValue("attempt_id")
	for _, at := range all {
		if at.ID == id || at.ID == attemptID(id) {
			compat.WriteJSON(w, http.StatusOK, at)
			return nil
		}
	}
	return hookd.Errorf(hookd.ENOTFOUND, "attempt %q not found", id)
}

// resend sends the message to the endpoint once more: its delivery gets
// one more attempt, due now.
func (a *api) resend(w http.ResponseWriter, r *http.Request, s hookd.Scope) error {
	e, err := a.findMessage(r.Context(), s, r.PathValue("msg_id"))
	if err != nil {
		return err
	}
	wh, err := a.findEndpoint(r.Context(), s, r.PathValue("endpoint_id"))
	if err != nil {
		return err
	}
	ds, err := a.svc.Deliveries.FindDeliveries(r.Context(), s, hookd.DeliveryFilter{EventID: e.ID, WebhookID: wh.ID, Page: hookd.Page{Limit: 1}})
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return hookd.Errorf(hookd.ENOTFOUND, "message %s was not sent to endpoint %s", e.ID, endpointID(wh.ID))
	}
	if _, err := a.svc.Deliveries.RetryDelivery(r.Context(), s, ds[0].ID); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}
