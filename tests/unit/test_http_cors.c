/*
 * Unit tests for cgi/lib/http_cors.c: the lines that let the configured
 * origin read answers, and the preflight's.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http_cors.h"

static void
test_no_origin_no_lines(void **state)
{
	struct http_head h = { .len = 0 };

	(void)state;
	http_cors_headers(&h, NULL);
	assert_string_equal(h.s, "");
	assert_false(h.cut);
}

static void
test_origin_lines(void **state)
{
	struct http_head h = { .len = 0 };

	(void)state;
	http_head_add(&h, "Cache-Control: no-cache\r\n");
	http_cors_headers(&h, "https://shop.example");
	assert_string_equal(h.s, "Cache-Control: no-cache\r\n"
	    "Access-Control-Allow-Origin: https://shop.example\r\n"
	    "Access-Control-Expose-Headers: ETag\r\n"
	    "Vary: Origin\r\n");
	assert_int_equal(h.len, strlen(h.s));
}

static void
test_preflight_only_for_options_with_an_origin(void **state)
{
	(void)state;
	assert_true(http_cors_preflight_asked("OPTIONS", "https://shop.example"));
	assert_false(http_cors_preflight_asked("OPTIONS", NULL));
	assert_false(http_cors_preflight_asked("GET", "https://shop.example"));
	assert_false(http_cors_preflight_asked("options", "https://shop.example"));
}

static void
test_preflight_lines(void **state)
{
	struct http_head h = { .len = 0 };

	(void)state;
	http_cors_preflight(&h, "GET, PUT");
	assert_string_equal(h.s, "Access-Control-Allow-Methods: GET, PUT\r\n"
	    "Access-Control-Allow-Headers: Authorization, Content-Type, If-None-Match\r\n"
	    "Access-Control-Max-Age: 600\r\n");
}

/* A set that does not fit is marked cut and keeps only whole lines. */
static void
test_lines_never_cut(void **state)
{
	static char origin[HTTP_EXTRA_MAX];
	struct http_head h = { .len = 0 };

	(void)state;
	memset(origin, 'o', sizeof(origin) - 1);
	http_head_add(&h, "Cache-Control: no-cache\r\n");
	http_cors_headers(&h, origin);
	assert_true(h.cut);
	assert_string_equal(h.s, "Cache-Control: no-cache\r\n");
	http_cors_preflight(&h, "GET");		/* nothing more once cut */
	assert_string_equal(h.s, "Cache-Control: no-cache\r\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_origin_no_lines),
		cmocka_unit_test(test_origin_lines),
		cmocka_unit_test(test_preflight_only_for_options_with_an_origin),
		cmocka_unit_test(test_preflight_lines),
		cmocka_unit_test(test_lines_never_cut),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
