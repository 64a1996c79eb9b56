/*
 * rye_objects: Rye's objects into the structs of rye.h, pure: a gen-2
 * checkout intent, a gen-2 shipment with its tracking events, a gen-1
 * order with its shipments and embedded events.  Strings point into the
 * answer's JSON tree; every one is bounded (RYE_MAX_*), dates must parse,
 * links must be http(s), arrays are cut at their maximum (truncated).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "json.h"
#include "rye.h"
#include "rye_int.h"
#include "text.h"
#include "timefmt.h"

/* --- small helpers ----------------------------------------------------- */

/* A date-time timefmt accepts. */
const char *
rye_get_date(json_object *o, const char *key)
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
size_t
rye_array_len(json_object *arr, size_t max, bool *truncated)
{
	size_t n = arr ? json_object_array_length(arr) : 0;

	if (truncated != NULL)
		*truncated = n > max;
	return n > max ? max : n;
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
	out->created_at = rye_get_date(o, "createdAt");
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
	e->time_local = rye_get_date(ts, "local");
	e->time_utc = rye_get_date(ts, "utc");
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
	s->estimated_delivery = rye_get_date(json_get_obj(t, "deliveryDate", json_type_object),
	    "estimated");
	if (s->estimated_delivery == NULL)
		s->estimated_delivery = rye_get_date(t, "estimatedDeliveryDate");
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
	s->created_at = rye_get_date(o, "createdAt");
	s->updated_at = rye_get_date(o, "updatedAt");
	s->shipped_at = rye_get_date(o, "shippedAt");
	s->delivered_at = rye_get_date(o, "deliveredAt");
	tracking_parse(o, s);
	evs = json_get_obj(o, "trackingEvents", json_type_array);
	n = rye_array_len(evs, RYE_MAX_TRACKING_EVENTS, &s->events_truncated);
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

/*
 * Room for the elements of one of an order's arrays: *n of size bytes,
 * its length but at most max (o->truncated when it was longer); NULL
 * when *n is 0 or memory ran out.
 */
static void *
order_array(json_object *arr, size_t max, size_t size, struct rye_order *o,
    size_t *n)
{
	bool cut;

	*n = rye_array_len(arr, max, &cut);
	o->truncated |= cut;
	return *n > 0 ? calloc(*n, size) : NULL;
}

/* The string elements of an array, bounded; nulls and odd ones skipped. */
static int
order_ids_parse(json_object *arr, struct rye_order *o)
{
	size_t n;

	o->marketplace_order_ids = order_array(arr, RYE_MAX_ORDER_IDS, sizeof(char *), o, &n);
	if (n > 0 && o->marketplace_order_ids == NULL)
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
	size_t n;

	o->shipments = order_array(arr, RYE_MAX_ORDER_SHIPMENTS, sizeof(*o->shipments), o, &n);
	if (n > 0 && o->shipments == NULL)
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
bool
rye_order_event_kept(json_object *e)
{
	return json_object_is_type(e, json_type_object) &&
	    json_get_token(e, "__typename", RYE_MAX_NAME) != NULL;
}

static int
order_events_parse(json_object *arr, struct rye_order *o)
{
	size_t n;

	o->events = order_array(arr, RYE_MAX_ORDER_EVENTS, sizeof(*o->events), o, &n);
	if (n > 0 && o->events == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_object *e = json_object_array_get_idx(arr, i);
		struct rye_order_event *ev = &o->events[o->nevents];

		if (!rye_order_event_kept(e))
			continue;
		ev->type_name = json_get_token(e, "__typename", RYE_MAX_NAME);
		ev->id = json_get_token(e, "id", RYE_MAX_ID);
		ev->created_at = rye_get_date(e, "createdAt");
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
