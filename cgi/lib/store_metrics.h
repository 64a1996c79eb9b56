/*
 * store_metrics: the running totals of sql/004 (table "metrics"), for
 * metrics.c (which adds to them) and stats.c (which reads them).
 *
 * A series is (name, labels, part): a metric family, its label pairs in
 * exposition form, and "" for a counter or a histogram's part (a bucket's
 * upper bound, or "sum").  Adding is one upsert, value = value + delta,
 * inside the caller's write transaction; nothing is ever overwritten, so
 * any number of processes can add at once and the sum stays right.
 *
 * One more row lives beside them, under a name no family has
 * ("#flushed_ms"): when a process last wrote its deltas in a transaction
 * of their own, which a CGI receiver asks before it does so again
 * (inbox.h: never a write per refused request).
 */
#ifndef SHIPTRACK_STORE_METRICS_H
#define SHIPTRACK_STORE_METRICS_H

#include <stdint.h>

#include "store.h"

#define STORE_METRIC_NAME_MAX 100
#define STORE_METRIC_LABELS_MAX 400
#define STORE_METRIC_PART_MAX 40

/* Inside a write transaction: value += delta (the row is made if new). */
enum store_rc store_metric_add(struct store *st, const char *name,
    const char *labels, const char *part, int64_t delta);

struct metric_row {
	const char *name, *labels, *part;
	int64_t value;
};
typedef int (*store_metric_cb)(void *arg, const struct metric_row *r);
/* Every stored series, by name, labels, part. */
enum store_rc store_metrics_each(struct store *st, store_metric_cb cb, void *arg);

/* When deltas were last written on their own (0 if never). */
enum store_rc store_metrics_flushed_get(struct store *st, int64_t *ms);
enum store_rc store_metrics_flushed_set(struct store *st, int64_t ms);

#endif
