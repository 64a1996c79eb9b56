/*
 * store: see store.h.  The store's core: opening (the driver the
 * connection string names, then the schema), the named statements and
 * the few helpers every store file steps them with, transactions, the
 * change counter, the counts of `shiptrack check`.  Written against db.h
 * only; the concerns are in the other store files.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_int.h"

static const struct db_sql sql[] = {
	{ Q_COUNT_EVENTS_ALL, .sql = "SELECT count(*) FROM events" },
	{ Q_COUNT_ORDERS, .sql = "SELECT count(*) FROM orders" },
	{ Q_COUNT_SHIPMENTS, .sql = "SELECT count(*) FROM shipments" },
	{ Q_COUNT_CHECKPOINTS, .sql = "SELECT count(*) FROM checkpoints" },
	{ Q_COUNT_REJECTED_ALL, .sql = "SELECT count(*) FROM rejected_deliveries" },
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

enum store_rc
store_exec_later(struct store *st, struct db_stmt *s, const char *what)
{
	return db_logged(st->db, db_run_later(s), what);
}

/* store_run() and store_run_later(): bind, then run now or later. */
static enum store_rc
run_bound(struct store *st, struct db_stmt *s, const char *what, bool later,
    const char *binds, va_list ap)
{
	int i = 1;

	if (s == NULL)
		return STORE_ERROR;
	for (const char *b = binds; *b != '\0'; b++, i++) {
		if (*b == 'i')
			db_bind_int64(s, i, va_arg(ap, int64_t));
		else
			db_bind_text(s, i, va_arg(ap, const char *));
	}
	return later ? store_exec_later(st, s, what) : store_exec_stmt(st, s, what);
}

enum store_rc
store_run(struct store *st, struct db_stmt *s, const char *what,
    const char *binds, ...)
{
	va_list ap;
	enum store_rc rc;

	va_start(ap, binds);
	rc = run_bound(st, s, what, false, binds, ap);
	va_end(ap);
	return rc;
}

enum store_rc
store_run_later(struct store *st, struct db_stmt *s, const char *what,
    const char *binds, ...)
{
	va_list ap;
	enum store_rc rc;

	va_start(ap, binds);
	rc = run_bound(st, s, what, true, binds, ap);
	va_end(ap);
	return rc;
}

int
store_text_row(struct db_stmt *s, void *cb, void *arg)
{
	struct store_text *t = arg;

	(void)cb;
	store_copy_col(t->buf, t->sz, s, 0);
	return 1;
}

int
store_int64_row(struct db_stmt *s, void *cb, void *arg)
{
	(void)cb;
	*(int64_t *)arg = db_column_int64(s, 0);
	return 1;
}

int
store_exists_row(struct db_stmt *s, void *cb, void *arg)
{
	(void)s;
	(void)cb;
	(void)arg;
	return 1;
}

void
store_copy_col(char *dst, size_t dstsz, struct db_stmt *s, int i)
{
	const char *v = db_column_text(s, i);

	snprintf(dst, dstsz, "%s", v ? v : "");
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
		    " (%d): install the newer shiptrack", db_name(st->db), have, target);
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
	/*
	 * Re-read under the write lock (SQLite's BEGIN IMMEDIATE; elsewhere
	 * the "migrate" key): another process may have migrated.
	 */
	if (db_logged(st->db, db_lock_key(st->db, "migrate"), "lock") != STORE_OK) {
		db_describe(st->db, "cannot start the migration", err, errsz);
		store_rollback(st);
		return -1;
	}
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
		    "`shiptrack migrate`", db_name(st->db), have, target);
		return -1;
	}
	return 0;
}

/* --- opening ------------------------------------------------------------ */

void
store_set_password_file(const char *path)
{
	db_set_password_file(path);
}

void
store_display_name(const char *uri, char *buf, size_t bufsz)
{
	db_display_name(uri, buf, bufsz);
}

int
store_open(struct store **out, const char *uri, enum store_mode mode,
    enum durability durability, long busy_ms, char *err, size_t errsz)
{
	struct store *st;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->uri = strdup(uri)) == NULL) {
		free(st);
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	st->durability = durability;
	st->busy_ms = busy_ms;
	stale_rules_init(&st->stale, 7, STALE_RULES_DEFAULT);
	if (db_open(&st->db, uri, mode, durability, busy_ms, err, errsz) < 0 ||
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
	st->nasked = 0;	/* finalized below */
	st->ahead_sent_id = NULL;
	for (int i = 0; i < Q__MAX; i++)
		db_finalize(st->stmt[i]);
	db_close(st->db);
	free(st->uri);
	free(st);
}

/* --- reads asked ahead ---------------------------------------------------- */

static void
forget_asked(struct store *st)
{
	for (int i = 0; i < st->nasked; i++)
		db_reset(st->asked[i]);
	st->nasked = 0;
}

/* s out of the asked list: true if it was there, asked for key. */
static bool
take_asked(struct store *st, struct db_stmt *s, const char *key)
{
	for (int i = 0; i < st->nasked; i++) {
		if (st->asked[i] != s)
			continue;
		st->asked[i] = st->asked[--st->nasked];
		if (strcmp(st->asked_key, key) == 0)
			return true;
		db_reset(s);
		return false;
	}
	return false;
}

enum store_rc
store_ask(struct store *st, struct db_stmt *s, const char *key)
{
	enum store_rc rc;

	if (s == NULL || !(db_caps(st->db) & DB_PIPELINES) ||
	    strlen(key) >= sizeof(st->asked_key))
		return STORE_OK;	/* not asked: its step binds and runs it */
	if (st->nasked > 0 && strcmp(st->asked_key, key) != 0)
		forget_asked(st);
	if (take_asked(st, s, key))
		db_reset(s);	/* asked twice: the first answer may be old */
	if (st->nasked == STORE_MAX_ASKED)
		return STORE_OK;
	snprintf(st->asked_key, sizeof(st->asked_key), "%s", key);
	db_bind_text(s, 1, st->asked_key);
	if ((rc = db_send(s)) != STORE_OK) {
		db_reset(s);
		return db_logged(st->db, rc, "ask");
	}
	st->asked[st->nasked++] = s;
	return STORE_OK;
}

void
store_bind_key(struct store *st, struct db_stmt *s, const char *key)
{
	if (!take_asked(st, s, key))
		db_bind_text(s, 1, key);
}

/* --- transactions ------------------------------------------------------- */

static enum store_rc
tx(struct store *st, enum db_tx op)
{
	/* A lock taken inside a savepoint goes with it when it is undone. */
	if (op != DB_SAVEPOINT && op != DB_RELEASE)
		st->writing_events = false;
	forget_asked(st);
	/* An event inserted ahead but never applied must not be committed. */
	if (st->ahead_sent_id != NULL && op == DB_COMMIT) {
		log_error("insert event %s: sent ahead, never applied",
		    st->ahead_sent_id);
		store_event_forget_ahead(st);
		(void)db_tx(st->db, DB_ROLLBACK);
		return STORE_ERROR;
	}
	store_event_forget_ahead(st);
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

/*
 * One order's writers in turn: the recompute reads an order's records and
 * writes its state, so two transactions adding records to one order must
 * not both read before the other commits.  A no-op where BEGIN already
 * serialises every writer (db.h, DB_LOCKS_KEYS).
 */
enum store_rc
store_lock_order(struct store *st, const char *order_id)
{
	char key[320];
	enum store_rc rc;

	if (!(db_caps(st->db) & DB_LOCKS_KEYS))
		return STORE_OK;
	if ((rc = store_lock_writing_events(st)) != STORE_OK)
		return rc;
	snprintf(key, sizeof(key), "order:%s", order_id);
	return db_logged(st->db, db_lock_key(st->db, key), "lock order");
}

/*
 * Where writers do not serialise at BEGIN, an event's seq is drawn when it
 * is inserted, not when it commits: a reader that moves a mark past the
 * largest seq it sees (the Rye pass) would skip one a slower transaction
 * commits later.  So every transaction that may insert an event holds the
 * key "events" shared, before any other key lock (so that the order of
 * keys is always the same), and store_rye_settled_seq() takes it exclusive
 * for the moment it reads the largest seq: no smaller one is then still
 * uncommitted.
 */
enum store_rc
store_lock_writing_events(struct store *st)
{
	enum store_rc rc;

	if (st->writing_events || !(db_caps(st->db) & DB_LOCKS_KEYS))
		return STORE_OK;
	rc = db_logged(st->db, db_lock_key_shared(st->db, "events"), "lock events");
	st->writing_events = rc == STORE_OK;
	return rc;
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
store_change_counter(struct store *st)
{
	return db_caps(st->db) & DB_HAS_CHANGE_COUNTER ? db_change_counter(st->db) : -1;
}

int
store_log_pages(const struct store *st)
{
	return db_log_pages(st->db);
}

enum store_rc
store_empty(struct store *st)
{
	return db_logged(st->db, db_empty(st->db), "empty");
}

/* --- what `shiptrack check` tells ------------------------------------------ */

static const struct { const char *table; enum stmt q; } counted[STORE_CHECK_TABLES] = {
	{ "events", Q_COUNT_EVENTS_ALL }, { "orders", Q_COUNT_ORDERS },
	{ "shipments", Q_COUNT_SHIPMENTS }, { "checkpoints", Q_COUNT_CHECKPOINTS },
	{ "rejected_deliveries", Q_COUNT_REJECTED_ALL },
};

static enum store_rc
count(struct store *st, enum stmt q, int64_t *n)
{
	struct db_stmt *s = get_stmt(st, q);

	*n = 0;
	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, store_int64_row, NULL, n, "count", NULL);
}

enum store_rc
store_check(struct store *st, struct store_check *out)
{
	enum store_rc rc;

	memset(out, 0, sizeof(*out));
	rc = db_logged(st->db, db_integrity(st->db, out->integrity,
	    sizeof(out->integrity)), "integrity_check");
	if (rc != STORE_OK)
		return rc;
	out->schema = store_schema_version(st);
	for (size_t i = 0; i < STORE_CHECK_TABLES; i++) {
		if (count(st, counted[i].q, &out->count[out->ncounts].rows) != STORE_OK)
			continue;
		out->count[out->ncounts++].table = counted[i].table;
	}
	return STORE_OK;
}

enum store_rc
store_event_count(struct store *st, int64_t *n)
{
	return count(st, Q_COUNT_EVENTS_ALL, n);
}

void
store_set_stale_rules(struct store *st, const struct stale_rules *r)
{
	st->stale = *r;
}
