package sqlite

import (
	"sync"
	"time"
)

// Leases live in memory: one process serves a SQLite database (see
// Options.Exclusive), so a claim is a read on the reader pool and writes
// nothing, and the writer — the one serial resource — only writes outcomes.
// After a crash the table is gone and every pending delivery is due at once:
// at-least-once holds, and recovery does not wait for leases to run out.
//
// The one subtlety is that a claim reads a snapshot that may predate a
// commit of the writer. A commit that takes rows out of the claimable set
// (an outcome, a cancellation, a retry) therefore marks them "done" with its
// commit number; a claim skips a row marked done by a commit it may not see,
// that is one numbered after the claim began. Marks are dropped once no
// claim that began before them is running.
// Leases are keyed by delivery rowid (see rowid.go).
type leaseTable struct {
	mu     sync.Mutex
	m      map[int64]lease
	commit uint64         // commits that finished leases so far
	active map[uint64]int // running claims by the commit number they began at
	marked []int64        // rowids with a done mark
	swept  time.Time      // last sweep of abandoned leases
}

type leaseState uint8

const (
	leaseHeld       leaseState = iota + 1 // claimed by owner until until
	leaseCompleting                       // its owner's outcome is being written: claimable by nobody
	leaseDone                             // taken out of the claimable set by commit number commit
)

type lease struct {
	state   leaseState
	owner   string
	webhook string // the delivery's webhook, for the outcome's effects
	until   int64  // unix ms, for leaseHeld
	commit  uint64 // for leaseDone
}

// abandonAfter is how long after its expiry a lease whose outcome never came
// is forgotten. Until then its owner may still complete it, as with a lease
// kept in a database row that nobody claimed again.
const abandonAfter = 10 * time.Minute

func newLeaseTable() *leaseTable {
	return &leaseTable{m: map[int64]lease{}, active: map[uint64]int{}}
}

// beginClaim registers a claim about to read its snapshot and returns the
// commit number to hand to take and endClaim.
func (t *leaseTable) beginClaim() uint64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.commit
	t.active[c]++
	return c
}

// endClaim unregisters a claim and drops the done marks no running claim needs.
func (t *leaseTable) endClaim(began uint64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.active[began]--; t.active[began] == 0 {
		delete(t.active, began)
	}
	oldest, running := t.oldestClaim()
	kept := t.marked[:0]
	for _, id := range t.marked {
		l, ok := t.m[id]
		switch {
		case !ok || l.state != leaseDone:
		case running && l.commit > oldest:
			kept = append(kept, id)
		default:
			delete(t.m, id)
		}
	}
	clear(t.marked[len(kept):])
	t.marked = kept
}

func (t *leaseTable) oldestClaim() (uint64, bool) {
	var oldest uint64
	running := false
	for c := range t.active {
		if !running || c < oldest {
			oldest, running = c, true
		}
	}
	return oldest, running
}

// take leases to owner, until untilMS, up to limit of ids (due pending rows
// of a snapshot read by a claim that began at commit number began), skipping
// those leased or finished since, and returns the ids taken appended to dst.
func (t *leaseTable) take(dst, ids []int64, limit int, owner string, nowMS, untilMS int64, began uint64) []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		if limit == 0 {
			break
		}
		l, ok := t.m[id]
		if ok {
			switch {
			case l.state == leaseHeld && l.until >= nowMS:
				continue
			case l.state == leaseCompleting:
				continue
			case l.state == leaseDone && l.commit > began:
				continue // the snapshot may predate the commit that finished it
			}
		}
		t.m[id] = lease{state: leaseHeld, owner: owner, until: untilMS}
		dst = append(dst, id)
		limit--
	}
	return dst
}

// annotate records the webhook of each delivery id that owner leased.
func (t *leaseTable) annotate(ids []int64, webhooks []string, owner string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, id := range ids {
		if l, ok := t.m[id]; ok && l.state == leaseHeld && l.owner == owner {
			l.webhook = webhooks[i]
			t.m[id] = l
		}
	}
}

// drop releases leases of ids that owner holds: a claim that failed
// after taking them.
func (t *leaseTable) drop(ids []int64, owner string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		if l, ok := t.m[id]; ok && l.state == leaseHeld && l.owner == owner {
			delete(t.m, id)
		}
	}
}

// held reports whether id is leased and not expired at nowMS.
func (t *leaseTable) held(id, nowMS int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	l := t.m[id]
	return l.state == leaseHeld && l.until >= nowMS
}

// heldCount counts the leases not expired at nowMS, and returns the
// earliest expiry among them (0 if none).
func (t *leaseTable) heldCount(nowMS int64) (n int, firstExpiry int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, l := range t.m {
		if l.state == leaseHeld && l.until >= nowMS {
			n++
			if firstExpiry == 0 || l.until < firstExpiry {
				firstExpiry = l.until
			}
		}
	}
	return n, firstExpiry
}

// complete marks the lease of id completing if owner holds it (expired or
// not, as long as nobody claimed it since), and returns the delivery's
// webhook, or "" if owner does not hold it. Only the writer calls it,
// inside its transaction; the writer then calls finish after the commit or
// restore after a rollback. A held lease's row is pending: every commit
// that changes a pending row's status finishes its lease.
func (t *leaseTable) complete(id int64, owner string) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	l, ok := t.m[id]
	if !ok || l.state != leaseHeld || l.owner != owner {
		return ""
	}
	l.state = leaseCompleting
	t.m[id] = l
	return l.webhook
}

// restore undoes complete after a rollback.
func (t *leaseTable) restore(ids []int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, id := range ids {
		if l, ok := t.m[id]; ok && l.state == leaseCompleting {
			l.state = leaseHeld
			t.m[id] = l
		}
	}
}

// finish ends the leases of ids, whose rows a commit just took out of the
// claimable set or changed, leased or not: a running claim may hold a
// snapshot from before the commit, so they stay marked until it ends.
func (t *leaseTable) finish(ids []int64) {
	if len(ids) == 0 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.commit++
	if len(t.active) == 0 {
		for _, id := range ids {
			delete(t.m, id)
		}
		return
	}
	for _, id := range ids {
		t.m[id] = lease{state: leaseDone, commit: t.commit}
		t.marked = append(t.marked, id)
	}
}

// sweep forgets leases whose outcome never came, at most once a minute.
func (t *leaseTable) sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if now.Sub(t.swept) < time.Minute {
		return
	}
	t.swept = now
	cut := ms(now.Add(-abandonAfter))
	for id, l := range t.m {
		if l.state == leaseHeld && l.until < cut {
			delete(t.m, id)
		}
	}
}
