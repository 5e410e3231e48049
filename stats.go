package hookd

import (
	"context"
	"time"
)

// WebhookHealth is how a webhook has fared lately: its deliveries made
// since a time that ended in success or failure, the ones pending now
// (whenever made), and when it was last attempted.
type WebhookHealth struct {
	WebhookID     string
	Succeeded     int
	Failed        int
	Pending       int
	LastAttemptAt *time.Time
}

// SuccessRate is the share of finished deliveries that succeeded, and
// false when none finished.
func (h WebhookHealth) SuccessRate() (float64, bool) {
	n := h.Succeeded + h.Failed
	if n == 0 {
		return 0, false
	}
	return float64(h.Succeeded) / float64(n), true
}

// SeriesPoint counts a webhook's deliveries made in [At, At+width) by
// where they stand now.
type SeriesPoint struct {
	At        time.Time
	Succeeded int
	Failed    int
	Pending   int
}

// StatsStore answers the screens' aggregate questions with indexed queries.
type StatsStore interface {
	// WebhookHealth returns, for each of ids in scope that has deliveries,
	// the counts of those made since since that succeeded or failed, the
	// count pending (whenever made), and the latest updated_at of a
	// delivery that was attempted. Ids with nothing to count are absent.
	WebhookHealth(ctx context.Context, s Scope, ids []string, since time.Time) ([]WebhookHealth, error)
	// DeliverySeries counts the webhook's deliveries made in [since,
	// since+n*width) by status in n buckets of width, oldest first; buckets
	// without deliveries are absent.
	DeliverySeries(ctx context.Context, s Scope, webhookID string, since time.Time, width time.Duration) ([]SeriesPoint, error)
	// FailingWebhooks returns up to limit enabled webhooks of every tenant
	// and mode that are failing (failing_since set), longest failing first.
	FailingWebhooks(ctx context.Context, limit int) ([]*Webhook, error)
}

// StatsService computes what the portal and the dashboard chart.
type StatsService interface {
	// Health returns the health of each of ids over the window before now,
	// keyed by webhook id; every id is present.
	Health(ctx context.Context, s Scope, ids []string, window time.Duration) (map[string]WebhookHealth, error)
	// Series returns n buckets covering the window before now, oldest
	// first, with empty buckets as zeros. ENOTFOUND for an unknown webhook.
	Series(ctx context.Context, s Scope, webhookID string, window time.Duration, n int) ([]SeriesPoint, error)
	// FailingWebhooks returns up to limit failing webhooks across tenants,
	// longest failing first, with their status at now.
	FailingWebhooks(ctx context.Context, limit int) ([]*Webhook, error)
	// Queue reports the queue's depth and age now.
	Queue(ctx context.Context) (QueueStats, error)
	// RecentQueue returns the newest sample of the queue's history taken
	// within maxAge before now, or nil if there is none: the queue's depth
	// as of a moment ago, without counting a backlog that may hold
	// millions of rows.
	RecentQueue(ctx context.Context, maxAge time.Duration) (*QueueSample, error)
	// QueueHistory returns the queue over the window before now in n
	// buckets, oldest first; the last one holds now. EINVALID for a window
	// that is not positive, or n outside 1 to 1,000.
	QueueHistory(ctx context.Context, window time.Duration, n int) ([]QueuePoint, error)
}

// stats is the StatsService.
type stats struct {
	st interface {
		StatsStore
		WebhookStore
		Queue
		QueueHistoryStore
	}
	now func() time.Time
}

func (t *stats) Health(ctx context.Context, s Scope, ids []string, window time.Duration) (map[string]WebhookHealth, error) {
	out := make(map[string]WebhookHealth, len(ids))
	for _, id := range ids {
		out[id] = WebhookHealth{WebhookID: id}
	}
	if len(ids) == 0 {
		return out, nil
	}
	hs, err := t.st.WebhookHealth(ctx, s, ids, t.now().Add(-window))
	if err != nil {
		return nil, err
	}
	for _, h := range hs {
		out[h.WebhookID] = h
	}
	return out, nil
}

func (t *stats) Series(ctx context.Context, s Scope, webhookID string, window time.Duration, n int) ([]SeriesPoint, error) {
	if n < 1 || window <= 0 {
		return nil, Errorf(EINVALID, "a series needs a positive window and at least one bucket")
	}
	if _, err := t.st.FindWebhookByID(ctx, s, webhookID); err != nil {
		return nil, err
	}
	width := window / time.Duration(n)
	// Buckets end at the next whole width after now, so a chart drawn
	// twice in a bucket's time has the same bars.
	end := t.now().Truncate(width).Add(width)
	since := end.Add(-time.Duration(n) * width)
	got, err := t.st.DeliverySeries(ctx, s, webhookID, since, width)
	if err != nil {
		return nil, err
	}
	out := make([]SeriesPoint, n)
	for i := range out {
		out[i].At = since.Add(time.Duration(i) * width)
	}
	for _, p := range got {
		if i := int(p.At.Sub(since) / width); i >= 0 && i < n {
			at := out[i].At
			out[i] = p
			out[i].At = at
		}
	}
	return out, nil
}

func (t *stats) FailingWebhooks(ctx context.Context, limit int) ([]*Webhook, error) {
	if limit < 1 || limit > MaxPageLimit {
		return nil, Errorf(EINVALID, "limit must be between 1 and %d", MaxPageLimit)
	}
	ws, err := t.st.FailingWebhooks(ctx, limit)
	if err != nil {
		return nil, err
	}
	now := t.now()
	for _, w := range ws {
		w.Status = w.StatusAt(now)
	}
	return ws, nil
}

func (t *stats) Queue(ctx context.Context) (QueueStats, error) {
	return t.st.Stats(ctx, t.now())
}

func (t *stats) QueueHistory(ctx context.Context, window time.Duration, n int) ([]QueuePoint, error) {
	if n < 1 || n > 1000 || window < time.Duration(n) {
		return nil, Errorf(EINVALID, "a queue history needs a positive window and 1 to 1000 buckets")
	}
	width := window / time.Duration(n)
	end := t.now().Truncate(width).Add(width)
	since := end.Add(-time.Duration(n) * width)
	samples, err := t.st.QueueSamples(ctx, since)
	if err != nil {
		return nil, err
	}
	return queueHistory(samples, since, width, n), nil
}

func (t *stats) RecentQueue(ctx context.Context, maxAge time.Duration) (*QueueSample, error) {
	samples, err := t.st.QueueSamples(ctx, t.now().Add(-maxAge))
	if err != nil || len(samples) == 0 {
		return nil, err
	}
	return &samples[len(samples)-1], nil
}
