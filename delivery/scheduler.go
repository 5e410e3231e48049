package delivery

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
)

// stallAfter is how long a webhook may have every slot taken without a
// request finishing before it counts as stalled, and its local queue shrinks.
const stallAfter = time.Second

// task is a claimed job held in memory.
type task struct {
	job       *hookd.Job
	hook      *hookState
	notBefore time.Time // its rate-limit token; zero when unlimited
	sendBy    time.Time // the latest start that lets the request end within the lease
	claimedAt time.Time // when the claim that brought it began
}

// hookState is what the scheduler knows of one webhook.
type hookState struct {
	id       string
	tenant   *tenantState
	inFlight int
	queue    []*task // FIFO, oldest first
	rate     float64 // deliveries per second (this instance's share); 0 = unlimited
	bucket   bucket
	// lastProgress is when a request last finished, or when the webhook went
	// from idle to busy: the clock of stall detection.
	lastProgress time.Time
	listed       bool // in tenant.hooks: it has queued tasks
	// held is true while fair claims skip it (see claimBounds): when its
	// queue is down to one cap, the claim loop is told to look again.
	held bool
}

// tenantState holds the webhooks of one tenant (and mode) with queued tasks.
type tenantState struct {
	key    string
	hooks  []*hookState
	cur    int
	listed bool
	known  int // hookStates of this tenant in scheduler.hooks
}

// scheduler holds claimed jobs until a worker takes them: per-webhook FIFO
// queues under the in-flight cap and rate limit, visited round-robin by
// tenant and then by webhook. All its methods are safe for concurrent use.
type scheduler struct {
	cfg Config

	mu      sync.Mutex
	cond    sync.Cond
	hooks   map[string]*hookState
	tenants []*tenantState // those with queued tasks
	byKey   map[string]*tenantState
	tcur    int
	queued  int
	running int
	closed  bool

	// room is signalled as requests finish, so that a claim loop waiting
	// for capacity looks again.
	room     chan struct{}
	finished int

	// instances is how many dispatchers share each webhook's limits
	// (at least 1): this one takes its share of the rate and the cap.
	instances int

	// stopped holds, per webhook, when it was stopped (deleted, disabled,
	// answered 410): a job claimed before then is not sent. Entries go
	// once no claim can predate them (sweep).
	stopped map[string]time.Time
	// lastStop is when stop last ran (unix ns), read without mu: a task
	// claimed after it needs no look at stopped.
	lastStop atomic.Int64
}

func newScheduler(cfg Config) *scheduler {
	s := &scheduler{
		cfg:     cfg,
		hooks:   make(map[string]*hookState),
		byKey:   make(map[string]*tenantState),
		room:    make(chan struct{}, 1),
		stopped: make(map[string]time.Time),

		instances: 1,
	}
	s.cond.L = &s.mu
	return s
}

func (s *scheduler) hook(j *hookd.Job, now time.Time) *hookState {
	id := j.Delivery.WebhookID
	h := s.hooks[id]
	if h == nil {
		key := j.Delivery.TenantID + "/" + string(j.Delivery.Mode)
		t := s.byKey[key]
		if t == nil {
			t = &tenantState{key: key}
			s.byKey[key] = t
		}
		h = &hookState{id: id, tenant: t}
		s.hooks[id] = h
		t.known++
	}
	rate := 0.0
	if j.Webhook != nil && j.Webhook.RateLimit != nil && *j.Webhook.RateLimit > 0 {
		// Each of the cluster's instances sends its share.
		rate = float64(*j.Webhook.RateLimit) / float64(s.instances)
	}
	switch {
	case rate == 0:
		h.rate = 0
	case h.rate == 0:
		h.rate, h.bucket = rate, newBucket(rate, now)
	case rate != h.rate:
		h.rate = rate
		h.bucket.setRate(rate)
	}
	return h
}

// inFlightCap is this instance's share of the per-webhook cap: the cluster
// as a whole keeps to PerWebhookInFlight. Callers hold mu.
func (s *scheduler) inFlightCap() int {
	return max(1, s.cfg.PerWebhookInFlight/s.instances)
}

// setInstances shares the webhooks' limits among n dispatchers.
func (s *scheduler) setInstances(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if n < 1 || n == s.instances {
		return
	}
	s.instances = n
	for _, h := range s.hooks {
		h.rate = 0 // set again, shared anew, by the webhook's next job
	}
	s.cond.Broadcast() // a larger share may let waiting tasks go
}

func (s *scheduler) stalled(h *hookState, now time.Time) bool {
	return h.inFlight >= s.inFlightCap() && now.Sub(h.lastProgress) > stallAfter
}

// queueBound is how many tasks h may keep waiting locally.
func (s *scheduler) queueBound(h *hookState, now time.Time) int {
	if s.stalled(h, now) {
		return min(s.cfg.PerWebhookQueue, s.inFlightCap())
	}
	return s.cfg.PerWebhookQueue
}

// admit takes the jobs of one claim made at claimedAt and returns the
// outcomes of those it hands back at once: beyond a webhook's queue bound,
// or over its rate limit for longer than RateWait.
func (s *scheduler) admit(jobs []*hookd.Job, claimedAt time.Time) []hookd.Outcome {
	var rel []hookd.Outcome
	sendBy := claimedAt.Add(s.cfg.Lease - s.cfg.RequestTimeout - MinLeaseMargin)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		for _, j := range jobs {
			rel = append(rel, released(j, claimedAt))
		}
		return rel
	}
	// overRate counts, per webhook, the jobs of this claim released for its
	// rate limit, so that they come back spaced out rather than together.
	var overRate map[*hookState]int
	admitted := 0
	for _, j := range jobs {
		if s.stoppedAfter(j.Delivery.WebhookID, claimedAt) {
			// Claimed before its webhook stopped: the store cancelled it.
			continue
		}
		h := s.hook(j, claimedAt)
		if len(h.queue) >= s.queueBound(h, claimedAt) {
			rel = append(rel, released(j, claimedAt.Add(s.cfg.ReleaseBackoff)))
			continue
		}
		t := &task{job: j, hook: h, sendBy: sendBy, claimedAt: claimedAt}
		if h.rate > 0 {
			at := h.bucket.next(claimedAt)
			if at.Sub(claimedAt) > s.cfg.RateWait {
				if overRate == nil {
					overRate = make(map[*hookState]int)
				}
				k := overRate[h]
				overRate[h] = k + 1
				rel = append(rel, released(j, at.Add(time.Duration(k)*h.bucket.interval())))
				continue
			}
			t.notBefore = h.bucket.take(claimedAt)
		}
		s.enqueue(t)
		admitted++
	}
	// Wake one idle worker per admitted task rather than all of them: with
	// a thousand idle workers a broadcast per claim woke hundreds that found
	// nothing to do. A worker that finishes a request looks for the next
	// task before it waits, so none is left behind.
	for range admitted {
		s.cond.Signal()
	}
	return rel
}

func (s *scheduler) enqueue(t *task) {
	h := t.hook
	h.queue = append(h.queue, t)
	s.queued++
	if !h.listed {
		h.listed = true
		ten := h.tenant
		ten.hooks = append(ten.hooks, h)
		if !ten.listed {
			ten.listed = true
			s.tenants = append(s.tenants, ten)
		}
	}
}

// next blocks until a task may be sent and returns it, counted in flight;
// it returns nil once the scheduler is closed.
func (s *scheduler) next(now func() time.Time) *task {
	s.mu.Lock()
	defer s.mu.Unlock()
	for {
		if s.closed {
			return nil
		}
		if t := s.pop(now()); t != nil {
			return t
		}
		s.cond.Wait()
	}
}

// pop takes the next sendable task, visiting tenants round-robin and the
// webhooks of a tenant round-robin. It skips webhooks at their in-flight cap
// or waiting for a rate-limit token.
func (s *scheduler) pop(now time.Time) *task {
	for n := 0; n < len(s.tenants); n++ {
		ti := (s.tcur + n) % len(s.tenants)
		ten := s.tenants[ti]
		for m := 0; m < len(ten.hooks); m++ {
			hi := (ten.cur + m) % len(ten.hooks)
			h := ten.hooks[hi]
			if h.inFlight >= s.inFlightCap() || h.queue[0].notBefore.After(now) {
				continue
			}
			t := h.queue[0]
			h.queue[0] = nil
			h.queue = h.queue[1:]
			s.queued--
			if h.inFlight == 0 {
				h.lastProgress = now
			}
			h.inFlight++
			s.running++
			if h.held && len(h.queue) <= s.inFlightCap() {
				// Room for one more claim's share of it: without this, a
				// webhook alone with a backlog would wait for requests of
				// any webhook to finish before its next share comes.
				h.held = false
				s.signalRoom()
			}
			ten.cur = hi + 1
			s.tcur = ti + 1
			if len(h.queue) == 0 {
				s.unlist(h)
			}
			return t
		}
	}
	return nil
}

// unlist removes h, whose queue is empty, from its tenant's ring, and the
// tenant from the ring of tenants if it has nothing left.
func (s *scheduler) unlist(h *hookState) {
	h.listed = false
	h.queue = nil // let a long drained queue's array go
	ten := h.tenant
	if i := slices.Index(ten.hooks, h); i >= 0 {
		ten.hooks = slices.Delete(ten.hooks, i, i+1)
		if ten.cur > i {
			ten.cur--
		}
	}
	if len(ten.hooks) > 0 {
		return
	}
	ten.listed, ten.cur = false, 0
	if i := slices.Index(s.tenants, ten); i >= 0 {
		s.tenants = slices.Delete(s.tenants, i, i+1)
		if s.tcur > i {
			s.tcur--
		}
	}
}

// stoppedAfter reports whether webhook id was stopped after at. Callers hold mu.
func (s *scheduler) stoppedAfter(id string, at time.Time) bool {
	st, ok := s.stopped[id]
	return ok && !st.Before(at)
}

// stop makes the webhooks ids start no new request for what was claimed
// until now: their queued tasks are dropped (the store cancelled those
// deliveries when it stopped them), and a claim or a task that predates
// now is not sent. Requests already in flight finish.
func (s *scheduler) stop(ids []string, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.lastStop.Store(now.UnixNano())
	for _, id := range ids {
		s.stopped[id] = now
		h := s.hooks[id]
		if h == nil || !h.listed {
			continue
		}
		s.queued -= len(h.queue)
		s.unlist(h)
	}
}

// sendable reports whether t may still be sent: its webhook was not
// stopped after t was claimed.
func (s *scheduler) sendable(t *task) bool {
	if t.claimedAt.UnixNano() > s.lastStop.Load() {
		return true // no stop since its claim: the usual case, without the lock
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.stoppedAfter(t.job.Delivery.WebhookID, t.claimedAt)
}

// done records that t's request finished (or that t was not sent).
func (s *scheduler) done(t *task, now time.Time) {
	s.mu.Lock()
	h := t.hook
	h.inFlight--
	s.running--
	h.lastProgress = now
	if h.listed && h.inFlight == s.inFlightCap()-1 {
		// h was at its cap with work waiting: an idle worker can take it now.
		s.cond.Signal()
	}
	s.finished++
	signal := s.finished >= max(1, s.cfg.ClaimBatch/4) || s.running == 0
	if signal {
		s.finished = 0
	}
	s.mu.Unlock()
	if signal {
		s.signalRoom()
	}
}

// signalRoom tells the claim loop to look again. It never blocks.
func (s *scheduler) signalRoom() {
	select {
	case s.room <- struct{}{}:
	default:
	}
}

// claimRoom is how many jobs the next claim should ask for: the free part of
// Concurrency plus one claim's worth of work in hand, not counting the jobs
// parked behind a webhook's cap (they wait for that webhook only), within
// an overall bound on what is held in memory.
func (s *scheduler) claimRoom() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0
	}
	busy := s.running
	for _, ten := range s.tenants {
		for _, h := range ten.hooks {
			if h.inFlight < s.inFlightCap() {
				busy += len(h.queue)
			}
		}
	}
	held := s.running + s.queued
	maxHeld := 4 * (s.cfg.Concurrency + s.cfg.ClaimBatch)
	room := min(s.cfg.ClaimBatch, s.cfg.Concurrency+s.cfg.ClaimBatch-busy, maxHeld-held)
	if room < max(1, s.cfg.ClaimBatch/4) && held > 0 {
		return 0 // wait for a worthwhile batch rather than claim a few rows often
	}
	return max(room, 0)
}

// taker returns a Handoff's Take for one publish at now: it takes a
// delivery when a worker is free for it and its webhook has room for it —
// what is in flight, what waits here and what this publish took already
// under its in-flight cap plus what a claim lets wait (waitBound); never
// one skipped by the claims, held back by its rate limit, or stopped.
// Anything else is left to the claims, which keep their fairness. Taking
// what a claim would take anyway matters when the sends slow down (a busy
// machine): at the cap alone, each webhook's deliveries went through the
// queue and a claim — more work for the database just when it had the
// least room (in the latency benchmark on PostgreSQL, 10–25 % of the
// deliveries in the first seconds and in each stall).
func (s *scheduler) taker(now time.Time) func(webhookID string) bool {
	var took map[string]int
	total := 0
	return func(id string) bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.closed || s.running+s.queued+total >= s.cfg.Concurrency || s.stoppedAfter(id, now) {
			return false
		}
		capacity := s.inFlightCap()
		busy, bound := took[id], 2*capacity
		if h := s.hooks[id]; h != nil {
			if h.held || s.rateHeld(h, now) {
				return false
			}
			busy += h.inFlight + len(h.queue)
			bound = s.waitBound(h, now)
		}
		if busy >= capacity+bound {
			return false
		}
		if took == nil {
			took = make(map[string]int)
		}
		took[id]++
		total++
		return true
	}
}

// waitBound is how many of h's jobs a claim lets wait here: two in-flight
// caps, or its queue bound if that is smaller (a stalled webhook's).
func (s *scheduler) waitBound(h *hookState, now time.Time) int {
	return min(2*s.inFlightCap(), s.queueBound(h, now))
}

// rateHeld reports whether h's rate limit would keep one more job waiting
// longer than RateWait.
func (s *scheduler) rateHeld(h *hookState, now time.Time) bool {
	return h.rate > 0 && h.bucket.next(now).Sub(now) > s.cfg.RateWait
}

// claimBounds is what a fair claim may take of each webhook: up to two
// in-flight caps of each, and nothing of the webhooks that already have two
// caps' worth waiting here (or their queue bound, if stalled), or whose
// rate limit would keep one more waiting longer than RateWait. A webhook's
// share of the claims is then what it can be sent, whatever its backlog.
// (One cap a claim made claims small and frequent when few webhooks are
// busy: a backlog to ten webhooks drained 12-22 % slower for 22-30 % more
// CPU than claims in due order.)
func (s *scheduler) claimBounds(now time.Time) (perWebhook int, skip []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	capacity := s.inFlightCap()
	for _, ten := range s.tenants {
		for _, h := range ten.hooks {
			if len(h.queue) >= s.waitBound(h, now) || s.rateHeld(h, now) {
				skip = append(skip, h.id)
				h.held = true
			}
		}
	}
	return 2 * capacity, skip
}

// sweep hands back the queued tasks that can no longer start in time for
// their lease, and those beyond the small queue bound of a stalled webhook.
// It also forgets idle webhooks.
func (s *scheduler) sweep(now time.Time) []hookd.Outcome {
	var rel []hookd.Outcome
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, at := range s.stopped {
		if now.Sub(at) > 2*s.cfg.Lease {
			delete(s.stopped, id) // every claim since is younger
		}
	}
	for _, h := range s.hooks {
		if !h.listed {
			if h.inFlight == 0 && (h.rate == 0 || h.bucket.full(now)) {
				delete(s.hooks, h.id)
				if h.tenant.known--; h.tenant.known == 0 {
					delete(s.byKey, h.tenant.key)
				}
			}
			continue
		}
		// Tasks are queued in claim order, so the expired ones come first.
		n := 0
		for n < len(h.queue) && now.After(h.queue[n].sendBy) {
			rel = append(rel, released(h.queue[n].job, now))
			n++
		}
		h.queue = h.queue[n:]
		if bound := s.queueBound(h, now); len(h.queue) > bound {
			for _, t := range h.queue[bound:] {
				rel = append(rel, released(t.job, now.Add(s.cfg.ReleaseBackoff)))
			}
			n += len(h.queue) - bound
			h.queue = h.queue[:bound]
		}
		s.queued -= n
		if len(h.queue) == 0 {
			s.unlist(h)
		}
	}
	return rel
}

// nextWake returns the earliest rate-limit token a waiting task holds, for
// the claim loop to wake the workers then; zero if none.
func (s *scheduler) nextWake() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var at time.Time
	for _, ten := range s.tenants {
		for _, h := range ten.hooks {
			nb := h.queue[0].notBefore
			if h.inFlight < s.inFlightCap() && !nb.IsZero() && (at.IsZero() || nb.Before(at)) {
				at = nb
			}
		}
	}
	return at
}

// wake lets waiting workers look again (a rate-limit token came).
func (s *scheduler) wake() {
	s.mu.Lock()
	s.cond.Broadcast()
	s.mu.Unlock()
}

// close stops handing out tasks and returns those still queued.
func (s *scheduler) close() []*task {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	var left []*task
	for _, ten := range s.tenants {
		for _, h := range ten.hooks {
			left = append(left, h.queue...)
			h.queue, h.listed = nil, false
		}
		ten.hooks, ten.listed = nil, false
	}
	s.tenants = nil
	s.queued = 0
	s.cond.Broadcast()
	return left
}
