/*
 * Unit tests for cgi/lib/http_cache.c: ETags from the body, the
 * If-None-Match comparison, and each kind of answer's Cache-Control.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http_cache.h"

/* SHA-256("") begins e3b0c442 98fc1c14 9afbf4c8 996fb924. */
#define EMPTY_TAG "\"e3b0c44298fc1c149afbf4c8996fb924\""

static void
test_etag_is_the_bodys_hash(void **state)
{
	char a[HTTP_ETAG_LEN], b[HTTP_ETAG_LEN], c[HTTP_ETAG_LEN];

	(void)state;
	assert_true(http_etag("", 0, a));
	assert_string_equal(a, EMPTY_TAG);
	assert_int_equal(strlen(a), HTTP_ETAG_LEN - 1);
	assert_true(http_etag("{\"ok\":true}", 11, a));
	assert_true(http_etag("{\"ok\":true}", 11, b));
	assert_string_equal(a, b);		/* the same bytes, the same tag */
	assert_true(http_etag("{\"ok\":false}", 12, c));
	assert_string_not_equal(a, c);
	/* Only the len bytes count. */
	assert_true(http_etag("{\"ok\":true}trailing", 11, c));
	assert_string_equal(a, c);
}

static void
test_if_none_match_names_the_tag(void **state)
{
	const char *tag = EMPTY_TAG;

	(void)state;
	assert_true(http_etag_matches(EMPTY_TAG, tag));
	assert_true(http_etag_matches("*", tag));
	assert_true(http_etag_matches("W/" EMPTY_TAG, tag));	/* weak comparison */
	assert_true(http_etag_matches("\"x\", " EMPTY_TAG, tag));
	assert_true(http_etag_matches(EMPTY_TAG ",\"x\"", tag));
	assert_true(http_etag_matches(" \t" EMPTY_TAG " ", tag));
	assert_true(http_etag_matches("\"x\",\t*", tag));
}

static void
test_if_none_match_other_tags(void **state)
{
	const char *tag = EMPTY_TAG;
	const char *other[] = {
		"", " ", ",", "\"x\"", "W/\"x\"",
		"e3b0c44298fc1c149afbf4c8996fb924",		/* unquoted */
		"\"e3b0c44298fc1c149afbf4c8996fb92\"",		/* one digit short */
		"\"e3b0c44298fc1c149afbf4c8996fb9245\"",	/* one more */
		"\"E3B0C44298FC1C149AFBF4C8996FB924\"",		/* case counts */
		EMPTY_TAG "x", "x" EMPTY_TAG, "**", "\"*\"",
	};

	(void)state;
	assert_false(http_etag_matches(NULL, tag));
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++)
		if (http_etag_matches(other[i], tag))
			fail_msg("If-None-Match %s matched", other[i]);
}

static void
test_cache_control_per_kind(void **state)
{
	(void)state;
	assert_string_equal(http_cache_control(HTTP_CACHE_ANYONE), "no-cache");
	assert_string_equal(http_cache_control(HTTP_CACHE_SECRET), "no-store");
	assert_string_equal(http_cache_control(HTTP_CACHE_SHOPPER), "private, max-age=30");
	assert_string_equal(http_cache_control(HTTP_CACHE_CONFIG), "public, max-age=300");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_etag_is_the_bodys_hash),
		cmocka_unit_test(test_if_none_match_names_the_tag),
		cmocka_unit_test(test_if_none_match_other_tags),
		cmocka_unit_test(test_cache_control_per_kind),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
