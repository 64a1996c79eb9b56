/*
 * event_tracking: the shipments a tracking event names (event.h,
 * event_extract_tracking()): a number, a carrier and a link under any of
 * the aliases shared/spec documents, from data.order, data, and each
 * element of data.shipments and data.order.shipments.  Links are kept
 * only when they are http(s); no value longer than its TRACKING_MAX_*
 * or holding a control character is kept.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "event.h"
#include "json.h"
#include "text.h"

/* First alias present as a short, control-free, non-empty string. */
static const char *
first_alias(json_object *o, const char *const *aliases, size_t maxlen)
{
	for (; *aliases != NULL; aliases++) {
		const char *s = json_get_text(o, *aliases);
		if (s != NULL && *s != '\0' && strlen(s) <= maxlen && text_printable(s))
			return s;
	}
	return NULL;
}

static const char *const number_aliases[] = {
	"trackingNumber", "carrierTrackingNumber", "tracking_number", NULL };
static const char *const carrier_aliases[] = {
	"courierName", "carrierName", "courier", "carrier", NULL };
static const char *const url_aliases[] = {
	"courierUrl", "trackingUrl", "carrierTrackingUrl", "tracking_url", NULL };

/* A URL the page may link to: http or https only, never javascript: etc. */
static const char *
safe_url(const char *u)
{
	if (u == NULL)
		return NULL;
	if (strncasecmp(u, "https://", 8) == 0 || strncasecmp(u, "http://", 7) == 0)
		return u;
	return NULL;
}

static void
read_ref(json_object *o, struct tracking_ref *r)
{
	r->number = first_alias(o, number_aliases, TRACKING_MAX_NUMBER);
	r->carrier = first_alias(o, carrier_aliases, TRACKING_MAX_CARRIER);
	r->url = safe_url(first_alias(o, url_aliases, TRACKING_MAX_URL));
}

/* Add r unless its number is already listed; returns the new count. */
static size_t
add_ref(struct tracking_ref *out, size_t n, size_t max, const struct tracking_ref *r)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(out[i].number, r->number) == 0)
			return n;
	if (n < max)
		out[n++] = *r;
	return n;
}

static size_t
add_array(json_object *arr, struct tracking_ref *out, size_t n, size_t max,
    struct tracking_ref *loose)
{
	size_t len = arr ? json_object_array_length(arr) : 0;

	for (size_t i = 0; i < len; i++) {
		json_object *el = json_object_array_get_idx(arr, i);
		struct tracking_ref r;

		if (!json_object_is_type(el, json_type_object))
			continue;
		read_ref(el, &r);
		if (r.number != NULL)
			n = add_ref(out, n, max, &r);
		else if (loose->carrier == NULL && loose->url == NULL)
			*loose = r;
	}
	return n;
}

size_t
event_extract_tracking(json_object *data, struct tracking_ref *out, size_t max)
{
	json_object *order = json_get_obj(data, "order", json_type_object);
	json_object *places[2] = { order, data };
	struct tracking_ref loose = { NULL, NULL, NULL };
	size_t n = 0;

	if (max == 0)
		return 0;
	for (size_t i = 0; i < 2; i++) {
		struct tracking_ref r;
		if (places[i] == NULL)
			continue;
		read_ref(places[i], &r);
		if (r.number != NULL)
			n = add_ref(out, n, max, &r);
		else if (loose.carrier == NULL && loose.url == NULL)
			loose = r;
	}
	n = add_array(json_get_obj(data, "shipments", json_type_array), out, n, max, &loose);
	n = add_array(json_get_obj(order, "shipments", json_type_array), out, n, max, &loose);
	/* Never drop a tracking event: no number means details pending. */
	if (n == 0)
		out[n++] = loose;
	return n;
}
