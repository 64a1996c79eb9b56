/*
 * fuzz_carrier: the pure half of the AfterShip client (carrier_parse.c,
 * carrier_tracking.c): answer bodies, rate-limit header lines, base
 * URLs and the request URLs and bodies built from them.
 *
 * Input: a control byte, then the rest.
 *
 *   bits 0-1  0, 3: an answer to a GET; 1: to a create; 2: to a list
 *   bits 2-4  the HTTP status (table below)
 *   bits 5-6  0, 1: the rest is an answer body; 2: header lines; 3: the
 *             first line is a base URL, the second an id or number (the
 *             GET URL and the create body are built from them)
 *
 * An answer body is handed over as carrier.c hands it: the bytes of its
 * receive buffer, always NUL-terminated after len (buf.h), and NULL when
 * the server sent no byte at all (a buffer that never grew).
 *
 * Besides the sanitizers, the harness checks the bounds carrier.h
 * promises: every kept string within its CARRIER_MAX_* and free of control
 * characters where the header says so, tags one of the nine, at most
 * CARRIER_MAX_CHECKPOINTS checkpoints, messages printable, header numbers
 * saturated at CARRIER_MAX_HEADER_*, and never a negative 429 wait.
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

#include "buf.h"
#include "carrier.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MUST(cond, ...) do {						\
	if (!(cond)) {							\
		fprintf(stderr, "fuzz_carrier: " __VA_ARGS__);		\
		fprintf(stderr, "\n");					\
		abort();						\
	}								\
} while (0)

static const int statuses[8] = { 200, 201, 400, 401, 404, 429, 500, 503 };
static const enum carrier_op ops[4] = {
	CARRIER_GET, CARRIER_CREATE, CARRIER_LIST, CARRIER_GET };

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

static void
check_tracking(const struct carrier_tracking *t)
{
	static const char *const tags[] = { "Pending", "InfoReceived",
	    "InTransit", "OutForDelivery", "AttemptFail", "Delivered",
	    "AvailableForPickup", "Exception", "Expired" };
	bool known = t->tag == NULL;

	MUST(t->id != NULL || t->tracking_number != NULL,
	    "a tracking with neither id nor number was kept");
	check_str(t->id, CARRIER_MAX_ID, true, "id");
	check_str(t->legacy_id, CARRIER_MAX_ID, true, "legacy_id");
	check_str(t->tracking_number, CARRIER_MAX_NUMBER, true, "tracking_number");
	check_str(t->slug, CARRIER_MAX_SLUG, true, "slug");
	check_str(t->subtag, CARRIER_MAX_SLUG, true, "subtag");
	check_str(t->subtag_message, CARRIER_MAX_TEXT, false, "subtag_message");
	check_str(t->expected_delivery, CARRIER_MAX_DATE, true, "expected_delivery");
	for (size_t i = 0; i < sizeof(tags) / sizeof(tags[0]); i++)
		known |= t->tag != NULL && strcmp(t->tag, tags[i]) == 0;
	MUST(known, "tag %s is not one of the nine", t->tag);
	MUST(memchr(t->delivered_at, '\0', sizeof(t->delivered_at)) != NULL,
	    "delivered_at not terminated");
	MUST(t->ncp <= CARRIER_MAX_CHECKPOINTS, "%zu checkpoints", t->ncp);
	for (size_t i = 0; i < t->ncp; i++) {
		const struct carrier_checkpoint *c = &t->cp[i];
		MUST(c->time_raw != NULL, "checkpoint without a time");
		check_str(c->time_raw, CARRIER_MAX_DATE, true, "checkpoint time");
		check_str(c->subtag, CARRIER_MAX_SLUG, true, "checkpoint subtag");
		check_str(c->message, CARRIER_MAX_TEXT, false, "checkpoint message");
		MUST(strlen(c->location) <= CARRIER_MAX_LOCATION, "location too long");
	}
}

static void
answer(enum carrier_op op, int http, const uint8_t *data, size_t size)
{
	struct carrier_response r;
	struct buf b;
	int rc;

	/* What carrier.c passes: its receive buffer, NULL if it never grew. */
	buf_init(&b, CARRIER_MAX_BODY);
	MUST(size == 0 || buf_append(&b, data, size) == 0, "buf_append");
	rc = carrier_response_parse(op, http, b.data, b.len, &r);
	MUST(rc == 0 || rc == -1, "rc %d", rc);
	MUST(r.http == http, "http %d, not %d", r.http, http);
	MUST(memchr(r.message, '\0', sizeof(r.message)) != NULL &&
	    r.message[0] != '\0' && printable(r.message), "message %.256s", r.message);
	MUST(memchr(r.type, '\0', sizeof(r.type)) != NULL && printable(r.type), "type");
	MUST(rc == 0 || (r.root == NULL && r.ntrackings == 0),
	    "an unreadable answer kept a tree or trackings");
	MUST(op == CARRIER_LIST || r.ntrackings <= 1, "%zu trackings for one",
	    r.ntrackings);
	MUST(r.ntrackings <= (size_t)CARRIER_MAX_BODY, "tracking count");
	for (size_t i = 0; i < r.ntrackings; i++)
		check_tracking(&r.trackings[i]);
	MUST(!r.has_next || op == CARRIER_LIST, "has_next outside a list");
	MUST(memchr(r.next_cursor, '\0', sizeof(r.next_cursor)) != NULL &&
	    printable(r.next_cursor), "next_cursor");
	(void)carrier_classify(http, rc == 0);
	carrier_response_free(&r);
	MUST(r.root == NULL && r.trackings == NULL, "free left pointers");
	buf_free(&b);
}

static void
header_lines(const uint8_t *data, size_t size)
{
	struct carrier_headers h;
	const char *p = (const char *)data, *end = p + size;

	carrier_headers_init(&h);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl + 1 - p) : (size_t)(end - p);
		/* libcurl's header callback: not terminated, CRLF included. */
		char *line = malloc(len ? len : 1);
		MUST(line != NULL, "malloc");
		memcpy(line, p, len);
		carrier_header_line(&h, line, len);
		free(line);
		p += len;
	}
	MUST(h.limit >= -1 && h.remaining >= -1 && h.reset_s >= -1 &&
	    h.retry_after_s >= -1 && h.retry_at_s >= -1, "negative header value");
	MUST(h.limit <= CARRIER_MAX_HEADER_COUNT &&
	    h.remaining <= CARRIER_MAX_HEADER_COUNT &&
	    h.reset_s <= CARRIER_MAX_HEADER_S && h.retry_after_s <= CARRIER_MAX_HEADER_S &&
	    h.retry_at_s <= CARRIER_MAX_HEADER_S, "header value not bounded");
	MUST(carrier_retry_wait_ms(&h, 1746525600000LL) >= 0, "negative wait");
	MUST(memchr(h.api_version, '\0', sizeof(h.api_version)) != NULL &&
	    printable(h.api_version), "api_version");
}

static void
urls(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1), *base, *id, *nl;
	struct carrier_api api;
	struct buf out;

	MUST(text != NULL, "malloc");
	memcpy(text, data, size);
	text[size] = '\0';
	base = text;
	id = "";
	if ((nl = strchr(text, '\n')) != NULL) {
		*nl = '\0';
		id = nl + 1;
	}
	buf_init(&out, CARRIER_MAX_URL);
	if (carrier_api_parse(base, &api) == 0) {
		struct carrier_new n = { .tracking_number = id,
		    .slug = carrier_slug_for(id), .order_id = "ord_fuzz" };

		MUST(api.key_header != NULL, "no key header");
		if (carrier_url_get(base, id, &out) == 0)
			MUST(strlen(out.data) == out.len && printable(out.data),
			    "GET URL %s", out.data);
		buf_reset(&out);
		(void)carrier_url_create(base, &out);
		buf_free(&out);
		buf_init(&out, CARRIER_MAX_BODY);
		if (carrier_body_create(&api, &n, &out) == 0) {
			json_object *o = json_tokener_parse(out.data);
			MUST(o != NULL, "create body is not JSON: %s", out.data);
			json_object_put(o);
		}
	}
	buf_free(&out);
	free(text);
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
	switch ((ctl >> 5) & 3) {
	case 2:
		header_lines(data, size);
		break;
	case 3:
		urls(data, size);
		break;
	default:
		answer(ops[ctl & 3], statuses[(ctl >> 2) & 7], data, size);
		break;
	}
	return 0;
}
