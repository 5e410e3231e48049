package hookd

import (
	"context"
	"time"
)

// deliveries is the DeliveryService: the log, retry and recover.
type deliveries struct {
	st interface {
		DeliveryStore
		WebhookStore
	}
	now func() time.Time
}

func (d *deliveries) FindDeliveries(ctx context.Context, s Scope, f DeliveryFilter) ([]*Delivery, error) {
	if err := f.Page.Normalize(); err != nil {
		return nil, err
	}
	return d.st.FindDeliveries(ctx, s, f)
}

func (d *deliveries) FindDeliveryByID(ctx context.Context, s Scope, id string) (*Delivery, []*Attempt, error) {
	return d.st.FindDeliveryByID(ctx, s, id)
}

// RetryDelivery makes the delivery due now. One that was not pending
// (succeeded, failed, cancelled) gets exactly one attempt: it becomes
// manual. A pending one keeps what it was: a scheduled delivery keeps its
// schedule, and a manual one stays manual, so asking twice never turns a
// one-off retry into the whole schedule.
func (d *deliveries) RetryDelivery(ctx context.Context, s Scope, id string) (*Delivery, error) {
	cur, _, err := d.st.FindDeliveryByID(ctx, s, id)
	if err != nil {
		return nil, err
	}
	// A webhook deleted after this check leaves the delivery cancelled:
	// deleting cancels the webhook's pending deliveries, and a claim
	// cancels a job whose webhook is gone.
	if _, err := d.st.FindWebhookByID(ctx, s, cur.WebhookID); ErrorCode(err) == ENOTFOUND {
		return nil, Errorf(ECONFLICT, "delivery %s cannot be retried: its webhook %s was deleted", id, cur.WebhookID)
	} else if err != nil {
		return nil, err
	}
	return d.st.RequeueDelivery(ctx, s, id, d.now().UTC(), func(dl *Delivery) (bool, error) {
		if dl.Status == DeliveryPending {
			return dl.Manual, nil
		}
		return true, nil
	})
}

// RecoverWebhook re-queues the webhook's failed deliveries and those
// cancelled while it was disabled (by a person, a 410 or the auto-disable),
// created in [since, until) (until nil = now), each for one more attempt.
// The webhook must be active: a recovered delivery is a manual attempt,
// which would reach a disabled or expired webhook.
func (d *deliveries) RecoverWebhook(ctx context.Context, s Scope, webhookID string, since time.Time, until *time.Time) (Recovered, error) {
	now := d.now()
	end := now.Add(time.Millisecond) // until nil: up to now, now included
	if until != nil {
		end = *until
	}
	w, err := d.st.FindWebhookByID(ctx, s, webhookID)
	if err != nil {
		return Recovered{}, err
	}
	if st := w.StatusAt(now); st != StatusActive {
		return Recovered{}, Errorf(ECONFLICT, "webhook %s is %s: enable it (or give it a new expires_at) before recovering its deliveries", webhookID, st)
	}
	var out Recovered
	for _, c := range []struct {
		status DeliveryStatus
		n      *int
	}{{DeliveryFailed, &out.Failed}, {DeliveryCancelled, &out.Cancelled}} {
		n, err := d.st.RequeueDeliveries(ctx, s, Requeue{
			WebhookID:    webhookID,
			Statuses:     []DeliveryStatus{c.status},
			CreatedSince: since, CreatedUntil: end,
			DueAt: now, Manual: true,
		})
		if err != nil {
			return out, err
		}
		*c.n = n
	}
	return out, nil
}
