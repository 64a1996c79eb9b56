/*
 * store: see store.h.  The store's core: opening (the driver from the
 * connection string, then the schema), the named statements and the few
 * helpers every store file steps them with, transactions, the change
 * counter, `shiptrack check`.  Written against db.h only.
 *
 * This file also holds, for now, the events and orders.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "sig.h"
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

/* The event (key ?5) names value v later than the one that gave it (key). */
#define NAMES_LATER(v, key) "(" v " IS NOT NULL AND (shipments." key " IS NULL" \
	" OR ?5 > shipments." key "))"

/*
 * Replay keeps updatedAt of an order whose derived state did not change
 * (marketplace may be NULL: equal when both are).
 */
#define UNCHANGED "orders.status = excluded.status AND orders.stage = excluded.stage" \
	" AND (orders.marketplace = excluded.marketplace OR (orders.marketplace IS NULL" \
	" AND excluded.marketplace IS NULL)) AND orders.created_ms = excluded.created_ms"

static const struct db_sql sql[] = {
	{ Q_EVENT_INSERT, .sql =
	"INSERT INTO events(id, scheme, type, order_id, created_at, created_ms,"
	" marketplace, received_at, body, source, subject, status)"
	" VALUES (?,?,?,?,?,?,?,?,?,coalesce(?10, 'webhook'),?,?)"
	" ON CONFLICT(id) DO NOTHING" },
	{ Q_REJECT_INSERT, .sql =
	"INSERT INTO rejected_deliveries(scheme, reason, received_at, body)"
	" VALUES (?,?,?,?)" },
	/*
	 * Order-independent merge, on keys that sort as (createdAt, event
	 * id): the earliest announcement orders the shipment; carrier and URL
	 * each come from the latest event that names one.  SET expressions
	 * see the row as it was, so each CASE compares with the old keys.
	 */
	{ Q_SHIP_UPSERT, .sql =
	"INSERT INTO shipments(order_id, tracking_number, carrier, tracking_url,"
	" first_key, carrier_key, url_key)"
	" VALUES (?1, ?2, ?3, ?4, ?5, CASE WHEN ?3 IS NOT NULL THEN ?5 END,"
	" CASE WHEN ?4 IS NOT NULL THEN ?5 END)"
	" ON CONFLICT(order_id, tracking_number) DO UPDATE SET"
	" first_key = CASE WHEN shipments.first_key IS NULL OR ?5 < shipments.first_key"
	" THEN ?5 ELSE shipments.first_key END,"
	" carrier = CASE WHEN " NAMES_LATER("?3", "carrier_key")
	" THEN ?3 ELSE shipments.carrier END,"
	" carrier_key = CASE WHEN " NAMES_LATER("?3", "carrier_key")
	" THEN ?5 ELSE shipments.carrier_key END,"
	" tracking_url = CASE WHEN " NAMES_LATER("?4", "url_key")
	" THEN ?4 ELSE shipments.tracking_url END,"
	" url_key = CASE WHEN " NAMES_LATER("?4", "url_key")
	" THEN ?5 ELSE shipments.url_key END" },
	/* A pending shipment belongs to one event: its values are that event's. */
	{ Q_SHIP_PENDING, .sql =
	"INSERT INTO shipments(order_id, pending_key, carrier, tracking_url,"
	" first_key, carrier_key, url_key)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)"
	" ON CONFLICT(order_id, pending_key) DO UPDATE SET"
	" first_key = ?5, carrier = ?3, tracking_url = ?4, carrier_key = ?5, url_key = ?5" },
	{ Q_ORDER_UPSERT, .sql =
	"INSERT INTO orders(id, status, stage, marketplace, created_at, created_ms,"
	" updated_at, updated_ms) VALUES (?,?,?,?,?,?,?,?)"
	" ON CONFLICT(id) DO UPDATE SET status = excluded.status,"
	" stage = excluded.stage, marketplace = excluded.marketplace,"
	" created_at = excluded.created_at, created_ms = excluded.created_ms,"
	" updated_at = CASE WHEN ?9 AND " UNCHANGED " THEN orders.updated_at"
	" ELSE excluded.updated_at END,"
	" updated_ms = CASE WHEN ?9 AND " UNCHANGED " THEN orders.updated_ms"
	" ELSE excluded.updated_ms END" },
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
	{ Q_ORDER_GET, .sql =
	"SELECT id, status, stage, marketplace, created_at, updated_at"
	" FROM orders WHERE id = ?" },
	/* Pending shipments (no number) sort after numbered ones at equal time. */
	{ Q_ORDER_SHIPMENTS, .sql =
	"SELECT id, tracking_number, carrier, tracking_url, subtag,"
	" subtag_message, expected_delivery, delivered_at, last_checkpoint_at,"
	" checked_at, poll_error, poll_error_at,"
	" est_carrier_earliest, est_carrier_latest, est_predicted_earliest,"
	" est_predicted_latest, rye_estimated_delivery, pickup_location, pickup_note,"
	" signed_by, carrier_tracking_link,"
	" rye_shipment_id, rye_status, rye_estimated_delivery, rye_delivered_at, "
	SHIP_RULE_COLS("") " FROM shipments WHERE order_id = ?"
	" ORDER BY first_key NULLS FIRST, tracking_number IS NULL, tracking_number,"
	" pending_key NULLS FIRST" },
	{ Q_CHECKPOINTS, .sql =
	/* Rye's tracking events stand in until the carrier has scans of its own. */
	"SELECT time_raw, tag, subtag, message, location, time_ms, has_offset"
	" FROM checkpoints WHERE shipment_id = ?1"
	" UNION ALL SELECT time_raw, tag, NULL, message, location, time_ms, has_offset"
	" FROM rye_checkpoints WHERE shipment_id = ?1"
	" AND NOT EXISTS (SELECT 1 FROM checkpoints WHERE shipment_id = ?1)"
	" ORDER BY time_ms DESC NULLS LAST, time_raw DESC, message, tag" },
	{ Q_EVENT_ORDER_IDS, .sql =
	"SELECT DISTINCT order_id FROM events WHERE order_id IS NOT NULL"
	" ORDER BY order_id" },
	{ Q_ORDERS_LIST, .sql =
	"SELECT id, created_ms FROM orders"
	" WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR stage = ?2)"
	" AND (NOT ?3 OR (created_ms, id) < (?4, ?5))"
	" ORDER BY created_ms DESC, id DESC LIMIT ?6" },
	/*
	 * The same orders, each with the columns of its shipments the
	 * staleness rule reads (one row per shipment, or one with NULLs):
	 * the rule is C's (store_rules.c), applied as the rows come.
	 */
	{ Q_ORDERS_SCAN, .sql =
	"SELECT o.id, o.created_ms, o.stage, s.id, " SHIP_RULE_COLS("s.")
	" FROM orders o LEFT JOIN shipments s ON s.order_id = o.id"
	" WHERE (?1 IS NULL OR o.status = ?1) AND (?2 IS NULL OR o.stage = ?2)"
	" AND (NOT ?3 OR (o.created_ms, o.id) < (?4, ?5))"
	" ORDER BY o.created_ms DESC, o.id DESC" },
	{ Q_COUNT_STATUS, .sql = "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status" },
	{ Q_COUNT_STAGE, .sql = "SELECT stage, count(*) FROM orders GROUP BY stage ORDER BY stage" },
	{ Q_COUNT_EVENTS, .sql = "SELECT 'events', count(*) FROM events" },
	{ Q_COUNT_REJECTED, .sql = "SELECT 'rejected_deliveries', count(*) FROM rejected_deliveries" },
	{ Q_EXPORT, .sql =
	"SELECT o.id, o.status, o.stage, o.marketplace, o.created_at, o.updated_at,"
	" s.tracking_number, s.carrier, s.tracking_url, s.tag, s.subtag,"
	" s.expected_delivery, s.delivered_at, s.last_checkpoint_at, s.checked_at, "
	SHIP_RULE_COLS("s.") " FROM orders o LEFT JOIN shipments s ON s.order_id = o.id"
	" ORDER BY o.created_ms DESC, o.id DESC, s.first_key NULLS FIRST,"
	" s.tracking_number NULLS FIRST" },
	{ Q_ORDER_STAGE, .sql = "SELECT stage FROM orders WHERE id = ?" },
	{ Q_NOTIFY_INSERT, .sql =
	"INSERT INTO notifications(uid, order_id, stage, previous_stage, shipment,"
	" occurred_at, created_ms, next_attempt_ms) VALUES (?,?,?,?,?,?,?,?7)"
	" ON CONFLICT(order_id, stage, shipment) DO NOTHING" },
	/* A few dozen small rows: the prefix is matched in C. */
	{ Q_META_PREFIX, .sql = "SELECT key, value FROM meta ORDER BY key" },
	{ Q_COUNT_EVENTS_ALL, .sql = "SELECT count(*) FROM events" },
	{ Q_COUNT_ORDERS, .sql = "SELECT count(*) FROM orders" },
	{ Q_COUNT_SHIPMENTS, .sql = "SELECT count(*) FROM shipments" },
	{ Q_COUNT_CHECKPOINTS, .sql = "SELECT count(*) FROM checkpoints" },
	{ Q_COUNT_REJECTED_ALL, .sql = "SELECT count(*) FROM rejected_deliveries" },
	{ Q_RESET_DERIVED, .sql =
	"UPDATE shipments SET first_key = NULL, carrier_key = NULL,"
	" url_key = NULL, carrier = NULL, tracking_url = NULL" },
	{ Q_PRUNE_SHIPMENTS, .sql = "DELETE FROM shipments WHERE first_key IS NULL" },
	{ Q_PRUNE_ORDERS, .sql =
	"DELETE FROM orders WHERE id NOT IN"
	" (SELECT order_id FROM events WHERE order_id IS NOT NULL)" },
};

struct db_stmt *
store_stmt(struct store *st, enum stmt q, const struct db_sql *table, size_t n)
{
	size_t i;

	if (st->stmt[q] != NULL)
		return st->stmt[q];
	for (i = 0; i < n && table[i].name != (int)q; i++)
		;
	if (i == n) {
		log_error("statement %d: not in this table", (int)q);
		return NULL;
	}
	if ((st->stmt[q] = db_prepare(st->db, &table[i])) == NULL)
		log_error("prepare %d: %s", (int)q, db_errmsg(st->db));
	return st->stmt[q];
}

static struct db_stmt *
get_stmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

/* Step a statement that returns no rows, then reset it. */
enum store_rc
store_exec_stmt(struct store *st, struct db_stmt *s, const char *what)
{
	bool row;
	enum store_rc rc = db_step(s, &row);

	db_reset(s);
	return db_logged(st->db, rc, what);
}

/*
 * Run a row-returning statement, handing each row to fn+cb.  A callback
 * returns 0 to go on, > 0 to stop (fine), < 0 to fail (out of memory).
 * Always resets the statement.
 */
enum store_rc
store_each_row(struct store *st, struct db_stmt *s, row_fn fn, void *cb, void *arg,
    const char *what, bool *any)
{
	enum store_rc rc;
	bool row;

	if (any != NULL)
		*any = false;
	while ((rc = db_step(s, &row)) == STORE_OK && row) {
		int stop;
		if (any != NULL)
			*any = true;
		if ((stop = fn(s, cb, arg)) != 0) {
			rc = stop > 0 ? STORE_OK : STORE_ERROR;
			break;
		}
	}
	db_reset(s);
	return db_logged(st->db, rc, what);
}

int
store_int64_row(struct db_stmt *s, void *cb, void *arg)
{
	(void)cb;
	*(int64_t *)arg = db_column_int64(s, 0);
	return 1;
}

/* --- the schema --------------------------------------------------------- */

int
store_schema_target(void)
{
	return db_schema_target();
}

int
store_schema_version(struct store *st)
{
	return db_schema_version(st->db);
}

static store_migrate_fn migrate_fn;
static void *migrate_arg;
static struct { int from, done, total; } migrating;

void
store_on_migrate(store_migrate_fn fn, void *arg)
{
	migrate_fn = fn;
	migrate_arg = arg;
}

/* While a migration runs: tell, now and then. */
static void
migrate_tick(void *arg)
{
	(void)arg;
	migrate_fn(migrate_arg, migrating.from, migrating.done, migrating.total);
}

static void
migrate_told(struct store *st, int from, int done, int total)
{
	if (migrate_fn == NULL)
		return;
	migrating.from = from;
	migrating.done = done;
	migrating.total = total;
	migrate_fn(migrate_arg, from, done, total);
	db_on_progress(st->db, done < total ? migrate_tick : NULL, NULL);
}

/* The file's schema against this build's; -1 with err when it cannot go on. */
static int
schema_check(struct store *st, int have, char *err, size_t errsz)
{
	int target = db_schema_target();

	if (have < 0)
		db_describe(st->db, "cannot read the schema version", err, errsz);
	else if (have > target)
		snprintf(err, errsz, "database %s: schema %d is newer than this build's"
		    " (%d): install the newer shiptrack", st->path, have, target);
	return have < 0 || have > target ? -1 : 0;
}

/* Apply migrations have .. target - 1, each one told; 0 or -1 with err. */
static int
migrate_from(struct store *st, int have, int target, char *err, size_t errsz)
{
	const char *const *m = db_migrations(st->db);
	char what[64];

	for (int i = have; i < target; i++) {
		migrate_told(st, have, i - have, target - have);
		if (db_logged(st->db, db_exec(st->db, m[i]), "exec") != STORE_OK) {
			snprintf(what, sizeof(what), "migration %d failed", i + 1);
			db_describe(st->db, what, err, errsz);
			db_on_progress(st->db, NULL, NULL);
			return -1;
		}
	}
	migrate_told(st, have, target - have, target - have);
	return 0;
}

static int
migrate(struct store *st, char *err, size_t errsz)
{
	int have = store_schema_version(st), target = db_schema_target();

	if (schema_check(st, have, err, errsz) < 0)
		return -1;
	if (have == target)
		return 0;
	if (store_begin(st) != STORE_OK) {
		db_describe(st->db, "cannot start the migration", err, errsz);
		return -1;
	}
	/* Re-read under the write lock: another process may have migrated. */
	have = store_schema_version(st);
	if (migrate_from(st, have, target, err, errsz) < 0) {
		store_rollback(st);
		return -1;
	}
	if (db_logged(st->db, db_set_schema_version(st->db, target), "exec") != STORE_OK ||
	    store_commit(st) != STORE_OK) {
		db_describe(st->db, "cannot record the schema version", err, errsz);
		store_rollback(st);
		return -1;
	}
	if (have < target)
		log_info("database migrated from schema %d to %d", have, target);
	return 0;
}

/* Read-only: a file that cannot be read is not one to migrate. */
static int
schema_ready(struct store *st, char *err, size_t errsz)
{
	int have = store_schema_version(st), target = db_schema_target();

	if (schema_check(st, have, err, errsz) < 0)
		return -1;
	if (have < target) {
		snprintf(err, errsz, "database %s: schema %d, this build needs %d: run "
		    "`shiptrack migrate`", st->path, have, target);
		return -1;
	}
	return 0;
}

/* --- opening ------------------------------------------------------------ */

int
store_open(struct store **out, const char *path, enum store_mode mode,
    enum durability durability, long busy_ms, char *err, size_t errsz)
{
	struct store *st;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->path = strdup(path)) == NULL) {
		free(st);
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	stale_rules_init(&st->stale, 7, STALE_RULES_DEFAULT);
	if (db_open(&st->db, path, mode, durability, busy_ms, err, errsz) < 0 ||
	    (mode == STORE_READWRITE ? migrate(st, err, errsz) :
	    schema_ready(st, err, errsz)) < 0) {
		store_close(st);
		return -1;
	}
	*out = st;
	return 0;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	for (int i = 0; i < Q__MAX; i++)
		db_finalize(st->stmt[i]);
	db_close(st->db);
	free(st->path);
	free(st);
}

/* --- transactions ------------------------------------------------------- */

static enum store_rc
tx(struct store *st, enum db_tx op)
{
	return db_logged(st->db, db_tx(st->db, op), "exec");
}

enum store_rc
store_begin(struct store *st)
{
	return tx(st, DB_BEGIN);
}

enum store_rc
store_commit(struct store *st)
{
	return tx(st, DB_COMMIT);
}

void
store_rollback(struct store *st)
{
	if (db_in_tx(st->db))
		(void)tx(st, DB_ROLLBACK);
}

enum store_rc
store_savepoint(struct store *st)
{
	return tx(st, DB_SAVEPOINT);
}

enum store_rc
store_release(struct store *st)
{
	return tx(st, DB_RELEASE);
}

void
store_rollback_to(struct store *st)
{
	/* Undo the item's writes, then close the savepoint itself. */
	if (tx(st, DB_ROLLBACK_TO) == STORE_OK)
		(void)tx(st, DB_RELEASE);
}

enum store_rc
store_read_begin(struct store *st)
{
	return tx(st, DB_BEGIN_READ);
}

void
store_read_end(struct store *st)
{
	if (db_in_tx(st->db))
		(void)tx(st, DB_COMMIT);
}

int64_t
store_data_version(struct store *st)
{
	return db_caps(st->db) & DB_HAS_CHANGE_COUNTER ? db_change_counter(st->db) : -1;
}

void
store_defer_checkpoints(struct store *st, int backstop)
{
	db_defer_checkpoints(st->db, backstop);
}

int
store_wal_pages(const struct store *st)
{
	return db_log_pages(st->db);
}

enum store_rc
store_checkpoint(struct store *st, int *log_pages, int *done_pages)
{
	return db_logged(st->db, db_checkpoint(st->db, log_pages, done_pages),
	    "checkpoint");
}

enum store_rc
store_empty(struct store *st)
{
	return db_logged(st->db, db_empty(st->db), "empty");
}

enum store_rc
store_integrity(struct store *st, char *buf, size_t bufsz)
{
	return db_logged(st->db, db_integrity(st->db, buf, bufsz), "integrity_check");
}

enum store_rc
store_event_insert(struct store *st, const struct event_rec *e)
{
	struct db_stmt *s = get_stmt(st, Q_EVENT_INSERT);
	enum store_rc rc;

	if (s == NULL)
		return STORE_ERROR;
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
	if ((rc = store_exec_stmt(st, s, "insert event")) != STORE_OK)
		return rc;
	return db_changes(st->db) == 0 ? STORE_NONE : STORE_OK;
}

enum store_rc
store_rejected_insert(struct store *st, const char *scheme, const char *reason,
    const char *received_at, const void *body, size_t len)
{
	struct db_stmt *s = get_stmt(st, Q_REJECT_INSERT);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, scheme);
	db_bind_text(s, 2, reason);
	db_bind_text(s, 3, received_at);
	db_bind_blob(s, 4, len ? body : "", len);
	return store_exec_stmt(st, s, "insert rejected delivery");
}

enum store_rc
store_shipment_upsert(struct store *st, const struct shipment_ref *r)
{
	bool pending = r->tracking_number == NULL;
	struct db_stmt *s = get_stmt(st, pending ? Q_SHIP_PENDING : Q_SHIP_UPSERT);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, r->order_id);
	db_bind_text(s, 2, pending ? r->pending_key : r->tracking_number);
	db_bind_text(s, 3, r->carrier);
	db_bind_text(s, 4, r->url);
	db_bind_text(s, 5, r->event_key);
	return store_exec_stmt(st, s, "upsert shipment");
}

enum store_rc
store_order_upsert(struct store *st, const struct order_rec *o)
{
	struct db_stmt *s = get_stmt(st, Q_ORDER_UPSERT);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, o->id);
	db_bind_text(s, 2, o->status);
	db_bind_text(s, 3, o->stage);
	db_bind_text(s, 4, o->marketplace);
	db_bind_text(s, 5, o->created_at);
	db_bind_int64(s, 6, o->created_ms);
	db_bind_text(s, 7, o->updated_at);
	db_bind_int64(s, 8, o->updated_ms);
	db_bind_int64(s, 9, o->keep_updated_if_same);
	return store_exec_stmt(st, s, "upsert order");
}

static int
event_row_fn(struct db_stmt *s, void *cb, void *arg)
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

	return ((store_event_cb)cb)(arg, &r);
}

/* The same with the body (Q_ALL_EVENTS). */
static int
event_body_row_fn(struct db_stmt *s, void *cb, void *arg)
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

	r.body = db_column_blob(s, 12, &r.body_len);
	return ((store_event_cb)cb)(arg, &r);
}

enum store_rc
store_order_events(struct store *st, const char *order_id, store_event_cb cb,
    void *arg)
{
	struct db_stmt *s = get_stmt(st, Q_ORDER_EVENTS);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	return store_each_row(st, s, event_row_fn, (void *)cb, arg, "order events", NULL);
}

enum store_rc
store_all_events(struct store *st, store_event_cb cb, void *arg)
{
	struct db_stmt *s = get_stmt(st, Q_ALL_EVENTS);

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, event_body_row_fn, (void *)cb, arg, "all events",
	    NULL);
}

enum store_rc
store_event_rederive(struct store *st, int64_t seq, const struct event_derived *d)
{
	struct db_stmt *s = get_stmt(st, Q_EVENT_REDERIVE);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, d->type);
	db_bind_text(s, 2, d->order_id);
	db_bind_text(s, 3, d->created_at);
	db_bind_int64(s, 4, d->created_ms);
	db_bind_text(s, 5, d->marketplace);
	db_bind_text(s, 6, d->subject);
	db_bind_text(s, 7, d->status);
	db_bind_int64(s, 8, seq);
	return store_exec_stmt(st, s, "rederive event");
}

static int
order_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct order_row r = {
		.id = db_column_text(s, 0), .status = db_column_text(s, 1),
		.stage = db_column_text(s, 2), .marketplace = db_column_text(s, 3),
		.created_at = db_column_text(s, 4), .updated_at = db_column_text(s, 5),
	};

	return ((store_order_cb)cb)(arg, &r);
}

enum store_rc
store_order_get(struct store *st, const char *id, store_order_cb cb, void *arg)
{
	struct db_stmt *s = get_stmt(st, Q_ORDER_GET);
	enum store_rc rc;
	bool any;

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, id);
	rc = store_each_row(st, s, order_row_fn, (void *)cb, arg, "get order", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

/* What a shipment row needs besides the caller's callback: the rules. */
struct ship_ctx {
	const struct store *st;
	int64_t now_ms;
	store_shipment_cb cb;
	void *arg;
};

static int
shipment_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct ship_ctx *x = arg;
	struct ship_cols c;
	struct shipment_row r = {
		.id = db_column_int64(s, 0),
		.tracking_number = db_column_text(s, 1), .carrier = db_column_text(s, 2),
		.tracking_url = db_column_text(s, 3),
		.subtag = db_column_text(s, 4), .subtag_message = db_column_text(s, 5),
		.expected_delivery = db_column_text(s, 6), .delivered_at = db_column_text(s, 7),
		.last_checkpoint_at = db_column_text(s, 8), .checked_at = db_column_text(s, 9),
		.poll_error = db_column_text(s, 10), .poll_error_at = db_column_text(s, 11),
		.est_carrier = { db_column_text(s, 12), db_column_text(s, 13) },
		.est_predicted = { db_column_text(s, 14), db_column_text(s, 15) },
		.est_rye = db_column_text(s, 16),
		.pickup_location = db_column_text(s, 17), .pickup_note = db_column_text(s, 18),
		.signed_by = db_column_text(s, 19),
		.carrier_tracking_link = db_column_text(s, 20),
		.rye_shipment_id = db_column_text(s, 21), .rye_status = db_column_text(s, 22),
		.rye_estimated_delivery = db_column_text(s, 23),
		.rye_delivered_at = db_column_text(s, 24),
	};

	store_ship_cols(s, 25, &c);
	r.tag = carrier_tag_name(store_ship_tag(&c));
	(void)cb;
	r.stale = store_ship_stale(x->st, &c, x->now_ms);
	return x->cb(x->arg, &r);
}

enum store_rc
store_order_shipments(struct store *st, const char *order_id,
    store_shipment_cb cb, void *arg)
{
	struct db_stmt *s = get_stmt(st, Q_ORDER_SHIPMENTS);
	struct ship_ctx x = { st, timefmt_now_ms(), cb, arg };

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	return store_each_row(st, s, shipment_row_fn, NULL, &x, "shipments", NULL);
}

/*
 * A checkpoint time is shown in UTC when the carrier gave its offset; a
 * date alone or an offset-less local time is shown as the carrier wrote
 * it, because converting it would invent a zone.
 */
static int
checkpoint_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	char iso[TIMEFMT_ISO_LEN];
	bool utc = !db_column_is_null(s, 5) && db_column_int64(s, 6);
	struct checkpoint_row r = {
		.time = utc ? iso : db_column_text(s, 0), .tag = db_column_text(s, 1),
		.subtag = db_column_text(s, 2), .message = db_column_text(s, 3),
		.location = db_column_text(s, 4),
	};

	if (utc)
		timefmt_iso_utc(db_column_int64(s, 5), iso);
	return ((store_checkpoint_cb)cb)(arg, &r);
}

enum store_rc
store_shipment_checkpoints(struct store *st, int64_t shipment_id,
    store_checkpoint_cb cb, void *arg)
{
	struct db_stmt *s = get_stmt(st, Q_CHECKPOINTS);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, shipment_id);
	return store_each_row(st, s, checkpoint_row_fn, (void *)cb, arg, "checkpoints", NULL);
}

static int
id_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	return ((store_id_cb)cb)(arg, db_column_text(s, 0));
}

enum store_rc
store_event_order_ids(struct store *st, store_id_cb cb, void *arg)
{
	struct db_stmt *s = get_stmt(st, Q_EVENT_ORDER_IDS);

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, id_row_fn, (void *)cb, arg, "order ids", NULL);
}

/* Run one of the statements without parameters. */
static enum store_rc
run(struct store *st, enum stmt q, const char *what)
{
	struct db_stmt *s = get_stmt(st, q);

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

enum store_rc
store_count(struct store *st, const char *table, int64_t *n)
{
	static const struct { const char *table; enum stmt q; } counts[] = {
		{ "events", Q_COUNT_EVENTS_ALL }, { "orders", Q_COUNT_ORDERS },
		{ "shipments", Q_COUNT_SHIPMENTS }, { "checkpoints", Q_COUNT_CHECKPOINTS },
		{ "rejected_deliveries", Q_COUNT_REJECTED_ALL },
	};
	struct db_stmt *s = NULL;

	*n = 0;
	for (size_t i = 0; i < STORE_SQL_N(counts); i++)
		if (strcmp(counts[i].table, table) == 0)
			s = get_stmt(st, counts[i].q);
	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, store_int64_row, NULL, n, "count", NULL);
}

void
store_event_key(char *out, size_t outsz, int64_t created_ms, const char *id)
{
	snprintf(out, outsz, "%015lld|%s",
	    (long long)(created_ms < 0 ? 0 : created_ms), id);
}

void
store_set_stale_rules(struct store *st, const struct stale_rules *r)
{
	st->stale = *r;
}

static int
order_key_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	return ((store_order_key_cb)cb)(arg, db_column_text(s, 0),
	    db_column_int64(s, 1));
}

/* The filter's parameters, as both listing statements take them. */
static void
bind_filter(struct db_stmt *s, const struct order_filter *f)
{
	db_bind_text(s, 1, f->status);
	db_bind_text(s, 2, f->stage);
	db_bind_int64(s, 3, f->has_cursor);
	db_bind_int64(s, 4, f->cursor_ms);
	db_bind_text(s, 5, f->has_cursor ? f->cursor_id : "");
}

/*
 * The stale orders of a scan (Q_ORDERS_SCAN): an order is judged as its
 * rows come, its first row bringing the order's own rule and each row one
 * shipment, and handed on once, at the row that decides it.
 */
struct stale_scan {
	const struct store *st;
	int64_t now_ms;
	char *id;		/* the order whose rows are being read */
	size_t idsz;
	bool decided;		/* found stale (and handed on) */
	int64_t want;		/* stale orders wanted; < 0: all */
	int64_t found;
	store_order_key_cb cb;	/* NULL: only count them */
	void *arg;
};

/* Start on the rows of order id; -1 when out of memory. */
static int
scan_order(struct stale_scan *x, const char *id)
{
	size_t n = strlen(id) + 1;

	if (n > x->idsz) {
		char *p = realloc(x->id, n);
		if (p == NULL)
			return -1;
		x->id = p;
		x->idsz = n;
	}
	memcpy(x->id, id, n);
	x->decided = false;
	return 0;
}

static int
stale_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct stale_scan *x = arg;
	const char *id = db_column_text(s, 0);
	int64_t created = db_column_int64(s, 1);
	bool stale = false;
	struct ship_cols c;
	int rc;

	(void)cb;
	if (id == NULL || (x->id != NULL && strcmp(x->id, id) == 0 && x->decided))
		return 0;
	if (x->id == NULL || strcmp(x->id, id) != 0) {
		if (scan_order(x, id) < 0)
			return -1;
		stale = store_order_waits_too_long(x->st, db_column_text(s, 2),
		    created, x->now_ms);
	}
	if (!stale && !db_column_is_null(s, 3)) {
		store_ship_cols(s, 4, &c);
		stale = store_ship_stale(x->st, &c, x->now_ms);
	}
	if (!stale)
		return 0;
	x->decided = true;
	x->found++;
	if (x->cb != NULL && (rc = x->cb(x->arg, id, created)) != 0)
		return rc;
	return x->want >= 0 && x->found >= x->want ? 1 : 0;
}

/* Scan the orders f selects, newest first, for stale ones (want < 0: all). */
static enum store_rc
stale_orders(struct store *st, const struct order_filter *f, int64_t want,
    store_order_key_cb cb, void *arg, int64_t *found)
{
	struct db_stmt *s = get_stmt(st, Q_ORDERS_SCAN);
	struct stale_scan x = { .st = st, .now_ms = f->now_ms, .want = want,
	    .cb = cb, .arg = arg };
	enum store_rc rc;

	*found = 0;
	if (s == NULL)
		return STORE_ERROR;
	if (want == 0)
		return STORE_OK;
	bind_filter(s, f);
	rc = store_each_row(st, s, stale_row_fn, NULL, &x, "list orders", NULL);
	free(x.id);
	*found = x.found;
	return rc;
}

enum store_rc
store_orders_list(struct store *st, const struct order_filter *f,
    store_order_key_cb cb, void *arg)
{
	struct db_stmt *s;
	int64_t found;

	if (f->stale)
		return stale_orders(st, f, f->limit, cb, arg, &found);
	if ((s = get_stmt(st, Q_ORDERS_LIST)) == NULL)
		return STORE_ERROR;
	bind_filter(s, f);
	db_bind_int64(s, 6, f->limit);
	return store_each_row(st, s, order_key_row_fn, (void *)cb, arg,
	    "list orders", NULL);
}

struct count_ctx {
	store_count_cb cb;
	void *arg;
	const char *group;
};

static int
count_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct count_ctx *c = arg;

	(void)cb;
	return c->cb(c->arg, c->group, db_column_text(s, 0),
	    db_column_int64(s, 1));
}

/* The stale orders' count, as one more group of store_stats(). */
static enum store_rc
count_stale(struct store *st, int64_t now_ms, store_count_cb cb, void *arg)
{
	const struct order_filter all = { .now_ms = now_ms };
	int64_t n;
	enum store_rc rc = stale_orders(st, &all, -1, NULL, NULL, &n);

	if (rc == STORE_OK && cb(arg, "stale", "orders", n) < 0)
		rc = STORE_ERROR;
	return rc;
}

enum store_rc
store_stats(struct store *st, int64_t now_ms, store_count_cb cb, void *arg)
{
	static const struct { enum stmt q; const char *group; } parts[] = {
		{ Q_COUNT_STATUS, "status" }, { Q_COUNT_STAGE, "stage" },
		{ Q__MAX, "stale" }, { Q_COUNT_EVENTS, "stored" },
		{ Q_COUNT_REJECTED, "stored" },
	};
	enum store_rc rc = STORE_OK;

	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]) && rc == STORE_OK; i++) {
		struct count_ctx c = { cb, arg, parts[i].group };
		struct db_stmt *s;
		if (parts[i].q == Q__MAX) {
			rc = count_stale(st, now_ms, cb, arg);
			continue;
		}
		if ((s = get_stmt(st, parts[i].q)) == NULL)
			return STORE_ERROR;
		rc = store_each_row(st, s, count_row_fn, NULL, &c, "stats", NULL);
	}
	return rc;
}

struct meta_ctx {
	const char *prefix;
	size_t len;
	store_meta_cb cb;
	void *arg;
};

static int
meta_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct meta_ctx *m = arg;
	const char *key = db_column_text(s, 0);

	(void)cb;
	if (key == NULL || strncmp(key, m->prefix, m->len) != 0)
		return 0;
	return m->cb(m->arg, key, db_column_text(s, 1));
}

enum store_rc
store_meta_prefix(struct store *st, const char *prefix, store_meta_cb cb,
    void *arg)
{
	struct db_stmt *s = get_stmt(st, Q_META_PREFIX);
	struct meta_ctx m = { prefix, strlen(prefix), cb, arg };

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, meta_row_fn, NULL, &m, "meta", NULL);
}

const char *const store_export_header[STORE_EXPORT_COLUMNS] = {
	"order_id", "status", "stage", "marketplace", "created_at", "updated_at",
	"tracking_number", "carrier", "tracking_url", "tag", "subtag",
	"expected_delivery", "delivered_at", "last_checkpoint_at", "checked_at",
};
#define EXPORT_TAG 9

static int
export_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	const char *cols[STORE_EXPORT_COLUMNS];

	struct ship_cols c;

	for (int i = 0; i < STORE_EXPORT_COLUMNS; i++)
		cols[i] = db_column_text(s, i);
	/* The tag as shown; none where the order has no shipment. */
	store_ship_cols(s, STORE_EXPORT_COLUMNS, &c);
	if (c.tag != NULL)
		cols[EXPORT_TAG] = carrier_tag_name(store_ship_tag(&c));
	return ((store_export_cb)cb)(arg, cols);
}

enum store_rc
store_export(struct store *st, store_export_cb cb, void *arg)
{
	struct db_stmt *s = get_stmt(st, Q_EXPORT);

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, export_row_fn, (void *)cb, arg, "export", NULL);
}

static int
stage_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct { char *buf; size_t sz; } *out = arg;

	(void)cb;
	snprintf(out->buf, out->sz, "%s", db_column_text(s, 0) ? db_column_text(s, 0) : "");
	return 1;
}

enum store_rc
store_order_stage(struct store *st, const char *order_id, char *buf, size_t bufsz)
{
	struct db_stmt *s = get_stmt(st, Q_ORDER_STAGE);
	struct { char *buf; size_t sz; } out = { buf, bufsz };
	enum store_rc rc;
	bool any;

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	rc = store_each_row(st, s, stage_row_fn, NULL, &out, "order stage", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

enum store_rc
store_notify_insert(struct store *st, const struct notify_rec *n)
{
	struct db_stmt *s = get_stmt(st, Q_NOTIFY_INSERT);
	static const char hex[] = "0123456789abcdef";
	/* The row's identity, each part with its NUL so none runs into the next. */
	struct sig_part id[] = {
		{ n->order_id, strlen(n->order_id) + 1 },
		{ n->stage, strlen(n->stage) + 1 },
		{ n->shipment, strlen(n->shipment) + 1 },
	};
	unsigned char md[SIG_MAC_LEN];
	char uid[40];

	/*
	 * webhook-id, stored with the row, so the same on every retry:
	 * "msg_", the creation time in ms (12 hex digits), then 80 bits of a
	 * hash of the row's identity.  Time first, so that each new uid lands
	 * at the end of the uid index: a hash alone put every insert on a
	 * random page of it, one more page for each group commit to write.
	 */
	if (s == NULL || !sig_sha256(id, sizeof(id) / sizeof(id[0]), md))
		return STORE_ERROR;
	memcpy(uid, "msg_", 4);
	for (int i = 0; i < 12; i++)
		uid[4 + i] = hex[((uint64_t)n->created_ms >> (4 * (11 - i))) & 15];
	sig_hex_encode(md, 10, uid + 16);
	uid[36] = '\0';
	db_bind_text(s, 1, uid);
	db_bind_text(s, 2, n->order_id);
	db_bind_text(s, 3, n->stage);
	db_bind_text(s, 4, n->previous_stage);
	db_bind_text(s, 5, n->shipment);
	db_bind_text(s, 6, n->occurred_at);
	db_bind_int64(s, 7, n->created_ms);
	return store_exec_stmt(st, s, "queue notification");
}
