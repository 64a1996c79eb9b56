/*
 * poll_rye: the Rye pass of shiptrack-poll (see poll.h, poll_rye.h).  Webhooks are the
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
 *   shipments        due shipments by id, RYE_IDS_MAX a request
 *                    (this and the next two: poll_rye_read.c);
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

#include "log.h"
#include "metrics.h"
#include "poll_rye.h"
#include "store_carrier.h"
#include "store_rye.h"
#include "timefmt.h"

#define META_SEQ		"ryesync.seq"	/* the last event looked at */
#define META_GEN1		"ryesync.gen1"	/* gen-1 events seen */
#define META_GEN2		"ryesync.gen2"	/* gen-2 events seen */

/* --- how the pass is going -------------------------------------------------- */

bool
poll_rye_going(struct rye_pass *p)
{
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
poll_rye_store_failed(struct rye_pass *p, enum store_rc rc)
{
	if (rc == STORE_OK || p->db_error)
		return;
	log_error("rye: the database failed (%s): stopping the pass",
	    rc == STORE_BUSY ? "busy" : rc == STORE_FULL ? "full" : "error");
	p->db_error = true;
}

void
poll_rye_answer_failed(struct rye_pass *p, const struct rye_answer *a, const char *what)
{
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

bool
poll_rye_theirs(const struct rye_answer *a)
{
	return a->result != RYE_UNAUTHORIZED && a->result != RYE_STOPPED &&
	    !(a->result == RYE_FAILED && a->http == 404);
}

bool
poll_rye_begin(struct rye_pass *p)
{
	enum store_rc rc = store_begin(p->st);

	poll_rye_store_failed(p, rc);
	return rc == STORE_OK;
}

bool
poll_rye_end(struct rye_pass *p, enum store_rc rc)
{
	if (rc == STORE_OK)
		rc = store_commit(p->st);
	if (rc != STORE_OK)
		store_rollback(p->st);
	if (rc != UNREADABLE)
		poll_rye_store_failed(p, rc);
	return rc == STORE_OK;
}

/* --- what is due ----------------------------------------------------------- */

struct enqueue {
	struct rye_pass *p;
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
			q->rc = store_rye_want_shipment(q->p->st, t->subject + 9);
		else if (t->order_id != NULL)
			q->rc = store_rye_want_intent(q->p->st, t->order_id, false);
	} else {
		q->gen1 = true;
		if (t->order_id != NULL)
			q->rc = store_rye_want_order1(q->p->st, t->order_id, q->due1);
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
 * due, and the mark moves past it, never past an event still being
 * committed (store_rye_settled_seq).
 */
static void
enqueue(struct rye_pass *p)
{
	long long seq = 0, g1 = 0, g2 = 0;
	int64_t now = timefmt_now_ms(), settled = 0;
	struct enqueue q = { .p = p, .due1 = now + p->resync_ms, .rc = STORE_OK };
	enum store_rc rc;

	if ((rc = store_rye_settled_seq(p->st, &settled)) != STORE_OK) {
		poll_rye_store_failed(p, rc);
		return;
	}
	if (!poll_rye_begin(p))
		return;
	if ((rc = meta_long(p->st, META_SEQ, &seq)) == STORE_OK &&
	    (rc = meta_long(p->st, META_GEN1, &g1)) == STORE_OK)
		rc = meta_long(p->st, META_GEN2, &g2);
	q.seq = seq;
	if (rc == STORE_OK)
		rc = store_rye_triggers(p->st, seq, settled, on_trigger, &q);
	if (rc == STORE_OK)
		rc = q.rc;
	/* Pending=0 in stale_rules: never stale, so never due by this rule. */
	if (rc == STORE_OK && p->conf->stale.days[TAG_PENDING] > 0)
		rc = store_rye_placed_due(p->st, now - p->conf->stale.days[TAG_PENDING] *
		    86400000LL);
	if (rc == STORE_OK && q.seq != seq)
		rc = meta_put(p->st, META_SEQ, q.seq);
	if (rc == STORE_OK && q.gen1 && !g1)
		rc = meta_put(p->st, META_GEN1, 1);
	if (rc == STORE_OK && q.gen2 && !g2)
		rc = meta_put(p->st, META_GEN2, 1);
	poll_rye_end(p, rc);
}

/*
 * Gen-1 only (no events list to sweep): gen-1 events seen, gen-2 ones
 * never, by the last runs or among the events that arrived since.  Read
 * only: nothing is written before the first request.
 */
static bool
gen1_only(struct rye_pass *p)
{
	long long seq = 0, g1 = 0, g2 = 0;
	bool new1 = false, new2 = false;
	enum store_rc rc;

	if ((rc = meta_long(p->st, META_SEQ, &seq)) == STORE_OK &&
	    (rc = meta_long(p->st, META_GEN1, &g1)) == STORE_OK &&
	    (rc = meta_long(p->st, META_GEN2, &g2)) == STORE_OK && !g2)
		rc = store_rye_schemes(p->st, seq, &new1, &new2);
	poll_rye_store_failed(p, rc);
	return (g1 || new1) && !(g2 || new2);
}
/* --- the pass ------------------------------------------------------------------ */

static bool
open_client(struct rye_pass *p)
{
	struct rye_opts o;
	char err[300];

	rye_opts_default(&o);
	o.api_key = p->conf->rye_api_key;
	o.base_url = p->conf->rye_api_url;
	o.graphql_url = p->conf->rye_graphql_url;
	o.auth_scheme = p->conf->rye_auth_scheme;
	o.rate = (double)p->conf->rye_rate;
	o.timeout_s = p->conf->carrier_timeout;
	o.deadline_ms = p->deadline;
	o.stop = &poll_signal;
	if ((p->c = rye_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "shiptrack-poll: %s\n", err);
		p->config_error = true;
		return false;
	}
	return true;
}

const char *
poll_rye_result(const struct rye_pass *p, int *rc)
{
	/* The first that applies, worst first. */
	const struct poll_outcome ladder[] = {
		{ p->unauthorized, "rye_unauthorized", EXIT_USAGE },
		{ p->config_error, "rye_bad_config", EXIT_USAGE },
		{ p->db_error, "rye_database_error", EXIT_FAILED },
		{ p->interrupted, "rye_interrupted", EXIT_FAILED },
		{ p->struggling, "rye_unavailable", EXIT_FAILED },
		{ p->cut == RYE_CUT_PAGE_CAP, "rye_events_page_cap", EXIT_FAILED },
		{ p->cut == RYE_CUT_REPEATED, "rye_events_repeated", EXIT_FAILED },
		{ p->late || p->cut == RYE_CUT_LATE, "rye_out_of_time", EXIT_FAILED },
		{ p->n.failed > 0, "rye_some_failed", EXIT_FAILED },
	};

	return poll_outcome(ladder, sizeof(ladder) / sizeof(ladder[0]), rc);
}

/* What a pass records besides poll_record()'s: the metrics. */
static enum store_rc
record_more(void *arg, struct store *st)
{
	struct rye_pass *p = arg;
	const struct rye_counts *n = &p->n;

	return metrics_store_rye_run(st, rye_stats(p->c), n->recovered, n->intents,
	    n->orders, n->failed);
}

static void
record_pass(struct rye_pass *p)
{
	const struct rye_stats *s = rye_stats(p->c);
	const struct rye_counts *n = &p->n;
	int rc_exit;
	long requests = 0;

	for (int op = 0; op < RYE_OP__MAX; op++)
		requests += s->sent[op];
	const struct poll_num nums[] = {
		{ "rye.eventsRecovered", n->recovered }, { "rye.intentsCompleted", n->intents },
		{ "rye.shipmentsRead", n->shipments }, { "rye.ordersResynced", n->orders },
		{ "rye.errors", n->failed }, { "rye.requests", requests },
	};
	const struct poll_record rec = {
		.pass = "rye", .start_ms = p->start_ms,
		.result = poll_rye_result(p, &rc_exit), .ok_key = "rye.lastSuccess",
		.nums = nums, .n = sizeof(nums) / sizeof(nums[0]),
		.more = record_more, .arg = p,
	};

	if (!poll_record(p->st, &rec)) {
		log_error("rye: could not record the pass in the database");
		p->db_error = true;
	}
}

static bool
take_lock(struct rye_pass *p)
{
	char err[4200];

	switch (runlock_take(&p->lock, p->conf->database, RUNLOCK_RYE,
	    timefmt_now_ms(), err, sizeof(err))) {
	case RUNLOCK_TAKEN:
		return true;
	case RUNLOCK_BUSY:
		p->skipped = "another Rye pass is in progress";
		return false;
	default:
		fprintf(stderr, "shiptrack-poll: cannot lock: %s\n", err);
		p->skipped = "cannot take its lock";
		p->db_error = true;
		return false;
	}
}

/*
 * The sweep comes first: for a known gen-2 account its first request is
 * the events list, so a refused key is met before anything is written.
 */
static void
work(struct rye_pass *p)
{
	if (!gen1_only(p) && poll_rye_going(p))
		poll_rye_sweep(p);
	if (poll_rye_going(p))
		enqueue(p);
	poll_rye_fetch_shipments(p);
	poll_rye_fetch_intents(p);
	/* Intents a shipment named for the first time, read in the same run. */
	poll_rye_fetch_shipments(p);
	poll_rye_fetch_orders1(p);
}

void
poll_rye(struct rye_pass *p)
{
	int64_t interval = (int64_t)p->conf->poll_interval * 1000;

	if (p->o->carrier_only) {
		p->skipped = "--carrier-only";
		return;
	}
	if (p->conf->rye_api_key == NULL) {
		p->skipped = "no rye_api_key";
		return;
	}
	if (p->o->dry_run) {
		p->skipped = "dry run";
		return;
	}
	if (!take_lock(p))
		return;
	p->start_ms = timefmt_now_ms();
	/* With the carrier pass to follow, half the run's time at most. */
	p->deadline = p->start_ms + (p->o->rye_only ? interval : interval / 2);
	p->resync_ms = (int64_t)p->conf->rye_resync_hours * 3600 * 1000;
	p->backoff_ms = interval;
	p->margin_ms = (int64_t)p->conf->poll_sync_margin * 1000;
	if (!open_client(p))
		return;
	work(p);
	if (!p->unauthorized && !p->db_error)
		record_pass(p);
}

struct rye_pass *
poll_rye_new(const struct poll_env *e)
{
	struct rye_pass *p = calloc(1, sizeof(*p));

	if (p == NULL)
		return NULL;
	p->o = e->o;
	p->conf = e->conf;
	p->st = e->st;
	p->lock.fd = -1;
	return p;
}

bool
poll_rye_refused_key(const struct rye_pass *p)
{
	return p->unauthorized;
}

void
poll_rye_print(const struct rye_pass *p)
{
	const struct rye_stats *s;
	long requests = 0;
	int rc;
	const char *result;

	if (p->skipped != NULL || p->c == NULL) {
		printf("rye: skipped (%s); ", p->skipped ? p->skipped :
		    p->config_error ? "configuration error: see above" : "not run");
		return;
	}
	s = rye_stats(p->c);
	for (int op = 0; op < RYE_OP__MAX; op++)
		requests += s->sent[op];
	result = poll_rye_result(p, &rc);
	printf("rye: %ld recovered, %ld intents, %ld shipments, %ld orders read, "
	    "%ld failed; %ld requests, %ld rate-limited, %ld retried%s%s; ",
	    p->n.recovered, p->n.intents, p->n.shipments, p->n.orders, p->n.failed,
	    requests, s->rate_limited, s->retries, rc ? "; " : "", rc ? result : "");
}

void
poll_rye_close(struct rye_pass *p)
{
	if (p == NULL)
		return;
	rye_close(p->c);
	runlock_release(&p->lock);
	free(p);
}
