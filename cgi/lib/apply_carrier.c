/*
 * apply_carrier: see apply_carrier.h.  Every function here is one
 * transaction: begin, work, commit; any failure rolls back through the
 * single exit path.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "apply.h"
#include "apply_carrier.h"
#include "log.h"

enum store_rc
apply_carrier_shipment(struct store *st, int64_t shipment_id, const char *order_id,
    const struct carrier_tracking *t, const struct carrier_apply *how,
    bool dry_run, bool *changed)
{
	enum store_rc rc;

	*changed = false;
	if ((rc = store_begin(st)) != STORE_OK)
		return rc;
	rc = store_carrier_apply(st, shipment_id, t, how, changed);
	if (rc == STORE_OK && *changed)
		rc = apply_recompute_order(st, order_id, how->now_ms, false);
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
		.id = ev->id, .scheme = apply_scheme_name(ev->scheme),
		.type = ev->type, .created_at = ev->created_at,
		.created_ms = ev->created.ms, .received_at = now,
		.body = body, .body_len = len,
	};
	bool have = carrier_tracking_parse(ev->tracking_msg, &t) == 0;
	enum store_rc rc = STORE_OK;

	*duplicate = false;
	timefmt_iso_utc(now_ms, now);
	if (have)
		rc = store_carrier_match(st, &t, &m);
	rec.order_id = m.n > 0 ? m.v[0].order_id : NULL;
	if (rc == STORE_OK && (rc = store_event_insert(st, &rec)) == STORE_NONE) {
		*duplicate = true;	/* stored before: no other effect */
		rc = STORE_OK;
		goto out;
	}
	for (size_t i = 0; i < m.n && rc == STORE_OK; i++)
		rc = store_carrier_apply(st, m.v[i].id, &t, &how, &changed[i]);
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
