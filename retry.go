package hookd

import (
	"math/rand/v2"
	"time"
)

// RetryPolicy is the schedule of delays between attempts. Delays[0] is the
// delay before the second attempt (the first is immediate on publish).
type RetryPolicy struct {
	Delays []time.Duration
	Jitter float64 // each delay is multiplied by a random factor in [1-Jitter, 1+Jitter]
}

// DefaultRetryPolicy is the design's schedule: immediately, 5 s, 5 min, 30 min,
// 2 h, 5 h, 10 h, 10 h, each ±20 %.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		Delays: []time.Duration{
			5 * time.Second, 5 * time.Minute, 30 * time.Minute,
			2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
		},
		Jitter: 0.2,
	}
}

// MaxAttempts is the first attempt plus one per delay.
func (p RetryPolicy) MaxAttempts() int { return len(p.Delays) + 1 }

// Validate returns EINVALID for a policy that cannot work.
func (p RetryPolicy) Validate() error {
	for i, d := range p.Delays {
		if d < 0 {
			return Errorf(EINVALID, "retry delay %d is negative", i+1)
		}
	}
	if p.Jitter < 0 || p.Jitter >= 1 {
		return Errorf(EINVALID, "retry jitter must be in [0, 1), got %v", p.Jitter)
	}
	return nil
}

// Delay returns the jittered delay after the given number of attempts made
// (1 after the first attempt), and false when no attempt is left.
func (p RetryPolicy) Delay(attemptsMade int) (time.Duration, bool) {
	if attemptsMade < 1 || attemptsMade > len(p.Delays) {
		return 0, false
	}
	d := p.Delays[attemptsMade-1]
	if p.Jitter > 0 && d > 0 {
		f := 1 + p.Jitter*(2*rand.Float64()-1)
		d = time.Duration(float64(d) * f)
	}
	return d, true
}

// ClampRetryAfter honours a receiver's Retry-After within [scheduled, 2×scheduled].
func ClampRetryAfter(retryAfter, scheduled time.Duration) time.Duration {
	if retryAfter < scheduled {
		return scheduled
	}
	if retryAfter > 2*scheduled {
		return 2 * scheduled
	}
	return retryAfter
}
