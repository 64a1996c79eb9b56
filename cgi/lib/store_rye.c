/*
 * store_rye: see store_rye.h.  Statements in the table below
 * (named in store_int.h), prepared once per handle; every value is bound.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rye_record.h"
#include "store_int.h"
#include "store_rye.h"
#include "timefmt.h"


/* Records the pass writes itself: they never ask for another fetch. */
#define NOT_OWN_RECORD \
	" NOT (source = 'sync' AND substr(id, 1, 4) IN ('obs:', 'sync'))"

static const struct db_sql sql[] = {
	{ Q_RYE_SUBJECT_ORDER, .sql =
	"SELECT order_id FROM events WHERE subject = ?1 AND type = '"
	RYE_RECORD_SHIPMENT "' AND order_id IS NOT NULL"
	" ORDER BY created_ms DESC, seq DESC LIMIT 1" },
	{ Q_RYE_RESOLVE, .sql =
	"UPDATE events SET order_id = ?2 WHERE subject = ?1 AND order_id IS NULL" },
	{ Q_RYE_LATEST, .sql =
	"SELECT id, body FROM events WHERE order_id = ?1 AND type = ?2"
	" ORDER BY created_ms DESC, seq DESC LIMIT 1" },
	{ Q_RYE_SUBJECT_RECORDS, .sql =
	"SELECT count(*), (SELECT id FROM events WHERE subject = ?1 AND type = ?2"
	" ORDER BY seq DESC LIMIT 1) FROM events WHERE subject = ?1 AND type = ?2" },
	{ Q_RYE_SHIP_BY_RYE, .sql =
	"SELECT id, rye_key FROM shipments WHERE order_id = ?1 AND rye_shipment_id = ?2"
	" ORDER BY id LIMIT 1" },
	{ Q_RYE_SHIP_BY_NUMBER, .sql =
	"SELECT id, rye_key FROM shipments WHERE order_id = ?1 AND tracking_number = ?2" },
	{ Q_RYE_SHIP_INSERT, .sql =
	"INSERT INTO shipments(order_id, tracking_number, pending_key, first_key)"
	" VALUES (?1, ?2, CASE WHEN ?2 IS NULL THEN 'rye:' || ?3 END, ?4)"
	" RETURNING id" },
	/*
	 * The latest observation defines the parcel: its number (a pending
	 * row gets one), carrier and URL when it names them, Rye's status and
	 * dates.  The earliest announcement still orders the shipments.
	 */
	{ Q_RYE_SHIP_SET, .sql =
	"UPDATE shipments SET tracking_number = coalesce(?2, tracking_number),"
	" pending_key = CASE WHEN coalesce(?2, tracking_number) IS NULL"
	" THEN pending_key END,"
	" carrier = coalesce(?3, carrier),"
	" carrier_key = CASE WHEN ?3 IS NULL THEN carrier_key ELSE ?9 END,"
	" tracking_url = coalesce(?4, tracking_url),"
	" url_key = CASE WHEN ?4 IS NULL THEN url_key ELSE ?9 END,"
	" first_key = CASE WHEN first_key IS NULL OR ?8 < first_key THEN ?8"
	" ELSE first_key END,"
	" rye_shipment_id = ?5, rye_status = ?6, rye_estimated_delivery = ?7,"
	" rye_delivered_at = ?10, rye_key = ?9 WHERE id = ?1" },
	{ Q_RYE_SHIP_DELETE, .sql = "DELETE FROM shipments WHERE id = ?1" },
	{ Q_RYE_CHECKPOINT, .sql =
	"INSERT INTO rye_checkpoints(shipment_id, time_raw, time_ms, has_offset, tag,"
	" message, location) VALUES (?,?,?,?,?,?,?) ON CONFLICT DO NOTHING" },
	{ Q_RYE_TRIGGERS, .sql =
	"SELECT seq, scheme, type, order_id, subject FROM events"
	" WHERE seq > ?1 AND scheme IN ('rye1', 'rye2') AND" NOT_OWN_RECORD
	" ORDER BY seq" },
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
	{ Q_RYE_META_DELETE, .sql = "DELETE FROM meta WHERE key = ?1" },
	{ Q_RYE_SCHEMES, .sql =
	"SELECT EXISTS (SELECT 1 FROM events WHERE seq > ?1 AND scheme = 'rye1'),"
	" EXISTS (SELECT 1 FROM events WHERE seq > ?1 AND scheme = 'rye2')" },
	/* Replay: the row keeps its Rye shipment id, how the records find it again. */
	{ Q_RYE_RESET_SHIPMENTS, .sql =
	"UPDATE shipments SET rye_status = NULL, rye_estimated_delivery = NULL,"
	" rye_delivered_at = NULL, rye_key = NULL WHERE rye_key IS NOT NULL" },
	{ Q_RYE_RESET_CHECKPOINTS, .sql = "DELETE FROM rye_checkpoints" },
	{ Q_RYE_SYNC_GET, .sql =
	"SELECT last_sync_at, sync_error, sync_error_at FROM rye_sync"
	" WHERE order_id = ?1" },
};

static struct db_stmt *
ystmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

static void
copy_col(char *dst, size_t dstsz, struct db_stmt *s, int i)
{
	const char *v = db_column_text(s, i);

	snprintf(dst, dstsz, "%s", v ? v : "");
}

/* --- records ------------------------------------------------------------ */

struct text_out {
	char *buf;
	size_t sz;
};

static int
text_row(struct db_stmt *s, void *cb, void *arg)
{
	struct text_out *o = arg;

	(void)cb;
	copy_col(o->buf, o->sz, s, 0);
	return 1;
}

enum store_rc
store_rye_subject_order(struct store *st, const char *subject, char *order_id,
    size_t order_id_sz)
{
	struct db_stmt *s = ystmt(st, Q_RYE_SUBJECT_ORDER);
	struct text_out o = { order_id, order_id_sz };
	enum store_rc rc;
	bool any;

	order_id[0] = '\0';
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, subject);
	rc = store_each_row(st, s, text_row, NULL, &o, "shipment's intent", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

enum store_rc
store_rye_resolve(struct store *st, const char *subject, const char *order_id)
{
	struct db_stmt *s = ystmt(st, Q_RYE_RESOLVE);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, subject);
	db_bind_text(s, 2, order_id);
	return store_exec_stmt(st, s, "resolve subject");
}

static int
body_row(struct db_stmt *s, void *cb, void *arg)
{
	size_t len;
	const void *body = db_column_blob(s, 1, &len);

	return ((store_body_cb)cb)(arg, db_column_text(s, 0), body, len) < 0 ? -1 : 1;
}

enum store_rc
store_rye_latest(struct store *st, const char *order_id, const char *type,
    store_body_cb cb, void *arg)
{
	struct db_stmt *s = ystmt(st, Q_RYE_LATEST);
	enum store_rc rc;
	bool any;

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	db_bind_text(s, 2, type);
	rc = store_each_row(st, s, body_row, (void *)cb, arg, "latest record", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

struct records_out {
	long *count;
	struct text_out last;
};

static int
records_row(struct db_stmt *s, void *cb, void *arg)
{
	struct records_out *o = arg;

	(void)cb;
	*o->count = (long)db_column_int64(s, 0);
	copy_col(o->last.buf, o->last.sz, s, 1);
	return 1;
}

enum store_rc
store_rye_subject_records(struct store *st, const char *subject, const char *type,
    long *count, char *last_id, size_t last_id_sz)
{
	struct db_stmt *s = ystmt(st, Q_RYE_SUBJECT_RECORDS);
	struct records_out o = { count, { last_id, last_id_sz } };

	*count = 0;
	last_id[0] = '\0';
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, subject);
	db_bind_text(s, 2, type);
	return store_each_row(st, s, records_row, NULL, &o, "subject records", NULL);
}

/* --- parcels ------------------------------------------------------------ */

struct ship_hit {
	int64_t id;
	char key[STORE_EVENT_KEY_LEN];
};

static int
hit_row(struct db_stmt *s, void *cb, void *arg)
{
	struct ship_hit *h = arg;

	(void)cb;
	h->id = db_column_int64(s, 0);
	copy_col(h->key, sizeof(h->key), s, 1);
	return 1;
}

static enum store_rc
find_ship(struct store *st, enum stmt q, const char *order_id, const char *v,
    struct ship_hit *h)
{
	struct db_stmt *s = ystmt(st, q);

	h->id = 0;
	h->key[0] = '\0';
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	db_bind_text(s, 2, v);
	return store_each_row(st, s, hit_row, NULL, h, "find shipment", NULL);
}

/* Run a statement without parameters. */
static enum store_rc
exec_none(struct store *st, enum stmt q, const char *what)
{
	struct db_stmt *s = ystmt(st, q);

	return s == NULL ? STORE_ERROR : store_exec_stmt(st, s, what);
}

static enum store_rc
exec_id(struct store *st, enum stmt q, int64_t id, const char *what)
{
	struct db_stmt *s = ystmt(st, q);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, id);
	return store_exec_stmt(st, s, what);
}

static enum store_rc
insert_ship(struct store *st, const struct rye_parcel *p, int64_t *row)
{
	struct db_stmt *s = ystmt(st, Q_RYE_SHIP_INSERT);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, p->order_id);
	db_bind_text(s, 2, p->tracking_number);
	db_bind_text(s, 3, p->rye_shipment_id);
	db_bind_text(s, 4, p->first_key);
	return store_each_row(st, s, store_int64_row, NULL, row, "insert shipment",
	    NULL);
}

static enum store_rc
set_ship(struct store *st, int64_t row, const struct rye_parcel *p)
{
	struct db_stmt *s = ystmt(st, Q_RYE_SHIP_SET);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, row);
	db_bind_text(s, 2, p->tracking_number);
	db_bind_text(s, 3, p->carrier);
	db_bind_text(s, 4, p->url);
	db_bind_text(s, 5, p->rye_shipment_id);
	db_bind_text(s, 6, p->status);
	db_bind_text(s, 7, p->estimated_delivery);
	db_bind_text(s, 8, p->first_key);
	db_bind_text(s, 9, p->key);
	db_bind_text(s, 10, p->delivered_at);
	return store_exec_stmt(st, s, "set shipment");
}

/*
 * The row p lands on: the Rye shipment's own (by its id), unless a row of
 * that tracking number exists, which then takes it (a pending or renamed
 * row of the shipment is dropped: its number is now elsewhere).
 */
static enum store_rc
target_row(struct store *st, const struct rye_parcel *p, const struct ship_hit *own,
    int64_t *row)
{
	struct ship_hit num;
	enum store_rc rc;

	*row = own->id;
	if (p->tracking_number == NULL)
		return own->id != 0 ? STORE_OK : insert_ship(st, p, row);
	if ((rc = find_ship(st, Q_RYE_SHIP_BY_NUMBER, p->order_id, p->tracking_number,
	    &num)) != STORE_OK)
		return rc;
	if (num.id != 0 && own->id != 0 && num.id != own->id &&
	    (rc = exec_id(st, Q_RYE_SHIP_DELETE, own->id, "drop shipment")) != STORE_OK)
		return rc;
	if (num.id != 0)
		*row = num.id;
	return *row != 0 ? STORE_OK : insert_ship(st, p, row);
}

enum store_rc
store_rye_parcel(struct store *st, const struct rye_parcel *p, int64_t *row,
    bool *applied)
{
	struct ship_hit own;
	enum store_rc rc;

	*applied = false;
	*row = 0;
	if ((rc = find_ship(st, Q_RYE_SHIP_BY_RYE, p->order_id, p->rye_shipment_id,
	    &own)) != STORE_OK)
		return rc;
	if (own.id != 0 && own.key[0] != '\0' && strcmp(own.key, p->key) >= 0) {
		*row = own.id;	/* a newer observation already spoke */
		return STORE_OK;
	}
	if ((rc = target_row(st, p, &own, row)) != STORE_OK ||
	    (rc = set_ship(st, *row, p)) != STORE_OK)
		return rc;
	*applied = true;
	return STORE_OK;
}

enum store_rc
store_rye_checkpoint(struct store *st, int64_t row, const struct rye_checkpoint *c)
{
	struct db_stmt *s = ystmt(st, Q_RYE_CHECKPOINT);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, row);
	db_bind_text(s, 2, c->time_raw);
	if (c->time_ok)
		db_bind_int64(s, 3, c->time_ms);
	db_bind_int64(s, 4, c->time_ok && c->has_offset);
	db_bind_text(s, 5, c->tag ? c->tag : "");
	db_bind_text(s, 6, c->message ? c->message : "");
	db_bind_text(s, 7, c->location);
	return store_exec_stmt(st, s, "insert Rye checkpoint");
}

enum store_rc
store_rye_reset_derived(struct store *st)
{
	enum store_rc rc = exec_none(st, Q_RYE_RESET_SHIPMENTS, "reset Rye data");

	return rc == STORE_OK ? exec_none(st, Q_RYE_RESET_CHECKPOINTS,
	    "reset Rye checkpoints") : rc;
}

/* --- pass ------------------------------------------------------------------- */

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
store_rye_triggers(struct store *st, int64_t after_seq, store_trigger_cb cb,
    void *arg)
{
	struct db_stmt *s = ystmt(st, Q_RYE_TRIGGERS);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, after_seq);
	return store_each_row(st, s, trigger_row, (void *)cb, arg, "new events", NULL);
}

enum store_rc
store_rye_want_intent(struct store *st, const char *order_id, bool force)
{
	struct db_stmt *s = ystmt(st, Q_RYE_WANT_INTENT);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	db_bind_int64(s, 2, force);
	return store_exec_stmt(st, s, "want intent");
}

enum store_rc
store_rye_want_order1(struct store *st, const char *order_id, int64_t due_ms)
{
	struct db_stmt *s = ystmt(st, Q_RYE_WANT_ORDER1);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	db_bind_int64(s, 2, due_ms);
	return store_exec_stmt(st, s, "want order");
}

enum store_rc
store_rye_placed_due(struct store *st, int64_t before_ms)
{
	struct db_stmt *s = ystmt(st, Q_RYE_PLACED_DUE);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, before_ms);
	return store_exec_stmt(st, s, "placed orders due");
}

enum store_rc
store_rye_want_shipment(struct store *st, const char *shipment_id)
{
	struct db_stmt *s = ystmt(st, Q_RYE_WANT_SHIPMENT);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, shipment_id);
	return store_exec_stmt(st, s, "want shipment");
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
	struct db_stmt *s = ystmt(st, Q_RYE_DUE_ORDERS);

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
	struct db_stmt *s = ystmt(st, Q_RYE_DUE_SHIPMENTS);

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
	struct db_stmt *s = ystmt(st, Q_RYE_SYNCED);
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
	struct db_stmt *s = ystmt(st, q);
	struct db_stmt *f = ystmt(st, q == Q_RYE_FAILED ? Q_RYE_FAILURES : Q_RYE_SHIP_FAILURES);
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
	struct db_stmt *s = ystmt(st, Q_RYE_SHIP_DONE);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, shipment_id);
	return store_exec_stmt(st, s, "shipment done");
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
	struct db_stmt *s = ystmt(st, Q_RYE_FINAL);
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
	copy_col(r->last_sync_at, sizeof(r->last_sync_at), s, 0);
	copy_col(r->sync_error, sizeof(r->sync_error), s, 1);
	copy_col(r->sync_error_at, sizeof(r->sync_error_at), s, 2);
	return 1;
}

enum store_rc
store_rye_sync_get(struct store *st, const char *order_id, struct rye_sync_row *out)
{
	struct db_stmt *s = ystmt(st, Q_RYE_SYNC_GET);

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	return store_each_row(st, s, sync_row, NULL, out, "sync state", NULL);
}

enum store_rc
store_rye_meta_delete(struct store *st, const char *key)
{
	struct db_stmt *s = ystmt(st, Q_RYE_META_DELETE);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, key);
	return store_exec_stmt(st, s, "delete meta");
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
	struct db_stmt *s = ystmt(st, Q_RYE_SCHEMES);
	struct schemes g = { gen1, gen2 };

	*gen1 = *gen2 = false;
	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, after_seq);
	return store_each_row(st, s, schemes_row, NULL, &g, "schemes", NULL);
}
