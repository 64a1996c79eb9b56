/*
 * Unit tests for cgi/lib/metrics.c and promtext.c, on a real SQLite file:
 * counts flushed inside a transaction add up across flushes; a flush
 * whose transaction rolls back keeps the waiting counts (and drops the
 * transaction's own); histograms land in their bucket and sum; error
 * codes map to their series; the text format's escapes and numbers.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "promtext.h"
#include "store.h"
#include "store_metrics.h"

static char dir[64];
static char path[128];

static int
setup(void **state)
{
	char err[256];
	struct store *st = NULL;

	snprintf(dir, sizeof(dir), "/tmp/shiptrack-metrics-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/m.db", dir);
	if (store_open(&st, path, STORE_READWRITE, DURABILITY_NORMAL, 2000, err,
	    sizeof(err)) < 0)
		return -1;
	*state = st;
	return 0;
}

static int
teardown(void **state)
{
	static const char *const suffix[] = { "", "-wal", "-shm" };
	char p[160];

	store_close(*state);
	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		snprintf(p, sizeof(p), "%s%s", path, suffix[i]);
		unlink(p);
	}
	rmdir(dir);
	return 0;
}

struct want {
	const char *name, *labels, *part;
	int64_t value;
	bool found;
};

static int
find_row(void *arg, const struct metric_row *r)
{
	struct want *w = arg;

	if (strcmp(r->name, w->name) == 0 && strcmp(r->labels, w->labels) == 0 &&
	    strcmp(r->part, w->part) == 0) {
		w->value = r->value;
		w->found = true;
	}
	return 0;
}

static int64_t
stored(struct store *st, const char *name, const char *labels, const char *part)
{
	struct want w = { name, labels, part, 0, false };

	assert_int_equal(store_metrics_each(st, find_row, &w), STORE_OK);
	return w.found ? w.value : -1;
}

/* One flush in one transaction; commit or roll back. */
static void
flush(struct store *st, const int64_t *extra, bool commit)
{
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(metrics_flush(st, extra), STORE_OK);
	if (commit)
		assert_int_equal(store_commit(st), STORE_OK);
	else
		store_rollback(st);
	metrics_flush_end(commit);
}

#define WEBHOOKS "shiptrack_webhooks_total"
#define REJECTED "shiptrack_webhooks_rejected_total"

static void
test_counts_add_up_across_flushes(void **state)
{
	struct store *st = *state;
	int64_t extra[M__MAX] = { 0 };

	metric_add(M_REJECTED_BAD_SIGNATURE, 3);
	assert_true(metrics_pending());
	extra[M_WEBHOOK_ACCEPTED] = 2;
	flush(st, extra, true);
	assert_false(metrics_pending());
	assert_int_equal(stored(st, REJECTED, "reason=\"bad_signature\"", ""), 3);
	assert_int_equal(stored(st, WEBHOOKS, "result=\"accepted\"", ""), 2);
	assert_int_equal(stored(st, WEBHOOKS, "result=\"duplicate\"", ""), -1);
	metric_add(M_REJECTED_BAD_SIGNATURE, 1);
	flush(st, NULL, true);
	assert_int_equal(stored(st, REJECTED, "reason=\"bad_signature\"", ""), 4);
}

static void
test_rolled_back_flush_keeps_what_waited(void **state)
{
	struct store *st = *state;
	int64_t extra[M__MAX] = { 0 };

	metric_add(M_REJECTED_METHOD, 5);
	extra[M_WEBHOOK_DUPLICATE] = 1;
	flush(st, extra, false);
	assert_true(metrics_pending());
	assert_int_equal(stored(st, REJECTED, "reason=\"method_not_allowed\"", ""), -1);
	flush(st, NULL, true);
	assert_false(metrics_pending());
	assert_int_equal(stored(st, REJECTED, "reason=\"method_not_allowed\"", ""), 5);
	/* The rolled-back transaction's own count is gone with it. */
	assert_int_equal(stored(st, WEBHOOKS, "result=\"duplicate\"", ""), -1);
}

static void
test_histogram_buckets_and_sum(void **state)
{
	struct store *st = *state;
	const struct metric_family_def *d = metric_family(MF_POLL_DURATION);
	char part[PROMTEXT_NUMBER_LEN];

	assert_int_equal(d->type, METRIC_HISTOGRAM);
	metrics_bucket_part(d, 0, part, sizeof(part));
	assert_string_equal(part, "1");
	metrics_bucket_part(d, d->nbounds, part, sizeof(part));
	assert_string_equal(part, "+Inf");
	assert_int_equal(store_begin(st), STORE_OK);
	assert_int_equal(metrics_store_observe(st, MF_POLL_DURATION, "", 1500), STORE_OK);
	assert_int_equal(metrics_store_observe(st, MF_POLL_DURATION, "", 5000), STORE_OK);
	assert_int_equal(metrics_store_observe(st, MF_POLL_DURATION, "", 999999999), STORE_OK);
	assert_int_equal(store_commit(st), STORE_OK);
	/* 1.5 s and 5 s are both "le 5"; a bound is inclusive. */
	assert_int_equal(stored(st, d->name, "", "5"), 2);
	assert_int_equal(stored(st, d->name, "", "+Inf"), 1);
	assert_int_equal(stored(st, d->name, "", "sum"), 1500 + 5000 + 999999999);
	/* Counters and histograms do not mix. */
	assert_int_equal(metrics_store_observe(st, MF_WEBHOOKS, "", 1), STORE_ERROR);
	assert_int_equal(metrics_store_add(st, MF_POLL_DURATION, "", 1), STORE_ERROR);
}

static void
test_codes_map_to_their_series(void **state)
{
	(void)state;
	assert_int_equal(metric_rejected("bad_signature"), M_REJECTED_BAD_SIGNATURE);
	assert_int_equal(metric_rejected("payload_too_large"), M_REJECTED_TOO_LARGE);
	assert_int_equal(metric_rejected("unavailable"), M_REJECTED_UNAVAILABLE);
	assert_int_equal(metric_rejected("bad"), M_REJECTED_OTHER);
	assert_int_equal(metric_rejected("bad_signature_x"), M_REJECTED_OTHER);
	assert_int_equal(metric_rejected(""), M_REJECTED_OTHER);
	for (int m = 0; m < M__MAX; m++)
		assert_non_null(metric_family(metric_series((enum metric)m)->family));
}

static void
test_text_format_escapes_and_numbers(void **state)
{
	char l[128] = "", n[PROMTEXT_NUMBER_LEN];
	struct buf b;

	(void)state;
	assert_int_equal(promtext_label(l, sizeof(l), "a", "x\"y\\z\nw"), 0);
	assert_int_equal(promtext_label(l, sizeof(l), "le", "+Inf"), 0);
	assert_string_equal(l, "a=\"x\\\"y\\\\z\\nw\",le=\"+Inf\"");
	assert_int_equal(promtext_label(l, sizeof(l), "1a", "v"), -1);
	assert_int_equal(promtext_label(l, sizeof(l), "__name__", "v"), -1);
	assert_int_equal(promtext_label(l, sizeof(l), "a:b", "v"), -1);
	assert_int_equal(promtext_label(l, 40, "long", "0123456789012345678901234567890"), -1);
	assert_true(promtext_name_ok("shiptrack_x:y_total"));
	assert_false(promtext_name_ok("9x"));
	assert_false(promtext_name_ok("a-b"));
	promtext_number(0.005, n, sizeof(n));
	assert_string_equal(n, "0.005");
	promtext_number(1776.123, n, sizeof(n));
	assert_string_equal(n, "1776.123");
	promtext_number(42, n, sizeof(n));
	assert_string_equal(n, "42");
	promtext_number(INFINITY, n, sizeof(n));
	assert_string_equal(n, "+Inf");
	promtext_number(NAN, n, sizeof(n));
	assert_string_equal(n, "NaN");
	buf_init(&b, 1024);
	assert_int_equal(promtext_family(&b, "x_total", "counter", "a\\b\nc"), 0);
	assert_int_equal(promtext_sample(&b, "x_total", "a=\"1\"", 2), 0);
	assert_int_equal(promtext_sample(&b, "x-total", NULL, 2), -1);
	assert_string_equal(b.data, "# HELP x_total a\\\\b\\nc\n# TYPE x_total counter\n"
	    "x_total{a=\"1\"} 2\n");
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_add_up_across_flushes),
		cmocka_unit_test(test_rolled_back_flush_keeps_what_waited),
		cmocka_unit_test(test_histogram_buckets_and_sum),
		cmocka_unit_test(test_codes_map_to_their_series),
		cmocka_unit_test(test_text_format_escapes_and_numbers),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
