/*
 * poll_pass.h: inside the carrier pass of shiptrack-poll; included by
 * poll_pass.c (the pass: its course, feeding the client, its result),
 * poll_jobs.c (one shipment's requests and what their answers mean) and
 * poll_list.c (the list sync), and by nothing else: poll.c sees the pass
 * through poll.h.
 */
#ifndef SHIPTRACK_POLL_PASS_H
#define SHIPTRACK_POLL_PASS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carrier.h"
#include "poll.h"
#include "progress.h"
#include "store_carrier.h"

#define BACKOFF_CAP_MS	(24 * 3600 * 1000LL)

/* A list sync ended before the service's last page (poll_list.c). */
enum list_cut {
	LIST_CUT_NONE,
	LIST_CUT_CAPPED,	/* poll_max_pages pages */
	LIST_CUT_REPEATED,	/* the service repeated a cursor or a page */
	LIST_CUT_LATE,		/* the run's deadline (poll_interval) passed */
};

/* The list sync: every tracking updated since the last complete one. */
struct list_sync {
	bool wanted, done, ok;
	int64_t since;			/* updated_at_min, or -1 */
	int64_t start;			/* the cursor this sync will leave */
	long page;
	struct carrier_pager pager;	/* poll_max_pages, repeated pages */
	enum list_cut cut;		/* why the service's next page was not asked for */
};

struct counts {
	long registered, would_register, listed, reconciled, updated;
	long failed, rejected;
	long delayed;		/* stall episodes the sweep began */
};

struct job;

struct carrier_pass {
	const struct opts *o;
	const struct conf *conf;
	struct store *st;		/* the run's, once the pass runs */
	const struct poll_env *e;
	struct carrier *c;
	int64_t start_ms, deadline;	/* wall ms */
	int64_t reconcile_ms, backoff_ms;
	uint64_t rnd;
	struct progress progress;	/* the line on a terminal */
	/* the shipments due, loaded as ids and read one by one */
	int64_t *reg, *rec;
	size_t nreg, ireg, nrec, irec;
	bool rec_loaded;
	/* creates that met 4003, waiting for a lookup (poll_jobs.c) */
	struct job **pend;
	size_t npend, cappend;
	struct list_sync list;
	/* outcome */
	struct counts n;
	bool stopping, unauthorized, config_error, quota, interrupted, db_error,
	    client_error;
};

/* --- the pass's course (poll_pass.c) ------------------------------------------ */

bool pass_past_deadline(const struct carrier_pass *p);
/* A database error stops the run. */
void pass_store_failed(struct carrier_pass *p, enum store_rc rc);
/* A per-shipment error: logged, and (not in a dry run) shown to the operator. */
void pass_record_error(struct carrier_pass *p, const struct carrier_ship *sh,
    bool for_good, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/*
 * What every kind of request does with an outcome that is not about its
 * shipment in particular (sh may be NULL).  true when it handled it.
 */
bool pass_common_outcome(struct carrier_pass *p, const struct carrier_ship *sh,
    const struct carrier_result *res);
/*
 * A fetched tracking onto one shipment, in its own transaction; counted
 * in *counter.  adopt: the tracking is this shipment's own (create, get,
 * lookup), not one the list matched by number.
 */
void pass_apply(struct carrier_pass *p, int64_t id, const char *order_id,
    const struct carrier_tracking *t, bool adopt, long *counter);

/* --- one shipment's requests (poll_jobs.c) --------------------------------- */

/* Register it (POST); false when out of memory. */
bool jobs_register(struct carrier_pass *p, const struct carrier_ship *sh);
/* Re-read it by id (GET); false when out of memory. */
bool jobs_reconcile(struct carrier_pass *p, const struct carrier_ship *sh);
/* One list request for the numbers whose create said 4003; false when out of memory. */
bool jobs_lookup(struct carrier_pass *p);
/* Lookups still waiting when the run stopped: dropped, nothing recorded. */
void jobs_drop_waiting(struct carrier_pass *p);

/* --- the list sync (poll_list.c) ---------------------------------------------- */

/* Where it starts: the last complete one minus poll_sync_margin, or nowhere. */
enum store_rc list_sync_plan(struct carrier_pass *p);
/* Ask for its first page (the rest follow from the answers). */
void list_sync_start(struct carrier_pass *p);

#endif
