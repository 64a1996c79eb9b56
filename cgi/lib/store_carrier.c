/*
 * store_carrier: see store_carrier.h.  Statements live in the table
 * below (named in store_int.h), prepared once per handle.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_carrier.h"
#include "store_int.h"
#include "timefmt.h"

#define DUE_WHERE \
	" WHERE tracking_number IS NOT NULL AND tag NOT IN ('Delivered', 'Expired')" \
	" AND next_poll_ms <= ?1"

/* The columns the stall rule reads (store_rules.c): estimates, then the rest. */
#define STALL_COLS SHIP_EST_COLS ", " SHIP_RULE_COLS("")
#define SAME_SCAN "(stall_episode > 0 AND stall_scan IS NOT NULL" \
	" AND stall_scan = coalesce(last_checkpoint_at, ''))"
/* Column c and value v differ, a NULL differing from anything else. */
#define DIFFERS(c, v) " (" c " <> " v " OR (" c " IS NULL) <> (" v " IS NULL))"

static const struct db_sql sql[] = {
	{ Q_CARRIER_DUE_REGISTER, .sql =
	"SELECT id FROM shipments" DUE_WHERE " AND carrier_id IS NULL"
	" ORDER BY next_poll_ms, id LIMIT ?2" },
	{ Q_CARRIER_DUE_RECONCILE, .sql =
	"SELECT id FROM shipments" DUE_WHERE " AND carrier_id IS NOT NULL"
	" ORDER BY next_poll_ms, id LIMIT ?2" },
	{ Q_CARRIER_SHIPMENT, .sql =
	"SELECT id, order_id, tracking_number, carrier, carrier_id, carrier_slug,"
	" tag, next_poll_ms, poll_failures FROM shipments WHERE id = ?" },
	{ Q_CARRIER_ANY_REGISTERED, .sql =
	"SELECT EXISTS (SELECT 1 FROM shipments WHERE carrier_id IS NOT NULL)" },
	{ Q_CARRIER_MATCH, .sql =
	"SELECT id, order_id FROM shipments"
	" WHERE carrier_id IS NOT NULL AND carrier_id IN (?1, ?2)"
	" UNION SELECT id, order_id FROM shipments"
	" WHERE carrier_id IS NULL AND tracking_number = ?3"
	" ORDER BY 1" },
	/*
	 * The rule: never data older (updated_at) than what is stored.  An
	 * equal stamp is applied: AfterShip's updated_at has whole seconds,
	 * and a tracking changed twice within one second keeps its stamp, so
	 * "strictly newer" would lose the second change for good.  Applying
	 * the same version twice changes nothing.
	 */
	{ Q_CARRIER_NEWER, .sql =
	"SELECT carrier_updated_ms IS NULL OR ?2 >= carrier_updated_ms"
	" FROM shipments WHERE id = ?1" },
	/* Changes only what differs, so db_changes() says whether it did. */
	{ Q_CARRIER_SET_FIELDS, .sql =
	"UPDATE shipments SET tag = coalesce(?2, tag), subtag = ?3,"
	" subtag_message = ?4, expected_delivery = ?5, delivered_at = ?6,"
	" est_carrier_earliest = ?7, est_carrier_latest = ?8,"
	" est_predicted_earliest = ?9, est_predicted_latest = ?10,"
	" pickup_location = ?11, pickup_note = ?12, signed_by = ?13,"
	" carrier_tracking_link = ?14"
	" WHERE id = ?1 AND (tag <> coalesce(?2, tag) OR" DIFFERS("subtag", "?3")
	" OR" DIFFERS("subtag_message", "?4") " OR" DIFFERS("expected_delivery", "?5")
	" OR" DIFFERS("delivered_at", "?6") " OR" DIFFERS("est_carrier_earliest", "?7")
	" OR" DIFFERS("est_carrier_latest", "?8")
	" OR" DIFFERS("est_predicted_earliest", "?9")
	" OR" DIFFERS("est_predicted_latest", "?10")
	" OR" DIFFERS("pickup_location", "?11") " OR" DIFFERS("pickup_note", "?12")
	" OR" DIFFERS("signed_by", "?13") " OR" DIFFERS("carrier_tracking_link", "?14")
	")" },
	{ Q_CARRIER_SET_UPDATED, .sql =
	"UPDATE shipments SET carrier_updated_ms = ?2 WHERE id = ?1" },
	{ Q_CARRIER_IDENTITY_ADOPT, .sql =
	"UPDATE shipments SET carrier_id = coalesce(?2, carrier_id),"
	" carrier_slug = coalesce(?3, carrier_slug) WHERE id = ?1" },
	{ Q_CARRIER_IDENTITY_KEEP, .sql =
	"UPDATE shipments SET carrier_id = coalesce(carrier_id, ?2),"
	" carrier_slug = coalesce(?3, carrier_slug) WHERE id = ?1" },
	{ Q_CARRIER_CHECKPOINT, .sql =
	"INSERT INTO checkpoints(shipment_id, time_raw, time_ms, has_offset, tag,"
	" subtag, message, location) VALUES (?,?,?,?,?,?,?,?)"
	" ON CONFLICT DO NOTHING" },
	{ Q_CARRIER_LAST_CHECKPOINT, .sql =
	"SELECT time_raw, time_ms, has_offset FROM checkpoints WHERE shipment_id = ?"
	" ORDER BY time_ms IS NULL, time_ms DESC, time_raw DESC LIMIT 1" },
	{ Q_CARRIER_SET_LAST_CHECKPOINT, .sql =
	"UPDATE shipments SET last_checkpoint_at = ?2 WHERE id = ?1" },
	{ Q_CARRIER_FETCHED, .sql =
	"UPDATE shipments SET checked_at = ?2, next_poll_ms = ?3, poll_error = NULL,"
	" poll_error_at = NULL, poll_failures = 0 WHERE id = ?1" },
	/* next_poll_ms: the back-off (store_backoff_ms) after the failures so far. */
	{ Q_CARRIER_FAILURES, .sql = "SELECT poll_failures FROM shipments WHERE id = ?1" },
	{ Q_CARRIER_FAIL, .sql =
	"UPDATE shipments SET poll_error = ?2, poll_error_at = ?3,"
	" poll_failures = poll_failures + 1, next_poll_ms = ?4 WHERE id = ?1" },
	{ Q_CARRIER_REJECT, .sql =
	"UPDATE shipments SET poll_error = ?2, poll_error_at = ?3,"
	" poll_failures = poll_failures + 1, next_poll_ms = 9223372036854775807"
	" WHERE id = ?1" },
	{ Q_CARRIER_STALL_GET, .sql =
	"SELECT order_id, tracking_number, tag, stall_episode, " SAME_SCAN ","
	" stalled_since IS NOT NULL, tag IN ('Delivered', 'Expired'),"
	" coalesce(last_checkpoint_at, ''), " STALL_COLS " FROM shipments WHERE id = ?1" },
	{ Q_CARRIER_STALL_BEGIN, .sql =
	"UPDATE shipments SET stall_episode = stall_episode + 1, stall_scan = ?2,"
	" stalled_since = ?3 WHERE id = ?1" },
	{ Q_CARRIER_STALL_END, .sql = "UPDATE shipments SET stalled_since = NULL WHERE id = ?1" },
	/* Through the due index: numbered, not final; C judges the stall. */
	{ Q_CARRIER_STALL_DUE, .sql =
	"SELECT id, " STALL_COLS " FROM shipments WHERE tracking_number IS NOT NULL"
	" AND tag NOT IN ('Delivered', 'Expired') AND NOT " SAME_SCAN " ORDER BY id" },
};

static struct db_stmt *
stmt(struct store *st, enum stmt q)
{
	return store_stmt(st, q, sql, STORE_SQL_N(sql));
}

/* --- due shipments ------------------------------------------------------ */

struct ids {
	int64_t *v;
	size_t n, cap;
};

static int
id_row(struct db_stmt *s, void *cb, void *arg)
{
	struct ids *ids = arg;

	(void)cb;
	if (ids->n == ids->cap) {
		size_t cap = ids->cap ? ids->cap * 2 : 256;
		int64_t *p = realloc(ids->v, cap * sizeof(*p));
		if (p == NULL)
			return -1;
		ids->v = p;
		ids->cap = cap;
	}
	ids->v[ids->n++] = db_column_int64(s, 0);
	return 0;
}

enum store_rc
store_carrier_due(struct store *st, enum store_due kind, int64_t now_ms,
    long limit, int64_t **out, size_t *n)
{
	struct db_stmt *s = stmt(st, kind == DUE_REGISTER ? Q_CARRIER_DUE_REGISTER :
	    Q_CARRIER_DUE_RECONCILE);
	struct ids ids = { NULL, 0, 0 };
	enum store_rc rc;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, now_ms);
	db_bind_int64(s, 2, limit < 0 ? INT64_MAX : limit);
	rc = store_each_row(st, s, id_row, NULL, &ids, "due shipments", NULL);
	if (rc != STORE_OK) {
		free(ids.v);
		return rc;
	}
	*out = ids.v;
	*n = ids.n;
	return STORE_OK;
}

static int
ship_row(struct db_stmt *s, void *cb, void *arg)
{
	struct carrier_ship *sh = arg;

	(void)cb;
	sh->id = db_column_int64(s, 0);
	store_copy_col(sh->order_id, sizeof(sh->order_id), s, 1);
	store_copy_col(sh->tracking_number, sizeof(sh->tracking_number), s, 2);
	store_copy_col(sh->carrier, sizeof(sh->carrier), s, 3);
	store_copy_col(sh->carrier_id, sizeof(sh->carrier_id), s, 4);
	store_copy_col(sh->carrier_slug, sizeof(sh->carrier_slug), s, 5);
	store_copy_col(sh->tag, sizeof(sh->tag), s, 6);
	sh->next_poll_ms = db_column_int64(s, 7);
	sh->failures = (long)db_column_int64(s, 8);
	return 1;
}

enum store_rc
store_carrier_shipment(struct store *st, int64_t id, struct carrier_ship *out)
{
	struct db_stmt *s = stmt(st, Q_CARRIER_SHIPMENT);
	enum store_rc rc;
	bool any;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, id);
	rc = store_each_row(st, s, ship_row, NULL, out, "shipment", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

static int
bool_row(struct db_stmt *s, void *cb, void *arg)
{
	(void)cb;
	*(bool *)arg = db_column_int64(s, 0) != 0;
	return 1;
}

enum store_rc
store_carrier_any_registered(struct store *st, bool *any)
{
	struct db_stmt *s = stmt(st, Q_CARRIER_ANY_REGISTERED);

	*any = false;
	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, bool_row, NULL, any, "registered", NULL);
}

static int
match_row(struct db_stmt *s, void *cb, void *arg)
{
	struct carrier_matches *m = arg;

	(void)cb;
	if (m->n == STORE_MAX_MATCHES)
		return 1;
	m->v[m->n].id = db_column_int64(s, 0);
	store_copy_col(m->v[m->n].order_id, sizeof(m->v[m->n].order_id), s, 1);
	m->n++;
	return 0;
}

enum store_rc
store_carrier_match(struct store *st, const char *id, const char *legacy_id,
    const char *tracking_number, struct carrier_matches *m)
{
	struct db_stmt *s = stmt(st, Q_CARRIER_MATCH);

	m->n = 0;
	if (s == NULL)
		return STORE_ERROR;
	db_bind_text(s, 1, id);
	db_bind_text(s, 2, legacy_id);
	db_bind_text(s, 3, tracking_number);
	return store_each_row(st, s, match_row, NULL, m, "match tracking", NULL);
}

/* --- applying a tracking ------------------------------------------------ */

static enum store_rc
is_newer(struct store *st, int64_t id, const struct store_tracking *t,
    bool *newer)
{
	struct db_stmt *s = stmt(st, Q_CARRIER_NEWER);
	enum store_rc rc;
	bool any;

	*newer = false;
	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, id);
	/* Without updated_at only a shipment with no carrier data takes it. */
	db_bind_int64(s, 2, t->has_updated ? t->updated_ms : INT64_MIN);
	rc = store_each_row(st, s, bool_row, NULL, newer, "newer", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

static enum store_rc
exec_changes(struct store *st, struct db_stmt *s, const char *what, bool *changed)
{
	enum store_rc rc = store_exec_stmt(st, s, what);

	if (rc == STORE_OK && changed != NULL && db_changes(st->db) > 0)
		*changed = true;
	return rc;
}

static enum store_rc
set_fields(struct store *st, int64_t id, const struct store_tracking *t,
    bool *changed)
{
	struct db_stmt *s = stmt(st, Q_CARRIER_SET_FIELDS), *u = stmt(st, Q_CARRIER_SET_UPDATED);
	enum store_rc rc;

	if (s == NULL || u == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, id);
	db_bind_text(s, 2, t->tag);
	db_bind_text(s, 3, t->subtag);
	db_bind_text(s, 4, t->subtag_message);
	db_bind_text(s, 5, t->expected_delivery);
	db_bind_text(s, 6, t->delivered_at);
	for (int k = 0; k < STORE_EST__MAX; k++) {
		db_bind_text(s, 7 + 2 * k, t->est_earliest[k]);
		db_bind_text(s, 8 + 2 * k, t->est_latest[k]);
	}
	db_bind_text(s, 11, t->pickup_location);
	db_bind_text(s, 12, t->pickup_note);
	db_bind_text(s, 13, t->signed_by);
	db_bind_text(s, 14, t->tracking_link);
	if ((rc = exec_changes(st, s, "apply tracking", changed)) != STORE_OK)
		return rc;
	db_bind_int64(u, 1, id);
	db_bind_int64(u, 2, t->has_updated ? t->updated_ms : 0);
	return store_exec_stmt(st, u, "tracking updated_at");
}

static enum store_rc
set_identity(struct store *st, int64_t id, const struct store_tracking *t,
    bool adopt)
{
	enum stmt q = adopt ? Q_CARRIER_IDENTITY_ADOPT : Q_CARRIER_IDENTITY_KEEP;

	return store_run(st, stmt(st, q), "tracking identity", "itt",
	    (int64_t)id, t->id ? t->id : t->legacy_id, t->slug);
}

static enum store_rc
add_checkpoints(struct store *st, int64_t id, const struct store_tracking *t,
    bool *added)
{
	struct db_stmt *s = stmt(st, Q_CARRIER_CHECKPOINT);
	enum store_rc rc = STORE_OK;

	if (s == NULL)
		return STORE_ERROR;
	for (size_t i = 0; i < t->nscans && rc == STORE_OK; i++) {
		const struct store_scan *c = &t->scans[i];

		db_bind_int64(s, 1, id);
		db_bind_text(s, 2, c->time_raw);
		if (c->time_ok)
			db_bind_int64(s, 3, c->time_ms);
		db_bind_int64(s, 4, c->time_ok && c->has_offset);
		db_bind_text(s, 5, c->tag ? c->tag : "");
		db_bind_text(s, 6, c->subtag);
		db_bind_text(s, 7, c->message ? c->message : "");
		db_bind_text(s, 8, c->location);
		rc = exec_changes(st, s, "insert checkpoint", added);
	}
	return rc;
}

struct last_cp {
	char at[STORE_CARRIER_DATE_MAX];
};

static int
last_cp_row(struct db_stmt *s, void *cb, void *arg)
{
	struct last_cp *l = arg;

	(void)cb;
	/* The UTC form where the offset is known, else the carrier's local time. */
	if (!db_column_is_null(s, 1) && db_column_int64(s, 2)) {
		char iso[TIMEFMT_ISO_LEN];
		timefmt_iso_utc(db_column_int64(s, 1), iso);
		snprintf(l->at, sizeof(l->at), "%s", iso);
	} else
		store_copy_col(l->at, sizeof(l->at), s, 0);
	return 1;
}

static enum store_rc
set_last_checkpoint(struct store *st, int64_t id)
{
	struct db_stmt *s = stmt(st, Q_CARRIER_LAST_CHECKPOINT);
	struct db_stmt *u = stmt(st, Q_CARRIER_SET_LAST_CHECKPOINT);
	struct last_cp l = { "" };
	enum store_rc rc;

	if (s == NULL || u == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, id);
	if ((rc = store_each_row(st, s, last_cp_row, NULL, &l, "last checkpoint",
	    NULL)) != STORE_OK)
		return rc;
	db_bind_int64(u, 1, id);
	db_bind_text(u, 2, l.at[0] ? l.at : NULL);
	return store_exec_stmt(st, u, "set last checkpoint");
}

static enum store_rc
set_fetched(struct store *st, int64_t id, const struct carrier_apply *how)
{
	struct db_stmt *s = stmt(st, Q_CARRIER_FETCHED);
	char now[TIMEFMT_ISO_LEN];

	if (s == NULL)
		return STORE_ERROR;
	timefmt_iso_utc(how->now_ms - how->now_ms % 1000, now);
	db_bind_int64(s, 1, id);
	db_bind_text(s, 2, now);
	db_bind_int64(s, 3, how->next_poll_ms);
	return store_exec_stmt(st, s, "fetched");
}

enum store_rc
store_carrier_apply(struct store *st, int64_t id, const struct store_tracking *t,
    const struct carrier_apply *how, bool *changed)
{
	bool newer, added = false;
	enum store_rc rc;

	*changed = false;
	if ((rc = is_newer(st, id, t, &newer)) != STORE_OK)
		return rc;
	if ((rc = set_identity(st, id, t, how->adopt)) != STORE_OK)
		return rc;
	if (newer) {
		if ((rc = set_fields(st, id, t, changed)) != STORE_OK ||
		    (rc = add_checkpoints(st, id, t, &added)) != STORE_OK)
			return rc;
		if (added && (rc = set_last_checkpoint(st, id)) != STORE_OK)
			return rc;
		*changed = *changed || added;
	}
	return how->fetched ? set_fetched(st, id, how) : STORE_OK;
}

/* --- errors ----------------------------------------------------------- */

static enum store_rc
record_error(struct store *st, enum stmt q, int64_t id, const char *message,
    int64_t now_ms, int64_t base_ms, int64_t cap_ms)
{
	struct db_stmt *s = stmt(st, q), *f = stmt(st, Q_CARRIER_FAILURES);
	char now[TIMEFMT_ISO_LEN];
	int64_t failures = 0;
	enum store_rc rc;

	if (s == NULL || f == NULL)
		return STORE_ERROR;
	if (q == Q_CARRIER_FAIL) {
		db_bind_int64(f, 1, id);
		if ((rc = store_each_row(st, f, store_int64_row, NULL, &failures,
		    "poll failures", NULL)) != STORE_OK)
			return rc;
		db_bind_int64(s, 4, now_ms + store_backoff_ms(failures, base_ms,
		    cap_ms));
	}
	timefmt_iso_utc(now_ms - now_ms % 1000, now);
	db_bind_int64(s, 1, id);
	db_bind_text(s, 2, message);
	db_bind_text(s, 3, now);
	return store_exec_stmt(st, s, "record poll error");
}

enum store_rc
store_carrier_fail(struct store *st, int64_t id, const char *message,
    int64_t now_ms, int64_t base_ms, int64_t cap_ms)
{
	return record_error(st, Q_CARRIER_FAIL, id, message, now_ms, base_ms, cap_ms);
}

enum store_rc
store_carrier_reject(struct store *st, int64_t id, const char *message,
    int64_t now_ms)
{
	return record_error(st, Q_CARRIER_REJECT, id, message, now_ms, 0, 0);
}

/* --- stall episodes ------------------------------------------------------ */

/* Whether the row's shipment is stalled at now (its STALL_COLS from first on). */
static bool
stalled_row(const struct store *st, struct db_stmt *s, int first, int64_t now_ms)
{
	struct ship_cols c;

	store_ship_cols(s, first + SHIP_EST_NCOLS, &c);
	store_ship_estimates(s, first, &c);
	return store_ship_stalled(st, &c, now_ms);
}

struct stall_ctx {
	const struct store *st;
	int64_t now_ms;
	struct carrier_stall *out;
};

static int
stall_row(struct db_stmt *s, void *cb, void *arg)
{
	struct stall_ctx *x = arg;
	struct carrier_stall *o = x->out;

	(void)cb;
	store_copy_col(o->order_id, sizeof(o->order_id), s, 0);
	store_copy_col(o->tracking_number, sizeof(o->tracking_number), s, 1);
	store_copy_col(o->tag, sizeof(o->tag), s, 2);
	o->episode = (long)db_column_int64(s, 3);
	o->same_scan = db_column_int64(s, 4) != 0;
	o->open = db_column_int64(s, 5) != 0;
	o->final = db_column_int64(s, 6) != 0;
	store_copy_col(o->scan, sizeof(o->scan), s, 7);
	o->stalled = stalled_row(x->st, s, 8, x->now_ms);
	return 1;
}

enum store_rc
store_carrier_stall_get(struct store *st, int64_t id, int64_t now_ms,
    struct carrier_stall *out)
{
	struct db_stmt *s = stmt(st, Q_CARRIER_STALL_GET);
	struct stall_ctx x = { st, now_ms, out };
	enum store_rc rc;
	bool any;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return STORE_ERROR;
	db_bind_int64(s, 1, id);
	rc = store_each_row(st, s, stall_row, NULL, &x, "stall", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

enum store_rc
store_carrier_stall_begin(struct store *st, int64_t id, const char *scan,
    const char *now_iso)
{
	return store_run(st, stmt(st, Q_CARRIER_STALL_BEGIN), "begin stall", "itt",
	    (int64_t)id, scan, now_iso);
}

enum store_rc
store_carrier_stall_end(struct store *st, int64_t id)
{
	return store_run(st, stmt(st, Q_CARRIER_STALL_END), "end stall", "i",
	    (int64_t)id);
}

/* The sweep's candidates, kept while stalled, up to limit (< 0: all). */
struct stalled_ids {
	const struct store *st;
	int64_t now_ms;
	long limit;
	struct ids ids;
};

static int
stalled_id_row(struct db_stmt *s, void *cb, void *arg)
{
	struct stalled_ids *x = arg;

	if (!stalled_row(x->st, s, 1, x->now_ms))
		return 0;
	if (id_row(s, cb, &x->ids) < 0)
		return -1;
	return x->limit >= 0 && (long)x->ids.n >= x->limit ? 1 : 0;
}

enum store_rc
store_carrier_stall_due(struct store *st, int64_t now_ms, long limit,
    int64_t **out, size_t *n)
{
	struct db_stmt *s = stmt(st, Q_CARRIER_STALL_DUE);
	struct stalled_ids x = { st, now_ms, limit, { NULL, 0, 0 } };
	enum store_rc rc = STORE_OK;

	*out = NULL;
	*n = 0;
	if (s == NULL)
		return STORE_ERROR;
	if (limit != 0)
		rc = store_each_row(st, s, stalled_id_row, NULL, &x,
		    "stalled shipments", NULL);
	if (rc != STORE_OK) {
		free(x.ids.v);
		return rc;
	}
	*out = x.ids.v;
	*n = x.ids.n;
	return STORE_OK;
}
