/*
 * poll.h: what the two halves of shiptrack-poll share.
 *
 *   poll.c       the program: options, configuration, lock, database,
 *                carrier client, then one pass, then the summary, the run
 *                recorded and the exit status;
 *   poll_pass.c  one pass: register || list sync, then reconcile; the
 *                requests and what each answer means for its shipment.
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
};

/* Set by SIGINT/SIGTERM: the pass stops starting work and ends. */
extern volatile sig_atomic_t poll_signal;

/*
 * One pass over the due shipments and the list sync.  Outcomes land in
 * r->n and the flags; per-shipment errors are recorded as they happen.
 */
void poll_pass(struct run *r);

#endif
