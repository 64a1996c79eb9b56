/*
 * store_orders: orders and their shipments as derived from the events
 * (sql/001): the shipment an event announces (merged by event keys, so
 * the order of arrival does not matter), the order's status and stage,
 * reading them back for the views, the operator's list (its stale filter
 * judged in C, store_rules.c), the stats' counts and the export.
 * Declared in store.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	{ Q_ORDER_GET, .sql =
	"SELECT id, status, stage, marketplace, created_at, updated_at"
	" FROM orders WHERE id = ?" },
	{ Q_ORDER_STAGE, .sql = "SELECT stage FROM orders WHERE id = ?" },
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
	{ Q_COUNT_STATUS, .sql =
	    "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status" },
	{ Q_COUNT_STAGE, .sql =
	    "SELECT stage, count(*) FROM orders GROUP BY stage ORDER BY stage" },
	{ Q_COUNT_EVENTS, .sql = "SELECT 'events', count(*) FROM events" },
	{ Q_COUNT_REJECTED, .sql =
	    "SELECT 'rejected_deliveries', count(*) FROM rejected_deliveries" },
	{ Q_EXPORT, .sql =
	"SELECT o.id, o.status, o.stage, o.marketplace, o.created_at, o.updated_at,"
	" s.tracking_number, s.carrier, s.tracking_url, s.tag, s.subtag,"
	" s.expected_delivery, s.delivered_at, s.last_checkpoint_at, s.checked_at, "
	SHIP_RULE_COLS("s.") " FROM orders o LEFT JOIN shipments s ON s.order_id = o.id"
	" ORDER BY o.created_ms DESC, o.id DESC, s.first_key NULLS FIRST,"
	" s.tracking_number NULLS FIRST" },
};

static struct db_stmt *
stmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

enum store_rc
store_shipment_upsert(struct store *st, const struct shipment_ref *r)
{
	bool pending = r->tracking_number == NULL;
	struct db_stmt *s = stmt(st, pending ? Q_SHIP_PENDING : Q_SHIP_UPSERT);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, r->order_id);
	db_bind_text(s, 2, pending ? r->pending_key : r->tracking_number);
	db_bind_text(s, 3, r->carrier);
	db_bind_text(s, 4, r->url);
	db_bind_text(s, 5, r->event_key);
	return store_exec_later(st, s, "upsert shipment");
}

enum store_rc
store_order_upsert(struct store *st, const struct order_rec *o)
{
	return store_run_later(st, stmt(st, Q_ORDER_UPSERT), "upsert order", "tttttitii",
	    o->id, o->status, o->stage, o->marketplace, o->created_at,
	    (int64_t)o->created_ms, o->updated_at, (int64_t)o->updated_ms,
	    (int64_t)o->keep_updated_if_same);
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
	struct db_stmt *s = stmt(st, Q_ORDER_GET);
	enum store_rc rc;
	bool any;

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, id);
	rc = store_each_row(st, s, order_row_fn, (void *)cb, arg, "get order", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
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
	struct db_stmt *s = stmt(st, Q_ORDER_STAGE);
	struct { char *buf; size_t sz; } out = { buf, bufsz };
	enum store_rc rc;
	bool any;

	if (s == NULL)
		return STORE_ERROR;
	store_bind_key(st, s, order_id);
	rc = store_each_row(st, s, stage_row_fn, NULL, &out, "order stage", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

enum store_rc
store_order_ask(struct store *st, const char *order_id)
{
	enum store_rc rc = store_ask(st, stmt(st, Q_ORDER_STAGE), order_id);

	if (rc == STORE_OK)
		rc = store_order_events_ask(st, order_id);
	if (rc == STORE_OK)
		rc = store_ask(st, stmt(st, Q_ORDER_SHIPMENTS), order_id);
	if (rc == STORE_OK)
		rc = store_event_send_ahead(st);
	return rc;
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
	struct db_stmt *s = stmt(st, Q_ORDER_SHIPMENTS);
	struct ship_ctx x = { st, timefmt_now_ms(), cb, arg };

	if (s == NULL)
		return STORE_ERROR;
	store_bind_key(st, s, order_id);
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
	struct db_stmt *s = stmt(st, Q_CHECKPOINTS);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, shipment_id);
	return store_each_row(st, s, checkpoint_row_fn, (void *)cb, arg, "checkpoints", NULL);
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
	struct db_stmt *s = stmt(st, Q_ORDERS_SCAN);
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
	if ((s = stmt(st, Q_ORDERS_LIST)) == NULL)
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
		if ((s = stmt(st, parts[i].q)) == NULL)
			return STORE_ERROR;
		rc = store_each_row(st, s, count_row_fn, NULL, &c, "stats", NULL);
	}
	return rc;
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
	struct db_stmt *s = stmt(st, Q_EXPORT);

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, export_row_fn, (void *)cb, arg, "export", NULL);
}
