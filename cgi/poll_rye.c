/*
 * poll_rye: the Rye pass of shiptrack-poll (see poll.h).  Webhooks are the
 * fast path, Rye's API the truth: the pass fetches what the webhooks left
 * open, stores it raw like a webhook (rye_record.h) and folds it by the
 * same rules, so a refused or never-sent webhook costs a delay, not data.
 *
 *   what is due      the events that arrived since the last run (their
 *                    arrival seq is the mark): a gen-2 shipment's event
 *                    makes its shipment due (fetched by id, which also
 *                    names its intent); a checkout intent's event makes the
 *                    intent due unless it is final; a gen-1 event pushes
 *                    its order's re-read to rye_resync_hours from now.
 *                    Plus gen-1 orders SUCCEEDED without a shipment for
 *                    longer than the Pending allowance, and every order
 *                    whose re-read (or retry after an error) is due;
 *   sweep            gen 2: the events list, for events never received
 *                    (poll_sweep.c); they become due like the rest;
 *   shipments        due shipments by id, RYE_IDS_MAX a request;
 *   intents          due intents by id, RYE_IDS_MAX a request; one whose
 *                    re-read timer came due also has its shipments listed
 *                    (a parcel whose every event was lost is found so);
 *   gen-1 orders     orderByID each: the answer, its embedded events and
 *                    its shipments.
 *
 * Every read is applied in one transaction with the bookkeeping that says
 * it was done (rye_sync, rye_shipments_due), and the mark of what is due
 * moves only in the transaction that records it as due: a run killed with
 * SIGKILL anywhere loses nothing and applies nothing twice (records have
 * deterministic ids).  Network waits never hold the write lock.
 *
 * Errors: 401/403 stop the whole run (exit 2) and change nothing; a 404
 * (or an id missing from a by-id page) is the order's syncError with a
 * back-off (poll_interval, doubling, at most a day), like a malformed
 * answer; 429s, 5xx and timeouts are retried by the client, and if they
 * persist the reads in hand get a syncError and the pass stops: the rest
 * waits for the next run.  A pass with nothing due makes one request at
 * most (the events list), none for a gen-1-only account.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "event.h"
#include "log.h"
#include "metrics.h"
#include "poll.h"
#include "rye.h"
#include "rye_record.h"
#include "store_carrier.h"
#include "store_rye.h"
#include "timefmt.h"

#define BACKOFF_CAP_MS		(24 * 3600 * 1000LL)
#define MAX_SHIPMENT_PAGES	10	/* of one intent, RYE_PAGE_MAX each */
#define TEXT_OF(n)		#n
#define NUMBER_TEXT(n)		TEXT_OF(n)
#define ORDERS_PER_ROUND	50
#define META_SEQ		"ryesync.seq"	/* the last event looked at */
#define META_GEN1		"ryesync.gen1"	/* gen-1 events seen */
#define META_GEN2		"ryesync.gen2"	/* gen-2 events seen */

/* --- how the pass is going -------------------------------------------------- */

bool
poll_rye_going(struct run *r)
{
	struct rye_pass *p = &r->rye;

	if (poll_signal && !p->interrupted) {
		log_warn("rye: interrupted: stopping");
		p->interrupted = true;
	}
	if (!p->late && timefmt_now_ms() >= p->deadline) {
		log_warn("rye: out of time; the rest waits for the next run");
		p->late = true;
	}
	return !(p->unauthorized || p->config_error || p->db_error || p->struggling ||
	    p->late || p->interrupted);
}

void
poll_rye_store_failed(struct run *r, enum store_rc rc)
{
	if (rc == STORE_OK || r->rye.db_error)
		return;
	log_error("rye: the database failed (%s): stopping the pass",
	    rc == STORE_BUSY ? "busy" : rc == STORE_FULL ? "full" : "error");
	r->rye.db_error = true;
}

/*
 * What an answer that is not the object asked for means for the pass.
 * The caller records it for the orders concerned unless the pass stops
 * for a reason that is not theirs (the key, our own deadline).
 */
void
poll_rye_answer_failed(struct run *r, const struct rye_answer *a, const char *what)
{
	struct rye_pass *p = &r->rye;

	switch (a->result) {
	case RYE_UNAUTHORIZED:
		if (!p->unauthorized)
			log_error("rye: Rye refused the API key (HTTP %d): check rye_api_key "
			    "and rye_auth_scheme; nothing was changed", a->http);
		p->unauthorized = true;
		break;
	case RYE_STOPPED:
		if (poll_signal)
			p->interrupted = true;
		else
			p->late = true;
		break;
	case RYE_FAILED:
		if (a->http == 404) {
			log_error("rye: %s: %s: check rye_api_url", what, a->message);
			p->config_error = true;
			break;
		}
		/* FALLTHROUGH */
	default:
		log_warn("rye: %s: %s %s", what, rye_result_name(a->result), a->message);
		if (a->result == RYE_RATE_LIMITED || a->result == RYE_UNAVAILABLE)
			p->struggling = true;
		break;
	}
}

/* Whether a failed answer is the orders' to record (not the key's, not ours). */
static bool
theirs(const struct rye_answer *a)
{
	return a->result != RYE_UNAUTHORIZED && a->result != RYE_STOPPED &&
	    !(a->result == RYE_FAILED && a->http == 404);
}

/* --- records ---------------------------------------------------------------- */

/*
 * observe()'s answer for an object the store cannot take as Rye sent it
 * (our own record of it does not read back: say, a lone surrogate escape
 * that Rye's parser lets through and the store's refuses).  The object's
 * read fails; the pass goes on.
 */
#define UNREADABLE STORE_NONE

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
observe(struct run *r, const struct observed *o, int64_t now_ms)
{
	char subject[EVENT_MAX_SUBJECT], last[RYE_RECORD_MAX_ID + 64], id[RYE_RECORD_MAX_ID];
	char digest[RYE_DIGEST_LEN + 1], at[TIMEFMT_ISO_LEN], why[160];
	struct buf body;
	struct event ev;
	enum store_rc rc;
	long count;
	bool dup;

	snprintf(subject, sizeof(subject), "%s:%s", o->source_type, o->object_id);
	if ((rc = store_rye_subject_records(r->st, subject, o->type, &count, last,
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
		rc = apply_event_in_tx(r->st, &ev, body.data, body.len, now_ms, &dup);
	} else {
		log_warn("rye: %s: Rye's answer cannot be stored as it is: %s", subject, why);
		rc = UNREADABLE;
	}
	event_free(&ev);
	buf_free(&body);
	return rc;
}

/* Open a transaction for one read; false (and the pass stops) if none. */
static bool
begin(struct run *r)
{
	enum store_rc rc = store_begin(r->st);

	poll_rye_store_failed(r, rc);
	return rc == STORE_OK;
}

/*
 * Commit, or roll back on error; a database error stops the pass.  false
 * when nothing was committed.
 */
static bool
end(struct run *r, enum store_rc rc)
{
	if (rc == STORE_OK)
		rc = store_commit(r->st);
	if (rc != STORE_OK)
		store_rollback(r->st);
	if (rc != UNREADABLE)
		poll_rye_store_failed(r, rc);
	return rc == STORE_OK;
}

#define CANNOT_STORE "Rye's answer cannot be stored as it is (see the log)"

/* A read failed: the order's syncError, in its own transaction. */
static void
order_failed(struct run *r, const char *order_id, const char *fmt, const char *msg)
{
	char text[400];
	int64_t now = timefmt_now_ms();

	snprintf(text, sizeof(text), fmt, msg);
	log_warn("rye: order %s: %s", order_id, text);
	r->rye.n.failed++;
	if (begin(r))
		end(r, store_rye_failed(r->st, order_id, text, now, r->rye.backoff_ms,
		    BACKOFF_CAP_MS));
}

static void
shipment_failed(struct run *r, const char *id, const char *fmt, const char *msg)
{
	char text[400];
	int64_t now = timefmt_now_ms();

	snprintf(text, sizeof(text), fmt, msg);
	log_warn("rye: shipment %s: %s", id, text);
	r->rye.n.failed++;
	if (begin(r))
		end(r, store_rye_shipment_failed(r->st, id, text, now, r->rye.backoff_ms,
		    BACKOFF_CAP_MS));
}

/* Done reading order_id: final, or due again after rye_resync_hours. */
static enum store_rc
synced(struct run *r, const char *order_id, int generation, int64_t now_ms)
{
	bool final;
	enum store_rc rc = store_rye_is_final(r->st, order_id, generation, &final);

	if (rc == STORE_OK)
		rc = store_rye_synced(r->st, order_id, now_ms, final,
		    final ? STORE_NEVER : now_ms + r->rye.resync_ms);
	return rc;
}

/* --- what is due ----------------------------------------------------------- */

struct enqueue {
	struct run *r;
	int64_t seq, due1;
	bool gen1, gen2;
	enum store_rc rc;
};

static int
on_trigger(void *arg, const struct rye_trigger *t)
{
	struct enqueue *q = arg;

	q->seq = t->seq;
	if (strcmp(t->scheme, "rye2") == 0) {
		q->gen2 = true;
		if (t->subject != NULL && strncmp(t->subject, "shipment:", 9) == 0)
			q->rc = store_rye_want_shipment(q->r->st, t->subject + 9);
		else if (t->order_id != NULL)
			q->rc = store_rye_want_intent(q->r->st, t->order_id, false);
	} else {
		q->gen1 = true;
		if (t->order_id != NULL)
			q->rc = store_rye_want_order1(q->r->st, t->order_id, q->due1);
	}
	return q->rc == STORE_OK ? 0 : -1;
}

static enum store_rc
meta_long(struct store *st, const char *key, long long *v)
{
	char buf[32];
	enum store_rc rc = store_meta_get(st, key, buf, sizeof(buf));

	*v = rc == STORE_OK ? strtoll(buf, NULL, 10) : 0;
	return rc == STORE_NONE ? STORE_OK : rc;
}

static enum store_rc
meta_put(struct store *st, const char *key, long long v)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%lld", v);
	return store_meta_set(st, key, buf);
}

/*
 * One transaction: everything that arrived since the last look becomes
 * due, and the mark moves past it.
 */
static void
enqueue(struct run *r)
{
	long long seq = 0, g1 = 0, g2 = 0;
	int64_t now = timefmt_now_ms();
	struct enqueue q = { .r = r, .due1 = now + r->rye.resync_ms, .rc = STORE_OK };
	enum store_rc rc;

	if (!begin(r))
		return;
	if ((rc = meta_long(r->st, META_SEQ, &seq)) == STORE_OK &&
	    (rc = meta_long(r->st, META_GEN1, &g1)) == STORE_OK)
		rc = meta_long(r->st, META_GEN2, &g2);
	q.seq = seq;
	if (rc == STORE_OK)
		rc = store_rye_triggers(r->st, seq, on_trigger, &q);
	if (rc == STORE_OK)
		rc = q.rc;
	/* Pending=0 in stale_rules: never stale, so never due by this rule. */
	if (rc == STORE_OK && r->a.conf.stale.days[TAG_PENDING] > 0)
		rc = store_rye_placed_due(r->st, now - r->a.conf.stale.days[TAG_PENDING] *
		    86400000LL);
	if (rc == STORE_OK && q.seq != seq)
		rc = meta_put(r->st, META_SEQ, q.seq);
	if (rc == STORE_OK && q.gen1 && !g1)
		rc = meta_put(r->st, META_GEN1, 1);
	if (rc == STORE_OK && q.gen2 && !g2)
		rc = meta_put(r->st, META_GEN2, 1);
	end(r, rc);
}

/*
 * Gen-1 only (no events list to sweep): gen-1 events seen, gen-2 ones
 * never, by the last runs or among the events that arrived since.  Read
 * only: nothing is written before the first request.
 */
static bool
gen1_only(struct run *r)
{
	long long seq = 0, g1 = 0, g2 = 0;
	bool new1 = false, new2 = false;
	enum store_rc rc;

	if ((rc = meta_long(r->st, META_SEQ, &seq)) == STORE_OK &&
	    (rc = meta_long(r->st, META_GEN1, &g1)) == STORE_OK &&
	    (rc = meta_long(r->st, META_GEN2, &g2)) == STORE_OK && !g2)
		rc = store_rye_schemes(r->st, seq, &new1, &new2);
	poll_rye_store_failed(r, rc);
	return (g1 || new1) && !(g2 || new2);
}

/* --- gen-2 shipments by id --------------------------------------------------- */

static enum store_rc
apply_shipment(struct run *r, const struct rye_shipment *s, int64_t now)
{
	char digest[RYE_DIGEST_LEN + 1];
	struct observed o = {
		.scheme = SIG_RYE_V2, .kind = "shipment", .type = RYE_RECORD_SHIPMENT,
		.source_type = "shipment", .object_id = s->id, .digest = digest,
		.raw = s->raw, .raw_len = s->raw_len,
	};

	rye_record_shipment_digest(s, digest);
	return observe(r, &o, now);
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
shipment_read(struct run *r, const char *id, const struct rye_shipment *s)
{
	int64_t now = timefmt_now_ms();
	enum store_rc rc;

	if (s->checkout_intent_id == NULL) {
		shipment_failed(r, id, "%s", "Rye's shipment names no checkoutIntentId");
		return;
	}
	if (!begin(r))
		return;
	rc = apply_shipment(r, s, now);
	if (rc == STORE_OK)
		rc = store_rye_shipment_done(r->st, id);
	if (rc == STORE_OK)
		rc = store_rye_want_intent(r->st, s->checkout_intent_id, false);
	if (end(r, rc))
		r->rye.n.shipments++;
	else if (rc == UNREADABLE)
		shipment_failed(r, id, "%s", CANNOT_STORE);
}

static void
shipments_round(struct run *r, const struct rye_due *d)
{
	struct rye_answer a;

	rye_find_shipments(r->rye.c, (const char *const *)d->ids, d->n, &a);
	if (a.result != RYE_OK) {
		poll_rye_answer_failed(r, &a, "shipments by id");
		for (size_t i = 0; i < d->n && theirs(&a); i++)
			shipment_failed(r, d->ids[i], "%s", a.message);
	} else
		for (size_t i = 0; i < d->n && !r->rye.db_error; i++) {
			const struct rye_shipment *s = find_shipment(&a, d->ids[i]);
			if (s != NULL)
				shipment_read(r, d->ids[i], s);
			else
				shipment_failed(r, d->ids[i], "%s", "Rye does not know "
				    "this shipment (not in the answer by id)");
		}
	rye_answer_free(&a);
}

static void
fetch_shipments(struct run *r)
{
	while (poll_rye_going(r)) {
		struct rye_due d;
		enum store_rc rc = store_rye_due_shipments(r->st, timefmt_now_ms(),
		    RYE_IDS_MAX, &d);

		poll_rye_store_failed(r, rc);
		if (rc != STORE_OK || d.n == 0) {
			rye_due_free(&d);
			return;
		}
		shipments_round(r, &d);
		rye_due_free(&d);
	}
}

/* --- gen-2 intents ------------------------------------------------------------ */

/* All pages of an intent's shipments (deep read); false: a failed read. */
static bool
list_shipments(struct run *r, const char *intent, struct rye_answer *pages,
    size_t *npages)
{
	struct rye_pager pg;
	bool more = true;

	*npages = 0;
	if (rye_pager_init(&pg, MAX_SHIPMENT_PAGES) < 0)
		return false;
	while (more && *npages < MAX_SHIPMENT_PAGES) {
		struct rye_answer *a = &pages[(*npages)++];

		rye_list_shipments(r->rye.c, intent, pg.after, RYE_PAGE_MAX, a);
		if (a->result != RYE_OK) {
			poll_rye_answer_failed(r, a, "an intent's shipments");
			if (theirs(a))
				order_failed(r, intent, "listing its shipments: %s", a->message);
			rye_pager_free(&pg);
			return false;
		}
		more = rye_pager_next(&pg, a);
	}
	if (pg.stop == RYE_PAGER_PAGE_CAP || pg.stop == RYE_PAGER_REPEATED_CURSOR ||
	    more) {
		order_failed(r, intent, "listing its shipments: %s", pg.stop ==
		    RYE_PAGER_REPEATED_CURSOR ? "Rye repeated a cursor (a loop)" :
		    "no end after " NUMBER_TEXT(MAX_SHIPMENT_PAGES) " pages");
		rye_pager_free(&pg);
		return false;
	}
	rye_pager_free(&pg);
	return true;
}

static enum store_rc
apply_intent(struct run *r, const struct rye_intent *it, const struct rye_answer *pages,
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
	rc = observe(r, &o, now);
	/* A listed shipment that names no intent (or another) is not taken. */
	for (size_t p = 0; p < npages && rc == STORE_OK; p++)
		for (size_t i = 0; i < pages[p].nshipments && rc == STORE_OK; i++)
			if (pages[p].shipments[i].checkout_intent_id != NULL &&
			    strcmp(pages[p].shipments[i].checkout_intent_id, it->id) == 0)
				rc = apply_shipment(r, &pages[p].shipments[i], now);
	if (rc == STORE_OK)
		rc = synced(r, it->id, 2, now);
	return rc;
}

static void
intent_read(struct run *r, const struct rye_intent *it, bool deep)
{
	struct rye_answer pages[MAX_SHIPMENT_PAGES];
	size_t npages = 0;
	int64_t now;
	enum store_rc rc;

	if (deep && !list_shipments(r, it->id, pages, &npages)) {
		for (size_t p = 0; p < npages; p++)
			rye_answer_free(&pages[p]);
		return;
	}
	now = timefmt_now_ms();
	if (begin(r)) {
		rc = apply_intent(r, it, pages, npages, now);
		if (end(r, rc))
			r->rye.n.intents++;
		else if (rc == UNREADABLE)
			order_failed(r, it->id, "%s", CANNOT_STORE);
	}
	for (size_t p = 0; p < npages; p++)
		rye_answer_free(&pages[p]);
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
intents_round(struct run *r, const struct rye_due *d)
{
	struct rye_answer a;

	rye_list_intents(r->rye.c, (const char *const *)d->ids, d->n, &a);
	if (a.result != RYE_OK) {
		poll_rye_answer_failed(r, &a, "checkout intents by id");
		for (size_t i = 0; i < d->n && theirs(&a); i++)
			order_failed(r, d->ids[i], "%s", a.message);
	} else
		for (size_t i = 0; i < d->n && poll_rye_going(r); i++) {
			const struct rye_intent *it = find_intent(&a, d->ids[i]);
			if (it != NULL)
				intent_read(r, it, d->deep[i]);
			else
				order_failed(r, d->ids[i], "%s", "Rye does not know this "
				    "checkout intent (not in the answer by id)");
		}
	rye_answer_free(&a);
}

/* --- gen-1 orders ------------------------------------------------------------- */

static enum store_rc
apply_order_event(struct run *r, const struct rye_order *o,
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
		rc = apply_event_in_tx(r->st, &ev, body.data, body.len, now, &dup);
	} else
		log_warn("rye: order %s: event %s kept out: %s", o->id, e->id, why);
	event_free(&ev);
	buf_free(&body);
	return rc;
}

static void
order_read(struct run *r, const char *order_id, const struct rye_order *o)
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
		order_failed(r, order_id, "orderByID answered for another order (%s)", o->id);
		return;
	}
	if (o->truncated)
		log_warn("rye: order %s: Rye's answer was longer than this client keeps",
		    order_id);
	rye_record_order_digest(o, digest);
	if (!begin(r))
		return;
	for (size_t i = 0; i < o->nevents && rc == STORE_OK; i++)
		rc = apply_order_event(r, o, &o->events[i], now);
	if (rc == STORE_OK)
		rc = observe(r, &ob, now);
	if (rc == STORE_OK)
		rc = synced(r, order_id, 1, now);
	if (end(r, rc))
		r->rye.n.orders++;
	else if (rc == UNREADABLE)
		order_failed(r, order_id, "%s", CANNOT_STORE);
}

static void
fetch_orders1(struct run *r)
{
	while (poll_rye_going(r)) {
		struct rye_due d;
		enum store_rc rc = store_rye_due_orders(r->st, 1, timefmt_now_ms(),
		    ORDERS_PER_ROUND, &d);

		poll_rye_store_failed(r, rc);
		if (rc != STORE_OK || d.n == 0) {
			rye_due_free(&d);
			return;
		}
		for (size_t i = 0; i < d.n && poll_rye_going(r); i++) {
			struct rye_answer a;

			if (rye_order_by_id(r->rye.c, d.ids[i], &a) == RYE_OK)
				order_read(r, d.ids[i], &a.order);
			else {
				poll_rye_answer_failed(r, &a, "orderByID");
				if (theirs(&a))
					order_failed(r, d.ids[i], "%s", a.message);
			}
			rye_answer_free(&a);
		}
		rye_due_free(&d);
	}
}

static void
fetch_intents(struct run *r)
{
	while (poll_rye_going(r)) {
		struct rye_due d;
		enum store_rc rc = store_rye_due_orders(r->st, 2, timefmt_now_ms(),
		    RYE_IDS_MAX, &d);

		poll_rye_store_failed(r, rc);
		if (rc != STORE_OK || d.n == 0) {
			rye_due_free(&d);
			return;
		}
		intents_round(r, &d);
		rye_due_free(&d);
	}
}

/* --- the pass ------------------------------------------------------------------ */

static bool
open_client(struct run *r)
{
	struct rye_opts o;
	char err[300];

	rye_opts_default(&o);
	o.api_key = r->a.conf.rye_api_key;
	o.base_url = r->a.conf.rye_api_url;
	o.graphql_url = r->a.conf.rye_graphql_url;
	o.auth_scheme = r->a.conf.rye_auth_scheme;
	o.rate = (double)r->a.conf.rye_rate;
	o.timeout_s = r->a.conf.carrier_timeout;
	o.deadline_ms = r->rye.deadline;
	o.stop = &poll_signal;
	if ((r->rye.c = rye_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "shiptrack-poll: %s\n", err);
		r->rye.config_error = true;
		return false;
	}
	return true;
}

const char *
poll_rye_result(const struct run *r, int *rc)
{
	const struct rye_pass *p = &r->rye;

	*rc = 2;
	if (p->unauthorized)
		return "rye_unauthorized";
	if (p->config_error)
		return "rye_bad_config";
	*rc = 1;
	if (p->db_error)
		return "rye_database_error";
	if (p->interrupted)
		return "rye_interrupted";
	if (p->struggling)
		return "rye_unavailable";
	if (p->cut == RYE_CUT_PAGE_CAP)
		return "rye_events_page_cap";
	if (p->cut == RYE_CUT_REPEATED)
		return "rye_events_repeated";
	if (p->late || p->cut == RYE_CUT_LATE)
		return "rye_out_of_time";
	if (p->n.failed > 0)
		return "rye_some_failed";
	*rc = 0;
	return "ok";
}

static void
record_pass(struct run *r)
{
	char started[TIMEFMT_ISO_LEN], finished[TIMEFMT_ISO_LEN], num[32];
	const struct rye_stats *s = rye_stats(r->rye.c);
	const struct rye_counts *n = &r->rye.n;
	int rc_exit;
	const char *result = poll_rye_result(r, &rc_exit);
	long requests = 0;
	enum store_rc rc;

	for (int op = 0; op < RYE_OP__MAX; op++)
		requests += s->sent[op];
	const struct { const char *key; long v; } nums[] = {
		{ "rye.eventsRecovered", n->recovered }, { "rye.intentsCompleted", n->intents },
		{ "rye.shipmentsRead", n->shipments }, { "rye.ordersResynced", n->orders },
		{ "rye.errors", n->failed }, { "rye.requests", requests },
	};
	timefmt_iso_utc(r->rye.start_ms - r->rye.start_ms % 1000, started);
	timefmt_iso_utc(timefmt_now_ms() / 1000 * 1000, finished);
	if ((rc = store_begin(r->st)) != STORE_OK)
		goto err;
	rc = store_meta_set(r->st, "rye.startedAt", started);
	if (rc == STORE_OK)
		rc = store_meta_set(r->st, "rye.finishedAt", finished);
	if (rc == STORE_OK)
		rc = store_meta_set(r->st, "rye.result", result);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]) && rc == STORE_OK; i++) {
		snprintf(num, sizeof(num), "%ld", nums[i].v);
		rc = store_meta_set(r->st, nums[i].key, num);
	}
	if (rc == STORE_OK && rc_exit == 0)
		rc = store_meta_set(r->st, "rye.lastSuccess", finished);
	if (rc == STORE_OK)
		rc = metrics_store_rye_run(r->st, s, n->recovered, n->intents, n->orders,
		    n->failed);
	if (rc == STORE_OK && (rc = store_commit(r->st)) == STORE_OK)
		return;
err:
	store_rollback(r->st);
	log_error("rye: could not record the pass in the database");
	r->rye.db_error = true;
}

static bool
take_lock(struct run *r)
{
	char err[4200];

	switch (runlock_take(&r->rye.lock, r->a.conf.database, RUNLOCK_RYE,
	    timefmt_now_ms(), err, sizeof(err))) {
	case RUNLOCK_TAKEN:
		return true;
	case RUNLOCK_BUSY:
		r->rye.skipped = "another Rye pass is in progress";
		return false;
	default:
		fprintf(stderr, "shiptrack-poll: cannot lock: %s\n", err);
		r->rye.skipped = "cannot take its lock";
		r->rye.db_error = true;
		return false;
	}
}

/*
 * The sweep comes first: for a known gen-2 account its first request is
 * the events list, so a refused key is met before anything is written.
 */
static void
work(struct run *r)
{
	if (!gen1_only(r) && poll_rye_going(r))
		poll_rye_sweep(r);
	if (poll_rye_going(r))
		enqueue(r);
	fetch_shipments(r);
	fetch_intents(r);
	/* Intents a shipment named for the first time, read in the same run. */
	fetch_shipments(r);
	fetch_orders1(r);
}

void
poll_rye(struct run *r)
{
	struct rye_pass *p = &r->rye;
	int64_t interval = (int64_t)r->a.conf.poll_interval * 1000;

	p->lock.fd = -1;
	if (r->o->carrier_only) {
		p->skipped = "--carrier-only";
		return;
	}
	if (r->a.conf.rye_api_key == NULL) {
		p->skipped = "no rye_api_key";
		return;
	}
	if (r->o->dry_run) {
		p->skipped = "dry run";
		return;
	}
	if (!take_lock(r))
		return;
	p->start_ms = timefmt_now_ms();
	/* With the carrier pass to follow, half the run's time at most. */
	p->deadline = p->start_ms + (r->o->rye_only ? interval : interval / 2);
	p->resync_ms = (int64_t)r->a.conf.rye_resync_hours * 3600 * 1000;
	p->backoff_ms = interval;
	p->margin_ms = (int64_t)r->a.conf.poll_sync_margin * 1000;
	if (!open_client(r))
		return;
	work(r);
	if (!p->unauthorized && !p->db_error)
		record_pass(r);
}

void
poll_rye_close(struct run *r)
{
	rye_close(r->rye.c);
	r->rye.c = NULL;
	runlock_release(&r->rye.lock);
}
