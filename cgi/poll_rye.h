/*
 * poll_rye.h: inside the Rye pass of shiptrack-poll; included by
 * poll_rye.c (the pass: what is due, its course, its result),
 * poll_rye_read.c (the reads by id) and poll_sweep.c (the events list),
 * and by nothing else: poll.c sees the pass through poll.h.
 */
#ifndef SHIPTRACK_POLL_RYE_H
#define SHIPTRACK_POLL_RYE_H

#include <stdbool.h>
#include <stdint.h>

#include "poll.h"
#include "runlock.h"
#include "rye.h"

/* Why the Rye sweep of the events list stopped before its end. */
enum rye_cut {
	RYE_CUT_NONE,
	RYE_CUT_PAGE_CAP,	/* poll_max_pages pages */
	RYE_CUT_REPEATED,	/* Rye gave a cursor it had given before */
	RYE_CUT_LATE,		/* the pass's deadline passed */
};

struct rye_counts {
	long recovered;		/* events the sweep stored (never received) */
	long intents;		/* gen-2 checkout intents read */
	long shipments;		/* gen-2 shipments read by id */
	long orders;		/* gen-1 orders read (orderByID) */
	long failed;		/* reads that failed: recorded as syncError */
	long unreadable;	/* swept events that are no events */
};

struct rye_pass {
	const struct opts *o;
	const struct conf *conf;
	struct store *st;
	const char *skipped;		/* why it did not run, or NULL */
	struct rye *c;
	struct runlock lock;
	int64_t start_ms, deadline;	/* wall ms */
	int64_t resync_ms, backoff_ms, margin_ms;
	struct rye_counts n;
	enum rye_cut cut;
	bool unauthorized, config_error, db_error, struggling, late, interrupted;
};

/*
 * What a read's transaction ends with when the store cannot take Rye's
 * object as Rye sent it (our own record of it does not read back: say, a
 * lone surrogate escape that Rye's parser lets through and the store's
 * refuses).  The object's read fails; the pass goes on.
 */
#define UNREADABLE STORE_NONE

/* --- the pass's course (poll_rye.c) ------------------------------------------- */

/* Whether to go on: not stopped, not interrupted, not out of time. */
bool poll_rye_going(struct rye_pass *p);
/* A database error stops the pass. */
void poll_rye_store_failed(struct rye_pass *p, enum store_rc rc);
/*
 * What an answer that is not the object asked for means for the pass.
 * The caller records it for the orders concerned unless the pass stops
 * for a reason that is not theirs (poll_rye_theirs()).
 */
void poll_rye_answer_failed(struct rye_pass *p, const struct rye_answer *a,
    const char *what);
/* Whether a failed answer is the orders' to record (not the key's, not ours). */
bool poll_rye_theirs(const struct rye_answer *a);
/* Open a transaction for one read; false (and the pass stops) if none. */
bool poll_rye_begin(struct rye_pass *p);
/*
 * Commit, or roll back on error; a database error stops the pass.  false
 * when nothing was committed.
 */
bool poll_rye_end(struct rye_pass *p, enum store_rc rc);

/* --- the sweep of the gen-2 events list (poll_sweep.c) ----------------------- */

/* true if it stored any event. */
bool poll_rye_sweep(struct rye_pass *p);

/* --- the reads by id (poll_rye_read.c) ----------------------------------------- */

/* Every due gen-2 shipment, RYE_IDS_MAX a request. */
void poll_rye_fetch_shipments(struct rye_pass *p);
/* Every due gen-2 intent, RYE_IDS_MAX a request (deep: with its shipments). */
void poll_rye_fetch_intents(struct rye_pass *p);
/* Every due gen-1 order, orderByID each. */
void poll_rye_fetch_orders1(struct rye_pass *p);

#endif
