package hookd

import "context"

// GuardedWebhooks wraps a WebhookService so that creating or re-pointing a
// webhook at a literal address the policy refuses is EINVALID. Every API
// (canonical and compatibility) writes webhooks through it; the connect-time
// check in the delivery dialer remains the real guard, since names resolve late.
func GuardedWebhooks(next WebhookService, p NetPolicy) WebhookService {
	return guardedWebhooks{WebhookService: next, policy: p}
}

type guardedWebhooks struct {
	WebhookService
	policy NetPolicy
}

func (g guardedWebhooks) CreateWebhook(ctx context.Context, s Scope, w *Webhook) error {
	if err := g.policy.CheckURL("url", w.URL); err != nil {
		return err
	}
	return g.WebhookService.CreateWebhook(ctx, s, w)
}

func (g guardedWebhooks) UpdateWebhook(ctx context.Context, s Scope, id string, u WebhookUpdate) (*Webhook, error) {
	if u.URL != nil {
		if err := g.policy.CheckURL("url", *u.URL); err != nil {
			return nil, err
		}
	}
	return g.WebhookService.UpdateWebhook(ctx, s, id, u)
}
