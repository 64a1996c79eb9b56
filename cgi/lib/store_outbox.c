/*
 * store_outbox: see store_outbox.h.  Statements live in the table below
 * (named in store_int.h), prepared once per handle; every value is a
 * bound parameter.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "log.h"
#include "store_int.h"
#include "store_outbox.h"
#include "timefmt.h"

#define PENDING "(webhook_state = 'pending' OR email_state = 'pending')"
/* A lease that was taken (> 0) and has run out: its run is gone. */
#define CLAIMED_COLS "id, created_ms, attempts, webhook_state = 'pending'," \
	" email_state = 'pending', uid, order_id, stage, previous_stage," \
	" shipment, occurred_at"
#define ABANDONED PENDING " AND claimed_until_ms BETWEEN 1 AND ?1"

static const struct db_sql sql[] = {
	{ Q_NOTIFY_INSERT, .sql =
	"INSERT INTO notifications(uid, order_id, stage, previous_stage, shipment,"
	" occurred_at, created_ms, next_attempt_ms) VALUES (?,?,?,?,?,?,?,?7)"
	" ON CONFLICT(order_id, stage, shipment) DO NOTHING" },
	/* One "interrupted" attempt per channel the dead run had open. */
	{ Q_NOTIFY_REAP_LOG, .sql =
	"INSERT INTO notification_attempts(notification_id, channel, at, status, error)"
	" SELECT id, 'webhook', ?2, CAST(NULL AS BIGINT), ?3 FROM notifications"
	" WHERE " ABANDONED " AND webhook_state = 'pending'"
	" UNION ALL SELECT id, 'email', ?2, CAST(NULL AS BIGINT), ?3 FROM notifications"
	" WHERE " ABANDONED " AND email_state = 'pending'" },
	{ Q_NOTIFY_REAP, .sql =
	"UPDATE notifications SET claimed_until_ms = 0, last_error = ?3"
	" WHERE " ABANDONED },
	/*
	 * Pick and lease in one statement, inside BEGIN IMMEDIATE: no other
	 * run can pick the same row between the two.  The WHERE repeats
	 * the partial index's condition so the index serves the pick.
	 * PostgreSQL's writers do not exclude each other at BEGIN: the pick
	 * skips rows another sender has locked, and the lease is checked
	 * again on the row as it is when locked.
	 */
	{ Q_NOTIFY_CLAIM, .sqlite =
	"UPDATE notifications SET claimed_until_ms = ?2, attempts = attempts + 1"
	" WHERE id = (SELECT id FROM notifications WHERE " PENDING
	" AND next_attempt_ms <= ?1 AND claimed_until_ms <= ?1"
	" ORDER BY next_attempt_ms, id LIMIT 1)"
	" RETURNING " CLAIMED_COLS, .pg =
	"UPDATE notifications SET claimed_until_ms = ?2, attempts = attempts + 1"
	" WHERE id = (SELECT id FROM notifications WHERE " PENDING
	" AND next_attempt_ms <= ?1 AND claimed_until_ms <= ?1"
	" ORDER BY next_attempt_ms, id LIMIT 1 FOR UPDATE SKIP LOCKED)"
	" AND claimed_until_ms <= ?1 RETURNING " CLAIMED_COLS },
	{ Q_NOTIFY_ATTEMPT, .sql =
	"INSERT INTO notification_attempts(notification_id, channel, at, status, error)"
	" VALUES (?, ?, ?, ?, ?)" },
	/* Only 'pending' moves; the lease is given back only if still ours. */
	{ Q_NOTIFY_FINISH, .sql =
	"UPDATE notifications SET"
	" webhook_state = CASE WHEN webhook_state = 'pending' AND ?2 IS NOT NULL"
	" THEN ?2 ELSE webhook_state END,"
	" email_state = CASE WHEN email_state = 'pending' AND ?3 IS NOT NULL"
	" THEN ?3 ELSE email_state END,"
	" next_attempt_ms = ?4, last_error = ?5,"
	" claimed_until_ms = CASE WHEN claimed_until_ms = ?6 THEN 0"
	" ELSE claimed_until_ms END"
	" WHERE id = ?1 RETURNING claimed_until_ms" },
	{ Q_NOTIFY_ORDER_ROWS, .sql =
	"SELECT id, next_attempt_ms, attempts, uid, stage, previous_stage, shipment,"
	" occurred_at, webhook_state, email_state, last_error"
	" FROM notifications WHERE order_id = ? ORDER BY id" },
	/*
	 * In the order they were made: the table has no id column of its own
	 * (sql/003), and SQLite's rowid is the order of insertion;
	 * PostgreSQL's schema has a column of that name (sql/pg/003).
	 */
	{ Q_NOTIFY_ATTEMPTS, .sql =
	"SELECT channel, at, status, error FROM notification_attempts"
	" WHERE notification_id = ? ORDER BY rowid" },
	/* "delayed" rows queued (one per stall episode), shipments stalled now. */
	{ Q_NOTIFY_DELAYED, .sql =
	"SELECT 'notifications', count(*) FROM notifications WHERE stage = 'delayed'"
	" UNION ALL SELECT 'stalledShipments', count(*) FROM shipments"
	" WHERE stalled_since IS NOT NULL" },
	{ Q_NOTIFY_COUNTS, .sql =
	"SELECT CASE WHEN " PENDING " THEN 'pending'"
	" WHEN webhook_state = 'failed' OR email_state = 'failed' THEN 'failed'"
	" WHEN webhook_state = 'sent' OR email_state = 'sent' THEN 'sent'"
	" ELSE 'skipped' END AS state, count(*) FROM notifications GROUP BY state"
	" ORDER BY state" },
	/*
	 * A customer e-mail says where the order is now: an order-level row
	 * is superseded by any later order-level row; a parcel's trouble row
	 * by the order's own row for the same stage (one mail, not two).
	 */
	{ Q_NOTIFY_SUPERSEDED, .sql =
	"SELECT 1 FROM notifications WHERE order_id = ?1 AND shipment = ''"
	" AND ((?3 = '' AND id > ?2) OR (?3 <> '' AND stage = ?4)) LIMIT 1" },
};

static struct db_stmt *
stmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

/* Run fn inside BEGIN IMMEDIATE ... COMMIT, rolling back on any error. */
static enum store_rc
in_tx(struct store *st, enum store_rc (*fn)(struct store *, void *), void *arg)
{
	enum store_rc rc;

	if ((rc = store_begin(st)) != STORE_OK)
		return rc;
	rc = fn(st, arg);
	if (rc == STORE_OK || rc == STORE_NONE) {
		enum store_rc crc = store_commit(st);
		if (crc != STORE_OK)
			rc = crc;
	}
	if (rc != STORE_OK && rc != STORE_NONE)
		store_rollback(st);
	return rc;
}

/* ---- queue ------------------------------------------------------------------ */

enum store_rc
store_notify_insert(struct store *st, const struct notify_rec *n)
{
	struct db_stmt *s = stmt(st, Q_NOTIFY_INSERT);
	static const char hex[] = "0123456789abcdef";
	/* The row's identity, each part with its NUL so none runs into the next. */
	struct codec_part id[] = {
		{ n->order_id, strlen(n->order_id) + 1 },
		{ n->stage, strlen(n->stage) + 1 },
		{ n->shipment, strlen(n->shipment) + 1 },
	};
	unsigned char md[CODEC_SHA256_LEN];
	char uid[40];

	/*
	 * webhook-id, stored with the row, so the same on every retry:
	 * "msg_", the creation time in ms (12 hex digits), then 80 bits of a
	 * hash of the row's identity.  Time first, so that each new uid lands
	 * at the end of the uid index: a hash alone put every insert on a
	 * random page of it, one more page for each group commit to write.
	 */
	if (s == NULL || !codec_sha256(id, sizeof(id) / sizeof(id[0]), md))
		return STORE_ERROR;
	memcpy(uid, "msg_", 4);
	for (int i = 0; i < 12; i++)
		uid[4 + i] = hex[((uint64_t)n->created_ms >> (4 * (11 - i))) & 15];
	codec_hex_encode(md, 10, uid + 16);
	uid[36] = '\0';
	db_bind_text(s, 1, uid);
	db_bind_text(s, 2, n->order_id);
	db_bind_text(s, 3, n->stage);
	db_bind_text(s, 4, n->previous_stage);
	db_bind_text(s, 5, n->shipment);
	db_bind_text(s, 6, n->occurred_at);
	db_bind_int64(s, 7, n->created_ms);
	return store_exec_later(st, s, "queue notification");
}

/* ---- claim ----------------------------------------------------------------- */

struct claim_args {
	int64_t now_ms, lease_ms;
	struct notify_claim *c;
	long reclaimed;
	bool oom;
};

static char *
dup_col(struct db_stmt *s, int i, bool *oom)
{
	const char *v = db_column_text(s, i);
	char *d;

	if (v == NULL)
		return NULL;
	if ((d = strdup(v)) == NULL)
		*oom = true;
	return d;
}

static int
claim_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct claim_args *a = arg;
	struct notify_claim *c = a->c;

	(void)cb;
	c->id = db_column_int64(s, 0);
	c->created_ms = db_column_int64(s, 1);
	c->attempts = (long)db_column_int64(s, 2);
	c->webhook_pending = db_column_int64(s, 3) != 0;
	c->email_pending = db_column_int64(s, 4) != 0;
	c->uid = dup_col(s, 5, &a->oom);
	c->order_id = dup_col(s, 6, &a->oom);
	c->stage = dup_col(s, 7, &a->oom);
	c->previous_stage = dup_col(s, 8, &a->oom);
	c->shipment = dup_col(s, 9, &a->oom);
	c->occurred_at = dup_col(s, 10, &a->oom);
	c->lease_until_ms = a->now_ms + a->lease_ms;
	return 0;
}

static enum store_rc
reap(struct store *st, struct claim_args *a)
{
	static const char why[] = "interrupted: the sending run stopped before"
	    " recording an outcome (its lease expired)";
	struct db_stmt *log = stmt(st, Q_NOTIFY_REAP_LOG), *upd = stmt(st, Q_NOTIFY_REAP);
	char now[TIMEFMT_ISO_LEN];
	enum store_rc rc;

	if (log == NULL || upd == NULL)
		return STORE_ERROR;
	timefmt_iso_utc(a->now_ms, now);
	db_bind_int64(log, 1, a->now_ms);
	db_bind_text(log, 2, now);
	db_bind_text(log, 3, why);
	if ((rc = store_exec_stmt(st, log, "record interrupted notification")) != STORE_OK)
		return rc;
	db_bind_int64(upd, 1, a->now_ms);
	db_bind_text(upd, 3, why);
	if ((rc = store_exec_stmt(st, upd, "reclaim notification lease")) != STORE_OK)
		return rc;
	a->reclaimed = (long)db_changes(st->db);
	return STORE_OK;
}

static enum store_rc
claim_tx(struct store *st, void *arg)
{
	struct claim_args *a = arg;
	struct db_stmt *s = stmt(st, Q_NOTIFY_CLAIM);
	enum store_rc rc;
	bool any;

	if (s == NULL)
		return STORE_ERROR;
	if ((rc = reap(st, a)) != STORE_OK)
		return rc;
	db_bind_int64(s, 1, a->now_ms);
	db_bind_int64(s, 2, a->now_ms + a->lease_ms);
	rc = store_each_row(st, s, claim_row_fn, NULL, a, "claim notification", &any);
	if (rc == STORE_OK && a->oom)
		rc = STORE_ERROR;
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

enum store_rc
store_notify_claim(struct store *st, int64_t now_ms, int64_t lease_ms,
    struct notify_claim *c, long *reclaimed)
{
	struct claim_args a = { now_ms, lease_ms, c, 0, false };
	enum store_rc rc;

	memset(c, 0, sizeof(*c));
	rc = in_tx(st, claim_tx, &a);
	if (rc != STORE_OK)
		store_notify_claim_free(c);
	if (reclaimed != NULL)
		*reclaimed = a.reclaimed;
	return rc;
}

void
store_notify_claim_free(struct notify_claim *c)
{
	free(c->uid);
	free(c->order_id);
	free(c->stage);
	free(c->previous_stage);
	free(c->shipment);
	free(c->occurred_at);
	memset(c, 0, sizeof(*c));
}

/* ---- finish ---------------------------------------------------------------- */

struct finish_args {
	const struct notify_claim *c;
	const struct notify_outcome *o;
	int64_t left;		/* claimed_until_ms after the update */
};

static int
lease_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	(void)cb;
	((struct finish_args *)arg)->left = db_column_int64(s, 0);
	return 0;
}

static enum store_rc
record_attempt(struct store *st, int64_t id, const char *at,
    const struct notify_attempt *t)
{
	struct db_stmt *s = stmt(st, Q_NOTIFY_ATTEMPT);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, id);
	db_bind_text(s, 2, t->channel);
	db_bind_text(s, 3, at);
	if (t->status != 0)
		db_bind_int64(s, 4, t->status);
	db_bind_text(s, 5, t->error);
	return store_exec_stmt(st, s, "record notification attempt");
}

static enum store_rc
finish_tx(struct store *st, void *arg)
{
	struct finish_args *a = arg;
	const struct notify_outcome *o = a->o;
	struct db_stmt *s = stmt(st, Q_NOTIFY_FINISH);
	enum store_rc rc = STORE_OK;

	if (s == NULL)
		return STORE_ERROR;
	for (int i = 0; i < o->nattempts && rc == STORE_OK; i++)
		rc = record_attempt(st, a->c->id, o->at, &o->attempt[i]);
	if (rc != STORE_OK)
		return rc;
	db_bind_int64(s, 1, a->c->id);
	db_bind_text(s, 2, o->webhook_state);
	db_bind_text(s, 3, o->email_state);
	db_bind_int64(s, 4, o->next_attempt_ms);
	db_bind_text(s, 5, o->last_error);
	db_bind_int64(s, 6, a->c->lease_until_ms);
	return store_each_row(st, s, lease_row_fn, NULL, a, "finish notification", NULL);
}

enum store_rc
store_notify_finish(struct store *st, const struct notify_claim *c,
    const struct notify_outcome *o)
{
	struct finish_args a = { c, o, 0 };
	enum store_rc rc = in_tx(st, finish_tx, &a);

	if (rc == STORE_OK && a.left != 0)
		log_warn("notification %s: its lease ran out before the outcome was"
		    " recorded (is notify_lease_seconds too short?)", c->uid);
	return rc;
}

/* ---- reads ------------------------------------------------------------------ */

static int
notify_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct notify_row r = {
		.id = db_column_int64(s, 0),
		.next_attempt_ms = db_column_int64(s, 1),
		.attempts = (long)db_column_int64(s, 2),
		.uid = db_column_text(s, 3), .stage = db_column_text(s, 4),
		.previous_stage = db_column_text(s, 5), .shipment = db_column_text(s, 6),
		.occurred_at = db_column_text(s, 7), .webhook_state = db_column_text(s, 8),
		.email_state = db_column_text(s, 9), .last_error = db_column_text(s, 10),
	};

	return ((store_notify_cb)cb)(arg, &r);
}

enum store_rc
store_order_notifications(struct store *st, const char *order_id,
    store_notify_cb cb, void *arg)
{
	struct db_stmt *s = stmt(st, Q_NOTIFY_ORDER_ROWS);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, order_id);
	return store_each_row(st, s, notify_row_fn, (void *)cb, arg,
	    "order notifications", NULL);
}

static int
attempt_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct notify_attempt_row r = {
		.channel = db_column_text(s, 0), .at = db_column_text(s, 1),
		.status = (long)db_column_int64(s, 2), .error = db_column_text(s, 3),
	};

	return ((store_attempt_cb)cb)(arg, &r);
}

enum store_rc
store_notify_attempts(struct store *st, int64_t notification_id,
    store_attempt_cb cb, void *arg)
{
	struct db_stmt *s = stmt(st, Q_NOTIFY_ATTEMPTS);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, notification_id);
	return store_each_row(st, s, attempt_row_fn, (void *)cb, arg,
	    "notification attempts", NULL);
}

struct count_args {
	store_count_cb cb;
	void *arg;
};

static int
count_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct count_args *a = arg;

	(void)cb;
	return a->cb(a->arg, "notifications", db_column_text(s, 0),
	    db_column_int64(s, 1));
}

enum store_rc
store_notify_counts(struct store *st, store_count_cb cb, void *arg)
{
	struct db_stmt *s = stmt(st, Q_NOTIFY_COUNTS);
	struct count_args a = { cb, arg };

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, count_row_fn, NULL, &a, "notification counts", NULL);
}

enum store_rc
store_notify_superseded(struct store *st, const struct notify_claim *c,
    bool *superseded)
{
	struct db_stmt *s = stmt(st, Q_NOTIFY_SUPERSEDED);

	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, c->order_id);
	db_bind_int64(s, 2, c->id);
	db_bind_text(s, 3, c->shipment);
	db_bind_text(s, 4, c->stage);
	return store_each_row(st, s, store_exists_row, NULL, NULL, "superseded",
	    superseded);
}

static int
delayed_row_fn(struct db_stmt *s, void *cb, void *arg)
{
	struct count_args *a = arg;

	(void)cb;
	return a->cb(a->arg, "delayed", db_column_text(s, 0), db_column_int64(s, 1));
}

enum store_rc
store_notify_delayed(struct store *st, store_count_cb cb, void *arg)
{
	struct db_stmt *s = stmt(st, Q_NOTIFY_DELAYED);
	struct count_args a = { cb, arg };

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, delayed_row_fn, NULL, &a, "delayed counts", NULL);
}
