/*
 * Unit tests for cgi/lib/contact.c: the operator's contact change from
 * a PUT body, each value checked before anything is written.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "contact.h"

static enum contact_rc
parse(const char *body, struct facts_change *ch, json_object **root)
{
	const char *why = NULL;
	enum contact_rc rc;

	memset(ch, 0, sizeof(*ch));
	*root = json_tokener_parse(body);
	rc = contact_change_parse(*root, ch, &why);
	if ((rc == CONTACT_OK) != (why == NULL))
		fail_msg("%s: rc %d with why %s", body, (int)rc, why ? why : "(null)");
	return rc;
}

static void
assert_refused(const char *body, enum contact_rc want)
{
	struct facts_change ch;
	json_object *root;
	enum contact_rc rc = parse(body, &ch, &root);

	if (rc != want)
		fail_msg("%s: rc %d, expected %d", body, (int)rc, (int)want);
	json_object_put(root);
}

static void
test_values_and_nulls(void **state)
{
	struct facts_change ch;
	json_object *root;

	(void)state;
	assert_int_equal(parse("{\"email\":\"a@b.example\",\"postalCode\":null,"
	    "\"locale\":\"pt-BR\"}", &ch, &root), CONTACT_OK);
	assert_true(ch.set[FACT_EMAIL]);
	assert_string_equal(ch.v[FACT_EMAIL], "a@b.example");
	assert_true(ch.set[FACT_POSTAL_CODE]);
	assert_null(ch.v[FACT_POSTAL_CODE]);		/* null clears */
	assert_string_equal(ch.v[FACT_LOCALE], "pt-BR");
	assert_false(ch.set[FACT_ORDER_NUMBER]);	/* not named: kept */
	assert_false(ch.set[FACT_COUNTRY]);
	json_object_put(root);
}

static void
test_shape_refused(void **state)
{
	(void)state;
	assert_refused("{}", CONTACT_BAD_SHAPE);
	assert_refused("[]", CONTACT_BAD_SHAPE);
	assert_refused("\"a@b.example\"", CONTACT_BAD_SHAPE);
	assert_refused("null", CONTACT_BAD_SHAPE);
	assert_refused("{\"phone\":\"1\"}", CONTACT_BAD_SHAPE);
	assert_refused("{\"country\":\"DE\"}", CONTACT_BAD_SHAPE);
	assert_refused("{\"email\":1}", CONTACT_BAD_SHAPE);
	assert_refused("{\"orderNumber\":[\"7\"]}", CONTACT_BAD_SHAPE);
}

static void
test_values_refused(void **state)
{
	char body[256];

	(void)state;
	assert_refused("{\"email\":\"not an address\"}", CONTACT_BAD_EMAIL);
	assert_refused("{\"email\":\"a@b\\u0000.example\"}", CONTACT_BAD_EMAIL);
	assert_refused("{\"orderNumber\":\"7\\u00007\"}", CONTACT_BAD_VALUE);
	assert_refused("{\"locale\":\"not a tag\"}", CONTACT_BAD_VALUE);
	snprintf(body, sizeof(body), "{\"postalCode\":\"%s\"}",
	    "12345678901234567");			/* 17 bytes: over 16 */
	assert_refused(body, CONTACT_BAD_VALUE);
	assert_refused("{\"orderNumber\":\"\\u0007\"}", CONTACT_BAD_VALUE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_values_and_nulls),
		cmocka_unit_test(test_shape_refused),
		cmocka_unit_test(test_values_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
