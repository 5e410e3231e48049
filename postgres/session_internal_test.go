package postgres

import (
	"context"
	"net/url"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/postgres/pgtest"
)

// Each pooled connection plans for its arguments and has its evicted pages
// written as it goes (sessionQuery), but a backend_flush_after that the
// operator set anywhere (the URL, the database, the role, the server's
// configuration) is theirs to keep.
func TestSessionSettings(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	show := func(t *testing.T, db *DB, name string) string {
		t.Helper()
		var v string
		if err := db.pool.QueryRow(ctx, "SELECT current_setting($1)", name).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return v
	}

	t.Run("defaults", func(t *testing.T) {
		t.Parallel()
		db := openDB(t, pgtest.NewDatabase(t), Options{MaxConns: 1})
		if got := show(t, db, "plan_cache_mode"); got != "force_custom_plan" {
			t.Errorf("plan_cache_mode = %q, want force_custom_plan", got)
		}
		if got := show(t, db, "backend_flush_after"); got != "256kB" {
			t.Errorf("backend_flush_after = %q, want 256kB", got)
		}
	})
	t.Run("from the URL", func(t *testing.T) {
		t.Parallel()
		u, err := url.Parse(pgtest.NewDatabase(t))
		if err != nil {
			t.Fatal(err)
		}
		q := u.Query()
		q.Set("backend_flush_after", "0")
		u.RawQuery = q.Encode()
		db := openDB(t, u.String(), Options{MaxConns: 1})
		if got := show(t, db, "backend_flush_after"); got != "0" {
			t.Errorf("backend_flush_after = %q, want the URL's 0", got)
		}
	})
	t.Run("from the database", func(t *testing.T) {
		t.Parallel()
		dbURL := pgtest.NewDatabase(t)
		conn, err := pgx.Connect(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		var name string
		if err := conn.QueryRow(ctx, "SELECT current_database()").Scan(&name); err != nil {
			t.Fatal(err)
		}
		_, err = conn.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{name}.Sanitize()+" SET backend_flush_after = '64kB'")
		conn.Close(ctx)
		if err != nil {
			t.Fatal(err)
		}
		db := openDB(t, dbURL, Options{MaxConns: 1})
		if got := show(t, db, "backend_flush_after"); got != "64kB" {
			t.Errorf("backend_flush_after = %q, want the database's 64kB", got)
		}
	})
}
