package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/compat"
	"github.com/hookd/hookd/compat/backend"
	"github.com/hookd/hookd/compat/callfire"
	"github.com/hookd/hookd/compat/salesfinity"
	"github.com/hookd/hookd/compat/svix"
	"github.com/hookd/hookd/delivery"
	"github.com/hookd/hookd/httpapi"
	"github.com/hookd/hookd/portal"
	"github.com/hookd/hookd/webhook"
)

func runServe(ctx context.Context, args, env []string, stdout, stderr io.Writer) error {
	c := defaultConfig()
	pos, err := parseFlags("serve", args, env, stderr, &c, serveFlags)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usageErr("serve takes no arguments, got %q", pos)
	}
	log := newLogger(c, stderr)
	tuneRuntime(c, env, log)

	st, err := openServingStore(ctx, c, log)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := bootstrap(ctx, tenantsOf(st), stdout, log); err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics, err := delivery.NewMetrics(reg)
	if err != nil {
		return fmt.Errorf("metrics: %w", err)
	}

	sender, err := webhook.New(webhook.Config{
		ConnectTimeout: c.ConnectTimeout, RequestTimeout: c.RequestTimeout, Policy: c.netPolicy(),
	})
	if err != nil {
		return fmt.Errorf("delivery client: %w", err)
	}
	dcfg := delivery.DefaultConfig()
	dcfg.Concurrency = c.Concurrency
	dcfg.PerWebhookInFlight = c.PerWebhookInFlight
	dcfg.Lease = c.Lease
	dcfg.RequestTimeout = c.RequestTimeout
	dcfg.RetryPolicy = hookd.RetryPolicy{Delays: c.RetrySchedule, Jitter: c.RetryJitter}
	dcfg.ShutdownGrace = c.ShutdownGrace
	dcfg.Logger = log
	dcfg.Metrics = metrics
	dispatcher, err := delivery.NewDispatcher(st, sender, dcfg)
	if err != nil {
		return err
	}
	publisher, err := delivery.NewPublisher(st, delivery.PublisherOptions{OnCommit: dispatcher.Notify, Handoff: dispatcher, Metrics: metrics, Logger: log})
	if err != nil {
		return err
	}
	maint, err := delivery.NewMaintenance(st, delivery.MaintenanceConfig{
		AutoDisableAfter: c.AutoDisableAfter, Retention: c.Retention, Logger: log, Metrics: metrics, History: st,
	})
	if err != nil {
		return err
	}

	svc := hookd.NewServices(st, hookd.ServiceOptions{Policy: c.netPolicy(), Publisher: publisher, WebhooksStopped: dispatcher.StopWebhooks})
	var shuttingDown atomic.Bool
	api, err := httpapi.New(httpapi.Config{
		Services: svc, Logger: log, MaxBodyBytes: c.MaxBodyBytes, MaxEventBytes: c.MaxEventBytes, MaxBodyMemory: c.MaxBodyMemory,
		SecretGrace: c.SecretGrace,
		Ready: func(ctx context.Context) error {
			if shuttingDown.Load() {
				return errors.New("shutting down")
			}
			return st.Ping(ctx)
		},
	})
	if err != nil {
		return err
	}
	screens, err := portal.New(portal.Config{
		Services: svc, Logger: log, FrameAncestors: c.PortalFrameAncestors,
		SessionTTL: c.PortalSessionTTL, SecretGrace: c.SecretGrace,
	})
	if err != nil {
		return usageErr("%v", err)
	}
	copts := compat.Options{Logger: log, MaxBodyBytes: c.MaxBodyBytes}
	mux := http.NewServeMux()
	mux.Handle("/", api)
	mux.Handle("/portal/", screens)
	mux.Handle("/dashboard/", screens)
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.Handle("/compat/callfire/v2/", http.StripPrefix("/compat/callfire/v2", callfire.New(svc, copts)))
	mux.Handle("/compat/salesfinity/v1/", http.StripPrefix("/compat/salesfinity/v1", salesfinity.New(svc, copts)))
	mux.Handle("/v1/backend/", http.StripPrefix("/v1/backend", backend.New(svc, copts)))
	mux.Handle("/api/v1/", http.StripPrefix("/api/v1", svix.New(svc, svix.Options{
		Options: copts, MaxMessageBytes: c.MaxEventBytes + copts.WithDefaults().MaxBodyBytes, SecretGrace: c.SecretGrace,
	})))

	ln, err := net.Listen("tcp", c.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.Addr, err)
	}
	ln = httpapi.Listener(ln)
	srv := &http.Server{
		Handler:           httpapi.Envelope(mux),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       60 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}

	// Background services run until serve returns; they stop in the reverse
	// order of the request path: no new requests, then no new publishes,
	// then the workers finish what is in flight and release the rest.
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	if err := publisher.Start(bg); err != nil {
		return err
	}
	defer publisher.Stop()
	if err := dispatcher.Start(bg); err != nil {
		return err
	}
	defer dispatcher.Stop()
	if err := maint.Start(bg); err != nil {
		return err
	}
	defer maint.Stop()
	relay := delivery.NewRelay(st, svc.Tenants, dispatcher.Notify, delivery.RelayConfig{Logger: log, Translate: svix.Translate(svc)})
	if err := relay.Start(bg); err != nil {
		return err
	}
	defer relay.Stop()
	if pg, ok := st.(pgStore); ok {
		go func() {
			if err := pg.Listen(bg, dispatcher.Notify); err != nil && bg.Err() == nil {
				log.Warn("postgres listen stopped; falling back to polling", "err", err)
			}
		}()
		// Revocations and deletions made by other instances reach this
		// one's caches at once.
		go func() {
			if err := pg.ListenChanges(bg, svc.Forget); err != nil && bg.Err() == nil {
				log.Warn("postgres listen for changes stopped; caches expire by their TTL", "err", err)
			}
		}()
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "database", describeDatabase(c), "version", hookd.Version)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down", "grace", c.ShutdownGrace)
	shuttingDown.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), c.ShutdownGrace)
	defer cancel()
	// The API and the deliveries in flight drain at the same time, each
	// within the grace: one after the other took up to twice the grace. A
	// publish committed meanwhile waits in the database for the next claim.
	drained := make(chan struct{})
	go func() {
		dispatcher.Stop()
		close(drained)
	}()
	if err := srv.Shutdown(sctx); err != nil {
		log.Warn("http shutdown", "err", err)
	}
	publisher.Stop()
	<-drained
	// Last, so that its final sample of the queue's history counts the
	// attempts that finished while draining.
	maint.Stop()
	log.Info("stopped")
	return nil
}

func describeDatabase(c config) string {
	if c.DatabaseURL != "" {
		return "postgres"
	}
	return "sqlite " + c.sqlitePath()
}

// tuneRuntime applies --gc-percent and --memory-limit unless the operator set
// Go's own GOGC or GOMEMLIMIT, which the runtime has already applied.
func tuneRuntime(c config, env []string, log *slog.Logger) {
	set := map[string]bool{}
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		set[k] = true
	}
	if !set["GOGC"] {
		debug.SetGCPercent(c.GCPercent)
	}
	if !set["GOMEMLIMIT"] && c.MemoryLimit > 0 {
		debug.SetMemoryLimit(c.MemoryLimit)
	}
	log.Debug("runtime", "gc_percent", c.GCPercent, "memory_limit", c.MemoryLimit, "gogc_env", set["GOGC"], "gomemlimit_env", set["GOMEMLIMIT"])
}
