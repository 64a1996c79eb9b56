/*
 * Unit tests for cgi/lib/urlpath.c: a request path's segments, decoded
 * once, from what each web server passes.  The pairs of REQUEST_URI and
 * PATH_INFO are the ones lighttpd 1.4, nginx and Apache 2.4
 * (AllowEncodedSlashes On or NoDecode) were seen to pass for the same
 * request.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "urlpath.h"

#define MAXSEG 6

struct result {
	enum urlpath_rc rc;
	size_t n;
	const char *seg[MAXSEG];
	char buf[2048];
};

/* Into *r, whose buf the segments point into; SCRIPT_NAME is "/api". */
static void
split(struct result *r, const char *uri, const char *path_info)
{
	struct urlpath_vars v = { uri, "/api", path_info };

	memset(r, 0, sizeof(*r));
	r->rc = urlpath_split(&v, r->buf, sizeof(r->buf), r->seg, MAXSEG, &r->n);
}

/* The segments, joined with " | ", for one readable comparison. */
static void
assert_segments(const char *uri, const char *path_info, const char *want)
{
	struct result r;
	char got[2048] = "";

	split(&r, uri, path_info);
	if (r.rc != URLPATH_OK)
		fail_msg("(%s, %s): rc %d", uri ? uri : "NULL", path_info, (int)r.rc);
	for (size_t i = 0; i < r.n; i++)
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
		    i > 0 ? " | " : "", r.seg[i]);
	if (strcmp(got, want) != 0)
		fail_msg("(%s, %s): \"%s\", expected \"%s\"", uri ? uri : "NULL",
		    path_info, got, want);
}

static void
assert_rc(const char *uri, const char *path_info, enum urlpath_rc want)
{
	struct result r;

	split(&r, uri, path_info);
	if (r.rc != want)
		fail_msg("(%s, %s): rc %d, expected %d", uri ? uri : "NULL", path_info,
		    (int)r.rc, (int)want);
}

static void
test_encoded_slash_stays_in_its_segment(void **state)
{
	(void)state;
	/* lighttpd, nginx, Apache "On": PATH_INFO decoded, %2F included. */
	assert_segments("/api/v1/track/a%2Fb%25c%20d?key=K", "/v1/track/a/b%c d",
	    "v1 | track | a/b%c d");
	/* Apache NoDecode: everything decoded but %2F. */
	assert_segments("/api/v1/track/a%2Fb%25c%20d", "/v1/track/a%2Fb%c d",
	    "v1 | track | a/b%c d");
	assert_segments("/api/v1/orders/x%2fy/contact", "/v1/orders/x/y/contact",
	    "v1 | orders | x/y | contact");
}

static void
test_percent_in_an_id_is_decoded_once(void **state)
{
	(void)state;
	/* The id "a%2Fb": the client sends a%252Fb; both servers' forms. */
	assert_segments("/api/v1/track/a%252Fb", "/v1/track/a%2Fb", "v1 | track | a%2Fb");
	assert_segments("/api/v1/track/50%25", "/v1/track/50%", "v1 | track | 50%");
	assert_segments("/api/v1/track/a+b", "/v1/track/a+b", "v1 | track | a+b");
	assert_segments("/api/v1/track/a%26b%23c%3Fd", "/v1/track/a&b#c?d",
	    "v1 | track | a&b#c?d");
}

static void
test_raw_slash_separates(void **state)
{
	(void)state;
	assert_segments("/api/v1/track/a/b", "/v1/track/a/b", "v1 | track | a | b");
	assert_segments("/api//v1//health/", "//v1//health/", "v1 | health");
}

static void
test_any_mount_point(void **state)
{
	(void)state;
	/* Mounted elsewhere, or rewritten (.htaccess): only the tail counts. */
	assert_segments("/shop/tracking-api/v1/orders/x%2Fy", "/v1/orders/x/y",
	    "v1 | orders | x/y");
	assert_segments("/v1/health", "/v1/health", "v1 | health");
	assert_segments("http://shop.example/api/v1/track/a%2Fb", "/v1/track/a/b",
	    "v1 | track | a/b");
}

static void
test_without_request_uri_path_info_as_it_is(void **state)
{
	(void)state;
	/* A hand-run CGI: PATH_INFO is already decoded (RFC 3875). */
	assert_segments(NULL, "/v1/track/a%2Fb", "v1 | track | a%2Fb");
	assert_segments(NULL, "/v1/health", "v1 | health");
	assert_segments(NULL, "", "");
	assert_rc(NULL, "/v1/track/a\nb", URLPATH_BAD);
}

static void
test_no_matching_tail(void **state)
{
	(void)state;
	/* The server resolved dot segments: PATH_INFO, as it is. */
	assert_segments("/api/v1/./health", "/v1/health", "v1 | health");
	/*
	 * ... but not when it resolved or merged encoded slashes (nginx):
	 * then the raw path after SCRIPT_NAME ("/api"), if it starts so.
	 */
	assert_segments("/api/v1/track/a%2F..%2Fb", "/v1/track/b", "v1 | track | a/../b");
	assert_segments("/api/v1/track/a%2F%2Fb", "/v1/track/a/b", "v1 | track | a//b");
	assert_rc("/other/v1/track/a%2F..%2Fb", "/v1/track/b", URLPATH_NOT_FOUND);
	assert_rc("/apix/v1/track/a%2F..%2Fb", "/v1/track/b", URLPATH_NOT_FOUND);
	assert_rc("/api/v1/track/x%00", "/v1/track/x", URLPATH_BAD);
}

static void
test_variables_missing(void **state)
{
	struct urlpath_vars v = { "/api/v1/track/a%2F..%2Fb", NULL, "/v1/track/b" };
	struct result r;

	(void)state;
	memset(&r, 0, sizeof(r));
	assert_int_equal(urlpath_split(&v, r.buf, sizeof(r.buf), r.seg, MAXSEG, &r.n),
	    URLPATH_NOT_FOUND);
	v.path_info = NULL;
	v.request_uri = NULL;
	assert_int_equal(urlpath_split(&v, r.buf, sizeof(r.buf), r.seg, MAXSEG, &r.n),
	    URLPATH_OK);
	assert_int_equal(r.n, 0);
}

static void
test_bad_escapes_and_control_characters(void **state)
{
	static const char *const bad[][2] = {
		{ "/api/v1/track/a%zz", "/v1/track/a%zz" },
		{ "/api/v1/track/a%2", "/v1/track/a%2" },
		{ "/api/v1/track/a%", "/v1/track/a%" },
		{ "/api/v1/track/a%g0", "/v1/track/a%g0" },
		{ "/api/v1/track/a%0Ab", "/v1/track/a\nb" },
		{ "/api/v1/track/a%0db", "/v1/track/a\rb" },
		{ "/api/v1/track/a%7F", "/v1/track/a\x7f" },
		{ "/api/v1/track/a%1B", "/v1/track/a\x1b" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_rc(bad[i][0], bad[i][1], URLPATH_BAD);
}

static void
test_bounds(void **state)
{
	char uri[3100], pi[3000];
	struct result r;

	(void)state;
	assert_rc("/api/a/b/c/d/e/f/g", "/a/b/c/d/e/f/g", URLPATH_NOT_FOUND);
	assert_segments("/api/a/b/c/d/e/f", "/a/b/c/d/e/f", "a | b | c | d | e | f");
	/* A path as long as the buffer is not found; one byte less fits. */
	memset(pi, 'x', sizeof(pi));
	pi[0] = '/';
	pi[2048] = '\0';
	snprintf(uri, sizeof(uri), "/api%s", pi);
	assert_rc(uri, pi, URLPATH_NOT_FOUND);
	pi[2047] = '\0';
	snprintf(uri, sizeof(uri), "/api%s", pi);
	split(&r, uri, pi);
	assert_int_equal(r.rc, URLPATH_OK);
	assert_int_equal(strlen(r.seg[0]), 2046);
	/* Decoding shrinks: 3 bytes of "%41" are one "A". */
	assert_segments("/api/v1/%41%42%43", "/v1/ABC", "v1 | ABC");
}

static void
test_utf8_passes(void **state)
{
	(void)state;
	assert_segments("/api/v1/track/%C3%BCn%C3%AF%2Fc", "/v1/track/\xc3\xbcn\xc3\xaf/c",
	    "v1 | track | \xc3\xbcn\xc3\xaf/c");
	assert_segments("/api/v1/track/\xc3\xbc", "/v1/track/\xc3\xbc", "v1 | track | \xc3\xbc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encoded_slash_stays_in_its_segment),
		cmocka_unit_test(test_percent_in_an_id_is_decoded_once),
		cmocka_unit_test(test_raw_slash_separates),
		cmocka_unit_test(test_any_mount_point),
		cmocka_unit_test(test_without_request_uri_path_info_as_it_is),
		cmocka_unit_test(test_no_matching_tail),
		cmocka_unit_test(test_variables_missing),
		cmocka_unit_test(test_bad_escapes_and_control_characters),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_utf8_passes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
