/*
 * runlock: one cron run at a time (shiptrack-poll, shiptrack notify).
 *
 * A run holds flock(2) on "<database>.<name>.lock" for its whole life;
 * the kernel drops it when the process ends, however it ends, so a run
 * killed with SIGKILL never leaves a stale lock.  After taking the lock the
 * holder writes "<pid> <start ms>\n" into the file, so that an observer
 * (`shiptrack check`, /v1/stats, /v1/metrics) can tell not only that a run
 * is in progress but for how long: a lock held for several poll intervals
 * is a run that is stuck, and every later cron run would leave quietly.
 *
 * The file is created 0600 and holds nothing secret.
 *
 * A database whose locks every node sees (PostgreSQL: db.h,
 * DB_HAS_SESSION_LOCKS) has no such file: the run holds an advisory lock
 * on a connection of its own instead, and the probe asks the database
 * (runlock_db.c); an flock would only keep out runs on the same machine.
 */
#ifndef SHIPTRACK_RUNLOCK_H
#define SHIPTRACK_RUNLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RUNLOCK_POLL "poll"
#define RUNLOCK_NOTIFY "notify"
#define RUNLOCK_RYE "rye"	/* shiptrack-poll's Rye pass (--rye-only runs apart) */

struct db;

struct runlock {
	int fd;		/* -1 when not held */
	struct db *db;	/* or the connection holding it (runlock_db.c) */
};

enum runlock_rc {
	RUNLOCK_TAKEN,	/* ours until runlock_release() or exit */
	RUNLOCK_BUSY,	/* another run holds it */
	RUNLOCK_ERROR,	/* err says why */
};

/* Take "<database>.<name>.lock" without waiting; now_ms is recorded. */
enum runlock_rc runlock_take(struct runlock *l, const char *database,
    const char *name, int64_t now_ms, char *err, size_t errsz);
void runlock_release(struct runlock *l);

struct runlock_state {
	bool held;		/* a run holds the lock now */
	int64_t since_ms;	/* when it started (0: unknown) */
	long pid;		/* its process id (0: unknown) */
};

/*
 * Look without taking: is the lock held, and since when?  0, or -1 with
 * err set.  A missing lock file is "not held".  Probing briefly takes a
 * shared lock, so it never blocks and never disturbs a run.
 */
int runlock_probe(const char *database, const char *name,
    struct runlock_state *s, char *err, size_t errsz);

/* runlock_db.c: the same, for a database with session locks. */
enum runlock_rc runlock_db_take(struct runlock *l, const char *database,
    const char *name, char *err, size_t errsz);
void runlock_db_release(struct runlock *l);
int runlock_db_probe(const char *database, const char *name,
    struct runlock_state *s, char *err, size_t errsz);

/* The lock file's path into buf; -1 if it does not fit. */
int runlock_path(char *buf, size_t bufsz, const char *database,
    const char *name);

#endif
