package hookd

import (
	"encoding/json"
	"time"
	"unicode/utf8"
)

// DeliveryChange is what an outcome does to its delivery row.
type DeliveryChange struct {
	Status DeliveryStatus
	// NextAttemptAt is when it is due again: RetryAt for a retry or a
	// release, nil otherwise.
	NextAttemptAt *time.Time
	// KeepManual is true when a manual attempt's flag survives (a release:
	// the attempt was not made).
	KeepManual bool
	// Attempted is true when the outcome records an attempt: the attempt
	// count grows by one and the last error and status are the attempt's.
	Attempted bool
}

// Change returns what o does to its delivery, or EINVALID for an unknown kind.
func (o *Outcome) Change() (DeliveryChange, error) {
	c := DeliveryChange{Attempted: o.Attempt != nil && o.Kind != OutcomeReleased}
	switch o.Kind {
	case OutcomeSucceeded:
		c.Status = DeliverySucceeded
	case OutcomeRetry:
		c.Status, c.NextAttemptAt = DeliveryPending, &o.RetryAt
	case OutcomeFailed:
		c.Status = DeliveryFailed
	case OutcomeReleased:
		c.Status, c.NextAttemptAt, c.KeepManual = DeliveryPending, &o.RetryAt, true
	default:
		return c, Errorf(EINVALID, "delivery %s: unknown outcome kind %d", o.DeliveryID, o.Kind)
	}
	return c, nil
}

// FailingChange is how a batch of outcomes moves a webhook's failing_since,
// the start of its current failure streak.
type FailingChange int

const (
	FailingUnchanged FailingChange = iota // no attempt of the webhook in the batch
	FailingCleared                        // the batch ended with a success: failing_since = NULL
	FailingRestarted                      // a failure after the batch's last success: failing_since = At
	FailingContinued                      // only failures: failing_since = COALESCE(failing_since, At)
)

// WebhookChange is what a batch of outcomes does to one webhook.
type WebhookChange struct {
	WebhookID string
	Failing   FailingChange
	At        time.Time // the first failure after the batch's last success
	Disable   bool      // a 410: set it auto_disabled
	Delete    bool      // a single-use webhook's success: delete it
}

// OutcomeEffects is what a batch of written outcomes records besides the
// delivery rows: their attempts and their webhooks' changes.
type OutcomeEffects struct {
	Attempts []Attempt       // in outcome order, every field filled
	Webhooks []WebhookChange // in the order their webhooks first appear
	// Announce are the operator events the written outcomes cause:
	// delivery.exhausted for each delivery failed for good, and
	// webhook.disabled for each webhook a 410 disabled. Stores write them
	// to the outbox in the same transaction.
	Announce []Announcement
	// StaleAttempts are the attempts of outcomes that were not written (their
	// lease was lost: the delivery was cancelled, retried, claimed again):
	// the request went out, so it is kept in the delivery's log, changing
	// nothing else. Stores keep those whose delivery still exists.
	StaleAttempts []Attempt
}

// EffectsOf returns the effects of the written outcomes of a batch:
// webhookIDs[i] is the webhook of outs[i]'s delivery as stored, or "" when
// outs[i] was not written (its lease was lost). A missing attempt
// time or id is filled from now, a missing DurationMS from Duration, the
// response excerpt is cut to MaxResponseExcerpt bytes on a rune boundary, and
// each webhook's failure streak follows its attempts in order. Stores
// truncate times to their own precision.
func EffectsOf(outs []Outcome, webhookIDs []string, now time.Time) OutcomeEffects {
	var fx OutcomeEffects
	index := map[string]int{} // webhook id → its position in fx.Webhooks
	disabled := map[string]bool{}
	for i := range outs {
		o, id := &outs[i], webhookIDs[i]
		if id == "" {
			if o.Attempt != nil && o.Kind != OutcomeReleased {
				fx.StaleAttempts = append(fx.StaleAttempts, filledAttempt(o, now))
			}
			continue
		}
		k, ok := index[id]
		if !ok {
			k = len(fx.Webhooks)
			index[id] = k
			fx.Webhooks = append(fx.Webhooks, WebhookChange{WebhookID: id})
		}
		w := &fx.Webhooks[k]
		w.Disable = w.Disable || o.DisableWebhook
		w.Delete = w.Delete || o.DeleteWebhook
		// The operator's own endpoints announce nothing: an event about
		// them would go to them, and a failing one would feed itself.
		announce := o.TenantID != "" && o.TenantID != OperatorTenantID
		if o.DisableWebhook && !disabled[id] && announce {
			disabled[id] = true
			fx.Announce = append(fx.Announce, announceDisabled(o.TenantID, o.Mode, id, "its receiver answered 410 Gone"))
		}
		if o.Kind == OutcomeFailed && o.Attempt != nil && announce {
			fx.Announce = append(fx.Announce, exhausted(o))
		}
		if o.Attempt == nil || o.Kind == OutcomeReleased {
			continue
		}
		a := filledAttempt(o, now)
		fx.Attempts = append(fx.Attempts, a)
		switch {
		case o.Kind == OutcomeSucceeded:
			w.Failing, w.At = FailingCleared, time.Time{}
		case w.Failing == FailingCleared:
			w.Failing, w.At = FailingRestarted, a.At
		case w.Failing == FailingUnchanged:
			w.Failing, w.At = FailingContinued, a.At
		}
	}
	return fx
}

// exhausted is delivery.exhausted for o, a delivery's final failure.
func exhausted(o *Outcome) Announcement {
	b, _ := json.Marshal(exhaustedData{TenantID: o.TenantID, Mode: o.Mode, DeliveryID: o.DeliveryID, WebhookID: o.WebhookID,
		EventID: o.EventID, EventType: o.EventType, ErrorClass: o.Attempt.ErrorClass, Error: o.Attempt.Error, StatusCode: o.Attempt.StatusCode})
	return Announcement{TenantID: o.TenantID, Mode: o.Mode, Type: EventDeliveryExhausted, Data: b}
}

// filledAttempt is o's attempt with every field filled.
func filledAttempt(o *Outcome, now time.Time) Attempt {
	a := *o.Attempt
	a.DeliveryID = o.DeliveryID
	if a.At.IsZero() {
		a.At = now
	}
	if a.ID == "" {
		a.ID = NewIDAt("att", now)
	}
	if a.DurationMS == 0 {
		a.DurationMS = a.Duration.Milliseconds()
	}
	a.ResponseExcerpt = cutExcerpt(a.ResponseExcerpt)
	return a
}

// cutExcerpt cuts a response body to MaxResponseExcerpt bytes on a rune boundary.
func cutExcerpt(s string) string {
	if len(s) <= MaxResponseExcerpt {
		return s
	}
	s = s[:MaxResponseExcerpt]
	// Drop the bytes of a rune the cut split (at most UTFMax-1 of them).
	for i := 1; i < utf8.UTFMax && len(s) > 0; i++ {
		if r, size := utf8.DecodeLastRuneInString(s); r != utf8.RuneError || size != 1 {
			break
		}
		s = s[:len(s)-1]
	}
	return s
}
