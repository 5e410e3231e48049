package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/hookd/hookd"
)

const eventColumns = `id, tenant_id, mode, type, data, created_at, idempotency_key, body_hash, labels, deliveries`

// scanEvent reads eventColumns; the last one, the delivery count, goes to n.
func scanEvent(s scanner, n *int) (*hookd.Event, error) {
	var (
		e       hookd.Event
		mode    string
		data    []byte
		created int64
		key     sql.NullString
		labels  []byte
	)
	if err := s.Scan(&e.ID, &e.TenantID, &mode, &e.Type, &data, &created, &key, &e.BodyHash, &labels, n); err != nil {
		return nil, err
	}
	if labels != nil {
		var ls []string
		if err := json.Unmarshal(labels, &ls); err != nil {
			return nil, fmt.Errorf("event %s: decode labels: %w", e.ID, err)
		}
		e.SetLabels(ls)
	}
	e.Mode = hookd.Mode(mode)
	e.Data = json.RawMessage(data)
	e.CreatedAt = fromMS(created)
	e.IdempotencyKey = key.String
	return &e, nil
}

var (
	eventsInsert = insertSpec{table: "events", chunk: 16, cols: []string{"number", "id", "tenant_id", "mode", "type", "data",
		"created_at", "idempotency_key", "body_hash", "labels", "first_delivery", "deliveries"}}
	// labelsInsert indexes a labelled event by each of its labels.
	labelsInsert     = insertSpec{table: "event_labels", chunk: 16, cols: []string{"tenant_id", "mode", "label", "event_id"}}
	deliveriesInsert = insertSpec{table: "deliveries", chunk: 64, cols: []string{"id", "event_number", "tenant_id", "mode", "event_id",
		"webhook_id", "event_type", "status", "next_attempt_at", "created_at", "updated_at"}}
)

const (
	findEventByIDSQL  = `SELECT ` + eventColumns + ` FROM events WHERE tenant_id = ? AND mode = ? AND id = ?`
	findEventByKeySQL = `SELECT ` + eventColumns + ` FROM events WHERE tenant_id = ? AND mode = ? AND idempotency_key = ?`
	// subscribersSQL loads a scope's enabled webhooks for fan-out.
	subscribersSQL = `SELECT id, event_types, filter, status, expires_at FROM webhooks
		WHERE tenant_id = ? AND mode = ? AND enabled = 1 ORDER BY id`
	// lastRowsSQL finds the largest rowids, above which a publish numbers
	// its rows (two seeks to the ends of the tables).
	lastRowsSQL = `SELECT (SELECT coalesce(max(id), 0) FROM deliveries), (SELECT coalesce(max(number), 0) FROM events)`
)

// accepted is an event published earlier in the same batch, for replays.
type accepted struct {
	event      *hookd.Event
	deliveries int
}

// publishBatch is the state of one PublishEvents transaction.
type publishBatch struct {
	db          *DB
	ctx         context.Context
	tx          *sql.Tx
	now         time.Time
	subscribers map[hookd.Scope][]hookd.Subscriber
	types       map[hookd.Scope]map[string]bool // event types ensured in this batch
	byID        map[hookd.Scope]map[string]*accepted
	byKey       map[hookd.Scope]map[string]*accepted
	findByID    *sql.Stmt
	findByKey   *sql.Stmt
	ensureType  *sql.Stmt
	events      *batchInsert
	deliveries  *batchInsert
	labels      *batchInsert
	matched     []string // webhook ids of the event being fanned out
	// The next rowids to give: the store numbers rows itself so that an
	// event's deliveries are a known range (see rowid.go).
	nextDelivery, nextEvent int64
}

// PublishEvents implements hookd.EventStore: the whole batch is one
// transaction, with multi-row inserts and one webhook read per scope.
func (db *DB) PublishEvents(ctx context.Context, reqs []hookd.PublishRequest) ([]hookd.PublishResult, error) {
	results := make([]hookd.PublishResult, len(reqs))
	if len(reqs) == 0 {
		return results, nil
	}
	now := db.now()
	err := db.write(ctx, func(tx *sql.Tx) error {
		b := &publishBatch{
			db:          db,
			ctx:         ctx,
			tx:          tx,
			now:         now,
			subscribers: map[hookd.Scope][]hookd.Subscriber{},
			types:       map[hookd.Scope]map[string]bool{},
			byID:        map[hookd.Scope]map[string]*accepted{},
			byKey:       map[hookd.Scope]map[string]*accepted{},
			events:      db.newBatchInsert(tx, eventsInsert),
			deliveries:  db.newBatchInsert(tx, deliveriesInsert),
			labels:      db.newBatchInsert(tx, labelsInsert),
		}
		var lastDelivery int64
		if err := tx.StmtContext(ctx, db.hot[lastRowsSQL]).QueryRowContext(ctx).Scan(&lastDelivery, &b.nextEvent); err != nil {
			return fmt.Errorf("last rowids: %w", err)
		}
		// Above the last row, and at least the first of this millisecond
		// so that the rowid tells the creation time.
		b.nextDelivery, b.nextEvent = max(lastDelivery+1, firstRowAt(now)), max(b.nextEvent+1, firstRowAt(now))
		for i := range reqs {
			res, err := b.publish(&reqs[i])
			if err != nil {
				return err
			}
			results[i] = res
		}
		if err := hookd.AtomicRefusal(reqs, results); err != nil {
			return err
		}
		if err := b.events.flush(ctx); err != nil {
			return err
		}
		if err := b.labels.flush(ctx); err != nil {
			return err
		}
		return b.deliveries.flush(ctx)
	})
	if err != nil {
		return nil, fmt.Errorf("publish events: %w", err)
	}
	return results, nil
}

// prepare returns *st, preparing query the first time.
func (b *publishBatch) prepare(st **sql.Stmt, query string) (*sql.Stmt, error) {
	if *st == nil {
		s, err := b.db.stmt(b.ctx, b.tx, query)
		if err != nil {
			return nil, err
		}
		*st = s
	}
	return *st, nil
}

// publish handles one request. A returned error aborts the batch; a
// per-request refusal is the result's Err.
func (b *publishBatch) publish(r *hookd.PublishRequest) (hookd.PublishResult, error) {
	if err := r.Validate(); err != nil {
		return hookd.PublishResult{Err: err}, nil
	}
	e, s := r.Event, r.Scope
	// Idempotency: the same id or key seen before, in this batch or committed.
	chosenID := e.ID != ""
	if chosenID {
		prev, err := b.lookup(s, b.byID, &b.findByID, findEventByIDSQL, e.ID)
		if err != nil {
			return hookd.PublishResult{}, err
		}
		if prev != nil {
			return hookd.Replay(prev.event, prev.deliveries, e, fmt.Sprintf("event id %s", e.ID)), nil
		}
	}
	if e.IdempotencyKey != "" {
		prev, err := b.lookup(s, b.byKey, &b.findByKey, findEventByKeySQL, e.IdempotencyKey)
		if err != nil {
			return hookd.PublishResult{}, err
		}
		if prev != nil {
			return hookd.Replay(prev.event, prev.deliveries, e, fmt.Sprintf("Idempotency-Key %q", e.IdempotencyKey)), nil
		}
	}
	if !chosenID {
		e.ID = hookd.NewIDAt("msg", b.now)
	}
	e.TenantID, e.Mode = s.TenantID, s.Mode
	if e.CreatedAt.IsZero() {
		e.CreatedAt = b.now
	}
	e.CreatedAt = e.CreatedAt.UTC().Truncate(time.Millisecond)

	if r.Catalogued() {
		if err := b.ensureEventType(s, e.Type); err != nil {
			return hookd.PublishResult{}, err
		}
	}
	number, first := b.nextEvent, b.nextDelivery
	b.nextEvent++
	n, err := b.fanOut(r, number)
	var he *hookd.Error
	if errors.As(err, &he) {
		return hookd.PublishResult{Err: err}, nil
	}
	if err != nil {
		return hookd.PublishResult{}, err
	}
	if !r.Kept(n) {
		return hookd.PublishResult{Event: e}, nil
	}
	var key any
	if e.IdempotencyKey != "" {
		key = e.IdempotencyKey
	}
	var labels any // NULL unless the event has channels or tags
	if ls := e.Labels(); ls != nil {
		j, err := json.Marshal(ls)
		if err != nil {
			return hookd.PublishResult{}, fmt.Errorf("encode labels: %w", err)
		}
		labels = string(j)
		for _, l := range ls {
			if err := b.labels.add(b.ctx, e.TenantID, string(e.Mode), l, e.ID); err != nil {
				return hookd.PublishResult{}, err
			}
		}
	}
	if err := b.events.add(b.ctx, number, e.ID, e.TenantID, string(e.Mode), e.Type, []byte(e.Data), ms(e.CreatedAt), key, e.BodyHash,
		labels, first, n); err != nil {
		return hookd.PublishResult{}, err
	}
	a := &accepted{event: e, deliveries: n}
	remember(b.byID, s, e.ID, a)
	if e.IdempotencyKey != "" {
		remember(b.byKey, s, e.IdempotencyKey, a)
	}
	return hookd.PublishResult{Event: e, Deliveries: n}, nil
}

func remember(m map[hookd.Scope]map[string]*accepted, s hookd.Scope, k string, a *accepted) {
	if m[s] == nil {
		m[s] = map[string]*accepted{}
	}
	m[s][k] = a
}

// lookup finds an event published before under key k: in this batch, or
// committed.
func (b *publishBatch) lookup(s hookd.Scope, seen map[hookd.Scope]map[string]*accepted, st **sql.Stmt, query, k string) (*accepted, error) {
	if a := seen[s][k]; a != nil {
		return a, nil
	}
	stmt, err := b.prepare(st, query)
	if err != nil {
		return nil, err
	}
	var n int
	ev, err := scanEvent(stmt.QueryRowContext(b.ctx, s.TenantID, string(s.Mode), k), &n)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("find event: %w", err)
	}
	return &accepted{event: ev, deliveries: n}, nil
}

func (b *publishBatch) ensureEventType(s hookd.Scope, name string) error {
	if b.types[s][name] {
		return nil
	}
	st, err := b.prepare(&b.ensureType, ensureEventTypeSQL)
	if err != nil {
		return err
	}
	if _, err := st.ExecContext(b.ctx, s.TenantID, string(s.Mode), name, "", ms(b.now), ms(b.now)); err != nil {
		return fmt.Errorf("add event type %q: %w", name, err)
	}
	if b.types[s] == nil {
		b.types[s] = map[string]bool{}
	}
	b.types[s][name] = true
	return nil
}

// fanOut queues the request's deliveries and returns how many.
func (b *publishBatch) fanOut(r *hookd.PublishRequest, eventNumber int64) (int, error) {
	subs, err := b.subscribersOf(r.Scope)
	if err != nil {
		return 0, err
	}
	e := r.Event
	b.matched, err = hookd.Recipients(b.matched[:0], r, subs)
	if err != nil {
		return 0, err
	}
	at := ms(b.now)
	for _, id := range b.matched {
		err := b.deliveries.add(b.ctx, b.nextDelivery, eventNumber, e.TenantID, string(e.Mode), e.ID, id, e.Type,
			string(hookd.DeliveryPending), at, at, at)
		b.nextDelivery++
		if err != nil {
			return 0, err
		}
	}
	return len(b.matched), nil
}

// subscribersOf loads the enabled webhooks of a scope once per batch.
func (b *publishBatch) subscribersOf(s hookd.Scope) ([]hookd.Subscriber, error) {
	if subs, ok := b.subscribers[s]; ok {
		return subs, nil
	}
	st, err := b.db.stmt(b.ctx, b.tx, subscribersSQL)
	if err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	rows, err := st.QueryContext(b.ctx, s.TenantID, string(s.Mode))
	if err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	defer rows.Close()
	subs := []hookd.Subscriber{}
	for rows.Next() {
		var (
			id            string
			types, filter []byte
			status        string
			expires       sql.NullInt64
			eventTypes    []string
		)
		if err := rows.Scan(&id, &types, &filter, &status, &expires); err != nil {
			return nil, fmt.Errorf("load webhooks: %w", err)
		}
		if err := json.Unmarshal(types, &eventTypes); err != nil {
			return nil, fmt.Errorf("webhook %s: decode event types: %w", id, err)
		}
		w, err := hookd.NewSubscriber(id, eventTypes, filter, hookd.WebhookStatus(status), fromNullMS(expires), b.now)
		if err != nil {
			return nil, fmt.Errorf("webhook %s: stored filter: %w", id, err)
		}
		subs = append(subs, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("load webhooks: %w", err)
	}
	b.subscribers[s] = subs
	return subs, nil
}

// FindEventByID implements hookd.EventStore.
func (db *DB) FindEventByID(ctx context.Context, s hookd.Scope, id string) (*hookd.Event, error) {
	var n int
	e, err := scanEvent(db.reader.QueryRowContext(ctx, findEventByIDSQL, s.TenantID, string(s.Mode), id), &n)
	if err != nil {
		return nil, notFound(err, "find event", fmt.Sprintf("event %s not found", id))
	}
	return e, nil
}

// FindEvents implements hookd.EventStore.
func (db *DB) FindEvents(ctx context.Context, s hookd.Scope, f hookd.EventFilter) ([]*hookd.Event, error) {
	var q string
	var args []any
	if labels := f.Labels(); labels != nil {
		q, args = labelledEventsQuery(s, f, labels)
	} else {
		q = `SELECT ` + eventColumns + ` FROM events WHERE tenant_id = ? AND mode = ?`
		args = []any{s.TenantID, string(s.Mode)}
		if f.Type != "" {
			q += ` AND type = ?`
			args = append(args, f.Type)
		}
		q, args = newestFirst(q, args, f.Since, f.Until, f.Page)
	}
	rows, err := db.reader.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("find events: %w", err)
	}
	defer rows.Close()
	out := []*hookd.Event{}
	for rows.Next() {
		var n int
		e, err := scanEvent(rows, &n)
		if err != nil {
			return nil, fmt.Errorf("find events: %w", err)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("find events: %w", err)
	}
	return out, nil
}

// labelledEventsQuery lists the events that have every label of labels:
// the page is read from event_labels' primary key (scope, first label,
// event id), newest id first, and each of its events is then read by its
// id; a second label is checked by a seek per row. Only the other
// filters (type, time) can make it read index entries it does not answer.
func labelledEventsQuery(s hookd.Scope, f hookd.EventFilter, labels []string) (string, []any) {
	q := `SELECT ` + qualified("e.", eventColumns) + ` FROM event_labels l
		JOIN events e ON e.tenant_id = l.tenant_id AND e.mode = l.mode AND e.id = l.event_id
		WHERE l.tenant_id = ? AND l.mode = ? AND l.label = ?`
	args := []any{s.TenantID, string(s.Mode), labels[0]}
	for _, other := range labels[1:] {
		q += ` AND EXISTS (SELECT 1 FROM event_labels o
			WHERE o.tenant_id = l.tenant_id AND o.mode = l.mode AND o.label = ? AND o.event_id = l.event_id)`
		args = append(args, other)
	}
	if f.Type != "" {
		q += ` AND e.type = ?`
		args = append(args, f.Type)
	}
	if f.Since != nil {
		q += ` AND e.created_at >= ?`
		args = append(args, ms(*f.Since))
	}
	if f.Until != nil {
		q += ` AND e.created_at < ?`
		args = append(args, ms(*f.Until))
	}
	if f.Cursor != "" {
		q += ` AND l.event_id < ?`
		args = append(args, f.Cursor)
	}
	q += ` ORDER BY l.event_id DESC LIMIT ? OFFSET ?`
	return q, append(args, f.Limit, offsetUnlessCursor(f.Page))
}

// qualified prefixes each column of a comma-separated list.
func qualified(prefix, cols string) string {
	parts := strings.Split(cols, ", ")
	for i, c := range parts {
		parts[i] = prefix + c
	}
	return strings.Join(parts, ", ")
}

// newestFirst finishes a list query of rows with created_at and time-sorted
// ids: the [since, until) window, the page, newest first (a cursor is the
// last id of the previous page).
func newestFirst(q string, args []any, since, until *time.Time, p hookd.Page) (string, []any) {
	if since != nil {
		q += ` AND created_at >= ?`
		args = append(args, ms(*since))
	}
	if until != nil {
		q += ` AND created_at < ?`
		args = append(args, ms(*until))
	}
	if p.Cursor != "" {
		q += ` AND id < ?`
		args = append(args, p.Cursor)
	}
	q += ` ORDER BY id DESC LIMIT ? OFFSET ?`
	return q, append(args, p.Limit, offsetUnlessCursor(p))
}
