/*
 * poll.h: what the parts of shiptrack-poll share.
 *
 *   poll.c       the program: options, configuration, locks, database,
 *                then the Rye pass, then the carrier pass, then the
 *                summary, the runs recorded and the exit status;
 *   poll_rye.c   the Rye pass: what is due (from the events that arrived
 *                since the last run), thin events completed, gen-1 orders
 *                re-read, each read applied in its own transaction;
 *   poll_sweep.c the Rye pass's sweep of the gen-2 events list;
 *   poll_pass.c  the carrier pass: register || list sync, then reconcile;
 *                the requests and what each answer means for its shipment.
 */
#ifndef SHIPTRACK_POLL_H
#define SHIPTRACK_POLL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "app.h"
#include "carrier.h"
#include "progress.h"
#include "rye.h"
#include "runlock.h"
#include "store.h"

struct job;

/* A list sync ended before the service's last page (poll_pass.c). */
enum list_cut {
	LIST_CUT_NONE,
	LIST_CUT_CAPPED,	/* poll_max_pages pages */
	LIST_CUT_REPEATED,	/* the service repeated a cursor or a page */
	LIST_CUT_LATE,		/* the run's deadline (poll_interval) passed */
};

struct opts {
	const char *config;
	long limit;		/* shipments registered or reconciled; -1: all */
	bool dry_run, verbose;
	bool rye_only, carrier_only;	/* one pass of the two */
};

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

/* The Rye pass (poll_rye.c, poll_sweep.c). */
struct rye_pass {
	const char *skipped;		/* why it did not run, or NULL */
	struct rye *c;
	struct runlock lock;
	int64_t start_ms, deadline;	/* wall ms */
	int64_t resync_ms, backoff_ms, margin_ms;
	struct rye_counts n;
	enum rye_cut cut;
	bool unauthorized, config_error, db_error, struggling, late, interrupted;
};

struct counts {
	long registered, would_register, listed, reconciled, updated;
	long failed, rejected;
	long delayed;		/* stall episodes the sweep began */
};

struct run {
	const struct opts *o;
	struct app a;
	struct store *st;
	struct carrier *c;
	struct runlock lock;
	int64_t start_ms, deadline;	/* wall ms */
	int64_t reconcile_ms, backoff_ms;
	/* the shipments due, loaded as ids and read one by one */
	int64_t *reg, *rec;
	size_t nreg, ireg, nrec, irec;
	bool rec_loaded;
	/* creates that met 4003, waiting for a lookup */
	struct job **pend;
	size_t npend, cappend;
	/* list sync */
	bool list_wanted, list_done, list_ok;
	int64_t list_since;		/* updated_at_min, or -1 */
	int64_t list_start;		/* the cursor this sync will leave */
	long list_page;
	struct carrier_pager pager;	/* poll_max_pages, repeated pages */
	enum list_cut cut;		/* why the service's next page was not asked for */
	/* outcome */
	struct counts n;
	bool stopping, unauthorized, config_error, quota, interrupted, db_error,
	    client_error;
	struct progress progress;	/* the line on a terminal */
	uint64_t rnd;
	struct rye_pass rye;
};

/* Set by SIGINT/SIGTERM: the pass stops starting work and ends. */
extern volatile sig_atomic_t poll_signal;

/*
 * One pass over the due shipments and the list sync.  Outcomes land in
 * r->n and the flags; per-shipment errors are recorded as they happen.
 */
void poll_pass(struct run *r);

/*
 * The Rye pass, before the carrier pass; with no rye_api_key it is
 * skipped (r->rye.skipped says why).  Its own lock, deadline and result.
 */
void poll_rye(struct run *r);
void poll_rye_close(struct run *r);
/* The sweep of the gen-2 events list (poll_sweep.c); true if it stored any. */
bool poll_rye_sweep(struct run *r);
/* The Rye pass's helpers for poll_sweep.c. */
bool poll_rye_going(struct run *r);
void poll_rye_store_failed(struct run *r, enum store_rc rc);
void poll_rye_answer_failed(struct run *r, const struct rye_answer *a,
    const char *what);
/* "ok", or why the pass ended otherwise; *rc its exit status. */
const char *poll_rye_result(const struct run *r, int *rc);

#endif
