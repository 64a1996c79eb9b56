/*
 * batch: group commit, for a process whose request threads all write.
 *
 * With synchronous=FULL every commit costs an fsync, and several writer
 * processes queue on SQLite's single write lock, sleeping in its busy
 * handler: measured here, two single-threaded workers reached ~1,000
 * webhooks/s against a raw commit rate of ~7,000.  So one receiver process
 * runs many request threads, and their writes are committed together:
 *
 *   a request thread prepares its item (in parallel: for a webhook, the
 *   signature and the parse), then batch_submit() queues it and waits;
 *   the first waiting thread that finds no commit in progress becomes
 *   the leader: it takes everything queued, applies each item (the
 *   creator's apply callback; see apply_list() for the savepoints), lets
 *   the creator add what goes with the whole commit (finish), commits
 *   once, marks every item with its result and wakes the others;
 *   each thread answers its client only after its item's commit.
 *
 * batch knows nothing of what an item is: its creator (inbox.h, for the
 * webhook receiver) hands it the operations and a struct app to take
 * the store from.
 *
 * A leader does not always commit the moment it leads: it waits, up to
 * BATCH_GATHER_US, for threads holding a request whose body is read and
 * which will be submitted within microseconds (batch_arrive() was
 * called, batch_submit() not yet), and, while items come back to back,
 * for those about to come (batch.c, gather()).  Without that wait, at
 * durability normal (no fsync to wait for) a commit left while the next
 * request was still being verified, batches held 1.6 webhooks, and each
 * commit wrote a dozen 4 KiB pages to the WAL for one event's 1.5 KB:
 * measured, 48 KB written and 64 us of kernel time per webhook.
 *
 * Nothing is acknowledged before it is durable, and a batch of one is the
 * plain one-transaction-per-request path (CGI mode, mod_fcgid).
 */
#ifndef SHIPTRACK_BATCH_H
#define SHIPTRACK_BATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "store.h"

struct batch_item {
	void *arg;		/* the creator's item, for its callbacks */
	bool empty;		/* adds nothing of its own: not counted in a commit's size */
	/* the result, valid once batch_submit() returns */
	enum store_rc rc;
	/* queue bookkeeping */
	bool done;
	struct batch_item *next;
	pthread_cond_t *cv;		/* the submitting thread's, to wake it */
};

/* What the creator does in each commit; called by the leader only. */
struct batch_ops {
	/* One item's writes, inside the open transaction; its result. */
	enum store_rc (*apply)(void *ctx, struct store *st, struct batch_item *it,
	    int64_t now_ms);
	/*
	 * Before apply() of an item, for the item applied after it (when
	 * none failed): what of it may go to the database with this one's
	 * round trips (apply_event_ahead()).  NULL: nothing.
	 */
	void (*ahead)(void *ctx, struct store *st, struct batch_item *next,
	    int64_t now_ms);
	/*
	 * After the items, in the same transaction: what goes with the whole
	 * commit (the list's items carry their results).  NULL: nothing.
	 */
	enum store_rc (*finish)(void *ctx, struct store *st,
	    const struct batch_item *list);
	/* After finish, whatever it returned: whether the transaction committed. */
	void (*finished)(void *ctx, bool committed);
	void *ctx;
};

struct batch;

/*
 * a: where the store comes from (app_store(), tried again at each commit
 * until it opens) and the configuration.  threads: how many request
 * threads may submit (with one, none waits).  long_lived: the process
 * serves many requests (FastCGI): its WAL checkpoints run on a thread of
 * their own (checkpointer.h); a CGI process keeps SQLite's checkpoints
 * in COMMIT.
 */
struct batch *batch_new(struct app *a, const struct batch_ops *ops,
    size_t max_per_commit, size_t threads, bool long_lived);
void batch_free(struct batch *b);

/*
 * The calling thread has a request that will reach batch_submit() soon
 * (its body is read); batch_depart() if it ends without submitting.
 * Both are no-ops when not needed, so a request can always call both.
 */
void batch_arrive(struct batch *b);
void batch_depart(struct batch *b);

/* Queue it, wait for its commit; returns it->rc. */
enum store_rc batch_submit(struct batch *b, struct batch_item *it);

/*
 * Long-lived, and no commit has succeeded for us microseconds: true, and
 * the wait starts again (so one thread, not all, acts on it).  A CGI
 * process: always false.
 */
bool batch_quiet_for(struct batch *b, int64_t us);

/* At exit, no request thread left: commit this one item now, in this thread. */
void batch_commit_alone(struct batch *b, struct batch_item *it);

bool batch_long_lived(const struct batch *b);
/* Commits and items so far, for a log line at exit. */
void batch_totals(struct batch *b, unsigned long *commits, unsigned long *items);

#endif
