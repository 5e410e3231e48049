package webhook

import (
	"strings"

	"github.com/hookd/hookd"
)

// svixSource is the hookd.Webhook.Source of endpoints made through Svix's
// API (compat/svix, which this package does not import). Their deliveries
// are Svix's: the body is the message's payload as given, and the
// svix-id, svix-timestamp and svix-signature headers carry the same values
// as the webhook-* ones (Svix signs as Standard Webhooks does), so that
// Svix's verifiers accept them.
const svixSource = "svix"

// appendSvixHeaders appends Svix's headers of o.
func appendSvixHeaders(dst []byte, o *outbound) []byte {
	dst = appendHeader(dst, "Svix-Id", o.e.ID)
	dst = appendHeader(dst, "Svix-Timestamp", o.sig[:o.tsLen])
	return appendHeader(dst, "Svix-Signature", o.sig[o.tsLen:])
}

// svixOwned reports a custom header that a Svix endpoint cannot set.
func svixOwned(w *hookd.Webhook, canon string) bool {
	return w.Source == svixSource && strings.HasPrefix(canon, "Svix-")
}
