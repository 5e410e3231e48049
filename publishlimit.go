package hookd

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// limitedPublisher holds each tenant to its publish_rate (TenantLimits), per
// instance, before the next publisher: a token bucket per tenant that
// refills at the rate and holds one second of it. A refused publish is
// ERATELIMITED with the time until a token is there, and nothing of it is
// accepted.
type limitedPublisher struct {
	next Publisher
	st   TenantStore
	now  func() time.Time

	mu      sync.Mutex
	tenants map[string]*tenantRate
	pruned  time.Time
	reads   flights
}

// tenantRate is one tenant's bucket, and its limit as read at checked.
type tenantRate struct {
	limit   *int
	checked time.Time
	tokens  float64
	last    time.Time
}

// limitTTL is how long a tenant's limit is used before it is read again:
// a changed limit applies within it.
const limitTTL = time.Second

func newLimitedPublisher(next Publisher, st TenantStore, now func() time.Time) *limitedPublisher {
	return &limitedPublisher{next: next, st: st, now: now, tenants: map[string]*tenantRate{}}
}

func (l *limitedPublisher) Publish(ctx context.Context, r PublishRequest) (PublishResult, error) {
	if err := l.take(ctx, r.Scope.TenantID, 1); err != nil {
		return PublishResult{}, err
	}
	return l.next.Publish(ctx, r)
}

// PublishBatch takes each tenant's events from its bucket first: a tenant
// over its rate refuses the whole batch, naming its first event.
func (l *limitedPublisher) PublishBatch(ctx context.Context, reqs []PublishRequest) ([]PublishResult, error) {
	first := map[string]int{}
	count := map[string]int{}
	var order []string
	for i, r := range reqs {
		id := r.Scope.TenantID
		if _, ok := first[id]; !ok {
			first[id] = i
			order = append(order, id)
		}
		count[id]++
	}
	for _, id := range order {
		if err := l.take(ctx, id, count[id]); err != nil {
			return nil, &BatchRefusal{Index: first[id], Err: err}
		}
	}
	return l.next.PublishBatch(ctx, reqs)
}

// take spends n tokens of tenantID's bucket, or returns ERATELIMITED.
func (l *limitedPublisher) take(ctx context.Context, tenantID string, n int) error {
	now := l.now()
	l.mu.Lock()
	tr := l.tenants[tenantID]
	if tr == nil || now.Sub(tr.checked) >= limitTTL {
		// Read the limit without holding the lock across the query.
		l.mu.Unlock()
		var err error
		if tr, err = l.read(ctx, tenantID, now); err != nil {
			return err
		}
		l.mu.Lock()
	}
	defer l.mu.Unlock()
	if tr.limit == nil {
		return nil
	}
	rate := float64(*tr.limit)
	tr.tokens = min(rate, tr.tokens+now.Sub(tr.last).Seconds()*rate)
	tr.last = now
	if tr.tokens >= float64(n) {
		tr.tokens -= float64(n)
		return nil
	}
	if float64(n) > rate {
		return Errorf(ERATELIMITED, "%d events at once exceed the tenant's publish rate of %d events per second: send fewer at a time", n, *tr.limit)
	}
	wait := time.Duration((float64(n) - tr.tokens) / rate * float64(time.Second))
	return &Error{Code: ERATELIMITED, RetryAfter: wait,
		Message: fmt.Sprintf("the tenant's publish rate of %d events per second is reached: retry after %s", *tr.limit, wait.Round(time.Millisecond))}
}

// read reads tenantID's limit into its bucket, which it returns. One read
// runs at a time per tenant: a caller that comes meanwhile waits for it and
// takes the bucket it left (flights).
func (l *limitedPublisher) read(ctx context.Context, tenantID string, now time.Time) (*tenantRate, error) {
	var tr *tenantRate
	hit, done, err := l.reads.join(ctx, tenantID, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		tr = l.tenants[tenantID]
		return tr != nil && now.Sub(tr.checked) < limitTTL
	})
	if err != nil {
		return nil, err
	}
	if hit {
		return tr, nil
	}
	defer done()
	t, err := l.st.FindTenantByID(ctx, tenantID)
	if ErrorCode(err) == ENOTFOUND {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("read the tenant's limits: %w", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if tr = l.tenants[tenantID]; tr == nil {
		tr = &tenantRate{last: now}
		l.tenants[tenantID] = tr
		if p := t.Limits.PublishRate; p != nil {
			tr.tokens = float64(*p)
		}
	}
	tr.limit, tr.checked = t.Limits.PublishRate, now
	l.pruneLocked(now)
	return tr, nil
}

// pruneLocked forgets, once a minute, the tenants that published nothing
// for a minute, so that the map holds the active tenants only.
func (l *limitedPublisher) pruneLocked(now time.Time) {
	if now.Sub(l.pruned) < time.Minute {
		return
	}
	l.pruned = now
	for id, tr := range l.tenants {
		if now.Sub(tr.last) > time.Minute && now.Sub(tr.checked) > time.Minute {
			delete(l.tenants, id)
		}
	}
}
