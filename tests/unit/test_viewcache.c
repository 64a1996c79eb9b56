/*
 * Unit tests for cgi/lib/viewcache.c: hits only for the same key, the
 * same data_version and within the age limit; replacement in a slot;
 * size 0 keeps nothing.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "viewcache.h"

static const char ETAG[] = "\"0123456789abcdef0123456789abcdef\"";

static int
get(struct viewcache *vc, const char *key, int64_t version, int64_t now,
    char **body)
{
	char etag[VIEWCACHE_ETAG_LEN];
	size_t len = 0;
	int r = viewcache_get(vc, key, version, now, body, &len, etag);

	if (r == 1) {
		assert_int_equal(len, strlen(*body));
		assert_string_equal(etag, ETAG);
	}
	return r;
}

static void
test_hit_same_key_version_and_age(void **state)
{
	struct viewcache *vc = viewcache_new(8);
	char *body = NULL;

	(void)state;
	assert_non_null(vc);
	assert_int_equal(get(vc, "ord_1", 5, 1000, &body), 0);
	viewcache_put(vc, "ord_1", 5, 1000, "{\"id\":\"ord_1\"}", 14, ETAG);
	assert_int_equal(get(vc, "ord_1", 5, 1000, &body), 1);
	assert_string_equal(body, "{\"id\":\"ord_1\"}");
	free(body);
	/* last moment of the age limit, then past it */
	assert_int_equal(get(vc, "ord_1", 5, 1000 + VIEWCACHE_MAX_AGE_MS - 1, &body), 1);
	free(body);
	assert_int_equal(get(vc, "ord_1", 5, 1000 + VIEWCACHE_MAX_AGE_MS, &body), 0);
	/* another commit happened: a new data_version */
	assert_int_equal(get(vc, "ord_1", 6, 1001, &body), 0);
	/* the clock went back */
	assert_int_equal(get(vc, "ord_1", 5, 999, &body), 0);
	/* another key, and a prefix of the key */
	assert_int_equal(get(vc, "ord_2", 5, 1001, &body), 0);
	assert_int_equal(get(vc, "ord_", 5, 1001, &body), 0);
	viewcache_free(vc);
}

static void
test_one_slot_keeps_the_newest(void **state)
{
	struct viewcache *vc = viewcache_new(1);
	char *body = NULL;

	(void)state;
	viewcache_put(vc, "a", 1, 0, "A", 1, ETAG);
	viewcache_put(vc, "b", 1, 0, "B", 1, ETAG);
	assert_int_equal(get(vc, "a", 1, 0, &body), 0);
	assert_int_equal(get(vc, "b", 1, 0, &body), 1);
	assert_string_equal(body, "B");
	free(body);
	/* a newer render of the same key replaces the old one */
	viewcache_put(vc, "b", 2, 10, "B2", 2, ETAG);
	assert_int_equal(get(vc, "b", 1, 10, &body), 0);
	assert_int_equal(get(vc, "b", 2, 10, &body), 1);
	assert_string_equal(body, "B2");
	free(body);
	viewcache_free(vc);
}

static void
test_many_keys_and_binary_safe_bodies(void **state)
{
	struct viewcache *vc = viewcache_new(64);
	char key[32], want[64], *body = NULL;
	int hits = 0;

	(void)state;
	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "ord_%d", i);
		snprintf(want, sizeof(want), "{\"n\":%d}", i);
		viewcache_put(vc, key, 7, 0, want, strlen(want), ETAG);
	}
	for (int i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "ord_%d", i);
		snprintf(want, sizeof(want), "{\"n\":%d}", i);
		if (get(vc, key, 7, 0, &body) == 1) {
			assert_string_equal(body, want);	/* never another key's */
			free(body);
			hits++;
		}
	}
	assert_true(hits > 0 && hits <= 64);
	viewcache_free(vc);
}

static void
test_size_zero_and_null_keep_nothing(void **state)
{
	struct viewcache *vc = viewcache_new(0);
	char *body = NULL;

	(void)state;
	viewcache_put(vc, "a", 1, 0, "A", 1, ETAG);
	assert_int_equal(get(vc, "a", 1, 0, &body), 0);
	viewcache_free(vc);
	viewcache_put(NULL, "a", 1, 0, "A", 1, ETAG);
	assert_int_equal(get(NULL, "a", 1, 0, &body), 0);
	viewcache_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hit_same_key_version_and_age),
		cmocka_unit_test(test_one_slot_keeps_the_newest),
		cmocka_unit_test(test_many_keys_and_binary_safe_bodies),
		cmocka_unit_test(test_size_zero_and_null_keep_nothing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
