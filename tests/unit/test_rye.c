/*
 * Unit tests for the pure half of the Rye client (cgi/lib/rye_url.c,
 * rye_parse.c, rye_objects.c, rye_raw.c, rye_limits.c): request URLs
 * and the GraphQL body, the spec's examples, both shipment forms, nulls
 * everywhere, wrong types, strings and arrays over their caps, the
 * events' raw text, GraphQL answers (an order, a null order, errors),
 * error bodies and their classification, RateLimit headers with hostile
 * values, and the pager's stop rules.  No network.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rye.h"
#include "rye_record.h"

static int
parse(enum rye_op op, int http, const char *body, struct rye_answer *a)
{
	return rye_answer_parse(op, http, body, strlen(body), a);
}

/* A string of n copies of c (static, so at most one at a time). */
static const char *
rep(char c, size_t n)
{
	static char s[8192];

	assert_true(n < sizeof(s));
	memset(s, c, n);
	s[n] = '\0';
	return s;
}

/* --- requests ------------------------------------------------------------ */

static void
test_urls(void **state)
{
	struct buf b;
	static const char *const bases[] = {
		"https://api.rye.com", "https://api.rye.com/", "https://api.rye.com/api/v1",
		"https://api.rye.com/api/v1/",
	};

	(void)state;
	buf_init(&b, RYE_MAX_URL);
	for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
		assert_int_equal(rye_url_intent(bases[i], "ci_aaa8af5c", &b), 0);
		assert_string_equal(b.data,
		    "https://api.rye.com/api/v1/checkout-intents/ci_aaa8af5c");
	}
	assert_int_equal(rye_url_shipment("http://127.0.0.1:9", "sh/1?x", &b), 0);
	assert_string_equal(b.data, "http://127.0.0.1:9/api/v1/shipments/sh%2F1%3Fx");
	assert_int_equal(rye_url_shipments("https://api.rye.com", "ci_1", NULL, 0, &b), 0);
	assert_string_equal(b.data,
	    "https://api.rye.com/api/v1/checkout-intents/ci_1/shipments?limit=100");
	assert_int_equal(rye_url_shipments("https://api.rye.com", "ci_1", "a b=", 2, &b), 0);
	assert_string_equal(b.data,
	    "https://api.rye.com/api/v1/checkout-intents/ci_1/shipments?limit=2&after=a%20b%3D");
	assert_int_equal(rye_url_events("https://api.rye.com", "", 101, &b), 0);
	assert_string_equal(b.data, "https://api.rye.com/api/v1/events?limit=100");
	assert_int_equal(rye_url_events("https://api.rye.com", "c&1", 50, &b), 0);
	assert_string_equal(b.data, "https://api.rye.com/api/v1/events?limit=50&after=c%261");

	/* Ids and cursors are bounded; a bad base is refused. */
	assert_int_equal(rye_url_intent("https://api.rye.com", "", &b), -1);
	assert_int_equal(rye_url_intent("https://api.rye.com", NULL, &b), -1);
	assert_int_equal(rye_url_intent("https://api.rye.com", rep('a', RYE_MAX_ID), &b), 0);
	assert_int_equal(rye_url_intent("https://api.rye.com", rep('a', RYE_MAX_ID + 1), &b), -1);
	assert_int_equal(rye_url_events("https://api.rye.com", rep('c', RYE_MAX_CURSOR + 1), 1,
	    &b), -1);
	assert_int_equal(rye_url_intent("ftp://api.rye.com", "ci_1", &b), -1);
	buf_free(&b);
}

static void
test_url_check(void **state)
{
	static const char *const bad[] = {
		"", "api.rye.com", "ftp://api.rye.com", "https://", "https:///x",
		"https://api.rye.com/?x=1", "https://api.rye.com/#f", "https://api rye.com",
		"https://api.rye.com\n",
	};

	(void)state;
	assert_int_equal(rye_url_check("https://api.rye.com"), 0);
	assert_int_equal(rye_url_check("http://127.0.0.1:8080/v1/query"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(rye_url_check(bad[i]), -1);
	assert_int_equal(rye_url_check(NULL), -1);
}

static void
test_graphql_body(void **state)
{
	struct buf b;
	json_object *o, *v;

	(void)state;
	buf_init(&b, 65536);
	assert_int_equal(rye_body_order_by_id("00401732-\"8a19", &b), 0);
	assert_non_null(o = json_tokener_parse(b.data));
	assert_true(json_object_object_get_ex(o, "query", &v));
	assert_string_equal(json_object_get_string(v), rye_order_query);
	assert_true(json_object_object_get_ex(o, "variables", &v));
	assert_true(json_object_object_get_ex(v, "id", &v));
	assert_string_equal(json_object_get_string(v), "00401732-\"8a19");
	json_object_put(o);
	/* The spec's query, every field of it. */
	assert_non_null(strstr(rye_order_query, "orderByID(id: $id)"));
	assert_non_null(strstr(rye_order_query, "... on OrderCancelFailedOrderEvent { reason }"));
	assert_non_null(strstr(rye_order_query, "carrierTrackingUrl"));
	assert_int_equal(rye_body_order_by_id("", &b), -1);
	buf_free(&b);
}

/* --- checkout intents ------------------------------------------------------ */

static void
test_intent_spec_example(void **state)
{
	struct rye_answer a;
	const struct rye_intent *i = &a.intent;

	(void)state;
	rye_answer_init(&a);
	assert_int_equal(parse(RYE_GET_INTENT, 200,
	    "{\"id\":\"ci_aaa8af5c\",\"state\":\"completed\","
	    "\"createdAt\":\"2026-03-25T00:00:00Z\","
	    "\"orderId\":\"ord_1\",\"referenceId\":\"order-1234\",\"productUrl\":\"https://x\","
	    "\"quantity\":1,\"buyer\":{\"email\":\"john@example.com\",\"postalCode\":\"10001\","
	    "\"firstName\":\"John\",\"lastName\":\"Doe\",\"country\":\"US\",\"phone\":\"1\"}}",
	    &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_string_equal(i->id, "ci_aaa8af5c");
	assert_string_equal(i->state, "completed");
	assert_string_equal(i->created_at, "2026-03-25T00:00:00Z");
	assert_string_equal(i->order_id, "ord_1");
	assert_string_equal(i->reference_id, "order-1234");
	assert_string_equal(i->email, "john@example.com");
	assert_string_equal(i->postal_code, "10001");
	assert_string_equal(i->country, "US");
	assert_string_equal(i->first_name, "John");
	assert_string_equal(i->last_name, "Doe");
	assert_null(i->failure_code);

	assert_int_equal(parse(RYE_GET_INTENT, 200,
	    "{\"id\":\"ci_2\",\"state\":\"failed\",\"failureReason\":{\"code\":"
	    "\"order_placement_failed\",\"message\":\"Out of\\nstock\"}}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_string_equal(a.intent.failure_code, "order_placement_failed");
	assert_string_equal(a.intent.failure_message, "Out of\nstock");	/* free text kept */
	assert_null(a.intent.email);
	rye_answer_free(&a);
}

static void
test_intent_nulls_and_wrong_types(void **state)
{
	struct rye_answer a;
	const struct rye_intent *i = &a.intent;

	(void)state;
	rye_answer_init(&a);
	assert_int_equal(parse(RYE_GET_INTENT, 200,
	    "{\"id\":\"ci_n\",\"state\":null,\"createdAt\":null,\"orderId\":null,"
	    "\"referenceId\":null,\"failureReason\":null,\"buyer\":null}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_string_equal(i->id, "ci_n");
	assert_null(i->state);
	assert_null(i->created_at);
	assert_null(i->order_id);
	assert_null(i->email);

	/* Wrong types: each field on its own, none fatal. */
	assert_int_equal(parse(RYE_GET_INTENT, 200,
	    "{\"id\":\"ci_w\",\"state\":7,\"createdAt\":\"yesterday\",\"orderId\":[\"x\"],"
	    "\"referenceId\":{},\"failureReason\":\"nope\",\"buyer\":{\"email\":true,"
	    "\"postalCode\":10001,\"country\":\"U\\u0001S\",\"firstName\":\"\"}}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_null(i->state);
	assert_null(i->created_at);
	assert_null(i->order_id);
	assert_null(i->reference_id);
	assert_null(i->failure_code);
	assert_null(i->email);
	assert_null(i->postal_code);
	assert_null(i->country);	/* a control character in a token */
	assert_null(i->first_name);	/* empty */

	/* The id is essential. */
	static const char *const no_id[] = {
		"{\"id\":null}", "{\"id\":42}", "{\"state\":\"completed\"}", "{\"id\":\"\"}",
		"{\"id\":\"ci\\u0000x\"}", "{\"id\":\"ci\\nx\"}", "[{\"id\":\"ci_1\"}]",
	};
	for (size_t k = 0; k < sizeof(no_id) / sizeof(no_id[0]); k++) {
		parse(RYE_GET_INTENT, 200, no_id[k], &a);
		assert_int_equal(a.result, RYE_INVALID);
	}
	rye_answer_free(&a);
}

/* --- shipments --------------------------------------------------------------- */

#define SHIPMENT_CURRENT \
	"{\"id\":\"shp_1\",\"checkoutIntentId\":\"ci_aaa8af5c\",\"marketplaceOrderId\":\"112-3\"," \
	"\"externalId\":\"ext-9\",\"createdAt\":\"2026-03-26T00:00:00Z\"," \
	"\"updatedAt\":\"2026-03-27T02:10:00Z\",\"shippedAt\":\"2026-03-26T20:00:00Z\"," \
	"\"status\":\"shipped\"," \
	"\"tracking\":{\"number\":\"1Z999AA10123456784\",\"carrierName\":\"UPS\"," \
	" \"url\":\"https://www.ups.com/track?tracknum=1Z999AA10123456784\"," \
	" \"deliveryDate\":{\"estimated\":\"2026-03-30T00:00:00Z\"}}," \
	"\"trackingEvents\":[{\"status\":\"shipped\",\"description\":\"Departed\"," \
	" \"location\":{\"city\":\"Louisville\"}," \
	" \"timestamp\":{\"local\":\"2026-03-26T22:10:00.000-04:00\"," \
	    "\"utc\":\"2026-03-27T02:10:00Z\"}}," \
	"{\"status\":\"delayed\",\"description\":null,\"location\":{\"city\":null," \
	" \"province\":\"KY\",\"country\":\"US\"},\"timestamp\":null}]}"

static void
test_shipment_current_form(void **state)
{
	struct rye_answer a;
	const struct rye_shipment *s = &a.shipment;

	(void)state;
	rye_answer_init(&a);
	assert_int_equal(parse(RYE_GET_SHIPMENT, 200, SHIPMENT_CURRENT, &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_string_equal(s->id, "shp_1");
	assert_string_equal(s->checkout_intent_id, "ci_aaa8af5c");
	assert_string_equal(s->marketplace_order_id, "112-3");
	assert_string_equal(s->external_id, "ext-9");
	assert_string_equal(s->status, "shipped");
	assert_string_equal(s->shipped_at, "2026-03-26T20:00:00Z");
	assert_null(s->delivered_at);
	assert_true(s->has_tracking);
	assert_string_equal(s->tracking_number, "1Z999AA10123456784");
	assert_string_equal(s->carrier_name, "UPS");
	assert_string_equal(s->tracking_url,
	    "https://www.ups.com/track?tracknum=1Z999AA10123456784");
	assert_string_equal(s->estimated_delivery, "2026-03-30T00:00:00Z");
	assert_int_equal(s->nevents, 2);
	assert_string_equal(s->events[0].status, "shipped");
	assert_string_equal(s->events[0].description, "Departed");
	assert_string_equal(s->events[0].city, "Louisville");
	assert_null(s->events[0].province);
	assert_string_equal(s->events[0].time_local, "2026-03-26T22:10:00.000-04:00");
	assert_string_equal(s->events[0].time_utc, "2026-03-27T02:10:00Z");
	assert_string_equal(s->events[1].status, "delayed");
	assert_null(s->events[1].description);
	assert_null(s->events[1].city);
	assert_string_equal(s->events[1].province, "KY");
	assert_string_equal(s->events[1].country, "US");
	assert_null(s->events[1].time_utc);
	assert_false(s->events_truncated);
	rye_answer_free(&a);
}

static void
test_shipment_older_form(void **state)
{
	struct rye_answer a;
	const struct rye_shipment *s = &a.shipment;

	(void)state;
	rye_answer_init(&a);
	assert_int_equal(parse(RYE_GET_SHIPMENT, 200,
	    "{\"id\":\"shp_old\",\"checkoutIntentId\":\"ci_1\",\"status\":\"out_for_delivery\","
	    "\"tracking\":{\"number\":\"9400100000000000000000\",\"carrierName\":\"USPS\","
	    " \"url\":null,\"estimatedDeliveryDate\":\"2025-02-07T00:00:00Z\"},"
	    "\"trackingEvents\":[{\"description\":\"Out for delivery\",\"displayDate\":"
	    " \"Feb 6, 2025\",\"displayTime\":\"7:02 AM\",\"location\":\"Brooklyn, NY\"},"
	    " {\"description\":\"Arrived\",\"displayDate\":\"Feb 5, 2025\",\"displayTime\":null,"
	    " \"location\":null}]}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_null(s->marketplace_order_id);
	assert_string_equal(s->status, "out_for_delivery");
	assert_string_equal(s->tracking_number, "9400100000000000000000");
	assert_null(s->tracking_url);
	assert_string_equal(s->estimated_delivery, "2025-02-07T00:00:00Z");
	assert_int_equal(s->nevents, 2);
	assert_string_equal(s->events[0].description, "Out for delivery");
	assert_string_equal(s->events[0].display_date, "Feb 6, 2025");
	assert_string_equal(s->events[0].display_time, "7:02 AM");
	assert_string_equal(s->events[0].location, "Brooklyn, NY");
	assert_null(s->events[0].city);
	assert_null(s->events[1].display_time);
	assert_null(s->events[1].location);
	rye_answer_free(&a);
}

static void
test_shipment_nulls_everywhere(void **state)
{
	struct rye_answer a;
	const struct rye_shipment *s = &a.shipment;

	(void)state;
	rye_answer_init(&a);
	/* ordered/canceled: no tracking at all */
	assert_int_equal(parse(RYE_GET_SHIPMENT, 200,
	    "{\"id\":\"shp_o\",\"checkoutIntentId\":null,\"marketplaceOrderId\":null,"
	    "\"status\":\"ordered\",\"createdAt\":null,\"updatedAt\":null}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_false(s->has_tracking);
	assert_null(s->tracking_number);
	assert_int_equal(s->nevents, 0);
	assert_null(s->events);

	assert_int_equal(parse(RYE_GET_SHIPMENT, 200,
	    "{\"id\":\"shp_n\",\"status\":\"canceled_by_moon\",\"externalId\":null,"
	    "\"shippedAt\":null,\"deliveredAt\":null,"
	    "\"tracking\":{\"number\":null,\"carrierName\":null,\"url\":null,"
	    "\"deliveryDate\":null},"
	    "\"trackingEvents\":[null,{},{\"status\":null,\"description\":null,\"location\":null,"
	    "\"timestamp\":null},{\"timestamp\":{\"local\":null,"
	    "\"utc\":\"2026-01-01T00:00:00Z\"}}]}",
	    &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_string_equal(s->status, "canceled_by_moon");	/* unknown statuses kept */
	assert_true(s->has_tracking);
	assert_null(s->tracking_number);
	assert_null(s->carrier_name);
	assert_null(s->estimated_delivery);
	assert_int_equal(s->nevents, 1);	/* events that say nothing are dropped */
	assert_string_equal(s->events[0].time_utc, "2026-01-01T00:00:00Z");
	rye_answer_free(&a);
}

static void
test_shipment_wrong_types_and_caps(void **state)
{
	struct rye_answer a;
	const struct rye_shipment *s = &a.shipment;
	struct buf b;

	(void)state;
	rye_answer_init(&a);
	assert_int_equal(parse(RYE_GET_SHIPMENT, 200,
	    "{\"id\":\"shp_w\",\"status\":[],\"tracking\":[\"x\"],\"trackingEvents\":{},"
	    "\"marketplaceOrderId\":1123,\"shippedAt\":12345}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_null(s->status);
	assert_false(s->has_tracking);
	assert_int_equal(s->nevents, 0);
	assert_null(s->marketplace_order_id);
	assert_null(s->shipped_at);

	/* Links a page would show must be http(s). */
	assert_int_equal(parse(RYE_GET_SHIPMENT, 200,
	    "{\"id\":\"shp_j\",\"tracking\":{\"url\":\"javascript:alert(1)\",\"number\":\"1\","
	    "\"deliveryDate\":{\"estimated\":\"soon\"}}}", &a), 0);
	assert_null(s->tracking_url);
	assert_null(s->estimated_delivery);

	/* Strings over their caps are dropped; the id over its cap is fatal. */
	buf_init(&b, RYE_MAX_BODY);
	buf_printf(&b, "{\"id\":\"shp_big\",\"tracking\":{\"number\":\"%s\"},", rep('9', 101));
	buf_printf(&b, "\"trackingEvents\":[{\"status\":\"shipped\",\"description\":\"%s\"}]}",
	    rep('d', RYE_MAX_TEXT + 1));
	assert_int_equal(parse(RYE_GET_SHIPMENT, 200, b.data, &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_null(s->tracking_number);
	assert_int_equal(s->nevents, 1);
	assert_null(s->events[0].description);
	buf_reset(&b);
	buf_printf(&b, "{\"id\":\"%s\"}", rep('i', RYE_MAX_ID + 1));
	parse(RYE_GET_SHIPMENT, 200, b.data, &a);
	assert_int_equal(a.result, RYE_INVALID);

	/* More tracking events than the cap: the first ones, and a flag. */
	buf_reset(&b);
	buf_printf(&b, "{\"id\":\"shp_many\",\"trackingEvents\":[");
	for (int i = 0; i < RYE_MAX_TRACKING_EVENTS + 20; i++)
		buf_printf(&b, "%s{\"description\":\"e%d\"}", i ? "," : "", i);
	buf_printf(&b, "]}");
	assert_int_equal(parse(RYE_GET_SHIPMENT, 200, b.data, &a), 0);
	assert_int_equal(s->nevents, RYE_MAX_TRACKING_EVENTS);
	assert_true(s->events_truncated);
	assert_string_equal(s->events[RYE_MAX_TRACKING_EVENTS - 1].description, "e499");
	buf_free(&b);
	rye_answer_free(&a);
}

static void
test_shipments_page(void **state)
{
	struct rye_answer a;
	struct buf b;

	(void)state;
	rye_answer_init(&a);
	assert_int_equal(parse(RYE_LIST_SHIPMENTS, 200,
	    "{\"data\":[" SHIPMENT_CURRENT ",{\"status\":\"shipped\"},\"junk\","
	    "{\"id\":\"shp_2\",\"status\":\"delivered\",\"deliveredAt\":\"2026-03-29T15:00:00Z\"}],"
	    "\"pageInfo\":{\"hasNextPage\":true,\"hasPreviousPage\":false,"
	    "\"startCursor\":\"s1\",\"endCursor\":\"e1\"}}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_int_equal(a.nshipments, 2);
	assert_int_equal(a.skipped, 2);
	assert_string_equal(a.shipments[0].id, "shp_1");
	assert_int_equal(a.shipments[0].nevents, 2);
	assert_string_equal(a.shipments[1].delivered_at, "2026-03-29T15:00:00Z");
	assert_true(a.page.has_next);
	assert_string_equal(a.page.end_cursor, "e1");
	assert_string_equal(a.page.start_cursor, "s1");

	/* pageInfo missing or odd: the last page */
	assert_int_equal(parse(RYE_LIST_SHIPMENTS, 200,
	    "{\"data\":[],\"pageInfo\":{\"hasNextPage\":\"yes\",\"endCursor\":7}}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_false(a.page.has_next);
	assert_null(a.page.end_cursor);
	assert_int_equal(parse(RYE_LIST_SHIPMENTS, 200, "{\"data\":[]}", &a), 0);
	assert_int_equal(a.result, RYE_OK);

	/* No data array, or more than the API's page size: refused. */
	assert_int_equal(parse(RYE_LIST_SHIPMENTS, 200, "{\"data\":{}}", &a), 0);
	assert_int_equal(a.result, RYE_INVALID);
	buf_init(&b, RYE_MAX_BODY);
	buf_printf(&b, "{\"data\":[");
	for (int i = 0; i <= RYE_PAGE_MAX; i++)
		buf_printf(&b, "%s{\"id\":\"shp_%d\"}", i ? "," : "", i);
	buf_printf(&b, "]}");
	assert_int_equal(parse(RYE_LIST_SHIPMENTS, 200, b.data, &a), 0);
	assert_int_equal(a.result, RYE_INVALID);
	assert_non_null(strstr(a.message, "100"));
	buf_free(&b);
	rye_answer_free(&a);
}

/* --- events: fields and their raw text ---------------------------------------- */

#define EV1 "{\"id\":\"evt_1\",\"object\":\"event\",\"type\":\"checkout_intent.completed\"," \
	"\"createdAt\":\"2026-03-25T00:00:00Z\",\"source\":{\"type\":\"checkout_intent\"," \
	"\"id\":\"ci_aaa8af5c\"}}"
/* Odd spacing, escapes, key order, nesting: kept byte for byte. */
#define EV2 "{ \"source\" : { \"id\" : \"shp_\\u0031\", \"type\":\"shipment\" },\n" \
	"  \"type\":\"shipment.updated\", \"id\":\"evt_2\" ," \
	"\"createdAt\":\"2026-03-26T00:00:00.5Z\"," \
	" \"data\": {\"n\": [1, 2.50, -0e0, true, null, \"\\/\\\"]}\"]}," \
	" \"x\":\"caf\\u00e9 \xc3\xa9\"}"

static void
test_events_page_raw(void **state)
{
	struct rye_answer a;
	const char *body = "  {\"pageInfo\":{\"hasNextPage\":false,\"endCursor\":\"e\"},\n"
	    "\"data\" :\t[ " EV1 " ,\n" EV2 "\t,{\"type\":\"no id\"} , 17, [\"]\"] ] , \"z\":1}\n";

	(void)state;
	rye_answer_init(&a);
	assert_int_equal(parse(RYE_LIST_EVENTS, 200, body, &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_int_equal(a.nevents, 2);
	assert_int_equal(a.skipped, 3);
	assert_string_equal(a.events[0].id, "evt_1");
	assert_string_equal(a.events[0].type, "checkout_intent.completed");
	assert_string_equal(a.events[0].created_at, "2026-03-25T00:00:00Z");
	assert_string_equal(a.events[0].source_type, "checkout_intent");
	assert_string_equal(a.events[0].source_id, "ci_aaa8af5c");
	assert_int_equal(a.events[0].raw_len, strlen(EV1));
	assert_memory_equal(a.events[0].raw, EV1, strlen(EV1));
	assert_string_equal(a.events[1].id, "evt_2");
	assert_string_equal(a.events[1].source_id, "shp_1");
	assert_string_equal(a.events[1].created_at, "2026-03-26T00:00:00.5Z");
	assert_int_equal(a.events[1].raw_len, strlen(EV2));
	assert_memory_equal(a.events[1].raw, EV2, strlen(EV2));
	assert_false(a.page.has_next);
	/* The raw text is the whole answer's too. */
	assert_int_equal(a.body.len, strlen(body));

	/* Two "data" keys: the last one, as json-c's tree has it. */
	assert_int_equal(parse(RYE_LIST_EVENTS, 200,
	    "{\"data\":[{\"id\":\"evt_a\"}],\"data\":[{\"id\":\"evt_b\"},{\"id\":\"evt_c\"}]}",
	    &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_int_equal(a.nevents, 2);
	assert_memory_equal(a.events[0].raw, "{\"id\":\"evt_b\"}", a.events[0].raw_len);
	assert_memory_equal(a.events[1].raw, "{\"id\":\"evt_c\"}", a.events[1].raw_len);
	assert_int_equal(parse(RYE_LIST_EVENTS, 200, "{\"data\":[ ],\"pageInfo\":null}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_int_equal(a.nevents, 0);
	/* Blanks after an element stay out of its raw text; a comment is no JSON. */
	assert_int_equal(parse(RYE_LIST_EVENTS, 200,
	    "{\"data\":[{\"id\":\"evt_a\"} \n\t]}", &a), 0);
	assert_int_equal(a.nevents, 1);
	assert_int_equal(a.events[0].raw_len, strlen("{\"id\":\"evt_a\"}"));
	assert_int_equal(parse(RYE_LIST_EVENTS, 200,
	    "{\"data\":[{\"id\":\"evt_a\"}\n// \"x\"\n]}", &a), -1);
	assert_int_equal(a.result, RYE_INVALID);
	rye_answer_free(&a);
}


/* --- by ids, raw text of every object, gen-1 buyer data ------------------------- */

static void
test_urls_by_id(void **state)
{
	struct buf b;
	const char *ids[RYE_IDS_MAX + 1];
	char names[RYE_IDS_MAX + 1][16];

	(void)state;
	buf_init(&b, RYE_MAX_URL + 64);
	ids[0] = "ci_1";
	ids[1] = "ci 2&x";
	assert_int_equal(rye_url_intents_by_id("https://api.rye.com", ids, 2, &b), 0);
	assert_string_equal(b.data, "https://api.rye.com/api/v1/checkout-intents"
	    "?limit=2&id=ci_1&id=ci%202%26x");
	assert_int_equal(rye_url_shipments_by_id("https://api.rye.com/api/v1", ids, 1, &b), 0);
	assert_string_equal(b.data, "https://api.rye.com/api/v1/shipments?limit=1&ids=ci_1");
	for (size_t i = 0; i <= RYE_IDS_MAX; i++) {
		snprintf(names[i], sizeof(names[i]), "shp_%zu", i);
		ids[i] = names[i];
	}
	assert_int_equal(rye_url_shipments_by_id("https://api.rye.com", ids, RYE_IDS_MAX, &b), 0);
	/* None, more than a page, a bad id, or a URL too long: refused. */
	assert_int_equal(rye_url_shipments_by_id("https://api.rye.com", ids, 0, &b), -1);
	assert_int_equal(rye_url_shipments_by_id("https://api.rye.com", ids,
	    RYE_IDS_MAX + 1, &b), -1);
	ids[3] = "";
	assert_int_equal(rye_url_shipments_by_id("https://api.rye.com", ids, 5, &b), -1);
	for (size_t i = 0; i < 40; i++)
		ids[i] = rep('a', RYE_MAX_ID);
	assert_int_equal(rye_url_intents_by_id("https://api.rye.com", ids, 40, &b), -1);
	buf_free(&b);
}

#define CI1 "{\"id\":\"ci_1\" , \"state\":\"completed\",\"buyer\":{\"email\":\"a@b.example\"}}"
#define CI2 "{\"state\":\"failed\",\n \"id\":\"ci_2\",\"failureReason\":{\"code\":\"x\"}}"

static void
test_raw_text_of_objects(void **state)
{
	struct rye_answer a;
	const char *list = "{\"data\":[" CI1 " , 5, " CI2 "],\"pageInfo\":{}}";
	const char *one = " \n" CI1 "\n ";

	(void)state;
	rye_answer_init(&a);
	assert_int_equal(parse(RYE_LIST_INTENTS, 200, list, &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_int_equal(a.nintents, 2);
	assert_int_equal(a.skipped, 1);
	assert_string_equal(a.intents[1].id, "ci_2");
	assert_int_equal(a.intents[0].raw_len, strlen(CI1));
	assert_memory_equal(a.intents[0].raw, CI1, strlen(CI1));
	assert_memory_equal(a.intents[1].raw, CI2, strlen(CI2));
	assert_int_equal(parse(RYE_GET_INTENT, 200, one, &a), 0);
	assert_int_equal(a.intent.raw_len, strlen(CI1));
	assert_memory_equal(a.intent.raw, CI1, strlen(CI1));
	assert_int_equal(parse(RYE_FIND_SHIPMENTS, 200,
	    "{\"data\":[ {\"id\":\"shp_9\",\"checkoutIntentId\":\"ci_1\"} ]}", &a), 0);
	assert_int_equal(a.nshipments, 1);
	assert_memory_equal(a.shipments[0].raw,
	    "{\"id\":\"shp_9\",\"checkoutIntentId\":\"ci_1\"}", a.shipments[0].raw_len);
	rye_answer_free(&a);
}

#define ORD "{\"id\":\"o1\",\"status\":\"ACTION_REQUIRED\",\"cart\":{\"buyerIdentity\":" \
	"{\"email\":\"b@c.example\",\"postalCode\":\"10001\",\"countryCode\":\"US\"}}," \
	"\"events\":[ {\"__typename\":\"PaymentSucceededOrderEvent\",\"id\":\"e1\"," \
	"\"createdAt\":\"2023-04-13T09:02:11Z\"}, null , {\"id\":\"skipped\"},\n" \
	"{ \"id\":\"e2\", \"__typename\":\"TrackingObtainedOrderEvent\"} ]}"

static void
test_order_raw_and_buyer(void **state)
{
	struct rye_answer a;
	const struct rye_order *o = &a.order;

	(void)state;
	rye_answer_init(&a);
	assert_int_equal(parse(RYE_ORDER_BY_ID, 200,
	    "{\"data\":{ \"orderByID\" : " ORD " }}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_int_equal(o->raw_len, strlen(ORD));
	assert_memory_equal(o->raw, ORD, strlen(ORD));
	assert_string_equal(o->email, "b@c.example");
	assert_string_equal(o->postal_code, "10001");
	assert_string_equal(o->country, "US");
	assert_int_equal(o->nevents, 2);
	assert_memory_equal(o->events[0].raw, "{\"__typename\":\"PaymentSucceededOrderEvent\","
	    "\"id\":\"e1\",\"createdAt\":\"2023-04-13T09:02:11Z\"}", o->events[0].raw_len);
	assert_memory_equal(o->events[1].raw,
	    "{ \"id\":\"e2\","
	    " \"__typename\":\"TrackingObtainedOrderEvent\"}", o->events[1].raw_len);
	/* The query asks for what is read. */
	assert_non_null(strstr(rye_order_query, "cart { buyerIdentity { email postalCode } }"));
	rye_answer_free(&a);
}

/* --- records (rye_record.c) -------------------------------------------------- */

static void
test_record_names(void **state)
{
	char out[80];
	static const char *const states[][2] = {
		{ "completed", "SUCCEEDED" }, { "failed", "FAILED" },
		{ "placing_order", "PROCESSING" }, { "requires_action", "ACTION_REQUIRED" },
		{ "retrieving_offer", "PENDING" }, { "awaiting_confirmation", "PENDING" },
		{ "on_hold", "ON_HOLD" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		assert_int_equal(rye_record_intent_status(states[i][0], out, sizeof(out)), 0);
		assert_string_equal(out, states[i][1]);
	}
	assert_int_equal(rye_record_intent_status(NULL, out, sizeof(out)), -1);
	assert_int_equal(rye_record_intent_status("", out, sizeof(out)), -1);
	assert_int_equal(rye_record_intent_status("a b", out, sizeof(out)), -1);
	assert_int_equal(rye_record_event_type("TrackingObtainedOrderEvent", out, sizeof(out)), 0);
	assert_string_equal(out, "TRACKING_OBTAINED");
	assert_int_equal(rye_record_event_type("PaymentSucceededOrderEvent", out, sizeof(out)), 0);
	assert_string_equal(out, "PAYMENT_SUCCEEDED");
	assert_int_equal(rye_record_event_type("OrderCancelFailedOrderEvent", out, sizeof(out)), 0);
	assert_string_equal(out, "ORDER_CANCEL_FAILED");
	assert_int_equal(rye_record_event_type("SomethingNew", out, sizeof(out)), 0);
	assert_string_equal(out, "SOMETHING_NEW");
	assert_int_equal(rye_record_event_type("OrderEvent", out, sizeof(out)), 0);
	assert_string_equal(out, "ORDER_EVENT");
	assert_int_equal(rye_record_event_type("Bad-Name", out, sizeof(out)), -1);
	assert_int_equal(rye_record_event_type("LongName", out, 4), -1);
}

static void
test_record_digests_and_ids(void **state)
{
	struct rye_intent i = { .id = "ci_1", .state = "completed", .email = "a@b.example" };
	char d1[RYE_DIGEST_LEN + 1], d2[RYE_DIGEST_LEN + 1], id[RYE_RECORD_MAX_ID], got[20];

	(void)state;
	rye_record_intent_digest(&i, d1);
	assert_int_equal(strlen(d1), RYE_DIGEST_LEN);
	rye_record_intent_digest(&i, d2);
	assert_string_equal(d1, d2);
	i.email = "other@b.example";
	rye_record_intent_digest(&i, d2);
	assert_string_not_equal(d1, d2);
	/* A field moved to another is another fact. */
	i.email = NULL;
	i.postal_code = "other@b.example";
	rye_record_intent_digest(&i, d1);
	assert_string_not_equal(d1, d2);
	assert_int_equal(rye_record_obs_id(id, sizeof(id), "intent", "ci:1", d1, 3), 0);
	assert_true(rye_record_obs_digest(id, got));
	assert_string_equal(got, d1);
	assert_false(rye_record_obs_digest("evt_1", got));
	assert_false(rye_record_obs_digest("obs:x", got));
	assert_int_equal(rye_record_obs_id(id, 10, "intent", "ci_1", d1, 0), -1);
}

static void
test_record_bodies(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(rye_record_observation(&b, "obs:intent:ci_\"1:abc:0",
	    RYE_RECORD_INTENT, "2026-03-25T00:00:00Z", "checkout_intent", "ci_\"1",
	    "{\"id\":\"ci_\\\"1\"} ", 15), 0);
	assert_string_equal(b.data, "{\"id\":\"obs:intent:ci_\\\"1:abc:0\",\"object\":"
	    "\"observation\",\"type\":\"rye2.intent.observed\",\"createdAt\":"
	    "\"2026-03-25T00:00:00Z\",\"source\":{\"type\":\"checkout_intent\",\"id\":"
	    "\"ci_\\\"1\"},\"data\":{\"id\":\"ci_\\\"1\"}}");
	assert_int_equal(rye_record_order_event(&b, "sync:e/1", "o1", "2023-04-13T09:02:11Z",
	    "{\"id\":\"e/1\"}", 12), 0);
	assert_string_equal(b.data, "{\"id\":\"sync:e/1\",\"object\":\"order_event\","
	    "\"requestId\":\"o1\",\"createdAt\":\"2023-04-13T09:02:11Z\","
	    "\"data\":{\"id\":\"e/1\"}}");
	buf_free(&b);
}

/* --- gen 1: orderByID ----------------------------------------------------- */

static void
test_order_spec_example(void **state)
{
	struct rye_answer a;
	const struct rye_order *o = &a.order;
	const char *body =
	    "{\"data\":{\"orderByID\":{\"id\":\"00401732-8a19-48eb-be6a-6138d2f666c7\","
	    "\"status\":\"SUCCEEDED\",\"marketplace\":\"SHOPIFY\",\"marketplaceOrderIds\":"
	    "[\"5523456789\",null,7,\"5523456790\"],\"shipments\":[{\"carrierName\":\"UPS\","
	    "\"carrierTrackingNumber\":\"1Z999AA10123456784\",\"carrierTrackingUrl\":"
	    "\"https://www.ups.com/track?tracknum=1Z999AA1\"},"
	    "{\"carrierName\":\"Amazon Logistics\","
	    "\"carrierTrackingNumber\":\"TBA123\",\"carrierTrackingUrl\":null},null],"
	    "\"events\":[{\"__typename\":\"TrackingObtainedOrderEvent\",\"id\":\"3c1d9e20\","
	    "\"createdAt\":\"2023-04-13T09:02:11Z\"},{\"__typename\":\"OrderFailedOrderEvent\","
	    "\"id\":\"e2\",\"createdAt\":\"2023-04-13T10:00:00Z\",\"reason\":\"Card declined\"},"
	    "{\"id\":\"no typename\"}]}}}";

	(void)state;
	rye_answer_init(&a);
	assert_int_equal(parse(RYE_ORDER_BY_ID, 200, body, &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_string_equal(o->id, "00401732-8a19-48eb-be6a-6138d2f666c7");
	assert_string_equal(o->status, "SUCCEEDED");
	assert_string_equal(o->marketplace, "SHOPIFY");
	assert_int_equal(o->nmarketplace_order_ids, 2);
	assert_string_equal(o->marketplace_order_ids[1], "5523456790");
	assert_int_equal(o->nshipments, 2);
	assert_string_equal(o->shipments[0].tracking_number, "1Z999AA10123456784");
	assert_string_equal(o->shipments[0].tracking_url,
	    "https://www.ups.com/track?tracknum=1Z999AA1");
	assert_string_equal(o->shipments[1].carrier_name, "Amazon Logistics");
	assert_null(o->shipments[1].tracking_url);
	assert_int_equal(o->nevents, 2);
	assert_string_equal(o->events[0].type_name, "TrackingObtainedOrderEvent");
	assert_null(o->events[0].reason);
	assert_string_equal(o->events[1].reason, "Card declined");
	assert_false(o->truncated);
	/* the raw answer text */
	assert_int_equal(a.body.len, strlen(body));
	assert_string_equal(a.body.data, body);
	rye_answer_free(&a);
}

static void
test_order_null_and_errors(void **state)
{
	struct rye_answer a;

	(void)state;
	rye_answer_init(&a);
	/* unknown statuses are kept */
	assert_int_equal(parse(RYE_ORDER_BY_ID, 200,
	    "{\"data\":{\"orderByID\":{\"id\":\"o1\",\"status\":\"CANCELLATION_REQUESTED\","
	    "\"marketplace\":null,\"marketplaceOrderIds\":null,\"shipments\":null,"
	    "\"events\":null}}}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_string_equal(a.order.status, "CANCELLATION_REQUESTED");
	assert_null(a.order.marketplace);
	assert_int_equal(a.order.nshipments, 0);

	/* an unknown or unsubmitted id */
	assert_int_equal(parse(RYE_ORDER_BY_ID, 200, "{\"data\":{\"orderByID\":null}}", &a), 0);
	assert_int_equal(a.result, RYE_NOT_FOUND);

	/* errors */
	assert_int_equal(parse(RYE_ORDER_BY_ID, 200,
	    "{\"errors\":[{\"message\":\"Variable \\\"$id\\\" got invalid value\\r\\n\"}],"
	    "\"data\":null}", &a), 0);
	assert_int_equal(a.result, RYE_REFUSED);
	assert_string_equal(a.message, "HTTP 200: Variable \"$id\" got invalid value");
	assert_int_equal(parse(RYE_ORDER_BY_ID, 200,
	    "{\"errors\":[{\"message\":\"no\",\"extensions\":{\"code\":\"UNAUTHENTICATED\"}}]}",
	    &a), 0);
	assert_int_equal(a.result, RYE_UNAUTHORIZED);
	assert_string_equal(a.error_name, "UNAUTHENTICATED");
	assert_int_equal(parse(RYE_ORDER_BY_ID, 401,
	    "{\"errors\":[{\"message\":\"Unauthorized\"}]}", &a), 0);
	assert_int_equal(a.result, RYE_UNAUTHORIZED);
	assert_int_equal(parse(RYE_ORDER_BY_ID, 400,
	    "{\"errors\":[{\"message\":\"bad\"}]}", &a), 0);
	assert_int_equal(a.result, RYE_REFUSED);

	/* partial data beside errors: the order is what was asked for */
	assert_int_equal(parse(RYE_ORDER_BY_ID, 200,
	    "{\"errors\":[{\"message\":\"events failed\"}],\"data\":{\"orderByID\":"
	    "{\"id\":\"o2\",\"status\":\"PENDING\",\"events\":null}}}", &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_string_equal(a.order.id, "o2");

	/* neither data nor errors; an order with no id */
	parse(RYE_ORDER_BY_ID, 200, "{\"data\":{}}", &a);
	assert_int_equal(a.result, RYE_INVALID);
	parse(RYE_ORDER_BY_ID, 200, "{\"errors\":[]}", &a);
	assert_int_equal(a.result, RYE_INVALID);
	parse(RYE_ORDER_BY_ID, 200, "{\"data\":{\"orderByID\":{\"status\":\"PENDING\"}}}", &a);
	assert_int_equal(a.result, RYE_INVALID);
	rye_answer_free(&a);
}

static void
test_order_caps(void **state)
{
	struct rye_answer a;
	struct buf b;

	(void)state;
	rye_answer_init(&a);
	buf_init(&b, RYE_MAX_BODY);
	buf_printf(&b, "{\"data\":{\"orderByID\":{\"id\":\"o\",\"marketplaceOrderIds\":[");
	for (int i = 0; i < RYE_MAX_ORDER_IDS + 5; i++)
		buf_printf(&b, "%s\"m%d\"", i ? "," : "", i);
	buf_printf(&b, "],\"events\":[");
	for (int i = 0; i < RYE_MAX_ORDER_EVENTS + 5; i++)
		buf_printf(&b, "%s{\"__typename\":\"PaymentSucceededOrderEvent\",\"id\":\"e%d\"}",
		    i ? "," : "", i);
	buf_printf(&b, "],\"shipments\":[{\"carrierName\":\"%s\",", rep('C', RYE_MAX_NAME + 1));
	buf_printf(&b, "\"carrierTrackingNumber\":\"1Z\"}]}}}");
	assert_int_equal(parse(RYE_ORDER_BY_ID, 200, b.data, &a), 0);
	assert_int_equal(a.result, RYE_OK);
	assert_int_equal(a.order.nmarketplace_order_ids, RYE_MAX_ORDER_IDS);
	assert_int_equal(a.order.nevents, RYE_MAX_ORDER_EVENTS);
	assert_true(a.order.truncated);
	assert_int_equal(a.order.nshipments, 1);
	assert_null(a.order.shipments[0].carrier_name);
	buf_free(&b);
	rye_answer_free(&a);
}

/* --- errors and bodies that are not answers --------------------------------- */

static void
test_error_bodies(void **state)
{
	struct rye_answer a;

	(void)state;
	rye_answer_init(&a);
	assert_int_equal(parse(RYE_GET_INTENT, 404,
	    "{\"name\":\"NotFoundError\",\"message\":\"Checkout intent not found\"}", &a), 0);
	assert_int_equal(a.result, RYE_NOT_FOUND);
	assert_string_equal(a.error_name, "NotFoundError");
	assert_string_equal(a.message, "HTTP 404: NotFoundError: Checkout intent not found");

	/* A 404 that is not Rye's (a wrong base URL): not "unknown intent". */
	assert_int_equal(parse(RYE_GET_INTENT, 404, "<html>Not Found</html>", &a), -1);
	assert_int_equal(a.result, RYE_FAILED);
	assert_string_equal(a.message, "HTTP 404 \"<html>Not Found</html>\" (not JSON)");

	assert_int_equal(parse(RYE_GET_INTENT, 401,
	    "{\"name\":\"UnauthorizedError\",\"message\":\"Invalid\\u001b[31m key\"}", &a), 0);
	assert_int_equal(a.result, RYE_UNAUTHORIZED);
	assert_string_equal(a.message, "HTTP 401: UnauthorizedError: Invalid[31m key");
	parse(RYE_GET_INTENT, 403, "{}", &a);
	assert_int_equal(a.result, RYE_UNAUTHORIZED);
	assert_string_equal(a.message, "HTTP 403");

	assert_int_equal(parse(RYE_GET_INTENT, 422,
	    "{\"name\":\"ValidationError\",\"message\":\"bad\",\"status\":422,\"fields\":[]}",
	    &a), 0);
	assert_int_equal(a.result, RYE_REFUSED);

	assert_int_equal(parse(RYE_LIST_EVENTS, 503, "Service Unavailable\nmore", &a), -1);
	assert_int_equal(a.result, RYE_UNAVAILABLE);
	assert_string_equal(a.message, "HTTP 503 \"Service Unavailable\" (not JSON)");
	assert_int_equal(parse(RYE_LIST_EVENTS, 500, "", &a), -1);
	assert_string_equal(a.message, "HTTP 500, unreadable body");

	/*
	 * 2xx bodies that are not answers: cut, trailing junk, too deep, not
	 * an object, not JSON (a comment json-c would skip: it would end up
	 * inside an element's raw text; regress/fuzz_rye), single quotes, a
	 * trailing comma.
	 */
	static const char *const bad[] = {
		"{\"id\":\"ci_1\",\"sta", "{\"id\":\"ci_1\"} x", "[]", "\"ci_1\"", "null",
		"{\"id\":\"\xff\xfe\"}",
		"{\"id\":\"ci_1\" /* c */}", "{\"id\":\"ci_1\"}\n// c\n", "{\"id\":'ci_1'}",
		"{\"id\":\"ci_1\",}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(RYE_GET_INTENT, 200, bad[i], &a), -1);
		assert_int_equal(a.result, RYE_INVALID);
	}
	char deep[200] = "{\"id\":\"x\",\"a\":";
	for (int i = 0; i < 40; i++)
		strcat(deep, "[");
	for (int i = 0; i < 40; i++)
		strcat(deep, "]");
	strcat(deep, "}");
	assert_int_equal(parse(RYE_GET_INTENT, 200, deep, &a), -1);
	rye_answer_free(&a);
}

static void
test_retry_after_body(void **state)
{
	struct rye_answer a;
	static const struct {
		const char *v;
		long want;
	} cases[] = {
		{ "2", 2 }, { "1.2", 2 }, { "\"3\"", 3 }, { "0", 0 }, { "-5", -1 },
		{ "\"soon\"", -1 }, { "\"3s\"", -1 }, { "null", -1 }, { "true", -1 },
		{ "1e300", RYE_MAX_HEADER_S }, { "99999999999999999999", RYE_MAX_HEADER_S },
		{ "NaN", -1 }, { "\"nan\"", -1 }, { "[1]", -1 },
	};
	char body[200];

	(void)state;
	rye_answer_init(&a);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(body, sizeof(body), "{\"name\":\"RateLimitError\",\"message\":\"slow\","
		    "\"retryAfter\":%s}", cases[i].v);
		parse(RYE_GET_INTENT, 429, body, &a);
		assert_int_equal(a.result, RYE_RATE_LIMITED);
		if (a.retry_after_s != cases[i].want)
			fail_msg("retryAfter %s: got %ld, want %ld", cases[i].v,
			    a.retry_after_s, cases[i].want);
	}
	rye_answer_free(&a);
}

static void
test_classify(void **state)
{
	(void)state;
	assert_int_equal(rye_classify(200, true), RYE_OK);
	assert_int_equal(rye_classify(204, false), RYE_INVALID);
	assert_int_equal(rye_classify(401, false), RYE_UNAUTHORIZED);
	assert_int_equal(rye_classify(403, true), RYE_UNAUTHORIZED);
	assert_int_equal(rye_classify(404, true), RYE_NOT_FOUND);
	assert_int_equal(rye_classify(404, false), RYE_FAILED);
	assert_int_equal(rye_classify(429, false), RYE_RATE_LIMITED);
	assert_int_equal(rye_classify(408, true), RYE_UNAVAILABLE);
	assert_int_equal(rye_classify(502, false), RYE_UNAVAILABLE);
	assert_int_equal(rye_classify(409, true), RYE_REFUSED);
	assert_int_equal(rye_classify(400, false), RYE_REFUSED);
	assert_int_equal(rye_classify(301, false), RYE_FAILED);
	assert_int_equal(rye_classify(0, false), RYE_FAILED);
	for (int r = 0; r < RYE_RESULT__MAX; r++)
		assert_string_not_equal(rye_result_name((enum rye_result)r), "?");
	assert_string_equal(rye_result_name(RYE_RESULT__MAX), "?");
}

/* --- headers ---------------------------------------------------------------- */

static void
line(struct rye_headers *h, const char *s)
{
	rye_header_line(h, s, strlen(s), 1700000000);
}

static void
test_ratelimit_headers(void **state)
{
	struct rye_headers h;

	(void)state;
	rye_headers_init(&h);
	assert_int_equal(h.remaining, -1);
	line(&h, "RateLimit: \"default\";r=7;t=1\r\n");
	line(&h, "ratelimit-policy: \"default\";q=10;w=1\r\n");
	assert_int_equal(h.remaining, 7);
	assert_int_equal(h.reset_s, 1);
	assert_int_equal(h.quota, 10);
	assert_int_equal(h.window_s, 1);

	/* Several policies: the tightest. */
	line(&h, "RateLimit: \"burst\";r=40;t=60, \"default\";r=0;t=1, day;r=0;t=3\r\n");
	assert_int_equal(h.remaining, 0);
	assert_int_equal(h.reset_s, 3);
	line(&h, "RateLimit-Policy: \"default\";q=10;w=1, \"hour\";q=3600;w=3600, x;q=5\r\n");
	assert_int_equal(h.quota, 3600);	/* 1/s beats 10/s and 5/s */
	assert_int_equal(h.window_s, 3600);

	/* gen 1 */
	line(&h, "Ratelimit-Remaining: 0\r\n");
	line(&h, "Ratelimit-Reset: 1\r\n");
	line(&h, "Ratelimit-Limit: 100\r\n");
	assert_int_equal(h.gql_remaining, 0);
	assert_int_equal(h.gql_reset, 1);

	line(&h, "Content-Type: application/json; charset=utf-8\r\n");
	assert_true(h.json);
}

static void
test_ratelimit_hostile(void **state)
{
	static const struct {
		const char *v;
		int rc;
		long r, t;
	} cases[] = {
		{ "\"default\";r=7;t=1", 0, 7, 1 },
		{ "default;t=1;r=7", 0, 7, 1 },		/* a token, any order */
		{ "\"default\";r=7", 0, 7, -1 },		/* no t */
		{ "\"default\";t=1", -1, 0, 0 },		/* no r */
		{ "\"default\";r=-1;t=1", -1, 0, 0 },
		{ "\"default\";r=;t=1", -1, 0, 0 },
		{ "\"default\";r=abc;t=1", -1, 0, 0 },
		{ "\"default\";r=7abc;t=1", -1, 0, 0 },
		{ "\"default\";rr=7;t=1", -1, 0, 0 },
		{ "\"default\";R=7;t=1", -1, 0, 0 },
		{ "\"default\";r=\"7\";t=1", -1, 0, 0 },
		{ "\"default\";r;t=1", -1, 0, 0 },		/* boolean true */
		{ "\"default\";r=1.5;t=1", -1, 0, 0 },	/* decimals are not integers */
		{ "\"default\";r=1;t=0.2", 0, 1, -1 },
		{ "\"default\";r=99999999999999999999999;t=99999999999999999999", 0,
		    1000000000L, 1000000000L },		/* clamped, no overflow */
		{ "\"def;r=0,\";r=5;t=1", 0, 5, 1 },		/* separators inside a string */
		{ "\"unterminated;r=0;t=9", -1, 0, 0 },
		{ ";;;,,,;=;r", -1, 0, 0 },
		{ "", -1, 0, 0 },
		{ "\"a\";r=3;t=1,garbage,\"b\";r=2;t=1", 0, 2, 1 },
		{ "\"a\" ; r=3 ; t=1", -1, 0, 0 },		/* blanks in params: not SF */
		{ "\"a\";r=3;t=1 , \"b\";r=4;t=1", 0, 3, 1 },
	};
	struct rye_headers h;
	char big[3000];
	long r, t;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = rye_sf_params(cases[i].v, strlen(cases[i].v), 'r', 't', false, &r, &t);
		if (rc != cases[i].rc || (rc == 0 && (r != cases[i].r || t != cases[i].t)))
			fail_msg("%s: got %d %ld %ld", cases[i].v, rc, r, t);
	}
	/* NULs, and a value too long to look at */
	assert_int_equal(rye_sf_params("a;r=1\0;t=2", 10, 'r', 't', false, &r, &t), -1);
	assert_int_equal(rye_sf_params("a;t=2;r=1\0", 10, 'r', 't', false, &r, &t), -1);
	assert_int_equal(rye_sf_params("a;t=2\0;r=1", 10, 'r', 't', false, &r, &t), 0);
	assert_int_equal(r, 1);
	assert_int_equal(t, -1);
	memset(big, 'x', sizeof(big));
	memcpy(big, "\"a\";r=0;t=1,", 12);
	assert_int_equal(rye_sf_params(big, sizeof(big), 'r', 't', false, &r, &t), -1);
	assert_int_equal(rye_sf_params(NULL, 0, 'r', 't', false, &r, &t), -1);
	/* a policy with w=0 cannot be divided by */
	assert_int_equal(rye_sf_params("a;q=1;w=0", 9, 'q', 'w', true, &r, &t), -1);

	rye_headers_init(&h);
	line(&h, "RateLimit: garbage\r\n");
	assert_int_equal(h.remaining, -1);
	line(&h, "RateLimit\r\n");			/* no colon */
	line(&h, "RateLimit:\r\n");
	assert_int_equal(h.remaining, -1);
	line(&h, "RateLimit: a;r=0;t=99999999999999999999999999999\r\n");
	assert_int_equal(h.remaining, 0);
	assert_int_equal(h.reset_s, RYE_MAX_HEADER_S);
	line(&h, "RateLimit-Policy: a;q=99999999999999999999999;w=99999999999999999999\r\n");
	assert_int_equal(h.quota, 1000000000L);
	assert_int_equal(h.window_s, RYE_MAX_HEADER_S);
	line(&h, "Ratelimit-Remaining: -3\r\n");
	assert_int_equal(h.gql_remaining, -1);
	line(&h, "Ratelimit-Reset: 99999999999999999999999\r\n");
	assert_int_equal(h.gql_reset, 0x7fffffffL);
}

static void
test_retry_after_header(void **state)
{
	struct rye_headers h;

	(void)state;
	rye_headers_init(&h);
	line(&h, "Retry-After: 2\r\n");
	assert_int_equal(h.retry_after_s, 2);
	line(&h, "retry-after: 99999999999999999999999999\r\n");
	assert_int_equal(h.retry_after_s, RYE_MAX_HEADER_S);
	line(&h, "Retry-After: -1\r\n");
	assert_int_equal(h.retry_after_s, -1);
	line(&h, "Retry-After: soon\r\n");
	assert_int_equal(h.retry_after_s, -1);
	/* 1700000000 is Tue, 14 Nov 2023 22:13:20 GMT */
	line(&h, "Retry-After: Tue, 14 Nov 2023 22:13:50 GMT\r\n");
	assert_int_equal(h.retry_after_s, 30);
	line(&h, "Retry-After: Mon, 13 Nov 2023 22:13:20 GMT\r\n");
	assert_int_equal(h.retry_after_s, 0);
	line(&h, "Retry-After: Fri, 31 Dec 9999 23:59:59 GMT\r\n");
	assert_int_equal(h.retry_after_s, RYE_MAX_HEADER_S);
}

/* --- the pager --------------------------------------------------------------- */

static void
page(struct rye_answer *a, bool more, const char *cursor, size_t n)
{
	memset(&a->page, 0, sizeof(a->page));
	a->page.has_next = more;
	a->page.end_cursor = cursor;
	a->nevents = n;
}

static void
test_pager(void **state)
{
	struct rye_pager p;
	struct rye_answer a;

	(void)state;
	rye_answer_init(&a);
	/* the end as the spec names it: hasNextPage false, no endCursor, no data */
	assert_int_equal(rye_pager_init(&p, 10), 0);
	assert_string_equal(p.after, "");
	page(&a, true, "c1", 100);
	assert_true(rye_pager_next(&p, &a));
	assert_string_equal(p.after, "c1");
	page(&a, false, "c2", 5);
	assert_false(rye_pager_next(&p, &a));
	assert_int_equal(p.stop, RYE_PAGER_END);
	assert_false(rye_pager_next(&p, &a));	/* stays stopped */
	rye_pager_free(&p);
	rye_pager_init(&p, 10);
	page(&a, true, NULL, 5);
	assert_false(rye_pager_next(&p, &a));
	assert_int_equal(p.stop, RYE_PAGER_END);
	rye_pager_free(&p);
	rye_pager_init(&p, 10);
	page(&a, true, "c1", 0);
	assert_false(rye_pager_next(&p, &a));
	assert_int_equal(p.stop, RYE_PAGER_END);
	rye_pager_free(&p);

	/* endless, new cursors: the page cap */
	rye_pager_init(&p, 3);
	page(&a, true, "n1", 1);
	assert_true(rye_pager_next(&p, &a));
	page(&a, true, "n2", 1);
	assert_true(rye_pager_next(&p, &a));
	page(&a, true, "n3", 1);
	assert_false(rye_pager_next(&p, &a));
	assert_int_equal(p.stop, RYE_PAGER_PAGE_CAP);
	assert_int_equal(p.pages, 3);
	rye_pager_free(&p);

	/* the same cursor again, and a cycle */
	rye_pager_init(&p, 100);
	page(&a, true, "same", 1);
	assert_true(rye_pager_next(&p, &a));
	assert_false(rye_pager_next(&p, &a));
	assert_int_equal(p.stop, RYE_PAGER_REPEATED_CURSOR);
	rye_pager_free(&p);
	rye_pager_init(&p, 100);
	page(&a, true, "A", 1);
	assert_true(rye_pager_next(&p, &a));
	page(&a, true, "B", 1);
	assert_true(rye_pager_next(&p, &a));
	page(&a, true, "C", 1);
	assert_true(rye_pager_next(&p, &a));
	page(&a, true, "A", 1);
	assert_false(rye_pager_next(&p, &a));
	assert_int_equal(p.stop, RYE_PAGER_REPEATED_CURSOR);
	assert_string_equal(rye_pager_stop_name(p.stop), "repeated cursor");
	rye_pager_free(&p);

	/* a cap of 0 still lets one page through */
	rye_pager_init(&p, 0);
	page(&a, true, "x", 1);
	assert_false(rye_pager_next(&p, &a));
	assert_int_equal(p.stop, RYE_PAGER_PAGE_CAP);
	rye_pager_free(&p);
	memset(&a.page, 0, sizeof(a.page));
	a.nevents = 0;
	rye_answer_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_url_check),
		cmocka_unit_test(test_graphql_body),
		cmocka_unit_test(test_intent_spec_example),
		cmocka_unit_test(test_intent_nulls_and_wrong_types),
		cmocka_unit_test(test_shipment_current_form),
		cmocka_unit_test(test_shipment_older_form),
		cmocka_unit_test(test_shipment_nulls_everywhere),
		cmocka_unit_test(test_shipment_wrong_types_and_caps),
		cmocka_unit_test(test_shipments_page),
		cmocka_unit_test(test_events_page_raw),
		cmocka_unit_test(test_order_spec_example),
		cmocka_unit_test(test_order_null_and_errors),
		cmocka_unit_test(test_order_caps),
		cmocka_unit_test(test_error_bodies),
		cmocka_unit_test(test_retry_after_body),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_ratelimit_headers),
		cmocka_unit_test(test_ratelimit_hostile),
		cmocka_unit_test(test_retry_after_header),
		cmocka_unit_test(test_pager),
		cmocka_unit_test(test_urls_by_id),
		cmocka_unit_test(test_raw_text_of_objects),
		cmocka_unit_test(test_order_raw_and_buyer),
		cmocka_unit_test(test_record_names),
		cmocka_unit_test(test_record_digests_and_ids),
		cmocka_unit_test(test_record_bodies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
