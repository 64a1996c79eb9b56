/*
 * fuzz_rye: the pure half of the Rye client (rye_parse.c with
 * rye_objects.c and rye_raw.c, rye_url.c, rye_limits.c) and the records
 * the Rye pass builds from its answers (rye_record.c): answer bodies of
 * every operation, rate-limit header lines, and the observations read
 * back as the store reads them (event.c).
 *
 * Input: a control byte, then the rest.
 *
 *   bits 0-2  the operation (table below)
 *   bits 3-5  the HTTP status (table below)
 *   bits 6-7  0, 1: the rest is an answer body; 2: header lines; 3: an
 *             answer body whose objects are also built into the records
 *             the Rye pass stores, and read back
 *
 * An answer body is handed over as rye.c hands it: the bytes of its
 * receive buffer, NUL-terminated after len (buf.h).
 *
 * Besides the sanitizers, the harness checks what rye.h promises: a
 * result in range and a printable message; every kept string within its
 * RYE_MAX_* (and free of control characters where it is a token); lists
 * no longer than RYE_PAGE_MAX; every object's raw text inside the body
 * and itself one JSON value; header numbers within [-1, RYE_MAX_HEADER_S]
 * or a sane count; the pager never loops; a record built from an answer
 * is JSON, keeps Rye's text byte for byte in "data", and reads back as
 * the same record or is refused with a reason (never half read).
 *
 * tests/fuzz/replay.c runs this file without libFuzzer (make check).
 */
#include "config.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "event.h"
#include "rye.h"
#include "rye_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MUST(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_rye: " __VA_ARGS__);		\
		fprintf(stderr, "\n");					\
		abort();						\
	}								\
} while (0)

static const int statuses[8] = { 200, 201, 400, 401, 404, 429, 500, 503 };
static const enum rye_op ops[8] = {
	RYE_GET_INTENT, RYE_LIST_SHIPMENTS, RYE_GET_SHIPMENT, RYE_LIST_EVENTS,
	RYE_ORDER_BY_ID, RYE_LIST_INTENTS, RYE_FIND_SHIPMENTS, RYE_ORDER_BY_ID,
};

static bool
printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

static void
check_str(const char *s, size_t max, bool token, const char *what)
{
	if (s == NULL)
		return;
	MUST(strlen(s) <= max, "%s longer than %zu", what, max);
	MUST(*s != '\0', "%s kept empty", what);
	if (token)
		MUST(printable(s), "%s holds a control character", what);
}

/* The raw text lies inside the body and is one JSON value. */
static void
check_raw(const struct rye_answer *a, const char *raw, size_t len, const char *what)
{
	json_object *o;
	struct json_tokener *tok;

	MUST(raw != NULL && len > 0, "%s without raw text", what);
	MUST(raw >= a->body.data && raw + len <= a->body.data + a->body.len,
	    "%s's raw text outside the body", what);
	tok = json_tokener_new_ex(RYE_MAX_DEPTH + 2);
	MUST(tok != NULL, "tokener");
	o = json_tokener_parse_ex(tok, raw, (int)len);
	MUST(o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	    (size_t)json_tokener_get_parse_end(tok) == len,
	    "%s's raw text is not one JSON value: %.*s", what, (int)(len > 200 ? 200 : len),
	    raw);
	json_object_put(o);
	json_tokener_free(tok);
}

static void
check_intent(const struct rye_intent *i)
{
	check_str(i->id, RYE_MAX_ID, true, "intent id");
	MUST(i->id != NULL, "an intent without id was kept");
	check_str(i->state, RYE_MAX_TOKEN, true, "state");
	check_str(i->reference_id, RYE_MAX_NAME, true, "referenceId");
	check_str(i->email, RYE_MAX_EMAIL, true, "email");
	check_str(i->postal_code, RYE_MAX_POSTAL, true, "postalCode");
	check_str(i->failure_message, RYE_MAX_TEXT, false, "failure message");
}

static void
check_shipment(const struct rye_shipment *s)
{
	MUST(s->id != NULL, "a shipment without id was kept");
	check_str(s->id, RYE_MAX_ID, true, "shipment id");
	check_str(s->checkout_intent_id, RYE_MAX_ID, true, "checkoutIntentId");
	check_str(s->status, RYE_MAX_TOKEN, true, "status");
	check_str(s->tracking_number, RYE_MAX_NUMBER, true, "number");
	check_str(s->carrier_name, RYE_MAX_NAME, false, "carrier");
	check_str(s->tracking_url, RYE_MAX_LINK, true, "url");
	/* Schemes are case-insensitive (RFC 3986): hTtp:// is http. */
	MUST(s->tracking_url == NULL || strncasecmp(s->tracking_url, "http", 4) == 0,
	    "a URL that is not http(s): %s", s->tracking_url);
	MUST(s->nevents <= RYE_MAX_TRACKING_EVENTS, "%zu tracking events", s->nevents);
	for (size_t i = 0; i < s->nevents; i++) {
		check_str(s->events[i].description, RYE_MAX_TEXT, false, "description");
		check_str(s->events[i].time_utc, RYE_MAX_DATE, true, "utc");
	}
}

/* Build the record the Rye pass would store and read it back. */
static void
record(enum sig_scheme scheme, const char *type, const char *kind,
    const char *source_type, const char *id, const char *raw, size_t len)
{
	char digest[RYE_DIGEST_LEN + 1] = "0123456789abcdef", obs[RYE_RECORD_MAX_ID];
	char why[160];
	struct buf body;
	struct event ev;
	enum event_rc rc;
	json_object *o;

	MUST(rye_record_obs_id(obs, sizeof(obs), kind, id, digest, 7) == 0, "obs id");
	buf_init(&body, RYE_MAX_BODY + 4096);
	MUST(rye_record_observation(&body, obs, type, "2026-03-25T00:00:00Z",
	    source_type, id, raw, len) == 0, "observation body");
	o = json_tokener_parse(body.data);
	MUST(o != NULL, "the observation is not JSON: %.300s", body.data);
	json_object_put(o);
	/* "data" comes last: Rye's text, byte for byte, then the closing brace. */
	MUST(body.len > len && memcmp(body.data + body.len - 1 - len, raw, len) == 0,
	    "Rye's text not kept");
	rc = event_parse_record(scheme, body.data, body.len, &ev, why, sizeof(why));
	MUST(rc == EVENT_OK || (rc != EVENT_HANDSHAKE && why[0] != '\0'),
	    "record read back: rc %d without a reason", (int)rc);
	if (rc == EVENT_OK) {
		MUST(ev.record != RECORD_NONE && strcmp(ev.id, obs) == 0 &&
		    strcmp(ev.type, type) == 0, "read back as another record");
		MUST(ev.order_id != NULL && ev.data != NULL, "no order or data");
		MUST(ev.status == NULL || printable(ev.status), "status");
	}
	event_free(&ev);
	buf_free(&body);
}

static void
records(const struct rye_answer *a)
{
	if (a->result != RYE_OK)
		return;
	if (a->intent.id != NULL)
		record(SIG_RYE_V2, RYE_RECORD_INTENT, "intent", "checkout_intent",
		    a->intent.id, a->intent.raw, a->intent.raw_len);
	if (a->shipment.id != NULL && a->shipment.checkout_intent_id != NULL)
		record(SIG_RYE_V2, RYE_RECORD_SHIPMENT, "shipment", "shipment",
		    a->shipment.id, a->shipment.raw, a->shipment.raw_len);
	for (size_t i = 0; i < a->nshipments; i++)
		if (a->shipments[i].checkout_intent_id != NULL)
			record(SIG_RYE_V2, RYE_RECORD_SHIPMENT, "shipment", "shipment",
			    a->shipments[i].id, a->shipments[i].raw,
			    a->shipments[i].raw_len);
	if (a->order.id != NULL)
		record(SIG_RYE_V1, RYE_RECORD_ORDER1, "order1", "order1", a->order.id,
		    a->order.raw, a->order.raw_len);
}

static void
answer(enum rye_op op, int http, const uint8_t *data, size_t size, bool build)
{
	struct rye_answer a;
	struct rye_pager pager;
	struct buf b;
	int rc;

	buf_init(&b, RYE_MAX_BODY);
	MUST(size == 0 || buf_append(&b, data, size) == 0, "buf_append");
	rye_answer_init(&a);
	rc = rye_answer_parse(op, http, b.data, b.len, &a);
	MUST(rc == 0 || rc == -1, "rc %d", rc);
	MUST((unsigned)a.result < RYE_RESULT__MAX, "result %d", (int)a.result);
	MUST(a.message[0] != '\0' || a.result == RYE_OK, "no message");
	MUST(memchr(a.message, '\0', sizeof(a.message)) && printable(a.message), "message");
	MUST(memchr(a.error_name, '\0', sizeof(a.error_name)) && printable(a.error_name),
	    "error name");
	MUST(a.retry_after_s >= -1 && a.retry_after_s <= RYE_MAX_HEADER_S, "retryAfter");
	MUST(a.nshipments <= RYE_PAGE_MAX && a.nevents <= RYE_PAGE_MAX &&
	    a.nintents <= RYE_PAGE_MAX, "a page longer than the API's");
	if (a.intent.id != NULL) {
		check_intent(&a.intent);
		check_raw(&a, a.intent.raw, a.intent.raw_len, "intent");
	}
	for (size_t i = 0; i < a.nintents; i++) {
		check_intent(&a.intents[i]);
		check_raw(&a, a.intents[i].raw, a.intents[i].raw_len, "listed intent");
	}
	if (a.shipment.id != NULL) {
		check_shipment(&a.shipment);
		check_raw(&a, a.shipment.raw, a.shipment.raw_len, "shipment");
	}
	for (size_t i = 0; i < a.nshipments; i++) {
		check_shipment(&a.shipments[i]);
		check_raw(&a, a.shipments[i].raw, a.shipments[i].raw_len, "listed shipment");
	}
	for (size_t i = 0; i < a.nevents; i++) {
		check_str(a.events[i].id, RYE_MAX_ID, true, "event id");
		check_raw(&a, a.events[i].raw, a.events[i].raw_len, "event");
	}
	if (a.order.id != NULL) {
		check_str(a.order.id, RYE_MAX_ID, true, "order id");
		check_raw(&a, a.order.raw, a.order.raw_len, "order");
		MUST(a.order.nevents <= RYE_MAX_ORDER_EVENTS &&
		    a.order.nshipments <= RYE_MAX_ORDER_SHIPMENTS, "order arrays");
		for (size_t i = 0; i < a.order.nevents; i++)
			check_raw(&a, a.order.events[i].raw, a.order.events[i].raw_len,
			    "order event");
	}
	MUST(rye_pager_init(&pager, 3) == 0, "pager");
	for (int i = 0; i < 5 && rye_pager_next(&pager, &a); i++)
		;
	MUST(pager.pages <= 3, "the pager passed its cap");
	rye_pager_free(&pager);
	if (build)
		records(&a);
	rye_answer_free(&a);
	buf_free(&b);
}

static void
header_lines(const uint8_t *data, size_t size)
{
	struct rye_headers h;
	const char *p = (const char *)data, *end = p + size;

	rye_headers_init(&h);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);
		/* libcurl's header callback: not terminated, CRLF included. */
		char *line = malloc(len ? len : 1);
		MUST(line != NULL, "malloc");
		memcpy(line, p, len);
		rye_header_line(&h, line, len, 1774396800);
		free(line);
		p += len;
	}
	MUST(h.reset_s >= -1 && h.reset_s <= RYE_MAX_HEADER_S &&
	    h.window_s >= -1 && h.window_s <= RYE_MAX_HEADER_S &&
	    h.retry_after_s >= -1 && h.retry_after_s <= RYE_MAX_HEADER_S &&
	    h.gql_reset >= -1, "a header time out of bounds");
	MUST(h.remaining >= -1 && h.quota >= -1 && h.gql_remaining >= -1,
	    "a negative header count");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned ctl;

	if (size == 0)
		return 0;
	ctl = data[0];
	data++;
	size--;
	switch ((ctl >> 6) & 3) {
	case 2:
		header_lines(data, size);
		break;
	default:
		answer(ops[ctl & 7], statuses[(ctl >> 3) & 7], data, size,
		    ((ctl >> 6) & 3) == 3);
		break;
	}
	return 0;
}
