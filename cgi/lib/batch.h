/*
 * batch: group commit for the webhook receiver.
 *
 * With synchronous=FULL every commit costs an fsync, and several writer
 * processes queue on SQLite's single write lock, sleeping in its busy
 * handler: measured here, two single-threaded workers reached ~1,000
 * events/s against a raw commit rate of ~7,000.  So one receiver process
 * runs many request threads, and their writes are committed together:
 *
 *   a request thread verifies and parses its event (in parallel), then
 *   batch_submit() queues it and waits;
 *   the first waiting thread that finds no commit in progress becomes
 *   the leader: it takes everything queued, applies each item inside its
 *   own SAVEPOINT (one bad item cannot spoil the others), commits once,
 *   marks every item with its result and wakes the others;
 *   each thread answers its client only after its item's commit.
 *
 * A leader does not always commit the moment it leads: it waits, up to
 * BATCH_GATHER_US, for threads holding a request whose body is read and
 * which will be submitted within microseconds (batch_arrive() was
 * called, batch_submit() not yet), and, while webhooks come back to
 * back, for those about to come (batch.c, gather()).  Without that wait, at
 * durability normal (no fsync to wait for) a commit left while the next
 * request was still being verified, batches held 1.6 webhooks, and each
 * commit wrote a dozen 4 KiB pages to the WAL for one event's 1.5 KB:
 * measured, 48 KB written and 64 us of kernel time per webhook.
 *
 * Nothing is acknowledged before it is durable, and a batch of one is the
 * plain one-transaction-per-webhook path (CGI mode, mod_fcgid).
 */
#ifndef SHIPTRACK_BATCH_H
#define SHIPTRACK_BATCH_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "event.h"
#include "store.h"

/* BATCH_FLUSH stores nothing but the counts waiting in metrics.h. */
enum batch_kind { BATCH_EVENT, BATCH_REJECT, BATCH_FLUSH };

struct batch_item {
	enum batch_kind kind;
	const struct event *ev;		/* BATCH_EVENT */
	const char *scheme, *reason;	/* BATCH_REJECT */
	const char *code;		/* BATCH_REJECT: the error code answered (metrics) */
	const char *body;
	size_t len;
	/* results, valid once batch_submit() returns */
	enum store_rc rc;
	bool duplicate;
	/* queue bookkeeping */
	bool done;
	struct batch_item *next;
	pthread_cond_t *cv;		/* the submitting thread's, to wake it */
};

struct batch;

/*
 * threads: how many request threads may submit (with one, none waits).
 * long_lived: the process serves many requests (FastCGI): its WAL
 * checkpoints run on a thread of their own (checkpointer.h), and counts
 * that no commit carried are stored at most every METRICS_FLUSH_SECONDS;
 * a CGI process keeps SQLite's checkpoints in COMMIT.
 */
struct batch *batch_new(struct app *a, size_t max_per_commit, size_t threads,
    bool long_lived);
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
 * Every commit also stores the counts waiting in metrics.h, and counts
 * what it commits (accepted, duplicate, rejected by code) in the same
 * transaction.  A request that committed nothing (a refusal) leaves its
 * count waiting: batch_flush_due(), after each request, stores it in a
 * transaction of its own once nothing has been committed for
 * METRICS_FLUSH_SECONDS, and batch_free() at exit; a CGI process (one
 * request each) does that only if no process did in the last
 * METRICS_FLUSH_SECONDS, so a flood of refused requests cannot make the
 * receiver write once per request (those counts are then not kept).
 */
void batch_flush_due(struct batch *b);

#endif
