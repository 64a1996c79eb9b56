/*
 * poll_rye_read: the Rye pass's reads by id (see poll_rye.c's comment):
 * gen-2 shipments, gen-2 intents (with their shipments when deep), gen-1
 * orders.  Each object read is stored as an observation (rye_record.h),
 * unless the latest one says the same, and applied in one transaction
 * with the bookkeeping that says it was read; a read that fails is the
 * order's (or shipment's) syncError, with a back-off.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "event.h"
#include "log.h"
#include "poll_rye.h"
#include "rye_record.h"
#include "store_carrier.h"
#include "store_rye.h"
#include "timefmt.h"

#define BACKOFF_CAP_MS		(24 * 3600 * 1000LL)
#define MAX_SHIPMENT_PAGES	10	/* of one intent, RYE_PAGE_MAX each */
#define TEXT_OF(n)		#n
#define NUMBER_TEXT(n)		TEXT_OF(n)
#define ORDERS_PER_ROUND	50

/* --- records ---------------------------------------------------------------- */

struct observed {
	enum sig_scheme scheme;
	const char *kind, *type, *source_type, *object_id, *digest;
	const char *raw;
	size_t raw_len;
};

/*
 * Store and apply an observation, inside the caller's transaction, unless
 * the latest one of that object says the same (then nothing is stored).
 */
static enum store_rc
observe(struct rye_pass *p, const struct observed *o, int64_t now_ms)
{
	char subject[EVENT_MAX_SUBJECT], last[RYE_RECORD_MAX_ID + 64], id[RYE_RECORD_MAX_ID];
	char digest[RYE_DIGEST_LEN + 1], at[TIMEFMT_ISO_LEN], why[160];
	struct buf body;
	struct event ev;
	enum store_rc rc;
	long count;
	bool dup;

	snprintf(subject, sizeof(subject), "%s:%s", o->source_type, o->object_id);
	if ((rc = store_rye_subject_records(p->st, subject, o->type, &count, last,
	    sizeof(last))) != STORE_OK)
		return rc;
	if (rye_record_obs_digest(last, digest) && strcmp(digest, o->digest) == 0)
		return STORE_OK;	/* unchanged since the last read */
	if (rye_record_obs_id(id, sizeof(id), o->kind, o->object_id, o->digest,
	    count) < 0)
		return STORE_ERROR;
	timefmt_iso_utc(now_ms, at);
	buf_init(&body, RYE_MAX_BODY + 4096);
	rc = STORE_ERROR;
	if (rye_record_observation(&body, id, o->type, at, o->source_type, o->object_id,
	    o->raw, o->raw_len) == 0 && event_parse_record(o->scheme, body.data,
	    body.len, &ev, why, sizeof(why)) == EVENT_OK) {
		ev.source = "sync";
		rc = apply_event_in_tx(p->st, &ev, body.data, body.len, now_ms, &dup);
	} else {
		log_warn("rye: %s: Rye's answer cannot be stored as it is: %s", subject, why);
		rc = UNREADABLE;
	}
	event_free(&ev);
	buf_free(&body);
	return rc;
}


#define CANNOT_STORE "Rye's answer cannot be stored as it is (see the log)"

/* A read failed: the order's or the shipment's syncError, in its own transaction. */
static void
read_failed(struct rye_pass *p, bool shipment, const char *id, const char *fmt,
    const char *msg)
{
	char text[400];
	int64_t now = timefmt_now_ms();

	snprintf(text, sizeof(text), fmt, msg);
	log_warn("rye: %s %s: %s", shipment ? "shipment" : "order", id, text);
	p->n.failed++;
	if (!poll_rye_begin(p))
		return;
	poll_rye_end(p, shipment ?
	    store_rye_shipment_failed(p->st, id, text, now, p->backoff_ms, BACKOFF_CAP_MS) :
	    store_rye_failed(p->st, id, text, now, p->backoff_ms, BACKOFF_CAP_MS));
}

static void
order_failed(struct rye_pass *p, const char *order_id, const char *fmt, const char *msg)
{
	read_failed(p, false, order_id, fmt, msg);
}

static void
shipment_failed(struct rye_pass *p, const char *id, const char *fmt, const char *msg)
{
	read_failed(p, true, id, fmt, msg);
}

/* Done reading order_id: final, or due again after rye_resync_hours. */
static enum store_rc
synced(struct rye_pass *p, const char *order_id, int generation, int64_t now_ms)
{
	bool final;
	enum store_rc rc = store_rye_is_final(p->st, order_id, generation, &final);

	if (rc == STORE_OK)
		rc = store_rye_synced(p->st, order_id, now_ms, final,
		    final ? STORE_NEVER : now_ms + p->resync_ms);
	return rc;
}


/*
 * Round after round of what is due until nothing is, or the pass stops:
 * due() loads one round's ids, round() reads them.
 */
static void
rounds(struct rye_pass *p, enum store_rc (*due)(struct rye_pass *, struct rye_due *),
    void (*round)(struct rye_pass *, const struct rye_due *))
{
	while (poll_rye_going(p)) {
		struct rye_due d;
		enum store_rc rc = due(p, &d);

		poll_rye_store_failed(p, rc);
		if (rc != STORE_OK || d.n == 0) {
			rye_due_free(&d);
			return;
		}
		round(p, &d);
		rye_due_free(&d);
	}
}

/* --- gen-2 shipments by id --------------------------------------------------- */

static enum store_rc
apply_shipment(struct rye_pass *p, const struct rye_shipment *s, int64_t now)
{
	char digest[RYE_DIGEST_LEN + 1];
	struct observed o = {
		.scheme = SIG_RYE_V2, .kind = "shipment", .type = RYE_RECORD_SHIPMENT,
		.source_type = "shipment", .object_id = s->id, .digest = digest,
		.raw = s->raw, .raw_len = s->raw_len,
	};

	rye_record_shipment_digest(s, digest);
	return observe(p, &o, now);
}

static const struct rye_shipment *
find_shipment(const struct rye_answer *a, const char *id)
{
	for (size_t i = 0; i < a->nshipments; i++)
		if (strcmp(a->shipments[i].id, id) == 0)
			return &a->shipments[i];
	return NULL;
}

/* One shipment read: its observation; its intent is due if never read. */
static void
shipment_read(struct rye_pass *p, const char *id, const struct rye_shipment *s)
{
	int64_t now = timefmt_now_ms();
	enum store_rc rc;

	if (s->checkout_intent_id == NULL) {
		shipment_failed(p, id, "%s", "Rye's shipment names no checkoutIntentId");
		return;
	}
	if (!poll_rye_begin(p))
		return;
	rc = apply_shipment(p, s, now);
	if (rc == STORE_OK)
		rc = store_rye_shipment_done(p->st, id);
	if (rc == STORE_OK)
		rc = store_rye_want_intent(p->st, s->checkout_intent_id, false);
	if (poll_rye_end(p, rc))
		p->n.shipments++;
	else if (rc == UNREADABLE)
		shipment_failed(p, id, "%s", CANNOT_STORE);
}

static void
shipments_round(struct rye_pass *p, const struct rye_due *d)
{
	struct rye_answer a;

	rye_find_shipments(p->c, (const char *const *)d->ids, d->n, &a);
	if (a.result != RYE_OK) {
		poll_rye_answer_failed(p, &a, "shipments by id");
		for (size_t i = 0; i < d->n && poll_rye_theirs(&a); i++)
			shipment_failed(p, d->ids[i], "%s", a.message);
	} else
		for (size_t i = 0; i < d->n && !p->db_error; i++) {
			const struct rye_shipment *s = find_shipment(&a, d->ids[i]);
			if (s != NULL)
				shipment_read(p, d->ids[i], s);
			else
				shipment_failed(p, d->ids[i], "%s", "Rye does not know "
				    "this shipment (not in the answer by id)");
		}
	rye_answer_free(&a);
}

/* What is due: gen-2 shipments, RYE_IDS_MAX a request. */
static enum store_rc
due_shipments(struct rye_pass *p, struct rye_due *d)
{
	return store_rye_due_shipments(p->st, timefmt_now_ms(), RYE_IDS_MAX, d);
}

void
poll_rye_fetch_shipments(struct rye_pass *p)
{
	rounds(p, due_shipments, shipments_round);
}

/* --- gen-2 intents ------------------------------------------------------------ */

/* All pages of an intent's shipments (deep read); false: a failed read. */
static bool
list_shipments(struct rye_pass *p, const char *intent, struct rye_answer *pages,
    size_t *npages)
{
	struct rye_pager pg;
	bool more = true;

	*npages = 0;
	if (rye_pager_init(&pg, MAX_SHIPMENT_PAGES) < 0)
		return false;
	while (more && *npages < MAX_SHIPMENT_PAGES) {
		struct rye_answer *a = &pages[(*npages)++];

		rye_list_shipments(p->c, intent, pg.after, RYE_PAGE_MAX, a);
		if (a->result != RYE_OK) {
			poll_rye_answer_failed(p, a, "an intent's shipments");
			if (poll_rye_theirs(a))
				order_failed(p, intent, "listing its shipments: %s", a->message);
			rye_pager_free(&pg);
			return false;
		}
		more = rye_pager_next(&pg, a);
	}
	if (pg.stop == RYE_PAGER_PAGE_CAP || pg.stop == RYE_PAGER_REPEATED_CURSOR ||
	    more) {
		order_failed(p, intent, "listing its shipments: %s", pg.stop ==
		    RYE_PAGER_REPEATED_CURSOR ? "Rye repeated a cursor (a loop)" :
		    "no end after " NUMBER_TEXT(MAX_SHIPMENT_PAGES) " pages");
		rye_pager_free(&pg);
		return false;
	}
	rye_pager_free(&pg);
	return true;
}

static enum store_rc
apply_intent(struct rye_pass *p, const struct rye_intent *it, const struct rye_answer *pages,
    size_t npages, int64_t now)
{
	char digest[RYE_DIGEST_LEN + 1];
	struct observed o = {
		.scheme = SIG_RYE_V2, .kind = "intent", .type = RYE_RECORD_INTENT,
		.source_type = "checkout_intent", .object_id = it->id, .digest = digest,
		.raw = it->raw, .raw_len = it->raw_len,
	};
	enum store_rc rc;

	rye_record_intent_digest(it, digest);
	rc = observe(p, &o, now);
	/* A listed shipment that names no intent (or another) is not taken. */
	for (size_t pg = 0; pg < npages && rc == STORE_OK; pg++)
		for (size_t i = 0; i < pages[pg].nshipments && rc == STORE_OK; i++)
			if (pages[pg].shipments[i].checkout_intent_id != NULL &&
			    strcmp(pages[pg].shipments[i].checkout_intent_id, it->id) == 0)
				rc = apply_shipment(p, &pages[pg].shipments[i], now);
	if (rc == STORE_OK)
		rc = synced(p, it->id, 2, now);
	return rc;
}

static void
intent_read(struct rye_pass *p, const struct rye_intent *it, bool deep)
{
	struct rye_answer pages[MAX_SHIPMENT_PAGES];
	size_t npages = 0;
	int64_t now;
	enum store_rc rc;

	if (deep && !list_shipments(p, it->id, pages, &npages)) {
		for (size_t pg = 0; pg < npages; pg++)
			rye_answer_free(&pages[pg]);
		return;
	}
	now = timefmt_now_ms();
	if (poll_rye_begin(p)) {
		rc = apply_intent(p, it, pages, npages, now);
		if (poll_rye_end(p, rc))
			p->n.intents++;
		else if (rc == UNREADABLE)
			order_failed(p, it->id, "%s", CANNOT_STORE);
	}
	for (size_t pg = 0; pg < npages; pg++)
		rye_answer_free(&pages[pg]);
}

static const struct rye_intent *
find_intent(const struct rye_answer *a, const char *id)
{
	for (size_t i = 0; i < a->nintents; i++)
		if (strcmp(a->intents[i].id, id) == 0)
			return &a->intents[i];
	return NULL;
}

static void
intents_round(struct rye_pass *p, const struct rye_due *d)
{
	struct rye_answer a;

	rye_list_intents(p->c, (const char *const *)d->ids, d->n, &a);
	if (a.result != RYE_OK) {
		poll_rye_answer_failed(p, &a, "checkout intents by id");
		for (size_t i = 0; i < d->n && poll_rye_theirs(&a); i++)
			order_failed(p, d->ids[i], "%s", a.message);
	} else
		for (size_t i = 0; i < d->n && poll_rye_going(p); i++) {
			const struct rye_intent *it = find_intent(&a, d->ids[i]);
			if (it != NULL)
				intent_read(p, it, d->deep[i]);
			else
				order_failed(p, d->ids[i], "%s", "Rye does not know this "
				    "checkout intent (not in the answer by id)");
		}
	rye_answer_free(&a);
}

/* What is due: gen-2 intents, RYE_IDS_MAX a request. */
static enum store_rc
due_intents(struct rye_pass *p, struct rye_due *d)
{
	return store_rye_due_orders(p->st, 2, timefmt_now_ms(), RYE_IDS_MAX, d);
}

void
poll_rye_fetch_intents(struct rye_pass *p)
{
	rounds(p, due_intents, intents_round);
}

/* --- gen-1 orders ------------------------------------------------------------- */

static enum store_rc
apply_order_event(struct rye_pass *p, const struct rye_order *o,
    const struct rye_order_event *e, int64_t now)
{
	char id[RYE_MAX_ID + 8], why[160];
	struct buf body;
	struct event ev;
	enum store_rc rc = STORE_OK;
	bool dup;

	if (e->id == NULL || e->created_at == NULL || e->raw == NULL)
		return STORE_OK;	/* nothing to key or date it by */
	snprintf(id, sizeof(id), "sync:%s", e->id);
	buf_init(&body, RYE_MAX_BODY);
	if (rye_record_order_event(&body, id, o->id, e->created_at, e->raw,
	    e->raw_len) == 0 && event_parse_record(SIG_RYE_V1, body.data, body.len,
	    &ev, why, sizeof(why)) == EVENT_OK) {
		ev.source = "sync";
		rc = apply_event_in_tx(p->st, &ev, body.data, body.len, now, &dup);
	} else
		log_warn("rye: order %s: event %s kept out: %s", o->id, e->id, why);
	event_free(&ev);
	buf_free(&body);
	return rc;
}

static void
order_read(struct rye_pass *p, const char *order_id, const struct rye_order *o)
{
	char digest[RYE_DIGEST_LEN + 1];
	struct observed ob = {
		.scheme = SIG_RYE_V1, .kind = "order1", .type = RYE_RECORD_ORDER1,
		.source_type = "order1", .object_id = order_id, .digest = digest,
		.raw = o->raw, .raw_len = o->raw_len,
	};
	int64_t now = timefmt_now_ms();
	enum store_rc rc = STORE_OK;

	if (strcmp(o->id, order_id) != 0) {
		order_failed(p, order_id, "orderByID answered for another order (%s)", o->id);
		return;
	}
	if (o->truncated)
		log_warn("rye: order %s: Rye's answer was longer than this client keeps",
		    order_id);
	rye_record_order_digest(o, digest);
	if (!poll_rye_begin(p))
		return;
	for (size_t i = 0; i < o->nevents && rc == STORE_OK; i++)
		rc = apply_order_event(p, o, &o->events[i], now);
	if (rc == STORE_OK)
		rc = observe(p, &ob, now);
	if (rc == STORE_OK)
		rc = synced(p, order_id, 1, now);
	if (poll_rye_end(p, rc))
		p->n.orders++;
	else if (rc == UNREADABLE)
		order_failed(p, order_id, "%s", CANNOT_STORE);
}

/* What is due: gen-1 orders, ORDERS_PER_ROUND at a time. */
static enum store_rc
due_orders1(struct rye_pass *p, struct rye_due *d)
{
	return store_rye_due_orders(p->st, 1, timefmt_now_ms(), ORDERS_PER_ROUND, d);
}

/* orderByID, one request each. */
static void
orders1_round(struct rye_pass *p, const struct rye_due *d)
{
	for (size_t i = 0; i < d->n && poll_rye_going(p); i++) {
		struct rye_answer a;

		if (rye_order_by_id(p->c, d->ids[i], &a) == RYE_OK)
			order_read(p, d->ids[i], &a.order);
		else {
			poll_rye_answer_failed(p, &a, "orderByID");
			if (poll_rye_theirs(&a))
				order_failed(p, d->ids[i], "%s", a.message);
		}
		rye_answer_free(&a);
	}
}

void
poll_rye_fetch_orders1(struct rye_pass *p)
{
	rounds(p, due_orders1, orders1_round);
}
