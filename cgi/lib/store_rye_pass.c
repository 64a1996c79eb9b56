/*
 * store_rye_pass: what the Rye pass of shiptrack-poll keeps between runs
 * (store_rye.h, "pass" and "view"): which orders and shipments are due,
 * when each was last read and what went wrong, with a back-off.
 * Statements in the table below (named in store_int.h), prepared once per
 * handle; every value is bound.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_rye.h"
#include "timefmt.h"

/* Records the pass writes itself: they never ask for another fetch. */
#define NOT_OWN_RECORD \
	" NOT (source = 'sync' AND substr(id, 1, 4) IN ('obs:', 'sync'))"

static const struct db_sql sql[] = {
	{ Q_RYE_TRIGGERS, .sql =
	"SELECT seq, scheme, type, order_id, subject FROM events"
	" WHERE seq > ?1 AND seq <= ?2 AND scheme IN ('rye1', 'rye2') AND"
	NOT_OWN_RECORD " ORDER BY seq" },
	{ Q_RYE_MAX_SEQ, .sql = "SELECT coalesce(max(seq), 0) FROM events" },
	{ Q_RYE_WANT_INTENT, .sql =
	/* Read because of an event, not a timer: no deep read (poll_rye.c). */
	"INSERT INTO rye_sync(order_id, generation, pending, next_sync_ms)"
	" VALUES (?1, 2, 1, 9223372036854775807)"
	" ON CONFLICT(order_id) DO UPDATE SET pending = 1"
	" WHERE rye_sync.final = 0 OR ?2" },
	{ Q_RYE_WANT_ORDER1, .sql =
	"INSERT INTO rye_sync(order_id, generation, next_sync_ms) VALUES (?1, 1, ?2)"
	" ON CONFLICT(order_id) DO UPDATE SET final = 0,"
	" next_sync_ms = CASE WHEN rye_sync.failures > 0"
	" AND rye_sync.next_sync_ms < ?2 THEN rye_sync.next_sync_ms ELSE ?2 END" },
	{ Q_RYE_PLACED_DUE, .sql =
	"UPDATE rye_sync SET pending = 1 WHERE generation = 1 AND pending = 0"
	" AND failures = 0 AND (last_sync_ms IS NULL OR last_sync_ms < ?1)"
	" AND order_id IN (SELECT id FROM orders WHERE status = 'SUCCEEDED'"
	" AND stage = 'placed' AND created_ms < ?1)" },
	{ Q_RYE_WANT_SHIPMENT, .sql =
	"INSERT INTO rye_shipments_due(shipment_id) VALUES (?1)"
	" ON CONFLICT(shipment_id) DO UPDATE SET next_sync_ms = 0" },
	{ Q_RYE_DUE_ORDERS, .sql =
	"SELECT order_id, next_sync_ms <= ?2 FROM rye_sync WHERE generation = ?1"
	" AND (pending = 1 OR next_sync_ms <= ?2)"
	" ORDER BY pending DESC, next_sync_ms, order_id LIMIT ?3" },
	{ Q_RYE_DUE_SHIPMENTS, .sql =
	"SELECT shipment_id, 0 FROM rye_shipments_due WHERE next_sync_ms <= ?1"
	" ORDER BY next_sync_ms, shipment_id LIMIT ?2" },
	{ Q_RYE_SYNCED, .sql =
	"UPDATE rye_sync SET last_sync_at = ?2, last_sync_ms = ?3, sync_error = NULL,"
	" sync_error_at = NULL, failures = 0, pending = 0, final = ?4,"
	" next_sync_ms = ?5 WHERE order_id = ?1" },
	/* next_sync_ms: the back-off (store_backoff_ms) after the failures so far. */
	{ Q_RYE_FAILURES, .sql = "SELECT failures FROM rye_sync WHERE order_id = ?1" },
	{ Q_RYE_FAILED, .sql =
	"UPDATE rye_sync SET sync_error = ?2, sync_error_at = ?3,"
	" failures = failures + 1, pending = 0, next_sync_ms = ?4"
	" WHERE order_id = ?1" },
	{ Q_RYE_SHIP_DONE, .sql = "DELETE FROM rye_shipments_due WHERE shipment_id = ?1" },
	{ Q_RYE_SHIP_FAILURES, .sql =
	"SELECT failures FROM rye_shipments_due WHERE shipment_id = ?1" },
	{ Q_RYE_SHIP_FAILED, .sql =
	"UPDATE rye_shipments_due SET sync_error = ?2, sync_error_at = ?3,"
	" failures = failures + 1, next_sync_ms = ?4 WHERE shipment_id = ?1" },
	{ Q_RYE_FINAL, .sql =
	"SELECT o.status, o.stage,"
	" (SELECT count(*) FROM shipments s WHERE s.order_id = o.id),"
	" (SELECT count(*) FROM shipments s WHERE s.order_id = o.id"
	"  AND s.rye_status IN ('delivered', 'canceled'))"
	" FROM orders o WHERE o.id = ?1" },
	{ Q_RYE_SYNC_GET, .sql =
	"SELECT last_sync_at, sync_error, sync_error_at FROM rye_sync"
	" WHERE order_id = ?1" },
	{ Q_RYE_SCHEMES, .sql =
	"SELECT EXISTS (SELECT 1 FROM events WHERE seq > ?1 AND scheme = 'rye1'),"
	" EXISTS (SELECT 1 FROM events WHERE seq > ?1 AND scheme = 'rye2')" },
};

static struct db_stmt *
stmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

static int
trigger_row(struct db_stmt *s, void *cb, void *arg)
{
	struct rye_trigger t = {
		.seq = db_column_int64(s, 0), .scheme = db_column_text(s, 1),
		.type = db_column_text(s, 2), .order_id = db_column_text(s, 3),
		.subject = db_column_text(s, 4),
	};

	return ((store_trigger_cb)cb)(arg, &t);
}

enum store_rc
store_rye_triggers(struct store *st, int64_t after_seq, int64_t upto_seq,
    store_trigger_cb cb, void *arg)
{
	struct db_stmt *s = stmt(st, Q_RYE_TRIGGERS);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, after_seq);
	db_bind_int64(s, 2, upto_seq);
	return store_each_row(st, s, trigger_row, (void *)cb, arg, "new events", NULL);
}

enum store_rc
store_rye_settled_seq(struct store *st, int64_t *seq)
{
	struct db_stmt *s = stmt(st, Q_RYE_MAX_SEQ);
	bool locks = db_caps(st->db) & DB_LOCKS_KEYS;
	enum store_rc rc = STORE_OK;

	*seq = 0;
	if (s == NULL)
		return STORE_ERROR;
	/* Where BEGIN serialises the writers, every seq seen is committed. */
	if (locks && (rc = store_begin(st)) == STORE_OK)
		rc = db_logged(st->db, db_lock_key(st->db, "events"), "lock events");
	if (rc == STORE_OK)
		rc = store_each_row(st, s, store_int64_row, NULL, seq, "largest seq", NULL);
	if (locks && rc == STORE_OK)
		rc = store_commit(st);
	if (locks && rc != STORE_OK)
		store_rollback(st);
	return rc;
}

enum store_rc
store_rye_want_intent(struct store *st, const char *order_id, bool force)
{
	return store_run(st, stmt(st, Q_RYE_WANT_INTENT), "want intent", "ti",
	    order_id, (int64_t)force);
}

enum store_rc
store_rye_want_order1(struct store *st, const char *order_id, int64_t due_ms)
{
	return store_run(st, stmt(st, Q_RYE_WANT_ORDER1), "want order", "ti",
	    order_id, (int64_t)due_ms);
}

enum store_rc
store_rye_placed_due(struct store *st, int64_t before_ms)
{
	return store_run(st, stmt(st, Q_RYE_PLACED_DUE), "placed orders due", "i",
	    (int64_t)before_ms);
}

enum store_rc
store_rye_want_shipment(struct store *st, const char *shipment_id)
{
	return store_run(st, stmt(st, Q_RYE_WANT_SHIPMENT), "want shipment", "t",
	    shipment_id);
}

void
rye_due_free(struct rye_due *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->ids[i]);
	free(d->ids);
	free(d->deep);
	memset(d, 0, sizeof(*d));
}

static int
due_row(struct db_stmt *s, void *cb, void *arg)
{
	struct rye_due *d = arg;
	size_t cap = (size_t)(uintptr_t)cb;
	const char *id = db_column_text(s, 0);

	if (d->n == cap || id == NULL || (d->ids[d->n] = strdup(id)) == NULL)
		return d->n == cap ? 1 : -1;
	d->deep[d->n++] = db_column_int64(s, 1) != 0;
	return 0;
}

static enum store_rc
due(struct store *st, struct db_stmt *s, long limit, struct rye_due *out)
{
	size_t cap = limit > 0 ? (size_t)limit : 1;
	enum store_rc rc;

	memset(out, 0, sizeof(*out));
	if ((out->ids = calloc(cap, sizeof(*out->ids))) == NULL ||
	    (out->deep = calloc(cap, sizeof(*out->deep))) == NULL) {
		db_reset(s);
		rye_due_free(out);
		return STORE_ERROR;
	}
	rc = store_each_row(st, s, due_row, (void *)(uintptr_t)cap, out, "due", NULL);
	if (rc != STORE_OK)
		rye_due_free(out);
	return rc;
}

enum store_rc
store_rye_due_orders(struct store *st, int generation, int64_t now_ms, long limit,
    struct rye_due *out)
{
	struct db_stmt *s = stmt(st, Q_RYE_DUE_ORDERS);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, generation);
	db_bind_int64(s, 2, now_ms);
	db_bind_int64(s, 3, limit < 0 ? INT64_MAX : limit);
	return due(st, s, limit, out);
}

enum store_rc
store_rye_due_shipments(struct store *st, int64_t now_ms, long limit,
    struct rye_due *out)
{
	struct db_stmt *s = stmt(st, Q_RYE_DUE_SHIPMENTS);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, now_ms);
	db_bind_int64(s, 2, limit < 0 ? INT64_MAX : limit);
	return due(st, s, limit, out);
}

enum store_rc
store_rye_synced(struct store *st, const char *order_id, int64_t now_ms,
    bool final, int64_t next_ms)
{
	struct db_stmt *s = stmt(st, Q_RYE_SYNCED);
	char now[TIMEFMT_ISO_LEN];

	if (s == NULL)
		return STORE_ERROR;
	timefmt_iso_utc(now_ms - now_ms % 1000, now);
	db_bind_text(s, 1, order_id);
	db_bind_text(s, 2, now);
	db_bind_int64(s, 3, now_ms);
	db_bind_int64(s, 4, final);
	db_bind_int64(s, 5, next_ms);
	return store_exec_stmt(st, s, "synced");
}

static enum store_rc
failed(struct store *st, enum stmt q, const char *id, const char *message,
    int64_t now_ms, int64_t base_ms, int64_t cap_ms)
{
	struct db_stmt *s = stmt(st, q);
	struct db_stmt *f = stmt(st, q == Q_RYE_FAILED ? Q_RYE_FAILURES : Q_RYE_SHIP_FAILURES);
	char now[TIMEFMT_ISO_LEN];
	int64_t failures = 0;
	enum store_rc rc;

	if (s == NULL || f == NULL)
		return STORE_ERROR;
	db_bind_text(f, 1, id);
	if ((rc = store_each_row(st, f, store_int64_row, NULL, &failures,
	    "sync failures", NULL)) != STORE_OK)
		return rc;
	timefmt_iso_utc(now_ms - now_ms % 1000, now);
	db_bind_text(s, 1, id);
	db_bind_text(s, 2, message);
	db_bind_text(s, 3, now);
	db_bind_int64(s, 4, now_ms + store_backoff_ms(failures, base_ms, cap_ms));
	return store_exec_stmt(st, s, "sync error");
}

enum store_rc
store_rye_failed(struct store *st, const char *order_id, const char *message,
    int64_t now_ms, int64_t base_ms, int64_t cap_ms)
{
	return failed(st, Q_RYE_FAILED, order_id, message, now_ms, base_ms, cap_ms);
}

enum store_rc
store_rye_shipment_done(struct store *st, const char *shipment_id)
{
	return store_run(st, stmt(st, Q_RYE_SHIP_DONE), "shipment done", "t",
	    shipment_id);
}

enum store_rc
store_rye_shipment_failed(struct store *st, const char *shipment_id,
    const char *message, int64_t now_ms, int64_t base_ms, int64_t cap_ms)
{
	return failed(st, Q_RYE_SHIP_FAILED, shipment_id, message, now_ms, base_ms, cap_ms);
}

struct final_in {
	int generation;
	bool *final;
};

static int
final_row(struct db_stmt *s, void *cb, void *arg)
{
	struct final_in *f = arg;
	const char *status = db_column_text(s, 0), *stage = db_column_text(s, 1);
	int64_t n = db_column_int64(s, 2), done = db_column_int64(s, 3);
	bool succeeded = status != NULL && strcmp(status, "SUCCEEDED") == 0;
	bool delivered = stage != NULL && strcmp(stage, "delivered") == 0;

	(void)cb;
	*f->final = status != NULL && (strcmp(status, "FAILED") == 0 ||
	    strcmp(status, "CANCELLED") == 0 || (succeeded && delivered) ||
	    (f->generation == 2 && succeeded && n > 0 && n == done));
	return 1;
}

enum store_rc
store_rye_is_final(struct store *st, const char *order_id, int generation,
    bool *final)
{
	struct db_stmt *s = stmt(st, Q_RYE_FINAL);
	struct final_in f = { generation, final };

	*final = false;
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	return store_each_row(st, s, final_row, NULL, &f, "final", NULL);
}

static int
sync_row(struct db_stmt *s, void *cb, void *arg)
{
	struct rye_sync_row *r = arg;

	(void)cb;
	r->known = true;
	store_copy_col(r->last_sync_at, sizeof(r->last_sync_at), s, 0);
	store_copy_col(r->sync_error, sizeof(r->sync_error), s, 1);
	store_copy_col(r->sync_error_at, sizeof(r->sync_error_at), s, 2);
	return 1;
}

enum store_rc
store_rye_sync_get(struct store *st, const char *order_id, struct rye_sync_row *out)
{
	struct db_stmt *s = stmt(st, Q_RYE_SYNC_GET);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	return store_each_row(st, s, sync_row, NULL, out, "sync state", NULL);
}

struct schemes {
	bool *gen1, *gen2;
};

static int
schemes_row(struct db_stmt *s, void *cb, void *arg)
{
	struct schemes *g = arg;

	(void)cb;
	*g->gen1 = db_column_int64(s, 0) != 0;
	*g->gen2 = db_column_int64(s, 1) != 0;
	return 1;
}

enum store_rc
store_rye_schemes(struct store *st, int64_t after_seq, bool *gen1, bool *gen2)
{
	struct db_stmt *s = stmt(st, Q_RYE_SCHEMES);
	struct schemes g = { gen1, gen2 };

	*gen1 = *gen2 = false;
	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, after_seq);
	return store_each_row(st, s, schemes_row, NULL, &g, "schemes", NULL);
}
