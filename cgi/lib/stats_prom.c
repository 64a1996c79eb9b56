/*
 * stats_prom: GET /v1/metrics's body (stats.h, stats_metrics()): the
 * counts stats_gather() reads, as gauges, and the running totals the
 * programs stored (metrics.h), read in the same snapshot, as counters
 * and histograms, in Prometheus's text format (promtext.h).
 */
#include "config.h"

#include <math.h>	/* INFINITY */
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "metrics.h"
#include "order.h"
#include "promtext.h"
#include "stats.h"
#include "store_metrics.h"
#include "timefmt.h"

/* ---- Prometheus text ----------------------------------------------------------- */

#define METRIC_ROWS_MAX 10000
#define LABELS_MAX (STORE_METRIC_LABELS_MAX + 64)

struct mrow {
	char *name, *labels, *part;
	int64_t value;
};

struct mrows {
	struct mrow *v;
	size_t n, cap;
};

static int
mrow_push(struct mrows *r, const char *name, const char *labels,
    const char *part, int64_t value)
{
	struct mrow *m;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		if (cap > METRIC_ROWS_MAX || (m = realloc(r->v, cap * sizeof(*m))) == NULL)
			return -1;
		r->v = m;
		r->cap = cap;
	}
	m = &r->v[r->n];
	m->name = strdup(name);
	m->labels = strdup(labels);
	m->part = strdup(part);
	m->value = value;
	if (m->name == NULL || m->labels == NULL || m->part == NULL) {
		free(m->name), free(m->labels), free(m->part);
		return -1;
	}
	r->n++;
	return 0;
}

static void
mrows_free(struct mrows *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->v[i].name), free(r->v[i].labels), free(r->v[i].part);
	free(r->v);
}

static int
mrow_cb(void *arg, const struct metric_row *row)
{
	/* Only families this build knows how to describe are shown. */
	if (metric_family_named(row->name) == NULL)
		return 0;
	return mrow_push(arg, row->name, row->labels, row->part, row->value);
}

static bool
mrow_has(const struct mrows *r, const char *name, const char *labels)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].name, name) == 0 && strcmp(r->v[i].labels, labels) == 0)
			return true;
	return false;
}

static int
mrow_cmp(const void *a, const void *b)
{
	const struct mrow *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	return c ? c : strcmp(x->labels, y->labels);
}

/* The stored totals, with a zero for every counter series this build counts. */
static enum store_rc
stored_rows(void *arg, struct store *st)
{
	struct mrows *r = arg;
	enum store_rc rc = store_metrics_each(st, mrow_cb, r);

	for (int m = 0; m < M__MAX && rc == STORE_OK; m++) {
		const struct metric_series *s = metric_series((enum metric)m);
		const struct metric_family_def *d = metric_family(s->family);
		if (d->type == METRIC_COUNTER && !mrow_has(r, d->name, s->labels) &&
		    mrow_push(r, d->name, s->labels, "", 0) < 0)
			rc = STORE_ERROR;
	}
	if (r->n > 1)
		qsort(r->v, r->n, sizeof(r->v[0]), mrow_cmp);
	return rc;
}

static const char *
type_name(enum metric_type t)
{
	return t == METRIC_COUNTER ? "counter" : t == METRIC_GAUGE ? "gauge" : "histogram";
}

static int
sample_with(struct buf *b, const char *name, const char *labels,
    const char *lname, const char *lvalue, double v)
{
	char l[LABELS_MAX];

	snprintf(l, sizeof(l), "%s", labels);
	if (strlen(labels) >= sizeof(l) || promtext_label(l, sizeof(l), lname, lvalue) < 0)
		return -1;
	return promtext_sample(b, name, l, v);
}

/* A stored histogram part's bound (+Inf for "+Inf"); false for "sum" or junk. */
static bool
part_bound(const char *part, double *bound)
{
	char *end;

	if (strcmp(part, "sum") == 0 || *part == '\0')
		return false;
	*bound = strtod(part, &end);
	return *end == '\0';
}

/* One histogram series: the n rows at g share its name and labels. */
static int
hist_series(struct buf *b, const struct metric_family_def *d,
    const struct mrow *g, size_t n)
{
	char name[STORE_METRIC_NAME_MAX + 16], le[PROMTEXT_NUMBER_LEN];
	int64_t count = 0, sum = 0;
	double bound, at;
	int rc = 0;

	for (size_t k = 0; k < n; k++)
		if (strcmp(g[k].part, "sum") == 0)
			sum += g[k].value;
		else if (part_bound(g[k].part, &bound))
			count += g[k].value;
	for (size_t i = 0; i <= d->nbounds && rc == 0; i++) {
		int64_t cum = 0;
		at = i < d->nbounds ? (double)d->bounds[i] * d->unit : INFINITY;
		for (size_t k = 0; k < n; k++)
			if (part_bound(g[k].part, &bound) && bound <= at)
				cum += g[k].value;
		metrics_bucket_part(d, i, le, sizeof(le));
		snprintf(name, sizeof(name), "%s_bucket", d->name);
		rc = sample_with(b, name, g->labels, "le", le, (double)cum);
	}
	snprintf(name, sizeof(name), "%s_sum", d->name);
	if (rc == 0)
		rc = promtext_sample(b, name, g->labels, (double)sum * d->unit);
	snprintf(name, sizeof(name), "%s_count", d->name);
	if (rc == 0)
		rc = promtext_sample(b, name, g->labels, (double)count);
	return rc;
}

static int
stored_family(struct buf *b, const struct metric_family_def *d,
    const struct mrows *r)
{
	int rc = promtext_family(b, d->name, type_name(d->type), d->help);

	for (size_t i = 0; i < r->n && rc == 0; ) {
		size_t j = i + 1;
		if (strcmp(r->v[i].name, d->name) != 0) {
			i++;
			continue;
		}
		if (d->type != METRIC_HISTOGRAM) {
			if (r->v[i].part[0] == '\0')	/* a counter has no parts */
				rc = promtext_sample(b, d->name, r->v[i].labels,
				    (double)r->v[i].value);
			i++;
			continue;
		}
		while (j < r->n && mrow_cmp(&r->v[i], &r->v[j]) == 0)
			j++;
		rc = hist_series(b, d, &r->v[i], j - i);
		i = j;
	}
	return rc;
}

static int64_t
json_int(json_object *group, const char *key)
{
	json_object *v = NULL;

	return json_object_object_get_ex(group, key, &v) && v != NULL ?
	    json_object_get_int64(v) : 0;
}

typedef const char *(*name_fn)(int i);

static const char *
stage_at(int i)
{
	return i < STAGE__MAX ? order_stage_name((enum order_stage)i) : NULL;
}

static const char *
status_at(int i)
{
	return i < OS_OTHER ? order_status_name((enum order_status)i) : NULL;
}

static const char *
state_at(int i)
{
	return stats_notify_state((size_t)i);
}

static bool
known(name_fn names, const char *key)
{
	const char *n;

	for (int i = 0; (n = names(i)) != NULL; i++)
		if (strcmp(n, key) == 0)
			return true;
	return false;
}

/* One gauge per value the group can have (0 when absent), then any other it has. */
static int
gauge_group(struct buf *b, const char *name, const char *help,
    const char *label, json_object *group, name_fn names)
{
	const char *n;
	int rc = promtext_family(b, name, "gauge", help);

	for (int i = 0; rc == 0 && (n = names(i)) != NULL; i++)
		rc = sample_with(b, name, "", label, n, (double)json_int(group, n));
	if (group == NULL)
		return rc;
	json_object_object_foreach(group, key, v) {
		if (rc == 0 && !known(names, key))
			rc = sample_with(b, name, "", label, key,
			    (double)json_object_get_int64(v));
	}
	return rc;
}

static int
gauge(struct buf *b, const char *name, const char *help, double v)
{
	int rc = promtext_family(b, name, "gauge", help);

	return rc == 0 ? promtext_sample(b, name, NULL, v) : rc;
}

/* A time as Unix seconds; no sample when it is unknown. */
static int
time_gauge(struct buf *b, const char *name, const char *help, json_object *iso)
{
	struct timeval_iso t;
	int rc = promtext_family(b, name, "gauge", help);

	if (rc == 0 && iso != NULL && json_object_is_type(iso, json_type_string) &&
	    timefmt_parse(json_object_get_string(iso), &t) == 0)
		rc = promtext_sample(b, name, NULL, (double)t.ms / 1000.0);
	return rc;
}

/* held, age and stuck per run lock; nothing for a lock that could not be read. */
static int
lock_gauges(struct buf *b, json_object *locks)
{
	static const struct { const char *name, *key, *help; } g[] = {
		{ "shiptrack_run_lock_held", "held",
		  "1 while a cron run (poll, notify) holds its lock." },
		{ "shiptrack_run_lock_age_seconds", "ageSeconds",
		  "How long the lock has been held (0 when it is free)." },
		{ "shiptrack_run_lock_stuck", "stuck",
		  "1 when the lock has been held longer than 3 x poll_interval." },
	};
	int rc = 0;

	for (size_t i = 0; i < sizeof(g) / sizeof(g[0]) && rc == 0; i++) {
		rc = promtext_family(b, g[i].name, "gauge", g[i].help);
		json_object_object_foreach(locks, name, l) {
			json_object *held = json_object_object_get(l, "held");
			json_object *v = json_object_object_get(l, g[i].key);
			if (rc != 0 || held == NULL)
				continue;
			rc = sample_with(b, g[i].name, "", "lock", name,
			    v == NULL ? 0 : json_object_is_type(v, json_type_boolean) ?
			    (double)json_object_get_boolean(v) : (double)json_object_get_int64(v));
		}
	}
	return rc;
}

static int
store_gauges(struct buf *b, json_object *s)
{
	json_object *poll = json_object_object_get(s, "lastPoll");
	json_object *rye = json_object_object_get(s, "rye");
	int rc;

	rc = gauge_group(b, "shiptrack_orders_by_stage", "Orders by stage.", "stage",
	    json_object_object_get(s, "stage"), stage_at);
	if (rc == 0)
		rc = gauge_group(b, "shiptrack_orders_by_status", "Orders by Rye status.",
		    "status", json_object_object_get(s, "status"), status_at);
	if (rc == 0)
		rc = gauge(b, "shiptrack_orders_stale", "Orders that need attention (stale).",
		    (double)json_int(s, "stale"));
	if (rc == 0)
		rc = gauge(b, "shiptrack_events_stored", "Events stored.",
		    (double)json_int(s, "events"));
	if (rc == 0)
		rc = gauge(b, "shiptrack_rejected_deliveries_stored",
		    "Signed deliveries kept as evidence, not applied.",
		    (double)json_int(s, "rejectedDeliveries"));
	if (rc == 0)
		rc = gauge_group(b, "shiptrack_notifications", "Notifications by state.",
		    "state", json_object_object_get(s, "notifications"), state_at);
	if (rc == 0)
		rc = time_gauge(b, "shiptrack_last_poll_timestamp_seconds",
		    "When the last shiptrack-poll run ended.",
		    poll ? json_object_object_get(poll, "finishedAt") : NULL);
	if (rc == 0)
		rc = time_gauge(b, "shiptrack_last_successful_poll_timestamp_seconds",
		    "When the last shiptrack-poll run that ended ok ended.",
		    json_object_object_get(s, "lastSuccessfulPoll"));
	if (rc == 0)
		rc = time_gauge(b, "shiptrack_last_rye_pass_timestamp_seconds",
		    "When the last Rye pass of shiptrack-poll ended.",
		    rye ? json_object_object_get(rye, "finishedAt") : NULL);
	if (rc == 0)
		rc = time_gauge(b, "shiptrack_last_successful_rye_pass_timestamp_seconds",
		    "When the last Rye pass that ended ok ended.",
		    rye ? json_object_object_get(rye, "lastSuccess") : NULL);
	if (rc == 0)
		rc = lock_gauges(b, json_object_object_get(s, "locks"));
	return rc;
}

enum store_rc
stats_metrics(struct store *st, const struct conf *c, int64_t now_ms,
    struct buf *out)
{
	struct mrows rows = { NULL, 0, 0 };
	json_object *s = NULL;
	enum store_rc rc;
	int wrc = 0;

	if ((rc = stats_gather_with(st, c, now_ms, &s, stored_rows, &rows)) == STORE_OK) {
		wrc = store_gauges(out, s);
		for (int f = 0; f < MF__MAX && wrc == 0; f++)
			wrc = stored_family(out, metric_family((enum metric_family)f), &rows);
		if (wrc != 0) {
			log_error("metrics: the answer does not fit");
			rc = STORE_ERROR;
		}
	}
	mrows_free(&rows);
	json_object_put(s);
	return rc;
}
