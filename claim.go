package hookd

import "time"

// UndeliverableReason says why a claimed job must be cancelled rather than
// sent — its webhook or event is gone, or the webhook is no longer
// deliverable and the attempt was not asked for by a person — or "".
func (j *Job) UndeliverableReason(now time.Time) string {
	switch {
	case j.Webhook == nil:
		return "webhook deleted"
	case j.Event == nil:
		return "event deleted"
	case !j.ManualAttempt && !j.Webhook.Deliverable(now):
		if j.Webhook.Status == StatusActive {
			return "webhook " + string(StatusExpired)
		}
		return "webhook " + string(j.Webhook.Status)
	}
	return ""
}
