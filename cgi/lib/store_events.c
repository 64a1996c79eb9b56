/*
 * store_events: the events as received (sql/001, 006): storing one (a
 * repeat of an id is not stored twice), the rejected deliveries, an
 * order's events in fold order, and what replay needs: every event in
 * arrival order, re-deriving an event's columns, forgetting and pruning
 * what was derived from them.  Declared in store.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"

static const struct db_sql sql[] = {
	{ Q_EVENT_INSERT, .sql =
	"INSERT INTO events(id, scheme, type, order_id, created_at, created_ms,"
	" marketplace, received_at, body, source, subject, status)"
	" VALUES (?,?,?,?,?,?,?,?,?,coalesce(?10, 'webhook'),?,?)"
	" ON CONFLICT(id) DO NOTHING" },
	{ Q_REJECT_INSERT, .sql =
	"INSERT INTO rejected_deliveries(scheme, reason, received_at, body)"
	" VALUES (?,?,?,?)" },
	{ Q_ORDER_EVENTS, .sql =
	"SELECT seq, created_ms, id, scheme, type, order_id, created_at,"
	" received_at, marketplace, source, subject, status FROM events"
	" WHERE order_id = ? ORDER BY created_ms, id" },
	{ Q_ALL_EVENTS, .sql =
	"SELECT seq, created_ms, id, scheme, type, order_id, created_at,"
	" received_at, marketplace, source, subject, status, body"
	" FROM events ORDER BY seq" },
	{ Q_EVENT_REDERIVE, .sql =
	"UPDATE events SET type = ?, order_id = ?, created_at = ?, created_ms = ?,"
	" marketplace = ?, subject = ?, status = ? WHERE seq = ?" },
	{ Q_EVENT_ORDER_IDS, .sql =
	"SELECT DISTINCT order_id FROM events WHERE order_id IS NOT NULL"
	" ORDER BY order_id" },
	{ Q_RESET_DERIVED, .sql =
	"UPDATE shipments SET first_key = NULL, carrier_key = NULL,"
	" url_key = NULL, carrier = NULL, tracking_url = NULL" },
	{ Q_PRUNE_SHIPMENTS, .sql = "DELETE FROM shipments WHERE first_key IS NULL" },
	{ Q_PRUNE_ORDERS, .sql =
	"DELETE FROM orders WHERE id NOT IN"
	" (SELECT order_id FROM events WHERE order_id IS NOT NULL)" },
};

static struct db_stmt *
stmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

static void
bind_event(struct db_stmt *s, const struct event_rec *e)
{
	db_bind_text(s, 1, e->id);
	db_bind_text(s, 2, e->scheme);
	db_bind_text(s, 3, e->type);
	db_bind_text(s, 4, e->order_id);
	db_bind_text(s, 5, e->created_at);
	db_bind_int64(s, 6, e->created_ms);
	db_bind_text(s, 7, e->marketplace);
	db_bind_text(s, 8, e->received_at);
	db_bind_blob(s, 9, e->body, e->body_len);
	db_bind_text(s, 10, e->source);
	db_bind_text(s, 11, e->subject);
	db_bind_text(s, 12, e->status);
}

/*
 * Sent ahead as e (store_event_insert_ahead()): its result is on the way
 * (STORE_OK, *sent true).  One sent for another event ran on the server
 * but that event was not applied: the transaction must not commit it so,
 * and fails here (the group commit then applies each event alone).
 */
static enum store_rc
sent_ahead(struct store *st, const struct event_rec *e, bool *sent)
{
	const char *id = st->ahead_sent_id;

	*sent = id != NULL && strcmp(id, e->id) == 0;
	if (id == NULL || *sent) {
		st->ahead_sent_id = NULL;
		return STORE_OK;
	}
	log_error("insert event %s: sent ahead, then %s came first", id, e->id);
	store_event_forget_ahead(st);
	return STORE_ERROR;
}

enum store_rc
store_event_insert(struct store *st, const struct event_rec *e)
{
	struct db_stmt *s = stmt(st, Q_EVENT_INSERT);
	enum store_rc rc;
	bool sent;

	if (s == NULL || (rc = sent_ahead(st, e, &sent)) != STORE_OK)
		return STORE_ERROR;
	if (!sent) {
		if ((rc = store_lock_writing_events(st)) != STORE_OK)
			return rc;
		bind_event(s, e);
	}
	if ((rc = store_exec_stmt(st, s, "insert event")) != STORE_OK)
		return rc;
	return db_changes(st->db) == 0 ? STORE_NONE : STORE_OK;
}

void
store_event_insert_ahead(struct store *st, const struct event_rec *e)
{
	st->ahead_waiting = false;
	if (!(db_caps(st->db) & DB_PIPELINES) || e->received_at == NULL)
		return;
	st->ahead_rec = *e;
	snprintf(st->ahead_received_at, sizeof(st->ahead_received_at), "%s",
	    e->received_at);
	st->ahead_rec.received_at = st->ahead_received_at;
	st->ahead_waiting = true;
}

/*
 * Only when the insert's statement is free: one sent ahead and not read
 * yet keeps it (its event is applied before the one waiting).
 */
enum store_rc
store_event_send_ahead(struct store *st)
{
	struct db_stmt *s;
	enum store_rc rc;

	if (!st->ahead_waiting || st->ahead_sent_id != NULL)
		return STORE_OK;
	st->ahead_waiting = false;
	if ((s = stmt(st, Q_EVENT_INSERT)) == NULL ||
	    store_lock_writing_events(st) != STORE_OK)
		return STORE_OK;	/* its own insert will say why */
	bind_event(s, &st->ahead_rec);
	if ((rc = db_send(s)) != STORE_OK) {
		db_reset(s);
		return db_logged(st->db, rc, "insert event");
	}
	st->ahead_sent_id = st->ahead_rec.id;
	return STORE_OK;
}

void
store_event_forget_ahead(struct store *st)
{
	if (st->ahead_sent_id != NULL)
		db_reset(st->stmt[Q_EVENT_INSERT]);
	st->ahead_sent_id = NULL;
	st->ahead_waiting = false;
}

enum store_rc
store_rejected_insert(struct store *st, const char *scheme, const char *reason,
    const char *received_at, const void *body, size_t len)
{
	struct db_stmt *s = stmt(st, Q_REJECT_INSERT);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, scheme);
	db_bind_text(s, 2, reason);
	db_bind_text(s, 3, received_at);
	db_bind_blob(s, 4, len ? body : "", len);
	return store_exec_stmt(st, s, "insert rejected delivery");
}

/* An event's columns as every event query selects them (body: column 12). */
static struct event_row
event_columns(struct db_stmt *s, bool with_body)
{
	struct event_row r = {
		.seq = db_column_int64(s, 0),
		.created_ms = db_column_int64(s, 1),
		.id = db_column_text(s, 2), .scheme = db_column_text(s, 3),
		.type = db_column_text(s, 4), .order_id = db_column_text(s, 5),
		.created_at = db_column_text(s, 6), .received_at = db_column_text(s, 7),
		.marketplace = db_column_text(s, 8), .source = db_column_text(s, 9),
		.subject = db_column_text(s, 10), .status = db_column_text(s, 11),
	};

	if (with_body)
		r.body = db_column_blob(s, 12, &r.body_len);
	return r;
}

static int
event_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct event_row r = event_columns(s, false);

	return ((store_event_cb)cb)(arg, &r);
}

/* The same with the body (Q_ALL_EVENTS). */
static int
event_body_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct event_row r = event_columns(s, true);

	return ((store_event_cb)cb)(arg, &r);
}

enum store_rc
store_order_events(struct store *st, const char *order_id, store_event_cb cb,
    void *arg)
{
	struct db_stmt *s = stmt(st, Q_ORDER_EVENTS);

	if (s == NULL)
		return STORE_ERROR;
	store_bind_key(st, s, order_id);
	return store_each_row(st, s, event_row_fn, (void *)cb, arg, "order events", NULL);
}

enum store_rc
store_order_events_ask(struct store *st, const char *order_id)
{
	return store_ask(st, stmt(st, Q_ORDER_EVENTS), order_id);
}

enum store_rc
store_all_events(struct store *st, store_event_cb cb, void *arg)
{
	struct db_stmt *s = stmt(st, Q_ALL_EVENTS);

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, event_body_row_fn, (void *)cb, arg, "all events",
	    NULL);
}

enum store_rc
store_event_rederive(struct store *st, int64_t seq, const struct event_derived *d)
{
	return store_run(st, stmt(st, Q_EVENT_REDERIVE), "rederive event", "tttittti",
	    d->type, d->order_id, d->created_at, (int64_t)d->created_ms,
	    d->marketplace, d->subject, d->status, (int64_t)seq);
}

static int
id_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	return ((store_id_cb)cb)(arg, db_column_text(s, 0));
}

enum store_rc
store_event_order_ids(struct store *st, store_id_cb cb, void *arg)
{
	struct db_stmt *s = stmt(st, Q_EVENT_ORDER_IDS);

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, id_row_fn, (void *)cb, arg, "order ids", NULL);
}

/* Run one of the statements without parameters. */
static enum store_rc
run(struct store *st, enum stmt q, const char *what)
{
	struct db_stmt *s = stmt(st, q);

	return s == NULL ? STORE_ERROR : store_exec_stmt(st, s, what);
}

enum store_rc
store_reset_derived(struct store *st)
{
	return run(st, Q_RESET_DERIVED, "reset derived");
}

enum store_rc
store_prune_derived(struct store *st)
{
	enum store_rc rc = run(st, Q_PRUNE_SHIPMENTS, "prune shipments");

	return rc == STORE_OK ? run(st, Q_PRUNE_ORDERS, "prune orders") : rc;
}

void
store_event_key(char *out, size_t outsz, int64_t created_ms, const char *id)
{
	snprintf(out, outsz, "%015lld|%s",
	    (long long)(created_ms < 0 ? 0 : created_ms), id);
}
