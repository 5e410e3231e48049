package delivery

import (
	"time"

	"github.com/hookd/hookd"
)

// decide turns one attempt's result into the outcome to write back, under
// the job's claim (its Lease). The job's Delivery.Attempts counts the
// attempts made before this one.
func decide(j *hookd.Job, r hookd.AttemptResult, policy hookd.RetryPolicy, now time.Time) hookd.Outcome {
	a := r.Attempt
	out := hookd.Outcome{
		DeliveryID: j.Delivery.ID,
		WebhookID:  j.Delivery.WebhookID,
		Owner:      j.Lease,
		Attempt:    &a,
		TenantID:   j.Delivery.TenantID,
		Mode:       j.Delivery.Mode,
		EventID:    j.Delivery.EventID,
		EventType:  j.Delivery.EventType,
	}
	if a.ErrorClass == hookd.ClassNone && a.StatusCode >= 200 && a.StatusCode < 300 {
		out.Kind = hookd.OutcomeSucceeded
		out.DeleteWebhook = j.Webhook != nil && j.Webhook.SingleUse
		return out
	}
	if a.ErrorClass == hookd.ClassNone {
		// A sender that reports no class for a non-2xx still failed.
		out.Attempt.ErrorClass = hookd.ClassHTTPStatus
	}
	switch a.ErrorClass {
	case hookd.ClassGone:
		out.Kind = hookd.OutcomeFailed
		out.DisableWebhook = true
		return out
	case hookd.ClassDestinationBlocked, hookd.ClassInvalid:
		out.Kind = hookd.OutcomeFailed
		return out
	}
	if j.ManualAttempt {
		out.Kind = hookd.OutcomeFailed
		return out
	}
	delay, ok := policy.Delay(j.Delivery.Attempts + 1)
	if !ok {
		out.Kind = hookd.OutcomeFailed
		return out
	}
	if r.RetryAfter > 0 {
		delay = hookd.ClampRetryAfter(r.RetryAfter, delay)
	}
	out.Kind = hookd.OutcomeRetry
	out.RetryAt = now.Add(delay)
	return out
}

// released is the outcome of a job handed back unattempted.
func released(j *hookd.Job, at time.Time) hookd.Outcome {
	return hookd.Outcome{
		DeliveryID: j.Delivery.ID,
		WebhookID:  j.Delivery.WebhookID,
		Owner:      j.Lease,
		Kind:       hookd.OutcomeReleased,
		RetryAt:    at,
	}
}
