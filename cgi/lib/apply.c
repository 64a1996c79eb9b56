/*
 * apply: see apply.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "apply_rye.h"
#include "order.h"
#include "rye_record.h"
#include "store_outbox.h"
#include "store_rye.h"

enum store_rc
apply_event_effects(struct store *st, const struct event *ev)
{
	char key[STORE_EVENT_KEY_LEN];
	enum store_rc rc = STORE_OK;

	if (ev->record != RECORD_NONE)
		return apply_rye_record(st, ev);
	if (ev->order_id == NULL)
		return STORE_OK;
	store_event_key(key, sizeof(key), ev->created.ms, ev->id);
	for (size_t i = 0; i < ev->ntracking && rc == STORE_OK; i++) {
		char pending[STORE_EVENT_KEY_LEN + 16];
		struct shipment_ref r = {
			.order_id = ev->order_id,
			.tracking_number = ev->tracking[i].number,
			.carrier = ev->tracking[i].carrier,
			.url = ev->tracking[i].url,
			.event_key = key,
		};
		if (r.tracking_number == NULL) {
			snprintf(pending, sizeof(pending), "%s#%zu", ev->id, i);
			r.pending_key = pending;
		}
		rc = store_shipment_upsert(st, &r);
	}
	return rc;
}

/* Events of one order as the fold sees them; strings owned here. */
#define OWNED 3		/* type, id, status per event */
struct fold {
	struct order_event *evs;
	char **owned;		/* OWNED per event, for freeing */
	size_t n, cap;
	char *marketplace;	/* latest non-null, in fold order */
	int64_t first_ms;	/* the earliest event's; observations count only */
	char first_at[TIMEFMT_ISO_LEN];	/* when there is nothing else */
	bool first_is_event;
	struct order_event last_mp;
};

/*
 * An observation's time is when it was fetched, not when anything
 * happened: the order's createdAt is its earliest event's, so it does not
 * depend on whether (or when) the Rye pass ran.
 */
static bool
is_observation(const char *type)
{
	return strcmp(type, RYE_RECORD_INTENT) == 0 ||
	    strcmp(type, RYE_RECORD_SHIPMENT) == 0 || strcmp(type, RYE_RECORD_ORDER1) == 0;
}

static void
note_first(struct fold *f, const struct event_row *r)
{
	bool event = !is_observation(r->type);

	if (f->n > 0 && (f->first_is_event && !event))
		return;
	if (f->n > 0 && f->first_is_event == event && r->created_ms >= f->first_ms)
		return;
	f->first_ms = r->created_ms;
	f->first_is_event = event;
	snprintf(f->first_at, sizeof(f->first_at), "%s", r->created_at);
}

static int
fold_add(void *arg, const struct event_row *r)
{
	struct fold *f = arg;
	struct order_event e;

	if (f->n == f->cap) {
		size_t cap = f->cap ? f->cap * 2 : 16;
		void *p = realloc(f->evs, cap * sizeof(*f->evs));
		void *q;
		if (p == NULL)
			return -1;
		f->evs = p;
		if ((q = realloc(f->owned, OWNED * cap * sizeof(*f->owned))) == NULL)
			return -1;
		f->owned = q;
		f->cap = cap;
	}
	e.created_ms = r->created_ms;
	e.type = f->owned[OWNED * f->n] = strdup(r->type);
	e.id = f->owned[OWNED * f->n + 1] = strdup(r->id);
	e.status = f->owned[OWNED * f->n + 2] = r->status ? strdup(r->status) : NULL;
	if (e.type == NULL || e.id == NULL || (r->status != NULL && e.status == NULL)) {
		for (int k = 0; k < OWNED; k++)
			free(f->owned[OWNED * f->n + (size_t)k]);
		return -1;
	}
	note_first(f, r);
	/* Marketplace: from the event latest in fold order that names one. */
	if (r->marketplace != NULL && (f->marketplace == NULL ||
	    order_event_cmp(&e, &f->last_mp) > 0)) {
		char *m = strdup(r->marketplace);
		if (m == NULL)
			return -1;
		free(f->marketplace);
		f->marketplace = m;
		f->last_mp = e;
	}
	f->evs[f->n++] = e;
	return 0;
}

static void
fold_free(struct fold *f)
{
	for (size_t i = 0; i < OWNED * f->n; i++)
		free(f->owned[i]);
	free(f->owned);
	free(f->evs);
	free(f->marketplace);
}

struct tags {
	enum carrier_tag *v;
	char **number;		/* tracking number per shipment (NULL: pending) */
	size_t n, cap;
};

static int
tags_add(void *arg, const struct shipment_row *r)
{
	struct tags *t = arg;

	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 8;
		void *p = realloc(t->v, cap * sizeof(*t->v));
		void *q;
		if (p == NULL)
			return -1;
		t->v = p;
		if ((q = realloc(t->number, cap * sizeof(*t->number))) == NULL)
			return -1;
		t->number = q;
		t->cap = cap;
	}
	t->number[t->n] = NULL;
	if (r->tracking_number != NULL &&
	    (t->number[t->n] = strdup(r->tracking_number)) == NULL)
		return -1;
	t->v[t->n++] = carrier_tag_parse(r->tag);
	return 0;
}

static void
tags_free(struct tags *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->number[i]);
	free(t->number);
	free(t->v);
}

/*
 * The outbox: a new stage for the order, and trouble on any one parcel
 * (a failed attempt or an exception), each queued once, in the caller's
 * transaction, so the announcement exists exactly when the change does.
 */
static enum store_rc
queue_notifications(struct store *st, const char *order_id, const char *old,
    const char *stage, const struct tags *t, const char *now, int64_t now_ms)
{
	struct notify_rec n = {
		.order_id = order_id, .stage = stage, .previous_stage = old,
		.shipment = "", .occurred_at = now, .created_ms = now_ms,
	};
	enum store_rc rc = STORE_OK;

	if (old == NULL || strcmp(old, stage) != 0)
		rc = store_notify_insert(st, &n);
	for (size_t i = 0; i < t->n && rc == STORE_OK; i++) {
		if (t->number[i] == NULL ||
		    (t->v[i] != TAG_EXCEPTION && t->v[i] != TAG_ATTEMPT_FAIL))
			continue;
		n.stage = order_stage_name(order_stage_of(OS_SUCCEEDED, &t->v[i], 1));
		n.shipment = t->number[i];
		rc = store_notify_insert(st, &n);
	}
	return rc;
}

enum store_rc
apply_recompute_order(struct store *st, const char *order_id, int64_t now_ms,
    bool replay)
{
	struct fold f = { 0 };
	struct tags t = { 0 };
	char now[TIMEFMT_ISO_LEN], old[32];
	enum order_status status;
	const char *other;
	enum store_rc rc, had;

	if ((rc = store_lock_order(st, order_id)) != STORE_OK ||
	    (rc = store_order_ask(st, order_id)) != STORE_OK)
		return rc;
	had = store_order_stage(st, order_id, old, sizeof(old));
	rc = had == STORE_NONE ? STORE_OK : had;
	if (rc == STORE_OK)
		rc = store_order_events(st, order_id, fold_add, &f);
	if (rc == STORE_OK)
		rc = store_order_shipments(st, order_id, tags_add, &t);
	if (rc == STORE_OK && f.n > 0) {
		struct order_rec o = { .id = order_id };
		status = order_status_of(f.evs, f.n, &other);
		timefmt_iso_utc(now_ms, now);
		o.status = status == OS_OTHER ? other : order_status_name(status);
		o.stage = order_stage_name(order_stage_of(status, t.v, t.n));
		o.marketplace = f.marketplace;
		o.created_at = f.first_at;
		o.created_ms = f.first_ms;
		o.updated_at = now;
		o.updated_ms = now_ms;
		o.keep_updated_if_same = replay;
		rc = store_order_upsert(st, &o);
		if (rc == STORE_OK)
			rc = queue_notifications(st, order_id, had == STORE_OK ? old : NULL,
			    o.stage, &t, now, now_ms);
	}
	fold_free(&f);
	tags_free(&t);
	return rc;
}

/* The record stored for ev; now: its received_at. */
static struct event_rec
record_of(const struct event *ev, const char *body, size_t len, const char *now)
{
	return (struct event_rec){
		.id = ev->id, .scheme = sig_scheme_name(ev->scheme),
		.type = ev->type, .order_id = ev->order_id,
		.created_at = ev->created_at, .created_ms = ev->created.ms,
		.marketplace = ev->marketplace, .received_at = now,
		.body = body, .body_len = len, .source = event_source(ev),
		.subject = ev->subject, .status = ev->status,
	};
}

enum store_rc
apply_event_in_tx(struct store *st, const struct event *ev, const char *body,
    size_t len, int64_t now_ms, bool *duplicate)
{
	char now[TIMEFMT_ISO_LEN], intent[EVENT_MAX_ID + 1];
	struct event_rec rec = record_of(ev, body, len, now);
	enum store_rc rc = STORE_OK;

	*duplicate = false;
	timefmt_iso_utc(now_ms, now);
	/* A shipment's event names the intent the Rye pass has learnt, if any. */
	if (apply_waits_for_intent(ev) && (rc = store_rye_subject_order(st,
	    ev->subject, RYE_RECORD_SHIPMENT, intent, sizeof(intent))) == STORE_OK)
		rec.order_id = intent;
	if (rc == STORE_OK || rc == STORE_NONE)
		rc = store_event_insert(st, &rec);
	if (rc == STORE_NONE) {
		*duplicate = true;	/* stored before: no other effect */
		return STORE_OK;
	}
	if (rc == STORE_OK)
		rc = apply_event_effects(st, ev);
	if (rc == STORE_OK && rec.order_id != NULL)
		rc = apply_recompute_order(st, rec.order_id, now_ms, false);
	return rc;
}

void
apply_event_ahead(struct store *st, const struct event *ev, const char *body,
    size_t len, int64_t now_ms)
{
	char now[TIMEFMT_ISO_LEN];
	struct event_rec rec;

	/* Its order is looked up first: nothing to send ahead. */
	if (apply_waits_for_intent(ev))
		return;
	timefmt_iso_utc(now_ms, now);
	rec = record_of(ev, body, len, now);
	store_event_insert_ahead(st, &rec);
}

bool
apply_waits_for_intent(const struct event *ev)
{
	return ev->scheme == SIG_RYE_V2 && ev->record == RECORD_NONE &&
	    ev->order_id == NULL && ev->subject != NULL &&
	    strncmp(ev->subject, "shipment:", 9) == 0;
}

enum store_rc
apply_reject_in_tx(struct store *st, const char *scheme, const char *reason,
    const char *body, size_t len, int64_t now_ms)
{
	char now[TIMEFMT_ISO_LEN];

	timefmt_iso_utc(now_ms, now);
	return store_rejected_insert(st, scheme, reason, now, body, len);
}
