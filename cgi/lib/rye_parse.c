/*
 * rye_parse: the pure half of rye.h: answers into structs (the objects in
 * them are rye_objects.c's, their raw text rye_raw.c's), error bodies,
 * classification.  No network, no clock, no allocation that outlives the
 * answer it fills.  Request URLs are rye_url.c's; the headers and the
 * pager are in rye_limits.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "rye.h"
#include "rye_int.h"
#include "text.h"

/* --- answers ------------------------------------------------------------ */

void
rye_answer_init(struct rye_answer *a)
{
	memset(a, 0, sizeof(*a));
	a->retry_after_s = -1;
	a->result = RYE_FAILED;
	buf_init(&a->body, RYE_MAX_BODY);
}

void
rye_answer_free(struct rye_answer *a)
{
	rye_shipment_free(&a->shipment);
	for (size_t i = 0; i < a->nshipments; i++)
		rye_shipment_free(&a->shipments[i]);
	free(a->shipments);
	free(a->events);
	rye_order_free(&a->order);
	free(a->intents);
	json_object_put(a->root);
	buf_free(&a->body);
	rye_answer_init(a);
}

static enum rye_result
invalid(struct rye_answer *a, const char *why)
{
	snprintf(a->message, sizeof(a->message), "HTTP %d: %s", a->http, why);
	return a->result = RYE_INVALID;
}

/* The list's data array, bounded by the API's page size. */
static json_object *
page_data(struct rye_answer *a, size_t *n)
{
	json_object *data = json_get_obj(a->root, "data", json_type_array);
	json_object *pi = json_get_obj(a->root, "pageInfo", json_type_object);
	json_object *more = json_get_obj(pi, "hasNextPage", json_type_boolean);

	if (data == NULL) {
		invalid(a, "a list answer without a data array");
		return NULL;
	}
	if ((*n = json_object_array_length(data)) > RYE_PAGE_MAX) {
		invalid(a, "a page longer than the API's 100 items");
		return NULL;
	}
	a->page.has_next = more != NULL && json_object_get_boolean(more);
	a->page.end_cursor = json_get_token(pi, "endCursor", RYE_MAX_CURSOR);
	a->page.start_cursor = json_get_token(pi, "startCursor", RYE_MAX_CURSOR);
	return data;
}

/*
 * A list answer's elements, each with its raw text: take() reads one
 * element into el (size bytes) and keeps raw, or fails (the element is
 * skipped, counted in a->skipped, and its slot reused).  The array, and
 * in *count the elements kept; what is plural, for the messages.
 */
typedef int (*take_fn)(json_object *o, void *el, struct rye_slice raw);

static void *
list_read(struct rye_answer *a, const char *what, size_t size, take_fn take,
    size_t *count)
{
	struct rye_slice sl[RYE_PAGE_MAX];
	size_t n;
	json_object *data = page_data(a, &n);
	char *v, why[64];

	if (data == NULL)
		return NULL;
	if (rye_raw_data_slices(a->body.data, a->body.len, sl, RYE_PAGE_MAX) != (long)n) {
		snprintf(why, sizeof(why), "the %s' raw text could not be found", what);
		invalid(a, why);
		return NULL;
	}
	if (n > 0 && (v = calloc(n, size)) == NULL) {
		invalid(a, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (take(json_object_array_get_idx(data, i), v + *count * size, sl[i]) == 0)
			(*count)++;
		else
			a->skipped++;
	return n > 0 ? v : NULL;
}

static int
take_shipment(json_object *o, void *el, struct rye_slice raw)
{
	struct rye_shipment *s = el;

	if (rye_shipment_parse(o, s) != 0) {
		rye_shipment_free(s);
		return -1;
	}
	s->raw = raw.p;
	s->raw_len = raw.n;
	return 0;
}

static void
shipments_read(struct rye_answer *a)
{
	a->shipments = list_read(a, "shipments", sizeof(*a->shipments), take_shipment,
	    &a->nshipments);
}

static int
take_intent(json_object *o, void *el, struct rye_slice raw)
{
	struct rye_intent *it = el;

	if (rye_intent_parse(o, it) < 0)
		return -1;
	it->raw = raw.p;
	it->raw_len = raw.n;
	return 0;
}

static void
intents_read(struct rye_answer *a)
{
	a->intents = list_read(a, "intents", sizeof(*a->intents), take_intent,
	    &a->nintents);
}

/* The whole body (an object asked for by id), without surrounding blanks. */
static void
whole_body(const struct rye_answer *a, const char **raw, size_t *len)
{
	const char *p = rye_skip_ws(a->body.data, a->body.data + a->body.len);
	const char *e = a->body.data + a->body.len;

	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	*raw = p;
	*len = (size_t)(e - p);
}

/* One element of the events list: its id (needed), type, time, source. */
static int
take_event(json_object *o, void *el, struct rye_slice raw)
{
	json_object *src = json_get_obj(o, "source", json_type_object);
	struct rye_event *e = el;

	memset(e, 0, sizeof(*e));
	if (!json_object_is_type(o, json_type_object) ||
	    (e->id = json_get_token(o, "id", RYE_MAX_ID)) == NULL)
		return -1;
	e->type = json_get_token(o, "type", RYE_MAX_NAME);
	e->created_at = rye_get_date(o, "createdAt");
	e->source_type = json_get_token(src, "type", RYE_MAX_TOKEN);
	e->source_id = json_get_token(src, "id", RYE_MAX_ID);
	e->raw = raw.p;
	e->raw_len = raw.n;
	return 0;
}

static void
events_read(struct rye_answer *a)
{
	a->events = list_read(a, "events", sizeof(*a->events), take_event, &a->nevents);
}

/* GraphQL: UNAUTHENTICATED or FORBIDDEN in any error's extensions.code. */
static bool
gql_auth_error(json_object *errors)
{
	size_t n = rye_array_len(errors, 20, NULL);

	for (size_t i = 0; i < n; i++) {
		json_object *ext = json_get_obj(json_object_array_get_idx(errors, i),
		    "extensions", json_type_object);
		const char *code = json_get_token(ext, "code", RYE_MAX_TOKEN);
		if (code != NULL && (strcmp(code, "UNAUTHENTICATED") == 0 ||
		    strcmp(code, "FORBIDDEN") == 0))
			return true;
	}
	return false;
}

/* The raw text of data.orderByID and of each event kept from it. */
static int
order_raw(struct rye_answer *a, json_object *ord)
{
	static const char *const path[] = { "data", "orderByID" };
	static const char *const events[] = { "data", "orderByID", "events" };
	struct rye_slice obj, *sl = NULL;
	json_object *arr = json_get_obj(ord, "events", json_type_array);
	size_t n = arr ? json_object_array_length(arr) : 0, k = 0;
	long got;

	if (rye_path_slice(a->body.data, a->body.len, path, 2, &obj) < 0)
		return -1;
	a->order.raw = obj.p;
	a->order.raw_len = obj.n;
	if (a->order.nevents == 0)
		return 0;
	if ((sl = calloc(n, sizeof(*sl))) == NULL)
		return -1;
	got = rye_path_array_slices(a->body.data, a->body.len, events, 3, sl, n);
	for (size_t i = 0; got == (long)n && i < n && k < a->order.nevents; i++)
		if (rye_order_event_kept(json_object_array_get_idx(arr, i))) {
			a->order.events[k].raw = sl[i].p;
			a->order.events[k++].raw_len = sl[i].n;
		}
	free(sl);
	return got == (long)n ? 0 : -1;
}

static void
order_read(struct rye_answer *a)
{
	json_object *errors = json_get_obj(a->root, "errors", json_type_array);
	json_object *data = json_get_obj(a->root, "data", json_type_object), *ord = NULL;
	bool has_errors = errors != NULL && json_object_array_length(errors) > 0;

	if (data != NULL && json_object_object_get_ex(data, "orderByID", &ord) &&
	    json_object_is_type(ord, json_type_object)) {
		if (rye_order_parse(ord, &a->order) < 0)
			invalid(a, "orderByID without a usable id");
		else if (order_raw(a, ord) < 0) {
			/* Half an order (events without their text) is no order. */
			rye_order_free(&a->order);
			invalid(a, "orderByID's raw text could not be found");
		}
		return;	/* partial data with errors: the order is what was asked */
	}
	if (has_errors) {
		a->result = gql_auth_error(errors) ? RYE_UNAUTHORIZED : RYE_REFUSED;
		return;
	}
	if (data != NULL && json_object_object_get_ex(data, "orderByID", &ord) &&
	    ord == NULL) {
		snprintf(a->message, sizeof(a->message), "HTTP %d: orderByID is null "
		    "(an unknown or unsubmitted id)", a->http);
		a->result = RYE_NOT_FOUND;
		return;
	}
	invalid(a, "a GraphQL answer without data.orderByID or errors");
}

/* retryAfter: seconds (the unit is not documented), a number or a numeric string. */
static long
retry_after_of(json_object *v)
{
	const char *s;
	char *end;
	double d;

	if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
		d = json_object_get_double(v);
	else if ((s = json_str_of(v, 32)) != NULL) {
		d = strtod(s, &end);
		if (end == s || *end != '\0')
			return -1;
	} else
		return -1;
	if (!(d >= 0))		/* negative, or NaN (json-c reads "NaN" unless strict) */
		return -1;
	return d > RYE_MAX_HEADER_S ? RYE_MAX_HEADER_S : (long)(d + 0.999);
}

/* REST {"name","message","retryAfter"}, or GraphQL {"errors":[{"message"}]}. */
static void
error_read(struct rye_answer *a)
{
	json_object *errors = json_get_obj(a->root, "errors", json_type_array), *v = NULL;
	json_object *first = errors ? json_object_array_get_idx(errors, 0) : NULL;
	const char *name, *msg;
	size_t len;

	if (first != NULL) {
		name = json_get_token(json_get_obj(first, "extensions", json_type_object), "code",
		    RYE_MAX_TOKEN);
		msg = json_get_str(first, "message", RYE_MAX_TEXT);
	} else {
		name = json_get_token(a->root, "name", RYE_MAX_TOKEN);
		msg = json_get_str(a->root, "message", RYE_MAX_TEXT);
	}
	if (name != NULL)
		text_clean_copy(a->error_name, sizeof(a->error_name), name, strlen(name));
	len = (size_t)snprintf(a->message, sizeof(a->message), "HTTP %d%s%s%s",
	    a->http, name ? ": " : "", a->error_name, msg ? ": " : "");
	if (msg != NULL && len < sizeof(a->message))
		text_clean_copy(a->message + len, sizeof(a->message) - len, msg, strlen(msg));
	if (json_object_object_get_ex(a->root, "retryAfter", &v))
		a->retry_after_s = retry_after_of(v);
}

/* The first line of a body that is not JSON, for the message. */
static void
unreadable(struct rye_answer *a, const char *body, size_t len)
{
	char first[120];
	const char *nl = memchr(body, '\n', len);

	text_clean_copy(first, sizeof(first), body, nl ? (size_t)(nl - body) : len);
	snprintf(a->message, sizeof(a->message), "HTTP %d%s%s%s", a->http,
	    first[0] ? " \"" : ", unreadable body", first,
	    first[0] ? "\" (not JSON)" : "");
}

int
rye_answer_parse(enum rye_op op, int http, const char *body, size_t len,
    struct rye_answer *a)
{
	rye_answer_free(a);
	a->http = http;
	if (body == NULL)
		body = "", len = 0;
	if (len > RYE_MAX_BODY || buf_append(&a->body, body, len) < 0 ||
	    (a->root = rye_parse_json(a->body.data, len)) == NULL ||
	    !json_object_is_type(a->root, json_type_object)) {
		json_object_put(a->root);
		a->root = NULL;
		unreadable(a, body, len);
		a->result = rye_classify(http, false);
		if (a->result == RYE_OK)
			a->result = RYE_INVALID;
		return -1;
	}
	error_read(a);
	if ((a->result = rye_classify(http, true)) != RYE_OK)
		return 0;
	switch (op) {
	case RYE_GET_INTENT:
		if (rye_intent_parse(a->root, &a->intent) < 0)
			invalid(a, "a checkout intent without a usable id");
		whole_body(a, &a->intent.raw, &a->intent.raw_len);
		break;
	case RYE_GET_SHIPMENT:
		if (rye_shipment_parse(a->root, &a->shipment) < 0)
			invalid(a, "a shipment without a usable id");
		whole_body(a, &a->shipment.raw, &a->shipment.raw_len);
		break;
	case RYE_LIST_SHIPMENTS:
	case RYE_FIND_SHIPMENTS:
		shipments_read(a);
		break;
	case RYE_LIST_INTENTS:
		intents_read(a);
		break;
	case RYE_LIST_EVENTS:
		events_read(a);
		break;
	case RYE_ORDER_BY_ID:
		order_read(a);
		break;
	default:
		invalid(a, "unknown operation");
		break;
	}
	return 0;
}

enum rye_result
rye_classify(int http, bool json_object_body)
{
	if (http >= 200 && http <= 299)
		return json_object_body ? RYE_OK : RYE_INVALID;
	if (http == 401 || http == 403)
		return RYE_UNAUTHORIZED;
	if (http == 404)	/* Rye's own 404 has a JSON body; a wrong base URL's may not */
		return json_object_body ? RYE_NOT_FOUND : RYE_FAILED;
	if (http == 429)
		return RYE_RATE_LIMITED;
	if (http == 408 || (http >= 500 && http <= 599))
		return RYE_UNAVAILABLE;
	if (http >= 400 && http <= 499)
		return RYE_REFUSED;
	return RYE_FAILED;
}

const char *
rye_result_name(enum rye_result r)
{
	static const char *const names[] = {
		[RYE_OK] = "ok", [RYE_NOT_FOUND] = "not found",
		[RYE_UNAUTHORIZED] = "unauthorized", [RYE_RATE_LIMITED] = "rate limited",
		[RYE_UNAVAILABLE] = "unavailable", [RYE_REFUSED] = "refused",
		[RYE_INVALID] = "invalid answer", [RYE_STOPPED] = "stopped",
		[RYE_FAILED] = "failed",
	};

	return (unsigned)r < RYE_RESULT__MAX ? names[r] : "?";
}

const char *
rye_op_name(enum rye_op op)
{
	static const char *const names[] = {
		[RYE_GET_INTENT] = "get intent", [RYE_LIST_SHIPMENTS] = "list shipments",
		[RYE_GET_SHIPMENT] = "get shipment", [RYE_LIST_EVENTS] = "list events",
		[RYE_ORDER_BY_ID] = "orderByID", [RYE_LIST_INTENTS] = "list intents",
		[RYE_FIND_SHIPMENTS] = "find shipments",
	};

	return (unsigned)op < RYE_OP__MAX ? names[op] : "?";
}
