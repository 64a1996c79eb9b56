/*
 * runlock_db: the run locks of a database whose driver has session locks
 * (db.h, DB_HAS_SESSION_LOCKS: PostgreSQL), where an flock would guard
 * one machine only.  runlock.c hands such a database here.
 *
 * A run opens a connection of its own for its whole life and takes the
 * session lock "run:<name>" on it without waiting; the server drops the
 * lock when that connection ends, however the run ends.  The probe asks
 * the server who holds it: held or not, since when (the holder's
 * connection began with the run) and its pid, on any node.  Messages
 * name the database as db_display_name() shows it: never a password.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "runlock.h"

#define RUN_BUSY_MS 5000

static struct db *
connect_db(const char *database, char *err, size_t errsz)
{
	struct db *db;

	if (db_open(&db, database, STORE_READWRITE, DURABILITY_FULL,
	    RUN_BUSY_MS, err, errsz) < 0)
		return NULL;
	return db;
}

static void
describe(const char *database, struct db *db, const char *what, char *err,
    size_t errsz)
{
	char shown[512];

	db_display_name(database, shown, sizeof(shown));
	snprintf(err, errsz, "database %s: %s: %s", shown, what, db_errmsg(db));
}

enum runlock_rc
runlock_db_take(struct runlock *l, const char *database, const char *name,
    char *err, size_t errsz)
{
	char key[64];
	bool taken;

	snprintf(key, sizeof(key), "run:%s", name);
	if ((l->db = connect_db(database, err, errsz)) == NULL)
		return RUNLOCK_ERROR;
	if (db_try_lock_session(l->db, key, &taken) != STORE_OK) {
		describe(database, l->db, "cannot take the run lock", err,
		    errsz);
		runlock_db_release(l);
		return RUNLOCK_ERROR;
	}
	if (!taken) {
		runlock_db_release(l);
		return RUNLOCK_BUSY;
	}
	return RUNLOCK_TAKEN;
}

void
runlock_db_release(struct runlock *l)
{
	db_close(l->db);	/* the server drops the session's locks */
	l->db = NULL;
}

int
runlock_db_probe(const char *database, const char *name,
    struct runlock_state *s, char *err, size_t errsz)
{
	char key[64];
	struct db *db;
	int rc = 0;

	snprintf(key, sizeof(key), "run:%s", name);
	if ((db = connect_db(database, err, errsz)) == NULL)
		return -1;
	if (db_lock_holder(db, key, &s->held, &s->since_ms, &s->pid) !=
	    STORE_OK) {
		describe(database, db, "cannot read the run locks", err, errsz);
		rc = -1;
	}
	db_close(db);
	return rc;
}
