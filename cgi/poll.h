/*
 * poll.h: what the parts of shiptrack-poll share.
 *
 *   poll.c          the program: options, configuration, locks, database,
 *                   then the Rye pass, then the carrier pass, then the
 *                   summary line and the exit status;
 *   poll_rye*.c     the Rye pass (poll_rye.h): what is due, the events
 *                   sweep (poll_sweep.c), the reads (poll_rye_read.c),
 *                   each read applied in its own transaction;
 *   poll_pass*.c    the carrier pass (poll_pass.h): register || list sync
 *                   (poll_list.c), then reconcile; the requests and what
 *                   each answer means for its shipment (poll_jobs.c).
 *
 * Each pass keeps its state to itself, behind the functions below; what
 * both read (the options, the configuration, the store, the run's clock)
 * is struct poll_env, which poll.c fills and the passes only read.
 */
#ifndef SHIPTRACK_POLL_H
#define SHIPTRACK_POLL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"
#include "store.h"

#define EXIT_FAILED	1
#define EXIT_USAGE	2

struct opts {
	const char *config;
	long limit;		/* shipments registered or reconciled; -1: all */
	bool dry_run, verbose;
	bool rye_only, carrier_only;	/* one pass of the two */
};

/* What every pass reads; poll.c fills it (st once the database is open). */
struct poll_env {
	const struct opts *o;
	const struct conf *conf;
	struct store *st;
	int64_t start_ms, deadline;	/* wall ms: the run's start, and start + poll_interval */
};

/* Set by SIGINT/SIGTERM: the passes stop starting work and end. */
extern volatile sig_atomic_t poll_signal;

/*
 * A pass's record in meta, in one transaction (poll.c): "<pass>.startedAt",
 * "<pass>.finishedAt", "<pass>.result", each of nums, when the result is
 * "ok" ok_key = the finishing time, and what more() writes.  For
 * GET /v1/stats and `shiptrack stats`.  false if it could not be written.
 */
struct poll_num {
	const char *key;
	long v;
};
struct poll_record {
	const char *pass;		/* "poll", "rye" */
	int64_t start_ms;
	const char *result, *ok_key;
	const struct poll_num *nums;
	size_t n;
	enum store_rc (*more)(void *arg, struct store *st);	/* or NULL */
	void *arg;
};
bool poll_record(struct store *st, const struct poll_record *r);

/*
 * A pass's result and exit status: the first outcome of the list that
 * applies (the list runs from worst to best), else "ok" and 0.
 */
struct poll_outcome {
	bool applies;
	const char *result;
	int rc;
};
const char *poll_outcome(const struct poll_outcome *ladder, size_t n, int *rc);

/* --- the carrier pass (poll_pass.c) ------------------------------------------ */

struct carrier_pass;

/*
 * The carrier client, before the lock and the database: 0, or the exit
 * status with the problem printed.
 */
int poll_pass_open(const struct poll_env *e, struct carrier_pass **out);
/*
 * One pass over the due shipments and the list sync.  Per-shipment errors
 * are recorded as they happen.
 */
void poll_pass(struct carrier_pass *p);
/*
 * The pass's part of the summary line, after recording the run (not in a
 * dry run); *result the run's result; returns the pass's exit status.
 */
int poll_pass_finish(struct carrier_pass *p, const char **result);
/* The lines on stderr for what stopped the pass that the operator must see. */
void poll_pass_warn(const struct carrier_pass *p);
void poll_pass_close(struct carrier_pass *p);

/* --- the Rye pass (poll_rye.c) ------------------------------------------------ */

struct rye_pass;

/* The pass's state, before it runs; NULL if out of memory. */
struct rye_pass *poll_rye_new(const struct poll_env *e);
/*
 * The Rye pass, before the carrier pass; with no rye_api_key it is
 * skipped (and says why).  Its own lock, deadline and result.
 */
void poll_rye(struct rye_pass *p);
/* Rye refused the key: nothing else may run. */
bool poll_rye_refused_key(const struct rye_pass *p);
/* "ok", or why the pass ended otherwise; *rc its exit status. */
const char *poll_rye_result(const struct rye_pass *p, int *rc);
/* "rye: ..." of the summary line. */
void poll_rye_print(const struct rye_pass *p);
void poll_rye_close(struct rye_pass *p);

#endif
