/*
 * carrier_tracking: AfterShip's tracking object (in an answer, or an
 * AfterShip push's msg) into struct carrier_tracking: the tag only when
 * it is one AfterShip documents, every documented date form, the
 * estimated delivery from whichever source is latest, http(s) links only,
 * checkpoints with their location joined from its parts; nulls anywhere.
 * Pure, like carrier_parse.c.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "carrier.h"
#include "json.h"
#include "text.h"

/* --- small helpers ----------------------------------------------------- */

/* Copy at most dstsz-1 bytes, cutting only between UTF-8 characters. */
static void
copy_utf8(char *dst, size_t dstsz, const char *src)
{
	size_t n = strlen(src);

	if (n >= dstsz) {
		n = dstsz - 1;
		while (n > 0 && ((unsigned char)src[n] & 0xc0) == 0x80)
			n--;
	}
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* Append "part" to a ", "-separated list in dst. */
static void
join(char *dst, size_t dstsz, const char *part)
{
	size_t len = strlen(dst);

	if (part == NULL || len + 3 >= dstsz)
		return;
	if (len > 0) {
		memcpy(dst + len, ", ", 3);
		len += 2;
	}
	copy_utf8(dst + len, dstsz - len, part);
}

/* --- the tracking object ----------------------------------------------- */

static const char *const tags[] = {
	"Pending", "InfoReceived", "InTransit", "OutForDelivery", "AttemptFail",
	"Delivered", "AvailableForPickup", "Exception", "Expired",
};

static const char *
known_tag(const char *s)
{
	for (size_t i = 0; s != NULL && i < sizeof(tags) / sizeof(tags[0]); i++)
		if (strcmp(s, tags[i]) == 0)
			return tags[i];
	return NULL;
}

/* A date string timefmt accepts, else NULL. */
static const char *
date_str(json_object *o, const char *key, struct timeval_iso *tv)
{
	const char *s = json_get_token(o, key, CARRIER_MAX_DATE - 1);
	struct timeval_iso dummy;

	if (s == NULL || timefmt_parse(s, tv ? tv : &dummy) < 0)
		return NULL;
	return s;
}

/* The expected delivery, in the spec's order of preference. */
static const char *
expected_delivery(json_object *t)
{
	const char *s;

	if ((s = date_str(json_get_obj(t, "latest_estimated_delivery", json_type_object),
	    "datetime", NULL)) != NULL)
		return s;
	if ((s = date_str(json_get_obj(t, "courier_estimated_delivery_date",
	    json_type_object), "estimated_delivery_date", NULL)) != NULL)
		return s;
	return date_str(t, "expected_delivery", NULL);
}

/* A date string in the form the views show: UTC where the offset is known. */
static bool
date_norm(json_object *o, const char *key, char out[CARRIER_MAX_DATE])
{
	struct timeval_iso tv;
	const char *s = date_str(o, key, &tv);

	out[0] = '\0';
	if (s == NULL)
		return false;
	if (tv.has_offset && tv.has_time)
		timefmt_iso_utc(tv.ms, out);
	else
		copy_utf8(out, CARRIER_MAX_DATE, s);
	return true;
}

/*
 * One estimate from obj: the range (min_key, max_key) where given, else
 * the single date (one_key) as both bounds; a range given by one end only
 * takes the single date, or that end, for the other.  Bounds the wrong way
 * round are swapped.  False when obj holds no date at all.
 */
static bool
estimate_of(json_object *obj, const char *one_key, const char *min_key,
    const char *max_key, struct carrier_estimate *e)
{
	char one[CARRIER_MAX_DATE];
	struct timeval_iso a, b;
	bool has_one = date_norm(obj, one_key, one);

	if (!date_norm(obj, min_key, e->earliest) && has_one)
		memcpy(e->earliest, one, sizeof(one));
	if (!date_norm(obj, max_key, e->latest) && has_one)
		memcpy(e->latest, one, sizeof(one));
	if (e->earliest[0] == '\0')
		memcpy(e->earliest, e->latest, sizeof(e->latest));
	if (e->latest[0] == '\0')
		memcpy(e->latest, e->earliest, sizeof(e->earliest));
	if (e->earliest[0] == '\0')
		return false;
	if (timefmt_parse(e->earliest, &a) == 0 && timefmt_parse(e->latest, &b) == 0 &&
	    a.ms > b.ms) {
		memcpy(one, e->earliest, sizeof(one));
		memcpy(e->earliest, e->latest, sizeof(one));
		memcpy(e->latest, one, sizeof(one));
	}
	return true;
}

/* Whose latest_estimated_delivery this is, from its source; -1: neither's. */
static int
latest_source(json_object *l)
{
	const char *src = json_get_token(l, "source", 100);
	char low[101];
	size_t i;

	if (src == NULL)
		return -1;
	for (i = 0; src[i] != '\0'; i++)
		low[i] = (char)tolower((unsigned char)src[i]);
	low[i] = '\0';
	/* "Carrier EDD", "AfterShip EDD"; "Custom EDD", "Order EDD" are neither. */
	if (strstr(low, "carrier") != NULL || strstr(low, "courier") != NULL)
		return EST_CARRIER;
	if (strstr(low, "aftership") != NULL)
		return EST_PREDICTED;
	return -1;
}

/*
 * The estimates by source: latest_estimated_delivery (the newest) where
 * its source says whose it is, else the courier's and AfterShip's own
 * objects.
 */
static void
estimates(json_object *t, struct carrier_tracking *out)
{
	json_object *l = json_get_obj(t, "latest_estimated_delivery", json_type_object);
	int src = latest_source(l);
	struct carrier_estimate *c = &out->est[EST_CARRIER], *p = &out->est[EST_PREDICTED];

	if (src >= 0)
		(void)estimate_of(l, "datetime", "datetime_min", "datetime_max",
		    &out->est[src]);
	if (c->earliest[0] == '\0')
		(void)estimate_of(json_get_obj(t, "courier_estimated_delivery_date",
		    json_type_object), "estimated_delivery_date",
		    "estimated_delivery_date_min", "estimated_delivery_date_max", c);
	if (p->earliest[0] == '\0')
		(void)estimate_of(json_get_obj(t, "aftership_estimated_delivery_date",
		    json_type_object), "estimated_delivery_date",
		    "estimated_delivery_date_min", "estimated_delivery_date_max", p);
}

/* A carrier's page: https, printable, no blanks or quotes, bounded. */
static const char *
https_link(json_object *t, const char *key)
{
	const char *s = json_get_token(t, key, CARRIER_MAX_LINK);

	if (s == NULL || strncasecmp(s, "https://", 8) != 0 || s[8] == '\0' ||
	    strpbrk(s, " \"'<>\\`") != NULL)
		return NULL;
	for (const char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p > 0x7e)
			return NULL;
	return s;
}

/* Free text the page shows: printable (UTF-8 allowed), bounded. */
static const char *
get_text(json_object *o, const char *key, size_t max)
{
	const char *s = json_get_str(o, key, max);

	return s != NULL && text_printable(s) ? s : NULL;
}

/* "Louisville, KY" as given, else city, state, zip and country joined. */
static void
location_of(json_object *c, char *out, size_t outsz)
{
	static const char *const parts[] = { "city", "state", "zip",
	    "country_region", "country_iso3", "country_name", NULL };
	const char *s = json_get_str(c, "location", CARRIER_MAX_TEXT);
	bool country = false;

	out[0] = '\0';
	if (s != NULL) {
		copy_utf8(out, outsz, s);
		return;
	}
	for (size_t i = 0; parts[i] != NULL; i++) {
		/* One country only: the 2025-01 name, else the older ones. */
		if (strncmp(parts[i], "country", 7) == 0) {
			if (country)
				continue;
			if ((s = json_get_str(c, parts[i], 100)) != NULL)
				country = true;
		} else
			s = json_get_str(c, parts[i], 100);
		join(out, outsz, s);
	}
}

static int
checkpoint_parse(json_object *c, struct carrier_checkpoint *cp)
{
	memset(cp, 0, sizeof(*cp));
	cp->time_raw = json_get_token(c, "checkpoint_time", CARRIER_MAX_DATE - 1);
	if (cp->time_raw == NULL)
		cp->time_raw = json_get_token(c, "created_at", CARRIER_MAX_DATE - 1);
	if (cp->time_raw == NULL)
		return -1;	/* a scan with no time cannot be placed or de-duplicated */
	cp->time_ok = timefmt_parse(cp->time_raw, &cp->time) == 0;
	cp->tag = known_tag(json_get_token(c, "tag", 40));
	cp->subtag = json_get_token(c, "subtag", CARRIER_MAX_SLUG);
	cp->message = json_get_str(c, "message", CARRIER_MAX_TEXT);
	location_of(c, cp->location, sizeof(cp->location));
	return 0;
}

int
carrier_tracking_parse(json_object *o, struct carrier_tracking *t)
{
	json_object *cps;
	struct timeval_iso tv;
	const char *s;
	size_t n;

	memset(t, 0, sizeof(*t));
	if (o == NULL || !json_object_is_type(o, json_type_object))
		return -1;
	t->id = json_get_token(o, "id", CARRIER_MAX_ID);
	t->legacy_id = json_get_token(o, "legacy_id", CARRIER_MAX_ID);
	t->tracking_number = json_get_token(o, "tracking_number", CARRIER_MAX_NUMBER);
	if (t->id == NULL && t->tracking_number == NULL)
		return -1;
	t->slug = json_get_token(o, "slug", CARRIER_MAX_SLUG);
	t->order_id = json_get_token(o, "order_id", 200);
	t->tag = known_tag(json_get_token(o, "tag", 40));
	t->subtag = json_get_token(o, "subtag", CARRIER_MAX_SLUG);
	t->subtag_message = json_get_str(o, "subtag_message", CARRIER_MAX_TEXT);
	t->expected_delivery = expected_delivery(o);
	estimates(o, t);
	t->pickup_location = get_text(o, "pickup_location", CARRIER_MAX_PICKUP);
	t->pickup_note = get_text(o, "pickup_note", CARRIER_MAX_PICKUP);
	t->signed_by = get_text(o, "signed_by", CARRIER_MAX_SIGNER);
	t->tracking_link = https_link(o, "courier_tracking_link");
	if (t->tracking_link == NULL)	/* the older name */
		t->tracking_link = https_link(o, "courier_redirect_link");
	if ((s = date_str(o, "shipment_delivery_date", &tv)) != NULL) {
		if (tv.has_offset)
			timefmt_iso_utc(tv.ms, t->delivered_at);
		else
			copy_utf8(t->delivered_at, sizeof(t->delivered_at), s);
	}
	if (date_str(o, "updated_at", &tv) != NULL) {
		t->updated_ms = tv.ms;
		t->has_updated = true;
	}
	cps = json_get_obj(o, "checkpoints", json_type_array);
	n = cps ? json_object_array_length(cps) : 0;
	if (n > CARRIER_MAX_CHECKPOINTS)
		n = CARRIER_MAX_CHECKPOINTS;
	if (n > 0 && (t->cp = calloc(n, sizeof(*t->cp))) == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		json_object *c = json_object_array_get_idx(cps, i);
		if (json_object_is_type(c, json_type_object) &&
		    checkpoint_parse(c, &t->cp[t->ncp]) == 0)
			t->ncp++;
	}
	return 0;
}

void
carrier_tracking_free(struct carrier_tracking *t)
{
	free(t->cp);
	t->cp = NULL;
	t->ncp = 0;
}
