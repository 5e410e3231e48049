package postgres_test

import (
	"testing"

	"github.com/hookd/hookd/postgres"
	"github.com/hookd/hookd/postgres/pgtest"
	"github.com/hookd/hookd/storetest"
)

// The shared contract suite, each test on its own database.
func TestStore(t *testing.T) {
	storetest.Run(t, func(t *testing.T, clock *storetest.Clock) storetest.Store {
		var db *postgres.DB = open(t, pgtest.NewDatabase(t), clock.Now)
		return db
	})
}
