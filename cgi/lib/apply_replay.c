/* apply_replay: see apply_replay.h. */
#include "config.h"

#include "apply.h"
#include "apply_replay.h"
#include "event.h"
#include "log.h"
#include "rye_record.h"
#include "sig.h"
#include "store_rye.h"
#include "timefmt.h"

struct replay {
	struct store *st;
	struct apply_replay_counts *n;
	apply_replay_progress progress;
	void *arg;
	enum store_rc rc;
};

/*
 * What is derived from one event's body, again.  A gen-2 shipment's event
 * names the intent its shipment's observation names (store_rye.h).
 */
static enum store_rc
rederive(struct store *st, int64_t seq, const struct event *ev)
{
	char intent[EVENT_MAX_ID + 1];
	struct event_derived d = {
		.type = ev->type, .order_id = ev->order_id, .created_at = ev->created_at,
		.created_ms = ev->created.ms, .marketplace = ev->marketplace,
		.subject = ev->subject, .status = ev->status,
	};
	enum store_rc rc;

	if (apply_waits_for_intent(ev)) {
		rc = store_rye_subject_order(st, ev->subject, RYE_RECORD_SHIPMENT,
		    intent, sizeof(intent));
		if (rc == STORE_OK)
			d.order_id = intent;
		else if (rc != STORE_NONE)
			return rc;
	}
	return store_event_rederive(st, seq, &d);
}

/* Re-read one stored event with today's parser and re-apply its effects. */
static int
replay_event(void *arg, const struct event_row *r)
{
	struct replay *rp = arg;
	struct event ev;
	char why[160];

	if (event_parse_record(sig_scheme_named(r->scheme), r->body, r->body_len,
	    &ev, why, sizeof(why)) != EVENT_OK) {
		/* Kept as stored: a later parser may read it. */
		log_warn("replay: event seq %lld no longer parses: %s",
		    (long long)r->seq, why);
		rp->n->skipped++;
		event_free(&ev);
		return 0;
	}
	/*
	 * An AfterShip push names no order: it was matched to one through
	 * its tracking number when it arrived.  Keep that match.
	 */
	if (ev.order_id == NULL && ev.scheme == SIG_AFTERSHIP)
		ev.order_id = r->order_id;
	ev.source = r->source;
	rp->rc = rederive(rp->st, r->seq, &ev);
	if (rp->rc == STORE_OK)
		rp->rc = apply_event_effects(rp->st, &ev);
	event_free(&ev);
	rp->n->events++;
	rp->progress(rp->arg, rp->n);
	return rp->rc == STORE_OK ? 0 : 1;
}

static int
replay_order(void *arg, const char *id)
{
	struct replay *rp = arg;

	rp->rc = apply_recompute_order(rp->st, id, timefmt_now_ms(), true);
	rp->n->orders++;
	rp->progress(rp->arg, rp->n);
	return rp->rc == STORE_OK ? 0 : 1;
}

enum store_rc
apply_replay(struct store *st, apply_replay_progress progress, void *arg,
    struct apply_replay_counts *n)
{
	struct replay rp = {
		.st = st, .n = n, .progress = progress, .arg = arg, .rc = STORE_OK,
	};
	enum store_rc rc;

	*n = (struct apply_replay_counts){ .total = 0 };
	rc = store_begin(st);
	if (rc == STORE_OK)
		rc = store_event_count(st, &n->total);
	if (rc == STORE_OK)
		rc = store_reset_derived(st);
	if (rc == STORE_OK)
		rc = store_rye_reset_derived(st);
	if (rc == STORE_OK)
		rc = store_all_events(st, replay_event, &rp);
	if (rc == STORE_OK && (rc = rp.rc) == STORE_OK)
		rc = store_prune_derived(st);
	if (rc == STORE_OK)
		rc = store_event_order_ids(st, replay_order, &rp);
	if (rc == STORE_OK && (rc = rp.rc) == STORE_OK)
		rc = store_commit(st);
	if (rc != STORE_OK)
		store_rollback(st);
	return rc;
}
