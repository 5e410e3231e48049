package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/hookd/hookd"
)

const eventColumns = `id, tenant_id, mode, type, data, created_at, idempotency_key, body_hash, labels, deliveries`

// scanEvent reads eventColumns; the last one, the delivery count, goes to n.
func scanEvent(r pgx.Row, n *int) (*hookd.Event, error) {
	var (
		e      hookd.Event
		mode   string
		data   []byte
		key    *string
		labels []string
	)
	if err := r.Scan(&e.ID, &e.TenantID, &mode, &e.Type, &data, &e.CreatedAt, &key, &e.BodyHash, &labels, n); err != nil {
		return nil, err
	}
	if labels != nil {
		e.SetLabels(labels)
	}
	e.Mode = hookd.Mode(mode)
	e.Data = data
	e.CreatedAt = e.CreatedAt.UTC()
	if key != nil {
		e.IdempotencyKey = *key
	}
	return &e, nil
}

// maxPublishTries bounds how often a batch is retried after losing a race
// with another instance (the same id or key committed concurrently, or a
// deadlock between two batches).
const maxPublishTries = 3

// PublishEvents implements hookd.EventStore: the whole batch is one
// transaction whatever its size — one read of earlier events and of the
// scopes' webhooks, then one pipelined write of event types, events and
// deliveries, with a NOTIFY for the dispatchers; or, when the scopes'
// webhooks are kept from an earlier batch, only the write, checked against
// them (see subscriberCache).
func (db *DB) PublishEvents(ctx context.Context, reqs []hookd.PublishRequest) ([]hookd.PublishResult, error) {
	results, _, err := db.publish(ctx, reqs, nil)
	return results, err
}

// PublishEventsHandoff implements hookd.HandoffStore: the deliveries h
// takes get their queue rows leased to h.Owner in the publish's own
// insert, and come back as jobs with the event published and their
// webhooks, read in the write's round trip. The NOTIFY that wakes the
// dispatchers is sent only if some delivery was not taken.
func (db *DB) PublishEventsHandoff(ctx context.Context, reqs []hookd.PublishRequest, h hookd.Handoff) ([]hookd.PublishResult, []*hookd.Job, error) {
	return db.publish(ctx, reqs, &h)
}

func (db *DB) publish(ctx context.Context, reqs []hookd.PublishRequest, h *hookd.Handoff) ([]hookd.PublishResult, []*hookd.Job, error) {
	if len(reqs) == 0 {
		return []hookd.PublishResult{}, nil, nil
	}
	// Which ids the producer chose, before the first try fills in the rest.
	chosen := make([]bool, len(reqs))
	for i := range reqs {
		chosen[i] = reqs[i].Event != nil && reqs[i].Event.ID != ""
	}
	// The first try uses the kept subscribers if it can (one round trip);
	// if they turn out stale, or an id or key was taken, it is not counted
	// and the tries that follow read everything afresh (two).
	kept := true
	for try := 1; ; try++ {
		results, jobs, usedKept, err := db.publishOnce(ctx, reqs, chosen, h, kept)
		if err == nil {
			if usedKept {
				db.onePass.Add(1)
			}
			return results, jobs, nil
		}
		if !errors.Is(err, errPublishRace) && !isDeadlock(err) {
			return nil, nil, fmt.Errorf("publish events: %w", err)
		}
		if usedKept {
			db.subscribers.forget(scopesOf(reqs))
			try--
		} else if try == maxPublishTries {
			return nil, nil, fmt.Errorf("publish events: %w", err)
		}
		kept = false
	}
}

// scopesOf lists the distinct scopes of reqs, in order of first appearance.
func scopesOf(reqs []hookd.PublishRequest) []hookd.Scope {
	var scopes []hookd.Scope
	for i := range reqs {
		if !slices.Contains(scopes, reqs[i].Scope) {
			scopes = append(scopes, reqs[i].Scope)
		}
	}
	return scopes
}

// errPublishRace: an event id or key of the batch was committed by another
// transaction after this one looked; the retry will find it and replay.
var errPublishRace = errors.New("an event id or idempotency key was taken concurrently")

func isDeadlock(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001")
}

// scopeKey names a string key (event id, idempotency key) within a scope.
type scopeKey struct {
	scope hookd.Scope
	key   string
}

// accepted is an event stored before, or earlier in the batch, for replays.
type accepted struct {
	event      *hookd.Event
	deliveries int
}

// publishBatch is the state of one try of PublishEvents.
type publishBatch struct {
	ctx         context.Context
	tx          *pipeTx
	now         time.Time
	subscribers map[hookd.Scope][]hookd.Subscriber
	byID        map[scopeKey]*accepted
	byKey       map[scopeKey]*accepted
	types       map[scopeKey]bool

	events     eventRows
	deliveries deliveryRows
	matched    []string

	// handoff, when set, takes deliveries to lease at once (see
	// PublishEventsHandoff); handed are those it took, with their events
	// (write reads their webhooks).
	handoff *hookd.Handoff
	handed  []*hookd.Job

	// scopes and digests, when the batch uses kept subscribers (see
	// subscriberCache), are what write checks before it writes.
	scopes  []hookd.Scope
	digests [][]byte
}

type eventRows struct {
	id, tenant, mode, typ, key []string
	hasKey                     []bool
	data, hash                 [][]byte
	created                    []time.Time
	deliveries                 []int32
	// labels holds each event's labels as one array literal, "" when it
	// has none (stored as NULL); the labelled ones are also in labelRows.
	labels []string
	labelRows
}

// labelRows index labelled events by label (event_labels).
type labelRows struct {
	tenant, mode, label, event []string
}

type deliveryRows struct {
	id, tenant, mode, event, webhook, typ []string
	leased                                []bool // handed off (see publishBatch.handoff)
}

// publishOnce tries the batch in one transaction. With kept, and every
// scope's subscribers kept, it is one round trip: it neither reads the
// webhooks nor looks the batch's event ids and idempotency keys up (an
// event already stored makes insertEventsSQL fail the transaction, and the
// next try, reading everything, replays it). Otherwise two: BEGIN goes
// with load's statements, COMMIT with write's. usedKept says which it was.
func (db *DB) publishOnce(ctx context.Context, reqs []hookd.PublishRequest, chosen []bool, h *hookd.Handoff, kept bool) (_ []hookd.PublishResult, _ []*hookd.Job, usedKept bool, _ error) {
	results := make([]hookd.PublishResult, len(reqs))
	var b *publishBatch
	err := db.inPipeTx(ctx, func(tx *pipeTx) error {
		b = &publishBatch{
			ctx:     ctx,
			tx:      tx,
			now:     db.now(),
			byID:    map[scopeKey]*accepted{},
			byKey:   map[scopeKey]*accepted{},
			types:   map[scopeKey]bool{},
			handoff: h,
		}
		valid := make([]bool, len(reqs))
		for i := range reqs {
			if err := reqs[i].Validate(); err != nil {
				results[i] = hookd.PublishResult{Err: err}
				continue
			}
			valid[i] = true
		}
		if kept {
			b.scopes = scopesOf(reqs)
			b.subscribers, b.digests, usedKept = db.subscribers.get(b.scopes, b.now)
		}
		if !usedKept {
			if err := b.load(reqs, valid, chosen, &db.subscribers); err != nil {
				return err
			}
		}
		for i := range reqs {
			if !valid[i] {
				continue
			}
			res, err := b.publish(&reqs[i], chosen[i])
			if err != nil {
				return err
			}
			results[i] = res
		}
		if err := hookd.AtomicRefusal(reqs, results); err != nil {
			return err
		}
		return b.write()
	})
	if err != nil {
		return nil, nil, usedKept, err
	}
	jobs := b.handed[:0]
	for _, j := range b.handed {
		// One the claim would cancel (its webhook deleted or disabled
		// meanwhile) stays leased: when the lease runs out, a claim takes
		// it and cancels it.
		if j.UndeliverableReason(b.now) == "" {
			jobs = append(jobs, j)
		}
	}
	return results, jobs, usedKept, nil
}

// lookupEventsSQL finds earlier events by (scope, id) and by (scope, key).
const lookupEventsSQL = `SELECT ` + eventColumns + ` FROM unnest($1::text[], $2::text[], $3::text[]) AS r (t, m, k)
	JOIN events e ON e.tenant_id = r.t AND e.mode = r.m AND e.id = r.k
	UNION
	SELECT ` + eventColumns + ` FROM unnest($4::text[], $5::text[], $6::text[]) AS r (t, m, k)
	JOIN events e ON e.tenant_id = r.t AND e.mode = r.m AND e.idempotency_key = r.k`

// load reads, in one round trip, the enabled webhooks of the batch's scopes
// and the earlier events that its ids and keys name. Both lookups run with
// their plans pinned (see pinPlansQuery), for the rest of the transaction:
// the writes that follow are inserts from unnest, which have no plan to
// choose. Pinned, the webhooks are read through webhooks_scope even when
// the table's statistics (or a generic plan made from them) date from
// when it held a few rows: a crowd of other tenants' webhooks never costs
// a publish a scan. The scopes' subscribers are kept in cache, with the
// digest they were read with, for the publishes that follow.
func (b *publishBatch) load(reqs []hookd.PublishRequest, valid, chosen []bool, cache *subscriberCache) error {
	var idT, idM, idK, keyT, keyM, keyK, scT, scM []string
	scopes := map[hookd.Scope]bool{}
	for i := range reqs {
		if !valid[i] {
			continue
		}
		s, e := reqs[i].Scope, reqs[i].Event
		if chosen[i] {
			idT, idM, idK = append(idT, s.TenantID), append(idM, string(s.Mode)), append(idK, e.ID)
		}
		if e.IdempotencyKey != "" {
			keyT, keyM, keyK = append(keyT, s.TenantID), append(keyM, string(s.Mode)), append(keyK, e.IdempotencyKey)
		}
		if !scopes[s] {
			scopes[s] = true
			scT, scM = append(scT, s.TenantID), append(scM, string(s.Mode))
		}
	}
	var batch pgx.Batch
	batch.Queue(pinPlansQuery)
	b.subscribers = make(map[hookd.Scope][]hookd.Subscriber, len(scopes))
	batch.Queue(loadSubscribersSQL, scT, scM).Query(func(rows pgx.Rows) error {
		digests := make(map[hookd.Scope][]byte, len(scopes))
		for rows.Next() {
			var (
				sc         hookd.Scope
				mode       string
				digest     []byte
				id, status *string
				types      []string
				filter     []byte
				expires    *time.Time
			)
			if err := rows.Scan(&sc.TenantID, &mode, &digest, &id, &types, &filter, &status, &expires); err != nil {
				return err
			}
			sc.Mode = hookd.Mode(mode)
			digests[sc] = digest
			if id == nil {
				continue // a scope without webhooks
			}
			w, err := hookd.NewSubscriber(*id, types, filter, hookd.WebhookStatus(*status), expires, b.now)
			if err != nil {
				return fmt.Errorf("webhook %s: stored filter: %w", *id, err)
			}
			b.subscribers[sc] = append(b.subscribers[sc], w)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for sc, digest := range digests {
			subs := b.subscribers[sc]
			slices.SortFunc(subs, func(a, c hookd.Subscriber) int { return strings.Compare(a.ID, c.ID) })
			cache.put(sc, digest, subs) // shared: neither the batch nor the cache changes it
		}
		return nil
	})
	if len(idK)+len(keyK) > 0 {
		batch.Queue(lookupEventsSQL, idT, idM, idK, keyT, keyM, keyK).Query(func(rows pgx.Rows) error {
			for rows.Next() {
				var n int
				e, err := scanEvent(rows, &n)
				if err != nil {
					return err
				}
				a := &accepted{event: e, deliveries: n}
				s := hookd.Scope{TenantID: e.TenantID, Mode: e.Mode}
				b.byID[scopeKey{s, e.ID}] = a
				if e.IdempotencyKey != "" {
					b.byKey[scopeKey{s, e.IdempotencyKey}] = a
				}
			}
			return rows.Err()
		})
	}
	if err := b.tx.send(b.ctx, &batch); err != nil {
		return fmt.Errorf("read events and webhooks: %w", err)
	}
	return nil
}

// publish handles one valid request. A returned error aborts the batch; a
// per-request refusal is the result's Err.
func (b *publishBatch) publish(r *hookd.PublishRequest, chosenID bool) (hookd.PublishResult, error) {
	e, s := r.Event, r.Scope
	if chosenID {
		if prev := b.byID[scopeKey{s, e.ID}]; prev != nil {
			return hookd.Replay(prev.event, prev.deliveries, e, fmt.Sprintf("event id %s", e.ID)), nil
		}
	}
	if e.IdempotencyKey != "" {
		if prev := b.byKey[scopeKey{s, e.IdempotencyKey}]; prev != nil {
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
	e.CreatedAt = pgTime(e.CreatedAt)
	if r.Catalogued() {
		b.types[scopeKey{s, e.Type}] = true
	}
	n, err := b.fanOut(r)
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
	ev := &b.events
	ev.id, ev.tenant, ev.mode, ev.typ = append(ev.id, e.ID), append(ev.tenant, s.TenantID), append(ev.mode, string(s.Mode)), append(ev.typ, e.Type)
	ev.key, ev.hasKey = append(ev.key, e.IdempotencyKey), append(ev.hasKey, e.IdempotencyKey != "")
	ev.data, ev.hash, ev.created = append(ev.data, e.Data), append(ev.hash, e.BodyHash), append(ev.created, e.CreatedAt)
	ev.deliveries = append(ev.deliveries, int32(n))
	ls := e.Labels()
	ev.labels = append(ev.labels, textArray(ls))
	for _, l := range ls {
		lr := &ev.labelRows
		lr.tenant, lr.mode, lr.label, lr.event = append(lr.tenant, s.TenantID), append(lr.mode, string(s.Mode)), append(lr.label, l), append(lr.event, e.ID)
	}

	a := &accepted{event: e, deliveries: n}
	b.byID[scopeKey{s, e.ID}] = a
	if e.IdempotencyKey != "" {
		b.byKey[scopeKey{s, e.IdempotencyKey}] = a
	}
	return hookd.PublishResult{Event: e, Deliveries: n}, nil
}

// fanOut queues the request's deliveries and returns how many.
func (b *publishBatch) fanOut(r *hookd.PublishRequest) (int, error) {
	var err error
	b.matched, err = hookd.Recipients(b.matched[:0], r, b.subscribers[r.Scope])
	if err != nil {
		return 0, err
	}
	e, d := r.Event, &b.deliveries
	var sent *hookd.Event // the event as the handed jobs send it
	for _, id := range b.matched {
		dlv := hookd.NewIDAt("dlv", b.now)
		d.id = append(d.id, dlv)
		d.tenant, d.mode = append(d.tenant, e.TenantID), append(d.mode, string(e.Mode))
		d.event, d.webhook, d.typ = append(d.event, e.ID), append(d.webhook, id), append(d.typ, e.Type)
		leased := b.handoff != nil && b.handoff.Take(id)
		d.leased = append(d.leased, leased)
		if !leased {
			continue
		}
		if sent == nil {
			// The caller keeps its event; the job gets its own copy.
			c := *e
			c.Data = slices.Clone(e.Data)
			sent = &c
		}
		due := b.now
		b.handed = append(b.handed, &hookd.Job{Event: sent, Delivery: &hookd.Delivery{
			ID: dlv, TenantID: e.TenantID, Mode: e.Mode, EventID: e.ID, WebhookID: id, EventType: e.Type,
			Status: hookd.DeliveryPending, NextAttemptAt: &due, CreatedAt: b.now, UpdatedAt: b.now,
		}})
	}
	return len(b.matched), nil
}

const insertEventTypesSQL = `INSERT INTO event_types (tenant_id, mode, name, description, created_at, updated_at)
	SELECT t, m, n, '', $4, $4 FROM unnest($1::text[], $2::text[], $3::text[]) AS r (t, m, n)
	ON CONFLICT DO NOTHING`

// insertEventsSQL inserts the batch's events, and fails the transaction on
// the server (division by zero, SQLSTATE 22012, the only way plain SQL has)
// when it skipped one whose id or key another transaction committed after
// the batch looked: the statements after it and the COMMIT travel in the
// same round trip, so a check in the client would come after the server
// had written the batch's deliveries — to an event it did not write — and
// committed the rest, which the retry would then write again. Failed, the
// transaction rolls back whole and the retry replays the taken ids.
// An event's labels come as one text[] literal each ("" for none: NULL),
// since unnest cannot take an array of arrays of varying length.
const insertEventsSQL = `WITH ins AS (INSERT INTO events (id, tenant_id, mode, type, data, created_at, idempotency_key, body_hash, deliveries, labels)
	SELECT id, t, m, ty, data, created, CASE WHEN has_key THEN k END, hash, n, nullif(ls, '')::text[]
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bytea[], $6::timestamptz[], $7::text[], $8::boolean[], $9::bytea[], $10::int[], $11::text[])
	AS r (id, t, m, ty, data, created, k, has_key, hash, n, ls)
	ON CONFLICT DO NOTHING RETURNING 1)
	SELECT 1 / (count(*) = $12)::int FROM ins`

// raceSQLState is what insertEventsSQL fails with when it skipped an event.
const raceSQLState = "22012"

// insertLabelsSQL indexes the batch's labelled events by label. It is
// sent only when the batch has one, after insertEventsSQL, which fails the
// transaction if it skipped an event: every row here is of an event the
// batch wrote.
const insertLabelsSQL = `INSERT INTO event_labels (tenant_id, mode, label, event_id)
	SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])
	ON CONFLICT DO NOTHING`

// insertDeliveriesSQL writes each delivery to the log and to the queue, in
// one statement; the queue rows of those handed off ($8) are leased to $9
// until $10.
const insertDeliveriesSQL = `WITH d AS (INSERT INTO deliveries (id, tenant_id, mode, event_id, webhook_id, event_type, status,
		next_attempt_at, created_at, updated_at)
		SELECT id, t, m, ev, wh, ty, 'pending', $7, $7, $7
		FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[]) AS r (id, t, m, ev, wh, ty))
	INSERT INTO queue (delivery_id, tenant_id, webhook_id, next_attempt_at, lease_owner, lease_until)
	SELECT id, t, wh, $7, CASE WHEN l THEN $9::text END, CASE WHEN l THEN $10::timestamptz END
	FROM unnest($1::text[], $2::text[], $5::text[], $8::boolean[]) AS r (id, t, wh, l)`

// write sends the batch's rows and COMMIT in one round trip.
func (b *publishBatch) write() error {
	var batch pgx.Batch
	if b.digests != nil {
		// Kept subscribers: nothing was sent yet, so the plans are pinned
		// here, and the check comes before every write.
		t, m := make([]string, len(b.scopes)), make([]string, len(b.scopes))
		for i, sc := range b.scopes {
			t[i], m[i] = sc.TenantID, string(sc.Mode)
		}
		batch.Queue(pinPlansQuery)
		batch.Queue(checkSubscribersSQL, t, m, b.digests)
	}
	if len(b.types) > 0 {
		// Sorted, so that concurrent batches take the catalog's index locks
		// in one order and cannot deadlock.
		keys := make([]scopeKey, 0, len(b.types))
		for k := range b.types {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			a, c := keys[i], keys[j]
			if a.scope.TenantID != c.scope.TenantID {
				return a.scope.TenantID < c.scope.TenantID
			}
			if a.scope.Mode != c.scope.Mode {
				return a.scope.Mode < c.scope.Mode
			}
			return a.key < c.key
		})
		t, m, n := make([]string, len(keys)), make([]string, len(keys)), make([]string, len(keys))
		for i, k := range keys {
			t[i], m[i], n[i] = k.scope.TenantID, string(k.scope.Mode), k.key
		}
		batch.Queue(insertEventTypesSQL, t, m, n, b.now)
	}
	ev := &b.events
	if len(ev.id) > 0 {
		batch.Queue(insertEventsSQL, ev.id, ev.tenant, ev.mode, ev.typ, ev.data, ev.created, ev.key, ev.hasKey, ev.hash,
			ev.deliveries, ev.labels, len(ev.id))
	}
	if lr := &ev.labelRows; len(lr.label) > 0 {
		batch.Queue(insertLabelsSQL, lr.tenant, lr.mode, lr.label, lr.event)
	}
	d := &b.deliveries
	if len(d.id) > 0 {
		var owner string
		var until time.Time
		if b.handoff != nil {
			owner, until = b.handoff.Owner, b.now.Add(b.handoff.Lease)
		}
		batch.Queue(insertDeliveriesSQL, d.id, d.tenant, d.mode, d.event, d.webhook, d.typ, b.now, d.leased, owner, until)
		if len(b.handed) < len(d.id) {
			batch.Queue(notifySQL)
		}
	}
	if len(b.handed) > 0 {
		loadWebhooks(&batch, b.handed)
	}
	if err := b.tx.commit(b.ctx, &batch); err != nil {
		var pe *pgconn.PgError
		if errors.As(err, &pe) && pe.Code == raceSQLState {
			return errPublishRace
		}
		return fmt.Errorf("write events: %w", err)
	}
	return nil
}

// FindEventByID implements hookd.EventStore.
func (db *DB) FindEventByID(ctx context.Context, s hookd.Scope, id string) (*hookd.Event, error) {
	var n int
	e, err := scanEvent(db.pool.QueryRow(ctx, `SELECT `+eventColumns+` FROM events WHERE tenant_id = $1 AND mode = $2 AND id = $3`,
		s.TenantID, string(s.Mode), id), &n)
	if err != nil {
		return nil, notFound(err, "event %s", id)
	}
	return e, nil
}

// findLabelledEventsSQL lists the events that have every label of $3: the
// page is read from event_labels' primary key (scope, first label, event
// id), newest id first, each event then by its primary key, and the other
// labels by a seek each. Only the other filters (type, time) can make it
// read index entries it does not answer. The event is read in a lateral
// subquery fenced by OFFSET 0, so that it is always a seek by id: joined
// plainly, tables never analyzed led the planner to walk the scope's
// events for each label row.
const findLabelledEventsSQL = `SELECT e.* FROM event_labels l
	CROSS JOIN LATERAL (SELECT ` + eventColumns + ` FROM events x
		WHERE x.tenant_id = l.tenant_id AND x.mode = l.mode AND x.id = l.event_id OFFSET 0) e
	WHERE l.tenant_id = $1 AND l.mode = $2 AND l.label = ($3::text[])[1]
	AND NOT EXISTS (SELECT 1 FROM unnest(($3::text[])[2:]) AS o (label) WHERE NOT EXISTS (SELECT 1 FROM event_labels m
		WHERE m.tenant_id = l.tenant_id AND m.mode = l.mode AND m.label = o.label AND m.event_id = l.event_id))
	AND ($4 = '' OR e.type = $4)
	AND ($5::timestamptz IS NULL OR e.created_at >= $5) AND ($6::timestamptz IS NULL OR e.created_at < $6)
	AND ($7 = '' OR l.event_id < $7) ORDER BY l.event_id DESC LIMIT $8 OFFSET $9`

// FindEvents implements hookd.EventStore.
func (db *DB) FindEvents(ctx context.Context, s hookd.Scope, f hookd.EventFilter) ([]*hookd.Event, error) {
	var rows pgx.Rows
	if labels := f.Labels(); labels != nil {
		rows, _ = db.pool.Query(ctx, findLabelledEventsSQL, s.TenantID, string(s.Mode), labels, f.Type,
			pgTimePtr(f.Since), pgTimePtr(f.Until), f.Cursor, f.Limit, offsetUnlessCursor(f.Page))
	} else {
		rows, _ = db.pool.Query(ctx, `SELECT `+eventColumns+` FROM events
		WHERE tenant_id = $1 AND mode = $2 AND ($3 = '' OR type = $3)
		AND ($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR created_at < $5)
		AND ($6 = '' OR id < $6) ORDER BY id DESC LIMIT $7 OFFSET $8`,
			s.TenantID, string(s.Mode), f.Type, pgTimePtr(f.Since), pgTimePtr(f.Until), f.Cursor, f.Limit, offsetUnlessCursor(f.Page))
	}
	out, err := collect(rows, func(r pgx.Row) (*hookd.Event, error) {
		var n int
		return scanEvent(r, &n)
	})
	if err != nil {
		return nil, fmt.Errorf("find events: %w", err)
	}
	return out, nil
}

// textArray writes labels as a text[] literal, or "" for none.
func textArray(labels []string) string {
	if len(labels) == 0 {
		return ""
	}
	var sb strings.Builder
	sb.WriteByte('{')
	for i, l := range labels {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteByte('"')
		for _, r := range l {
			if r == '"' || r == '\\' {
				sb.WriteByte('\\')
			}
			sb.WriteRune(r)
		}
		sb.WriteByte('"')
	}
	sb.WriteByte('}')
	return sb.String()
}
