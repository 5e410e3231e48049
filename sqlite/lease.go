package sqlite

import (
	"math"
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
//
// Under load the leased rows are the oldest due ones, and a claim walking
// the due index from its start would read and discard every one of them.
// The table therefore keeps a skip mark (see skipMark): where the last
// claims found the walk's prefix unclaimable, so that the next claim starts
// after it.
type leaseTable struct {
	mu     sync.Mutex
	m      map[int64]lease
	commit uint64         // commits that finished leases so far
	active map[uint64]int // running claims by the commit number they began at
	marked []int64        // rowids with a done mark
	swept  time.Time      // last sweep of abandoned leases

	skip     skipMark // zero: none
	skipVer  uint64   // changes with skip: a claim extends the mark it began with, or nothing
	claimNow int64    // latest now (unix ms) of a claim begun
}

// skipMark is the key of the last row of a prefix of the due walk in which
// every row was unclaimable when a claim read it: leased and not expired
// (taken by that claim included), completing, or done by a commit the
// claim's snapshot might predate. The due index is ordered by that key,
// (next_attempt_at, rowid), so a claim continues the walk after it.
//
// A row in the prefix becomes claimable again only
//   - when its lease expires: the mark is void after expires;
//   - when a lease is dropped, restored after a rollback or swept, or a
//     commit finishes a lease other than by an outcome (a manual retry, a
//     cancellation), or makes a row pending due no later than a claim may
//     already have walked (an outcome to retry, a release, a webhook's
//     recovery): each of these voids the mark (resetSkip);
//   - by a write this table does not see (another process on the file, a
//     clock stepped back): the mark is void skipTTL after the walk that
//     began it from the start, which bounds the delay.
//
// A row inserted after the mark was read (a publish) has a rowid above
// maxRow, every rowid of that snapshot. Its due time is its publisher's
// clock, read before the publish waited for the writer, so it may sort
// before the mark: a claim first looks for such a row above maxRow (few:
// those inserted since the last claim) and walks from the start if it
// finds one.
type skipMark struct {
	at, row int64 // key of the prefix's last row
	maxRow  int64 // largest delivery rowid of the snapshot that read the prefix's end
	since   int64 // unix ms of the claim that walked the prefix from the start
	expires int64 // earliest lease expiry (unix ms) in the prefix
}

// skipTTL is how long claims may skip a prefix without walking it again.
const skipTTL = time.Second

// noSkip is the empty prefix, for a walk from the start at nowMS.
func noSkip(nowMS int64) skipMark {
	return skipMark{at: math.MinInt64, maxRow: math.MaxInt64, since: nowMS, expires: math.MaxInt64}
}

// restart is the empty prefix of the snapshot s read, for a walk from the
// start at nowMS.
func (s skipMark) restart(nowMS int64) skipMark {
	r := noSkip(nowMS)
	r.maxRow = s.maxRow
	return r
}

// valid reports whether claims at nowMS may skip the prefix.
func (s skipMark) valid(nowMS int64) bool {
	return s.since != 0 && s.since <= nowMS && nowMS-s.since < skipTTL.Milliseconds() && nowMS <= s.expires
}

// claimScan is what a claim began with.
type claimScan struct {
	began uint64   // commit number (see take)
	ver   uint64   // skipVer
	from  skipMark // the prefix to skip, maybe empty
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

// beginClaim registers a claim at nowMS about to read its snapshot: it
// returns the commit number to hand to take and endClaim, and the prefix
// of the due walk the claim may skip.
func (t *leaseTable) beginClaim(nowMS int64) claimScan {
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.commit
	t.active[c]++
	t.claimNow = max(t.claimNow, nowMS)
	sc := claimScan{began: c, ver: t.skipVer, from: t.skip}
	if !sc.from.valid(nowMS) {
		sc.from = noSkip(nowMS)
	}
	return sc
}

// advance makes p, a prefix the claim sc walked on from sc.from, the skip
// mark, unless the mark changed since the claim began: a reset then, or
// another claim's prefix.
func (t *leaseTable) advance(sc claimScan, p skipMark) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.skipVer == sc.ver {
		t.skip = p
		t.skipVer++
	}
}

// resetSkip voids the skip mark: a row in the prefix may be claimable.
func (t *leaseTable) resetSkip() {
	t.skip = skipMark{}
	t.skipVer++
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
// of a snapshot read by a claim that began at commit number began, in walk
// order, due at ats), skipping those leased or finished since, and returns
// the ids taken appended to dst. It extends the prefix p over the rows it
// looks at: each is unclaimable now, or taken.
func (t *leaseTable) take(dst, ids, ats []int64, limit int, owner string, nowMS, untilMS int64, began uint64, p *skipMark) []int64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	for i, id := range ids {
		if limit == 0 {
			break
		}
		p.at, p.row = ats[i], id
		l, ok := t.m[id]
		if ok {
			switch {
			case l.state == leaseHeld && l.until >= nowMS:
				p.expires = min(p.expires, l.until)
				continue
			case l.state == leaseCompleting:
				continue
			case l.state == leaseDone && l.commit > began:
				continue // the snapshot may predate the commit that finished it
			}
		}
		t.m[id] = lease{state: leaseHeld, owner: owner, until: untilMS}
		p.expires = min(p.expires, untilMS)
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
	if len(ids) > 0 {
		t.resetSkip()
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
	if len(ids) > 0 {
		t.resetSkip() // the lease may have expired meanwhile
	}
}

// finish ends the leases of ids, whose rows a commit just took out of the
// claimable set or changed, leased or not: a running claim may hold a
// snapshot from before the commit, so they stay marked until it ends.
// requeuedAt is the earliest due time of the rows the commit left or made
// pending (math.MaxInt64 if none).
func (t *leaseTable) finish(ids []int64, requeuedAt int64) {
	if len(ids) == 0 && requeuedAt == math.MaxInt64 {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	// A requeued row due after every claim's now sorts after any prefix a
	// claim walked, running ones included (their snapshots may show the
	// row's old key). A row finished without an outcome may have been
	// made pending by a write that does not say so (a manual retry).
	reset := requeuedAt <= t.claimNow
	for _, id := range ids {
		if l, ok := t.m[id]; !ok || l.state != leaseCompleting {
			reset = true
			break
		}
	}
	if reset {
		t.resetSkip()
	}
	if len(ids) == 0 {
		return
	}
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
	t.resetSkip() // expired leases void the mark anyway; this once a minute is cheap
}
