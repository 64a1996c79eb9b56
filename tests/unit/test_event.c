/*
 * Unit tests for cgi/lib/event.c: both Rye envelopes, strict bounded JSON,
 * the handshakes, field validation, and tracking extraction under every
 * alias shared/spec/rye-webhooks.md lists.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "json.h"
#include "text.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
	struct event ev;
	char why[256];
	json_object *json;		/* for extraction tests */
	struct tracking_ref out[EVENT_MAX_TRACKING + 8];
	char *buf;			/* a body built at run time */
};

static int
setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	event_free(&f->ev);
	if (f->json != NULL)
		json_object_put(f->json);
	free(f->buf);
	free(f);
	return 0;
}

static enum event_rc
parse_len(struct fx *f, enum sig_scheme scheme, const char *body, size_t len)
{
	event_free(&f->ev);
	f->why[0] = '\0';
	return event_parse(scheme, body, len, &f->ev, f->why, sizeof(f->why));
}

static enum event_rc
parse(struct fx *f, enum sig_scheme scheme, const char *body)
{
	return parse_len(f, scheme, body, strlen(body));
}

/* As the Rye pass and replay read a stored record. */
static enum event_rc
parse_record(struct fx *f, enum sig_scheme scheme, const char *body)
{
	event_free(&f->ev);
	f->why[0] = '\0';
	return event_parse_record(scheme, body, strlen(body), &f->ev, f->why,
	    sizeof(f->why));
}

static const char *
rc_name(enum event_rc rc)
{
	switch (rc) {
	case EVENT_OK: return "EVENT_OK";
	case EVENT_HANDSHAKE: return "EVENT_HANDSHAKE";
	case EVENT_INVALID_JSON: return "EVENT_INVALID_JSON";
	case EVENT_MISSING_FIELD: return "EVENT_MISSING_FIELD";
	case EVENT_INVALID_FIELD: return "EVENT_INVALID_FIELD";
	}
	return "?";
}

#define assert_rc(got, want) do { \
	enum event_rc g_ = (got), w_ = (want); \
	if (g_ != w_) \
		fail_msg("rc %s, want %s (why: %s)", rc_name(g_), rc_name(w_), \
		    f->why); \
} while (0)

/* An error rc must come with a reason. */
#define assert_fails(got, want) do { \
	assert_rc(got, want); \
	assert_true(f->why[0] != '\0'); \
} while (0)

/* printf into f->buf (freed by teardown or the next call). */
static const char *
fmt(struct fx *f, const char *format, ...)
{
	va_list ap;
	int n;

	free(f->buf);
	va_start(ap, format);
	n = vsnprintf(NULL, 0, format, ap);
	va_end(ap);
	assert_true(n >= 0);
	f->buf = malloc((size_t)n + 1);
	assert_non_null(f->buf);
	va_start(ap, format);
	vsnprintf(f->buf, (size_t)n + 1, format, ap);
	va_end(ap);
	return f->buf;
}

/* A gen-1 TRACKING_OBTAINED body around a data object. */
static const char *
tracking_body(struct fx *f, const char *data)
{
	return fmt(f, "{\"id\":\"evt_tr\",\"requestId\":\"req_1\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\",\"type\":\"TRACKING_OBTAINED\","
	    "\"data\":%s}", data);
}

/* Parse a data object and extract its tracking references. */
static size_t
extract(struct fx *f, const char *data_json, size_t max)
{
	if (f->json != NULL)
		json_object_put(f->json);
	f->json = json_parse_bounded(data_json, strlen(data_json), NULL);
	if (f->json == NULL)
		fail_msg("test JSON invalid: %s", data_json);
	memset(f->out, 0x5a, sizeof(f->out));
	return event_extract_tracking(f->json, f->out, max);
}

static void
assert_str_or_null(const char *got, const char *want)
{
	if (want == NULL) {
		if (got != NULL)
			fail_msg("got \"%s\", want NULL", got);
	} else {
		if (got == NULL)
			fail_msg("got NULL, want \"%s\"", want);
		assert_string_equal(got, want);
	}
}

static void
assert_ref(const struct tracking_ref *r, const char *number,
    const char *carrier, const char *url)
{
	assert_str_or_null(r->number, number);
	assert_str_or_null(r->carrier, carrier);
	assert_str_or_null(r->url, url);
}

/* ---- gen 1 envelope ---------------------------------------------------- */

static void
test_gen1_order_placed(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_01J2\",\"requestId\":\"req_7f3a\","
	    "\"developerId\":\"dev_1\",\"createdAt\":\"2024-07-22T14:30:04.367Z\","
	    "\"type\":\"ORDER_PLACED\",\"data\":{\"marketplace\":\"shopify\","
	    "\"unknownKey\":[1,2,{\"x\":null}]},\"futureField\":true}"),
	    EVENT_OK);
	assert_int_equal(f->ev.scheme, SIG_RYE_V1);
	assert_non_null(f->ev.root);
	assert_string_equal(f->ev.id, "evt_01J2");
	assert_string_equal(f->ev.type, "ORDER_PLACED");
	assert_string_equal(f->ev.order_id, "req_7f3a");
	assert_string_equal(f->ev.marketplace, "shopify");
	assert_null(f->ev.challenge);
	assert_int_equal(f->ev.created.ms, 1721658604367LL);
	assert_true(f->ev.created.has_time);
	assert_true(f->ev.created.has_offset);
	assert_string_equal(f->ev.created_at, "2024-07-22T14:30:04.367Z");
	/* Not a tracking event: no shipments, even if fields look like it. */
	assert_int_equal(f->ev.ntracking, 0);
}

static void
test_gen1_no_order_and_marketplace_fallback(void **state)
{
	struct fx *f = *state;

	/* Product events: no requestId, marketplace at the top level. */
	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_p\",\"createdAt\":\"2023-06-27T12:00:00Z\","
	    "\"type\":\"PRODUCT_UPDATED\",\"marketplace\":\"amazon\","
	    "\"data\":{}}"), EVENT_OK);
	assert_null(f->ev.order_id);
	assert_string_equal(f->ev.marketplace, "amazon");
	/* data.marketplace is preferred over the top level. */
	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_p\",\"createdAt\":\"2023-06-27T12:00:00Z\","
	    "\"type\":\"PAYMENT_SUCCEEDED\",\"requestId\":\"r\","
	    "\"marketplace\":\"amazon\",\"data\":{\"marketplace\":\"shopify\","
	    "\"amount\":1299}}"), EVENT_OK);
	assert_string_equal(f->ev.marketplace, "shopify");
}

static void
test_gen1_unknown_type_accepted(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_u\",\"createdAt\":\"2023-06-27T12:00:00Z\","
	    "\"type\":\"SOMETHING_RYE_ADDED_LATER\",\"requestId\":\"req_u\"}"),
	    EVENT_OK);
	assert_string_equal(f->ev.type, "SOMETHING_RYE_ADDED_LATER");
	assert_string_equal(f->ev.order_id, "req_u");
}

static void
test_missing_fields(void **state)
{
	static const char *const bodies[] = {
		/* no id */
		"{\"createdAt\":\"2023-06-27T12:00:00Z\",\"type\":\"ORDER_PLACED\"}",
		/* no type */
		"{\"id\":\"evt_1\",\"createdAt\":\"2023-06-27T12:00:00Z\"}",
		/* no createdAt */
		"{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\",\"requestId\":\"r\"}",
		/* id null */
		"{\"id\":null,\"createdAt\":\"2023-06-27T12:00:00Z\",\"type\":\"ORDER_PLACED\"}",
		/* nothing */
		"{}",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(bodies); i++) {
		assert_fails(parse(f, SIG_RYE_V1, bodies[i]), EVENT_MISSING_FIELD);
		assert_fails(parse(f, SIG_RYE_V2, bodies[i]), EVENT_MISSING_FIELD);
	}
}

static void
test_invalid_created_at(void **state)
{
	static const char *const bad[] = {
		"\"yesterday\"", "\"\"", "\"2025-02-30T00:00:00Z\"",
		"\"2025-05-06T10:00:00Z junk\"", "\"2025-05-06T25:00:00Z\"",
		"true", "{}", "[]", "1.5",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(bad); i++) {
		const char *body = fmt(f, "{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\","
		    "\"createdAt\":%s}", bad[i]);
		assert_fails(parse(f, SIG_RYE_V1, body), EVENT_INVALID_FIELD);
		body = fmt(f, "{\"id\":\"evt_1\",\"type\":\"checkout_intent.completed\","
		    "\"createdAt\":%s,\"source\":{\"type\":\"checkout_intent\","
		    "\"id\":\"ci_1\"}}", bad[i]);
		assert_fails(parse(f, SIG_RYE_V2, body), EVENT_INVALID_FIELD);
	}
}

static void
test_created_at_normalised(void **state)
{
	static const struct {
		const char *in, *out;
		int64_t ms;
	} v[] = {
		{ "2023-06-27T12:00:00Z", "2023-06-27T12:00:00Z", 1687867200000LL },
		{ "2024-07-22T14:30:04.367Z", "2024-07-22T14:30:04.367Z", 1721658604367LL },
		{ "2024-07-22T14:30:04.000Z", "2024-07-22T14:30:04Z", 1721658604000LL },
		{ "2024-07-22T14:30:04.5Z", "2024-07-22T14:30:04.500Z", 1721658604500LL },
		{ "2024-07-22T16:30:04.367+02:00", "2024-07-22T14:30:04.367Z", 1721658604367LL },
		{ "2024-07-22T09:00:04-0530", "2024-07-22T14:30:04Z", 1721658604000LL },
		{ "2024-07-22t14:30:04z", "2024-07-22T14:30:04Z", 1721658604000LL },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(v); i++) {
		const char *body = fmt(f, "{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\","
		    "\"requestId\":\"r\",\"createdAt\":\"%s\"}", v[i].in);
		assert_rc(parse(f, SIG_RYE_V1, body), EVENT_OK);
		assert_string_equal(f->ev.created_at, v[i].out);
		assert_int_equal(f->ev.created.ms, v[i].ms);
	}
}

/* ---- JSON strictness --------------------------------------------------- */

static void
test_invalid_json(void **state)
{
	static const char *const bad[] = {
		"",
		"not json",
		"[{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\"}]",	/* array */
		"\"a string\"",
		"42",
		"null",
		"{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"} trailing",
		"{\"id\":\"evt_1\"}{\"id\":\"evt_2\"}",
		"{\"id\":\"evt_1\",\"type\":\"ORDER_PL",			/* truncated */
		"{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\"",		/* no brace */
		"{\"id\":\"evt_\xff\",\"type\":\"ORDER_PLACED\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",		/* bad UTF-8 */
		"{\"id\":\"evt_\xe2\x82\",\"type\":\"ORDER_PLACED\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",		/* cut sequence */
		"{\"id\":\"evt_\x80\",\"type\":\"ORDER_PLACED\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",		/* stray byte */
		"{\"id\":'evt_1'}",					/* single quotes */
		"{\"id\":\"evt_1\",}",					/* trailing comma */
		"{id:\"evt_1\"}",					/* bare key */
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(bad); i++) {
		enum event_rc rc = parse(f, SIG_RYE_V1, bad[i]);
		if (rc != EVENT_INVALID_JSON)
			fail_msg("body #%zu: %s, want EVENT_INVALID_JSON", i, rc_name(rc));
		assert_true(f->why[0] != '\0');
		assert_rc(parse(f, SIG_RYE_V2, bad[i]), EVENT_INVALID_JSON);
	}
}

static void
test_invalid_utf8_strict(void **state)
{
	/*
	 * Well-formed in shape but still not UTF-8 (RFC 3629): overlong
	 * forms, UTF-16 surrogates, code points above U+10FFFF.
	 */
	static const char *const bad[] = {
		"\xc0\xaf",		/* overlong '/' */
		"\xe0\x80\xaf",		/* overlong '/', 3 bytes */
		"\xed\xa0\x80",		/* U+D800 */
		"\xf4\x90\x80\x80",	/* U+110000 */
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(bad); i++) {
		enum event_rc rc = parse(f, SIG_RYE_V1, fmt(f,
		    "{\"id\":\"evt_%s\",\"type\":\"ORDER_PLACED\","
		    "\"createdAt\":\"2023-06-27T12:00:00Z\"}", bad[i]));
		if (rc != EVENT_INVALID_JSON)
			fail_msg("sequence #%zu: %s, want EVENT_INVALID_JSON", i,
			    rc_name(rc));
	}
}

static void
test_json_length_is_authoritative(void **state)
{
	static const char body[] = "{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\","
	    "\"requestId\":\"r\",\"createdAt\":\"2023-06-27T12:00:00Z\"}\0{\"x\":1}";
	struct fx *f = *state;
	size_t first = strlen(body);

	/* A NUL and more bytes after the object: not one JSON text. */
	assert_rc(parse_len(f, SIG_RYE_V1, body, sizeof(body) - 1),
	    EVENT_INVALID_JSON);
	assert_rc(parse_len(f, SIG_RYE_V1, body, first + 1), EVENT_INVALID_JSON);
	/* Cut short by the length. */
	assert_rc(parse_len(f, SIG_RYE_V1, body, first - 1), EVENT_INVALID_JSON);
	assert_rc(parse_len(f, SIG_RYE_V1, body, first), EVENT_OK);
}

static void
test_json_whitespace_allowed(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V1,
	    " \n{ \"id\" : \"evt_1\" ,\"type\":\"ORDER_PLACED\",\r\n"
	    "\"requestId\" :\"r\",\"createdAt\":\"2023-06-27T12:00:00Z\" }\n"), EVENT_OK);
	assert_string_equal(f->ev.id, "evt_1");
	/* Valid multi-byte UTF-8 is fine. */
	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_\xc3\xa9\xe2\x82\xac\",\"type\":\"ORDER_PLACED\","
	    "\"requestId\":\"r\",\"createdAt\":\"2023-06-27T12:00:00Z\"}"), EVENT_OK);
	assert_string_equal(f->ev.id, "evt_\xc3\xa9\xe2\x82\xac");
}

/* A body whose total nesting depth (the top object counts) is depth. */
static const char *
nested_body(struct fx *f, int depth)
{
	char open[64], close[64];
	int k = depth - 1;

	assert_true(k >= 0 && k < (int)sizeof(open));
	memset(open, '[', (size_t)k);
	open[k] = '\0';
	memset(close, ']', (size_t)k);
	close[k] = '\0';
	return fmt(f, "{\"id\":\"evt_deep\",\"type\":\"ORDER_PLACED\",\"requestId\":\"r\","
	    "\"createdAt\":\"2023-06-27T12:00:00Z\",\"data\":%s%s}",
	    open, close);
}

static void
test_nesting_limit(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V1, nested_body(f, EVENT_MAX_DEPTH)), EVENT_OK);
	assert_fails(parse(f, SIG_RYE_V1, nested_body(f, EVENT_MAX_DEPTH + 1)),
	    EVENT_INVALID_JSON);
	assert_fails(parse(f, SIG_RYE_V1, nested_body(f, 60)), EVENT_INVALID_JSON);
	{
		const char *deep = nested_body(f, 40);
		assert_null(json_parse_bounded(deep, strlen(deep), NULL));
	}
}

/* ---- handshakes -------------------------------------------------------- */

static void
test_handshake_gen1(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_v\",\"developerId\":\"dev_1\","
	    "\"createdAt\":\"2023-06-27T12:00:00Z\","
	    "\"type\":\"WEBHOOK_URL_VERIFICATION\","
	    "\"data\":{\"challenge\":\"c-8f2e1a\"}}"), EVENT_HANDSHAKE);
	assert_string_equal(f->ev.challenge, "c-8f2e1a");
	/* Verification is answered even without the other fields. */
	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"type\":\"WEBHOOK_URL_VERIFICATION\",\"data\":{\"challenge\":\"x1\"}}"),
	    EVENT_HANDSHAKE);
	assert_string_equal(f->ev.challenge, "x1");
	/* No challenge: nothing to answer. */
	assert_fails(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_v\",\"createdAt\":\"2023-06-27T12:00:00Z\","
	    "\"type\":\"WEBHOOK_URL_VERIFICATION\",\"data\":{}}"),
	    EVENT_MISSING_FIELD);
	assert_null(f->ev.challenge);
	assert_fails(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_v\",\"createdAt\":\"2023-06-27T12:00:00Z\","
	    "\"type\":\"WEBHOOK_URL_VERIFICATION\"}"), EVENT_MISSING_FIELD);
}

static void
test_handshake_gen2(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_9\",\"object\":\"event\","
	    "\"type\":\"webhook_endpoint.verification_challenge\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\","
	    "\"source\":{\"type\":\"webhook_endpoint\",\"id\":\"whchal_123\"}}"),
	    EVENT_HANDSHAKE);
	assert_string_equal(f->ev.challenge, "whchal_123");
	assert_fails(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_9\",\"object\":\"event\","
	    "\"type\":\"webhook_endpoint.verification_challenge\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\",\"source\":{}}"),
	    EVENT_MISSING_FIELD);
	/*
	 * The gen-2 form under the gen-1 header is no handshake, nor an
	 * event to store: its type is no gen-1 type.
	 */
	assert_fails(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_9\",\"type\":\"webhook_endpoint.verification_challenge\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\","
	    "\"source\":{\"id\":\"whchal_123\"}}"), EVENT_INVALID_FIELD);
	assert_null(f->ev.challenge);
}

static void
test_handshake_challenge_sanitised(void **state)
{
	struct fx *f = *state;
	char big[5001];

	/* A challenge is echoed back: control characters are refused. */
	assert_true(parse(f, SIG_RYE_V1,
	    "{\"type\":\"WEBHOOK_URL_VERIFICATION\","
	    "\"data\":{\"challenge\":\"a\\r\\nSet-Cookie: x\"}}") != EVENT_HANDSHAKE);
	assert_true(f->why[0] != '\0');
	memset(big, 'c', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_true(parse(f, SIG_RYE_V2, fmt(f,
	    "{\"type\":\"webhook_endpoint.verification_challenge\","
	    "\"source\":{\"id\":\"%s\"}}", big)) != EVENT_HANDSHAKE);
}

/* ---- gen 2 envelope ---------------------------------------------------- */

static void
test_gen2_checkout_intent(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_2a\",\"object\":\"event\","
	    "\"type\":\"checkout_intent.completed\","
	    "\"createdAt\":\"2025-05-06T10:00:00.250Z\","
	    "\"source\":{\"type\":\"checkout_intent\",\"id\":\"ci_abc\"},"
	    "\"data\":{}}"), EVENT_OK);
	assert_int_equal(f->ev.scheme, SIG_RYE_V2);
	assert_string_equal(f->ev.id, "evt_2a");
	assert_string_equal(f->ev.type, "checkout_intent.completed");
	assert_string_equal(f->ev.order_id, "ci_abc");
	assert_string_equal(f->ev.created_at, "2025-05-06T10:00:00.250Z");
	assert_null(f->ev.challenge);

	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_2b\",\"object\":\"event\","
	    "\"type\":\"checkout_intent.order_failed\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\","
	    "\"source\":{\"type\":\"checkout_intent\",\"id\":\"ci_def\"}}"),
	    EVENT_OK);
	assert_string_equal(f->ev.order_id, "ci_def");
}

static void
test_gen2_order_id_only_for_checkout_intent(void **state)
{
	struct fx *f = *state;

	/* A shipment's id is not an order id. */
	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_s\",\"object\":\"event\",\"type\":\"shipment.updated\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\","
	    "\"source\":{\"type\":\"shipment\",\"id\":\"shp_1\"}}"), EVENT_OK);
	assert_null(f->ev.order_id);
	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_p\",\"object\":\"event\",\"type\":\"product.updated\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\","
	    "\"source\":{\"type\":\"product\",\"id\":\"prod_1\"}}"), EVENT_OK);
	assert_null(f->ev.order_id);
	/* Even if the type name looks like a checkout intent's. */
	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_x\",\"object\":\"event\","
	    "\"type\":\"checkout_intent.completed\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\","
	    "\"source\":{\"type\":\"shipment\",\"id\":\"shp_2\"}}"), EVENT_OK);
	assert_null(f->ev.order_id);
	/* Gen 2 has no requestId. */
	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_y\",\"object\":\"event\",\"type\":\"shipment.created\","
	    "\"requestId\":\"req_1\",\"createdAt\":\"2025-05-06T10:00:00Z\","
	    "\"source\":{\"type\":\"shipment\",\"id\":\"shp_3\"}}"), EVENT_OK);
	assert_null(f->ev.order_id);
}

/* ---- id validation ----------------------------------------------------- */

static void
test_ids_with_quotes(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_\\\"'\\\"<>&\\\\x\",\"type\":\"ORDER_PLACED\","
	    "\"requestId\":\"req_\\\"\\\"\\\"\","
	    "\"createdAt\":\"2023-06-27T12:00:00Z\"}"), EVENT_OK);
	assert_string_equal(f->ev.id, "evt_\"'\"<>&\\x");
	assert_string_equal(f->ev.order_id, "req_\"\"\"");
}

static void
test_control_chars_invalid(void **state)
{
	static const char *const bodies[] = {
		"{\"id\":\"evt_\\u0001\",\"type\":\"ORDER_PLACED\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",
		"{\"id\":\"evt\\nINFO forged\",\"type\":\"ORDER_PLACED\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",
		"{\"id\":\"evt\\r\",\"type\":\"ORDER_PLACED\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",
		"{\"id\":\"evt\\u007f\",\"type\":\"ORDER_PLACED\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",
		"{\"id\":\"evt_1\",\"type\":\"ORDER\\tPLACED\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",
		"{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\",\"requestId\":\"r\\u001b\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",
		"{\"id\":\"\",\"type\":\"ORDER_PLACED\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",
		"{\"id\":\"evt_1\",\"type\":\"\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",
		"{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\",\"requestId\":\"\","
		"\"createdAt\":\"2023-06-27T12:00:00Z\"}",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(bodies); i++) {
		enum event_rc rc = parse(f, SIG_RYE_V1, bodies[i]);
		if (rc != EVENT_INVALID_FIELD)
			fail_msg("body #%zu: %s, want EVENT_INVALID_FIELD", i,
			    rc_name(rc));
		assert_true(f->why[0] != '\0');
	}
}

static void
test_nul_in_id_invalid(void **state)
{
	struct fx *f = *state;

	/*
	 * "\u0000" is a control character too.  Read as a C string the id
	 * would be cut to "evt_", and two different events would share one
	 * de-duplication key.
	 */
	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_\\u0000a\",\"type\":\"ORDER_PLACED\","
	    "\"createdAt\":\"2023-06-27T12:00:00Z\"}"), EVENT_INVALID_FIELD);
	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\",\"requestId\":\"req_\\u0000b\","
	    "\"createdAt\":\"2023-06-27T12:00:00Z\"}"), EVENT_INVALID_FIELD);
}

static void
test_id_length_limit(void **state)
{
	struct fx *f = *state;
	char id[EVENT_MAX_ID + 2];

	memset(id, 'i', EVENT_MAX_ID);
	id[EVENT_MAX_ID] = '\0';
	assert_rc(parse(f, SIG_RYE_V1, fmt(f, "{\"id\":\"%s\",\"type\":\"X\","
	    "\"createdAt\":\"2023-06-27T12:00:00Z\"}", id)), EVENT_OK);
	assert_int_equal(strlen(f->ev.id), EVENT_MAX_ID);
	id[EVENT_MAX_ID] = 'i';
	id[EVENT_MAX_ID + 1] = '\0';
	assert_fails(parse(f, SIG_RYE_V1, fmt(f, "{\"id\":\"%s\",\"type\":\"X\","
	    "\"createdAt\":\"2023-06-27T12:00:00Z\"}", id)), EVENT_INVALID_FIELD);
	assert_fails(parse(f, SIG_RYE_V1, fmt(f, "{\"id\":\"e\",\"type\":\"X\","
	    "\"requestId\":\"%s\",\"createdAt\":\"2023-06-27T12:00:00Z\"}", id)),
	    EVENT_INVALID_FIELD);
}

/* ---- ids are strings; lone surrogates and NaN are not JSON --------------- */

static void
test_ids_must_be_strings(void **state)
{
	/* Numbers (json-c clamps them past 64 bits), bools, objects, arrays. */
	static const char *const bad[] = {
		"12345", "99999999999999999999", "99999999999999999998",
		"-99999999999999999999", "1.5", "true", "{\"v\":\"e\"}", "[\"e\"]",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(bad); i++) {
		assert_fails(parse(f, SIG_RYE_V1, fmt(f, "{\"id\":%s,\"type\":"
		    "\"ORDER_PLACED\",\"requestId\":\"r\","
		    "\"createdAt\":\"2025-05-06T10:00:00Z\"}", bad[i])),
		    EVENT_INVALID_FIELD);
		assert_fails(parse(f, SIG_RYE_V1, fmt(f, "{\"id\":\"e\",\"type\":"
		    "\"ORDER_PLACED\",\"requestId\":%s,"
		    "\"createdAt\":\"2025-05-06T10:00:00Z\"}", bad[i])),
		    EVENT_INVALID_FIELD);
		assert_fails(parse(f, SIG_RYE_V1, fmt(f, "{\"id\":\"e\",\"type\":%s,"
		    "\"createdAt\":\"2025-05-06T10:00:00Z\"}", bad[i])),
		    EVENT_INVALID_FIELD);
		assert_fails(parse(f, SIG_RYE_V2, fmt(f, "{\"id\":%s,\"object\":"
		    "\"event\",\"type\":\"checkout_intent.completed\","
		    "\"createdAt\":\"2025-05-06T10:00:00Z\",\"source\":{\"type\":"
		    "\"checkout_intent\",\"id\":\"ci_1\"}}", bad[i])),
		    EVENT_INVALID_FIELD);
		assert_fails(parse(f, SIG_RYE_V2, fmt(f, "{\"id\":\"e\",\"object\":"
		    "\"event\",\"type\":\"shipment.updated\","
		    "\"createdAt\":\"2025-05-06T10:00:00Z\",\"source\":{\"type\":"
		    "\"shipment\",\"id\":%s}}", bad[i])), EVENT_INVALID_FIELD);
		/* The handshake's challenge is source.id too. */
		assert_fails(parse(f, SIG_RYE_V2, fmt(f, "{\"id\":\"e\",\"object\":"
		    "\"event\",\"type\":\"webhook_endpoint.verification_challenge\","
		    "\"source\":{\"id\":%s}}", bad[i])), EVENT_INVALID_FIELD);
		assert_fails(parse(f, SIG_AFTERSHIP, fmt(f, "{\"event_id\":%s,"
		    "\"event\":\"tracking_update\",\"ts\":1746525600,\"msg\":{}}",
		    bad[i])), EVENT_INVALID_FIELD);
	}
	/* null is absent, as before. */
	assert_fails(parse(f, SIG_AFTERSHIP, "{\"event_id\":null,"
	    "\"event\":\"tracking_update\",\"ts\":1746525600,\"msg\":{}}"),
	    EVENT_MISSING_FIELD);
	assert_rc(parse(f, SIG_AFTERSHIP, "{\"event_id\":\"as-1\","
	    "\"event\":\"tracking_update\",\"ts\":1746525600,\"msg\":{}}"), EVENT_OK);
	assert_string_equal(f->ev.id, "as-1");
}

static void
test_lone_surrogate_scanner(void **state)
{
	static const struct {
		const char *text;
		bool lone;
	} v[] = {
		{ "\"\\uD800\"", true }, { "\"\\udbff\"", true },
		{ "\"\\uDC00\"", true }, { "\"\\uDFFF\"", true },
		{ "\"\\uD83D\\uDE00\"", false }, { "\"\\ud83d\\ude00\"", false },
		{ "\"\\uD83Dx\"", true }, { "\"\\uD83D\\u0041\"", true },
		{ "\"\\uD83D\\uD83D\\uDE00\"", true }, { "\"\\uDE00\\uD83D\"", true },
		{ "\"\\uD7FF\\uE000\"", false },
		/* An escaped backslash: "uD800" after it is plain text. */
		{ "\"\\\\uD800\"", false }, { "\"\\\\\\uD800\"", true },
		{ "\"\\\"\\uD800\"", true }, { "\"\\n\\uDC00\"", true },
		{ "\"plain \\u00e9 \\/\"", false }, { "", false },
		/* Cut short: never read past len. */
		{ "\\uD83D\\uDE0", true }, { "\\", false }, { "\\uD8", false },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++)
		if (text_json_lone_surrogate(v[i].text, strlen(v[i].text)) != v[i].lone)
			fail_msg("#%zu %s: want %s", i, v[i].text, v[i].lone ? "lone" : "none");
	/* The length is authoritative: the pair's second half beyond it. */
	assert_true(text_json_lone_surrogate("\\uD83D\\uDE00", 6));
	assert_false(text_json_lone_surrogate("\\uD83D\\uDE00", 12));
}

static void
test_lone_surrogates_invalid(void **state)
{
	static const char *const bad[] = {
		"\\uD800", "\\uDC00", "x\\uDBFFy", "\\uD83D\\u0041", "\\uDE00\\uD83D",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(bad); i++) {
		const char *body = fmt(f, "{\"id\":\"evt_%s\",\"type\":\"ORDER_PLACED\","
		    "\"requestId\":\"r\",\"createdAt\":\"2023-06-27T12:00:00Z\"}", bad[i]);
		assert_fails(parse(f, SIG_RYE_V1, body), EVENT_INVALID_JSON);
		assert_null(json_parse_bounded(body, strlen(body), NULL));
		/* Anywhere in the body, not only in ids. */
		assert_fails(parse(f, SIG_RYE_V1, fmt(f, "{\"id\":\"evt_1\",\"type\":"
		    "\"ORDER_PLACED\",\"requestId\":\"r\",\"createdAt\":"
		    "\"2023-06-27T12:00:00Z\",\"data\":{\"%s\":1}}", bad[i])),
		    EVENT_INVALID_JSON);
	}
	assert_rc(parse(f, SIG_RYE_V1, "{\"id\":\"evt_\\uD83D\\uDE00\",\"type\":"
	    "\"ORDER_PLACED\",\"requestId\":\"r\",\"createdAt\":\"2023-06-27T12:00:00Z\"}"),
	    EVENT_OK);
	assert_string_equal(f->ev.id, "evt_\xf0\x9f\x98\x80");
}

static void
test_non_finite_numbers_invalid(void **state)
{
	static const char *const bad[] = {
		"NaN", "Infinity", "-Infinity", "1e999", "-1e999", "[1,{\"x\":[NaN]}]",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(bad); i++) {
		const char *body = fmt(f, "{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\","
		    "\"requestId\":\"r\",\"createdAt\":\"2023-06-27T12:00:00Z\","
		    "\"data\":{\"amount\":%s}}", bad[i]);
		assert_fails(parse(f, SIG_RYE_V1, body), EVENT_INVALID_JSON);
		assert_null(json_parse_bounded(body, strlen(body), NULL));
	}
	assert_rc(parse(f, SIG_RYE_V1, "{\"id\":\"evt_1\",\"type\":\"ORDER_PLACED\","
	    "\"requestId\":\"r\",\"createdAt\":\"2023-06-27T12:00:00Z\","
	    "\"data\":{\"amount\":1e300,\"b\":-0.0,\"c\":99999999999999999999}}"), EVENT_OK);
}

/* ---- the header's generation binds the body's -------------------------- */

static void
test_gen2_body_is_not_gen1(void **state)
{
	static const char *const bodies[] = {
		"{\"id\":\"evt_2a\",\"object\":\"event\",\"type\":\"checkout_intent.completed\","
		"\"createdAt\":\"2025-05-06T10:00:00Z\","
		"\"source\":{\"type\":\"checkout_intent\",\"id\":\"ci_abc\"}}",
		/* Lower case or dots: no gen-1 type. */
		"{\"id\":\"e\",\"type\":\"order_placed\",\"requestId\":\"r\","
		"\"createdAt\":\"2025-05-06T10:00:00Z\"}",
		"{\"id\":\"e\",\"type\":\"ORDER.PLACED\",\"requestId\":\"r\","
		"\"createdAt\":\"2025-05-06T10:00:00Z\"}",
		"{\"id\":\"e\",\"type\":\"_ORDER\",\"requestId\":\"r\","
		"\"createdAt\":\"2025-05-06T10:00:00Z\"}",
		/* Upper case, but marked as a gen-2 event object. */
		"{\"id\":\"e\",\"object\":\"event\",\"type\":\"ORDER_PLACED\","
		"\"requestId\":\"r\",\"createdAt\":\"2025-05-06T10:00:00Z\"}",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(bodies); i++)
		assert_fails(parse(f, SIG_RYE_V1, bodies[i]), EVENT_INVALID_FIELD);
	assert_rc(parse(f, SIG_RYE_V2, bodies[0]), EVENT_OK);
	/* Digits and a leading letter are gen-1 enough; so is another object. */
	assert_rc(parse(f, SIG_RYE_V1, "{\"id\":\"e\",\"type\":\"RETURN_V2\","
	    "\"object\":\"order\",\"createdAt\":\"2025-05-06T10:00:00Z\"}"), EVENT_OK);
}

static void
test_gen1_body_is_not_gen2(void **state)
{
	static const char *const bodies[] = {
		"{\"id\":\"evt_01J2\",\"requestId\":\"req_7f3a\","
		"\"createdAt\":\"2024-07-22T14:30:04.367Z\",\"type\":\"ORDER_PLACED\"}",
		/* Handshakes too. */
		"{\"id\":\"evt_v\",\"createdAt\":\"2023-06-27T12:00:00Z\","
		"\"type\":\"WEBHOOK_URL_VERIFICATION\",\"data\":{\"challenge\":\"c\"}}",
		"{\"id\":\"e\",\"type\":\"webhook_endpoint.verification_challenge\","
		"\"source\":{\"id\":\"whchal_1\"}}",
		/* "object":"event" and a source object, both. */
		"{\"id\":\"e\",\"object\":\"event\",\"type\":\"checkout_intent.completed\","
		"\"createdAt\":\"2025-05-06T10:00:00Z\"}",
		"{\"id\":\"e\",\"object\":\"event\",\"type\":\"checkout_intent.completed\","
		"\"createdAt\":\"2025-05-06T10:00:00Z\",\"source\":\"ci_1\"}",
		"{\"id\":\"e\",\"object\":\"Event\",\"type\":\"checkout_intent.completed\","
		"\"createdAt\":\"2025-05-06T10:00:00Z\",\"source\":{\"id\":\"ci_1\"}}",
		"{\"id\":\"e\",\"source\":{\"id\":\"ci_1\"},\"type\":\"checkout_intent.completed\","
		"\"createdAt\":\"2025-05-06T10:00:00Z\"}",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(bodies); i++) {
		assert_fails(parse(f, SIG_RYE_V2, bodies[i]), EVENT_INVALID_FIELD);
		assert_null(f->ev.challenge);	/* nothing to answer */
	}
	assert_rc(parse(f, SIG_RYE_V1, bodies[0]), EVENT_OK);
	assert_rc(parse(f, SIG_RYE_V1, bodies[1]), EVENT_HANDSHAKE);
}

static void
test_gen1_order_types_need_request_id(void **state)
{
	static const char *const order_types[] = {
		"PAYMENT_SUCCEEDED", "PAYMENT_FAILED", "PAYMENT_REFUNDED", "REFUND_CREATED",
		"ORDER_SUBMISSION_STARTED", "ORDER_SUBMISSION_SUCCEEDED", "ORDER_PLACED",
		"ORDER_FAILED", "ORDER_CANCEL_STARTED", "ORDER_CANCEL_SUCCEEDED",
		"ORDER_CANCEL_FAILED", "TRACKING_OBTAINED",
	};
	static const char *const others[] = {
		"PRODUCT_UPDATED", "PRODUCT_DELETED", "SHOPIFY_STORE_CONNECTED",
		"RETURN_STARTED", "SOMETHING_RYE_ADDED_LATER",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(order_types); i++) {
		assert_fails(parse(f, SIG_RYE_V1, fmt(f, "{\"id\":\"e\",\"type\":\"%s\","
		    "\"createdAt\":\"2025-05-06T10:00:00Z\"}", order_types[i])),
		    EVENT_MISSING_FIELD);
		assert_rc(parse(f, SIG_RYE_V1, fmt(f, "{\"id\":\"e\",\"type\":\"%s\","
		    "\"requestId\":null,\"createdAt\":\"2025-05-06T10:00:00Z\"}",
		    order_types[i])), EVENT_MISSING_FIELD);
		assert_rc(parse(f, SIG_RYE_V1, fmt(f, "{\"id\":\"e\",\"type\":\"%s\","
		    "\"requestId\":\"r\",\"createdAt\":\"2025-05-06T10:00:00Z\"}",
		    order_types[i])), EVENT_OK);
	}
	for (size_t i = 0; i < NELEM(others); i++)
		assert_rc(parse(f, SIG_RYE_V1, fmt(f, "{\"id\":\"e\",\"type\":\"%s\","
		    "\"createdAt\":\"2025-05-06T10:00:00Z\"}", others[i])), EVENT_OK);
}

/* ---- tracking extraction ----------------------------------------------- */

/* Wrap an object's members at one of the four documented places. */
static const char *
place(struct fx *f, int where, const char *members)
{
	switch (where) {
	case 0: return fmt(f, "{\"order\":{%s}}", members);
	case 1: return fmt(f, "{%s}", members);
	case 2: return fmt(f, "{\"shipments\":[{%s}]}", members);
	default: return fmt(f, "{\"order\":{\"shipments\":[{%s}]}}", members);
	}
}

static const char *const number_aliases[] = {
	"trackingNumber", "carrierTrackingNumber", "tracking_number",
};
static const char *const carrier_aliases[] = {
	"courierName", "carrierName", "courier", "carrier",
};
static const char *const url_aliases[] = {
	"courierUrl", "trackingUrl", "carrierTrackingUrl", "tracking_url",
};

static void
test_tracking_number_aliases(void **state)
{
	struct fx *f = *state;
	char members[256];

	for (int where = 0; where < 4; where++)
		for (size_t a = 0; a < NELEM(number_aliases); a++) {
			snprintf(members, sizeof(members), "\"%s\":\"1Z999AA10123456784\"",
			    number_aliases[a]);
			if (extract(f, place(f, where, members), EVENT_MAX_TRACKING) != 1)
				fail_msg("%s at place %d: not exactly one",
				    number_aliases[a], where);
			assert_ref(&f->out[0], "1Z999AA10123456784", NULL, NULL);
		}
}

static void
test_tracking_carrier_aliases(void **state)
{
	struct fx *f = *state;
	char members[256];

	for (int where = 0; where < 4; where++)
		for (size_t a = 0; a < NELEM(carrier_aliases); a++) {
			snprintf(members, sizeof(members),
			    "\"trackingNumber\":\"TN1\",\"%s\":\"Amazon Logistics\"",
			    carrier_aliases[a]);
			assert_int_equal(extract(f, place(f, where, members),
			    EVENT_MAX_TRACKING), 1);
			assert_ref(&f->out[0], "TN1", "Amazon Logistics", NULL);
		}
}

static void
test_tracking_url_aliases(void **state)
{
	struct fx *f = *state;
	char members[256];

	for (int where = 0; where < 4; where++)
		for (size_t a = 0; a < NELEM(url_aliases); a++) {
			snprintf(members, sizeof(members),
			    "\"tracking_number\":\"TN2\",\"%s\":"
			    "\"https://track.example/TN2?x=1&y=2\"", url_aliases[a]);
			assert_int_equal(extract(f, place(f, where, members),
			    EVENT_MAX_TRACKING), 1);
			assert_ref(&f->out[0], "TN2", NULL,
			    "https://track.example/TN2?x=1&y=2");
		}
}

static void
test_tracking_all_aliases_combined(void **state)
{
	struct fx *f = *state;
	char members[512];

	/* Every (number, carrier, url) alias triple, at every place. */
	for (int where = 0; where < 4; where++)
		for (size_t n = 0; n < NELEM(number_aliases); n++)
			for (size_t c = 0; c < NELEM(carrier_aliases); c++)
				for (size_t u = 0; u < NELEM(url_aliases); u++) {
					snprintf(members, sizeof(members),
					    "\"%s\":\"N%d\",\"%s\":\"FedEx\","
					    "\"%s\":\"http://fedex.example/t\"",
					    number_aliases[n], where,
					    carrier_aliases[c], url_aliases[u]);
					assert_int_equal(extract(f,
					    place(f, where, members), 4), 1);
					assert_str_or_null(f->out[0].carrier, "FedEx");
					assert_str_or_null(f->out[0].url,
					    "http://fedex.example/t");
				}
}

static void
test_tracking_graphql_shape(void **state)
{
	struct fx *f = *state;

	/* The GraphQL order's own field names. */
	assert_int_equal(extract(f,
	    "{\"order\":{\"id\":\"req_1\",\"shipments\":[{\"carrierName\":\"USPS\","
	    "\"carrierTrackingNumber\":\"9400111899223197428490\","
	    "\"carrierTrackingUrl\":\"https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223197428490\"}]}}",
	    EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], "9400111899223197428490", "USPS",
	    "https://tools.usps.com/go/TrackConfirmAction?tLabels=9400111899223197428490");
}

static void
test_tracking_several_deduplicated(void **state)
{
	struct fx *f = *state;

	assert_int_equal(extract(f,
	    "{\"shipments\":[{\"trackingNumber\":\"A1\",\"carrier\":\"UPS\"},"
	    "{\"trackingNumber\":\"B2\",\"carrier\":\"FedEx\"},"
	    "{\"trackingNumber\":\"A1\",\"carrier\":\"Other\"},"
	    "{\"trackingNumber\":\"C3\"}]}", EVENT_MAX_TRACKING), 3);
	assert_ref(&f->out[0], "A1", "UPS", NULL);
	assert_ref(&f->out[1], "B2", "FedEx", NULL);
	assert_ref(&f->out[2], "C3", NULL, NULL);

	/* Across all four places, in the documented order. */
	assert_int_equal(extract(f,
	    "{\"order\":{\"trackingNumber\":\"A1\",\"courierName\":\"UPS\","
	    "\"shipments\":[{\"carrierTrackingNumber\":\"D4\"},"
	    "{\"carrierTrackingNumber\":\"A1\"},{\"carrierTrackingNumber\":\"B2\"}]},"
	    "\"trackingNumber\":\"A1\",\"carrier\":\"Ignored\","
	    "\"shipments\":[{\"tracking_number\":\"B2\",\"courier\":\"FedEx\"},"
	    "{\"tracking_number\":\"C3\"}]}", EVENT_MAX_TRACKING), 4);
	assert_ref(&f->out[0], "A1", "UPS", NULL);
	assert_ref(&f->out[1], "B2", "FedEx", NULL);
	assert_ref(&f->out[2], "C3", NULL, NULL);
	assert_ref(&f->out[3], "D4", NULL, NULL);
}

static void
test_tracking_numeric_number(void **state)
{
	struct fx *f = *state;

	assert_int_equal(extract(f,
	    "{\"trackingNumber\":123456789012,\"carrier\":\"DHL\"}",
	    EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], "123456789012", "DHL", NULL);
	/*
	 * Beyond 64 bits json-c keeps UINT64_MAX (or INT64_MIN) whatever the
	 * digits: two such numbers would be one shipment.  Not taken.
	 */
	assert_int_equal(extract(f,
	    "{\"trackingNumber\":99999999999999999999,\"carrier\":\"USPS\","
	    "\"shipments\":[{\"trackingNumber\":-99999999999999999999},"
	    "{\"trackingNumber\":18446744073709551615}]}", EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], NULL, "USPS", NULL);
	assert_int_equal(extract(f, "{\"trackingNumber\":18446744073709551614}",
	    EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], "18446744073709551614", NULL, NULL);
}

static void
test_tracking_pending_entry(void **state)
{
	struct fx *f = *state;
	size_t n;

	/* Nothing at all. */
	assert_int_equal(extract(f, "{}", EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], NULL, NULL, NULL);
	assert_int_equal(event_extract_tracking(NULL, f->out, EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], NULL, NULL, NULL);

	/* Carrier and URL but no number: kept on the pending entry. */
	assert_int_equal(extract(f,
	    "{\"carrier\":\"UPS\",\"trackingUrl\":\"https://ups.example/x\"}",
	    EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], NULL, "UPS", "https://ups.example/x");
	assert_int_equal(extract(f, "{\"order\":{\"courierName\":\"FedEx\"}}",
	    EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], NULL, "FedEx", NULL);
	assert_int_equal(extract(f,
	    "{\"shipments\":[{\"carrierName\":\"DHL\",\"tracking_url\":\"https://dhl.example\"}]}",
	    EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], NULL, "DHL", "https://dhl.example");
	assert_int_equal(extract(f, "{\"order\":{\"shipments\":[{\"courier\":\"USPS\"}]}}",
	    EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], NULL, "USPS", NULL);

	/* Unusable numbers count as none. */
	static const char *const unusable[] = {
		"{\"trackingNumber\":\"\",\"carrier\":\"UPS\"}",
		"{\"trackingNumber\":null,\"carrier\":\"UPS\"}",
		"{\"trackingNumber\":true,\"carrier\":\"UPS\"}",
		"{\"trackingNumber\":{\"n\":\"1Z\"},\"carrier\":\"UPS\"}",
		"{\"trackingNumber\":[\"1Z\"],\"carrier\":\"UPS\"}",
		"{\"trackingNumber\":\"1Z\\n2\",\"carrier\":\"UPS\"}",
		"{\"shipments\":\"1Z\",\"carrier\":\"UPS\"}",
		"{\"shipments\":[\"1Z\",7,null],\"carrier\":\"UPS\"}",
	};
	for (size_t i = 0; i < NELEM(unusable); i++) {
		n = extract(f, unusable[i], EVENT_MAX_TRACKING);
		if (n != 1)
			fail_msg("#%zu: %zu entries", i, n);
		assert_ref(&f->out[0], NULL, "UPS", NULL);
	}
}

static void
test_tracking_pending_not_added_when_number_found(void **state)
{
	struct fx *f = *state;

	/* A number-less element beside a numbered one adds no pending entry. */
	assert_int_equal(extract(f,
	    "{\"carrier\":\"UPS\",\"shipments\":[{\"carrier\":\"X\"},"
	    "{\"trackingNumber\":\"Z9\"}]}", EVENT_MAX_TRACKING), 1);
	assert_str_or_null(f->out[0].number, "Z9");
}

static void
test_tracking_unsafe_url_dropped(void **state)
{
	static const char *const bad[] = {
		"javascript:alert(1)", "JavaScript:alert(document.cookie)",
		"data:text/html,<script>alert(1)</script>", "//evil.example/x",
		"ftp://files.example/x", " https://lead.example", "vbscript:x",
		"https:/one-slash.example", "/relative/path",
	};
	static const char *const good[] = {
		"https://track.example/1", "http://track.example/1",
		"HTTPS://TRACK.EXAMPLE/1",
	};
	struct fx *f = *state;

	for (size_t i = 0; i < NELEM(bad); i++) {
		assert_int_equal(extract(f, fmt(f,
		    "{\"trackingNumber\":\"1Z\",\"carrier\":\"UPS\",\"trackingUrl\":\"%s\"}",
		    bad[i]), EVENT_MAX_TRACKING), 1);
		if (f->out[0].url != NULL)
			fail_msg("kept unsafe URL \"%s\"", bad[i]);
		assert_ref(&f->out[0], "1Z", "UPS", NULL);
	}
	/* Also on the pending entry. */
	assert_int_equal(extract(f,
	    "{\"carrier\":\"UPS\",\"courierUrl\":\"javascript:alert(1)\"}",
	    EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], NULL, "UPS", NULL);
	for (size_t i = 0; i < NELEM(good); i++) {
		assert_int_equal(extract(f, fmt(f,
		    "{\"trackingNumber\":\"1Z\",\"trackingUrl\":\"%s\"}", good[i]),
		    EVENT_MAX_TRACKING), 1);
		assert_str_or_null(f->out[0].url, good[i]);
	}
}

static void
test_tracking_length_limits(void **state)
{
	struct fx *f = *state;
	char num[TRACKING_MAX_NUMBER + 2], car[TRACKING_MAX_CARRIER + 2];

	memset(num, '7', TRACKING_MAX_NUMBER);
	num[TRACKING_MAX_NUMBER] = '\0';
	assert_int_equal(extract(f, fmt(f, "{\"trackingNumber\":\"%s\"}", num),
	    EVENT_MAX_TRACKING), 1);
	assert_str_or_null(f->out[0].number, num);

	/* One over: ignored, leaving a pending entry that keeps the rest. */
	num[TRACKING_MAX_NUMBER] = '7';
	num[TRACKING_MAX_NUMBER + 1] = '\0';
	assert_int_equal(extract(f, fmt(f,
	    "{\"trackingNumber\":\"%s\",\"carrier\":\"UPS\"}", num),
	    EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], NULL, "UPS", NULL);
	/* An over-long one beside a good one: only the good one. */
	assert_int_equal(extract(f, fmt(f,
	    "{\"shipments\":[{\"trackingNumber\":\"%s\"},{\"trackingNumber\":\"OK1\"}]}",
	    num), EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], "OK1", NULL, NULL);

	/* Over-long carrier names are dropped, the number kept. */
	memset(car, 'c', TRACKING_MAX_CARRIER + 1);
	car[TRACKING_MAX_CARRIER + 1] = '\0';
	assert_int_equal(extract(f, fmt(f,
	    "{\"trackingNumber\":\"N\",\"carrier\":\"%s\"}", car),
	    EVENT_MAX_TRACKING), 1);
	assert_ref(&f->out[0], "N", NULL, NULL);
}

static void
test_tracking_capped(void **state)
{
	struct fx *f = *state;
	char data[4096];
	size_t o = 0;

	o += (size_t)snprintf(data + o, sizeof(data) - o, "{\"shipments\":[");
	for (int i = 0; i < EVENT_MAX_TRACKING + 8; i++)
		o += (size_t)snprintf(data + o, sizeof(data) - o,
		    "%s{\"trackingNumber\":\"T%02d\"}", i ? "," : "", i);
	snprintf(data + o, sizeof(data) - o, "]}");
	assert_int_equal(extract(f, data, EVENT_MAX_TRACKING), EVENT_MAX_TRACKING);
	assert_str_or_null(f->out[0].number, "T00");
	assert_str_or_null(f->out[EVENT_MAX_TRACKING - 1].number, "T31");
	/* Nothing written past max. */
	assert_int_equal(extract(f, data, 2), 2);
	assert_str_or_null(f->out[1].number, "T01");
	{
		const unsigned char *p = (const unsigned char *)&f->out[2];
		for (size_t i = 0; i < sizeof(f->out[2]); i++)
			assert_int_equal(p[i], 0x5a);
	}
	assert_int_equal(extract(f, data, 0), 0);

	/* Through event_parse too. */
	assert_rc(parse(f, SIG_RYE_V1, tracking_body(f, data)), EVENT_OK);
	assert_int_equal(f->ev.ntracking, EVENT_MAX_TRACKING);
}

/* ---- tracking through event_parse -------------------------------------- */

static void
test_parse_tracking_obtained(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V1, tracking_body(f,
	    "{\"marketplace\":\"amazon\",\"order\":{\"trackingNumber\":\"TBA123\","
	    "\"courierName\":\"Amazon Logistics\","
	    "\"courierUrl\":\"https://track.amazon.example/TBA123\"}}")), EVENT_OK);
	assert_string_equal(f->ev.order_id, "req_1");
	assert_string_equal(f->ev.marketplace, "amazon");
	assert_int_equal(f->ev.ntracking, 1);
	assert_ref(&f->ev.tracking[0], "TBA123", "Amazon Logistics",
	    "https://track.amazon.example/TBA123");
}

static void
test_parse_tracking_every_alias(void **state)
{
	struct fx *f = *state;
	char members[512];

	for (int where = 0; where < 4; where++)
		for (size_t n = 0; n < NELEM(number_aliases); n++) {
			size_t c = n % NELEM(carrier_aliases);
			size_t u = (n + (size_t)where) % NELEM(url_aliases);
			char data[600];

			snprintf(members, sizeof(members),
			    "\"%s\":\"1Z%d%zu\",\"%s\":\"UPS\",\"%s\":\"https://u.example/\"",
			    number_aliases[n], where, n, carrier_aliases[c],
			    url_aliases[u]);
			snprintf(data, sizeof(data), "%s", place(f, where, members));
			assert_rc(parse(f, SIG_RYE_V1, tracking_body(f, data)),
			    EVENT_OK);
			assert_int_equal(f->ev.ntracking, 1);
			snprintf(members, sizeof(members), "1Z%d%zu", where, n);
			assert_ref(&f->ev.tracking[0], members, "UPS",
			    "https://u.example/");
		}
	/* Carrier and URL aliases, each at data level. */
	for (size_t c = 0; c < NELEM(carrier_aliases); c++) {
		char data[256];
		snprintf(data, sizeof(data), "{\"trackingNumber\":\"X\",\"%s\":\"DHL\","
		    "\"%s\":\"http://d.example\"}", carrier_aliases[c],
		    url_aliases[c % NELEM(url_aliases)]);
		assert_rc(parse(f, SIG_RYE_V1, tracking_body(f, data)), EVENT_OK);
		assert_int_equal(f->ev.ntracking, 1);
		assert_ref(&f->ev.tracking[0], "X", "DHL", "http://d.example");
	}
}

static void
test_parse_tracking_pending(void **state)
{
	struct fx *f = *state;

	/* No data at all: still one pending shipment. */
	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_t\",\"requestId\":\"req_1\",\"type\":\"TRACKING_OBTAINED\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\"}"), EVENT_OK);
	assert_int_equal(f->ev.ntracking, 1);
	assert_ref(&f->ev.tracking[0], NULL, NULL, NULL);

	assert_rc(parse(f, SIG_RYE_V1, tracking_body(f,
	    "{\"order\":{\"carrierName\":\"FedEx\","
	    "\"trackingUrl\":\"javascript:alert(1)\"}}")), EVENT_OK);
	assert_int_equal(f->ev.ntracking, 1);
	assert_ref(&f->ev.tracking[0], NULL, "FedEx", NULL);
}

static void
test_parse_tracking_several(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V1, tracking_body(f,
	    "{\"order\":{\"shipments\":[{\"carrierTrackingNumber\":\"S1\","
	    "\"carrierName\":\"UPS\"},{\"carrierTrackingNumber\":\"S2\","
	    "\"carrierName\":\"USPS\"},{\"carrierTrackingNumber\":\"S1\"}]}}")),
	    EVENT_OK);
	assert_int_equal(f->ev.ntracking, 2);
	assert_ref(&f->ev.tracking[0], "S1", "UPS", NULL);
	assert_ref(&f->ev.tracking[1], "S2", "USPS", NULL);
}

static void
test_parse_non_tracking_has_no_shipments(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_o\",\"requestId\":\"req_1\",\"type\":\"ORDER_PLACED\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\","
	    "\"data\":{\"trackingNumber\":\"1Z\"}}"), EVENT_OK);
	assert_int_equal(f->ev.ntracking, 0);
}


/* ---- gen 2 subjects and the verification challenge ------------------------ */

static void
test_gen2_subjects(void **state)
{
	struct fx *f = *state;

	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_s\",\"object\":\"event\",\"type\":\"shipment.created\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\","
	    "\"source\":{\"type\":\"shipment\",\"id\":\"shp_1\"}}"), EVENT_OK);
	assert_null(f->ev.order_id);
	assert_string_equal(f->ev.subject, "shipment:shp_1");
	assert_int_equal(f->ev.record, RECORD_NONE);
	assert_null(f->ev.status);
	assert_string_equal(event_source(&f->ev), "webhook");
	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_c\",\"object\":\"event\",\"type\":\"checkout_intent.completed\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\",\"source\":{\"id\":\"ci_1\"}}"), EVENT_OK);
	assert_string_equal(f->ev.order_id, "ci_1");
	assert_string_equal(f->ev.subject, "checkout_intent:ci_1");
	/* Gen 1 has none. */
	assert_rc(parse(f, SIG_RYE_V1,
	    "{\"id\":\"evt_1\",\"requestId\":\"r1\",\"type\":\"ORDER_PLACED\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\"}"), EVENT_OK);
	assert_null(f->ev.subject);
}

static void
test_handshake_gen2_challenge_value(void **state)
{
	struct fx *f = *state;

	/* An earlier revision echoed data.challenge: that one when present. */
	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_9\",\"object\":\"event\","
	    "\"type\":\"webhook_endpoint.verification_challenge\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\",\"data\":{\"challenge\":\"ch_42\"},"
	    "\"source\":{\"type\":\"webhook_endpoint\",\"id\":\"whchal_123\"}}"),
	    EVENT_HANDSHAKE);
	assert_string_equal(f->ev.challenge, "ch_42");
	/* Without a source id too. */
	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_9\",\"object\":\"event\","
	    "\"type\":\"webhook_endpoint.verification_challenge\","
	    "\"data\":{\"challenge\":\"ch_43\"},\"source\":{}}"), EVENT_HANDSHAKE);
	assert_string_equal(f->ev.challenge, "ch_43");
	/* An empty or odd one: source.id. */
	assert_rc(parse(f, SIG_RYE_V2,
	    "{\"id\":\"evt_9\",\"object\":\"event\","
	    "\"type\":\"webhook_endpoint.verification_challenge\",\"data\":{\"challenge\":\"\"},"
	    "\"source\":{\"type\":\"webhook_endpoint\",\"id\":\"whchal_123\"}}"),
	    EVENT_HANDSHAKE);
	assert_string_equal(f->ev.challenge, "whchal_123");
}

/* ---- records of the Rye pass ----------------------------------------------- */

#define OBS_INTENT(state) "{\"id\":\"obs:intent:ci_1:0123456789abcdef:0\"," \
	"\"object\":\"observation\",\"type\":\"rye2.intent.observed\"," \
	"\"createdAt\":\"2026-03-25T01:00:00.125Z\",\"source\":{\"type\":" \
	"\"checkout_intent\",\"id\":\"ci_1\"},\"data\":{\"id\":\"ci_1\",\"state\":" state "}}"

static void
test_record_intent(void **state)
{
	struct fx *f = *state;

	assert_rc(parse_record(f, SIG_RYE_V2, OBS_INTENT("\"completed\"")), EVENT_OK);
	assert_int_equal(f->ev.record, RECORD_INTENT);
	assert_string_equal(f->ev.id, "obs:intent:ci_1:0123456789abcdef:0");
	assert_string_equal(f->ev.type, "rye2.intent.observed");
	assert_string_equal(f->ev.order_id, "ci_1");
	assert_string_equal(f->ev.subject, "checkout_intent:ci_1");
	assert_string_equal(f->ev.status, "SUCCEEDED");
	assert_string_equal(f->ev.created_at, "2026-03-25T01:00:00.125Z");
	assert_non_null(f->ev.data);
	assert_rc(parse_record(f, SIG_RYE_V2, OBS_INTENT("\"requires_action\"")), EVENT_OK);
	assert_string_equal(f->ev.status, "ACTION_REQUIRED");
	assert_rc(parse_record(f, SIG_RYE_V2, OBS_INTENT("\"brand_new_state\"")), EVENT_OK);
	assert_string_equal(f->ev.status, "BRAND_NEW_STATE");
	/* No state: the observation states no status. */
	assert_rc(parse_record(f, SIG_RYE_V2, OBS_INTENT("null")), EVENT_OK);
	assert_null(f->ev.status);
	/* A gen-2 observation is not gen 1's. */
	assert_fails(parse_record(f, SIG_RYE_V1, OBS_INTENT("\"completed\"")),
	    EVENT_INVALID_FIELD);
	/* The receiver refuses it outright, under either header. */
	assert_fails(parse(f, SIG_RYE_V2, OBS_INTENT("\"completed\"")), EVENT_INVALID_FIELD);
	assert_fails(parse(f, SIG_RYE_V1, OBS_INTENT("\"completed\"")), EVENT_INVALID_FIELD);
	assert_fails(parse_record(f, SIG_RYE_V2,
	    "{\"id\":\"obs:x\",\"object\":\"observation\",\"type\":\"rye2.intent.observed\","
	    "\"createdAt\":\"2026-03-25T01:00:00Z\"}"), EVENT_MISSING_FIELD);
	assert_fails(parse_record(f, SIG_RYE_V2,
	    "{\"id\":\"obs:x\",\"object\":\"observation\",\"type\":\"rye2.other.observed\","
	    "\"createdAt\":\"2026-03-25T01:00:00Z\",\"data\":{\"id\":\"x\"}}"),
	    EVENT_INVALID_FIELD);
}

static void
test_record_shipment(void **state)
{
	struct fx *f = *state;

	assert_rc(parse_record(f, SIG_RYE_V2,
	    "{\"id\":\"obs:shipment:shp_1:0123456789abcdef:0\",\"object\":\"observation\","
	    "\"type\":\"rye2.shipment.observed\",\"createdAt\":\"2026-03-26T00:00:00Z\","
	    "\"source\":{\"type\":\"shipment\",\"id\":\"shp_1\"},\"data\":{\"id\":\"shp_1\","
	    "\"checkoutIntentId\":\"ci_1\",\"status\":\"shipped\"}}"), EVENT_OK);
	assert_int_equal(f->ev.record, RECORD_SHIPMENT);
	assert_string_equal(f->ev.order_id, "ci_1");
	assert_string_equal(f->ev.subject, "shipment:shp_1");
	assert_null(f->ev.status);
	assert_fails(parse_record(f, SIG_RYE_V2,
	    "{\"id\":\"obs:shipment:shp_1:0123456789abcdef:0\",\"object\":\"observation\","
	    "\"type\":\"rye2.shipment.observed\",\"createdAt\":\"2026-03-26T00:00:00Z\","
	    "\"data\":{\"id\":\"shp_1\",\"checkoutIntentId\":null}}"), EVENT_MISSING_FIELD);
}

static void
test_record_order1(void **state)
{
	struct fx *f = *state;

	assert_rc(parse_record(f, SIG_RYE_V1,
	    "{\"id\":\"obs:order1:o-1:0123456789abcdef:0\",\"object\":\"observation\","
	    "\"type\":\"rye1.order.observed\",\"createdAt\":\"2026-03-26T00:00:00Z\","
	    "\"source\":{\"type\":\"order1\",\"id\":\"o-1\"},\"data\":{\"id\":\"o-1\","
	    "\"status\":\"PARTIALLY_CANCELLED\",\"marketplace\":\"SHOPIFY\"}}"), EVENT_OK);
	assert_int_equal(f->ev.record, RECORD_ORDER1);
	assert_string_equal(f->ev.order_id, "o-1");
	assert_string_equal(f->ev.status, "PARTIALLY_CANCELLED");
	assert_string_equal(f->ev.marketplace, "shopify");
	assert_string_equal(f->ev.subject, "order1:o-1");
	/* A status that is no upper-case word states nothing. */
	assert_rc(parse_record(f, SIG_RYE_V1,
	    "{\"id\":\"obs:order1:o-1:0123456789abcdef:1\",\"object\":\"observation\","
	    "\"type\":\"rye1.order.observed\",\"createdAt\":\"2026-03-26T00:00:00Z\","
	    "\"data\":{\"id\":\"o-1\",\"status\":\"succeeded; drop\"}}"), EVENT_OK);
	assert_null(f->ev.status);
}

static void
test_record_order_event(void **state)
{
	struct fx *f = *state;
	const char *body = "{\"id\":\"sync:3c1d9e20\",\"object\":\"order_event\","
	    "\"requestId\":\"o-1\",\"createdAt\":\"2023-04-13T09:02:11Z\",\"data\":"
	    "{\"__typename\":\"TrackingObtainedOrderEvent\",\"id\":\"3c1d9e20\","
	    "\"createdAt\":\"2023-04-13T09:02:11Z\"}}";

	assert_rc(parse_record(f, SIG_RYE_V1, body), EVENT_OK);
	assert_int_equal(f->ev.record, RECORD_ORDER1_EVENT);
	assert_string_equal(f->ev.type, "TRACKING_OBTAINED");
	assert_string_equal(f->ev.order_id, "o-1");
	/* No tracking data in it: no "details pending" shipment. */
	assert_int_equal(f->ev.ntracking, 0);
	assert_fails(parse(f, SIG_RYE_V1, body), EVENT_INVALID_FIELD);
	assert_fails(parse_record(f, SIG_RYE_V2, body), EVENT_INVALID_FIELD);
	assert_fails(parse_record(f, SIG_RYE_V1,
	    "{\"id\":\"sync:1\",\"object\":\"order_event\",\"requestId\":\"o-1\","
	    "\"createdAt\":\"2023-04-13T09:02:11Z\",\"data\":{}}"), EVENT_MISSING_FIELD);
	/* A sender's body parses the same way as a record's reader sees it. */
	assert_rc(parse_record(f, SIG_RYE_V1,
	    "{\"id\":\"evt_1\",\"requestId\":\"r1\",\"type\":\"ORDER_PLACED\","
	    "\"createdAt\":\"2025-05-06T10:00:00Z\"}"), EVENT_OK);
	assert_int_equal(f->ev.record, RECORD_NONE);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_gen1_order_placed),
		T(test_gen1_no_order_and_marketplace_fallback),
		T(test_gen1_unknown_type_accepted),
		T(test_missing_fields),
		T(test_invalid_created_at),
		T(test_created_at_normalised),
		T(test_invalid_json),
		T(test_invalid_utf8_strict),
		T(test_json_length_is_authoritative),
		T(test_json_whitespace_allowed),
		T(test_nesting_limit),
		T(test_handshake_gen1),
		T(test_handshake_gen2),
		T(test_handshake_challenge_sanitised),
		T(test_gen2_checkout_intent),
		T(test_gen2_order_id_only_for_checkout_intent),
		T(test_ids_with_quotes),
		T(test_control_chars_invalid),
		T(test_nul_in_id_invalid),
		T(test_id_length_limit),
		T(test_ids_must_be_strings),
		T(test_lone_surrogate_scanner),
		T(test_lone_surrogates_invalid),
		T(test_non_finite_numbers_invalid),
		T(test_gen2_body_is_not_gen1),
		T(test_gen1_body_is_not_gen2),
		T(test_gen1_order_types_need_request_id),
		T(test_tracking_number_aliases),
		T(test_tracking_carrier_aliases),
		T(test_tracking_url_aliases),
		T(test_tracking_all_aliases_combined),
		T(test_tracking_graphql_shape),
		T(test_tracking_several_deduplicated),
		T(test_tracking_numeric_number),
		T(test_tracking_pending_entry),
		T(test_tracking_pending_not_added_when_number_found),
		T(test_tracking_unsafe_url_dropped),
		T(test_tracking_length_limits),
		T(test_tracking_capped),
		T(test_parse_tracking_obtained),
		T(test_parse_tracking_every_alias),
		T(test_parse_tracking_pending),
		T(test_parse_tracking_several),
		T(test_parse_non_tracking_has_no_shipments),
		T(test_gen2_subjects),
		T(test_handshake_gen2_challenge_value),
		T(test_record_intent),
		T(test_record_shipment),
		T(test_record_order1),
		T(test_record_order_event),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
