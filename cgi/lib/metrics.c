/*
 * metrics: see metrics.h.  The pending deltas are one array of atomics,
 * a slot per counter or per histogram bucket plus one for the sum; a
 * flush swaps each slot with zero, writes the non-zero ones, and keeps
 * what it took until it learns whether the transaction committed.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "carrier.h"
#include "metrics.h"
#include "rye.h"
#include "promtext.h"
#include "store_metrics.h"

/* Poll runs: from a few seconds to past the default 15-minute interval. */
static const int64_t poll_duration_ms[] = {
	1000, 5000, 15000, 30000, 60000, 120000, 300000, 600000, 900000, 1800000,
	3600000,
};

/* Group commits: from a fast fsync to a stall anyone would notice. */
static const int64_t commit_us[] = {
	250, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000, 250000, 500000,
	1000000, 2500000, 5000000,
};
/* Webhooks per commit: 1 (alone) up to the batch limit (64). */
static const int64_t batch_items[] = { 1, 2, 4, 8, 16, 32, 64 };

static const struct metric_family_def families[MF__MAX] = {
	[MF_WEBHOOKS] = { "shiptrack_webhooks_total",
	    "Webhooks answered 200, by result: accepted (stored), duplicate"
	    " (already stored), challenge (URL verification).", METRIC_COUNTER,
	    NULL, 0, 1 },
	[MF_WEBHOOKS_REJECTED] = { "shiptrack_webhooks_rejected_total",
	    "Webhooks refused, by the error code answered.", METRIC_COUNTER,
	    NULL, 0, 1 },
	[MF_CARRIER_REQUESTS] = { "shiptrack_carrier_requests_total",
	    "Carrier service requests by endpoint and final outcome (after the"
	    " client's own retries), as counted by shiptrack-poll at the end of"
	    " each run.", METRIC_COUNTER, NULL, 0, 1 },
	[MF_POLL_DURATION] = { "shiptrack_poll_duration_seconds",
	    "How long shiptrack-poll runs took.", METRIC_HISTOGRAM,
	    poll_duration_ms, sizeof(poll_duration_ms) / sizeof(poll_duration_ms[0]),
	    0.001 },
	[MF_COMMIT_DURATION] = { "shiptrack_commit_duration_seconds",
	    "How long the receiver's group commits took, BEGIN to COMMIT: the"
	    " time every webhook of a batch waits on the database.",
	    METRIC_HISTOGRAM, commit_us, sizeof(commit_us) / sizeof(commit_us[0]),
	    0.000001 },
	[MF_COMMIT_BATCH] = { "shiptrack_commit_batch_size",
	    "Webhooks per group commit of the receiver.", METRIC_HISTOGRAM,
	    batch_items, sizeof(batch_items) / sizeof(batch_items[0]), 1 },
	[MF_RYE_REQUESTS] = { "shiptrack_rye_requests_total",
	    "Rye API calls by operation and final outcome (after the client's own"
	    " retries), as counted by shiptrack-poll's Rye pass.", METRIC_COUNTER,
	    NULL, 0, 1 },
	[MF_RYE_RECOVERED] = { "shiptrack_rye_events_recovered_total",
	    "Gen-2 events the Rye pass found in Rye's events list that no webhook"
	    " had delivered.", METRIC_COUNTER, NULL, 0, 1 },
	[MF_RYE_INTENTS] = { "shiptrack_rye_intents_completed_total",
	    "Gen-2 checkout intents the Rye pass read (thin events completed).",
	    METRIC_COUNTER, NULL, 0, 1 },
	[MF_RYE_ORDERS] = { "shiptrack_rye_orders_resynced_total",
	    "Gen-1 orders the Rye pass re-read with orderByID.", METRIC_COUNTER,
	    NULL, 0, 1 },
	[MF_RYE_ERRORS] = { "shiptrack_rye_errors_total",
	    "Reads of the Rye pass that failed (recorded as the order's syncError).",
	    METRIC_COUNTER, NULL, 0, 1 },
};

#define REJECTED(code) { MF_WEBHOOKS_REJECTED, "reason=\"" code "\"" }
static const struct metric_series series[M__MAX] = {
	[M_WEBHOOK_ACCEPTED] = { MF_WEBHOOKS, "result=\"accepted\"" },
	[M_WEBHOOK_DUPLICATE] = { MF_WEBHOOKS, "result=\"duplicate\"" },
	[M_WEBHOOK_CHALLENGE] = { MF_WEBHOOKS, "result=\"challenge\"" },
	[M_REJECTED_BAD_SIGNATURE] = REJECTED("bad_signature"),
	[M_REJECTED_METHOD] = REJECTED("method_not_allowed"),
	[M_REJECTED_NOT_CONFIGURED] = REJECTED("not_configured"),
	[M_REJECTED_TOO_LARGE] = REJECTED("payload_too_large"),
	[M_REJECTED_BAD_LENGTH] = REJECTED("bad_length"),
	[M_REJECTED_TIMEOUT] = REJECTED("timeout"),
	[M_REJECTED_BAD_REQUEST] = REJECTED("bad_request"),
	[M_REJECTED_INVALID_JSON] = REJECTED("invalid_json"),
	[M_REJECTED_MISSING_FIELD] = REJECTED("missing_field"),
	[M_REJECTED_INVALID_FIELD] = REJECTED("invalid_field"),
	[M_REJECTED_UNAVAILABLE] = REJECTED("unavailable"),
	[M_REJECTED_OTHER] = REJECTED("other"),
	[M_COMMIT_DURATION] = { MF_COMMIT_DURATION, "" },
	[M_COMMIT_BATCH] = { MF_COMMIT_BATCH, "" },
};
#undef REJECTED

/* Buckets (the last is +Inf), then the sum. */
#define SLOTS (METRICS_MAX_BOUNDS + 2)
#define SUM_SLOT (SLOTS - 1)

static _Atomic int64_t pending[M__MAX][SLOTS];
/*
 * Set after each add (release), cleared by a flush before it takes the
 * slots (acquire): so metrics_pending() is one load, never false while
 * an add is waiting (at worst true once too often).
 */
static atomic_bool dirty;
/* What the flush in progress took from pending (under flush_mu). */
static int64_t taken[M__MAX][SLOTS];
static pthread_mutex_t flush_mu = PTHREAD_MUTEX_INITIALIZER;

const struct metric_family_def *
metric_family(enum metric_family f)
{
	return (unsigned)f < MF__MAX ? &families[f] : NULL;
}

const struct metric_family_def *
metric_family_named(const char *name)
{
	for (int f = 0; f < MF__MAX; f++)
		if (strcmp(families[f].name, name) == 0)
			return &families[f];
	return NULL;
}

const struct metric_series *
metric_series(enum metric m)
{
	return (unsigned)m < M__MAX ? &series[m] : NULL;
}

enum metric
metric_rejected(const char *code)
{
	size_t n = strlen(code);

	for (int m = M_REJECTED_BAD_SIGNATURE; m < M_REJECTED_OTHER; m++) {
		const char *l = series[m].labels + strlen("reason=\"");
		if (strncmp(l, code, n) == 0 && strcmp(l + n, "\"") == 0)
			return (enum metric)m;
	}
	return M_REJECTED_OTHER;
}

void
metric_add(enum metric m, int64_t n)
{
	if ((unsigned)m >= M__MAX)
		return;
	atomic_fetch_add_explicit(&pending[m][0], n, memory_order_relaxed);
	atomic_store_explicit(&dirty, true, memory_order_release);
}

/* The bucket of v: the first bound at or above it, else +Inf. */
static size_t
bucket_of(const struct metric_family_def *d, int64_t v)
{
	size_t i = 0;

	while (i < d->nbounds && v > d->bounds[i])
		i++;
	return i;
}

void
metric_observe(enum metric m, int64_t v)
{
	const struct metric_family_def *d;

	if ((unsigned)m >= M__MAX)
		return;
	d = &families[series[m].family];
	if (d->type != METRIC_HISTOGRAM)
		return;
	atomic_fetch_add_explicit(&pending[m][bucket_of(d, v)], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&pending[m][SUM_SLOT], v, memory_order_relaxed);
	atomic_store_explicit(&dirty, true, memory_order_release);
}

bool
metrics_pending(void)
{
	return atomic_load_explicit(&dirty, memory_order_acquire);
}

void
metrics_bucket_part(const struct metric_family_def *d, size_t i, char *buf,
    size_t bufsz)
{
	if (i >= d->nbounds)
		snprintf(buf, bufsz, "+Inf");
	else
		promtext_number((double)d->bounds[i] * d->unit, buf, bufsz);
}

/* The part name of slot s of a series, "" for a counter. */
static void
part_of(const struct metric_family_def *d, int s, char *buf, size_t bufsz)
{
	if (d->type != METRIC_HISTOGRAM)
		buf[0] = '\0';
	else if (s == SUM_SLOT)
		snprintf(buf, bufsz, "sum");
	else
		metrics_bucket_part(d, (size_t)s, buf, bufsz);
}

/* Whether a series of this family uses slot s (its sum included). */
static bool
slot_used(const struct metric_family_def *d, int s)
{
	if (d->type != METRIC_HISTOGRAM)
		return s == 0;
	return s == SUM_SLOT || (size_t)s <= d->nbounds;
}

enum store_rc
metrics_flush(struct store *st, const int64_t *extra)
{
	enum store_rc rc = STORE_OK;
	char part[PROMTEXT_NUMBER_LEN];
	bool any;

	pthread_mutex_lock(&flush_mu);
	/* Nothing added since the last flush: only this transaction's counts. */
	any = atomic_exchange_explicit(&dirty, false, memory_order_acquire);
	for (int m = 0; m < M__MAX && rc == STORE_OK; m++) {
		const struct metric_family_def *d = &families[series[m].family];
		for (int s = 0; s < SLOTS && rc == STORE_OK; s++) {
			int64_t v;
			if (!slot_used(d, s))
				continue;
			v = taken[m][s] = any ? atomic_exchange_explicit(&pending[m][s], 0,
			    memory_order_relaxed) : 0;
			if (s == 0 && extra != NULL)
				v += extra[m];
			if (v == 0)
				continue;
			part_of(d, s, part, sizeof(part));
			rc = store_metric_add(st, d->name, series[m].labels, part, v);
		}
	}
	return rc;
}

void
metrics_flush_end(bool committed)
{
	for (int m = 0; m < M__MAX; m++)
		for (int s = 0; s < SLOTS; s++) {
			if (!committed && taken[m][s] != 0) {
				atomic_fetch_add_explicit(&pending[m][s], taken[m][s],
				    memory_order_relaxed);
				atomic_store_explicit(&dirty, true, memory_order_release);
			}
			taken[m][s] = 0;
		}
	pthread_mutex_unlock(&flush_mu);
}

enum store_rc
metrics_store_add(struct store *st, enum metric_family f, const char *labels,
    int64_t n)
{
	const struct metric_family_def *d = metric_family(f);

	if (d == NULL || d->type == METRIC_HISTOGRAM)
		return STORE_ERROR;
	return n == 0 ? STORE_OK : store_metric_add(st, d->name, labels, "", n);
}

enum store_rc
metrics_store_observe(struct store *st, enum metric_family f,
    const char *labels, int64_t v)
{
	const struct metric_family_def *d = metric_family(f);
	char part[PROMTEXT_NUMBER_LEN];
	enum store_rc rc;

	if (d == NULL || d->type != METRIC_HISTOGRAM)
		return STORE_ERROR;
	metrics_bucket_part(d, bucket_of(d, v), part, sizeof(part));
	if ((rc = store_metric_add(st, d->name, labels, part, 1)) != STORE_OK)
		return rc;
	return store_metric_add(st, d->name, labels, "sum", v);
}

/* "rate limited" -> "rate_limited": label values stay plain words. */
static void
word(char *dst, size_t dstsz, const char *src)
{
	snprintf(dst, dstsz, "%s", src);
	for (char *p = dst; *p != '\0'; p++)
		if (*p == ' ')
			*p = '_';
}

enum store_rc
metrics_store_poll_run(struct store *st, const struct carrier_stats *s,
    int64_t duration_ms)
{
	char labels[128], outcome[32];
	enum store_rc rc = STORE_OK;

	for (int op = 0; op < CARRIER_OP__MAX && rc == STORE_OK; op++)
		for (int o = 0; o < CARRIER_OUTCOME__MAX && rc == STORE_OK; o++) {
			if (s->ended[op][o] == 0)
				continue;
			labels[0] = '\0';
			word(outcome, sizeof(outcome),
			    carrier_outcome_name((enum carrier_outcome)o));
			if (promtext_label(labels, sizeof(labels), "endpoint",
			    carrier_op_name((enum carrier_op)op)) < 0 ||
			    promtext_label(labels, sizeof(labels), "outcome", outcome) < 0)
				return STORE_ERROR;
			rc = metrics_store_add(st, MF_CARRIER_REQUESTS, labels,
			    s->ended[op][o]);
		}
	if (rc == STORE_OK)
		rc = metrics_store_observe(st, MF_POLL_DURATION, "",
		    duration_ms > 0 ? duration_ms : 0);
	return rc;
}

enum store_rc
metrics_store_rye_run(struct store *st, const struct rye_stats *s, long recovered,
    long intents, long orders, long errors)
{
	char labels[128], outcome[32];
	enum store_rc rc = STORE_OK;

	for (int op = 0; op < RYE_OP__MAX && rc == STORE_OK; op++)
		for (int o = 0; o < RYE_RESULT__MAX && rc == STORE_OK; o++) {
			char name[32];

			if (s->ended[op][o] == 0)
				continue;
			labels[0] = '\0';
			word(name, sizeof(name), rye_op_name((enum rye_op)op));
			word(outcome, sizeof(outcome), rye_result_name((enum rye_result)o));
			if (promtext_label(labels, sizeof(labels), "op", name) < 0 ||
			    promtext_label(labels, sizeof(labels), "outcome", outcome) < 0)
				return STORE_ERROR;
			rc = metrics_store_add(st, MF_RYE_REQUESTS, labels, s->ended[op][o]);
		}
	if (rc == STORE_OK)
		rc = metrics_store_add(st, MF_RYE_RECOVERED, "", recovered);
	if (rc == STORE_OK)
		rc = metrics_store_add(st, MF_RYE_INTENTS, "", intents);
	if (rc == STORE_OK)
		rc = metrics_store_add(st, MF_RYE_ORDERS, "", orders);
	if (rc == STORE_OK)
		rc = metrics_store_add(st, MF_RYE_ERRORS, "", errors);
	return rc;
}
