package hookd

import (
	"context"
	"time"
)

// webhooks is the WebhookService: validation, the network policy, the
// catalog check, server-owned fields, the status derived when read, and
// what disabling or deleting does to pending deliveries.
type webhooks struct {
	st interface {
		WebhookStore
		WebhookPageStore
		EventTypeStore
		TenantStore
	}
	now    func() time.Time
	policy NetPolicy
	// stopped is told a webhook that must start no new request (may be nil).
	stopped func(ids []string)
}

func (h *webhooks) stop(id string) {
	if h.stopped != nil {
		h.stopped([]string{id})
	}
}

func (h *webhooks) CreateWebhook(ctx context.Context, s Scope, w *Webhook) error {
	now := h.now().UTC()
	if err := w.Validate(now); err != nil {
		return err
	}
	if err := h.policy.CheckURL("url", w.URL); err != nil {
		return err
	}
	if err := checkCatalog(ctx, h.st, s, w.EventTypes); err != nil {
		return err
	}
	ten, err := h.st.FindTenantByID(ctx, s.TenantID)
	if err != nil {
		return err
	}
	w.Prepare(s, now)
	if err := h.st.InsertWebhook(ctx, w, ten.Limits.MaxWebhooks, announcements(s, WebhookAnnouncement(EventWebhookCreated, w, ""))...); err != nil {
		if ErrorCode(err) == EFORBIDDEN {
			return Errorf(EFORBIDDEN, "the tenant may have %d webhooks in %s mode, and has them: delete one first, or ask the operator to raise max_webhooks", *ten.Limits.MaxWebhooks, s.Mode)
		}
		return err
	}
	w.Status = w.StatusAt(now)
	return nil
}

func (h *webhooks) FindWebhookByID(ctx context.Context, s Scope, id string) (*Webhook, error) {
	return h.read(h.st.FindWebhookByID(ctx, s, id))
}

func (h *webhooks) FindWebhookByNumber(ctx context.Context, s Scope, n int64) (*Webhook, error) {
	return h.read(h.st.FindWebhookByNumber(ctx, s, n))
}

// read sets a webhook's status at the time of the read.
func (h *webhooks) read(w *Webhook, err error) (*Webhook, error) {
	if err != nil {
		return nil, err
	}
	w.Status = w.StatusAt(h.now())
	return w, nil
}

// FindWebhooks selects in Go what depends on rules (status at now, event
// type and resource matching) over the scope's webhooks, which are few.
func (h *webhooks) FindWebhooks(ctx context.Context, s Scope, f WebhookFilter) ([]*Webhook, int, error) {
	if err := f.Page.Normalize(); err != nil {
		return nil, 0, err
	}
	if f.selectsAll() {
		page, total, err := h.st.FindWebhookPage(ctx, s, f.Page)
		if err != nil {
			return nil, 0, err
		}
		now := h.now()
		for _, w := range page {
			w.Status = w.StatusAt(now)
		}
		return page, total, nil
	}
	all, err := h.st.ListWebhooks(ctx, s, WebhookQuery{URL: f.URL, Enabled: f.Enabled, Name: f.Name})
	if err != nil {
		return nil, 0, err
	}
	now := h.now()
	for _, w := range all {
		w.Status = w.StatusAt(now)
	}
	page, total := f.Select(all)
	return page, total, nil
}

func (h *webhooks) UpdateWebhook(ctx context.Context, s Scope, id string, u WebhookUpdate) (*Webhook, error) {
	if u.URL != nil {
		if err := h.policy.CheckURL("url", *u.URL); err != nil {
			return nil, err
		}
	}
	if u.EventTypes != nil {
		// A type deleted from the catalog meanwhile is harmless: webhooks
		// that name a deleted type keep the name.
		if err := checkCatalog(ctx, h.st, s, *u.EventTypes); err != nil {
			return nil, err
		}
	}
	now := h.now().UTC()
	w, err := h.st.UpdateWebhook(ctx, s, id, func(w *Webhook) (WebhookWrite, error) {
		wasEnabled := w.Enabled
		u.Apply(w, now)
		if err := w.validate(now, u.ExpiresAt != nil); err != nil {
			return WebhookWrite{}, err
		}
		wr := WebhookWrite{Announce: []Announcement{WebhookAnnouncement(EventWebhookUpdated, w, "")}}
		switch {
		case wasEnabled && !w.Enabled:
			wr.Announce = append(wr.Announce, WebhookAnnouncement(EventWebhookDisabled, w, ReasonDisabledByAPI))
		case !wasEnabled && w.Enabled:
			wr.Announce = append(wr.Announce, WebhookAnnouncement(EventWebhookEnabled, w, ""))
		}
		wr.Announce = announcements(s, wr.Announce...)
		if !w.Enabled {
			wr.CancelPending = "webhook disabled"
		}
		return wr, nil
	})
	if err == nil && !w.Enabled {
		h.stop(id)
	}
	return h.read(w, err)
}

func (h *webhooks) DeleteWebhook(ctx context.Context, s Scope, id string) error {
	w, err := h.st.FindWebhookByID(ctx, s, id)
	if err != nil {
		return err
	}
	if err := h.st.DeleteWebhook(ctx, s, id, "webhook deleted", announcements(s, WebhookAnnouncement(EventWebhookDeleted, w, ""))...); err != nil {
		return err
	}
	h.stop(id)
	return nil
}

func (h *webhooks) RotateWebhookSecret(ctx context.Context, s Scope, id string, grace time.Duration) (*Webhook, error) {
	if grace < 0 {
		return nil, Errorf(EINVALID, "grace period must not be negative")
	}
	now := h.now().UTC()
	w, err := h.st.UpdateWebhook(ctx, s, id, func(w *Webhook) (WebhookWrite, error) {
		until := now.Add(grace)
		w.PreviousSecret, w.PreviousSecretExpiresAt = w.Secret, &until
		w.Secret = NewSecret()
		w.UpdatedAt = now
		return WebhookWrite{}, nil
	})
	return h.read(w, err)
}
