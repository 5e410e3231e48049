package delivery

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hookd/hookd"
)

// Dispatcher claims due deliveries, sends them on a bounded pool of workers
// and writes their outcomes back in batches.
type Dispatcher struct {
	queue  hookd.Queue
	sender hookd.Sender
	cfg    Config
	log    *slog.Logger
	sched  *scheduler
	w      *writer
	notify chan struct{}
	// backstop is true unless the sender bounds each Send by a timeout
	// within RequestTimeout itself (then a second timer per send buys nothing).
	backstop bool
	// nextDue caches the queue's NextDueAt, asked for at nextDueAsked; only
	// the loop goroutine touches them.
	nextDue      *time.Time
	nextDueAsked time.Time
	// claims numbers this dispatcher's claims, for their fencing tokens.
	claims atomic.Uint64
	// beatAt is when the loop last told the queue this dispatcher is alive.
	beatAt time.Time

	// handing is true from Start until Stop: publishes may hand
	// deliveries off (see Handoff); handoffs counts those not yet done.
	hmu      sync.Mutex
	hdone    sync.Cond
	handing  bool
	handoffs int

	life       lifecycle
	stopClaims context.CancelFunc
	stopSends  context.CancelFunc
	loopDone   chan struct{}
	workers    sync.WaitGroup
}

// NewDispatcher returns a dispatcher of queue's deliveries through sender,
// or EINVALID for a bad config (zero fields take their defaults).
func NewDispatcher(queue hookd.Queue, sender hookd.Sender, cfg Config) (*Dispatcher, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	bounded, ok := sender.(timeoutSender)
	d := &Dispatcher{
		queue:    queue,
		sender:   sender,
		cfg:      cfg,
		log:      cfg.Logger.With("component", "dispatcher", "owner", cfg.Owner),
		sched:    newScheduler(cfg),
		w:        newWriter(queue, cfg),
		notify:   make(chan struct{}, 1),
		backstop: !ok || bounded.Timeout() <= 0 || bounded.Timeout() > cfg.RequestTimeout,
	}
	d.hdone.L = &d.hmu
	return d, nil
}

// timeoutSender is a Sender that ends every Send within Timeout, whatever
// the receiver does (webhook.Client is one).
type timeoutSender interface {
	hookd.Sender
	Timeout() time.Duration
}

// Owner is the lease owner this dispatcher claims as.
func (d *Dispatcher) Owner() string { return d.cfg.Owner }

// Notify wakes the dispatcher to claim now: new deliveries were committed.
// It never blocks.
func (d *Dispatcher) Notify() {
	select {
	case d.notify <- struct{}{}:
	default:
	}
}

// Start starts claiming and sending. Cancelling ctx stops claiming; call
// Stop to finish the requests in flight and hand back the rest.
func (d *Dispatcher) Start(ctx context.Context) error {
	if err := d.life.start("dispatcher"); err != nil {
		return err
	}
	claimCtx, stopClaims := context.WithCancel(ctx)
	// Requests and writes outlive ctx: Stop ends them, after a grace period.
	sendCtx, stopSends := context.WithCancel(context.WithoutCancel(ctx))
	d.stopClaims, d.stopSends = stopClaims, stopSends
	d.loopDone = make(chan struct{})
	go d.w.run(context.WithoutCancel(ctx))
	d.workers.Add(d.cfg.Concurrency)
	for range d.cfg.Concurrency {
		go d.work(sendCtx)
	}
	go d.loop(claimCtx)
	d.hmu.Lock()
	d.handing = true
	d.hmu.Unlock()
	return nil
}

// Handoff lets one publish, beginning now, lease the deliveries it makes
// to this dispatcher (see hookd.Handoff): the scheduler's taker picks
// those a worker could start at once. The publisher calls done once, with
// the jobs the store returned (nil if the publish failed); they are
// admitted as a claim's jobs are, under the handoff's own lease name.
// Before Start and from Stop on it takes nothing; Stop waits for the
// handoffs begun before it to be done.
func (d *Dispatcher) Handoff() (h hookd.Handoff, done func([]*hookd.Job)) {
	now := d.cfg.Now()
	d.hmu.Lock()
	open := d.handing
	if open {
		d.handoffs++
	}
	d.hmu.Unlock()
	if !open {
		return hookd.Handoff{Take: func(string) bool { return false }}, func([]*hookd.Job) {}
	}
	owner := d.cfg.Owner + "." + strconv.FormatUint(d.claims.Add(1), 36)
	var once sync.Once
	return hookd.Handoff{Owner: owner, Lease: d.cfg.Lease, Take: d.sched.taker(now)}, func(jobs []*hookd.Job) {
		once.Do(func() {
			for _, j := range jobs {
				j.Lease = owner
			}
			d.cfg.Metrics.handedOff.Add(float64(len(jobs)))
			for _, o := range d.sched.admit(jobs, now) {
				d.w.put(o)
			}
			d.hmu.Lock()
			d.handoffs--
			d.hdone.Broadcast()
			d.hmu.Unlock()
		})
	}
}

// Stop stops claiming, lets the requests in flight finish within
// ShutdownGrace (then cancels them), hands back every job not sent
// (released, due now) and writes every outcome before it returns.
func (d *Dispatcher) Stop() {
	d.life.stop(func() {
		d.stopClaims()
		<-d.loopDone
		// The jobs of publishes under way join the scheduler before it
		// hands back what it holds.
		d.hmu.Lock()
		d.handing = false
		for d.handoffs > 0 {
			d.hdone.Wait()
		}
		d.hmu.Unlock()
		now := d.cfg.Now()
		for _, t := range d.sched.close() {
			d.w.put(released(t.job, now))
		}
		close(d.w.stopping)
		idle := make(chan struct{})
		go func() {
			d.workers.Wait()
			close(idle)
		}()
		grace := time.NewTimer(d.cfg.ShutdownGrace)
		defer grace.Stop()
		select {
		case <-idle:
		case <-grace.C:
			d.log.Warn("shutdown grace over; cancelling requests in flight")
			d.stopSends()
			<-idle
		}
		d.stopSends()
		d.w.close()
	})
}

// loop claims whenever there is room and waits otherwise.
func (d *Dispatcher) loop(ctx context.Context) {
	defer close(d.loopDone)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if ctx.Err() != nil {
			return
		}
		now := d.cfg.Now()
		if now.Sub(d.beatAt) >= instanceBeat {
			d.beatAt = now
			d.beat(ctx, now)
		}
		for _, o := range d.sched.sweep(now) {
			d.w.put(o)
		}
		room := d.sched.claimRoom()
		wait := d.cfg.PollInterval
		drained := false
		if room > 0 {
			n, more, err := d.claim(ctx, room, now)
			switch {
			case err != nil && ctx.Err() != nil:
				return
			case err != nil:
				d.log.Error("claim deliveries", "err", err)
			case n == room:
				continue // probably more due: claim again at once
			default:
				drained = !more
				wait = d.untilDue(ctx, wait)
			}
		}
		if at := d.sched.nextWake(); !at.IsZero() {
			if dt := at.Sub(d.cfg.Now()); dt <= 0 {
				d.sched.wake()
			} else {
				wait = min(wait, dt)
			}
		}
		// Requests finishing make room, and a fair claim may have left due
		// deliveries of webhooks that had no room: look again then.
		room2 := d.sched.room
		timer.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-d.notify:
			// Commits come faster than claims should: gather those that
			// land within MinClaimInterval of the last claim into one.
			if dt := d.cfg.MinClaimInterval - d.cfg.Now().Sub(now); dt > 0 {
				timer.Stop()
				timer.Reset(dt)
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
			}
		case <-room2:
			if !drained {
				break
			}
			// The last claim found nothing more due for this dispatcher:
			// room alone is no reason to ask again at once (with
			// deliveries handed off by the publishes, requests finish all
			// the time, and on PostgreSQL each empty claim is a
			// transaction). A commit still wakes it at once.
			if dt := drainedRecheck - d.cfg.Now().Sub(now); dt > 0 {
				timer.Stop()
				timer.Reset(min(dt, wait))
				select {
				case <-ctx.Done():
					return
				case <-d.notify:
				case <-timer.C:
				}
			}
		case <-timer.C:
		}
		timer.Stop()
	}
}

// drainedRecheck is the least time between a claim that found nothing
// more due and the next one that only room for more prompts. Deliveries
// that become due without a commit (a release, a lease running out) wait
// at most this much longer.
const drainedRecheck = 50 * time.Millisecond

// claim claims up to limit deliveries and admits them; it returns how many
// came, and whether the queue may hold more due for this dispatcher than
// the claim brought: it skipped webhooks that had no room, or a webhook
// gave all a claim may take of it.
func (d *Dispatcher) claim(ctx context.Context, limit int, now time.Time) (n int, more bool, err error) {
	// Each claim owns its leases under its own name: an outcome of this
	// claim can never complete a later claim's lease of the same delivery.
	owner := d.cfg.Owner + "." + strconv.FormatUint(d.claims.Add(1), 36)
	perWebhook, skip := d.sched.claimBounds(now)
	// A claim that has begun finishes even if Stop comes meanwhile (within
	// claimGrace): cancelled after its transaction had committed, its
	// leases would keep its deliveries from every instance until they ran
	// out; finished, its jobs are handed back by Stop at once.
	cctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	defer cancel()
	defer context.AfterFunc(ctx, func() { time.AfterFunc(claimGrace, cancel) })()
	jobs, err := d.queue.ClaimDeliveries(cctx, hookd.ClaimRequest{
		Owner:      owner,
		Limit:      limit,
		Lease:      d.cfg.Lease,
		Now:        now,
		PerWebhook: perWebhook,
		Skip:       skip,
	})
	if err != nil {
		return 0, false, fmt.Errorf("claim deliveries: %w", err)
	}
	for _, j := range jobs {
		j.Lease = owner
	}
	more = len(skip) > 0
	if perWebhook > 0 && len(jobs) >= perWebhook {
		per := make(map[string]int)
		for _, j := range jobs {
			if per[j.Delivery.WebhookID]++; per[j.Delivery.WebhookID] >= perWebhook {
				more = true
				break
			}
		}
	}
	for _, o := range d.sched.admit(jobs, now) {
		d.w.put(o)
	}
	return len(jobs), more, nil
}

// claimGrace is how long a claim under way may go on once Stop has begun.
const claimGrace = 5 * time.Second

// nextDueTTL is how long the loop reuses the queue's answer to NextDueAt.
// Under load most claims come back partial and the loop would ask after
// each one; on SQLite the question costs a walk over the leased rows (it was
// 5 % of all CPU in the throughput benchmark). A delivery that becomes due
// meanwhile waits at most this much longer.
const nextDueTTL = 50 * time.Millisecond

// untilDue shortens wait to when the queue's next delivery becomes due. A
// due time already past belongs to a delivery leased by someone (maybe us):
// the poll interval covers its lease running out.
func (d *Dispatcher) untilDue(ctx context.Context, wait time.Duration) time.Duration {
	now := d.cfg.Now()
	if now.Sub(d.nextDueAsked) >= nextDueTTL || now.Before(d.nextDueAsked) {
		next, err := d.queue.NextDueAt(ctx)
		if err != nil {
			if ctx.Err() == nil {
				d.log.Error("next due delivery", "err", err)
			}
			return wait
		}
		d.nextDue, d.nextDueAsked = next, now
	}
	next := d.nextDue
	if next == nil {
		return wait
	}
	if dt := next.Sub(d.cfg.Now()); dt > 0 && dt < wait {
		return dt + time.Millisecond // the store compares due <= now at its own precision
	}
	return wait
}

func (d *Dispatcher) work(ctx context.Context) {
	defer d.workers.Done()
	for {
		t := d.sched.next(d.cfg.Now)
		if t == nil {
			return
		}
		d.w.put(d.run(ctx, t))
	}
}

// instanceBeat is how often a dispatcher says it is alive; one silent for
// three beats no longer counts.
const instanceBeat = 2 * time.Second

// beat tells the queue this dispatcher is alive and shares the webhooks'
// rate limits and in-flight cap among the dispatchers that are.
func (d *Dispatcher) beat(ctx context.Context, now time.Time) {
	n, err := d.queue.Instances(ctx, d.cfg.Owner, now, 3*instanceBeat)
	if err != nil {
		if ctx.Err() == nil {
			d.log.Warn("instance heartbeat", "err", err)
		}
		return
	}
	d.sched.setInstances(n)
}

// StopWebhooks makes the webhooks ids start no new request: what this
// dispatcher holds of them is dropped, and a claim in progress that
// brings them is not sent. The services call it when a webhook is deleted
// or disabled (here or, through PostgreSQL, on another instance).
func (d *Dispatcher) StopWebhooks(ids []string) {
	d.sched.stop(ids, d.cfg.Now())
}

// run sends one job and decides its outcome.
func (d *Dispatcher) run(ctx context.Context, t *task) hookd.Outcome {
	start := d.cfg.Now()
	if !d.sched.sendable(t) {
		// Its webhook stopped after the claim: the store cancelled it, and
		// the release below changes nothing.
		d.sched.done(t, start)
		return released(t.job, start)
	}
	if start.After(t.sendBy) {
		// Waited too long for a slot: the request could outlive the lease.
		d.sched.done(t, start)
		return released(t.job, start)
	}
	var res hookd.AttemptResult
	if d.backstop {
		// In case the sender overruns its own timeout: the lease must never
		// be outlived.
		rctx, cancel := context.WithTimeout(ctx, d.cfg.RequestTimeout+MinLeaseMargin/2)
		res = d.sender.Send(rctx, t.job)
		cancel()
	} else {
		res = d.sender.Send(ctx, t.job)
	}
	end := d.cfg.Now()
	d.sched.done(t, end)
	if ctx.Err() != nil {
		// Stop cancelled the request: it does not count as an attempt.
		return released(t.job, end)
	}
	d.cfg.Metrics.attemptDuration.Observe(res.Attempt.Duration.Seconds())
	out := decide(t.job, res, d.cfg.RetryPolicy, end)
	if out.DisableWebhook || out.DeleteWebhook {
		// A 410, or a single-use webhook's success: nothing more starts to
		// it from here, before the outcome is even written.
		d.sched.stop([]string{t.job.Delivery.WebhookID}, end)
	}
	return out
}
