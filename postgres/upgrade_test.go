package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd/postgres/pgtest"
	"github.com/hookd/hookd/storetest"
)

// TestUpgradeFromKeptDatabase loads a database made by an earlier release
// (kept as pg_dump --inserts output) and opens it: the migrations since then
// apply, and everything it held still works.
func TestUpgradeFromKeptDatabase(t *testing.T) {
	t.Parallel()
	for _, f := range []struct {
		dump string
		storetest.UpgradeFixture
	}{
		// 7f2a6fa: the last commit with migration 00001 alone.
		{"upgrade-7f2a6fa.sql", storetest.UpgradeFixture{
			LiveKey: "sk_live_S1oIqsnfOCXX0iZJmGDtG7AVopDrqTah507G3fGA8rU",
			TestKey: "sk_test_0Ki5BZFIibqKuHrONouvJvKw4ghch2JH8JYd8tJl7FQ",
		}},
	} {
		t.Run(f.dump, func(t *testing.T) {
			dump, err := os.ReadFile(filepath.Join("testdata", f.dump))
			if err != nil {
				t.Fatal(err)
			}
			url := pgtest.NewDatabase(t)
			ctx := context.Background()
			conn, err := pgx.Connect(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			// The simple protocol runs the whole script as one request.
			if _, err := conn.PgConn().Exec(ctx, string(dump)).ReadAll(); err != nil {
				t.Fatalf("load %s: %v", f.dump, err)
			}
			conn.Close(ctx)
			storetest.CheckUpgrade(t, open(t, url, nil), f.UpgradeFixture)
		})
	}
}
