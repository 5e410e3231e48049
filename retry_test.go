package hookd_test

import (
	"strings"
	"testing"
	"time"

	"github.com/hookd/hookd"
)

func TestRetryPolicyDelayJitterBounds(t *testing.T) {
	t.Parallel()
	p := hookd.DefaultRetryPolicy()
	if got := p.MaxAttempts(); got != 8 {
		t.Errorf("MaxAttempts = %d, want 8 (immediately, then 7 delays)", got)
	}
	for attempt := 1; attempt <= len(p.Delays); attempt++ {
		base := p.Delays[attempt-1]
		lo := time.Duration(float64(base) * (1 - p.Jitter))
		hi := time.Duration(float64(base) * (1 + p.Jitter))
		var seenLow, seenHigh bool
		for range 1000 {
			d, ok := p.Delay(attempt)
			if !ok {
				t.Fatalf("Delay(%d) = _, false, want a delay", attempt)
			}
			if d < lo || d > hi {
				t.Fatalf("Delay(%d) = %v, outside [%v, %v]", attempt, d, lo, hi)
			}
			seenLow = seenLow || d < base
			seenHigh = seenHigh || d > base
		}
		if !seenLow || !seenHigh {
			t.Errorf("Delay(%d): 1000 draws never fell on both sides of %v: no jitter?", attempt, base)
		}
	}
	for _, n := range []int{0, -1, len(p.Delays) + 1} {
		if d, ok := p.Delay(n); ok {
			t.Errorf("Delay(%d) = %v, true, want no attempt left", n, d)
		}
	}
}

func TestRetryPolicyWithoutJitter(t *testing.T) {
	t.Parallel()
	p := hookd.RetryPolicy{Delays: []time.Duration{0, time.Second, time.Minute}}
	for i, want := range p.Delays {
		if d, ok := p.Delay(i + 1); !ok || d != want {
			t.Errorf("Delay(%d) = %v, %v, want %v, true", i+1, d, ok, want)
		}
	}
}

func TestRetryPolicyValidate(t *testing.T) {
	t.Parallel()
	if err := hookd.DefaultRetryPolicy().Validate(); err != nil {
		t.Errorf("default policy: %v", err)
	}
	tests := []struct {
		p    hookd.RetryPolicy
		want string
	}{
		{hookd.RetryPolicy{Delays: []time.Duration{time.Second, -time.Second}}, "retry delay 2"},
		{hookd.RetryPolicy{Jitter: -0.1}, "jitter"},
		{hookd.RetryPolicy{Jitter: 1}, "jitter"},
	}
	for _, tt := range tests {
		err := tt.p.Validate()
		if hookd.ErrorCode(err) != hookd.EINVALID || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Validate(%+v) = %v, want EINVALID naming %q", tt.p, err, tt.want)
		}
	}
}

func TestClampRetryAfter(t *testing.T) {
	t.Parallel()
	const s = time.Minute
	tests := []struct {
		retryAfter, scheduled, want time.Duration
	}{
		{0, s, s},
		{7 * time.Second, s, s},
		{s, s, s},
		{90 * time.Second, s, 90 * time.Second},
		{2 * s, s, 2 * s},
		{time.Hour, s, 2 * s},
		{time.Hour, 0, 0},
	}
	for _, tt := range tests {
		if got := hookd.ClampRetryAfter(tt.retryAfter, tt.scheduled); got != tt.want {
			t.Errorf("ClampRetryAfter(%v, %v) = %v, want %v", tt.retryAfter, tt.scheduled, got, tt.want)
		}
	}
}
