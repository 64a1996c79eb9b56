/*
 * store: see store.h.
 *
 * Statements are named by an enum and their SQL sits in one table below,
 * prepared lazily on first use and kept for the life of the handle.  Each
 * use binds, steps and resets through the same few helpers, so there is
 * exactly one place where SQLite result codes become store_rc values.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "log.h"
#include "sig.h"
#include "store.h"
#include "store_int.h"
#include "timefmt.h"

extern const char *const shiptrack_migrations[];
extern const int shiptrack_migration_count;

enum stmt {
	Q_EVENT_INSERT, Q_REJECT_INSERT, Q_SHIP_UPSERT, Q_SHIP_PENDING,
	Q_ORDER_UPSERT, Q_ORDER_EVENTS, Q_ALL_EVENTS, Q_EVENT_REDERIVE,
	Q_ORDER_GET, Q_ORDER_SHIPMENTS, Q_CHECKPOINTS, Q_EVENT_ORDER_IDS,
	Q_ORDERS_LIST, Q_ORDERS_SCAN, Q_COUNT_STATUS, Q_COUNT_STAGE,
	Q_COUNT_EVENTS, Q_COUNT_REJECTED, Q_META_PREFIX, Q_EXPORT,
	Q_ORDER_STAGE, Q_NOTIFY_INSERT, Q_RESET_DERIVED, Q_PRUNE_SHIPMENTS,
	Q_PRUNE_ORDERS,
	Q_BEGIN, Q_COMMIT, Q_ROLLBACK, Q_SAVEPOINT, Q_RELEASE, Q_ROLLBACK_TO,
	Q_BEGIN_READ, Q_DATA_VERSION,
	Q__MAX
};
STORE_SLOTS_FIT(Q__MAX, SLOTS_CARRIER);


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

static const char *const stmt_sql[Q__MAX] = {
	[Q_EVENT_INSERT] =
	"INSERT INTO events(id, scheme, type, order_id, created_at, created_ms,"
	" marketplace, received_at, body, source, subject, status)"
	" VALUES (?,?,?,?,?,?,?,?,?,coalesce(?10, 'webhook'),?,?)"
	" ON CONFLICT(id) DO NOTHING",
	[Q_REJECT_INSERT] =
	"INSERT INTO rejected_deliveries(scheme, reason, received_at, body)"
	" VALUES (?,?,?,?)",
	/*
	 * Order-independent merge, on keys that sort as (createdAt, event
	 * id): the earliest announcement orders the shipment; carrier and URL
	 * each come from the latest event that names one.  SET expressions
	 * see the row as it was, so each CASE compares with the old keys.
	 */
	[Q_SHIP_UPSERT] =
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
	" THEN ?5 ELSE shipments.url_key END",
	/* A pending shipment belongs to one event: its values are that event's. */
	[Q_SHIP_PENDING] =
	"INSERT INTO shipments(order_id, pending_key, carrier, tracking_url,"
	" first_key, carrier_key, url_key)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?5, ?5)"
	" ON CONFLICT(order_id, pending_key) DO UPDATE SET"
	" first_key = ?5, carrier = ?3, tracking_url = ?4, carrier_key = ?5, url_key = ?5",
	[Q_ORDER_UPSERT] =
	"INSERT INTO orders(id, status, stage, marketplace, created_at, created_ms,"
	" updated_at, updated_ms) VALUES (?,?,?,?,?,?,?,?)"
	" ON CONFLICT(id) DO UPDATE SET status = excluded.status,"
	" stage = excluded.stage, marketplace = excluded.marketplace,"
	" created_at = excluded.created_at, created_ms = excluded.created_ms,"
	" updated_at = CASE WHEN ?9 AND " UNCHANGED " THEN orders.updated_at"
	" ELSE excluded.updated_at END,"
	" updated_ms = CASE WHEN ?9 AND " UNCHANGED " THEN orders.updated_ms"
	" ELSE excluded.updated_ms END",
	[Q_ORDER_EVENTS] =
	"SELECT seq, created_ms, id, scheme, type, order_id, created_at,"
	" received_at, marketplace, source, subject, status FROM events"
	" WHERE order_id = ? ORDER BY created_ms, id",
	[Q_ALL_EVENTS] =
	"SELECT seq, created_ms, id, scheme, type, order_id, created_at,"
	" received_at, marketplace, source, subject, status, body"
	" FROM events ORDER BY seq",
	[Q_EVENT_REDERIVE] =
	"UPDATE events SET type = ?, order_id = ?, created_at = ?, created_ms = ?,"
	" marketplace = ?, subject = ?, status = ? WHERE seq = ?",
	[Q_ORDER_GET] =
	"SELECT id, status, stage, marketplace, created_at, updated_at"
	" FROM orders WHERE id = ?",
	/* Pending shipments (no number) sort after numbered ones at equal time. */
	[Q_ORDER_SHIPMENTS] =
	"SELECT id, tracking_number, carrier, tracking_url, subtag,"
	" subtag_message, expected_delivery, delivered_at, last_checkpoint_at,"
	" checked_at, poll_error, poll_error_at,"
	" est_carrier_earliest, est_carrier_latest, est_predicted_earliest,"
	" est_predicted_latest, rye_estimated_delivery, pickup_location, pickup_note,"
	" signed_by, carrier_tracking_link,"
	" rye_shipment_id, rye_status, rye_estimated_delivery, rye_delivered_at, "
	SHIP_RULE_COLS("") " FROM shipments WHERE order_id = ?"
	" ORDER BY first_key NULLS FIRST, tracking_number IS NULL, tracking_number,"
	" pending_key NULLS FIRST",
	[Q_CHECKPOINTS] =
	/* Rye's tracking events stand in until the carrier has scans of its own. */
	"SELECT time_raw, tag, subtag, message, location, time_ms, has_offset"
	" FROM checkpoints WHERE shipment_id = ?1"
	" UNION ALL SELECT time_raw, tag, NULL, message, location, time_ms, has_offset"
	" FROM rye_checkpoints WHERE shipment_id = ?1"
	" AND NOT EXISTS (SELECT 1 FROM checkpoints WHERE shipment_id = ?1)"
	" ORDER BY time_ms DESC NULLS LAST, time_raw DESC, message, tag",
	[Q_EVENT_ORDER_IDS] =
	"SELECT DISTINCT order_id FROM events WHERE order_id IS NOT NULL"
	" ORDER BY order_id",
	[Q_ORDERS_LIST] =
	"SELECT id, created_ms FROM orders"
	" WHERE (?1 IS NULL OR status = ?1) AND (?2 IS NULL OR stage = ?2)"
	" AND (NOT ?3 OR (created_ms, id) < (?4, ?5))"
	" ORDER BY created_ms DESC, id DESC LIMIT ?6",
	/*
	 * The same orders, each with the columns of its shipments the
	 * staleness rule reads (one row per shipment, or one with NULLs):
	 * the rule is C's (store_rules.c), applied as the rows come.
	 */
	[Q_ORDERS_SCAN] =
	"SELECT o.id, o.created_ms, o.stage, s.id, " SHIP_RULE_COLS("s.")
	" FROM orders o LEFT JOIN shipments s ON s.order_id = o.id"
	" WHERE (?1 IS NULL OR o.status = ?1) AND (?2 IS NULL OR o.stage = ?2)"
	" AND (NOT ?3 OR (o.created_ms, o.id) < (?4, ?5))"
	" ORDER BY o.created_ms DESC, o.id DESC",
	[Q_COUNT_STATUS] = "SELECT status, count(*) FROM orders GROUP BY status ORDER BY status",
	[Q_COUNT_STAGE] = "SELECT stage, count(*) FROM orders GROUP BY stage ORDER BY stage",
	[Q_COUNT_EVENTS] = "SELECT 'events', count(*) FROM events",
	[Q_COUNT_REJECTED] = "SELECT 'rejected_deliveries', count(*) FROM rejected_deliveries",
	[Q_EXPORT] =
	"SELECT o.id, o.status, o.stage, o.marketplace, o.created_at, o.updated_at,"
	" s.tracking_number, s.carrier, s.tracking_url, s.tag, s.subtag,"
	" s.expected_delivery, s.delivered_at, s.last_checkpoint_at, s.checked_at, "
	SHIP_RULE_COLS("s.") " FROM orders o LEFT JOIN shipments s ON s.order_id = o.id"
	" ORDER BY o.created_ms DESC, o.id DESC, s.first_key NULLS FIRST,"
	" s.tracking_number NULLS FIRST",
	[Q_ORDER_STAGE] = "SELECT stage FROM orders WHERE id = ?",
	[Q_NOTIFY_INSERT] =
	"INSERT INTO notifications(uid, order_id, stage, previous_stage, shipment,"
	" occurred_at, created_ms, next_attempt_ms) VALUES (?,?,?,?,?,?,?,?7)"
	" ON CONFLICT(order_id, stage, shipment) DO NOTHING",
	/*
	 * Transaction control, prepared once like the rest: the group-commit
	 * leader runs a SAVEPOINT and a RELEASE per webhook, and parsing them
	 * again each time (sqlite3_exec) cost more than running them.
	 */
	[Q_BEGIN] = "BEGIN IMMEDIATE",
	[Q_COMMIT] = "COMMIT",
	[Q_ROLLBACK] = "ROLLBACK",
	[Q_SAVEPOINT] = "SAVEPOINT item",
	[Q_RELEASE] = "RELEASE item",
	[Q_ROLLBACK_TO] = "ROLLBACK TO item",
	[Q_BEGIN_READ] = "BEGIN DEFERRED",
	[Q_DATA_VERSION] = "PRAGMA data_version",
	/* A few dozen small rows: the prefix is matched in C. */
	[Q_META_PREFIX] = "SELECT key, value FROM meta ORDER BY key",
	[Q_RESET_DERIVED] =
	"UPDATE shipments SET first_key = NULL, carrier_key = NULL,"
	" url_key = NULL, carrier = NULL, tracking_url = NULL",
	[Q_PRUNE_SHIPMENTS] = "DELETE FROM shipments WHERE first_key IS NULL",
	[Q_PRUNE_ORDERS] =
	"DELETE FROM orders WHERE id NOT IN"
	" (SELECT order_id FROM events WHERE order_id IS NOT NULL)",
};


enum store_rc
store_map_rc(struct store *st, int rc, const char *what)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		log_warn("%s: database is busy", what);
		return STORE_BUSY;
	case SQLITE_FULL:
		log_error("%s: database or disk is full", what);
		return STORE_FULL;
	default:
		log_error("%s: %s", what, st && st->db ? sqlite3_errmsg(st->db) :
		    sqlite3_errstr(rc));
		return STORE_ERROR;
	}
}

/*
 * SQLite's default busy handler sleeps in whole milliseconds and longer
 * as it retries; with several FastCGI writers that sleep, not the work,
 * dominated tail latency.  Poll finely at first, then back off to 2 ms.
 */
static int
busy_handler(void *arg, int count)
{
	struct store *st = arg;
	struct timespec now, nap;
	long elapsed_ms, us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0)
		st->busy_start = now;
	elapsed_ms = (now.tv_sec - st->busy_start.tv_sec) * 1000 +
	    (now.tv_nsec - st->busy_start.tv_nsec) / 1000000;
	if (elapsed_ms >= st->busy_ms)
		return 0;
	us = count < 10 ? 50 : count < 50 ? 250 : 2000;
	nap.tv_sec = 0;
	nap.tv_nsec = us * 1000;
	nanosleep(&nap, NULL);
	return 1;
}

sqlite3_stmt *
store_stmt(struct store *st, int slot, const char *sql)
{
	if (slot < 0 || slot >= STORE_MAX_STMTS)
		return NULL;
	if (st->stmt[slot] == NULL && sqlite3_prepare_v3(st->db, sql, -1,
	    SQLITE_PREPARE_PERSISTENT, &st->stmt[slot], NULL) != SQLITE_OK) {
		log_error("prepare %d: %s", slot, sqlite3_errmsg(st->db));
		return NULL;
	}
	return st->stmt[slot];
}

static sqlite3_stmt *
get_stmt(struct store *st, enum stmt q)
{
	return store_stmt(st, (int)q, stmt_sql[q]);
}

void
store_bind_text(sqlite3_stmt *s, int i, const char *v)
{
	if (v == NULL)
		sqlite3_bind_null(s, i);
	else
		sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Step a statement that returns no rows, then reset it. */
enum store_rc
store_exec_stmt(struct store *st, sqlite3_stmt *s, const char *what)
{
	int rc = sqlite3_step(s);
	enum store_rc r = store_map_rc(st, rc == SQLITE_DONE ? SQLITE_OK : rc, what);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return r;
}

enum store_rc
store_exec_sql(struct store *st, const char *sql)
{
	char *msg = NULL;
	int rc = sqlite3_exec(st->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK && msg != NULL)
		log_debug("sql: %s", msg);
	sqlite3_free(msg);
	return store_map_rc(st, rc, "exec");
}

const char *
store_col_text(sqlite3_stmt *s, int i)
{
	return (const char *)sqlite3_column_text(s, i);
}

int
store_schema_target(void)
{
	return shiptrack_migration_count;
}

int
store_schema_version(struct store *st)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
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

/* SQLite's progress handler during a migration: tell, and never interrupt. */
static int
migrate_tick(void *arg)
{
	(void)arg;
	migrate_fn(migrate_arg, migrating.from, migrating.done, migrating.total);
	return 0;
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
	sqlite3_progress_handler(st->db, done < total ? 100000 : 0,
	    done < total ? migrate_tick : NULL, NULL);
}

/*
 * "database PATH: WHAT: SQLite's message (why)".  Every failure to open,
 * configure or migrate says this much: a read-only directory is not a
 * schema problem.  "why" is the system's reason when SQLite's message is
 * about a file ("unable to open database file" does not say why): the
 * error of creating the file ourselves (create_private()) if that
 * failed, since SQLite's own last try is a read-only open whose ENOENT
 * hides the EACCES; else the errno SQLite kept.
 */
static void
db_error(struct store *st, const char *path, const char *what, int create_errno,
    char *err, size_t errsz)
{
	int code = st->db ? sqlite3_extended_errcode(st->db) & 0xff : SQLITE_NOMEM;
	int sys = create_errno != 0 ? create_errno : st->db ? sqlite3_system_errno(st->db) : 0;
	char why[160] = "";

	if (code == SQLITE_READONLY)
		snprintf(why, sizeof(why), " (each program using it needs write"
		    " access to its file and directory: WAL keeps -wal and -shm"
		    " files beside it)");
	else if (sys != 0 && (code == SQLITE_CANTOPEN || code == SQLITE_IOERR ||
	    code == SQLITE_PERM))
		snprintf(why, sizeof(why), " (%s%s)", create_errno != 0 ?
		    "creating it: " : "", strerror(sys));
	snprintf(err, errsz, "database %s: %s: %s%s", path, what,
	    st->db ? sqlite3_errmsg(st->db) : "out of memory", why);
}

/* The file's schema against this build's; -1 with err when it cannot go on. */
static int
schema_check(struct store *st, const char *path, int have, char *err,
    size_t errsz)
{
	if (have < 0)
		db_error(st, path, "cannot read the schema version", 0, err, errsz);
	else if (have > shiptrack_migration_count)
		snprintf(err, errsz, "database %s: schema %d is newer than this build's"
		    " (%d): install the newer shiptrack", path, have,
		    shiptrack_migration_count);
	return have < 0 || have > shiptrack_migration_count ? -1 : 0;
}

static int
migrate(struct store *st, const char *path, char *err, size_t errsz)
{
	int have = store_schema_version(st);
	char sql[64];

	if (schema_check(st, path, have, err, errsz) < 0)
		return -1;
	if (have == shiptrack_migration_count)
		return 0;
	if (store_begin(st) != STORE_OK) {
		db_error(st, path, "cannot start the migration", 0, err, errsz);
		return -1;
	}
	/* Re-read under the write lock: another process may have migrated. */
	have = store_schema_version(st);
	for (int i = have; i < shiptrack_migration_count; i++) {
		migrate_told(st, have, i - have, shiptrack_migration_count - have);
		if (store_exec_sql(st, shiptrack_migrations[i]) != STORE_OK) {
			snprintf(sql, sizeof(sql), "migration %d failed", i + 1);
			db_error(st, path, sql, 0, err, errsz);
			sqlite3_progress_handler(st->db, 0, NULL, NULL);
			store_rollback(st);
			return -1;
		}
	}
	migrate_told(st, have, shiptrack_migration_count - have,
	    shiptrack_migration_count - have);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", shiptrack_migration_count);
	if (store_exec_sql(st, sql) != STORE_OK || store_commit(st) != STORE_OK) {
		db_error(st, path, "cannot record the schema version", 0, err, errsz);
		store_rollback(st);
		return -1;
	}
	if (have < shiptrack_migration_count)
		log_info("database migrated from schema %d to %d", have,
		    shiptrack_migration_count);
	return 0;
}

/*
 * WAL checkpoints.  SQLite's own auto-checkpoint (PASSIVE at 1000 pages)
 * cannot finish while other connections keep reading and writing, and
 * with several writer processes (mod_fcgid) under sustained load the WAL
 * then grows without bound, and readers slow down with it.  This hook
 * keeps the PASSIVE checkpoint and, once the WAL passes WAL_RESET_PAGES,
 * asks for a TRUNCATE checkpoint, which waits (within busy_timeout) for
 * the others and resets the file.  It also notes the WAL's length for
 * store_wal_pages(); after store_defer_checkpoints() the PASSIVE one
 * waits for st->auto_pages instead (someone else checkpoints meanwhile).
 */
#define WAL_AUTO_PAGES 1000
#define WAL_RESET_PAGES 16384

static int
wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct store *st = arg;

	st->wal_pages = pages;
	if (pages >= WAL_RESET_PAGES) {
		if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_TRUNCATE,
		    NULL, NULL) == SQLITE_OK)
			log_info("write-ahead log reset at %d pages", pages);
	} else if (pages >= st->auto_pages)
		(void)sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
	return SQLITE_OK;
}

void
store_defer_checkpoints(struct store *st, int backstop)
{
	st->auto_pages = backstop;
}

int
store_wal_pages(const struct store *st)
{
	return st->wal_pages;
}

enum store_rc
store_checkpoint(struct store *st, int *log_pages, int *done_pages)
{
	int log = -1, done = -1;
	int rc = sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE,
	    &log, &done);

	if (log_pages != NULL)
		*log_pages = log;
	if (done_pages != NULL)
		*done_pages = done;

	/* BUSY: another checkpoint is running (another process): fine. */
	return rc == SQLITE_BUSY ? STORE_OK : store_map_rc(st, rc, "checkpoint");
}

static int
configure(struct store *st, const char *path, enum store_mode mode,
    enum durability d, char *err, size_t errsz)
{
	int have;

	const char *sync = d == DURABILITY_FULL ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL";

	sqlite3_busy_handler(st->db, busy_handler, st);
	stale_rules_init(&st->stale, 7, STALE_RULES_DEFAULT);
	if (store_exec_sql(st, "PRAGMA foreign_keys = ON") != STORE_OK)
		goto err;
	if (mode == STORE_READWRITE) {
		/* journal_mode needs the lock briefly; the busy handler covers it. */
		st->auto_pages = WAL_AUTO_PAGES;
		sqlite3_wal_hook(st->db, wal_hook, st);
		if (store_exec_sql(st, "PRAGMA journal_mode = WAL") != STORE_OK ||
		    store_exec_sql(st, sync) != STORE_OK)
			goto err;
		/*
		 * Savepoints (batch.c) and statements that may have to undo part
		 * of their work keep the pages to restore in a statement journal,
		 * which SQLite spills to a temporary file past 64 KiB: with a
		 * savepoint per webhook that was a file created, written and
		 * deleted on every group commit.  Keep it in memory.
		 */
		if (store_exec_sql(st, "PRAGMA temp_store = MEMORY") != STORE_OK)
			goto err;
		return migrate(st, path, err, errsz);
	}
	/* Read-only: a file that cannot be read is not one to migrate. */
	have = store_schema_version(st);
	if (schema_check(st, path, have, err, errsz) < 0)
		return -1;
	if (have < shiptrack_migration_count) {
		snprintf(err, errsz, "database %s: schema %d, this build needs %d: run "
		    "`shiptrack migrate`", path, have, shiptrack_migration_count);
		return -1;
	}
	return 0;
err:
	db_error(st, path, "cannot configure", 0, err, errsz);
	return -1;
}

/*
 * The database holds raw webhook bodies and customer e-mail addresses, so
 * a new one is created 0600, whatever the umask (SQLite would make it
 * 0644).  SQLite gives the -wal and -shm files the database file's mode
 * (and, run as root, its owner), so they follow.  An existing file keeps
 * its mode: to let a group read, chgrp it and chmod it 0640 once.
 */
static int
create_private(const char *path)
{
	int fd;

	if (*path == '\0' || strcmp(path, ":memory:") == 0)
		return 0;
	/* Only when absent (O_EXCL).  Returns the errno of a failure, else 0. */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
	return fd >= 0 || errno == EEXIST ? 0 : errno;
}

int
store_open(struct store **out, const char *path, enum store_mode mode,
    enum durability durability, long busy_ms, char *err, size_t errsz)
{
	int flags = mode == STORE_READONLY ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	struct store *st;
	int create_errno = 0;

	*out = NULL;
	if ((st = calloc(1, sizeof(*st))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	st->busy_ms = busy_ms;
	if (mode == STORE_READWRITE)
		create_errno = create_private(path);
	if (sqlite3_open_v2(path, &st->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		db_error(st, path, "cannot open", create_errno, err, errsz);
		store_close(st);
		return -1;
	}
	if (configure(st, path, mode, durability, err, errsz) < 0) {
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
	for (int i = 0; i < STORE_MAX_STMTS; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_close(st->db);
	free(st);
}

/* Run one of the prepared transaction-control statements. */
static enum store_rc
tx_exec(struct store *st, enum stmt q)
{
	sqlite3_stmt *s = get_stmt(st, q);
	int rc;

	if (s == NULL)
		return STORE_ERROR;
	rc = sqlite3_step(s);
	if (rc != SQLITE_DONE)
		log_debug("sql: %s", sqlite3_errmsg(st->db));
	sqlite3_reset(s);
	return store_map_rc(st, rc == SQLITE_DONE ? SQLITE_OK : rc, "exec");
}

enum store_rc
store_begin(struct store *st)
{
	return tx_exec(st, Q_BEGIN);
}

enum store_rc
store_commit(struct store *st)
{
	return tx_exec(st, Q_COMMIT);
}

void
store_rollback(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)tx_exec(st, Q_ROLLBACK);
}

enum store_rc
store_savepoint(struct store *st)
{
	return tx_exec(st, Q_SAVEPOINT);
}

enum store_rc
store_release(struct store *st)
{
	return tx_exec(st, Q_RELEASE);
}

enum store_rc
store_read_begin(struct store *st)
{
	return tx_exec(st, Q_BEGIN_READ);
}

void
store_read_end(struct store *st)
{
	if (!sqlite3_get_autocommit(st->db))
		(void)tx_exec(st, Q_COMMIT);
}

int64_t
store_data_version(struct store *st)
{
	sqlite3_stmt *s = get_stmt(st, Q_DATA_VERSION);
	int64_t v = -1;

	if (s == NULL)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int64(s, 0);
	sqlite3_reset(s);
	return v;
}

void
store_rollback_to(struct store *st)
{
	/* Undo the item's writes, then close the savepoint itself. */
	if (tx_exec(st, Q_ROLLBACK_TO) == STORE_OK)
		(void)tx_exec(st, Q_RELEASE);
}

enum store_rc
store_integrity(struct store *st, char *buf, size_t bufsz)
{
	sqlite3_stmt *s;
	int rc;

	if ((rc = sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &s,
	    NULL)) != SQLITE_OK)
		return store_map_rc(st, rc, "integrity_check");
	rc = sqlite3_step(s);
	snprintf(buf, bufsz, "%s", rc == SQLITE_ROW && store_col_text(s, 0) ?
	    store_col_text(s, 0) : "no answer");
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? STORE_OK : store_map_rc(st, rc, "integrity_check");
}

enum store_rc
store_event_insert(struct store *st, const struct event_rec *e)
{
	sqlite3_stmt *s = get_stmt(st, Q_EVENT_INSERT);
	enum store_rc rc;

	if (s == NULL)
		return STORE_ERROR;
	store_bind_text(s, 1, e->id);
	store_bind_text(s, 2, e->scheme);
	store_bind_text(s, 3, e->type);
	store_bind_text(s, 4, e->order_id);
	store_bind_text(s, 5, e->created_at);
	sqlite3_bind_int64(s, 6, e->created_ms);
	store_bind_text(s, 7, e->marketplace);
	store_bind_text(s, 8, e->received_at);
	sqlite3_bind_blob(s, 9, e->body, (int)e->body_len, SQLITE_STATIC);
	store_bind_text(s, 10, e->source);
	store_bind_text(s, 11, e->subject);
	store_bind_text(s, 12, e->status);
	if ((rc = store_exec_stmt(st, s, "insert event")) != STORE_OK)
		return rc;
	return sqlite3_changes(st->db) == 0 ? STORE_NONE : STORE_OK;
}

enum store_rc
store_rejected_insert(struct store *st, const char *scheme, const char *reason,
    const char *received_at, const void *body, size_t len)
{
	sqlite3_stmt *s = get_stmt(st, Q_REJECT_INSERT);

	if (s == NULL)
		return STORE_ERROR;
	store_bind_text(s, 1, scheme);
	store_bind_text(s, 2, reason);
	store_bind_text(s, 3, received_at);
	sqlite3_bind_blob(s, 4, len ? body : "", (int)len, SQLITE_STATIC);
	return store_exec_stmt(st, s, "insert rejected delivery");
}

enum store_rc
store_shipment_upsert(struct store *st, const struct shipment_ref *r)
{
	bool pending = r->tracking_number == NULL;
	sqlite3_stmt *s = get_stmt(st, pending ? Q_SHIP_PENDING : Q_SHIP_UPSERT);

	if (s == NULL)
		return STORE_ERROR;
	store_bind_text(s, 1, r->order_id);
	store_bind_text(s, 2, pending ? r->pending_key : r->tracking_number);
	store_bind_text(s, 3, r->carrier);
	store_bind_text(s, 4, r->url);
	store_bind_text(s, 5, r->event_key);
	return store_exec_stmt(st, s, "upsert shipment");
}

enum store_rc
store_order_upsert(struct store *st, const struct order_rec *o)
{
	sqlite3_stmt *s = get_stmt(st, Q_ORDER_UPSERT);

	if (s == NULL)
		return STORE_ERROR;
	store_bind_text(s, 1, o->id);
	store_bind_text(s, 2, o->status);
	store_bind_text(s, 3, o->stage);
	store_bind_text(s, 4, o->marketplace);
	store_bind_text(s, 5, o->created_at);
	sqlite3_bind_int64(s, 6, o->created_ms);
	store_bind_text(s, 7, o->updated_at);
	sqlite3_bind_int64(s, 8, o->updated_ms);
	sqlite3_bind_int(s, 9, o->keep_updated_if_same);
	return store_exec_stmt(st, s, "upsert order");
}

/*
 * Run a row-returning statement, handing each row to fill+cb.  A callback
 * returns 0 to go on, > 0 to stop (fine), < 0 to fail (out of memory).
 * Always resets the statement.
 */
enum store_rc
store_each_row(struct store *st, sqlite3_stmt *s, row_fn fn, void *cb, void *arg,
    const char *what, bool *any)
{
	int rc;

	if (any != NULL)
		*any = false;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int stop;
		if (any != NULL)
			*any = true;
		if ((stop = fn(s, cb, arg)) != 0) {
			rc = stop > 0 ? SQLITE_DONE : SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	return store_map_rc(st, rc == SQLITE_DONE ? SQLITE_OK : rc, what);
}

int
store_int64_row(sqlite3_stmt *s, void *cb, void *arg)
{
	(void)cb;
	*(int64_t *)arg = sqlite3_column_int64(s, 0);
	return 1;
}

static int
event_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	struct event_row r = {
		.seq = sqlite3_column_int64(s, 0),
		.created_ms = sqlite3_column_int64(s, 1),
		.id = store_col_text(s, 2), .scheme = store_col_text(s, 3),
		.type = store_col_text(s, 4), .order_id = store_col_text(s, 5),
		.created_at = store_col_text(s, 6), .received_at = store_col_text(s, 7),
		.marketplace = store_col_text(s, 8), .source = store_col_text(s, 9),
		.subject = store_col_text(s, 10), .status = store_col_text(s, 11),
	};

	if (sqlite3_column_count(s) > 12) {
		r.body = sqlite3_column_blob(s, 12);
		r.body_len = (size_t)sqlite3_column_bytes(s, 12);
	}
	return ((store_event_cb)cb)(arg, &r);
}

enum store_rc
store_order_events(struct store *st, const char *order_id, store_event_cb cb,
    void *arg)
{
	sqlite3_stmt *s = get_stmt(st, Q_ORDER_EVENTS);

	if (s == NULL)
		return STORE_ERROR;
	store_bind_text(s, 1, order_id);
	return store_each_row(st, s, event_row_fn, (void *)cb, arg, "order events", NULL);
}

enum store_rc
store_all_events(struct store *st, store_event_cb cb, void *arg)
{
	sqlite3_stmt *s = get_stmt(st, Q_ALL_EVENTS);

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, event_row_fn, (void *)cb, arg, "all events", NULL);
}

enum store_rc
store_event_rederive(struct store *st, int64_t seq, const struct event_derived *d)
{
	sqlite3_stmt *s = get_stmt(st, Q_EVENT_REDERIVE);

	if (s == NULL)
		return STORE_ERROR;
	store_bind_text(s, 1, d->type);
	store_bind_text(s, 2, d->order_id);
	store_bind_text(s, 3, d->created_at);
	sqlite3_bind_int64(s, 4, d->created_ms);
	store_bind_text(s, 5, d->marketplace);
	store_bind_text(s, 6, d->subject);
	store_bind_text(s, 7, d->status);
	sqlite3_bind_int64(s, 8, seq);
	return store_exec_stmt(st, s, "rederive event");
}

static int
order_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	struct order_row r = {
		.id = store_col_text(s, 0), .status = store_col_text(s, 1),
		.stage = store_col_text(s, 2), .marketplace = store_col_text(s, 3),
		.created_at = store_col_text(s, 4), .updated_at = store_col_text(s, 5),
	};

	return ((store_order_cb)cb)(arg, &r);
}

enum store_rc
store_order_get(struct store *st, const char *id, store_order_cb cb, void *arg)
{
	sqlite3_stmt *s = get_stmt(st, Q_ORDER_GET);
	enum store_rc rc;
	bool any;

	if (s == NULL)
		return STORE_ERROR;
	store_bind_text(s, 1, id);
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
shipment_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	struct ship_ctx *x = arg;
	struct ship_cols c;
	struct shipment_row r = {
		.id = sqlite3_column_int64(s, 0),
		.tracking_number = store_col_text(s, 1), .carrier = store_col_text(s, 2),
		.tracking_url = store_col_text(s, 3),
		.subtag = store_col_text(s, 4), .subtag_message = store_col_text(s, 5),
		.expected_delivery = store_col_text(s, 6), .delivered_at = store_col_text(s, 7),
		.last_checkpoint_at = store_col_text(s, 8), .checked_at = store_col_text(s, 9),
		.poll_error = store_col_text(s, 10), .poll_error_at = store_col_text(s, 11),
		.est_carrier = { store_col_text(s, 12), store_col_text(s, 13) },
		.est_predicted = { store_col_text(s, 14), store_col_text(s, 15) },
		.est_rye = store_col_text(s, 16),
		.pickup_location = store_col_text(s, 17), .pickup_note = store_col_text(s, 18),
		.signed_by = store_col_text(s, 19),
		.carrier_tracking_link = store_col_text(s, 20),
		.rye_shipment_id = store_col_text(s, 21), .rye_status = store_col_text(s, 22),
		.rye_estimated_delivery = store_col_text(s, 23),
		.rye_delivered_at = store_col_text(s, 24),
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
	sqlite3_stmt *s = get_stmt(st, Q_ORDER_SHIPMENTS);
	struct ship_ctx x = { st, timefmt_now_ms(), cb, arg };

	if (s == NULL)
		return STORE_ERROR;
	store_bind_text(s, 1, order_id);
	return store_each_row(st, s, shipment_row_fn, NULL, &x, "shipments", NULL);
}

/*
 * A checkpoint time is shown in UTC when the carrier gave its offset; a
 * date alone or an offset-less local time is shown as the carrier wrote
 * it, because converting it would invent a zone.
 */
static int
checkpoint_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	char iso[TIMEFMT_ISO_LEN];
	bool utc = sqlite3_column_type(s, 5) != SQLITE_NULL && sqlite3_column_int(s, 6);
	struct checkpoint_row r = {
		.time = utc ? iso : store_col_text(s, 0), .tag = store_col_text(s, 1),
		.subtag = store_col_text(s, 2), .message = store_col_text(s, 3),
		.location = store_col_text(s, 4),
	};

	if (utc)
		timefmt_iso_utc(sqlite3_column_int64(s, 5), iso);
	return ((store_checkpoint_cb)cb)(arg, &r);
}

enum store_rc
store_shipment_checkpoints(struct store *st, int64_t shipment_id,
    store_checkpoint_cb cb, void *arg)
{
	sqlite3_stmt *s = get_stmt(st, Q_CHECKPOINTS);

	if (s == NULL)
		return STORE_ERROR;
	sqlite3_bind_int64(s, 1, shipment_id);
	return store_each_row(st, s, checkpoint_row_fn, (void *)cb, arg, "checkpoints", NULL);
}

static int
id_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	return ((store_id_cb)cb)(arg, store_col_text(s, 0));
}

enum store_rc
store_event_order_ids(struct store *st, store_id_cb cb, void *arg)
{
	sqlite3_stmt *s = get_stmt(st, Q_EVENT_ORDER_IDS);

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, id_row_fn, (void *)cb, arg, "order ids", NULL);
}

/* Run one of the statements without parameters. */
static enum store_rc
run(struct store *st, enum stmt q, const char *what)
{
	sqlite3_stmt *s = get_stmt(st, q);

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
	static const char *const allowed[] = { "events", "orders", "shipments",
	    "checkpoints", "rejected_deliveries", NULL };
	char sql[96];
	sqlite3_stmt *s;
	int rc;

	/* Table names cannot be bound: accept only the known ones. */
	for (int i = 0; ; i++) {
		if (allowed[i] == NULL)
			return STORE_ERROR;
		if (strcmp(allowed[i], table) == 0)
			break;
	}
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", table);
	if ((rc = sqlite3_prepare_v2(st->db, sql, -1, &s, NULL)) != SQLITE_OK)
		return store_map_rc(st, rc, "count");
	rc = sqlite3_step(s);
	*n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
	sqlite3_finalize(s);
	return store_map_rc(st, rc == SQLITE_ROW ? SQLITE_OK : rc, "count");
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
order_key_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	return ((store_order_key_cb)cb)(arg, store_col_text(s, 0),
	    sqlite3_column_int64(s, 1));
}

/* The filter's parameters, as both listing statements take them. */
static void
bind_filter(sqlite3_stmt *s, const struct order_filter *f)
{
	store_bind_text(s, 1, f->status);
	store_bind_text(s, 2, f->stage);
	sqlite3_bind_int(s, 3, f->has_cursor);
	sqlite3_bind_int64(s, 4, f->cursor_ms);
	store_bind_text(s, 5, f->has_cursor ? f->cursor_id : "");
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
stale_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	struct stale_scan *x = arg;
	const char *id = store_col_text(s, 0);
	int64_t created = sqlite3_column_int64(s, 1);
	bool stale = false;
	struct ship_cols c;
	int rc;

	(void)cb;
	if (id == NULL || (x->id != NULL && strcmp(x->id, id) == 0 && x->decided))
		return 0;
	if (x->id == NULL || strcmp(x->id, id) != 0) {
		if (scan_order(x, id) < 0)
			return -1;
		stale = store_order_waits_too_long(x->st, store_col_text(s, 2),
		    created, x->now_ms);
	}
	if (!stale && sqlite3_column_type(s, 3) != SQLITE_NULL) {
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
	sqlite3_stmt *s = get_stmt(st, Q_ORDERS_SCAN);
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
	sqlite3_stmt *s;
	int64_t found;

	if (f->stale)
		return stale_orders(st, f, f->limit, cb, arg, &found);
	if ((s = get_stmt(st, Q_ORDERS_LIST)) == NULL)
		return STORE_ERROR;
	bind_filter(s, f);
	sqlite3_bind_int(s, 6, f->limit);
	return store_each_row(st, s, order_key_row_fn, (void *)cb, arg,
	    "list orders", NULL);
}

struct count_ctx {
	store_count_cb cb;
	void *arg;
	const char *group;
};

static int
count_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	struct count_ctx *c = arg;

	(void)cb;
	return c->cb(c->arg, c->group, store_col_text(s, 0),
	    sqlite3_column_int64(s, 1));
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
		sqlite3_stmt *s;
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
meta_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	struct meta_ctx *m = arg;
	const char *key = store_col_text(s, 0);

	(void)cb;
	if (key == NULL || strncmp(key, m->prefix, m->len) != 0)
		return 0;
	return m->cb(m->arg, key, store_col_text(s, 1));
}

enum store_rc
store_meta_prefix(struct store *st, const char *prefix, store_meta_cb cb,
    void *arg)
{
	sqlite3_stmt *s = get_stmt(st, Q_META_PREFIX);
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
export_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	const char *cols[STORE_EXPORT_COLUMNS];

	struct ship_cols c;

	for (int i = 0; i < STORE_EXPORT_COLUMNS; i++)
		cols[i] = store_col_text(s, i);
	/* The tag as shown; none where the order has no shipment. */
	store_ship_cols(s, STORE_EXPORT_COLUMNS, &c);
	if (c.tag != NULL)
		cols[EXPORT_TAG] = carrier_tag_name(store_ship_tag(&c));
	return ((store_export_cb)cb)(arg, cols);
}

enum store_rc
store_export(struct store *st, store_export_cb cb, void *arg)
{
	sqlite3_stmt *s = get_stmt(st, Q_EXPORT);

	if (s == NULL)
		return STORE_ERROR;
	return store_each_row(st, s, export_row_fn, (void *)cb, arg, "export", NULL);
}

static int
stage_row_fn(sqlite3_stmt *s, void *cb, void *arg)
{
	struct { char *buf; size_t sz; } *out = arg;

	(void)cb;
	snprintf(out->buf, out->sz, "%s", store_col_text(s, 0) ? store_col_text(s, 0) : "");
	return 1;
}

enum store_rc
store_order_stage(struct store *st, const char *order_id, char *buf, size_t bufsz)
{
	sqlite3_stmt *s = get_stmt(st, Q_ORDER_STAGE);
	struct { char *buf; size_t sz; } out = { buf, bufsz };
	enum store_rc rc;
	bool any;

	if (s == NULL)
		return STORE_ERROR;
	store_bind_text(s, 1, order_id);
	rc = store_each_row(st, s, stage_row_fn, NULL, &out, "order stage", &any);
	return rc == STORE_OK && !any ? STORE_NONE : rc;
}

enum store_rc
store_notify_insert(struct store *st, const struct notify_rec *n)
{
	sqlite3_stmt *s = get_stmt(st, Q_NOTIFY_INSERT);
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
	store_bind_text(s, 1, uid);
	store_bind_text(s, 2, n->order_id);
	store_bind_text(s, 3, n->stage);
	store_bind_text(s, 4, n->previous_stage);
	store_bind_text(s, 5, n->shipment);
	store_bind_text(s, 6, n->occurred_at);
	sqlite3_bind_int64(s, 7, n->created_ms);
	return store_exec_stmt(st, s, "queue notification");
}
