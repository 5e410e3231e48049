package delivery

import "time"

// bucket is a token bucket of rate tokens per second holding at most one
// second's worth. Tokens may go negative: a taken token that is not there
// yet is a reservation for the time it will be.
type bucket struct {
	rate   float64
	tokens float64
	last   time.Time
}

// newBucket holds up to a second's tokens, and at least one (a rate below
// one a second, an instance's share of a cluster's, still sends).
func newBucket(rate float64, now time.Time) bucket {
	return bucket{rate: rate, tokens: max(1, rate), last: now}
}

// setRate changes the rate, keeping the tokens in hand within the new burst.
func (b *bucket) setRate(rate float64) {
	b.rate = rate
	b.tokens = min(b.tokens, max(1, b.rate))
}

func (b *bucket) refill(now time.Time) {
	if now.After(b.last) {
		b.tokens = min(max(1, b.rate), b.tokens+now.Sub(b.last).Seconds()*b.rate)
		b.last = now
	}
}

// next returns when a token is free, without taking it.
func (b *bucket) next(now time.Time) time.Time {
	b.refill(now)
	if b.tokens >= 1 {
		return now
	}
	return now.Add(b.wait(1 - b.tokens))
}

// take takes a token and returns when it may be used.
func (b *bucket) take(now time.Time) time.Time {
	b.refill(now)
	b.tokens--
	if b.tokens >= 0 {
		return now
	}
	return now.Add(b.wait(-b.tokens))
}

// full reports whether the bucket has refilled: forgetting it then loses nothing.
func (b *bucket) full(now time.Time) bool {
	b.refill(now)
	return b.tokens >= b.rate
}

// wait is how long n tokens take to come.
func (b *bucket) wait(n float64) time.Duration {
	return time.Duration(n / b.rate * float64(time.Second))
}

// interval is the time between two tokens.
func (b *bucket) interval() time.Duration { return b.wait(1) }
