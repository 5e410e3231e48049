package hookd

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestOutcomeChange(t *testing.T) {
	t.Parallel()
	at := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	a := &Attempt{StatusCode: 500}
	for _, c := range []struct {
		name string
		o    Outcome
		want DeliveryChange
	}{
		{"succeeded", Outcome{Kind: OutcomeSucceeded, Attempt: a}, DeliveryChange{Status: DeliverySucceeded, Attempted: true}},
		{"retry", Outcome{Kind: OutcomeRetry, RetryAt: at, Attempt: a}, DeliveryChange{Status: DeliveryPending, NextAttemptAt: &at, Attempted: true}},
		{"failed", Outcome{Kind: OutcomeFailed, Attempt: a}, DeliveryChange{Status: DeliveryFailed, Attempted: true}},
		{"failed without attempt", Outcome{Kind: OutcomeFailed}, DeliveryChange{Status: DeliveryFailed}},
		{"released", Outcome{Kind: OutcomeReleased, RetryAt: at, Attempt: a}, DeliveryChange{Status: DeliveryPending, NextAttemptAt: &at, KeepManual: true}},
	} {
		got, err := c.o.Change()
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	_, err := (&Outcome{DeliveryID: "dlv_x", Kind: 9}).Change()
	if ErrorCode(err) != EINVALID || !strings.Contains(err.Error(), "dlv_x") {
		t.Errorf("unknown kind: %v, want EINVALID naming the delivery", err)
	}
}

func TestEffectsOf(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	t1, t2, t3 := now.Add(-3*time.Second), now.Add(-2*time.Second), now.Add(-time.Second)
	ok := func(at time.Time) *Attempt {
		return &Attempt{ID: "att_" + at.Format("05"), At: at, DurationMS: 7, StatusCode: 200}
	}
	bad := func(at time.Time) *Attempt {
		return &Attempt{ID: "att_" + at.Format("05"), At: at, DurationMS: 7, StatusCode: 500, ErrorClass: ClassHTTPStatus}
	}
	outs := []Outcome{
		// a: failure, success, failure, failure → restarted at the first failure after the success
		{DeliveryID: "d1", Kind: OutcomeRetry, Attempt: bad(t1)},
		{DeliveryID: "d2", Kind: OutcomeSucceeded, Attempt: ok(t1)},
		{DeliveryID: "d3", Kind: OutcomeRetry, Attempt: bad(t2)},
		{DeliveryID: "d4", Kind: OutcomeFailed, Attempt: bad(t3)},
		// b: failures only, the first one not written (lease lost)
		{DeliveryID: "d5", Kind: OutcomeFailed, Attempt: bad(t1)},
		{DeliveryID: "d6", Kind: OutcomeFailed, Attempt: bad(t2), DisableWebhook: true},
		// c: failure then success → cleared; released attempts count for nothing
		{DeliveryID: "d7", Kind: OutcomeRetry, Attempt: bad(t1)},
		{DeliveryID: "d8", Kind: OutcomeSucceeded, Attempt: ok(t2), DeleteWebhook: true},
		{DeliveryID: "d9", Kind: OutcomeReleased, Attempt: bad(t3)},
		// d: released only
		{DeliveryID: "d10", Kind: OutcomeReleased, RetryAt: now},
		// e: a missing id, time and duration_ms are filled
		{DeliveryID: "d11", Kind: OutcomeRetry, Attempt: &Attempt{Duration: 1500 * time.Millisecond, StatusCode: 503}},
	}
	hooks := []string{"a", "a", "a", "a", "", "b", "c", "c", "c", "d", "e"}
	fx := EffectsOf(outs, hooks, now)

	wantHooks := []WebhookChange{
		{WebhookID: "a", Failing: FailingRestarted, At: t2},
		{WebhookID: "b", Failing: FailingContinued, At: t2, Disable: true},
		{WebhookID: "c", Failing: FailingCleared, Delete: true},
		{WebhookID: "d"},
		{WebhookID: "e", Failing: FailingContinued, At: now},
	}
	if diff := cmp.Diff(wantHooks, fx.Webhooks); diff != "" {
		t.Errorf("webhook changes (-want +got):\n%s", diff)
	}
	var delivered []string
	for _, a := range fx.Attempts {
		delivered = append(delivered, a.DeliveryID)
	}
	if diff := cmp.Diff([]string{"d1", "d2", "d3", "d4", "d6", "d7", "d8", "d11"}, delivered); diff != "" {
		t.Errorf("attempts recorded (-want +got):\n%s", diff)
	}
	last := fx.Attempts[len(fx.Attempts)-1]
	if !strings.HasPrefix(last.ID, "att_") || !last.At.Equal(now) || last.DurationMS != 1500 {
		t.Errorf("filled attempt = id %q at %v duration_ms %d; want an att_ id, %v, 1500", last.ID, last.At, last.DurationMS, now)
	}
	if outs[10].Attempt.ID != "" {
		t.Errorf("EffectsOf changed the caller's attempt")
	}
}

func TestEffectsOfCutsExcerpt(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("é", MaxResponseExcerpt) // twice the cap in bytes; é is 2 bytes
	odd := "x" + long                               // the cap falls inside a rune
	outs := []Outcome{
		{DeliveryID: "d1", Kind: OutcomeSucceeded, Attempt: &Attempt{StatusCode: 200, ResponseExcerpt: long}},
		{DeliveryID: "d2", Kind: OutcomeSucceeded, Attempt: &Attempt{StatusCode: 200, ResponseExcerpt: odd}},
		{DeliveryID: "d3", Kind: OutcomeSucceeded, Attempt: &Attempt{StatusCode: 200, ResponseExcerpt: "short"}},
	}
	fx := EffectsOf(outs, []string{"w", "w", "w"}, time.Now())
	got := []int{len(fx.Attempts[0].ResponseExcerpt), len(fx.Attempts[1].ResponseExcerpt), len(fx.Attempts[2].ResponseExcerpt)}
	if diff := cmp.Diff([]int{MaxResponseExcerpt, MaxResponseExcerpt - 1, 5}, got); diff != "" {
		t.Errorf("excerpt lengths (-want +got):\n%s", diff)
	}
}
