/*
 * db_sqlite: the SQLite driver (db_driver.h): the only file of the
 * program that calls SQLite, with db_sqlite_stmt.c (statements).
 *
 * A connection: WAL journal, the configured synchronous level, foreign
 * keys on, the statement journal in memory.  Writers take the write lock
 * at BEGIN IMMEDIATE, so a transaction never fails half-way on a lock
 * upgrade; lock waits use a fine-grained busy handler (sub-millisecond
 * sleeps growing to 2 ms) bounded by busy_timeout, after which the store
 * answers STORE_BUSY (503).  A new database file is created 0600.  The
 * schema version is PRAGMA user_version; the change counter is PRAGMA
 * data_version; the WAL hook below keeps the log short.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db_sqlite.h"
#include "log.h"

extern const char *const shiptrack_migrations_sqlite[];

/* SQLite result code -> store_rc. */
enum store_rc
db_sqlite_rc(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return STORE_OK;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return STORE_BUSY;
	case SQLITE_FULL:
		return STORE_FULL;
	default:
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
	struct sqlite_db *d = arg;
	struct timespec now, nap;
	long elapsed_ms, us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (count == 0)
		d->busy_start = now;
	elapsed_ms = (now.tv_sec - d->busy_start.tv_sec) * 1000 +
	    (now.tv_nsec - d->busy_start.tv_nsec) / 1000000;
	if (elapsed_ms >= d->busy_ms)
		return 0;
	us = count < 10 ? 50 : count < 50 ? 250 : 2000;
	nap.tv_sec = 0;
	nap.tv_nsec = us * 1000;
	nanosleep(&nap, NULL);
	return 1;
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
describe_errno(struct sqlite_db *d, const char *what, int create_errno, char *err,
    size_t errsz)
{
	int code = d->h ? sqlite3_extended_errcode(d->h) & 0xff : SQLITE_NOMEM;
	int sys = create_errno != 0 ? create_errno : d->h ? sqlite3_system_errno(d->h) : 0;
	char why[160] = "";

	if (code == SQLITE_READONLY)
		snprintf(why, sizeof(why), " (each program using it needs write"
		    " access to its file and directory: WAL keeps -wal and -shm"
		    " files beside it)");
	else if (sys != 0 && (code == SQLITE_CANTOPEN || code == SQLITE_IOERR ||
	    code == SQLITE_PERM))
		snprintf(why, sizeof(why), " (%s%s)", create_errno != 0 ?
		    "creating it: " : "", strerror(sys));
	snprintf(err, errsz, "database %s: %s: %s%s", d->path, what,
	    d->h ? sqlite3_errmsg(d->h) : "out of memory", why);
}

static void
sqlite_describe(struct db *db, const char *what, char *err, size_t errsz)
{
	describe_errno((struct sqlite_db *)db, what, 0, err, errsz);
}

static const char *
sqlite_name(const struct db *db)
{
	return ((const struct sqlite_db *)db)->path;
}

static const char *
sqlite_errmsg(struct db *db)
{
	return sqlite3_errmsg(((struct sqlite_db *)db)->h);
}

/* SQL text without parameters; the message of a failure at debug level. */
static enum store_rc
sqlite_exec(struct db *db, const char *sql)
{
	struct sqlite_db *d = (struct sqlite_db *)db;
	char *msg = NULL;
	int rc = sqlite3_exec(d->h, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK && msg != NULL)
		log_debug("sql: %s", msg);
	sqlite3_free(msg);
	return db_sqlite_rc(rc);
}

/*
 * WAL checkpoints.  SQLite's own auto-checkpoint (PASSIVE at 1000 pages)
 * cannot finish while other connections keep reading and writing, and
 * with several writer processes (mod_fcgid) under sustained load the WAL
 * then grows without bound, and readers slow down with it.  This hook
 * keeps the PASSIVE checkpoint and, once the WAL passes WAL_RESET_PAGES,
 * asks for a TRUNCATE checkpoint, which waits (within busy_timeout) for
 * the others and resets the file.  It also notes the WAL's length for
 * db_log_pages(); after db_defer_checkpoints() the PASSIVE one waits for
 * d->auto_pages instead (the checkpointer works meanwhile).
 */
#define WAL_AUTO_PAGES 1000
#define WAL_RESET_PAGES 98304

static int
wal_hook(void *arg, sqlite3 *h, const char *name, int pages)
{
	struct sqlite_db *d = arg;

	d->wal_pages = pages;
	if (pages >= WAL_RESET_PAGES) {
		if (sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_TRUNCATE,
		    NULL, NULL) == SQLITE_OK)
			log_info("write-ahead log reset at %d pages", pages);
	} else if (pages >= d->auto_pages)
		(void)sqlite3_wal_checkpoint_v2(h, name, SQLITE_CHECKPOINT_PASSIVE,
		    NULL, NULL);
	return SQLITE_OK;
}

static void
sqlite_defer_checkpoints(struct db *db, int backstop)
{
	((struct sqlite_db *)db)->auto_pages = backstop;
}

static int
sqlite_log_pages(struct db *db)
{
	return ((struct sqlite_db *)db)->wal_pages;
}

/*
 * SQLite fsyncs the database only when a checkpoint copies the whole log
 * and no commit came meanwhile: under load a pass leaves its pages in the
 * page cache (it reports done == log, the log as it was when it began).
 * The one complete pass, which the checkpointer makes while it holds the
 * commits, then flushed everything copied since the last one, tens of
 * megabytes, and every held commit waited for it (strace: 26 to 30 ms
 * per fdatasync of the database, three per 20 s, all in holds).  Flushing
 * after each partial pass, while commits go on, leaves the complete one
 * only its own remainder.  The file is SQLite's own handle
 * (SQLITE_FCNTL_FILE_POINTER), synced as its checkpoint would; after a
 * pass SQLite synced itself this finds nothing to write.
 */
static void
sync_partial_pass(sqlite3 *h, int done)
{
	sqlite3_file *f = NULL;

	if (done <= 0 ||
	    sqlite3_file_control(h, "main", SQLITE_FCNTL_FILE_POINTER, &f) != SQLITE_OK ||
	    f == NULL || f->pMethods == NULL)
		return;
	if (f->pMethods->xSync(f, SQLITE_SYNC_NORMAL) != SQLITE_OK)
		log_warn("checkpoint: syncing the database failed");
}

static enum store_rc
sqlite_checkpoint(struct db *db, int *log_pages, int *done_pages)
{
	sqlite3 *h = ((struct sqlite_db *)db)->h;
	int log = -1, done = -1;
	int rc = sqlite3_wal_checkpoint_v2(h, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);

	if (rc == SQLITE_OK)
		sync_partial_pass(h, done);
	if (log_pages != NULL)
		*log_pages = log;
	if (done_pages != NULL)
		*done_pages = done;
	/* BUSY: another checkpoint is running (another process): fine. */
	return rc == SQLITE_BUSY ? STORE_OK : db_sqlite_rc(rc);
}

/* A pragma at open; a failure is logged as any statement's. */
static int
pragma(struct sqlite_db *d, const char *sql)
{
	return db_logged(&d->base, sqlite_exec(&d->base, sql), "exec") == STORE_OK ? 0 : -1;
}

static int
configure(struct sqlite_db *d, enum store_mode mode, enum durability dur)
{
	sqlite3_busy_handler(d->h, busy_handler, d);
	if (pragma(d, "PRAGMA foreign_keys = ON") < 0)
		return -1;
	if (mode != STORE_READWRITE)
		return 0;
	/* journal_mode needs the lock briefly; the busy handler covers it. */
	d->auto_pages = WAL_AUTO_PAGES;
	sqlite3_wal_hook(d->h, wal_hook, d);
	if (pragma(d, "PRAGMA journal_mode = WAL") < 0 ||
	    pragma(d, dur == DURABILITY_FULL ? "PRAGMA synchronous = FULL" :
	    "PRAGMA synchronous = NORMAL") < 0)
		return -1;
	/*
	 * Savepoints (batch.c) and statements that may have to undo part of
	 * their work keep the pages to restore in a statement journal, which
	 * SQLite spills to a temporary file past 64 KiB: with a savepoint
	 * per webhook that was a file created, written and deleted on every
	 * group commit.  Keep it in memory.
	 */
	return pragma(d, "PRAGMA temp_store = MEMORY");
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

static void sqlite_close(struct db *db);

static int
sqlite_open(struct db **out, const char *path, enum store_mode mode,
    enum durability dur, long busy_ms, char *err, size_t errsz)
{
	int flags = mode == STORE_READONLY ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	struct sqlite_db *d = calloc(1, sizeof(*d));
	int create_errno = 0;

	if (d == NULL || (d->path = strdup(path)) == NULL) {
		free(d);
		snprintf(err, errsz, "out of memory");
		return -1;
	}
	d->base.drv = &db_sqlite_driver;
	d->busy_ms = busy_ms;
	if (mode == STORE_READWRITE)
		create_errno = create_private(path);
	if (sqlite3_open_v2(path, &d->h, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		describe_errno(d, "cannot open", create_errno, err, errsz);
		sqlite_close(&d->base);
		return -1;
	}
	if (configure(d, mode, dur) < 0) {
		describe_errno(d, "cannot configure", 0, err, errsz);
		sqlite_close(&d->base);
		return -1;
	}
	*out = &d->base;
	return 0;
}

static void
sqlite_close(struct db *db)
{
	struct sqlite_db *d = (struct sqlite_db *)db;

	for (int i = 0; i < DB_TX__MAX; i++)
		sqlite3_finalize(d->tx[i]);
	sqlite3_finalize(d->data_version);
	sqlite3_close(d->h);
	free(d->empty_sql);
	free(d->path);
	free(d);
}

/* --- transactions -------------------------------------------------------- */

/*
 * Transaction control, prepared once like the rest: the group-commit
 * leader runs a SAVEPOINT and a RELEASE per webhook, and parsing them
 * again each time (sqlite3_exec) cost more than running them.
 */
static const char *const tx_sql[DB_TX__MAX] = {
	[DB_BEGIN] = "BEGIN IMMEDIATE",
	[DB_BEGIN_READ] = "BEGIN DEFERRED",
	[DB_COMMIT] = "COMMIT",
	[DB_ROLLBACK] = "ROLLBACK",
	[DB_SAVEPOINT] = "SAVEPOINT item",
	[DB_RELEASE] = "RELEASE item",
	[DB_ROLLBACK_TO] = "ROLLBACK TO item",
};

static enum store_rc
sqlite_tx(struct db *db, enum db_tx op)
{
	struct sqlite_db *d = (struct sqlite_db *)db;
	int rc;

	if (d->tx[op] == NULL && sqlite3_prepare_v3(d->h, tx_sql[op], -1,
	    SQLITE_PREPARE_PERSISTENT, &d->tx[op], NULL) != SQLITE_OK) {
		log_error("prepare %s: %s", tx_sql[op], sqlite3_errmsg(d->h));
		return STORE_ERROR;
	}
	rc = sqlite3_step(d->tx[op]);
	if (rc != SQLITE_DONE)
		log_debug("sql: %s", sqlite3_errmsg(d->h));
	sqlite3_reset(d->tx[op]);
	return db_sqlite_rc(rc == SQLITE_DONE ? SQLITE_OK : rc);
}

static bool
sqlite_in_tx(struct db *db)
{
	return !sqlite3_get_autocommit(((struct sqlite_db *)db)->h);
}

/* --- schema ---------------------------------------------------------------- */

static int
sqlite_schema_version(struct db *db)
{
	sqlite3_stmt *s;
	int v = -1;

	if (sqlite3_prepare_v2(((struct sqlite_db *)db)->h, "PRAGMA user_version", -1,
	    &s, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(s) == SQLITE_ROW)
		v = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return v;
}

static enum store_rc
sqlite_set_schema_version(struct db *db, int version)
{
	char sql[64];

	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", version);
	return sqlite_exec(db, sql);
}

/* SQLite's progress handler: tell, and never interrupt. */
static int
progress_tick(void *arg)
{
	struct sqlite_db *d = arg;

	d->progress(d->progress_arg);
	return 0;
}

static void
sqlite_on_progress(struct db *db, void (*fn)(void *arg), void *arg)
{
	struct sqlite_db *d = (struct sqlite_db *)db;

	d->progress = fn;
	d->progress_arg = arg;
	sqlite3_progress_handler(d->h, fn != NULL ? 100000 : 0,
	    fn != NULL ? progress_tick : NULL, d);
}

/* --- the rest ---------------------------------------------------------------- */

static int64_t
sqlite_change_counter(struct db *db)
{
	struct sqlite_db *d = (struct sqlite_db *)db;
	int64_t v = -1;

	if (d->data_version == NULL && sqlite3_prepare_v3(d->h, "PRAGMA data_version",
	    -1, SQLITE_PREPARE_PERSISTENT, &d->data_version, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(d->data_version) == SQLITE_ROW)
		v = sqlite3_column_int64(d->data_version, 0);
	sqlite3_reset(d->data_version);
	return v;
}

static enum store_rc
sqlite_integrity(struct db *db, char *buf, size_t bufsz)
{
	struct sqlite_db *d = (struct sqlite_db *)db;
	const unsigned char *v;
	sqlite3_stmt *s;
	int rc;

	snprintf(buf, bufsz, "no answer");
	if ((rc = sqlite3_prepare_v2(d->h, "PRAGMA integrity_check", -1, &s,
	    NULL)) != SQLITE_OK)
		return db_sqlite_rc(rc);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && (v = sqlite3_column_text(s, 0)) != NULL)
		snprintf(buf, bufsz, "%s", (const char *)v);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? STORE_OK : db_sqlite_rc(rc);
}

/* Append "DELETE FROM "name";" for each table (sqlite_master's callback). */
static int
add_delete(void *arg, int argc, char **argv, char **cols)
{
	char **sql = arg, *p;
	size_t have = *sql ? strlen(*sql) : 0, need = strlen(argv[0]) + 24;

	(void)argc;
	(void)cols;
	if ((p = realloc(*sql, have + need)) == NULL)
		return 1;
	snprintf(p + have, need, "DELETE FROM \"%s\";", argv[0]);
	*sql = p;
	return 0;
}

/* Every table's rows, in the order the schema made them; rowids start again. */
static enum store_rc
sqlite_empty(struct db *db)
{
	struct sqlite_db *d = (struct sqlite_db *)db;
	int rc;

	if (d->empty_sql == NULL && (rc = sqlite3_exec(d->h, "SELECT name FROM"
	    " sqlite_master WHERE type = 'table' AND (name NOT LIKE 'sqlite_%'"
	    " OR name = 'sqlite_sequence')", add_delete, &d->empty_sql, NULL)) != SQLITE_OK)
		return db_sqlite_rc(rc);
	return d->empty_sql == NULL ? STORE_OK : sqlite_exec(db, d->empty_sql);
}

const struct db_driver db_sqlite_driver = {
	.name = "SQLite",
	.dialect = DB_SQLITE,
	.caps = DB_CAN_CHECKPOINT | DB_HAS_CHANGE_COUNTER,
	.migrations = shiptrack_migrations_sqlite,
	.open = sqlite_open,
	.close = sqlite_close,
	.name_of = sqlite_name,
	.errmsg = sqlite_errmsg,
	.describe = sqlite_describe,
	.prepare = db_sqlite_prepare,
	.finalize = db_sqlite_finalize,
	.bind_int64 = db_sqlite_bind_int64,
	.bind_text = db_sqlite_bind_text,
	.bind_blob = db_sqlite_bind_blob,
	.bind_null = db_sqlite_bind_null,
	.step = db_sqlite_step,
	.column_int64 = db_sqlite_column_int64,
	.column_text = db_sqlite_column_text,
	.column_blob = db_sqlite_column_blob,
	.column_is_null = db_sqlite_column_is_null,
	.reset = db_sqlite_reset,
	.changes = db_sqlite_changes,
	.exec = sqlite_exec,
	.tx = sqlite_tx,
	.in_tx = sqlite_in_tx,
	.schema_version = sqlite_schema_version,
	.set_schema_version = sqlite_set_schema_version,
	.on_progress = sqlite_on_progress,
	.change_counter = sqlite_change_counter,
	.integrity = sqlite_integrity,
	.empty = sqlite_empty,
	.defer_checkpoints = sqlite_defer_checkpoints,
	.log_pages = sqlite_log_pages,
	.checkpoint = sqlite_checkpoint,
};
