/*
 * apply_carrier: see apply_carrier.h.  apply_carrier_shipment(),
 * apply_carrier_error() and each shipment of apply_carrier_stalls() are
 * one transaction: begin, work, commit, and any failure rolls back; the
 * *_in_tx functions work inside the transaction their caller opened.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "apply_carrier.h"
#include "log.h"
#include "store_outbox.h"

/* What the store keeps fits what the client reads, and the other way round. */
_Static_assert(STORE_CARRIER_NUMBER_MAX == CARRIER_MAX_NUMBER &&
    STORE_CARRIER_ID_MAX == CARRIER_MAX_ID &&
    STORE_CARRIER_SLUG_MAX == CARRIER_MAX_SLUG &&
    STORE_CARRIER_DATE_MAX == CARRIER_MAX_DATE &&
    (int)STORE_EST_CARRIER == (int)EST_CARRIER &&
    (int)STORE_EST_PREDICTED == (int)EST_PREDICTED &&
    (int)STORE_EST__MAX == (int)EST__MAX, "store_carrier.h and carrier.h disagree");

static const char *
unless_empty(const char *s)
{
	return s[0] != '\0' ? s : NULL;
}

/*
 * The client's tracking as the store takes it (store_carrier.h: the store
 * knows no client).  Strings point into t; the scans are allocated
 * (free(out->scans)).  -1 when out of memory.
 */
static int
for_store(const struct carrier_tracking *t, struct store_tracking *out)
{
	struct store_scan *sc = NULL;
	struct store_tracking s = {
		.id = t->id, .legacy_id = t->legacy_id, .slug = t->slug, .tag = t->tag,
		.subtag = t->subtag, .subtag_message = t->subtag_message,
		.expected_delivery = t->expected_delivery,
		.delivered_at = unless_empty(t->delivered_at),
		.pickup_location = t->pickup_location, .pickup_note = t->pickup_note,
		.signed_by = t->signed_by, .tracking_link = t->tracking_link,
		.updated_ms = t->updated_ms, .has_updated = t->has_updated,
	};

	for (int k = 0; k < EST__MAX; k++) {
		s.est_earliest[k] = unless_empty(t->est[k].earliest);
		s.est_latest[k] = unless_empty(t->est[k].latest);
	}
	if (t->ncp > 0 && (sc = calloc(t->ncp, sizeof(*sc))) == NULL)
		return -1;
	for (size_t i = 0; i < t->ncp; i++) {
		const struct carrier_checkpoint *c = &t->cp[i];
		sc[i] = (struct store_scan){ .time_raw = c->time_raw,
		    .time_ms = c->time.ms, .time_ok = c->time_ok,
		    .has_offset = c->time.has_offset, .tag = c->tag,
		    .subtag = c->subtag, .message = c->message,
		    .location = unless_empty(c->location) };
	}
	s.scans = sc;
	s.nscans = t->ncp;
	*out = s;
	return 0;
}

/* store_carrier_apply() of the client's tracking. */
static enum store_rc
carrier_apply(struct store *st, int64_t shipment_id, const struct carrier_tracking *t,
    const struct carrier_apply *how, bool *changed)
{
	struct store_tracking s;
	enum store_rc rc;

	*changed = false;
	if (for_store(t, &s) < 0)
		return STORE_ERROR;
	rc = store_carrier_apply(st, shipment_id, &s, how, changed);
	free((void *)s.scans);
	return rc;
}

enum store_rc
apply_carrier_shipment(struct store *st, int64_t shipment_id, const char *order_id,
    const struct carrier_tracking *t, const struct carrier_apply *how,
    bool dry_run, bool *changed)
{
	enum store_rc rc;

	*changed = false;
	if ((rc = store_begin(st)) != STORE_OK)
		return rc;
	rc = carrier_apply(st, shipment_id, t, how, changed);
	if (rc == STORE_OK && *changed)
		rc = apply_recompute_order(st, order_id, how->now_ms, false);
	if (rc == STORE_OK)
		rc = apply_carrier_stall_in_tx(st, shipment_id, how->now_ms);
	if (rc == STORE_OK && !dry_run)
		rc = store_commit(st);
	if (rc != STORE_OK || dry_run)
		store_rollback(st);
	return rc;
}

enum store_rc
apply_carrier_error(struct store *st, int64_t shipment_id, const char *message,
    bool for_good, int64_t now_ms, int64_t base_ms, int64_t cap_ms)
{
	enum store_rc rc;

	if ((rc = store_begin(st)) != STORE_OK)
		return rc;
	rc = for_good ? store_carrier_reject(st, shipment_id, message, now_ms) :
	    store_carrier_fail(st, shipment_id, message, now_ms, base_ms, cap_ms);
	if (rc == STORE_OK)
		rc = store_commit(st);
	if (rc != STORE_OK)
		store_rollback(st);
	return rc;
}

/* Queue the "delayed" row of a new episode. */
static enum store_rc
stall_begin(struct store *st, int64_t id, const struct carrier_stall *s,
    int64_t now_ms)
{
	char now[TIMEFMT_ISO_LEN], stage[32], parcel[sizeof(s->tracking_number) + 24];
	struct notify_rec n = {
		.order_id = s->order_id, .stage = "delayed", .shipment = parcel,
		.occurred_at = now, .created_ms = now_ms,
	};
	enum store_rc rc;

	timefmt_iso_utc(now_ms, now);
	snprintf(parcel, sizeof(parcel), "%s#%ld", s->tracking_number, s->episode + 1);
	if ((rc = store_carrier_stall_begin(st, id, s->scan, now)) != STORE_OK)
		return rc;
	/* previousStage: the order's stage, which a stall does not change. */
	rc = store_order_stage(st, s->order_id, stage, sizeof(stage));
	if (rc == STORE_OK)
		n.previous_stage = stage;
	else if (rc != STORE_NONE)
		return rc;
	log_info("shipment %lld (order %s): stalled, episode %ld", (long long)id,
	    s->order_id, s->episode + 1);
	return store_notify_insert(st, &n);
}

enum store_rc
apply_carrier_stall_in_tx(struct store *st, int64_t shipment_id, int64_t now_ms)
{
	struct carrier_stall s;
	enum store_rc rc = store_carrier_stall_get(st, shipment_id, now_ms, &s);

	if (rc != STORE_OK)
		return rc == STORE_NONE ? STORE_OK : rc;
	if (s.tracking_number[0] == '\0')
		return STORE_OK;
	if (s.stalled && !s.same_scan)
		return stall_begin(st, shipment_id, &s, now_ms);
	if (s.open && (!s.same_scan || s.final))
		return store_carrier_stall_end(st, shipment_id);
	return STORE_OK;
}

enum store_rc
apply_carrier_stalls(struct store *st, int64_t now_ms, long limit, bool dry_run,
    long *begun)
{
	int64_t *ids = NULL;
	size_t n = 0;
	enum store_rc rc = store_carrier_stall_due(st, now_ms, limit, &ids, &n);

	*begun = 0;
	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		if ((rc = store_begin(st)) != STORE_OK)
			break;
		rc = apply_carrier_stall_in_tx(st, ids[i], now_ms);
		if (rc == STORE_OK && !dry_run)
			rc = store_commit(st);
		if (rc != STORE_OK || dry_run)
			store_rollback(st);
		if (rc == STORE_OK)
			(*begun)++;
	}
	free(ids);
	return rc;
}

/*
 * Recompute each order once: the event's (the first match's: it has a new
 * event) and those whose shipments changed.
 */
static enum store_rc
recompute(struct store *st, const struct carrier_matches *m, const bool *changed,
    int64_t now_ms)
{
	const char *done[STORE_MAX_MATCHES];
	size_t ndone = 0;
	enum store_rc rc = STORE_OK;

	for (size_t i = 0; i < m->n && rc == STORE_OK; i++) {
		bool seen = false;

		if (i > 0 && !changed[i])
			continue;
		for (size_t j = 0; j < ndone; j++)
			seen = seen || strcmp(done[j], m->v[i].order_id) == 0;
		if (!seen) {
			done[ndone++] = m->v[i].order_id;
			rc = apply_recompute_order(st, m->v[i].order_id, now_ms, false);
		}
	}
	return rc;
}

enum store_rc
apply_carrier_event_in_tx(struct store *st, const struct event *ev,
    const char *body, size_t len, int64_t now_ms, bool *duplicate)
{
	struct carrier_tracking t;
	struct carrier_matches m = { .n = 0 };
	bool changed[STORE_MAX_MATCHES] = { false };
	struct carrier_apply how = { .now_ms = now_ms };
	char now[TIMEFMT_ISO_LEN];
	struct event_rec rec = {
		.id = ev->id, .scheme = sig_scheme_name(ev->scheme),
		.type = ev->type, .created_at = ev->created_at,
		.created_ms = ev->created.ms, .received_at = now,
		.body = body, .body_len = len,
	};
	bool have = carrier_tracking_parse(ev->tracking_msg, &t) == 0;
	enum store_rc rc = STORE_OK;

	*duplicate = false;
	timefmt_iso_utc(now_ms, now);
	if (have)
		rc = store_carrier_match(st, t.id, t.legacy_id, t.tracking_number, &m);
	rec.order_id = m.n > 0 ? m.v[0].order_id : NULL;
	if (rc == STORE_OK && (rc = store_event_insert(st, &rec)) == STORE_NONE) {
		*duplicate = true;	/* stored before: no other effect */
		rc = STORE_OK;
		goto out;
	}
	for (size_t i = 0; i < m.n && rc == STORE_OK; i++) {
		rc = carrier_apply(st, m.v[i].id, &t, &how, &changed[i]);
		if (rc == STORE_OK)
			rc = apply_carrier_stall_in_tx(st, m.v[i].id, now_ms);
	}
	if (rc == STORE_OK)
		rc = recompute(st, &m, changed, now_ms);
	if (rc == STORE_OK && rec.order_id != NULL)
		log_info("aftership event %s: tracking %s, %zu shipment(s), order %s",
		    ev->id, t.tracking_number ? t.tracking_number : "-", m.n,
		    rec.order_id);
out:
	if (have)
		carrier_tracking_free(&t);
	return rc;
}
