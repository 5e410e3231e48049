package hookd

import "context"

// WebhookPageStore pages a scope's webhooks in the database, for the lists
// that select by nothing but the scope: the portal's endpoints of a tenant
// with thousands of webhooks.
type WebhookPageStore interface {
	// FindWebhookPage returns the page p (already normalized) of the
	// scope's webhooks, ordered by id, and how many the scope has.
	FindWebhookPage(ctx context.Context, s Scope, p Page) ([]*Webhook, int, error)
}

// selectsAll reports whether f selects every webhook of its scope, so that
// the store can page them itself.
func (f *WebhookFilter) selectsAll() bool {
	return f.URL == "" && f.Enabled == nil && f.Name == "" && f.Status == "" && f.EventType == "" && f.Resource == ""
}
