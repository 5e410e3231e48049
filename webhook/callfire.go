package webhook

import (
	"bytes"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hookd/hookd"
)

// callFireSource is the hookd.Webhook.Source of webhooks made through the
// CallFire API (compat/callfire, which this package does not import).
const callFireSource = "callfire"

// appendCallFireNotification appends the body CallFire posts to a webhook's
// callback, as its documentation's sample notifications show it:
//
//	{"timestamp", "webhookId", "webhookName", "resourceType",
//	 "events": [{"timestamp", "webhookId", "resourceType", "eventType", "resource"}]}
//
// with one event: resourceType and eventType come from the event type
// (CallBroadcast.finished is CallBroadcast and Finished, spelled as
// CallFire does), resource is the event's data (or its projection), and both
// timestamps are the event's time in unix milliseconds, so that every retry
// sends the same bytes. The event id is the webhook-id header, as on every
// delivery.
func appendCallFireNotification(dst []byte, e *hookd.Event, w *hookd.Webhook, data []byte) []byte {
	resource, event, _ := strings.Cut(e.Type, ".")
	event = upperFirst(event)
	ms := e.CreatedAt.UnixMilli()
	head := func(dst []byte) []byte {
		dst = append(dst, `"timestamp":`...)
		dst = strconv.AppendInt(dst, ms, 10)
		dst = append(dst, `,"webhookId":`...)
		return strconv.AppendInt(dst, w.Number, 10)
	}
	dst = append(dst, '{')
	dst = head(dst)
	dst = append(dst, `,"webhookName":`...)
	dst = appendJSONString(dst, w.Name)
	dst = append(dst, `,"resourceType":`...)
	dst = appendJSONString(dst, resource)
	dst = append(dst, `,"events":[{`...)
	dst = head(dst)
	dst = append(dst, `,"resourceType":`...)
	dst = appendJSONString(dst, resource)
	dst = append(dst, `,"eventType":`...)
	dst = appendJSONString(dst, event)
	dst = append(dst, `,"resource":`...)
	if len(bytes.TrimSpace(data)) == 0 {
		dst = append(dst, "null"...)
	} else {
		dst = append(dst, data...)
	}
	return append(dst, "}]}"...)
}

// upperFirst spells an event as CallFire does: finished is Finished,
// validationFinished is ValidationFinished.
func upperFirst(s string) string {
	r, n := utf8.DecodeRuneInString(s)
	if r == utf8.RuneError || unicode.IsUpper(r) {
		return s
	}
	return string(unicode.ToUpper(r)) + s[n:]
}
