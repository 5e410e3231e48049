package delivery

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/hookd/hookd"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func testScheduler(t *testing.T, cfg Config) *scheduler {
	t.Helper()
	cfg.Owner = "w1"
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	return newScheduler(cfg.withDefaults())
}

func jobs(webhookID, tenant string, n int) []*hookd.Job {
	out := make([]*hookd.Job, n)
	for i := range out {
		out[i] = testJob(webhookID+"_"+string(rune('a'+i)), webhookID, tenant)
	}
	return out
}

// released summarises released outcomes as delivery id -> RetryAt offset from t0.
func releasedAt(outs []hookd.Outcome) map[string]time.Duration {
	m := map[string]time.Duration{}
	for _, o := range outs {
		if o.Kind != hookd.OutcomeReleased || o.Owner != "w1" || o.Attempt != nil {
			m[o.DeliveryID] = -1
			continue
		}
		m[o.DeliveryID] = o.RetryAt.Sub(t0)
	}
	return m
}

func popIDs(s *scheduler, now time.Time) []string {
	var ids []string
	for {
		s.mu.Lock()
		tk := s.pop(now)
		s.mu.Unlock()
		if tk == nil {
			return ids
		}
		ids = append(ids, tk.job.Delivery.ID)
	}
}

func TestRateLimitDecisions(t *testing.T) {
	t.Parallel()
	s := testScheduler(t, Config{RateWait: time.Second})
	js := jobs("wh_r", "ten_1", 6)
	rate := 2
	for _, j := range js {
		j.Webhook.RateLimit = &rate
	}
	// A full bucket holds 2 tokens; the next come every 500ms. Tokens within
	// RateWait (1s) wait locally; later ones are released, spaced a token apart.
	rel := s.admit(js, t0)
	want := map[string]time.Duration{"wh_r_e": 1500 * time.Millisecond, "wh_r_f": 2000 * time.Millisecond}
	if diff := cmp.Diff(want, releasedAt(rel)); diff != "" {
		t.Errorf("released (-want +got):\n%s", diff)
	}
	steps := []struct {
		at   time.Duration
		want []string
	}{
		{0, []string{"wh_r_a", "wh_r_b"}},
		{499 * time.Millisecond, nil},
		{500 * time.Millisecond, []string{"wh_r_c"}},
		{999 * time.Millisecond, nil},
		{time.Second, []string{"wh_r_d"}},
	}
	for _, st := range steps {
		if diff := cmp.Diff(st.want, popIDs(s, t0.Add(st.at))); diff != "" {
			t.Errorf("sendable at +%s (-want +got):\n%s", st.at, diff)
		}
	}
	// The bucket refills at the rate: 3 seconds later, 2 tokens (the burst).
	later := t0.Add(4 * time.Second)
	js = jobs("wh_r", "ten_1", 3)
	for _, j := range js {
		j.Webhook.RateLimit = &rate
	}
	if rel := s.admit(js, later); len(rel) != 0 {
		t.Fatalf("released %v", releasedAt(rel))
	}
	if got := len(popIDs(s, later)); got != 2 {
		t.Errorf("sendable after refill = %d, want 2", got)
	}
}

func TestBucket(t *testing.T) {
	t.Parallel()
	b := newBucket(10, t0)
	for i := range 10 {
		if at := b.take(t0); !at.Equal(t0) {
			t.Fatalf("token %d at %s, want now", i, at)
		}
	}
	if at := b.next(t0); !at.Equal(t0.Add(100 * time.Millisecond)) {
		t.Errorf("next = +%s, want +100ms", at.Sub(t0))
	}
	if at := b.take(t0); !at.Equal(t0.Add(100 * time.Millisecond)) {
		t.Errorf("reserved token at +%s, want +100ms", at.Sub(t0))
	}
	if b.full(t0.Add(time.Second)) {
		t.Error("full after 1s with one token owed")
	}
	if !b.full(t0.Add(1100 * time.Millisecond)) {
		t.Error("not full after 1.1s")
	}
	b.setRate(1)
	if at := b.next(t0.Add(1100 * time.Millisecond)); !at.Equal(t0.Add(1100 * time.Millisecond)) {
		t.Errorf("after lowering the rate, next = +%s, want now", at.Sub(t0))
	}
}

func TestPerWebhookCapAndQueueBound(t *testing.T) {
	t.Parallel()
	s := testScheduler(t, Config{PerWebhookInFlight: 2, PerWebhookQueue: 3, ReleaseBackoff: 2 * time.Second})
	rel := s.admit(jobs("wh_a", "ten_1", 5), t0)
	want := map[string]time.Duration{"wh_a_d": 2 * time.Second, "wh_a_e": 2 * time.Second}
	if diff := cmp.Diff(want, releasedAt(rel)); diff != "" {
		t.Errorf("released beyond the queue bound (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"wh_a_a", "wh_a_b"}, popIDs(s, t0)); diff != "" {
		t.Errorf("sendable under the cap (-want +got):\n%s", diff)
	}
	// Another webhook is not held up by the first one's cap.
	s.admit(jobs("wh_b", "ten_1", 1), t0)
	if diff := cmp.Diff([]string{"wh_b_a"}, popIDs(s, t0)); diff != "" {
		t.Errorf("other webhook (-want +got):\n%s", diff)
	}
	// Jobs parked behind a cap do not take claim room.
	// Busy: wh_a's 2 and wh_b's 1 in flight; wh_a's queued job is parked.
	cfg := s.cfg
	if got, want := s.claimRoom(), min(cfg.ClaimBatch, cfg.Concurrency+cfg.ClaimBatch-3); got != want {
		t.Errorf("claim room = %d, want %d", got, want)
	}
}

func TestStalledWebhookShedsItsQueue(t *testing.T) {
	t.Parallel()
	s := testScheduler(t, Config{PerWebhookInFlight: 1, PerWebhookQueue: 4, ReleaseBackoff: 2 * time.Second})
	if rel := s.admit(jobs("wh_s", "ten_1", 4), t0); len(rel) != 0 {
		t.Fatalf("released %v", releasedAt(rel))
	}
	if got := popIDs(s, t0); len(got) != 1 {
		t.Fatalf("popped %v, want one", got)
	}
	if rel := s.sweep(t0.Add(stallAfter)); len(rel) != 0 {
		t.Errorf("released %v before the webhook stalled", releasedAt(rel))
	}
	now := t0.Add(stallAfter + time.Millisecond)
	want := map[string]time.Duration{
		"wh_s_c": stallAfter + time.Millisecond + 2*time.Second,
		"wh_s_d": stallAfter + time.Millisecond + 2*time.Second,
	}
	if diff := cmp.Diff(want, releasedAt(s.sweep(now))); diff != "" {
		t.Errorf("released by a stalled webhook (-want +got):\n%s", diff)
	}
	// While stalled, a new claim keeps at most PerWebhookInFlight waiting.
	rel := s.admit(jobs("wh_s", "ten_1", 1), now)
	if len(rel) != 1 {
		t.Errorf("admitted to a stalled webhook's full queue; released %v", releasedAt(rel))
	}
}

func TestExpiredLeasesAreReleased(t *testing.T) {
	t.Parallel()
	s := testScheduler(t, Config{PerWebhookInFlight: 1, Lease: 30 * time.Second, RequestTimeout: 10 * time.Second})
	s.admit(jobs("wh_x", "ten_1", 3), t0)
	popIDs(s, t0)
	last := t0.Add(30*time.Second - 10*time.Second - MinLeaseMargin)
	// Hold the webhook's slot busy but making progress, so only the lease rule applies.
	s.hooks["wh_x"].lastProgress = last
	if rel := s.sweep(last); len(rel) != 0 {
		t.Errorf("released %v at the last moment a request may start", releasedAt(rel))
	}
	after := last.Add(time.Millisecond)
	want := map[string]time.Duration{"wh_x_b": after.Sub(t0), "wh_x_c": after.Sub(t0)}
	if diff := cmp.Diff(want, releasedAt(s.sweep(after))); diff != "" {
		t.Errorf("released after the start deadline (-want +got):\n%s", diff)
	}
	if s.queued != 0 || len(s.tenants) != 0 {
		t.Errorf("queued = %d, tenants listed = %d; want 0, 0", s.queued, len(s.tenants))
	}
}

func TestRoundRobinAcrossTenantsThenWebhooks(t *testing.T) {
	t.Parallel()
	s := testScheduler(t, Config{})
	var js []*hookd.Job
	js = append(js, jobs("wh_x1", "ten_x", 3)...)
	js = append(js, jobs("wh_x2", "ten_x", 3)...)
	js = append(js, jobs("wh_y", "ten_y", 1)...)
	js = append(js, jobs("wh_z", "ten_z", 2)...)
	s.admit(js, t0)
	want := []string{
		"wh_x1_a", "wh_y_a", "wh_z_a",
		"wh_x2_a", "wh_z_b",
		"wh_x1_b",
		"wh_x2_b",
		"wh_x1_c",
		"wh_x2_c",
	}
	if diff := cmp.Diff(want, popIDs(s, t0)); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}

func TestCloseHandsBackQueued(t *testing.T) {
	t.Parallel()
	s := testScheduler(t, Config{PerWebhookInFlight: 1})
	s.admit(jobs("wh_c", "ten_1", 3), t0)
	popIDs(s, t0)
	left := s.close()
	if len(left) != 2 {
		t.Errorf("close returned %d tasks, want 2", len(left))
	}
	if tk := s.next(func() time.Time { return t0 }); tk != nil {
		t.Errorf("next after close = %s, want nil", tk.job.Delivery.ID)
	}
	if rel := s.admit(jobs("wh_c2", "ten_1", 2), t0); len(rel) != 2 {
		t.Errorf("admit after close released %d, want 2", len(rel))
	}
}

func TestConfigValidate(t *testing.T) {
	t.Parallel()
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("zero config: %v", err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"negative concurrency", Config{Concurrency: -1}, "delivery concurrency must be at least 1, got -1"},
		{"negative claim batch", Config{ClaimBatch: -5}, "delivery claim batch must be at least 1, got -5"},
		{"negative per-webhook cap", Config{PerWebhookInFlight: -1}, "delivery per-webhook in-flight cap must be at least 1, got -1"},
		{"negative poll", Config{PollInterval: -time.Second}, "delivery poll interval must not be negative, got -1s"},
		{"lease under timeout", Config{Lease: 15 * time.Second}, "delivery lease (15s) must exceed the request timeout (15s) by at least 10s: 5s to write the outcome back and 5s for a claimed delivery to wait for a worker"},
		{"lease without margin", Config{Lease: 20 * time.Second, RequestTimeout: 16 * time.Second}, "delivery lease (20s) must exceed the request timeout (16s) by at least 10s: 5s to write the outcome back and 5s for a claimed delivery to wait for a worker"},
		{"lease without a queue window", Config{Lease: 21 * time.Second, RequestTimeout: 16 * time.Second}, "delivery lease (21s) must exceed the request timeout (16s) by at least 10s: 5s to write the outcome back and 5s for a claimed delivery to wait for a worker"},
		{"bad retry policy", Config{RetryPolicy: hookd.RetryPolicy{Delays: []time.Duration{time.Second}, Jitter: 1}}, "retry jitter must be in [0, 1), got 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := tt.cfg.Validate()
			if hookd.ErrorCode(err) != hookd.EINVALID || hookd.ErrorMessage(err) != tt.want {
				t.Errorf("Validate() = %v, want invalid: %s", err, tt.want)
			}
			if _, err := NewDispatcher(nil, nil, tt.cfg); err == nil {
				t.Error("NewDispatcher accepted the config")
			}
		})
	}
}

// A fair claim asks for two in-flight caps of each webhook and skips those
// with two caps waiting; once a skipped webhook's queue is down to one
// cap, the claim loop is told to look again.
func TestClaimBoundsAndRefill(t *testing.T) {
	t.Parallel()
	s := testScheduler(t, Config{PerWebhookInFlight: 2})
	s.admit(jobs("wh_big", "ten_1", 5), t0)
	s.admit(jobs("wh_small", "ten_2", 1), t0)
	per, skip := s.claimBounds(t0)
	if per != 4 || !cmp.Equal(skip, []string{"wh_big"}) {
		t.Fatalf("claimBounds = %d, %v; want 4, [wh_big]", per, skip)
	}
	roomSignalled := func() bool {
		select {
		case <-s.room:
			return true
		default:
			return false
		}
	}
	var held []*task
	for len(held) < 3 { // wh_big's two (its cap) and wh_small's one
		s.mu.Lock()
		tk := s.pop(t0)
		s.mu.Unlock()
		if tk == nil {
			t.Fatalf("nothing to pop after %d", len(held))
		}
		held = append(held, tk)
	}
	if roomSignalled() {
		t.Fatal("room signalled while wh_big still has 3 waiting, over its cap of 2")
	}
	for _, tk := range held {
		if tk.job.Delivery.WebhookID == "wh_big" {
			s.done(tk, t0)
			break
		}
	}
	_ = roomSignalled() // done's own signal (a worker went idle), if any
	s.mu.Lock()
	tk := s.pop(t0)
	s.mu.Unlock()
	if tk == nil || tk.job.Delivery.WebhookID != "wh_big" {
		t.Fatalf("popped %v, want wh_big's next", tk)
	}
	if !roomSignalled() {
		t.Error("wh_big's queue is down to its cap, but the claim loop was not told")
	}
	if _, skip := s.claimBounds(t0); len(skip) != 0 {
		t.Errorf("claimBounds skips %v with wh_big down to 2 waiting", skip)
	}
}

// A publish's taker hands off a delivery only while its webhook has room
// for it as a claim would count it: in flight, waiting here and taken by
// the same publish, under its in-flight cap plus two caps waiting (one if
// stalled); never one the claims skip or a stopped webhook's; and nothing
// once the scheduler is closed.
func TestTakerHandsOffWhatAClaimWouldTake(t *testing.T) {
	t.Parallel()
	s := testScheduler(t, Config{PerWebhookInFlight: 2})
	// takeN takes n deliveries of id in one publish and says how many it got.
	takeN := func(take func(string) bool, id string, n int) int {
		got := 0
		for range n {
			if take(id) {
				got++
			}
		}
		return got
	}
	// A cap of 2 in flight and two caps waiting: 6.
	take := s.taker(t0)
	if got := takeN(take, "wh_new", 7); got != 6 {
		t.Errorf("one publish to an unknown webhook, cap 2: took %d of 7, want 6", got)
	}
	if !take("wh_other") {
		t.Error("a full webhook kept another from being handed its delivery")
	}

	s.admit(jobs("wh_busy", "ten_1", 1), t0) // queued, not yet started
	if got := takeN(s.taker(t0), "wh_busy", 6); got != 5 {
		t.Errorf("wh_busy with one waiting: took %d of 6, want 5", got)
	}
	s.mu.Lock()
	s.pop(t0) // now in flight
	s.mu.Unlock()
	if got := takeN(s.taker(t0), "wh_busy", 6); got != 5 {
		t.Errorf("wh_busy with one in flight: took %d of 6, want 5", got)
	}

	// A stalled webhook (at its cap, no progress for a while) may have only
	// its small queue bound waiting, as in the claims: one cap.
	s.admit(jobs("wh_stalled", "ten_3", 2), t0)
	s.mu.Lock()
	s.pop(t0)
	s.pop(t0)
	s.mu.Unlock()
	later := t0.Add(stallAfter + time.Second)
	if got := takeN(s.taker(later), "wh_stalled", 4); got != 2 {
		t.Errorf("a stalled webhook with two in flight: took %d of 4, want 2 (one cap waiting)", got)
	}

	// A webhook the claims skip is not handed deliveries either, even once
	// it has room (held until a pop finds its queue down to one cap).
	s.admit(jobs("wh_held", "ten_2", 1), t0)
	s.mu.Lock()
	s.pop(t0)
	s.hooks["wh_held"].held = true // as claimBounds leaves it
	s.mu.Unlock()
	if s.taker(t0)("wh_held") {
		t.Error("took a delivery of a webhook the claims skip, with one in flight under a cap of 2")
	}

	s.stop([]string{"wh_gone"}, t0)
	if s.taker(t0)("wh_gone") {
		t.Error("took a delivery of a stopped webhook")
	}

	s.close()
	if s.taker(t0.Add(time.Second))("wh_fresh") {
		t.Error("took a delivery after close")
	}
}
