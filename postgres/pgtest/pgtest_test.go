package pgtest_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// Each call gives a distinct, empty, writable database.
func TestNewDatabaseIsFreshAndSeparate(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	a, b := pgtest.NewDatabase(t), pgtest.NewDatabase(t)
	if a == b {
		t.Fatalf("two calls returned the same database %s", a)
	}
	ca, err := pgx.Connect(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	defer ca.Close(ctx)
	if _, err := ca.Exec(ctx, "CREATE TABLE x (v int); INSERT INTO x VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	cb, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer cb.Close(ctx)
	var n int
	if err := cb.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'x'").Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Errorf("database %s sees a table made in %s", b, a)
	}
}

// On a server with ICU (Debian's PostgreSQL 15 has it), a database orders
// text by a language's rules, as most databases people run do: "a" before
// "B", where "C" puts every capital first.
func TestNewDatabaseHasALanguagesCollation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var icu bool
	if err := conn.QueryRow(ctx, `SELECT current_setting('server_version_num')::int >= 150000
		AND EXISTS (SELECT 1 FROM pg_collation WHERE collprovider = 'i')`).Scan(&icu); err != nil {
		t.Fatal(err)
	}
	if !icu {
		t.Skip("this server has no ICU collations: its databases keep the server's own")
	}
	var aFirst bool
	if err := conn.QueryRow(ctx, `SELECT 'a' < 'B'`).Scan(&aFirst); err != nil {
		t.Fatal(err)
	}
	if !aFirst {
		t.Error(`'a' < 'B' is false: the database compares text as bytes ("C"), not by a language's rules`)
	}
}
