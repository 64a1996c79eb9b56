/*
 * Unit tests for cgi/lib/http_route.c: which entry of a route table a
 * path and method name, and the Allow list of a path whose entries are
 * all for other methods.  The tables are programs' own entry types with
 * a struct http_route first, as api.c's is.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "http_route.h"

struct entry {
	struct http_route at;
	int id;
};

static const struct entry table[] = {
	{ { { "v1", "health" }, "GET" }, 1 },
	{ { { "v1", "orders", "*" }, "GET" }, 2 },
	{ { { "v1", "orders", "*", "contact" }, "GET" }, 3 },
	{ { { "v1", "orders", "*", "contact" }, "PUT" }, 4 },
	{ { { "v1", "orders", "*", "contact" }, "DELETE" }, 5 },
	{ { { "v1", "lookup" }, "POST" }, 6 },
	/* Two patterns for one path: a literal and a "*" with the same method. */
	{ { { "v1", "orders", "recent" }, "GET" }, 7 },
	/* The same path and method again: the first entry wins. */
	{ { { "v1", "lookup" }, "POST" }, 8 },
};
#define NTABLE (sizeof(table) / sizeof(table[0]))

/* "a/b/c" into p's segments (no decoding: that is urlpath's, tested there). */
static void
path_of(struct http_path *p, const char *s)
{
	char *save = NULL, *tok;

	memset(p, 0, sizeof(*p));
	strcpy(p->buf, s);
	for (tok = strtok_r(p->buf, "/", &save); tok != NULL && p->nseg < HTTP_ROUTE_SEGMENTS;
	    tok = strtok_r(NULL, "/", &save))
		p->seg[p->nseg++] = tok;
}

static enum http_error
find(const char *path, const char *method, struct http_match *m)
{
	struct http_path p;

	path_of(&p, path);
	return http_route_find(table, NTABLE, sizeof(table[0]), &p, method, m);
}

static int
found_id(const char *path, const char *method)
{
	struct http_match m;

	if (find(path, method, &m) != HTTP_ERR_NONE || m.entry == NULL)
		return 0;
	return ((const struct entry *)m.entry)->id;
}

static void
test_literal_and_wildcard_segments(void **state)
{
	(void)state;
	assert_int_equal(found_id("v1/health", "GET"), 1);
	assert_int_equal(found_id("v1/orders/ord_1", "GET"), 2);
	assert_int_equal(found_id("v1/orders/ord_1/contact", "PUT"), 4);
	assert_int_equal(found_id("v1/orders/ord_1/contact", "DELETE"), 5);
	assert_int_equal(found_id("v1/lookup", "POST"), 6);
}

static void
test_head_is_answered_where_get_is(void **state)
{
	(void)state;
	assert_int_equal(found_id("v1/health", "HEAD"), 1);
	assert_int_equal(found_id("v1/orders/x/contact", "HEAD"), 3);
}

static void
test_unknown_paths_are_404(void **state)
{
	struct http_match m;
	const char *paths[] = { "", "v1", "v2/health", "v1/health/x", "v1/orders/a/b",
	    "v1/orders/a/contact/x", "health" };

	(void)state;
	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(find(paths[i], "GET", &m), HTTP_ERR_NOT_FOUND);
		assert_null(m.entry);
		assert_string_equal(m.allow, "");
	}
}

/* A path with several methods names them all, in the table's order. */
static void
test_405_allow_names_every_method_of_the_path(void **state)
{
	struct http_match m;

	(void)state;
	assert_int_equal(find("v1/orders/x/contact", "POST", &m),
	    HTTP_ERR_METHOD_NOT_ALLOWED);
	assert_null(m.entry);
	assert_string_equal(m.allow, "GET, PUT, DELETE");
	assert_int_equal(find("v1/health", "DELETE", &m), HTTP_ERR_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "GET");
	/* OPTIONS is not a route's method: the caller decides on a preflight. */
	assert_int_equal(find("v1/lookup", "OPTIONS", &m), HTTP_ERR_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "POST");
}

/* Two entries matching one path with the same method: named once. */
static void
test_allow_names_a_method_once(void **state)
{
	struct http_match m;

	(void)state;
	assert_int_equal(find("v1/orders/recent", "PUT", &m), HTTP_ERR_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "GET");
	assert_int_equal(find("v1/lookup", "GET", &m), HTTP_ERR_METHOD_NOT_ALLOWED);
	assert_string_equal(m.allow, "POST");
}

/* Methods beyond HTTP_ALLOW_MAX are left out whole, never cut. */
static void
test_allow_list_is_bounded(void **state)
{
	static const char *const methods[] = { "GET", "PUT", "POST", "DELETE",
	    "PATCH", "PROPFIND", "PROPPATCH", "MKCOL", "COPY", "MOVE", "LOCK",
	    "UNLOCK", "SEARCH" };
	struct entry many[sizeof(methods) / sizeof(methods[0])];
	struct http_path p;
	struct http_match m;
	size_t len;

	(void)state;
	memset(many, 0, sizeof(many));
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		many[i].at.pattern[0] = "x";
		many[i].at.method = methods[i];
	}
	path_of(&p, "x");
	assert_int_equal(http_route_find(many, sizeof(methods) / sizeof(methods[0]),
	    sizeof(many[0]), &p, "TRACE", &m), HTTP_ERR_METHOD_NOT_ALLOWED);
	len = strlen(m.allow);
	assert_true(len < HTTP_ALLOW_MAX);
	assert_true(strncmp(m.allow, "GET, PUT, POST, DELETE, PATCH", 29) == 0);
	/* It ends with a whole method of the table. */
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		size_t n = strlen(methods[i]);
		if (len >= n + 2 && strcmp(m.allow + len - n, methods[i]) == 0 &&
		    m.allow[len - n - 1] == ' ')
			return;
	}
	fail_msg("Allow cut inside a method: \"%s\"", m.allow);
}

static void
test_wildcard_segments(void **state)
{
	(void)state;
	assert_false(http_route_wildcard(&table[1].at, 0));
	assert_false(http_route_wildcard(&table[1].at, 1));
	assert_true(http_route_wildcard(&table[1].at, 2));
	assert_false(http_route_wildcard(&table[1].at, 3));
	assert_false(http_route_wildcard(&table[1].at, HTTP_ROUTE_SEGMENTS));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_literal_and_wildcard_segments),
		cmocka_unit_test(test_head_is_answered_where_get_is),
		cmocka_unit_test(test_unknown_paths_are_404),
		cmocka_unit_test(test_405_allow_names_every_method_of_the_path),
		cmocka_unit_test(test_allow_names_a_method_once),
		cmocka_unit_test(test_allow_list_is_bounded),
		cmocka_unit_test(test_wildcard_segments),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
