package hookd

import (
	"context"
	"sync"
)

// flights lets one caller at a time read the store for a key that a cache
// missed, while the callers that miss the same key meanwhile wait for it
// and then look in the cache again. Without it, a burst of requests on a
// cold or just-expired entry (64 publishers starting at once, or the
// requests in flight when the one-second TTL runs out) each ran the same
// query, and each took a connection of the pool that the publishes wait
// for. Only what the leader leaves in the cache is shared: a waiter that
// finds nothing there (the leader failed, or its result is not cached)
// reads the store itself, so that no caller gets another's error.
type flights struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// join returns hit when cached reports that the cache holds what the caller
// needs: at once, or after waiting for a read of key under way (or until
// ctx ends). Otherwise the caller reads the store itself, and, if it leads
// the reads of key, calls done once it has cached what it read (done does
// nothing for a caller that waited and found nothing).
func (f *flights) join(ctx context.Context, key string, cached func() bool) (hit bool, done func(), err error) {
	if cached() {
		return true, nil, nil
	}
	f.mu.Lock()
	if wait, ok := f.m[key]; ok {
		f.mu.Unlock()
		select {
		case <-wait:
			return cached(), func() {}, nil
		case <-ctx.Done():
			return false, nil, ctx.Err()
		}
	}
	if f.m == nil {
		f.m = map[string]chan struct{}{}
	}
	end := make(chan struct{})
	f.m[key] = end
	f.mu.Unlock()
	return false, func() {
		f.mu.Lock()
		delete(f.m, key)
		f.mu.Unlock()
		close(end)
	}, nil
}
