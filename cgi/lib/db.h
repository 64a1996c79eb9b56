/*
 * db: the database interface under the store, one driver per backend.
 *
 * The store's files (store*.c) are written against this header only; a
 * backend is one driver (db_sqlite.c; PostgreSQL next) that fills a
 * struct db_driver (db_driver.h).  The connection string picks the
 * driver once, at db_open(): "postgresql://..." or "postgres://..." would
 * be PostgreSQL, anything else is the path of a SQLite file.  What only
 * some backends do is asked as a capability bit (db_caps()), never by
 * testing which backend it is.
 *
 * Statements are prepared from a struct db_sql: portable SQL with ?
 * placeholders (?N numbered), or one text per dialect where they must
 * differ.  Rows are stepped one at a time; a row's text and blobs are
 * valid until the next step or reset.  Statement results never need to
 * be read to the end: db_reset() ends them.  A callback may run other
 * statements while one is being stepped (a driver that cannot interleave
 * buffers the result first).  Integers are int64; a boolean column reads
 * as 1 or 0; a bound integer stands for a boolean where SQL wants one.
 *
 * Errors are the store's (store.h): STORE_BUSY when a lock was not had
 * within busy_ms, STORE_FULL when the disk or quota is, STORE_ERROR for
 * anything else; db_errmsg() says what the backend said.
 */
#ifndef SHIPTRACK_DB_H
#define SHIPTRACK_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct db;		/* a connection */
struct db_stmt;		/* a prepared statement of one connection */

enum db_dialect { DB_SQLITE, DB_POSTGRESQL };

/* Capabilities (db_caps()). */
#define DB_CAN_CHECKPOINT	0x01	/* the program checkpoints a write-ahead log itself */
#define DB_HAS_CHANGE_COUNTER	0x02	/* db_change_counter() sees other connections' commits */
#define DB_LOCKS_KEYS		0x04	/* db_lock_key() serialises; else BEGIN already does */
#define DB_HAS_SESSION_LOCKS	0x08	/* db_try_lock_session(): locks across nodes */
#define DB_PIPELINES		0x10	/* db_send() saves round trips to a server */

/*
 * One statement's SQL: sql for every backend, or sqlite and pg for each.
 * name is the caller's for it (the store's enum stmt), for lookups and
 * messages.
 */
struct db_sql {
	int name;
	const char *sql;
	const char *sqlite, *pg;
};

/*
 * The file holding the password for a connection string that leaves it
 * out (database_password_file; NULL: none): read at each db_open(),
 * refused if its group or others may read it.
 */
void db_set_password_file(const char *path);
/* The capabilities of the driver uri would open (without opening it). */
unsigned db_uri_caps(const char *uri);
/* The database uri as messages show it (never a password), into buf. */
void db_display_name(const char *uri, char *buf, size_t bufsz);

/* "database PATH: ..." in err when it fails. */
int  db_open(struct db **out, const char *uri, enum store_mode mode,
    enum durability d, long busy_ms, char *err, size_t errsz);
void db_close(struct db *db);
unsigned db_caps(const struct db *db);
enum db_dialect db_dialect(const struct db *db);
/* The database as messages name it: a path, never a password. */
const char *db_name(const struct db *db);
/* The backend's last error message on this connection. */
const char *db_errmsg(struct db *db);
/* Log rc as every caller does ("what: database is busy", ...); returns rc. */
enum store_rc db_logged(struct db *db, enum store_rc rc, const char *what);
/* "database PATH: what: the backend's message (and why, if it knows)". */
void db_describe(struct db *db, const char *what, char *err, size_t errsz);

/* --- statements --- */

/* NULL when it cannot be prepared (logged) or has no text for this dialect. */
struct db_stmt *db_prepare(struct db *db, const struct db_sql *sql);
void db_finalize(struct db_stmt *s);
/* Parameters count from 1.  Text and blobs are not copied: keep them until reset. */
void db_bind_int64(struct db_stmt *s, int i, int64_t v);
void db_bind_text(struct db_stmt *s, int i, const char *v);	/* NULL: SQL NULL */
void db_bind_blob(struct db_stmt *s, int i, const void *p, size_t n);
void db_bind_null(struct db_stmt *s, int i);
/* STORE_OK with *row true (a row to read) or false (done); or an error. */
enum store_rc db_step(struct db_stmt *s, bool *row);
/*
 * Run a statement whose result nobody reads (no rows; db_changes() not
 * asked), and reset it.  A driver that talks to a server may only queue
 * it: then a failure fails the next statement that waits for the server,
 * or the COMMIT, instead, which a transaction cannot survive anyway.
 * Use it only inside a transaction.
 */
enum store_rc db_run_later(struct db_stmt *s);
/*
 * Send a statement as bound now, ahead of its db_step(), so that several
 * reach a server in one round trip (each step then reads its own
 * result); where nothing is gained it does nothing.  Step it before it
 * is reset.
 */
enum store_rc db_send(struct db_stmt *s);
/* Columns count from 0. */
int64_t db_column_int64(struct db_stmt *s, int i);
const char *db_column_text(struct db_stmt *s, int i);	/* NULL: SQL NULL */
const void *db_column_blob(struct db_stmt *s, int i, size_t *len);
bool db_column_is_null(struct db_stmt *s, int i);
/* Ready to run again; every binding is cleared. */
void db_reset(struct db_stmt *s);
/* Rows the connection's last INSERT, UPDATE or DELETE changed. */
int64_t db_changes(struct db *db);
/* SQL text without parameters, one or more statements (migrations). */
enum store_rc db_exec(struct db *db, const char *sql);

/* --- transactions --- */

enum db_tx {
	DB_BEGIN,		/* a write transaction, its write lock taken now */
	DB_BEGIN_READ,		/* a read transaction: one snapshot */
	DB_COMMIT, DB_ROLLBACK,
	DB_SAVEPOINT, DB_RELEASE, DB_ROLLBACK_TO,	/* one nested unit */
	DB_TX__MAX
};
enum store_rc db_tx(struct db *db, enum db_tx op);
bool db_in_tx(struct db *db);

/* --- schema --- */

/* The migrations this build carries for the connection's dialect (NULL-ended). */
const char *const *db_migrations(const struct db *db);
/* How many there are: the same for every dialect (they are numbered alike). */
int  db_schema_target(void);
/* The version recorded in the database (-1 on error), and recording one. */
int  db_schema_version(struct db *db);
enum store_rc db_set_schema_version(struct db *db, int version);
/* fn(arg) now and then while a long statement runs (NULL: stop). */
void db_on_progress(struct db *db, void (*fn)(void *arg), void *arg);

/* --- what not every backend does --- */

/*
 * DB_HAS_CHANGE_COUNTER: a number that changes whenever another
 * connection has committed since this one last asked; inside a read
 * transaction, its snapshot's.  -1 when the backend cannot tell.
 */
int64_t db_change_counter(struct db *db);
/*
 * DB_LOCKS_KEYS: inside a write transaction, wait (busy_ms at most) until
 * no other transaction holds key, and hold it until this one ends.  Where
 * writers serialise at BEGIN (SQLite) it does nothing.  Key "migrate"
 * waits as long as the migration it guards takes.
 */
enum store_rc db_lock_key(struct db *db, const char *key);
/* The same, shared: many hold it at once; db_lock_key() waits for them all. */
enum store_rc db_lock_key_shared(struct db *db, const char *key);
/*
 * DB_HAS_SESSION_LOCKS: take key for as long as this connection lasts,
 * without waiting (*taken false: another connection holds it).  Every
 * node sees it; the server drops it when the connection ends.
 */
enum store_rc db_try_lock_session(struct db *db, const char *key, bool *taken);
/* Who holds key's session lock: since when (its connection's start), pid. */
enum store_rc db_lock_holder(struct db *db, const char *key, bool *held,
    int64_t *since_ms, long *pid);
/* "ok", or the first problem the backend's own check finds, into buf. */
enum store_rc db_integrity(struct db *db, char *buf, size_t bufsz);
/* Every row of every table gone, as in a new database (tests). */
enum store_rc db_empty(struct db *db);

/*
 * DB_CAN_CHECKPOINT (checkpointer.h): a COMMIT copies the log back into
 * the database once it is long; after db_defer_checkpoints() only past
 * backstop pages, so that another connection can run db_checkpoint()
 * meanwhile.  db_log_pages(): the log's length after this connection's
 * last commit.  db_checkpoint() never blocks writers or readers.
 */
void db_defer_checkpoints(struct db *db, int backstop);
int  db_log_pages(struct db *db);
enum store_rc db_checkpoint(struct db *db, int *log_pages, int *done_pages);

#endif
