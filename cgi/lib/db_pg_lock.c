/*
 * db_pg_lock: the PostgreSQL driver's advisory locks (db_pg.h).
 *
 * Every lock shiptrack takes is on the pair (SHIPTRACK_LOCK_CLASS,
 * hashtext(key)): two keys that share a hash only wait for each other.
 *
 * Key locks (db_lock_key, db_lock_key_shared) are transaction-level,
 * pg_advisory_xact_lock(_shared): released at COMMIT or ROLLBACK, waited
 * for within lock_timeout.  Key
 * "migrate" waits as long as the migration it guards takes.
 *
 * Session locks (db_try_lock_session: the cron runs' locks, runlock.h)
 * are pg_try_advisory_lock on a connection the run keeps open for its
 * life: the server drops the lock when the connection ends, however the
 * process ends, as the kernel drops an flock.  A pooler in transaction
 * mode would hand the connection to others between transactions and
 * keep no such lock (README).  Who holds one, since when and as which
 * process, is read from pg_locks and pg_stat_activity: the holder's
 * connection began with the run, and its application_name carries the
 * pid (db_pg.c).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db_pg.h"

/* One row of one parameter (key) through a statement prepared once. */
static enum store_rc
run_keyed(struct pg_db *d, struct db_stmt **slot, const char *sql,
    const char *key, bool *row)
{
	enum store_rc rc;

	if (*slot == NULL && (*slot = db_pg_prepare(&d->base, sql)) == NULL)
		return d->broken ? STORE_BUSY : STORE_ERROR;
	db_pg_bind_text(*slot, 1, key);
	rc = db_pg_step(*slot, row);
	return rc;
}

#define LOCK_ARGS "(21332, hashtext(?1))"	/* SHIPTRACK_LOCK_CLASS */

/*
 * A transaction-level key lock through its statement, kept in *slot.  It
 * waits in the pipeline for the next statement (db_pg_pipe.c), which the
 * server runs once the lock is had; one not had within lock_timeout
 * fails that statement STORE_BUSY.
 */
static enum store_rc
lock_xact(struct pg_db *d, struct db_stmt **slot, const char *sql, const char *key)
{
	if (d->broken)
		return STORE_BUSY;
	if (*slot == NULL && (*slot = db_pg_prepare(&d->base, sql)) == NULL)
		return d->broken ? STORE_BUSY : STORE_ERROR;
	db_pg_bind_text(*slot, 1, key);
	return db_pg_run_later(*slot);
}

enum store_rc
db_pg_lock_key(struct db *db, const char *key)
{
	struct pg_db *d = (struct pg_db *)db;

	if (d->broken)
		return STORE_BUSY;
	if (strcmp(key, "migrate") == 0 && db_pg_simple(d, "SET LOCAL"
	    " lock_timeout = 0; SET LOCAL statement_timeout = 0") != STORE_OK)
		return STORE_ERROR;
	return lock_xact(d, &d->lock, "SELECT pg_advisory_xact_lock" LOCK_ARGS, key);
}

enum store_rc
db_pg_lock_key_shared(struct db *db, const char *key)
{
	return lock_xact((struct pg_db *)db, &((struct pg_db *)db)->lock_shared,
	    "SELECT pg_advisory_xact_lock_shared" LOCK_ARGS, key);
}

enum store_rc
db_pg_try_lock_session(struct db *db, const char *key, bool *taken)
{
	struct pg_db *d = (struct pg_db *)db;
	struct db_stmt *s = NULL;
	enum store_rc rc;
	bool row;

	*taken = false;
	rc = run_keyed(d, &s, "SELECT pg_try_advisory_lock" LOCK_ARGS, key,
	    &row);
	if (rc == STORE_OK && row)
		*taken = db_pg_column_int64(s, 0) == 1;
	if (s != NULL)
		db_pg_finalize(s);
	return rc;
}

enum store_rc
db_pg_lock_holder(struct db *db, const char *key, bool *held,
    int64_t *since_ms, long *pid)
{
	struct pg_db *d = (struct pg_db *)db;
	struct db_stmt *s = NULL;
	const char *app;
	enum store_rc rc;
	bool row;

	*held = false;
	*since_ms = 0;
	*pid = 0;
	rc = run_keyed(d, &s, "SELECT a.application_name,"
	    " (extract(epoch FROM a.backend_start) * 1000)::bigint"
	    " FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid"
	    " WHERE l.locktype = 'advisory' AND l.granted"
	    " AND l.database = (SELECT oid FROM pg_database"
	    " WHERE datname = current_database())"
	    " AND l.classid = 21332 AND l.objid = hashtext(?1)::oid"
	    " AND l.objsubid = 2", key, &row);
	if (rc == STORE_OK && row) {
		*held = true;
		*since_ms = db_pg_column_int64(s, 1);
		app = db_pg_column_text(s, 0);
		if (app != NULL && strncmp(app, "shiptrack pid=", 14) == 0)
			*pid = strtol(app + 14, NULL, 10);
	}
	if (s != NULL)
		db_pg_finalize(s);
	return rc;
}
