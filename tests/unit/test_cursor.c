/*
 * Unit tests for cgi/lib/cursor.c: the order list's page cursor goes
 * round, and nothing the API could not have given out is taken back.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cursor.h"
#include "codec.h"

static void
round_trip(int64_t ms, const char *id)
{
	char cur[512], back[CURSOR_ID_MAX + 1];
	int64_t got = -1;

	assert_true(cursor_encode(ms, id, cur, sizeof(cur)));
	assert_true(strlen(cur) <= CURSOR_MAX);
	assert_null(strpbrk(cur, "+/="));	/* base64url, unpadded: fits a query */
	assert_true(cursor_decode(cur, &got, back, sizeof(back)));
	assert_int_equal(got, ms);
	assert_string_equal(back, id);
}

static void
test_round_trip(void **state)
{
	char longest[CURSOR_ID_MAX + 1];

	(void)state;
	round_trip(1740819600000, "ord_1");
	round_trip(0, "x");
	round_trip(INT64_MAX, "a.b.c");		/* dots in the id stay in it */
	round_trip(1, "a/b%c d\xc3\xbc");
	memset(longest, 'i', CURSOR_ID_MAX);
	longest[CURSOR_ID_MAX] = '\0';
	round_trip(1740819600000, longest);
}

/* The text of raw as a cursor, as if the API had given it out. */
static const char *
forged(const char *raw, size_t len)
{
	static char out[1024];

	assert_true(codec_b64_encode((const unsigned char *)raw, len, out, sizeof(out),
	    true) > 0);
	return out;
}

static void
refused(const char *cur)
{
	char id[CURSOR_ID_MAX + 1] = "untouched";
	int64_t ms = 42;

	if (cursor_decode(cur, &ms, id, sizeof(id)))
		fail_msg("cursor \"%s\" taken", cur);
	assert_int_equal(ms, 42);
	assert_string_equal(id, "untouched");
}

static void
test_refused(void **state)
{
	char longid[CURSOR_ID_MAX + 16] = "1.";

	(void)state;
	refused("");
	refused("not base64!");
	refused("MTIzLm9yZA==");		/* padded: standard base64, not ours */
	refused(forged("123", 3));		/* no dot */
	refused(forged("123.", 4));		/* no id */
	refused(forged(".ord", 4));		/* no time */
	refused(forged("-1.ord", 6));
	refused(forged("12x.ord", 7));
	refused(forged("99999999999999999999.ord", 24));	/* over 63 bits */
	refused(forged("123.o\0rd", 8));	/* a NUL inside */
	memset(longid + 2, 'i', CURSOR_ID_MAX + 1);
	refused(forged(longid, strlen(longid)));
}

static void
test_too_long_text_refused_unread(void **state)
{
	char cur[CURSOR_MAX + 2];

	(void)state;
	memset(cur, 'A', sizeof(cur) - 1);
	cur[sizeof(cur) - 1] = '\0';
	refused(cur);
}

static void
test_id_buffer_bounds_the_decode(void **state)
{
	char cur[512], id[4];
	int64_t ms;

	(void)state;
	assert_true(cursor_encode(5, "abcd", cur, sizeof(cur)));
	assert_false(cursor_decode(cur, &ms, id, sizeof(id)));
	assert_true(cursor_encode(5, "abc", cur, sizeof(cur)));
	assert_true(cursor_decode(cur, &ms, id, sizeof(id)));
	assert_string_equal(id, "abc");
}

static void
test_encode_that_does_not_fit(void **state)
{
	char small[8] = "junk", longid[CURSOR_ID_MAX + 40], cur[1024] = "junk";

	(void)state;
	assert_false(cursor_encode(1740819600000, "ord_1", small, sizeof(small)));
	assert_string_equal(small, "");
	memset(longid, 'i', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	assert_false(cursor_encode(1, longid, cur, sizeof(cur)));
	assert_string_equal(cur, "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_too_long_text_refused_unread),
		cmocka_unit_test(test_id_buffer_bounds_the_decode),
		cmocka_unit_test(test_encode_that_does_not_fit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
