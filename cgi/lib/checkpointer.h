/*
 * checkpointer: the receiver's WAL checkpoints, off the commit path and
 * in steps, so that no commit waits on a checkpoint for longer than
 * about one fsync.  A room of the SQLite store: it runs only where the
 * backend has a log the program checkpoints itself (DB_CAN_CHECKPOINT,
 * db.h), and works through db.h.
 *
 * SQLite appends each commit to the write-ahead log; a checkpoint copies
 * the log back into the database and fsyncs it; the log starts again from
 * its beginning only when a writer finds all of it copied.  Left to
 * SQLite, the COMMIT that finds the log past 1000 pages runs the
 * checkpoint itself, and every webhook waiting on that commit waits for
 * the copy and its fsyncs.  Run continuously beside the writer instead
 * (the previous design: a pass after every commit), it added two fsyncs
 * per commit, and under sustained load the log never finished, so the
 * leader had to copy a large remainder itself, holding every commit.
 *
 * Here one thread with its own database handle does the work:
 *
 *   - a PASSIVE pass whenever the log has grown by CHECKPOINTER_STEP
 *     pages since the last one: a bounded number of fsyncs per webhook,
 *     and commits go on meanwhile;
 *   - once the log is CHECKPOINTER_RESTART pages long, right after a pass
 *     (so that little was added since), it holds the commits (the pause
 *     hook: the group commit stops leading), copies that small remainder,
 *     and lets them go again: the next commit finds the log complete and
 *     starts it from the beginning.  The hold is one short copy and the
 *     database's fsyncs, and it happens once per RESTART pages;
 *   - the writer's own handle still checkpoints in COMMIT past
 *     CHECKPOINTER_BACKSTOP pages, should this thread fall behind (a
 *     reader in another process can keep a pass from finishing), and
 *     the SQLite driver resets the log past 98304 pages.
 *
 * Why so many pages (4 KiB each: the log may reach RESTART pages, about
 * 190 MiB, under sustained load): measured at 6,000 webhooks/s on the
 * 2-core bench machine, a commit of a dozen webhooks appends ~40 pages,
 * so 4,000 pages meant five holds a second.  A hold's fsyncs of the
 * database (SQLite also trims the file after a complete copy) took 10 to
 * 60 ms, growing with the file, and every request that came meanwhile
 * waited: p99 went from 12 to 27 ms within a minute.  At 48,000 pages a
 * hold comes every ~2 s and p99 stayed at 11 to 14 ms.  The holds were
 * then what p99.9 showed, 25 to 50 ms each: SQLite fsyncs the database
 * only at a complete pass, so the hold's fsync wrote out every page the
 * partial passes had copied since the last one.  The SQLite driver now
 * syncs after each partial pass, outside the hold (db_sqlite.c), and a
 * hold costs 3 to 6 ms.  Larger steps also copy a page rewritten by many
 * commits once, not once per step.
 *
 * Every pass and hold is told to the passed() hook (the group commit
 * notes it in commitstats.h), so its cost is visible at log_level = debug
 * and in /v1/metrics.
 */
#ifndef SHIPTRACK_CHECKPOINTER_H
#define SHIPTRACK_CHECKPOINTER_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

#define CHECKPOINTER_STEP 6000
#define CHECKPOINTER_RESTART 48000
#define CHECKPOINTER_BACKSTOP 64000

/*
 * Holding the writer: pause() returns once no commit runs and none will
 * start.  passed(): a pass took us and copied pages, holding the writer
 * or not.
 */
struct checkpointer_hooks {
	void (*pause)(void *arg);
	void (*resume)(void *arg);
	void (*passed)(void *arg, int64_t us, int pages, bool holding);
	void *arg;
};

struct checkpointer;

/*
 * Start the thread for writer's database, on a connection of its own, and
 * leave writer's commits only a backstop (CHECKPOINTER_BACKSTOP).  NULL
 * when the backend checkpoints for itself, or on failure (logged).
 */
struct checkpointer *checkpointer_start(struct store *writer,
    const struct checkpointer_hooks *h);
/*
 * The writer, after each commit: the log is now wal_pages long.  Cheap
 * (a lock, a comparison, maybe a signal).
 */
void checkpointer_note(struct checkpointer *k, int wal_pages);
/* Stop and join the thread. */
void checkpointer_stop(struct checkpointer *k);

#endif
