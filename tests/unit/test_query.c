/* Unit tests for cgi/lib/query.c: decoding and the bounds it enforces. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "query.h"

static void
test_plain_pairs(void **state)
{
	struct query q;
	const char *why = NULL;

	(void)state;
	assert_int_equal(query_parse("status=FAILED&limit=20", &q, &why), 0);
	assert_int_equal(q.n, 2);
	assert_string_equal(query_get(&q, "status"), "FAILED");
	assert_string_equal(query_get(&q, "limit"), "20");
	assert_null(query_get(&q, "stage"));
}

static void
test_decoding(void **state)
{
	struct query q;
	const char *why = NULL;

	(void)state;
	assert_int_equal(query_parse("key=a%2Bb+c&id=%E2%9C%93", &q, &why), 0);
	assert_string_equal(query_get(&q, "key"), "a+b c");
	assert_string_equal(query_get(&q, "id"), "\xe2\x9c\x93");
}

static void
test_empty_and_flags(void **state)
{
	struct query q;
	const char *why = NULL;

	(void)state;
	assert_int_equal(query_parse("", &q, &why), 0);
	assert_int_equal(q.n, 0);
	assert_int_equal(query_parse(NULL, &q, &why), 0);
	assert_int_equal(query_parse("a=1&&stale", &q, &why), 0);
	assert_string_equal(query_get(&q, "stale"), "");
}

static void
test_rejects(void **state)
{
	static const char *const bad[] = {
		"a=%", "a=%4", "a=%zz", "a=%00", "a=%0a", "a=%7f",
		"a=1&a=2",			/* repeated */
		"averyveryveryveryveryverylongkeyname_x=1",
	};
	struct query q;
	char big[QUERY_MAX_LEN + 10], val[QUERY_MAX_VALUE + 10];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *why = NULL;
		assert_int_equal(query_parse(bad[i], &q, &why), -1);
		assert_non_null(why);
	}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	const char *why = NULL;
	assert_int_equal(query_parse(big, &q, &why), -1);
	memcpy(val, "k=", 2);
	memset(val + 2, 'v', sizeof(val) - 3);
	val[sizeof(val) - 1] = '\0';
	assert_int_equal(query_parse(val, &q, &why), -1);
}

static void
test_too_many(void **state)
{
	char qs[512] = "";
	struct query q;
	const char *why = NULL;

	(void)state;
	for (int i = 0; i <= QUERY_MAX_PARAMS; i++) {
		char one[16];
		snprintf(one, sizeof(one), "%sk%d=1", i ? "&" : "", i);
		strcat(qs, one);
	}
	assert_int_equal(query_parse(qs, &q, &why), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_pairs),
		cmocka_unit_test(test_decoding),
		cmocka_unit_test(test_empty_and_flags),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_too_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
