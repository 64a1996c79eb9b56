/*
 * Unit tests for cgi/lib/timefmt.c: every accepted input form, the
 * rejections, and the ISO-8601 UTC output.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "timefmt.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* Seconds computed with `date -u -d <time> +%s`. */
#define D20250506 1746489600000LL	/* 2025-05-06T00:00:00Z */
#define H(n) ((int64_t)(n) * 3600000)
#define M(n) ((int64_t)(n) * 60000)
#define S(n) ((int64_t)(n) * 1000)

struct accept_case {
	const char *in;
	int64_t ms;
	bool has_time, has_offset;
};

static void
check_accepts(const struct accept_case *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct timeval_iso t;

		memset(&t, 0x5a, sizeof(t));
		if (timefmt_parse(v[i].in, &t) != 0)
			fail_msg("rejected \"%s\"", v[i].in);
		if (t.ms != v[i].ms)
			fail_msg("\"%s\": ms %lld, want %lld", v[i].in,
			    (long long)t.ms, (long long)v[i].ms);
		if (t.has_time != v[i].has_time || t.has_offset != v[i].has_offset)
			fail_msg("\"%s\": has_time %d has_offset %d", v[i].in,
			    t.has_time, t.has_offset);
	}
}

static void
check_rejects(const char *const *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct timeval_iso t;

		if (timefmt_parse(v[i], &t) != -1)
			fail_msg("accepted \"%s\" (ms %lld)", v[i], (long long)t.ms);
	}
}

static void
test_date_only(void **state)
{
	static const struct accept_case v[] = {
		{ "2025-05-06", D20250506, false, false },
		{ "1970-01-01", 0, false, false },
		{ "2025-01-01", 1735689600000LL, false, false },
		{ "2024-02-29", 1709164800000LL, false, false },	/* leap */
		{ "2000-02-29", 951782400000LL, false, false },	/* 400-year leap */
		{ "2025-12-31", D20250506 + 239 * 86400000LL, false, false },
	};

	(void)state;
	check_accepts(v, NELEM(v));
}

static void
test_local_time_without_offset(void **state)
{
	static const struct accept_case v[] = {
		/* Read as UTC for ordering, flagged as offset-less. */
		{ "2025-05-06T10:00:00", D20250506 + H(10), true, false },
		{ "2025-05-06 10:00:00", D20250506 + H(10), true, false },
		{ "2025-05-06t10:00:00", D20250506 + H(10), true, false },
		{ "2025-05-06T10:00", D20250506 + H(10), true, false },
		{ "2025-05-06T23:59:59", D20250506 + H(23) + M(59) + S(59), true, false },
		{ "2025-05-06T10:00:00.250", D20250506 + H(10) + 250, true, false },
	};

	(void)state;
	check_accepts(v, NELEM(v));
}

static void
test_offsets(void **state)
{
	static const struct accept_case v[] = {
		{ "2025-05-06T10:00:00Z", D20250506 + H(10), true, true },
		{ "2025-05-06T10:00:00z", D20250506 + H(10), true, true },
		{ "2025-05-06 10:00:00Z", D20250506 + H(10), true, true },
		{ "2025-05-06T10:00:00+00:00", D20250506 + H(10), true, true },
		{ "2025-05-06T10:00:00-00:00", D20250506 + H(10), true, true },
		{ "2025-05-06T10:00:00+01:00", D20250506 + H(9), true, true },
		{ "2025-05-06T10:00:00+0100", D20250506 + H(9), true, true },
		{ "2025-05-06T10:00:00+01", D20250506 + H(9), true, true },
		{ "2025-05-06T10:00:00-0530", D20250506 + H(15) + M(30), true, true },
		{ "2025-05-06T10:00:00-05:30", D20250506 + H(15) + M(30), true, true },
		{ "2025-05-06T10:00:00+05:45", D20250506 + H(4) + M(15), true, true },
		/* Crossing midnight both ways. */
		{ "2025-05-06T00:30:00+01:00", D20250506 - M(30), true, true },
		{ "2025-05-06T23:30:00-01:00", D20250506 + H(24) + M(30), true, true },
		{ "2025-05-06T10:00+02:00", D20250506 + H(8), true, true },
	};

	(void)state;
	check_accepts(v, NELEM(v));
}

static void
test_fractions(void **state)
{
	static const struct accept_case v[] = {
		{ "2025-05-06T10:00:00.000Z", D20250506 + H(10), true, true },
		{ "2025-05-06T10:00:00.367Z", D20250506 + H(10) + 367, true, true },
		{ "2024-07-22T14:30:04.367Z", 1721658604367LL, true, true },
		{ "2025-05-06T10:00:00.5Z", D20250506 + H(10) + 500, true, true },
		{ "2025-05-06T10:00:00.05Z", D20250506 + H(10) + 50, true, true },
		{ "2025-05-06T10:00:00.123456Z", D20250506 + H(10) + 123, true, true },
		{ "2025-05-06T10:00:00.123456789Z", D20250506 + H(10) + 123, true, true },
		{ "2025-05-06T10:00:00.999999999Z", D20250506 + H(10) + 999, true, true },
		{ "2025-05-06T10:00:00.123456789+01:00", D20250506 + H(9) + 123, true, true },
		{ "2025-05-06T10:00:00.367-0530", D20250506 + H(15) + M(30) + 367, true, true },
	};

	(void)state;
	check_accepts(v, NELEM(v));
}

static void
test_spec_examples(void **state)
{
	/* shared/spec/rye-webhooks.md's createdAt examples. */
	static const struct accept_case v[] = {
		{ "2023-06-27T12:00:00Z", 1687867200000LL, true, true },
		{ "2024-07-22T14:30:04.367Z", 1721658604367LL, true, true },
	};

	(void)state;
	check_accepts(v, NELEM(v));
}

static void
test_rejects(void **state)
{
	static const char *const bad[] = {
		"",
		"2025-13-01",		/* month */
		"2025-00-10",
		"2025-05-00",		/* day */
		"2025-05-32",
		"2025-02-30",
		"2025-04-31",
		"2023-02-29",		/* not a leap year */
		"1900-02-29",		/* century, not leap */
		"25-05-06",		/* two-digit year */
		"2025-5-6",
		"2025/05/06",
		"20250506",
		"2025-05-06x",		/* trailing junk */
		"2025-05-06 ",
		"2025-05-06T",
		"2025-05-06T10",
		"2025-05-06T10:00:00Zjunk",
		"2025-05-06T10:00:00Z ",
		"2025-05-06T10:00:00 Z",
		"2025-05-06T10:00:00+01:00x",
		"2025-05-06T10:00:00+01:00:00",
		"2025-05-06T24:00:00Z",	/* clock */
		"2025-05-06T10:60:00Z",
		"2025-05-06T10:00:61Z",
		"2025-05-06T1:00:00Z",
		"2025-05-06T10:0:00Z",
		"2025-05-06T10:00:00.Z",	/* empty fraction */
		"2025-05-06T10:00:00.1234567890Z",	/* 10 digits */
		"2025-05-06T10:00:00+",	/* offsets */
		"2025-05-06T10:00:00+1",
		"2025-05-06T10:00:00+24:00",
		"2025-05-06T10:00:00+01:60",
		"2025-05-06T10:00:00+01:3",
		"2025-05-06T10:00:00UTC",
		"2025-05-06T10:00:00 +01:00",
		" 2025-05-06",
		"x2025-05-06",
		"2025-05-06Z",
		"May 6, 2025",
		"1746489600",
	};

	(void)state;
	check_rejects(bad, NELEM(bad));
}

static void
test_rejects_dangling_offset_colon(void **state)
{
	/* "+hh:" is none of +hh:mm, +hhmm, +hh. */
	static const char *const bad[] = {
		"2025-05-06T10:00:00+01:",
		"2025-05-06T10:00:00-05:",
	};

	(void)state;
	check_rejects(bad, NELEM(bad));
}

static void
test_rejects_null(void **state)
{
	struct timeval_iso t;

	(void)state;
	assert_int_equal(timefmt_parse(NULL, &t), -1);
}

static void
test_leap_second(void **state)
{
	/* :60 is folded into the next minute, not rejected. */
	static const struct accept_case v[] = {
		{ "2016-12-31T23:59:60Z", 1483228800000LL, true, true },
	};

	(void)state;
	check_accepts(v, NELEM(v));
}

/* ---- output ------------------------------------------------------------ */

static void
test_iso_utc_output(void **state)
{
	static const struct {
		int64_t ms;
		const char *out;
	} v[] = {
		{ 0, "1970-01-01T00:00:00Z" },
		{ D20250506, "2025-05-06T00:00:00Z" },
		{ D20250506 + H(10), "2025-05-06T10:00:00Z" },
		{ 1721658604367LL, "2024-07-22T14:30:04.367Z" },
		{ 1721658604001LL, "2024-07-22T14:30:04.001Z" },
		{ 1721658604010LL, "2024-07-22T14:30:04.010Z" },
		{ 1721658604100LL, "2024-07-22T14:30:04.100Z" },
		{ 1721658604999LL, "2024-07-22T14:30:04.999Z" },
		{ 1709164800000LL + H(23) + M(59) + S(59), "2024-02-29T23:59:59Z" },
		{ -1, "1969-12-31T23:59:59.999Z" },
		{ -1000, "1969-12-31T23:59:59Z" },
		{ 253402300799999LL, "9999-12-31T23:59:59.999Z" },
		/* past the four-digit years written by hand: strftime's form */
		{ 253402300800000LL, "10000-01-01T00:00:00Z" },
	};
	char out[TIMEFMT_ISO_LEN];

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		memset(out, 'x', sizeof(out));
		timefmt_iso_utc(v[i].ms, out);
		assert_string_equal(out, v[i].out);
		/* The header's promise: fits in 25 bytes. */
		assert_true(strlen(out) < 25);
	}
}

static void
test_round_trip(void **state)
{
	static const int64_t ms[] = {
		0, 1, 999, 1000, D20250506, D20250506 + H(10) + 367,
		1721658604367LL, 1687867200000LL, 951782400000LL - 1,
		4102444800000LL,	/* 2100-01-01 */
		-1, -86400000LL,
	};
	char out[TIMEFMT_ISO_LEN];

	(void)state;
	for (size_t i = 0; i < NELEM(ms); i++) {
		struct timeval_iso t;

		timefmt_iso_utc(ms[i], out);
		if (timefmt_parse(out, &t) != 0)
			fail_msg("own output \"%s\" rejected", out);
		assert_int_equal(t.ms, ms[i]);
		assert_true(t.has_time);
		assert_true(t.has_offset);
	}
	/* And text -> ms -> text normalises to the canonical form. */
	{
		static const struct { const char *in, *out; } n[] = {
			{ "2025-05-06T12:00:00+02:00", "2025-05-06T10:00:00Z" },
			{ "2025-05-06T10:00:00.000Z", "2025-05-06T10:00:00Z" },
			{ "2025-05-06T10:00:00.120000Z", "2025-05-06T10:00:00.120Z" },
			{ "2025-05-06", "2025-05-06T00:00:00Z" },
			{ "2025-05-06 04:30:00-0530", "2025-05-06T10:00:00Z" },
		};
		for (size_t i = 0; i < NELEM(n); i++) {
			struct timeval_iso t;

			assert_int_equal(timefmt_parse(n[i].in, &t), 0);
			timefmt_iso_utc(t.ms, out);
			assert_string_equal(out, n[i].out);
		}
	}
}

static void
test_ordering_is_total(void **state)
{
	/* Later instants give larger values, whatever the written form. */
	static const char *const asc[] = {
		"2025-05-05",
		"2025-05-05T23:59:59.999Z",
		"2025-05-06",
		"2025-05-06T01:00:00.001+01:00",
		"2025-05-06T00:00:01Z",
		"2025-05-06T09:59:59",
		"2025-05-06T10:00:00.5+00:00",
		"2025-05-06T10:00:01Z",
	};
	int64_t prev = INT64_MIN;

	(void)state;
	for (size_t i = 0; i < NELEM(asc); i++) {
		struct timeval_iso t;

		assert_int_equal(timefmt_parse(asc[i], &t), 0);
		if (t.ms <= prev)
			fail_msg("\"%s\" does not sort after its predecessor", asc[i]);
		prev = t.ms;
	}
}

static void
test_now(void **state)
{
	int64_t a = timefmt_now_ms(), b;

	(void)state;
	/* After 2025-01-01 and before 2100. */
	assert_true(a > 1735689600000LL);
	assert_true(a < 4102444800000LL);
	b = timefmt_now_ms();
	assert_true(b >= a);
}

/* The latest instant a value can mean: a date ends in UTC-12, a local time too. */
static void
test_latest_ms(void **state)
{
	struct timeval_iso t;

	(void)state;
	assert_int_equal(timefmt_parse("2025-05-10", &t), 0);
	assert_true(timefmt_latest_ms(&t) == t.ms + 36 * 3600000LL);
	assert_int_equal(timefmt_parse("2025-05-10T08:00:00", &t), 0);
	assert_true(timefmt_latest_ms(&t) == t.ms + 12 * 3600000LL);
	assert_int_equal(timefmt_parse("2025-05-10T08:00:00+02:00", &t), 0);
	assert_true(timefmt_latest_ms(&t) == t.ms);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_latest_ms),
		cmocka_unit_test(test_date_only),
		cmocka_unit_test(test_local_time_without_offset),
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_fractions),
		cmocka_unit_test(test_spec_examples),
		cmocka_unit_test(test_rejects),
		cmocka_unit_test(test_rejects_dangling_offset_colon),
		cmocka_unit_test(test_rejects_null),
		cmocka_unit_test(test_leap_second),
		cmocka_unit_test(test_iso_utc_output),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_ordering_is_total),
		cmocka_unit_test(test_now),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
