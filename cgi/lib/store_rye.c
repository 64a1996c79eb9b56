/*
 * store_rye: see store_rye.h.  Statements in the table below
 * (named in store_int.h), prepared once per handle; every value is bound.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_rye.h"
#include "timefmt.h"

static const struct db_sql sql[] = {
	{ Q_RYE_SUBJECT_ORDER, .sql =
	"SELECT order_id FROM events WHERE subject = ?1 AND type = ?2"
	" AND order_id IS NOT NULL"
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
	/* Replay: the row keeps its Rye shipment id, how the records find it again. */
	{ Q_RYE_RESET_SHIPMENTS, .sql =
	"UPDATE shipments SET rye_status = NULL, rye_estimated_delivery = NULL,"
	" rye_delivered_at = NULL, rye_key = NULL WHERE rye_key IS NOT NULL" },
	{ Q_RYE_RESET_CHECKPOINTS, .sql = "DELETE FROM rye_checkpoints" },
};

static struct db_stmt *
stmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

/* --- records ------------------------------------------------------------ */

enum store_rc
store_rye_subject_order(struct store *st, const char *subject, const char *type,
    char *order_id, size_t order_id_sz)
{
	struct db_stmt *s = stmt(st, Q_RYE_SUBJECT_ORDER);
	struct store_text o = { order_id, order_id_sz };
	enum store_rc rc;
	bool any;

	order_id[0] = '\0';
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, subject);
	db_bind_text(s, 2, type);
	rc = store_each_row(st, s, store_text_row, NULL, &o, "shipment's intent", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

enum store_rc
store_rye_resolve(struct store *st, const char *subject, const char *order_id)
{
	return store_run(st, stmt(st, Q_RYE_RESOLVE), "resolve subject", "tt",
	    subject, order_id);
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
	struct db_stmt *s = stmt(st, Q_RYE_LATEST);
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
	struct store_text last;
};

static int
records_row(struct db_stmt *s, void *cb, void *arg)
{
	struct records_out *o = arg;

	(void)cb;
	*o->count = (long)db_column_int64(s, 0);
	store_copy_col(o->last.buf, o->last.sz, s, 1);
	return 1;
}

enum store_rc
store_rye_subject_records(struct store *st, const char *subject, const char *type,
    long *count, char *last_id, size_t last_id_sz)
{
	struct db_stmt *s = stmt(st, Q_RYE_SUBJECT_RECORDS);
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
	store_copy_col(h->key, sizeof(h->key), s, 1);
	return 1;
}

static enum store_rc
find_ship(struct store *st, enum stmt q, const char *order_id, const char *v,
    struct ship_hit *h)
{
	struct db_stmt *s = stmt(st, q);

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
	struct db_stmt *s = stmt(st, q);

	return s == NULL ? STORE_ERROR : store_exec_stmt(st, s, what);
}

static enum store_rc
exec_id(struct store *st, enum stmt q, int64_t id, const char *what)
{
	struct db_stmt *s = stmt(st, q);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, id);
	return store_exec_stmt(st, s, what);
}

static enum store_rc
insert_ship(struct store *st, const struct rye_parcel *p, int64_t *row)
{
	struct db_stmt *s = stmt(st, Q_RYE_SHIP_INSERT);

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
	return store_run(st, stmt(st, Q_RYE_SHIP_SET), "set shipment", "ittttttttt",
	    (int64_t)row, p->tracking_number, p->carrier, p->url,
	    p->rye_shipment_id, p->status, p->estimated_delivery, p->first_key,
	    p->key, p->delivered_at);
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
	struct db_stmt *s = stmt(st, Q_RYE_CHECKPOINT);

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
