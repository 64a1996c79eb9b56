/*
 * apply_rye: see apply_rye.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_rye.h"
#include "log.h"
#include "order.h"
#include "rye.h"
#include "rye_record.h"
#include "store_facts.h"
#include "store_rye.h"
#include "timefmt.h"
#include "valid.h"

/* --- buyer data ------------------------------------------------------------ */

static void
fact_set(struct facts_change *c, enum fact f, const char *v)
{
	bool ok = v != NULL && (f == FACT_EMAIL ? valid_address(v) :
	    facts_value_ok(f, v));

	c->set[f] = true;
	c->v[f] = ok ? v : NULL;
}

struct latest {
	enum sig_scheme scheme;
	struct event ev;
	bool parsed;
};

static int
latest_body(void *arg, const char *id, const void *body, size_t len)
{
	struct latest *l = arg;
	char why[160];

	(void)id;
	l->parsed = event_parse_record(l->scheme, body, len, &l->ev, why,
	    sizeof(why)) == EVENT_OK && l->ev.data != NULL;
	return 0;
}

/*
 * The Rye origin's facts from the order's latest observation of type, so
 * the row is what Rye says now, whatever order the records were applied.
 */
static enum store_rc
buyer_facts(struct store *st, const struct event *ev, const char *type)
{
	struct latest l = { .scheme = ev->scheme };
	struct facts_change c = { .set = { false } };
	enum store_rc rc = store_rye_latest(st, ev->order_id, type, latest_body, &l);

	if (rc == STORE_OK && l.parsed) {
		struct rye_intent i;
		struct rye_order o;

		if (l.ev.record == RECORD_INTENT && rye_intent_parse(l.ev.data, &i) == 0) {
			fact_set(&c, FACT_EMAIL, i.email);
			fact_set(&c, FACT_ORDER_NUMBER, i.reference_id);
			fact_set(&c, FACT_POSTAL_CODE, i.postal_code);
			fact_set(&c, FACT_COUNTRY, i.country);
		} else if (l.ev.record == RECORD_ORDER1 &&
		    rye_order_parse(l.ev.data, &o) == 0) {
			if (o.email != NULL || o.postal_code != NULL || o.country != NULL) {
				fact_set(&c, FACT_EMAIL, o.email);
				fact_set(&c, FACT_POSTAL_CODE, o.postal_code);
				fact_set(&c, FACT_COUNTRY, o.country);
			}
			rye_order_free(&o);
		}
		for (enum fact k = 0; k < FACT__MAX && rc == STORE_OK; k++)
			if (c.set[k]) {
				rc = store_facts_change(st, ev->order_id, FACTS_RYE, &c,
				    l.ev.created_at, false);
				break;
			}
	}
	event_free(&l.ev);
	return rc == STORE_NONE ? STORE_OK : rc;
}

/* --- gen-2 parcels ------------------------------------------------------------ */

/* "city, province, country" of the parts given, or the older form's text. */
static void
location_of(const struct rye_tracking_event *e, char *out, size_t outsz)
{
	const char *parts[] = { e->city, e->province, e->country };
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; i < 3; i++)
		if (parts[i] != NULL && len < outsz)
			len += (size_t)snprintf(out + len, outsz - len, "%s%s",
			    len ? ", " : "", parts[i]);
	if (len == 0 && e->location != NULL)
		snprintf(out, outsz, "%s", e->location);
}

/* A tracking event's time: UTC, else local with its offset, else the older form. */
static void
time_of(const struct rye_tracking_event *e, char *raw, size_t rawsz,
    struct rye_checkpoint *c)
{
	struct timeval_iso t;

	raw[0] = '\0';
	if (e->time_utc != NULL)
		snprintf(raw, rawsz, "%s", e->time_utc);
	else if (e->time_local != NULL)
		snprintf(raw, rawsz, "%s", e->time_local);
	else if (e->display_date != NULL)
		snprintf(raw, rawsz, "%s%s%s", e->display_date,
		    e->display_time ? " " : "", e->display_time ? e->display_time : "");
	c->time_raw = raw;
	c->time_ok = raw[0] != '\0' && timefmt_parse(raw, &t) == 0 && t.has_time;
	c->time_ms = c->time_ok ? t.ms : 0;
	c->has_offset = c->time_ok && t.has_offset;
}

static enum store_rc
parcel_checkpoints(struct store *st, int64_t row, const struct rye_shipment *s)
{
	enum store_rc rc = STORE_OK;

	for (size_t i = 0; i < s->nevents && rc == STORE_OK; i++) {
		const struct rye_tracking_event *e = &s->events[i];
		char raw[2 * RYE_MAX_DATE + 2], loc[3 * RYE_MAX_NAME + 8];
		struct rye_checkpoint c = { .message = e->description };

		time_of(e, raw, sizeof(raw), &c);
		if (raw[0] == '\0')
			continue;	/* a checkpoint needs a time */
		location_of(e, loc, sizeof(loc));
		c.location = loc[0] ? loc : NULL;
		c.tag = e->status != NULL ?
		    carrier_tag_name(shipment_tag_of(NULL, false, e->status)) : NULL;
		rc = store_rye_checkpoint(st, row, &c);
	}
	return rc;
}

static enum store_rc
apply_shipment(struct store *st, const struct event *ev)
{
	struct rye_shipment s;
	char key[STORE_EVENT_KEY_LEN], first[STORE_EVENT_KEY_LEN], rye_id[RYE_MAX_ID + 8];
	struct timeval_iso created;
	struct rye_parcel p;
	enum store_rc rc;
	int64_t row;
	bool applied;

	if ((rc = store_rye_resolve(st, ev->subject, ev->order_id)) != STORE_OK)
		return rc;
	if (rye_shipment_parse(ev->data, &s) < 0)
		return STORE_OK;	/* kept as stored: nothing we can read */
	store_event_key(key, sizeof(key), ev->created.ms, ev->id);
	snprintf(rye_id, sizeof(rye_id), "rye:%s", s.id);
	store_event_key(first, sizeof(first), s.created_at != NULL &&
	    timefmt_parse(s.created_at, &created) == 0 ? created.ms : ev->created.ms,
	    rye_id);
	p = (struct rye_parcel){
		.order_id = ev->order_id, .rye_shipment_id = s.id,
		.tracking_number = s.tracking_number, .carrier = s.carrier_name,
		.url = s.tracking_url, .status = s.status,
		.estimated_delivery = s.estimated_delivery,
		.delivered_at = s.delivered_at, .first_key = first, .key = key,
	};
	rc = store_rye_parcel(st, &p, &row, &applied);
	if (rc == STORE_OK && row != 0)
		rc = parcel_checkpoints(st, row, &s);
	rye_shipment_free(&s);
	return rc;
}

/* --- gen-1 orders --------------------------------------------------------------- */

struct tracked {
	int64_t ms;
	const char *id;
};

static int
tracked_cmp(const void *a, const void *b)
{
	const struct tracked *x = a, *y = b;

	if (x->ms != y->ms)
		return x->ms < y->ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

/*
 * Gen 1's shipments carry no time and no id; its tracking events carry a
 * time but no tracking data.  Rye sends one TRACKING_OBTAINED per parcel
 * as it learns it, so the k-th parcel is taken to be announced by the
 * k-th tracking event (by time): the same key its webhook would have had
 * (the same time), so a shipment recovered by sync orders and ages like
 * one announced by webhook.  Without tracking events: the observation's.
 */
static size_t
tracking_events(const struct rye_order *o, struct tracked *t)
{
	size_t n = 0;

	for (size_t i = 0; i < o->nevents; i++) {
		struct timeval_iso at;
		const struct rye_order_event *e = &o->events[i];

		if (strcmp(e->type_name, "TrackingObtainedOrderEvent") == 0 &&
		    e->id != NULL && e->created_at != NULL &&
		    timefmt_parse(e->created_at, &at) == 0)
			t[n++] = (struct tracked){ at.ms, e->id };
	}
	qsort(t, n, sizeof(*t), tracked_cmp);
	return n;
}

static enum store_rc
apply_order1(struct store *st, const struct event *ev)
{
	struct rye_order o;
	struct tracked *t;
	size_t nt;
	enum store_rc rc = STORE_OK;

	if (rye_order_parse(ev->data, &o) < 0)
		return STORE_OK;
	if ((t = calloc(o.nevents + 1, sizeof(*t))) == NULL) {
		rye_order_free(&o);
		return STORE_ERROR;
	}
	nt = tracking_events(&o, t);
	for (size_t i = 0; i < o.nshipments && rc == STORE_OK; i++) {
		char key[STORE_EVENT_KEY_LEN], sid[RYE_MAX_ID + 8];
		struct shipment_ref r = {
			.order_id = ev->order_id,
			.tracking_number = o.shipments[i].tracking_number,
			.carrier = o.shipments[i].carrier_name,
			.url = o.shipments[i].tracking_url, .event_key = key,
		};

		if (r.tracking_number == NULL)
			continue;	/* the schema's number is never null */
		if (nt > 0) {
			snprintf(sid, sizeof(sid), "sync:%s", t[i < nt ? i : nt - 1].id);
			store_event_key(key, sizeof(key), t[i < nt ? i : nt - 1].ms, sid);
		} else
			store_event_key(key, sizeof(key), ev->created.ms, ev->id);
		rc = store_shipment_upsert(st, &r);
	}
	free(t);
	rye_order_free(&o);
	return rc == STORE_OK ? buyer_facts(st, ev, RYE_RECORD_ORDER1) : rc;
}

enum store_rc
apply_rye_record(struct store *st, const struct event *ev)
{
	if (ev->order_id == NULL || ev->data == NULL)
		return STORE_OK;
	switch (ev->record) {
	case RECORD_INTENT:
		return buyer_facts(st, ev, RYE_RECORD_INTENT);
	case RECORD_SHIPMENT:
		return apply_shipment(st, ev);
	case RECORD_ORDER1:
		return apply_order1(st, ev);
	default:
		return STORE_OK;	/* an embedded event: the fold reads its type */
	}
}
