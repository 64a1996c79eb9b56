/*
 * rye_parse: the pure half of rye.h: request URLs and the GraphQL body,
 * answers into structs, error bodies, classification.  No network, no
 * clock, no allocation that outlives the answer it fills.  The headers
 * and the pager are in rye_limits.c.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "apiclient.h"
#include "json.h"
#include "rye.h"
#include "text.h"
#include "timefmt.h"

const char rye_order_query[] =
    "query OrderById($id: ID!) { orderByID(id: $id) {"
    " id status marketplace marketplaceOrderIds"
    " cart { buyerIdentity { email postalCode } }"
    " shipments { carrierName carrierTrackingNumber carrierTrackingUrl }"
    " events { __typename id createdAt"
    " ... on OrderFailedOrderEvent { reason }"
    " ... on OrderCancelFailedOrderEvent { reason } } } }";

/* --- small helpers ----------------------------------------------------- */

/* A date-time timefmt accepts. */
static const char *
get_date(json_object *o, const char *key)
{
	const char *s = json_get_token(o, key, RYE_MAX_DATE);
	struct timeval_iso tv;

	return s != NULL && timefmt_parse(s, &tv) == 0 ? s : NULL;
}

/* A link a page may show: http(s) only. */
static const char *
get_link(json_object *o, const char *key)
{
	const char *s = json_get_token(o, key, RYE_MAX_LINK);

	if (s == NULL || (strncasecmp(s, "https://", 8) != 0 &&
	    strncasecmp(s, "http://", 7) != 0) || strchr(s, ' ') != NULL)
		return NULL;
	return s;
}

/* An array's length, bounded; 0 when it is not an array. */
static size_t
array_len(json_object *arr, size_t max, bool *truncated)
{
	size_t n = arr ? json_object_array_length(arr) : 0;

	if (truncated != NULL)
		*truncated = n > max;
	return n > max ? max : n;
}

/* --- requests ------------------------------------------------------------ */

int
rye_url_check(const char *url)
{
	const char *host;

	if (url == NULL || strlen(url) > 1024 || !text_printable(url) ||
	    strpbrk(url, "?# ") != NULL)
		return -1;
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return -1;
	return *host == '\0' || *host == '/' ? -1 : 0;
}

/* The REST base, without trailing slashes or a trailing "/api/v1". */
static int
put_base(const char *base, struct buf *out)
{
	size_t len;

	if (rye_url_check(base) < 0)
		return -1;
	len = strlen(base);
	while (len > 0 && base[len - 1] == '/')
		len--;
	if (len >= 7 && strncmp(base + len - 7, "/api/v1", 7) == 0)
		len -= 7;
	while (len > 0 && base[len - 1] == '/')
		len--;
	buf_reset(out);
	return buf_append(out, base, len) < 0 || buf_append(out, "/api/v1/", 8) < 0 ?
	    -1 : 0;
}

static bool
id_ok(const char *id)
{
	return id != NULL && *id != '\0' && strlen(id) <= RYE_MAX_ID;
}

static int
put_paging(struct buf *out, const char *after, int limit)
{
	if (limit < 1 || limit > RYE_PAGE_MAX)
		limit = RYE_PAGE_MAX;
	if (buf_printf(out, "?limit=%d", limit) < 0)
		return -1;
	if (after != NULL && *after != '\0') {
		if (strlen(after) > RYE_MAX_CURSOR || buf_append(out, "&after=", 7) < 0 ||
		    apiclient_put_escaped(out, after) < 0)
			return -1;
	}
	return out->len > RYE_MAX_URL ? -1 : 0;
}

static int
url_one(const char *base, const char *what, const char *id, struct buf *out)
{
	if (!id_ok(id) || put_base(base, out) < 0 ||
	    buf_append(out, what, strlen(what)) < 0 || apiclient_put_escaped(out, id) < 0)
		return -1;
	return out->len > RYE_MAX_URL ? -1 : 0;
}

int
rye_url_intent(const char *base, const char *id, struct buf *out)
{
	return url_one(base, "checkout-intents/", id, out);
}

int
rye_url_shipment(const char *base, const char *id, struct buf *out)
{
	return url_one(base, "shipments/", id, out);
}

int
rye_url_shipments(const char *base, const char *intent_id, const char *after,
    int limit, struct buf *out)
{
	if (url_one(base, "checkout-intents/", intent_id, out) < 0 ||
	    buf_append(out, "/shipments", 10) < 0)
		return -1;
	return put_paging(out, after, limit);
}

int
rye_url_events(const char *base, const char *after, int limit, struct buf *out)
{
	if (put_base(base, out) < 0 || buf_append(out, "events", 6) < 0)
		return -1;
	return put_paging(out, after, limit);
}

/* base/what?key=ids[0]&key=ids[1]...&limit=n */
static int
url_by_ids(const char *base, const char *what, const char *key,
    const char *const *ids, size_t n, struct buf *out)
{
	if (n == 0 || n > RYE_IDS_MAX || put_base(base, out) < 0 ||
	    buf_append(out, what, strlen(what)) < 0 ||
	    buf_printf(out, "?limit=%zu", n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!id_ok(ids[i]) || buf_printf(out, "&%s=", key) < 0 ||
		    apiclient_put_escaped(out, ids[i]) < 0)
			return -1;
	return out->len > RYE_MAX_URL ? -1 : 0;
}

int
rye_url_intents_by_id(const char *base, const char *const *ids, size_t n,
    struct buf *out)
{
	return url_by_ids(base, "checkout-intents", "id", ids, n, out);
}

int
rye_url_shipments_by_id(const char *base, const char *const *ids, size_t n,
    struct buf *out)
{
	return url_by_ids(base, "shipments", "ids", ids, n, out);
}

int
rye_body_order_by_id(const char *id, struct buf *out)
{
	json_object *root, *vars;
	const char *s;
	int rc = -1;

	if (!id_ok(id) || (root = json_object_new_object()) == NULL)
		return -1;
	if ((vars = json_object_new_object()) == NULL)
		goto err;
	json_object_object_add(root, "query", json_object_new_string(rye_order_query));
	json_object_object_add(vars, "id", json_object_new_string(id));
	json_object_object_add(root, "variables", vars);
	s = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	buf_reset(out);
	if (s != NULL && buf_append(out, s, strlen(s)) == 0)
		rc = 0;
err:
	json_object_put(root);
	return rc;
}

/* --- objects ------------------------------------------------------------- */

int
rye_intent_parse(json_object *o, struct rye_intent *out)
{
	json_object *buyer, *failure;

	memset(out, 0, sizeof(*out));
	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    (out->id = json_get_token(o, "id", RYE_MAX_ID)) == NULL)
		return -1;
	out->state = json_get_token(o, "state", RYE_MAX_TOKEN);
	out->created_at = get_date(o, "createdAt");
	out->reference_id = json_get_token(o, "referenceId", RYE_MAX_NAME);
	out->order_id = json_get_token(o, "orderId", RYE_MAX_ID);
	failure = json_get_obj(o, "failureReason", json_type_object);
	out->failure_code = json_get_token(failure, "code", RYE_MAX_TOKEN);
	out->failure_message = json_get_str(failure, "message", RYE_MAX_TEXT);
	buyer = json_get_obj(o, "buyer", json_type_object);
	out->email = json_get_token(buyer, "email", RYE_MAX_EMAIL);
	out->postal_code = json_get_token(buyer, "postalCode", RYE_MAX_POSTAL);
	out->country = json_get_token(buyer, "country", RYE_MAX_TOKEN);
	out->first_name = json_get_str(buyer, "firstName", RYE_MAX_NAME);
	out->last_name = json_get_str(buyer, "lastName", RYE_MAX_NAME);
	return 0;
}

/* One trackingEvents element, either form; -1 when it says nothing. */
static int
tracking_event_parse(json_object *o, struct rye_tracking_event *e)
{
	json_object *loc, *ts;

	memset(e, 0, sizeof(*e));
	if (!json_object_is_type(o, json_type_object))
		return -1;
	e->status = json_get_token(o, "status", RYE_MAX_TOKEN);
	e->description = json_get_str(o, "description", RYE_MAX_TEXT);
	if ((loc = json_get_obj(o, "location", json_type_object)) != NULL) {
		e->city = json_get_str(loc, "city", RYE_MAX_NAME);
		e->province = json_get_str(loc, "province", RYE_MAX_NAME);
		e->country = json_get_str(loc, "country", RYE_MAX_NAME);
	} else
		e->location = json_get_str(o, "location", RYE_MAX_TEXT);
	ts = json_get_obj(o, "timestamp", json_type_object);
	e->time_local = get_date(ts, "local");
	e->time_utc = get_date(ts, "utc");
	e->display_date = json_get_str(o, "displayDate", RYE_MAX_TOKEN);
	e->display_time = json_get_str(o, "displayTime", RYE_MAX_TOKEN);
	if (e->status == NULL && e->description == NULL && e->time_local == NULL &&
	    e->time_utc == NULL && e->display_date == NULL)
		return -1;
	return 0;
}

static void
tracking_parse(json_object *o, struct rye_shipment *s)
{
	json_object *t = json_get_obj(o, "tracking", json_type_object);

	if (t == NULL)
		return;
	s->has_tracking = true;
	s->tracking_number = json_get_token(t, "number", RYE_MAX_NUMBER);
	s->carrier_name = json_get_str(t, "carrierName", RYE_MAX_NAME);
	s->tracking_url = get_link(t, "url");
	s->estimated_delivery = get_date(json_get_obj(t, "deliveryDate", json_type_object),
	    "estimated");
	if (s->estimated_delivery == NULL)
		s->estimated_delivery = get_date(t, "estimatedDeliveryDate");
}

int
rye_shipment_parse(json_object *o, struct rye_shipment *s)
{
	json_object *evs;
	size_t n;

	memset(s, 0, sizeof(*s));
	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    (s->id = json_get_token(o, "id", RYE_MAX_ID)) == NULL)
		return -1;
	s->checkout_intent_id = json_get_token(o, "checkoutIntentId", RYE_MAX_ID);
	s->marketplace_order_id = json_get_token(o, "marketplaceOrderId", RYE_MAX_NUMBER);
	s->external_id = json_get_token(o, "externalId", RYE_MAX_ID);
	s->status = json_get_token(o, "status", RYE_MAX_TOKEN);
	s->created_at = get_date(o, "createdAt");
	s->updated_at = get_date(o, "updatedAt");
	s->shipped_at = get_date(o, "shippedAt");
	s->delivered_at = get_date(o, "deliveredAt");
	tracking_parse(o, s);
	evs = json_get_obj(o, "trackingEvents", json_type_array);
	n = array_len(evs, RYE_MAX_TRACKING_EVENTS, &s->events_truncated);
	if (n > 0 && (s->events = calloc(n, sizeof(*s->events))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (tracking_event_parse(json_object_array_get_idx(evs, i),
		    &s->events[s->nevents]) == 0)
			s->nevents++;
	return 0;
}

void
rye_shipment_free(struct rye_shipment *s)
{
	free(s->events);
	s->events = NULL;
	s->nevents = 0;
}

/* The string elements of an array, bounded; nulls and odd ones skipped. */
static int
order_ids_parse(json_object *arr, struct rye_order *o)
{
	bool cut;
	size_t n = array_len(arr, RYE_MAX_ORDER_IDS, &cut);

	o->truncated |= cut;
	if (n > 0 && (o->marketplace_order_ids = calloc(n, sizeof(char *))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *s = json_str_of(json_object_array_get_idx(arr, i), RYE_MAX_NUMBER);
		if (s != NULL && text_printable(s))
			o->marketplace_order_ids[o->nmarketplace_order_ids++] = s;
	}
	return 0;
}

static int
order_shipments_parse(json_object *arr, struct rye_order *o)
{
	bool cut;
	size_t n = array_len(arr, RYE_MAX_ORDER_SHIPMENTS, &cut);

	o->truncated |= cut;
	if (n > 0 && (o->shipments = calloc(n, sizeof(*o->shipments))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		struct rye_order_shipment *s = &o->shipments[o->nshipments];

		if (!json_object_is_type(e, json_type_object))
			continue;
		s->carrier_name = json_get_str(e, "carrierName", RYE_MAX_NAME);
		s->tracking_number = json_get_token(e, "carrierTrackingNumber", RYE_MAX_NUMBER);
		s->tracking_url = get_link(e, "carrierTrackingUrl");
		if (s->carrier_name != NULL || s->tracking_number != NULL)
			o->nshipments++;
	}
	return 0;
}

/* Whether an element of orderByID's events is kept (and so has a slot). */
static bool
order_event_kept(json_object *e)
{
	return json_object_is_type(e, json_type_object) &&
	    json_get_token(e, "__typename", RYE_MAX_NAME) != NULL;
}

static int
order_events_parse(json_object *arr, struct rye_order *o)
{
	bool cut;
	size_t n = array_len(arr, RYE_MAX_ORDER_EVENTS, &cut);

	o->truncated |= cut;
	if (n > 0 && (o->events = calloc(n, sizeof(*o->events))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		struct rye_order_event *ev = &o->events[o->nevents];

		if (!order_event_kept(e))
			continue;
		ev->type_name = json_get_token(e, "__typename", RYE_MAX_NAME);
		ev->id = json_get_token(e, "id", RYE_MAX_ID);
		ev->created_at = get_date(e, "createdAt");
		ev->reason = json_get_str(e, "reason", RYE_MAX_TEXT);
		o->nevents++;
	}
	return 0;
}

int
rye_order_parse(json_object *obj, struct rye_order *o)
{
	json_object *buyer;

	memset(o, 0, sizeof(*o));
	if (obj == NULL || !json_object_is_type(obj, json_type_object) ||
	    (o->id = json_get_token(obj, "id", RYE_MAX_ID)) == NULL)
		return -1;
	o->status = json_get_token(obj, "status", RYE_MAX_TOKEN);
	o->marketplace = json_get_token(obj, "marketplace", RYE_MAX_TOKEN);
	buyer = json_get_obj(json_get_obj(obj, "cart", json_type_object), "buyerIdentity",
	    json_type_object);
	o->email = json_get_token(buyer, "email", RYE_MAX_EMAIL);
	o->postal_code = json_get_token(buyer, "postalCode", RYE_MAX_POSTAL);
	o->country = json_get_token(buyer, "countryCode", RYE_MAX_TOKEN);
	if (order_ids_parse(json_get_obj(obj, "marketplaceOrderIds", json_type_array), o) < 0 ||
	    order_shipments_parse(json_get_obj(obj, "shipments", json_type_array), o) < 0 ||
	    order_events_parse(json_get_obj(obj, "events", json_type_array), o) < 0) {
		rye_order_free(o);
		return -1;
	}
	return 0;
}

void
rye_order_free(struct rye_order *o)
{
	free(o->marketplace_order_ids);
	free(o->shipments);
	free(o->events);
	memset(o, 0, sizeof(*o));
}

/* --- JSON, and the raw text of each element of "data" --------------------- */

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
		p++;
	return p;
}

/* One JSON value at p, parsed by json-c; *next: just after it.  -1 when bad. */
static int
value_at(const char *p, const char *end, json_object **out, const char **next)
{
	struct json_tokener *tok;
	json_object *obj;
	int rc = -1;

	*out = NULL;
	if (p >= end || end - p > (ptrdiff_t)RYE_MAX_BODY ||
	    (tok = json_tokener_new_ex(RYE_MAX_DEPTH)) == NULL)
		return -1;
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, p, (int)(end - p));
	if (json_tokener_get_error(tok) == json_tokener_success) {
		*next = p + json_tokener_get_parse_end(tok);
		*out = obj;
		rc = 0;
	} else
		json_object_put(obj);
	json_tokener_free(tok);
	return rc;
}

/* A whole body: one JSON value and nothing but blanks after it. */
static json_object *
parse_json(const char *text, size_t len)
{
	json_object *obj;
	const char *next;

	if (len == 0 || len > RYE_MAX_BODY ||
	    value_at(text, text + len, &obj, &next) < 0)
		return NULL;
	if (skip_ws(next, text + len) != text + len) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

struct slice {
	const char *p;
	size_t n;
};

/* The value at p, without the blanks json-c may have eaten after it. */
static struct slice
value_slice(const char *p, const char *next)
{
	while (next > p && (next[-1] == ' ' || next[-1] == '\t' ||
	    next[-1] == '\n' || next[-1] == '\r'))
		next--;
	return (struct slice){ p, (size_t)(next - p) };
}

/* The elements of the array at *pp ('['), up to max of them; -1 when bad. */
static long
array_slices(const char **pp, const char *end, struct slice *sl, size_t max)
{
	const char *p = *pp + 1, *next;
	json_object *v;
	long n = 0;

	for (;;) {
		p = skip_ws(p, end);
		if (p < end && *p == ']' && n == 0)
			break;
		if (value_at(p, end, &v, &next) < 0)
			return -1;
		json_object_put(v);
		if ((size_t)n < max)
			sl[n] = value_slice(p, next);
		n++;
		p = skip_ws(next, end);
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		if (p < end && *p == ']')
			break;
		return -1;
	}
	*pp = p + 1;
	return n;
}

/*
 * The raw text of the member key of the object at [p, end), exactly as it
 * is in the body: json-c builds trees and cannot point back into its
 * input, so walk the object here and let json-c read every value (its
 * parse end tells where a value stops).  The last member of that name
 * wins, as in json-c's tree.  0, or -1 when the walk fails or there is
 * no such member.
 */
static int
member_slice(const char *p, const char *end, const char *key, struct slice *out)
{
	const char *next;
	json_object *k, *v;
	int found = -1;

	p = skip_ws(p, end);
	if (p >= end || *p++ != '{')
		return -1;
	for (p = skip_ws(p, end); p < end && *p != '}'; p = skip_ws(p, end)) {
		bool is_key;

		if (value_at(p, end, &k, &p) < 0 || !json_object_is_type(k, json_type_string)) {
			json_object_put(k);
			return -1;
		}
		is_key = strcmp(json_object_get_string(k), key) == 0;
		json_object_put(k);
		p = skip_ws(p, end);
		if (p >= end || *p++ != ':')
			return -1;
		p = skip_ws(p, end);
		if (value_at(p, end, &v, &next) < 0)
			return -1;
		json_object_put(v);
		if (is_key) {
			*out = value_slice(p, next);
			found = 0;
		}
		p = skip_ws(next, end);
		if (p < end && *p == ',')
			p++;
		else if (p >= end || *p != '}')
			return -1;
	}
	return found;
}

/* The value at a path of member names from the body's top; 0 or -1. */
static int
path_slice(const char *body, size_t len, const char *const *path, size_t depth,
    struct slice *out)
{
	*out = (struct slice){ body, len };
	for (size_t i = 0; i < depth; i++)
		if (member_slice(out->p, out->p + out->n, path[i], out) < 0)
			return -1;
	return 0;
}

/* The elements of the array at a path; their number, or -1. */
static long
path_array_slices(const char *body, size_t len, const char *const *path,
    size_t depth, struct slice *sl, size_t max)
{
	struct slice arr;
	const char *p;

	if (path_slice(body, len, path, depth, &arr) < 0 || arr.n == 0 || *arr.p != '[')
		return -1;
	p = arr.p;
	return array_slices(&p, arr.p + arr.n, sl, max);
}

/* The top-level "data" array's elements (list answers). */
static long
raw_data_slices(const char *body, size_t len, struct slice *sl, size_t max)
{
	static const char *const path[] = { "data" };

	return path_array_slices(body, len, path, 1, sl, max);
}

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

static void
shipments_read(struct rye_answer *a)
{
	struct slice sl[RYE_PAGE_MAX];
	size_t n;
	json_object *data = page_data(a, &n);

	if (data == NULL)
		return;
	if (raw_data_slices(a->body.data, a->body.len, sl, RYE_PAGE_MAX) != (long)n) {
		invalid(a, "the shipments' raw text could not be found");
		return;
	}
	if (n > 0 && (a->shipments = calloc(n, sizeof(*a->shipments))) == NULL) {
		invalid(a, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct rye_shipment *s = &a->shipments[a->nshipments];
		if (rye_shipment_parse(json_object_array_get_idx(data, i), s) == 0) {
			s->raw = sl[i].p;
			s->raw_len = sl[i].n;
			a->nshipments++;
		} else {
			rye_shipment_free(s);
			a->skipped++;
		}
	}
}

static void
intents_read(struct rye_answer *a)
{
	struct slice sl[RYE_PAGE_MAX];
	size_t n;
	json_object *data = page_data(a, &n);

	if (data == NULL)
		return;
	if (raw_data_slices(a->body.data, a->body.len, sl, RYE_PAGE_MAX) != (long)n) {
		invalid(a, "the intents' raw text could not be found");
		return;
	}
	if (n > 0 && (a->intents = calloc(n, sizeof(*a->intents))) == NULL) {
		invalid(a, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct rye_intent *it = &a->intents[a->nintents];
		if (rye_intent_parse(json_object_array_get_idx(data, i), it) < 0) {
			a->skipped++;
			continue;
		}
		it->raw = sl[i].p;
		it->raw_len = sl[i].n;
		a->nintents++;
	}
}

/* The whole body (an object asked for by id), without surrounding blanks. */
static void
whole_body(const struct rye_answer *a, const char **raw, size_t *len)
{
	const char *p = skip_ws(a->body.data, a->body.data + a->body.len);
	const char *e = a->body.data + a->body.len;

	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r'))
		e--;
	*raw = p;
	*len = (size_t)(e - p);
}

static int
event_parse(json_object *o, struct rye_event *e)
{
	json_object *src = json_get_obj(o, "source", json_type_object);

	memset(e, 0, sizeof(*e));
	if (!json_object_is_type(o, json_type_object) ||
	    (e->id = json_get_token(o, "id", RYE_MAX_ID)) == NULL)
		return -1;
	e->type = json_get_token(o, "type", RYE_MAX_NAME);
	e->created_at = get_date(o, "createdAt");
	e->source_type = json_get_token(src, "type", RYE_MAX_TOKEN);
	e->source_id = json_get_token(src, "id", RYE_MAX_ID);
	return 0;
}

static void
events_read(struct rye_answer *a)
{
	struct slice sl[RYE_PAGE_MAX];
	size_t n;
	json_object *data = page_data(a, &n);

	if (data == NULL)
		return;
	if (raw_data_slices(a->body.data, a->body.len, sl, RYE_PAGE_MAX) != (long)n) {
		invalid(a, "the events' raw text could not be found");
		return;
	}
	if (n > 0 && (a->events = calloc(n, sizeof(*a->events))) == NULL) {
		invalid(a, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct rye_event *e = &a->events[a->nevents];
		if (event_parse(json_object_array_get_idx(data, i), e) < 0) {
			a->skipped++;
			continue;
		}
		e->raw = sl[i].p;
		e->raw_len = sl[i].n;
		a->nevents++;
	}
}

/* GraphQL: UNAUTHENTICATED or FORBIDDEN in any error's extensions.code. */
static bool
gql_auth_error(json_object *errors)
{
	size_t n = array_len(errors, 20, NULL);

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
	struct slice obj, *sl = NULL;
	json_object *arr = json_get_obj(ord, "events", json_type_array);
	size_t n = arr ? json_object_array_length(arr) : 0, k = 0;
	long got;

	if (path_slice(a->body.data, a->body.len, path, 2, &obj) < 0)
		return -1;
	a->order.raw = obj.p;
	a->order.raw_len = obj.n;
	if (a->order.nevents == 0)
		return 0;
	if ((sl = calloc(n, sizeof(*sl))) == NULL)
		return -1;
	got = path_array_slices(a->body.data, a->body.len, events, 3, sl, n);
	for (size_t i = 0; got == (long)n && i < n && k < a->order.nevents; i++)
		if (order_event_kept(json_object_array_get_idx(arr, i))) {
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
		else if (order_raw(a, ord) < 0)
			invalid(a, "orderByID's raw text could not be found");
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
	    (a->root = parse_json(a->body.data, len)) == NULL ||
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
