/*
 * Unit tests for cgi/lib/ratelimit.c: the token bucket the carrier client
 * paces each endpoint with.  Time is passed in, so these run instantly;
 * the property that matters (never more than the limit in any of the
 * service's fixed one-second windows, even with jitter) is checked by
 * simulating a greedy sender over many windows.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "ratelimit.h"

/* A fresh bucket lets the first request go at once, then spaces them. */
static void
test_first_request_immediate(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 5, 1000);
	assert_int_equal(ratelimit_wait(&rl, 1000), 0);
	assert_int_equal(ratelimit_take(&rl, 1000), 0);
	/* 5/s at 90%: one token per 222.2 ms. */
	assert_in_range(ratelimit_wait(&rl, 1000), 222, 224);
	assert_int_equal(ratelimit_take(&rl, 1000), -1);
	assert_int_equal(ratelimit_take(&rl, 1100), -1);
	assert_int_equal(ratelimit_take(&rl, 1000 + 223), 0);
}

/* Burst is one: a long idle time does not allow a burst afterwards. */
static void
test_no_burst_after_idle(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 20, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	assert_int_equal(ratelimit_take(&rl, 60000), 0);
	assert_int_equal(ratelimit_take(&rl, 60000), -1);
	assert_true(ratelimit_wait(&rl, 60000) > 0);
}

/* A failed take leaves the bucket as it was. */
static void
test_failed_take_consumes_nothing(void **state)
{
	struct ratelimit rl;
	int64_t w;

	(void)state;
	ratelimit_init(&rl, 6, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	w = ratelimit_wait(&rl, 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(ratelimit_take(&rl, 10), -1);
	assert_int_equal(ratelimit_take(&rl, w), 0);
}

/* hold: nothing before the time the server named, then normal pacing. */
static void
test_hold(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 5, 0);
	ratelimit_hold(&rl, 5000);
	assert_int_equal(ratelimit_wait(&rl, 1000), 4000);
	assert_int_equal(ratelimit_take(&rl, 4999), -1);
	assert_int_equal(ratelimit_take(&rl, 5000), 0);
	/* An earlier hold does not shorten a later one. */
	ratelimit_hold(&rl, 9000);
	ratelimit_hold(&rl, 6000);
	assert_int_equal(ratelimit_wait(&rl, 8000), 1000);
}

/* observe: Remaining 0 holds until Reset; anything else is left alone. */
static void
test_observe(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 5, 0);
	ratelimit_observe(&rl, 3, 2000, 1000, 2050);
	assert_int_equal(ratelimit_wait(&rl, 1000), 0);
	ratelimit_observe(&rl, 0, 1500, 1000, 2050);
	assert_int_equal(ratelimit_wait(&rl, 1000), 500);
	/* A reset in the past, or too far out (clock skew), is ignored. */
	ratelimit_init(&rl, 5, 0);
	ratelimit_observe(&rl, 0, 900, 1000, 2050);
	assert_int_equal(ratelimit_wait(&rl, 1000), 0);
	ratelimit_observe(&rl, 0, 1000 + 3600 * 1000, 1000, 2050);
	assert_int_equal(ratelimit_wait(&rl, 1000), 0);
}

/* A zero or negative limit is treated as 1/s, not a division by zero. */
static void
test_bad_limit(void **state)
{
	struct ratelimit rl;

	(void)state;
	ratelimit_init(&rl, 0, 0);
	assert_int_equal(ratelimit_take(&rl, 0), 0);
	assert_in_range(ratelimit_wait(&rl, 0), 1000, 1200);
}

/*
 * The property: a sender that goes whenever allowed, its requests landing
 * at the server with up to `jitter` ms of random extra delay, never puts
 * more than the limit into one fixed one-second window of the server.
 */
static int
max_in_window(double limit, int jitter, int seconds, unsigned seed)
{
	struct ratelimit rl;
	int *count = calloc((size_t)seconds + 2, sizeof(int)), worst = 0;
	int64_t t = 123;	/* not aligned with the server's windows */

	assert_non_null(count);
	srand(seed);
	ratelimit_init(&rl, limit, t);
	while (t < (int64_t)seconds * 1000) {
		int64_t w = ratelimit_wait(&rl, t);
		if (w > 0) {
			t += w;
			continue;
		}
		assert_int_equal(ratelimit_take(&rl, t), 0);
		int64_t arrive = t + (jitter ? rand() % jitter : 0);
		if (arrive / 1000 <= seconds)
			count[arrive / 1000]++;
	}
	for (int s = 0; s <= seconds; s++)
		if (count[s] > worst)
			worst = count[s];
	free(count);
	return worst;
}

static void
test_never_over_limit_in_a_window(void **state)
{
	static const double limits[] = { 3, 5, 6, 10, 20 };

	(void)state;
	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++) {
		int worst = max_in_window(limits[i], 0, 300, 1);
		assert_true(worst <= (int)limits[i]);
		/* Uses most of it: at least 85% of the limit in the busiest window. */
		assert_true(worst >= (int)(limits[i] * 0.85));
		/* 50 ms of jitter stays within the slack. */
		assert_true(max_in_window(limits[i], 50, 300, 7) <= (int)limits[i]);
	}
}

/* And the rate over a long run is 90% of the limit. */
static void
test_long_run_rate(void **state)
{
	struct ratelimit rl;
	int64_t t = 0;
	long n = 0;

	(void)state;
	ratelimit_init(&rl, 6, 0);
	while (t < 100000) {
		int64_t w = ratelimit_wait(&rl, t);
		if (w > 0)
			t += w;
		else {
			ratelimit_take(&rl, t);
			n++;
		}
	}
	assert_in_range(n, 530, 541);	/* 6/s * 0.9 * 100 s = 540 */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_request_immediate),
		cmocka_unit_test(test_no_burst_after_idle),
		cmocka_unit_test(test_failed_take_consumes_nothing),
		cmocka_unit_test(test_hold),
		cmocka_unit_test(test_observe),
		cmocka_unit_test(test_bad_limit),
		cmocka_unit_test(test_never_over_limit_in_a_window),
		cmocka_unit_test(test_long_run_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
