package delivery

import (
	"log/slog"
	"time"

	"github.com/hookd/hookd"
)

// Config tunes a Dispatcher. Zero fields take the defaults of DefaultConfig.
type Config struct {
	// Owner names this process in leases; it must be unique per process.
	// Default: hookd.NewID("worker").
	Owner string
	// Concurrency bounds the HTTP requests in flight. Default 1024: a
	// delivery is a network wait, not work, and at 10-15 ms a round trip in
	// a busy process 256 capped one process near 20,000 deliveries/s even
	// with no webhook at its cap.
	Concurrency int
	// ClaimBatch is the most deliveries one claim asks for. Default 512:
	// with SQLite the per-transaction cost dominates, so bigger is faster.
	ClaimBatch int
	// Lease is how long a claim holds a delivery. It must exceed
	// RequestTimeout by at least MinLeaseMargin+MinQueueWindow. Default 60s.
	Lease time.Duration
	// RequestTimeout is the sender's whole-request timeout; the dispatcher
	// never starts a request that could outlive its lease. Default 15s.
	RequestTimeout time.Duration
	// PollInterval is the fallback wait between claims when nothing woke the
	// dispatcher; it sleeps less when the queue says a delivery is due
	// sooner. Default 1s.
	PollInterval time.Duration
	// MinClaimInterval is the least time between the start of two claims
	// woken by new deliveries: commits that land within it share one claim.
	// It bounds what it adds to a delivery's latency. Default 2ms (claims on
	// SQLite are reads now; 10ms cost ~6ms of median latency at 1,000
	// events/s and bought nothing).
	MinClaimInterval time.Duration
	// PerWebhookInFlight caps one webhook's requests in flight. Default 64:
	// about 5,000 deliveries/s to one receiver answering in 10-15 ms (16
	// capped 10 busy webhooks at 160 requests, about 10,000/s in all), while a
	// hanging receiver still holds at most 64 of the 1024 workers.
	PerWebhookInFlight int
	// PerWebhookQueue bounds the claimed jobs of one webhook waiting
	// locally for a free slot; the rest are released. Default 1024.
	PerWebhookQueue int
	// ReleaseBackoff is when a job released for isolation is due again.
	// Default 2s.
	ReleaseBackoff time.Duration
	// RateWait is how long a rate-limited job may wait locally for its
	// token before it is released instead. Default 1s.
	RateWait time.Duration
	// RetryPolicy schedules retries. Default hookd.DefaultRetryPolicy().
	RetryPolicy hookd.RetryPolicy
	// ShutdownGrace is how long Stop lets requests in flight finish.
	// Default 10s.
	ShutdownGrace time.Duration
	// FlushEvery and FlushInterval bound the outcome writer's batches: it
	// writes when FlushEvery outcomes are waiting or FlushInterval after the
	// first one. Defaults 1024 and 25ms: an outcome's write does not delay
	// the receipt, but each write is a commit on the one SQLite writer that
	// publishes and claims wait for, so few large writes leave it more time.
	FlushEvery    int
	FlushInterval time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger. Default: discard.
	Logger *slog.Logger
	// Metrics. Default: unregistered metrics.
	Metrics *Metrics
}

// MinLeaseMargin is how much a lease must exceed the request timeout: the
// time to write the outcome back after the slowest request.
const MinLeaseMargin = 5 * time.Second

// MinQueueWindow is the least time a claimed delivery may wait locally for a
// worker before it is released back to the queue.
const MinQueueWindow = 5 * time.Second

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{
		Concurrency:        1024,
		ClaimBatch:         512,
		Lease:              60 * time.Second,
		RequestTimeout:     15 * time.Second,
		PollInterval:       time.Second,
		MinClaimInterval:   2 * time.Millisecond,
		PerWebhookInFlight: 64,
		PerWebhookQueue:    1024,
		ReleaseBackoff:     2 * time.Second,
		RateWait:           time.Second,
		RetryPolicy:        hookd.DefaultRetryPolicy(),
		ShutdownGrace:      10 * time.Second,
		FlushEvery:         1024,
		FlushInterval:      25 * time.Millisecond,
	}
}

// withDefaults fills the zero fields.
func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Owner == "" {
		c.Owner = hookd.NewID("worker")
	}
	setInt(&c.Concurrency, d.Concurrency)
	setInt(&c.ClaimBatch, d.ClaimBatch)
	setInt(&c.PerWebhookInFlight, d.PerWebhookInFlight)
	setInt(&c.PerWebhookQueue, d.PerWebhookQueue)
	setInt(&c.FlushEvery, d.FlushEvery)
	setDuration(&c.Lease, d.Lease)
	setDuration(&c.RequestTimeout, d.RequestTimeout)
	setDuration(&c.PollInterval, d.PollInterval)
	setDuration(&c.MinClaimInterval, d.MinClaimInterval)
	setDuration(&c.ReleaseBackoff, d.ReleaseBackoff)
	setDuration(&c.RateWait, d.RateWait)
	setDuration(&c.ShutdownGrace, d.ShutdownGrace)
	setDuration(&c.FlushInterval, d.FlushInterval)
	if c.RetryPolicy.Delays == nil {
		c.RetryPolicy = d.RetryPolicy
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.Metrics == nil {
		c.Metrics = newMetrics()
	}
	return c
}

func setInt(p *int, d int) {
	if *p == 0 {
		*p = d
	}
}

func setDuration(p *time.Duration, d time.Duration) {
	if *p == 0 {
		*p = d
	}
}

// Validate checks the config after defaults, returning EINVALID with a
// message that names the field.
func (c Config) Validate() error {
	c = c.withDefaults()
	for _, f := range []struct {
		name string
		v    int
	}{
		{"concurrency", c.Concurrency},
		{"claim batch", c.ClaimBatch},
		{"per-webhook in-flight cap", c.PerWebhookInFlight},
		{"per-webhook queue", c.PerWebhookQueue},
		{"flush batch", c.FlushEvery},
	} {
		if f.v < 1 {
			return hookd.Errorf(hookd.EINVALID, "delivery %s must be at least 1, got %d", f.name, f.v)
		}
	}
	for _, f := range []struct {
		name string
		v    time.Duration
	}{
		{"lease", c.Lease},
		{"request timeout", c.RequestTimeout},
		{"poll interval", c.PollInterval},
		{"min claim interval", c.MinClaimInterval},
		{"release backoff", c.ReleaseBackoff},
		{"rate wait", c.RateWait},
		{"shutdown grace", c.ShutdownGrace},
		{"flush interval", c.FlushInterval},
	} {
		if f.v < 0 {
			return hookd.Errorf(hookd.EINVALID, "delivery %s must not be negative, got %s", f.name, f.v)
		}
	}
	// A claimed job may wait for a worker until Lease-RequestTimeout-MinLeaseMargin
	// after its claim; that window must not be empty, or every job that does
	// not start at once is released and re-claimed forever.
	if c.Lease < c.RequestTimeout+MinLeaseMargin+MinQueueWindow {
		return hookd.Errorf(hookd.EINVALID,
			"delivery lease (%s) must exceed the request timeout (%s) by at least %s: %s to write the outcome back and %s for a claimed delivery to wait for a worker",
			c.Lease, c.RequestTimeout, MinLeaseMargin+MinQueueWindow, MinLeaseMargin, MinQueueWindow)
	}
	if err := c.RetryPolicy.Validate(); err != nil {
		return err
	}
	return nil
}
