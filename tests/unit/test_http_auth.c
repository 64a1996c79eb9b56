/*
 * Unit tests for cgi/lib/http_auth.c: the bearer token check of the
 * API's operator routes.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "http_auth.h"

#define TOKEN "s3cret-operator-token"

static void
test_the_token_lets_in(void **state)
{
	(void)state;
	assert_int_equal(http_auth_bearer("Bearer " TOKEN, TOKEN), HTTP_ERR_NONE);
	/* The scheme name is case-insensitive; the token is not. */
	assert_int_equal(http_auth_bearer("bearer " TOKEN, TOKEN), HTTP_ERR_NONE);
	assert_int_equal(http_auth_bearer("BEARER " TOKEN, TOKEN), HTTP_ERR_NONE);
	assert_int_equal(http_auth_bearer("Bearer S3CRET-OPERATOR-TOKEN", TOKEN),
	    HTTP_ERR_UNAUTHORIZED);
}

static void
test_anything_else_is_401(void **state)
{
	const char *bad[] = { NULL, "", "Bearer", "Bearer ", "Bearer  " TOKEN,
	    "Bearer " TOKEN " ", "Bearer " TOKEN "x", "Bearer s3cret", "Basic " TOKEN,
	    TOKEN, "Bearer:" TOKEN };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (http_auth_bearer(bad[i], TOKEN) != HTTP_ERR_UNAUTHORIZED)
			fail_msg("\"%s\" let in", bad[i] ? bad[i] : "(null)");
}

static void
test_no_token_configured_is_403(void **state)
{
	(void)state;
	assert_int_equal(http_auth_bearer("Bearer " TOKEN, NULL), HTTP_ERR_FORBIDDEN);
	assert_int_equal(http_auth_bearer(NULL, NULL), HTTP_ERR_FORBIDDEN);
}

/* A header over HTTP_AUTH_MAX bytes is refused, even with the right token. */
static void
test_long_header_refused(void **state)
{
	static char token[HTTP_AUTH_MAX], header[HTTP_AUTH_MAX + 8];

	(void)state;
	memset(token, 't', sizeof(token) - 1);
	snprintf(header, sizeof(header), "Bearer %s", token);
	assert_int_equal(http_auth_bearer(header, token), HTTP_ERR_UNAUTHORIZED);
	token[HTTP_AUTH_MAX - 8] = '\0';
	snprintf(header, sizeof(header), "Bearer %s", token);
	assert_int_equal(http_auth_bearer(header, token), HTTP_ERR_NONE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_the_token_lets_in),
		cmocka_unit_test(test_anything_else_is_401),
		cmocka_unit_test(test_no_token_configured_is_403),
		cmocka_unit_test(test_long_header_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
