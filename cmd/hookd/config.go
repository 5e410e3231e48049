package main

import (
	"errors"
	"flag"
	"fmt"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

// config is everything `hookd serve` reads from flags and HOOKD_* variables.
// It is read here only and passed down as values.
type config struct {
	Addr        string
	DataDir     string
	DatabaseURL string
	LogLevel    string
	LogFormat   string

	AllowPrivateNetworks bool
	AllowCIDR            []netip.Prefix

	ConnectTimeout     time.Duration
	RequestTimeout     time.Duration
	RetrySchedule      []time.Duration
	RetryJitter        float64
	AutoDisableAfter   time.Duration
	Retention          time.Duration
	MaxBodyBytes       int64
	MaxEventBytes      int64
	MaxBodyMemory      int64
	SecretGrace        time.Duration
	Concurrency        int
	PerWebhookInFlight int
	Lease              time.Duration
	ShutdownGrace      time.Duration
	SQLiteSynchronous  string
	GCPercent          int
	MemoryLimit        int64

	// The customer portal and the operator dashboard (portal.go).
	PortalFrameAncestors []string
	PortalSessionTTL     time.Duration
}

func defaultConfig() config {
	p := hookd.DefaultRetryPolicy()
	return config{
		Addr: ":8080", DataDir: "./hookd-data", LogLevel: "info", LogFormat: "text",
		ConnectTimeout: 5 * time.Second, RequestTimeout: 15 * time.Second,
		RetrySchedule: p.Delays, RetryJitter: p.Jitter,
		AutoDisableAfter: 5 * 24 * time.Hour, Retention: 30 * 24 * time.Hour,
		MaxBodyBytes: 64 << 10, MaxEventBytes: 1 << 20, MaxBodyMemory: 16 << 20, SecretGrace: 24 * time.Hour,
		Concurrency: 1024, PerWebhookInFlight: 64, Lease: time.Minute, ShutdownGrace: 10 * time.Second,
		SQLiteSynchronous: "FULL",
		GCPercent:         100, MemoryLimit: 0,
		PortalSessionTTL: 2 * time.Hour,
	}
}

// storeFlags are the flags every command that opens the database has.
func storeFlags(fs *flag.FlagSet, c *config) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory of the embedded SQLite database")
	fs.StringVar(&c.DatabaseURL, "database-url", c.DatabaseURL, "postgres://… to use PostgreSQL instead of SQLite")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
	fs.StringVar(&c.SQLiteSynchronous, "sqlite-synchronous", c.SQLiteSynchronous, "SQLite synchronous pragma: FULL (a 202 survives power loss) or NORMAL")
}

func serveFlags(fs *flag.FlagSet, c *config) {
	storeFlags(fs, c)
	portalFlags(fs, c)
	fs.StringVar(&c.Addr, "addr", c.Addr, "address to listen on")
	fs.BoolVar(&c.AllowPrivateNetworks, "allow-private-networks", c.AllowPrivateNetworks, "allow deliveries to loopback, private and reserved addresses (local development only)")
	fs.Func("allow-cidr", "comma-separated CIDR ranges deliveries may reach although private (repeatable)", func(s string) error {
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			p, err := netip.ParsePrefix(part)
			if err != nil {
				return fmt.Errorf("%q is not a CIDR range such as 10.0.0.0/8", part)
			}
			c.AllowCIDR = append(c.AllowCIDR, p.Masked())
		}
		return nil
	})
	fs.DurationVar(&c.ConnectTimeout, "connect-timeout", c.ConnectTimeout, "delivery connect timeout")
	fs.DurationVar(&c.RequestTimeout, "request-timeout", c.RequestTimeout, "delivery whole-request timeout")
	fs.Func("retry-schedule", "comma-separated delays between attempts (default 5s,5m,30m,2h,5h,10h,10h)", func(s string) error {
		var ds []time.Duration
		for _, part := range strings.Split(s, ",") {
			d, err := time.ParseDuration(strings.TrimSpace(part))
			if err != nil {
				return fmt.Errorf("%q is not a duration such as 5s or 2h", part)
			}
			ds = append(ds, d)
		}
		c.RetrySchedule = ds
		return nil
	})
	fs.Float64Var(&c.RetryJitter, "retry-jitter", c.RetryJitter, "random spread of each retry delay, 0 to <1 (0.2 = ±20 %)")
	fs.DurationVar(&c.AutoDisableAfter, "auto-disable-after", c.AutoDisableAfter, "disable a webhook whose deliveries have only failed for this long")
	fs.DurationVar(&c.Retention, "retention", c.Retention, "delete events, deliveries and attempts older than this")
	fs.Func("max-body", "largest management request body (default 64KiB)", sizeFlag(&c.MaxBodyBytes))
	fs.Func("max-event-body", "largest POST /v1/events body (default 1MiB)", sizeFlag(&c.MaxEventBytes))
	fs.Func("max-body-memory", "request bodies held in memory at once; over it a request is answered 503 with Retry-After (default 16MiB)", sizeFlag(&c.MaxBodyMemory))
	fs.DurationVar(&c.SecretGrace, "secret-grace", c.SecretGrace, "how long a rotated-out secret keeps signing")
	fs.IntVar(&c.Concurrency, "concurrency", c.Concurrency, "delivery requests in flight per process")
	fs.IntVar(&c.PerWebhookInFlight, "per-webhook-inflight", c.PerWebhookInFlight, "delivery requests in flight per webhook")
	fs.DurationVar(&c.Lease, "lease", c.Lease, "how long a claimed delivery is held before another worker may take it")
	fs.DurationVar(&c.ShutdownGrace, "shutdown-grace", c.ShutdownGrace, "how long SIGTERM waits for deliveries in flight")
	fs.IntVar(&c.GCPercent, "gc-percent", c.GCPercent, "Go garbage collector target (GOGC); higher trades memory for CPU. The GOGC variable wins when set")
	fs.Func("memory-limit", "soft memory limit of the process, e.g. 512MiB (GOMEMLIMIT); 0 = none. The GOMEMLIMIT variable wins when set", sizeFlag(&c.MemoryLimit))
}

// sizeFlag parses 65536, 64KiB, 1MiB.
func sizeFlag(dst *int64) func(string) error {
	return func(s string) error {
		mult := int64(1)
		for suffix, m := range map[string]int64{"KiB": 1 << 10, "MiB": 1 << 20, "KB": 1000, "MB": 1000 * 1000} {
			if v, ok := strings.CutSuffix(s, suffix); ok {
				s, mult = v, m
				break
			}
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || n < 0 {
			return fmt.Errorf("%q is not a size such as 65536, 64KiB or 1MiB", s)
		}
		*dst = n * mult
		return nil
	}
}

// applyEnv sets every flag not given on the command line from its
// HOOKD_<NAME> variable (--data-dir ← HOOKD_DATA_DIR).
func applyEnv(fs *flag.FlagSet, env []string) error {
	vars := map[string]string{}
	for _, kv := range env {
		if k, v, ok := strings.Cut(kv, "="); ok {
			vars[k] = v
		}
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var errs []error
	fs.VisitAll(func(f *flag.Flag) {
		name := envName(f.Name)
		v, ok := vars[name]
		if given[f.Name] || !ok {
			return
		}
		if err := fs.Set(f.Name, v); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	})
	return errors.Join(errs...)
}

func envName(flagName string) string {
	return "HOOKD_" + strings.ToUpper(strings.ReplaceAll(flagName, "-", "_"))
}

func (c *config) validate() error {
	var errs []error
	if c.DatabaseURL == "" && c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if c.DatabaseURL != "" && !strings.HasPrefix(c.DatabaseURL, "postgres://") && !strings.HasPrefix(c.DatabaseURL, "postgresql://") {
		errs = append(errs, errors.New("--database-url must start with postgres:// or postgresql://"))
	}
	if c.ConnectTimeout <= 0 || c.RequestTimeout <= 0 {
		errs = append(errs, errors.New("--connect-timeout and --request-timeout must be positive"))
	}
	// The lease covers the wait for a free worker, the request and writing
	// the outcome back: 5s for the write and at least 5s to wait in.
	if c.Lease < c.RequestTimeout+10*time.Second {
		errs = append(errs, fmt.Errorf("--lease (%s) must exceed --request-timeout (%s) by at least 10s: 5s to write the outcome back and 5s for a claimed delivery to wait for a worker", c.Lease, c.RequestTimeout))
	}
	if err := (hookd.RetryPolicy{Delays: c.RetrySchedule, Jitter: c.RetryJitter}).Validate(); err != nil {
		errs = append(errs, errors.New(hookd.ErrorMessage(err)))
	}
	if c.Concurrency < 1 || c.PerWebhookInFlight < 1 {
		errs = append(errs, errors.New("--concurrency and --per-webhook-inflight must be at least 1"))
	}
	if c.AutoDisableAfter <= 0 || c.Retention <= 0 {
		errs = append(errs, errors.New("--auto-disable-after and --retention must be positive"))
	}
	switch strings.ToUpper(c.SQLiteSynchronous) {
	case "FULL", "NORMAL", "EXTRA":
	default:
		errs = append(errs, fmt.Errorf("--sqlite-synchronous must be FULL, NORMAL or EXTRA, got %q", c.SQLiteSynchronous))
	}
	if c.GCPercent < 10 {
		errs = append(errs, fmt.Errorf("--gc-percent must be at least 10, got %d", c.GCPercent))
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format must be text or json, got %q", c.LogFormat))
	}
	return errors.Join(errs...)
}

func (c *config) sqlitePath() string { return filepath.Join(c.DataDir, "hookd.db") }

func (c *config) netPolicy() hookd.NetPolicy {
	return hookd.NetPolicy{AllowPrivate: c.AllowPrivateNetworks, Allow: c.AllowCIDR}
}
