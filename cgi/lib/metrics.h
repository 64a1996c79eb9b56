/*
 * metrics: counters and histograms that outlive the process that counts,
 * for GET /v1/metrics.
 *
 * What the database's own rows tell (orders by stage, notifications by
 * state) stats.c counts there when asked.  What leaves no row (a
 * duplicate webhook, a refused signature) or is known only inside another
 * process (the receiver's, the poller's) is counted here and kept in the
 * table "metrics" (sql/004, store_metrics.h) as running totals that each
 * process adds its deltas to.
 *
 * Families are declared once, in the catalogue in metrics.c: name, help,
 * type, and for a histogram its bucket bounds and unit.  Writers name a
 * family by its enum; the exposition (stats.c) takes HELP and TYPE from
 * the same table, so a family cannot be written under one name and shown
 * under another.
 *
 * Two ways in:
 *
 *   - In memory, for the receiver: the series it counts are the enum
 *     metric below.  metric_add() and metric_observe() are one atomic add
 *     each and a flag set (16 request threads may call them at once; no
 *     lock).
 *     metrics_flush() writes what has accumulated, one upsert per changed
 *     series, inside a write transaction the caller has open anyway (the
 *     group commit's), and metrics_flush_end() puts the deltas back if that
 *     transaction did not commit.  A refusal commits nothing: its count
 *     waits for the next commit, the process's exit, or a small
 *     transaction of its own at most every METRICS_FLUSH_SECONDS (inbox.c),
 *     never a database write per request, which would let anyone who can
 *     reach the receiver make it write.
 *
 *   - Directly, for a program that writes once (the poller at the end of
 *     its run): metrics_store_add() and metrics_store_observe(), inside its
 *     own transaction.
 *
 * A histogram is stored per bucket (not cumulative) plus a sum, in the
 * family's integer unit (e.g. milliseconds), so an observation is one
 * atomic add to its bucket and one to the sum, and stored sums stay exact;
 * the exposition makes the buckets cumulative and scales the unit (to
 * seconds, say).  Bounds may change between versions: a stored bucket
 * counts towards every exposed bucket whose bound is at or above its own.
 */
#ifndef SHIPTRACK_METRICS_H
#define SHIPTRACK_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* Refusals wait at most this long for a commit before one of their own. */
#define METRICS_FLUSH_SECONDS 10
#define METRICS_MAX_BOUNDS 15

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

/* The stored families. */
enum metric_family {
	MF_WEBHOOKS,		/* shiptrack_webhooks_total{result} */
	MF_WEBHOOKS_REJECTED,	/* shiptrack_webhooks_rejected_total{reason} */
	MF_CARRIER_REQUESTS,	/* shiptrack_carrier_requests_total{endpoint,outcome} */
	MF_POLL_DURATION,	/* shiptrack_poll_duration_seconds (histogram) */
	MF_COMMIT_DURATION,	/* shiptrack_commit_duration_seconds (histogram) */
	MF_COMMIT_BATCH,	/* shiptrack_commit_batch_size (histogram) */
	MF_RYE_REQUESTS,	/* shiptrack_rye_requests_total{op,outcome} */
	MF_RYE_RECOVERED,	/* shiptrack_rye_events_recovered_total */
	MF_RYE_INTENTS,		/* shiptrack_rye_intents_completed_total */
	MF_RYE_ORDERS,		/* shiptrack_rye_orders_resynced_total */
	MF_RYE_ERRORS,		/* shiptrack_rye_errors_total */
	MF__MAX
};

struct metric_family_def {
	const char *name;	/* shiptrack_...; counters end in _total */
	const char *help;
	enum metric_type type;
	/* histograms: upper bounds (ascending, in unit) and the unit's size */
	const int64_t *bounds;
	size_t nbounds;
	double unit;		/* exposed value = stored value * unit */
};

const struct metric_family_def *metric_family(enum metric_family f);
/* The family stored under this name, or NULL (a row from another version). */
const struct metric_family_def *metric_family_named(const char *name);

/* The series the receiver counts in memory. */
enum metric {
	M_WEBHOOK_ACCEPTED, M_WEBHOOK_DUPLICATE, M_WEBHOOK_CHALLENGE,
	M_REJECTED_BAD_SIGNATURE, M_REJECTED_METHOD, M_REJECTED_NOT_CONFIGURED,
	M_REJECTED_TOO_LARGE, M_REJECTED_BAD_LENGTH, M_REJECTED_TIMEOUT,
	M_REJECTED_BAD_REQUEST, M_REJECTED_INVALID_JSON,
	M_REJECTED_MISSING_FIELD, M_REJECTED_INVALID_FIELD,
	M_REJECTED_UNAVAILABLE, M_REJECTED_OTHER,
	M_COMMIT_DURATION, M_COMMIT_BATCH,	/* histograms (commitstats.h) */
	M__MAX
};

struct metric_series {
	enum metric_family family;
	const char *labels;	/* exposition form, e.g. reason="bad_signature" */
};
const struct metric_series *metric_series(enum metric m);

/* The rejection series for an error code the receiver answered. */
enum metric metric_rejected(const char *code);

void metric_add(enum metric m, int64_t n);
/* A histogram series: v in its family's unit. */
void metric_observe(enum metric m, int64_t v);
/* Whether anything may be waiting to be stored (one atomic load). */
bool metrics_pending(void);

/*
 * Inside the caller's write transaction: store what accumulated, plus
 * this transaction's own counts (extra, indexed by enum metric; may be
 * NULL), which are kept only if it commits.  Always followed by
 * metrics_flush_end(), whatever it returns: flushes do not overlap.
 */
enum store_rc metrics_flush(struct store *st, const int64_t *extra);
void metrics_flush_end(bool committed);

/* Direct: one series, inside the caller's write transaction. */
enum store_rc metrics_store_add(struct store *st, enum metric_family f,
    const char *labels, int64_t n);
enum store_rc metrics_store_observe(struct store *st, enum metric_family f,
    const char *labels, int64_t v);

/*
 * shiptrack-poll, at the end of a run: its requests by endpoint and final
 * outcome, and how long it took.
 */
struct carrier_stats;
enum store_rc metrics_store_poll_run(struct store *st,
    const struct carrier_stats *s, int64_t duration_ms);

/*
 * shiptrack-poll, at the end of its Rye pass: Rye requests by operation
 * and final result, events recovered, intents read, gen-1 orders re-read,
 * reads that failed.
 */
struct rye_stats;
enum store_rc metrics_store_rye_run(struct store *st, const struct rye_stats *s,
    long recovered, long intents, long orders, long errors);

/* A histogram bucket's part name ("0.5", "+Inf") into buf (>= 32 bytes). */
void metrics_bucket_part(const struct metric_family_def *d, size_t i,
    char *buf, size_t bufsz);

#endif
