package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres"
	"github.com/hookd/hookd/sqlite"
)

// store is what both databases provide.
type store interface {
	hookd.Store
	Ping(ctx context.Context) error
	Close() error
}

// tenantsOf is the tenant service over st, for the commands that manage
// tenants and keys without serving.
func tenantsOf(st store) hookd.TenantService {
	return hookd.NewServices(st, hookd.ServiceOptions{}).Tenants
}

// openStore opens PostgreSQL when a database URL is given, else the
// embedded SQLite file in the data dir. Migrations are applied either way.
// It is for commands that do not deliver, and works while a server runs.
func openStore(ctx context.Context, c config, log *slog.Logger) (store, error) {
	return openStoreFor(ctx, c, log, false)
}

// openServingStore is openStore for `hookd serve`: a SQLite file is locked
// against a second server, because SQLite leases live in the server's memory.
func openServingStore(ctx context.Context, c config, log *slog.Logger) (store, error) {
	return openStoreFor(ctx, c, log, true)
}

func openStoreFor(ctx context.Context, c config, log *slog.Logger, serving bool) (store, error) {
	if c.DatabaseURL != "" {
		db, err := postgres.Open(ctx, c.DatabaseURL, postgres.Options{Logger: log})
		if err != nil {
			return nil, fmt.Errorf("open postgres: %w", err)
		}
		return pgStore{db}, nil
	}
	db, err := sqlite.Open(ctx, c.sqlitePath(), sqlite.Options{Logger: log, Synchronous: strings.ToUpper(c.SQLiteSynchronous),
		Exclusive: serving})
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", c.sqlitePath(), err)
	}
	return db, nil
}

// bootstrap creates the tenant "default" and its live and test keys on an
// empty database, and prints the keys once: only their hashes are stored.
func bootstrap(ctx context.Context, st hookd.TenantService, out interface{ Write([]byte) (int, error) }, log *slog.Logger) error {
	// One row tells whether there is any: a start reads no more of a
	// database with 100,000 tenants than of an empty one.
	tenants, _, err := st.FindTenants(ctx, hookd.TenantFilter{Page: hookd.Page{Limit: 1}})
	if err != nil {
		return fmt.Errorf("look for a tenant: %w", err)
	}
	if len(tenants) > 0 {
		return nil
	}
	t, err := st.CreateTenant(ctx, "default")
	if hookd.ErrorCode(err) == hookd.ECONFLICT {
		return nil // another instance bootstrapped at the same moment
	}
	if err != nil {
		return fmt.Errorf("create default tenant: %w", err)
	}
	var keys [2]string
	for i, m := range []hookd.Mode{hookd.ModeLive, hookd.ModeTest} {
		if _, keys[i], err = st.CreateAPIKey(ctx, t.ID, m); err != nil {
			return fmt.Errorf("create %s key: %w", m, err)
		}
	}
	_, operator, err := st.CreateOperatorKey(ctx, "default")
	if err != nil {
		return fmt.Errorf("create operator key: %w", err)
	}
	log.Info("created tenant default with a live and a test API key, and an operator key")
	fmt.Fprintf(out, "\nCreated tenant \"default\". Its API keys are shown once and stored only as hashes:\n\n  live: %s\n  test: %s\n\n"+
		"The operator key manages every tenant and acts as any of them (docs/tenancy.md); it too is shown once:\n\n  operator: %s\n\n",
		keys[0], keys[1], operator)
	return nil
}

// pgStore adapts the pool's Close, which cannot fail, to the store's.
type pgStore struct{ *postgres.DB }

func (p pgStore) Close() error {
	p.DB.Close()
	return nil
}
