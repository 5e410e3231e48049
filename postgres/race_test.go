package postgres_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/hookd/hookd"
	"github.com/hookd/hookd/postgres/pgtest"
)

// A batch whose event id another transaction commits after the batch
// looked (so its insert skips that event) must write nothing: publishing
// sends its inserts and COMMIT in one round trip, so the race has to stop
// the transaction on the server, not in a callback after the COMMIT was
// sent. The retry then replays the taken id and makes the other event once.
func TestPublishRaceWritesNothingTwice(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := pgtest.NewDatabase(t)
	db := open(t, url, time.Now)
	s, _ := setup(t, db)

	other, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close(ctx)
	tx, err := other.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `INSERT INTO events (tenant_id, mode, id, type, data, created_at, body_hash, deliveries)
		VALUES ($1, 'live', 'evt_race', 'order.created', '{}', now(), '\x00', 0)`, s.TenantID); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	var res []hookd.PublishResult
	go func() {
		var err error
		res, err = db.PublishEvents(ctx, []hookd.PublishRequest{
			{Scope: s, Event: &hookd.Event{ID: "evt_race", Type: "order.created", Data: json.RawMessage(`{}`), CreatedAt: time.Now(),
				Tags: []string{"t"}}},
			{Scope: s, Event: &hookd.Event{Type: "order.created", Data: json.RawMessage(`{"n":1}`), CreatedAt: time.Now(),
				Tags: []string{"t"}}},
		})
		done <- err
	}()
	// Wait until the publish waits on the uncommitted id, then commit it.
	for waiting := false; !waiting; {
		select {
		case err := <-done:
			t.Fatalf("publish ended before the other transaction committed: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
		if err := other.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock')`).Scan(&waiting); err != nil {
			t.Fatal(err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("PublishEvents: %v", err)
	}
	// The other transaction's event has another body: a conflict.
	if hookd.ErrorCode(res[0].Err) != hookd.ECONFLICT || res[1].Err != nil || res[1].Deliveries != 1 {
		t.Fatalf("results: %+v", res)
	}

	var events, raceDeliveries, deliveries, raceLabels, labels int
	if err := other.QueryRow(ctx, `SELECT (SELECT count(*) FROM events WHERE tenant_id = $1),
		(SELECT count(*) FROM deliveries WHERE tenant_id = $1 AND event_id = 'evt_race'),
		(SELECT count(*) FROM deliveries WHERE tenant_id = $1),
		(SELECT count(*) FROM event_labels WHERE tenant_id = $1 AND event_id = 'evt_race'),
		(SELECT count(*) FROM event_labels WHERE tenant_id = $1)`, s.TenantID).Scan(&events, &raceDeliveries, &deliveries, &raceLabels, &labels); err != nil {
		t.Fatal(err)
	}
	if events != 2 || raceDeliveries != 0 || deliveries != 1 {
		t.Errorf("after the race: %d events (want 2: the taken id and the other once), %d deliveries of the taken id (want 0: its publisher made none), %d deliveries in all (want 1)",
			events, raceDeliveries, deliveries)
	}
	if raceLabels != 0 || labels != 1 {
		t.Errorf("after the race: %d labels of the taken id (want 0: its event is the other transaction's, without labels), %d in all (want 1)", raceLabels, labels)
	}
}
