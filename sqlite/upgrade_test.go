package sqlite_test

import (
	"database/sql"
	"os"
	"path/filepath"
	"testing"

	"github.com/hookd/hookd/storetest"
)

// TestUpgradeFromKeptDatabase loads a database made by an earlier release
// (kept as an SQL dump) and opens it: the migrations since then apply, and
// everything it held still works.
func TestUpgradeFromKeptDatabase(t *testing.T) {
	t.Parallel()
	for _, f := range []struct {
		dump string
		storetest.UpgradeFixture
	}{
		// 7f2a6fa: the last commit with migration 00001 alone.
		{"upgrade-7f2a6fa.sql", storetest.UpgradeFixture{
			LiveKey: "sk_live_6-FTclyREGOPM6aZ1I3G8TkGna1Yo5ZUratQzV5QJyo",
			TestKey: "sk_test_2uozraNKABxOs9e0jGOVemKO3VKjucpBorA6vdyNrOQ",
		}},
	} {
		t.Run(f.dump, func(t *testing.T) {
			dump, err := os.ReadFile(filepath.Join("testdata", f.dump))
			if err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(t.TempDir(), "hookd.db")
			raw, err := sql.Open("sqlite", "file:"+path)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := raw.Exec(string(dump)); err != nil {
				t.Fatalf("load %s: %v", f.dump, err)
			}
			if err := raw.Close(); err != nil {
				t.Fatal(err)
			}
			storetest.CheckUpgrade(t, open(t, path, nil), f.UpgradeFixture)
		})
	}
}
