/*
 * checkpointer: see checkpointer.h.  The thread sleeps on a condition
 * variable; the writer's notes wake it only when there is a step's worth
 * of new log, so a busy receiver wakes it a few times a second, not after
 * every commit.
 */
#include "config.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "checkpointer.h"
#include "db.h"
#include "log.h"
#include "store_int.h"

struct checkpointer {
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int wal_pages;		/* the log's length after the last commit */
	int passed_at;		/* ... when the last pass began */
	int copied;		/* of the log, pages in the database (thread only) */
	bool stop;
	struct db *db;		/* the thread's own connection */
	struct checkpointer_hooks hooks;
};

static int64_t
mono_us(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* Whether a pass is due (mutex held). */
static bool
due(const struct checkpointer *k)
{
	return k->wal_pages - k->passed_at >= CHECKPOINTER_STEP ||
	    (k->wal_pages >= CHECKPOINTER_RESTART && k->passed_at < CHECKPOINTER_RESTART);
}

/*
 * One PASSIVE pass; returns how many pages of the log it left uncopied
 * (-1 on error).  *copied: how many it copied.
 */
static int
pass(struct checkpointer *k, bool holding, int from, int *copied)
{
	int64_t t0 = mono_us();
	int log = 0, done = 0;

	if (db_logged(k->db, db_checkpoint(k->db, &log, &done), "checkpoint") !=
	    STORE_OK || log < 0 || done < 0)
		return -1;
	*copied = done > from ? done - from : 0;
	k->hooks.passed(k->hooks.arg, mono_us() - t0, *copied, holding);
	return log - done;
}

/*
 * The log is long enough to start again.  Holding the commits costs the
 * copy of what is left plus one fsync of the database, so first shrink
 * what is left without holding: each pass copies what came in during the
 * one before, and passes get shorter, until at most CHECKPOINTER_HOLD
 * pages remain (or a few passes have not got there: the writers are
 * faster than the disk).  Then hold the commits, copy the rest, let them
 * go.  If a reader in another process still needs part of the log the
 * copy stays short of it, and the next round tries again.
 */
#define CHECKPOINTER_HOLD 256
#define CHECKPOINTER_CONVERGE 4

static void
restart(struct checkpointer *k, int done)
{
	int left = 0, copied = 0;

	for (int i = 0; i < CHECKPOINTER_CONVERGE; i++) {
		if ((left = pass(k, false, done, &copied)) < 0)
			return;
		done += copied;
		if (left <= CHECKPOINTER_HOLD)
			break;
	}
	k->hooks.pause(k->hooks.arg);
	(void)pass(k, true, done, &copied);
	k->hooks.resume(k->hooks.arg);
}

static void *
checkpointer_main(void *arg)
{
	struct checkpointer *k = arg;

	pthread_mutex_lock(&k->mu);
	while (!k->stop) {
		int pages, copied;
		if (!due(k)) {
			pthread_cond_wait(&k->cv, &k->mu);
			continue;
		}
		pages = k->passed_at = k->wal_pages;
		pthread_mutex_unlock(&k->mu);
		if (pages >= CHECKPOINTER_RESTART)
			restart(k, k->copied);
		else if (pass(k, false, k->copied, &copied) >= 0)
			k->copied += copied;
		pthread_mutex_lock(&k->mu);
	}
	pthread_mutex_unlock(&k->mu);
	return NULL;
}

struct checkpointer *
checkpointer_start(struct store *writer, const struct checkpointer_hooks *h)
{
	struct checkpointer *k;
	char err[512];

	if (!(db_caps(writer->db) & DB_CAN_CHECKPOINT) ||
	    (k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if (db_open(&k->db, writer->uri, STORE_READWRITE, writer->durability,
	    writer->busy_ms, err, sizeof(err)) < 0) {
		log_error("checkpointer: %s", err);
		free(k);
		return NULL;
	}
	k->hooks = *h;
	pthread_mutex_init(&k->mu, NULL);
	pthread_cond_init(&k->cv, NULL);
	if (pthread_create(&k->thread, NULL, checkpointer_main, k) != 0) {
		log_error("checkpointer: cannot start its thread");
		pthread_cond_destroy(&k->cv);
		pthread_mutex_destroy(&k->mu);
		db_close(k->db);
		free(k);
		return NULL;
	}
	db_defer_checkpoints(writer->db, CHECKPOINTER_BACKSTOP);
	return k;
}

void
checkpointer_note(struct checkpointer *k, int wal_pages)
{
	pthread_mutex_lock(&k->mu);
	/* A log that started again: count the next step from its beginning. */
	if (wal_pages < k->wal_pages)
		k->passed_at = 0;	/* (k->copied: the thread sees it below) */
	k->wal_pages = wal_pages;
	if (due(k))
		pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
}

void
checkpointer_stop(struct checkpointer *k)
{
	if (k == NULL)
		return;
	pthread_mutex_lock(&k->mu);
	k->stop = true;
	pthread_cond_signal(&k->cv);
	pthread_mutex_unlock(&k->mu);
	pthread_join(k->thread, NULL);
	pthread_cond_destroy(&k->cv);
	pthread_mutex_destroy(&k->mu);
	db_close(k->db);
	free(k);
}
