/*
 * Unit tests for cgi/lib/carrier_parse.c and carrier_tracking.c: the pure
 * half of the AfterShip client.  Base URLs into API families, request URLs and bodies, the slug
 * map, answers into structs (wrapped and unwrapped, both pagination forms,
 * error envelopes, plain-text 5xx, cut bodies, nulls everywhere, every
 * date form, *_iso3 and *_country_region), outcome classification,
 * rate-limit header lines (hostile ones too) and the wait they ask for,
 * and the paging guard of a list sync.  No network.
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

#include "carrier.h"

/* --- the API family of a base URL -------------------------------------- */

static void
test_api_families(void **state)
{
	struct carrier_api a;

	(void)state;
	assert_int_equal(carrier_api_parse("https://api.aftership.com/v4", &a), 0);
	assert_true(a.legacy && a.wrapped && !a.cursor);
	assert_string_equal(a.key_header, "aftership-api-key");
	assert_string_equal(a.version, "");
	assert_int_equal(carrier_api_parse("http://127.0.0.1:9/v4/", &a), 0);
	assert_true(a.legacy);

	assert_int_equal(carrier_api_parse("https://api.aftership.com/tracking/2024-04", &a), 0);
	assert_true(!a.legacy && a.wrapped && !a.cursor);
	assert_string_equal(a.key_header, "as-api-key");
	assert_int_equal(carrier_api_parse("https://api.aftership.com/tracking/2024-07", &a), 0);
	assert_true(!a.wrapped && !a.cursor);
	assert_int_equal(carrier_api_parse("https://api.aftership.com/tracking/2024-10", &a), 0);
	assert_true(!a.wrapped && a.cursor);
	assert_int_equal(carrier_api_parse("https://api.aftership.com/tracking/2025-07/", &a), 0);
	assert_true(!a.wrapped && a.cursor);
	assert_string_equal(a.version, "2025-07");
}

static void
test_api_bad_bases(void **state)
{
	static const char *const bad[] = {
		"", "api.aftership.com/v4", "ftp://api.aftership.com/v4",
		"https://api.aftership.com/", "https://api.aftership.com/tracking",
		"https://api.aftership.com/tracking/2025-13",
		"https://api.aftership.com/tracking/2025-00",
		"https://api.aftership.com/tracking/25-07",
		"https://api.aftership.com/tracking/2025-07?x=1",
		"https://api.aftership.com/v4#frag", "https://api.after ship.com/v4",
		"https://api.aftership.com/v4\n",
	};
	struct carrier_api a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(carrier_api_parse(bad[i], &a), -1);
	assert_int_equal(carrier_api_parse(NULL, &a), -1);
}

/* --- requests ------------------------------------------------------------ */

static void
test_urls(void **state)
{
	struct buf b;
	const char *nums[] = { "1Z1", "AB 2", "C,3" };
	struct carrier_query q = { .updated_min_ms = 1746500000123LL };

	(void)state;
	buf_init(&b, CARRIER_MAX_URL);
	assert_int_equal(carrier_url_create("https://x.test/tracking/2025-07/", &b), 0);
	assert_string_equal(b.data, "https://x.test/tracking/2025-07/trackings");
	assert_int_equal(carrier_url_get("https://x.test/v4", "ab/c?d", &b), 0);
	assert_string_equal(b.data, "https://x.test/v4/trackings/ab%2Fc%3Fd");
	assert_int_equal(carrier_url_get("https://x.test/v4", "", &b), -1);

	/* updated_at_min in whole seconds, "+" as %2B. */
	assert_int_equal(carrier_url_list("https://x.test/tracking/2025-07", &q, &b), 0);
	assert_string_equal(b.data, "https://x.test/tracking/2025-07/trackings?limit=200"
	    "&updated_at_min=2025-05-06T02%3A53%3A20%2B00%3A00");
	/* the next page as the last answer gave it: a cursor, else a number */
	q.cursor = "abc=";
	q.page = 3;
	assert_int_equal(carrier_url_list("https://x.test/tracking/2025-07", &q, &b), 0);
	assert_non_null(strstr(b.data, "&cursor=abc%3D"));
	assert_null(strstr(b.data, "page="));
	q.cursor = NULL;
	assert_int_equal(carrier_url_list("https://x.test/tracking/2024-07", &q, &b), 0);
	assert_non_null(strstr(b.data, "&page=3"));
	assert_null(strstr(b.data, "cursor"));
	q.page = 1;
	assert_int_equal(carrier_url_list("https://x.test/v4", &q, &b), 0);
	assert_null(strstr(b.data, "page="));

	/* tracking_numbers: each number escaped, separated by %2C */
	q = (struct carrier_query){ .updated_min_ms = -1, .numbers = nums, .nnumbers = 3 };
	assert_int_equal(carrier_url_list("https://x.test/tracking/2025-07", &q, &b), 0);
	assert_string_equal(b.data, "https://x.test/tracking/2025-07/trackings?limit=200"
	    "&tracking_numbers=1Z1%2CAB%202%2CC%2C3");
	buf_free(&b);
}

static void
test_create_body(void **state)
{
	struct carrier_api v, v4;
	struct buf b;
	struct carrier_new n = { "1Z\"9", "ups", "ord/1" };

	(void)state;
	buf_init(&b, 4096);
	carrier_api_parse("https://x.test/tracking/2025-07", &v);
	carrier_api_parse("https://x.test/v4", &v4);
	assert_int_equal(carrier_body_create(&v, &n, &b), 0);
	assert_string_equal(b.data,
	    "{\"tracking_number\":\"1Z\\\"9\",\"slug\":\"ups\",\"order_id\":\"ord/1\"}");
	n.slug = NULL;
	n.order_id = NULL;
	assert_int_equal(carrier_body_create(&v4, &n, &b), 0);
	assert_string_equal(b.data, "{\"tracking\":{\"tracking_number\":\"1Z\\\"9\"}}");
	n.tracking_number = NULL;
	assert_int_equal(carrier_body_create(&v, &n, &b), -1);
	buf_free(&b);
}

static void
test_slug_map(void **state)
{
	(void)state;
	assert_string_equal(carrier_slug_for("UPS"), "ups");
	assert_string_equal(carrier_slug_for("United Parcel Service"), "ups");
	assert_string_equal(carrier_slug_for("FEDEX"), "fedex");
	assert_string_equal(carrier_slug_for("Fed-Ex Ground"), "fedex");
	assert_string_equal(carrier_slug_for("U.S.P.S."), "usps");
	assert_string_equal(carrier_slug_for("Amazon Logistics"), "amazon");
	assert_string_equal(carrier_slug_for("Royal Mail"), "royal-mail");
	assert_string_equal(carrier_slug_for("DHL Express"), "dhl");
	assert_null(carrier_slug_for("Other"));
	assert_null(carrier_slug_for("Some Local Courier"));
	assert_null(carrier_slug_for(""));
	assert_null(carrier_slug_for(NULL));
	assert_null(carrier_slug_for("UPSUPSUPSUPSUPSUPSUPSUPSUPSUPSUPSUPSUPSUPSUPSUPSUPSUPS"));
}

/* --- answers ------------------------------------------------------------ */

static int
parse(enum carrier_op op, int http, const char *body, struct carrier_response *r)
{
	return carrier_response_parse(op, http, body, strlen(body), r);
}

#define TRACKING_2025 \
	"{\"id\":\"0123456789abcdef0123456789abcdef\",\"legacy_id\":\"0123456789abcdef01234567\"," \
	"\"tracking_number\":\"1Z999\",\"slug\":\"ups\",\"order_id\":\"ord_1\"," \
	"\"active\":true,\"tag\":\"InTransit\",\"subtag\":\"InTransit_099\"," \
	"\"subtag_message\":\"Somewhere new\",\"updated_at\":\"2025-05-06T10:00:00+00:00\"," \
	"\"created_at\":\"2025-05-01T10:00:00+00:00\",\"shipment_delivery_date\":null," \
	"\"latest_estimated_delivery\":{\"type\":\"specific\",\"datetime\":\"2025-05-09\"}," \
	"\"courier_estimated_delivery_date\":{\"estimated_delivery_date\":\"2025-05-10\"}," \
	"\"expected_delivery\":\"2025-05-11\"," \
	"\"checkpoints\":[" \
	"{\"checkpoint_time\":\"2025-05-06T11:00:00\",\"message\":\"Local\",\"tag\":\"InTransit\"," \
	" \"subtag\":\"InTransit_002\",\"location\":null,\"city\":\"Louisville\",\"state\":\"KY\"," \
	" \"zip\":null,\"country_region\":\"USA\"}," \
	"{\"checkpoint_time\":\"2025-05-06T11:00:00+01:00\",\"message\":\"Offset\",\"tag\":null," \
	" \"location\":\"Leeds, GB\",\"country_region\":\"GBR\"}," \
	"{\"checkpoint_time\":\"2025-05-06T10:00:00.000Z\",\"message\":null,\"tag\":\"Bogus\"}," \
	"{\"checkpoint_time\":\"2025-05-06\",\"message\":\"Date only\",\"country_iso3\":\"DEU\"}," \
	"{\"checkpoint_time\":null,\"created_at\":\"2025-05-06T09:00:00+00:00\",\"message\":\"Fallback\"}," \
	"{\"checkpoint_time\":null,\"created_at\":null,\"message\":\"No time at all\"}," \
	"\"not an object\"]}"

static void
test_get_unwrapped(void **state)
{
	struct carrier_response r;
	const struct carrier_tracking *t;

	(void)state;
	assert_int_equal(parse(CARRIER_GET, 200,
	    "{\"meta\":{\"code\":200,\"message\":\"OK\",\"type\":\"OK\"},\"data\":"
	    TRACKING_2025 "}", &r), 0);
	assert_int_equal(r.code, 200);
	assert_string_equal(r.type, "OK");
	assert_int_equal(r.ntrackings, 1);
	t = &r.trackings[0];
	assert_string_equal(t->id, "0123456789abcdef0123456789abcdef");
	assert_string_equal(t->legacy_id, "0123456789abcdef01234567");
	assert_string_equal(t->tracking_number, "1Z999");
	assert_string_equal(t->slug, "ups");
	assert_string_equal(t->tag, "InTransit");
	assert_string_equal(t->subtag, "InTransit_099");	/* unknown subtags kept */
	assert_string_equal(t->subtag_message, "Somewhere new");
	assert_string_equal(t->expected_delivery, "2025-05-09");	/* latest first */
	assert_string_equal(t->delivered_at, "");
	assert_true(t->has_updated);
	assert_int_equal(t->updated_ms, 1746525600000LL);
	assert_int_equal(t->ncp, 5);	/* no time at all, and the non-object, dropped */

	assert_string_equal(t->cp[0].time_raw, "2025-05-06T11:00:00");
	assert_true(t->cp[0].time_ok);
	assert_false(t->cp[0].time.has_offset);
	assert_string_equal(t->cp[0].location, "Louisville, KY, USA");
	assert_string_equal(t->cp[0].subtag, "InTransit_002");

	assert_true(t->cp[1].time.has_offset);
	assert_int_equal(t->cp[1].time.ms, 1746525600000LL);
	assert_null(t->cp[1].tag);
	assert_string_equal(t->cp[1].location, "Leeds, GB");	/* as given */

	assert_int_equal(t->cp[2].time.ms, 1746525600000LL);	/* .000Z */
	assert_null(t->cp[2].message);
	assert_null(t->cp[2].tag);	/* not one of the nine */
	assert_string_equal(t->cp[2].location, "");

	assert_false(t->cp[3].time.has_time);	/* date only */
	assert_string_equal(t->cp[3].location, "DEU");	/* *_iso3 */

	assert_string_equal(t->cp[4].time_raw, "2025-05-06T09:00:00+00:00");
	assert_string_equal(t->cp[4].message, "Fallback");
	carrier_response_free(&r);
}

/* Wrapped ({"tracking": ..}) answers read the same, whatever the version. */
static void
test_get_wrapped(void **state)
{
	struct carrier_response r;

	(void)state;
	assert_int_equal(parse(CARRIER_CREATE, 201,
	    "{\"meta\":{\"code\":201},\"data\":{\"tracking\":" TRACKING_2025 "}}", &r), 0);
	assert_int_equal(r.ntrackings, 1);
	assert_string_equal(r.trackings[0].tracking_number, "1Z999");
	assert_int_equal(r.trackings[0].ncp, 5);
	assert_string_equal(r.message, "HTTP 201");	/* no meta.message */
	carrier_response_free(&r);
}

/* Nulls everywhere: nothing is required but an id or a number. */
static void
test_nulls_everywhere(void **state)
{
	struct carrier_response r;
	const struct carrier_tracking *t;

	(void)state;
	assert_int_equal(parse(CARRIER_GET, 200,
	    "{\"meta\":{\"code\":200,\"message\":null,\"type\":null},\"data\":{"
	    "\"id\":\"abc\",\"tracking_number\":null,\"slug\":null,\"tag\":null,"
	    "\"subtag\":null,\"subtag_message\":null,\"updated_at\":null,"
	    "\"latest_estimated_delivery\":null,\"courier_estimated_delivery_date\":null,"
	    "\"expected_delivery\":null,\"shipment_delivery_date\":null,"
	    "\"checkpoints\":null,\"order_id\":null}}", &r), 0);
	assert_int_equal(r.ntrackings, 1);
	t = &r.trackings[0];
	assert_string_equal(t->id, "abc");
	assert_null(t->tracking_number);
	assert_null(t->tag);
	assert_null(t->expected_delivery);
	assert_false(t->has_updated);
	assert_int_equal(t->ncp, 0);
	carrier_response_free(&r);

	/* Neither id nor number: not a tracking. */
	assert_int_equal(parse(CARRIER_GET, 200, "{\"meta\":{\"code\":200},"
	    "\"data\":{\"id\":null,\"tracking_number\":null}}", &r), 0);
	assert_int_equal(r.ntrackings, 0);
	carrier_response_free(&r);
	/* data null or missing */
	assert_int_equal(parse(CARRIER_GET, 200, "{\"meta\":{\"code\":200},\"data\":null}", &r), 0);
	assert_int_equal(r.ntrackings, 0);
	carrier_response_free(&r);
}

/* The expected delivery: latest, else courier's, else legacy; bad ones skipped. */
static void
test_expected_delivery_order(void **state)
{
	struct carrier_response r;

	(void)state;
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"latest_estimated_delivery\":{\"datetime\":\"soon\"},"
	    "\"courier_estimated_delivery_date\":{\"estimated_delivery_date\":\"2025-05-10\"},"
	    "\"expected_delivery\":\"2025-05-11\"}}", &r), 0);
	assert_string_equal(r.trackings[0].expected_delivery, "2025-05-10");
	carrier_response_free(&r);
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"latest_estimated_delivery\":{\"datetime\":\"2025-05-09T12:00:00+02:00\"}}}", &r), 0);
	assert_string_equal(r.trackings[0].expected_delivery, "2025-05-09T12:00:00+02:00");
	carrier_response_free(&r);
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"expected_delivery\":\"2025-05-11T08:00:00\"}}", &r), 0);
	assert_string_equal(r.trackings[0].expected_delivery, "2025-05-11T08:00:00");
	carrier_response_free(&r);
}

/* The estimates by source: ranges, single dates, whose latest_estimated_delivery is. */
static void
test_estimates(void **state)
{
	struct carrier_response r;
	const struct carrier_estimate *c, *p;

	(void)state;
	/* A carrier's range in latest_estimated_delivery wins over its own object. */
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"latest_estimated_delivery\":{\"type\":\"range\",\"source\":\"Carrier EDD\","
	    "\"datetime\":null,\"datetime_min\":\"2025-05-09T08:00:00+02:00\","
	    "\"datetime_max\":\"2025-05-10\"},"
	    "\"courier_estimated_delivery_date\":{\"estimated_delivery_date\":\"2025-05-01\"},"
	    "\"aftership_estimated_delivery_date\":{\"estimated_delivery_date\":\"2025-05-11\","
	    "\"confidence_code\":null,\"estimated_delivery_date_min\":\"2025-05-10\","
	    "\"estimated_delivery_date_max\":\"2025-05-12\"}}}", &r), 0);
	c = &r.trackings[0].est[EST_CARRIER];
	p = &r.trackings[0].est[EST_PREDICTED];
	assert_string_equal(c->earliest, "2025-05-09T06:00:00Z");
	assert_string_equal(c->latest, "2025-05-10");
	assert_string_equal(p->earliest, "2025-05-10");
	assert_string_equal(p->latest, "2025-05-12");
	carrier_response_free(&r);
	/* AfterShip's latest (a single time) is the prediction; the courier's date stays. */
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"latest_estimated_delivery\":{\"type\":\"specific\",\"source\":\"AfterShip EDD\","
	    "\"datetime\":\"2025-05-09T12:00:00\"},"
	    "\"courier_estimated_delivery_date\":{\"estimated_delivery_date\":\"2025-05-08\","
	    "\"estimated_delivery_date_min\":null,\"estimated_delivery_date_max\":null}}}", &r), 0);
	c = &r.trackings[0].est[EST_CARRIER];
	p = &r.trackings[0].est[EST_PREDICTED];
	assert_string_equal(c->earliest, "2025-05-08");
	assert_string_equal(c->latest, "2025-05-08");
	assert_string_equal(p->earliest, "2025-05-09T12:00:00");
	assert_string_equal(p->latest, "2025-05-09T12:00:00");
	carrier_response_free(&r);
	/* A custom EDD is neither's; bounds the wrong way round are swapped; junk skipped. */
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"latest_estimated_delivery\":{\"source\":\"Custom EDD\",\"datetime\":\"2025-06-01\"},"
	    "\"aftership_estimated_delivery_date\":{\"estimated_delivery_date_min\":\"2025-05-12\","
	    "\"estimated_delivery_date_max\":\"2025-05-10\"},"
	    "\"courier_estimated_delivery_date\":{\"estimated_delivery_date\":\"soon\"}}}", &r), 0);
	assert_string_equal(r.trackings[0].est[EST_CARRIER].earliest, "");
	assert_string_equal(r.trackings[0].est[EST_PREDICTED].earliest, "2025-05-10");
	assert_string_equal(r.trackings[0].est[EST_PREDICTED].latest, "2025-05-12");
	carrier_response_free(&r);
	/* Nulls and wrong types everywhere: no estimate. */
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"latest_estimated_delivery\":null,\"courier_estimated_delivery_date\":[],"
	    "\"aftership_estimated_delivery_date\":{\"estimated_delivery_date\":7}}}", &r), 0);
	assert_string_equal(r.trackings[0].est[EST_CARRIER].latest, "");
	assert_string_equal(r.trackings[0].est[EST_PREDICTED].latest, "");
	carrier_response_free(&r);
}

/* Pickup location and note, signed_by, the carrier's link (https only, bounded). */
static void
test_pickup_signer_link(void **state)
{
	struct carrier_response r;
	char body[2400], link[1100];

	(void)state;
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"pickup_location\":\"Post office, 1 Main St\",\"pickup_note\":\"Bring ID\","
	    "\"signed_by\":\"J. DOE\","
	    "\"courier_tracking_link\":\"https://carrier.example/t?n=1Z\"}}", &r), 0);
	assert_string_equal(r.trackings[0].pickup_location, "Post office, 1 Main St");
	assert_string_equal(r.trackings[0].pickup_note, "Bring ID");
	assert_string_equal(r.trackings[0].signed_by, "J. DOE");
	assert_string_equal(r.trackings[0].tracking_link, "https://carrier.example/t?n=1Z");
	carrier_response_free(&r);
	/* Not https, a blank, a control character: none; the older name is read. */
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"courier_tracking_link\":\"http://carrier.example/t\","
	    "\"courier_redirect_link\":\"https://carrier.example/r\","
	    "\"pickup_location\":\"a\\u0007b\",\"pickup_note\":null,\"signed_by\":\"\"}}", &r), 0);
	assert_string_equal(r.trackings[0].tracking_link, "https://carrier.example/r");
	assert_null(r.trackings[0].pickup_location);
	assert_null(r.trackings[0].pickup_note);
	assert_null(r.trackings[0].signed_by);
	carrier_response_free(&r);
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"courier_tracking_link\":\"https://a b\",\"courier_redirect_link\":\"javascript:x\"}}",
	    &r), 0);
	assert_null(r.trackings[0].tracking_link);
	carrier_response_free(&r);
	/* Longer than CARRIER_MAX_LINK: none. */
	memset(link, 'x', sizeof(link));
	link[sizeof(link) - 1] = '\0';
	snprintf(body, sizeof(body), "{\"data\":{\"id\":\"a\","
	    "\"courier_tracking_link\":\"https://%s\"}}", link);
	assert_int_equal(parse(CARRIER_GET, 200, body, &r), 0);
	assert_null(r.trackings[0].tracking_link);
	carrier_response_free(&r);
}

/* Actual delivery: UTC when the offset is known, else as given. */
static void
test_delivered_at(void **state)
{
	struct carrier_response r;

	(void)state;
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"shipment_delivery_date\":\"2025-05-06T11:30:00+01:00\"}}", &r), 0);
	assert_string_equal(r.trackings[0].delivered_at, "2025-05-06T10:30:00Z");
	carrier_response_free(&r);
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"shipment_delivery_date\":\"2025-05-06T11:30:00\"}}", &r), 0);
	assert_string_equal(r.trackings[0].delivered_at, "2025-05-06T11:30:00");
	carrier_response_free(&r);
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"a\","
	    "\"shipment_delivery_date\":\"yesterday\"}}", &r), 0);
	assert_string_equal(r.trackings[0].delivered_at, "");
	carrier_response_free(&r);
}

/* Bounds: long or odd strings are dropped, checkpoints capped. */
static void
test_bounds(void **state)
{
	struct carrier_response r;
	struct buf b;
	char longid[CARRIER_MAX_ID + 2];

	(void)state;
	memset(longid, 'a', sizeof(longid) - 1);
	longid[sizeof(longid) - 1] = '\0';
	buf_init(&b, 1 << 20);
	buf_printf(&b, "{\"data\":{\"id\":\"%s\",\"tracking_number\":\"N\\u0001\","
	    "\"slug\":\"ups\",\"checkpoints\":[", longid);
	for (int i = 0; i < CARRIER_MAX_CHECKPOINTS + 20; i++)
		buf_printf(&b, "%s{\"checkpoint_time\":\"2025-05-06\",\"message\":\"m%d\"}",
		    i ? "," : "", i);
	buf_printf(&b, "]}}");
	/* No usable id or number: not a tracking. */
	assert_int_equal(carrier_response_parse(CARRIER_GET, 200, b.data, b.len, &r), 0);
	assert_int_equal(r.ntrackings, 0);
	carrier_response_free(&r);

	buf_reset(&b);
	buf_printf(&b, "{\"data\":{\"id\":\"ok\",\"checkpoints\":[");
	for (int i = 0; i < CARRIER_MAX_CHECKPOINTS + 20; i++)
		buf_printf(&b, "%s{\"checkpoint_time\":\"2025-05-06\",\"message\":\"m%d\"}",
		    i ? "," : "", i);
	buf_printf(&b, "]}}");
	assert_int_equal(carrier_response_parse(CARRIER_GET, 200, b.data, b.len, &r), 0);
	assert_int_equal(r.trackings[0].ncp, CARRIER_MAX_CHECKPOINTS);
	carrier_response_free(&r);

	/* Deeper than CARRIER_MAX_DEPTH: refused as not JSON. */
	buf_reset(&b);
	for (int i = 0; i < CARRIER_MAX_DEPTH + 5; i++)
		buf_append(&b, "[", 1);
	for (int i = 0; i < CARRIER_MAX_DEPTH + 5; i++)
		buf_append(&b, "]", 1);
	assert_int_equal(carrier_response_parse(CARRIER_GET, 200, b.data, b.len, &r), -1);
	buf_free(&b);
}

static void
test_list_cursor(void **state)
{
	struct carrier_response r;

	(void)state;
	assert_int_equal(parse(CARRIER_LIST, 200, "{\"meta\":{\"code\":200},\"data\":{"
	    "\"pagination\":{\"total\":3,\"next_cursor\":\"Y3Vy\",\"has_next_page\":true},"
	    "\"trackings\":[{\"id\":\"a\"},{\"id\":\"b\",\"tag\":\"Delivered\"},"
	    "{\"id\":null},{\"id\":\"c\"}]}}", &r), 0);
	assert_int_equal(r.ntrackings, 3);
	assert_string_equal(r.trackings[1].tag, "Delivered");
	assert_true(r.has_next);
	assert_string_equal(r.next_cursor, "Y3Vy");
	carrier_response_free(&r);
	assert_int_equal(parse(CARRIER_LIST, 200, "{\"data\":{\"pagination\":"
	    "{\"total\":1,\"next_cursor\":null,\"has_next_page\":false},"
	    "\"trackings\":[]}}", &r), 0);
	assert_false(r.has_next);
	assert_int_equal(r.ntrackings, 0);
	carrier_response_free(&r);
}

static void
test_list_pages(void **state)
{
	struct carrier_response r;

	(void)state;
	assert_int_equal(parse(CARRIER_LIST, 200, "{\"data\":{\"page\":1,\"limit\":2,"
	    "\"count\":5,\"trackings\":[{\"id\":\"a\"},{\"id\":\"b\"}]}}", &r), 0);
	assert_true(r.has_next);
	assert_int_equal(r.page, 1);
	carrier_response_free(&r);
	assert_int_equal(parse(CARRIER_LIST, 200, "{\"data\":{\"page\":3,\"limit\":2,"
	    "\"count\":5,\"trackings\":[{\"id\":\"e\"}]}}", &r), 0);
	assert_false(r.has_next);
	carrier_response_free(&r);
	/* An empty page ends the walk even if count says otherwise. */
	assert_int_equal(parse(CARRIER_LIST, 200, "{\"data\":{\"page\":2,\"limit\":2,"
	    "\"count\":9,\"trackings\":[]}}", &r), 0);
	assert_false(r.has_next);
	carrier_response_free(&r);
}

static void
test_error_envelopes(void **state)
{
	struct carrier_response r;

	(void)state;
	assert_int_equal(parse(CARRIER_CREATE, 400, "{\"meta\":{\"code\":4003,"
	    "\"message\":\"Tracking already exists.\",\"type\":\"BadRequest\"},\"data\":{}}", &r), 0);
	assert_int_equal(r.code, 4003);
	assert_string_equal(r.message, "Tracking already exists.");
	assert_int_equal(r.ntrackings, 0);	/* error answers carry no tracking */
	carrier_response_free(&r);
	assert_int_equal(parse(CARRIER_GET, 404, "{\"meta\":{\"code\":4004,"
	    "\"message\":\"Tracking does not exist.\",\"type\":\"BadRequest\"},\"data\":{}}", &r), 0);
	assert_int_equal(r.code, 4004);
	assert_string_equal(r.type, "BadRequest");
	carrier_response_free(&r);
	/* Control characters never reach logs through meta.message. */
	assert_int_equal(parse(CARRIER_GET, 400, "{\"meta\":{\"code\":4005,"
	    "\"message\":\"bad\\nline\\u001b[31m\"}}", &r), 0);
	assert_string_equal(r.message, "badline[31m");
	carrier_response_free(&r);
}

static void
test_not_json(void **state)
{
	struct carrier_response r;

	(void)state;
	assert_int_equal(parse(CARRIER_GET, 503, "503 Service Unavailable\n", &r), -1);
	assert_int_equal(r.http, 503);
	assert_string_equal(r.message, "HTTP 503 \"503 Service Unavailable\" (not JSON)");
	assert_null(r.root);
	carrier_response_free(&r);
	assert_int_equal(parse(CARRIER_GET, 200, "{\"meta\":{\"code\":200},\"data\":{\"id\"", &r), -1);
	carrier_response_free(&r);
	assert_int_equal(parse(CARRIER_GET, 200, "[1,2]", &r), -1);
	carrier_response_free(&r);
	assert_int_equal(carrier_response_parse(CARRIER_GET, 502, "", 0, &r), -1);
	assert_string_equal(r.message, "HTTP 502, unreadable body");
	carrier_response_free(&r);
	assert_int_equal(carrier_response_parse(CARRIER_GET, 500, NULL, 0, &r), -1);
	assert_string_equal(r.message, "HTTP 500, unreadable body");
	carrier_response_free(&r);
	/* Invalid UTF-8 is refused rather than stored. */
	assert_int_equal(parse(CARRIER_GET, 200, "{\"data\":{\"id\":\"\xff\"}}", &r), -1);
	carrier_response_free(&r);
}

static void
test_classify(void **state)
{
	(void)state;
	assert_int_equal(carrier_classify(200, true), CARRIER_OK);
	assert_int_equal(carrier_classify(201, true), CARRIER_OK);
	assert_int_equal(carrier_classify(200, false), CARRIER_UNAVAILABLE);	/* cut body */
	assert_int_equal(carrier_classify(400, true), CARRIER_REFUSED);
	assert_int_equal(carrier_classify(404, true), CARRIER_REFUSED);
	assert_int_equal(carrier_classify(404, false), CARRIER_FAILED);
	assert_int_equal(carrier_classify(401, true), CARRIER_UNAUTHORIZED);
	assert_int_equal(carrier_classify(401, false), CARRIER_UNAUTHORIZED);
	assert_int_equal(carrier_classify(429, true), CARRIER_RATE_LIMITED);
	assert_int_equal(carrier_classify(429, false), CARRIER_RATE_LIMITED);
	assert_int_equal(carrier_classify(500, false), CARRIER_UNAVAILABLE);
	assert_int_equal(carrier_classify(503, true), CARRIER_UNAVAILABLE);
	assert_int_equal(carrier_classify(408, false), CARRIER_UNAVAILABLE);
	assert_int_equal(carrier_classify(302, false), CARRIER_FAILED);
	assert_int_equal(carrier_classify(0, false), CARRIER_FAILED);
	assert_string_equal(carrier_outcome_name(CARRIER_RATE_LIMITED), "rate limited");
}

static void
line(struct carrier_headers *h, const char *s)
{
	carrier_header_line(h, s, strlen(s));
}

static void
test_headers(void **state)
{
	struct carrier_headers h;

	(void)state;
	carrier_headers_init(&h);
	assert_int_equal(h.remaining, -1);
	assert_int_equal(h.reset_s, -1);
	line(&h, "X-RateLimit-Limit: 5\r\n");
	line(&h, "x-ratelimit-remaining:0\r\n");
	line(&h, "X-RATELIMIT-RESET:   1746525601 \r\n");
	line(&h, "Retry-After: 2\r\n");
	line(&h, "as-api-version: 2024-10\r\n");
	line(&h, "Content-Type: application/json; charset=utf-8\r\n");
	assert_int_equal(h.limit, 5);
	assert_int_equal(h.remaining, 0);
	assert_int_equal(h.reset_s, 1746525601LL);
	assert_int_equal(h.retry_after_s, 2);
	assert_string_equal(h.api_version, "2024-10");
	assert_true(h.json);

	carrier_headers_init(&h);
	line(&h, "X-RateLimit-Remaining: -3\r\n");
	line(&h, "X-RateLimit-Reset: 12abc\r\n");
	line(&h, "Retry-After: Wed, 21 Oct 2015 07:28:00 GMT\r\n");
	line(&h, "no colon here\r\n");
	line(&h, "Content-Type: text/plain\r\n");
	assert_int_equal(h.remaining, -1);
	assert_int_equal(h.reset_s, -1);
	assert_int_equal(h.retry_after_s, -1);
	assert_int_equal(h.retry_at_s, 1445412480LL);	/* the HTTP-date form */
	assert_false(h.json);
}

/* One header line into fresh headers. */
static struct carrier_headers
one(const char *s)
{
	struct carrier_headers h;

	carrier_headers_init(&h);
	line(&h, s);
	return h;
}

/* Numbers past any sane size saturate: "very long", never an overflow. */
static void
test_headers_huge(void **state)
{
	char big[4200];

	(void)state;
	assert_int_equal(one("Retry-After: 9223372036854775807\r\n").retry_after_s,
	    CARRIER_MAX_HEADER_S);
	assert_int_equal(one("Retry-After: 9223372036854775808\r\n").retry_after_s,
	    CARRIER_MAX_HEADER_S);
	assert_int_equal(one("X-RateLimit-Reset: 9223372036854775807\r\n").reset_s,
	    CARRIER_MAX_HEADER_S);
	assert_int_equal(one("X-RateLimit-Reset: 253402300800\r\n").reset_s,
	    CARRIER_MAX_HEADER_S);
	assert_int_equal(one("X-RateLimit-Reset: 253402300799\r\n").reset_s,
	    253402300799LL);
	assert_int_equal(one("X-RateLimit-Remaining: 18446744073709551616\r\n").remaining,
	    CARRIER_MAX_HEADER_COUNT);
	assert_int_equal(one("X-RateLimit-Limit: 99999999999999999999999\r\n").limit,
	    CARRIER_MAX_HEADER_COUNT);
	/* Leading zeros are not size. */
	assert_int_equal(one("X-RateLimit-Reset: 000000000000000000000000000001746525601"
	    "\r\n").reset_s, 1746525601LL);
	snprintf(big, sizeof(big), "Retry-After: %4000d\r\n", 9);
	for (char *p = big + 13; *p == ' '; p++)
		*p = '9';
	assert_int_equal(one(big).retry_after_s, CARRIER_MAX_HEADER_S);
	/* A date far ahead saturates too. */
	assert_int_equal(one("Retry-After: Fri, 31 Dec 99999 23:59:59 GMT\r\n").retry_at_s,
	    CARRIER_MAX_HEADER_S);
}

/* Not numbers: signs, blanks inside, other bases, empty, junk. */
static void
test_headers_junk(void **state)
{
	static const char *const bad[] = {
		"-1", "+5", "-9223372036854775808", "5 5", "0x10", "1e3", "1.5",
		"", " ", "\t", "5s", "\xff", "Someday", "9,5",
	};
	char l[80];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct carrier_headers h;

		carrier_headers_init(&h);
		snprintf(l, sizeof(l), "Retry-After: %s\r\n", bad[i]);
		line(&h, l);
		snprintf(l, sizeof(l), "X-RateLimit-Reset: %s\r\n", bad[i]);
		line(&h, l);
		snprintf(l, sizeof(l), "X-RateLimit-Remaining: %s\r\n", bad[i]);
		line(&h, l);
		snprintf(l, sizeof(l), "X-RateLimit-Limit: %s\r\n", bad[i]);
		line(&h, l);
		if (h.retry_after_s != -1 || h.retry_at_s != -1 || h.reset_s != -1 ||
		    h.remaining != -1 || h.limit != -1)
			fail_msg("'%s' read as a number", bad[i]);
	}
	/* Blanks around the value are the header's, not the number's. */
	assert_int_equal(one("Retry-After: \t 7 \t\r\n").retry_after_s, 7);
	assert_int_equal(one("Retry-After:0\r\n").retry_after_s, 0);
}

/* The wait a 429 asks for: never negative, never overflowing. */
static void
test_retry_wait(void **state)
{
	const int64_t now = 1746525600000LL;	/* 2025-05-06T10:00:00Z */
	struct carrier_headers h;

	(void)state;
	carrier_headers_init(&h);
	assert_int_equal(carrier_retry_wait_ms(&h, now), 1000);	/* nothing said */
	line(&h, "X-RateLimit-Reset: 1746525601\r\n");
	assert_int_equal(carrier_retry_wait_ms(&h, now), 1000 + CARRIER_RESET_GRACE_MS);
	line(&h, "X-RateLimit-Reset: 1746525000\r\n");	/* already past */
	assert_int_equal(carrier_retry_wait_ms(&h, now), 0);
	line(&h, "Retry-After: Tue, 06 May 2025 10:00:30 GMT\r\n");
	assert_int_equal(carrier_retry_wait_ms(&h, now), 30000);
	line(&h, "Retry-After: Tue, 06 May 2025 09:00:00 GMT\r\n");	/* past */
	assert_int_equal(carrier_retry_wait_ms(&h, now), 0);
	line(&h, "Retry-After: 2\r\n");	/* seconds win over Reset */
	assert_int_equal(carrier_retry_wait_ms(&h, now), 2000);

	carrier_headers_init(&h);
	line(&h, "Retry-After: 9223372036854775807\r\n");
	line(&h, "X-RateLimit-Reset: 9223372036854775807\r\n");
	assert_int_equal(carrier_retry_wait_ms(&h, now), CARRIER_MAX_HEADER_S * 1000);
	carrier_headers_init(&h);
	line(&h, "X-RateLimit-Reset: 9223372036854775807\r\n");
	assert_int_equal(carrier_retry_wait_ms(&h, now),
	    CARRIER_MAX_HEADER_S * 1000 + CARRIER_RESET_GRACE_MS - now);
	assert_true(carrier_retry_wait_ms(&h, 0) > 0);
	assert_int_equal(carrier_retry_wait_ms(&h, CARRIER_MAX_HEADER_S * 1000 + 60000), 0);
}

/* --- the paging guard ---------------------------------------------------- */

/*
 * A list answer: cursor form when cursor is not NULL ("" for the last
 * page), else page form with count saying there is more; n trackings
 * "<tag>-0" .. "<tag>-(n-1)".
 */
static void
list_answer(struct carrier_response *r, const char *cursor, const char *tag, int n)
{
	char body[4096];
	size_t len;

	if (cursor != NULL)
		len = (size_t)snprintf(body, sizeof(body), "{\"data\":{\"pagination\":"
		    "{\"total\":999,\"next_cursor\":\"%s\",\"has_next_page\":%s},"
		    "\"trackings\":[", cursor, *cursor ? "true" : "false");
	else
		len = (size_t)snprintf(body, sizeof(body), "{\"data\":{\"page\":1,"
		    "\"limit\":%d,\"count\":999999,\"trackings\":[", n);
	for (int i = 0; i < n; i++)
		len += (size_t)snprintf(body + len, sizeof(body) - len, "%s{\"id\":\"%s-%d\"}",
		    i ? "," : "", tag, i);
	snprintf(body + len, sizeof(body) - len, "]}}");
	assert_int_equal(parse(CARRIER_LIST, 200, body, r), 0);
}

static enum carrier_paging
feed_page(struct carrier_pager *p, const char *cursor, const char *tag, int n)
{
	struct carrier_response r;
	enum carrier_paging v;

	list_answer(&r, cursor, tag, n);
	v = carrier_pager_next(p, &r);
	carrier_response_free(&r);
	return v;
}

static void
test_pager_ends(void **state)
{
	struct carrier_pager p;

	(void)state;
	carrier_pager_init(&p, 1000);
	assert_int_equal(feed_page(&p, "c1", "a", 3), CARRIER_PAGE_NEXT);
	assert_int_equal(feed_page(&p, "", "b", 3), CARRIER_PAGE_LAST);
	/* An empty page ends the list whatever it says about more. */
	carrier_pager_init(&p, 1000);
	assert_int_equal(feed_page(&p, "c1", "a", 0), CARRIER_PAGE_LAST);
	carrier_pager_init(&p, 1000);
	assert_int_equal(feed_page(&p, NULL, "a", 0), CARRIER_PAGE_LAST);
	/* The cap: max_pages answered and more offered. */
	carrier_pager_init(&p, 3);
	assert_int_equal(feed_page(&p, "c1", "a", 1), CARRIER_PAGE_NEXT);
	assert_int_equal(feed_page(&p, "c2", "b", 1), CARRIER_PAGE_NEXT);
	assert_int_equal(feed_page(&p, "c3", "c", 1), CARRIER_PAGE_CAPPED);
	assert_int_equal(p.pages, 3);
	/* ... but a last page at the cap is just the last page. */
	carrier_pager_init(&p, 2);
	assert_int_equal(feed_page(&p, "c1", "a", 1), CARRIER_PAGE_NEXT);
	assert_int_equal(feed_page(&p, "", "b", 1), CARRIER_PAGE_LAST);
	carrier_pager_init(&p, 0);	/* at least one page */
	assert_int_equal(feed_page(&p, "c1", "a", 1), CARRIER_PAGE_CAPPED);
}

static void
test_pager_repeats(void **state)
{
	struct carrier_pager p;
	char cur[32], tag[32];

	(void)state;
	/* The same cursor again, whatever the trackings. */
	carrier_pager_init(&p, 1000);
	assert_int_equal(feed_page(&p, "Y3Vy", "a", 2), CARRIER_PAGE_NEXT);
	assert_int_equal(feed_page(&p, "Y3Vy", "b", 2), CARRIER_PAGE_REPEATED);
	/* Page form: the same trackings again. */
	carrier_pager_init(&p, 1000);
	assert_int_equal(feed_page(&p, NULL, "a", 2), CARRIER_PAGE_NEXT);
	assert_int_equal(feed_page(&p, NULL, "b", 2), CARRIER_PAGE_NEXT);
	assert_int_equal(feed_page(&p, NULL, "b", 3), CARRIER_PAGE_NEXT);
	assert_int_equal(feed_page(&p, NULL, "b", 3), CARRIER_PAGE_REPEATED);
	/* Many distinct pages: never a repeat, up to the cap. */
	carrier_pager_init(&p, 5000);
	for (int i = 0; i < 4999; i++) {
		snprintf(cur, sizeof(cur), "c%d", i);
		snprintf(tag, sizeof(tag), "t%d", i);
		assert_int_equal(feed_page(&p, i % 2 ? cur : NULL, tag, 1), CARRIER_PAGE_NEXT);
	}
	assert_int_equal(feed_page(&p, "c-last", "t-last", 1), CARRIER_PAGE_CAPPED);
}

/* Cycles of any length after any lead-in: caught, and never too early. */
static void
test_pager_cycles(void **state)
{
	(void)state;
	for (int mu = 0; mu <= 9; mu++)
		for (int lambda = 1; lambda <= 17; lambda++) {
			struct carrier_pager p;
			enum carrier_paging v = CARRIER_PAGE_NEXT;
			char cur[32];
			int i;

			carrier_pager_init(&p, 100000);
			for (i = 0; i < 1000 && v == CARRIER_PAGE_NEXT; i++) {
				int k = i < mu ? i : mu + (i - mu) % lambda;
				snprintf(cur, sizeof(cur), "c%d", k);
				v = feed_page(&p, cur, "x", 1);
			}
			if (v != CARRIER_PAGE_REPEATED || i <= mu + lambda ||
			    i > 2 * (mu + lambda) + lambda + 1)
				fail_msg("mu %d lambda %d: verdict %d after %d pages",
				    mu, lambda, (int)v, i);
		}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_api_families),
		cmocka_unit_test(test_api_bad_bases),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_create_body),
		cmocka_unit_test(test_slug_map),
		cmocka_unit_test(test_get_unwrapped),
		cmocka_unit_test(test_get_wrapped),
		cmocka_unit_test(test_nulls_everywhere),
		cmocka_unit_test(test_expected_delivery_order),
		cmocka_unit_test(test_delivered_at),
		cmocka_unit_test(test_estimates),
		cmocka_unit_test(test_pickup_signer_link),
		cmocka_unit_test(test_bounds),
		cmocka_unit_test(test_list_cursor),
		cmocka_unit_test(test_list_pages),
		cmocka_unit_test(test_error_envelopes),
		cmocka_unit_test(test_not_json),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_headers_huge),
		cmocka_unit_test(test_headers_junk),
		cmocka_unit_test(test_retry_wait),
		cmocka_unit_test(test_pager_ends),
		cmocka_unit_test(test_pager_repeats),
		cmocka_unit_test(test_pager_cycles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
