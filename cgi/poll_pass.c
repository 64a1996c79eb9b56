/*
 * poll_pass: one pass of shiptrack-poll (see poll.h and poll.c's comment).
 *
 * The carrier client asks feed() for work whenever it could take more:
 * registrations first (POST, a window of 2 x concurrency queued at a time),
 * lookups of numbers that already exist (50 per list request), and, once
 * the list sync is complete, the reconciliations (GET by id).  Each answer
 * comes back to its on_*() callback, which applies it (apply_carrier.h) or
 * decides what its meta.code means; common_outcome() handles what is not
 * about one shipment (401, a used-up quota, a wrong base URL, stopping).
 *
 * What the meta.codes mean here (the spec's table):
 *   create 4003 exists        -> look the number up (list, 50 per request)
 *   get 4004 gone             -> create it again
 *   4005, 4007, 4017 invalid  -> rejected: recorded, never polled again
 *   4009, 4011 needs details  -> recorded, retried with a growing back-off
 *                                (poll_interval, doubling, at most a day)
 *   4010, 4012 slug trouble   -> once more without a slug, else recorded
 *   401                       -> stop the run (exit 2)
 * 429, 5xx, timeouts and cut bodies were already retried by the client; if
 * they persist, the error is recorded like the others (a used-up quota is
 * not: the shipment just waits for the next run).
 */
#include "config.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply_carrier.h"
#include "log.h"
#include "poll.h"
#include "ratelimit.h"
#include "store_carrier.h"
#include "timefmt.h"

#define BACKOFF_CAP_MS	(24 * 3600 * 1000LL)

/* One shipment's request: create (maybe twice), get, or waiting for a lookup. */
struct job {
	struct run *r;
	struct carrier_ship sh;
	const char *slug;	/* sent with the create; NULL: detect */
	bool slug_dropped;	/* retried without a slug after 4010/4012 */
	bool recreated;		/* created again after a 4004 */
};

/* A lookup of up to CARRIER_LOOKUP_MAX numbers whose create said 4003. */
struct lookup {
	struct run *r;
	struct job *jobs[CARRIER_LOOKUP_MAX];
	size_t n;
};

static void on_create(void *arg, const struct carrier_result *res);

/* --- small helpers ------------------------------------------------------ */

static bool
past_deadline(const struct run *r)
{
	return timefmt_now_ms() >= r->deadline;
}

/* Stop starting work; what is in flight ends as CARRIER_STOPPED. */
static void
stop_run(struct run *r)
{
	r->stopping = true;
	carrier_stop(r->c);
}

static void
store_failed(struct run *r, enum store_rc rc)
{
	if (rc == STORE_OK || r->db_error)
		return;
	log_error("the database failed (%s): stopping the run",
	    rc == STORE_BUSY ? "busy" : rc == STORE_FULL ? "full" : "error");
	r->db_error = true;
	stop_run(r);
}

static void
progress(struct run *r, bool final)
{
	const struct carrier_stats *s = carrier_stats(r->c);

	if (final) {
		progress_end(&r->progress);
		return;
	}
	progress_show(&r->progress, "shiptrack-poll: %ld requests; %ld/%zu registered, "
	    "%ld listed, %ld/%zu reconciled, %ld updated, %ld failed",
	    s->sent[CARRIER_CREATE] + s->sent[CARRIER_LIST] + s->sent[CARRIER_GET],
	    r->n.registered, r->nreg, r->n.listed, r->n.reconciled, r->nrec,
	    r->n.updated, r->n.failed + r->n.rejected);
}

/* --- outcomes common to every request ------------------------------------ */

static void
record_error(struct run *r, const struct carrier_ship *sh, bool for_good,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* A per-shipment error: logged, and (not in a dry run) shown to the operator. */
static void
record_error(struct run *r, const struct carrier_ship *sh, bool for_good,
    const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_warn("shipment %lld (%s, order %s): %s", (long long)sh->id,
	    sh->tracking_number, sh->order_id, msg);
	if (for_good)
		r->n.rejected++;
	else
		r->n.failed++;
	if (!r->o->dry_run)
		store_failed(r, apply_carrier_error(r->st, sh->id, msg, for_good,
		    timefmt_now_ms(), r->backoff_ms, BACKOFF_CAP_MS));
}

/*
 * What every kind of request does with an outcome that is not about its
 * shipment in particular.  Returns true when it handled it.
 */
static bool
common_outcome(struct run *r, const struct carrier_ship *sh,
    const struct carrier_result *res)
{
	switch (res->outcome) {
	case CARRIER_STOPPED:
		return true;
	case CARRIER_UNAUTHORIZED:
		if (!r->unauthorized)
			log_error("the carrier service refused the API key (HTTP 401): "
			    "check carrier_api_key");
		r->unauthorized = true;
		stop_run(r);
		return true;
	case CARRIER_RATE_LIMITED:
		/* Not the shipment's fault: it stays due for the next run. */
		r->quota = true;
		return true;
	case CARRIER_REFUSED:
		if (res->code == 404 || res->code == 405) {
			if (!r->config_error)
				log_error("the carrier service does not know this route "
				    "(%d %s): check carrier_api_url", res->code,
				    res->message);
			r->config_error = true;
			stop_run(r);
			return true;
		}
		return false;
	case CARRIER_OK:
		return false;
	default:
		if (sh != NULL)
			record_error(r, sh, false, "carrier service %s: %s",
			    carrier_outcome_name(res->outcome), res->message);
		return true;
	}
}

/* --- applying trackings -------------------------------------------------- */

static void
apply(struct run *r, int64_t id, const char *order_id,
    const struct carrier_tracking *t, bool adopt, long *counter)
{
	int64_t now = timefmt_now_ms();
	struct carrier_apply how = {
		.adopt = adopt, .fetched = true, .now_ms = now,
		/* Spread the next reconciliations out over +-10%. */
		.next_poll_ms = now + (int64_t)((double)r->reconcile_ms *
		    (0.9 + 0.2 * ratelimit_jitter(&r->rnd))),
	};
	bool changed;
	enum store_rc rc = apply_carrier_shipment(r->st, id, order_id, t, &how,
	    r->o->dry_run, &changed);

	if (rc != STORE_OK) {
		store_failed(r, rc);
		return;
	}
	(*counter)++;
	if (changed) {
		r->n.updated++;
		log_debug("shipment %lld (order %s): %s%s", (long long)id, order_id,
		    t->tag ? t->tag : "no tag", r->o->dry_run ? " (dry run)" : "");
	}
}

/* The tracking of a create, get or lookup answer for this shipment. */
static void
apply_own(struct run *r, const struct carrier_ship *sh,
    const struct carrier_tracking *t, long *counter)
{
	apply(r, sh->id, sh->order_id, t, true, counter);
}

/* --- register: create, and what its answers lead to ---------------------- */

static struct job *
job_new(struct run *r, const struct carrier_ship *sh)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j != NULL) {
		j->r = r;
		j->sh = *sh;
	}
	return j;
}

static void
queue_create(struct run *r, struct job *j)
{
	struct carrier_new n = {
		.tracking_number = j->sh.tracking_number,
		.slug = j->slug_dropped ? NULL : j->slug,
		.order_id = j->sh.order_id[0] ? j->sh.order_id : NULL,
	};

	if (carrier_create(r->c, &n, on_create, j) < 0) {
		record_error(r, &j->sh, false, "cannot build the create request");
		free(j);
	}
}

static void
want_lookup(struct run *r, struct job *j)
{
	if (r->npend == r->cappend) {
		size_t cap = r->cappend ? 2 * r->cappend : 64;
		struct job **p = realloc(r->pend, cap * sizeof(*p));
		if (p == NULL) {
			record_error(r, &j->sh, false, "out of memory");
			free(j);
			return;
		}
		r->pend = p;
		r->cappend = cap;
	}
	r->pend[r->npend++] = j;
}

/* The refusals of a create, by meta.code; true when the job lives on. */
static bool
create_refused(struct run *r, struct job *j, const struct carrier_result *res)
{
	switch (res->code) {
	case AS_ALREADY_EXISTS:
		want_lookup(r, j);
		return true;
	case AS_BAD_SLUG:
	case AS_NO_COURIER:
		if (j->slug != NULL && !j->slug_dropped) {
			log_info("shipment %lld: %d with slug %s; once more without",
			    (long long)j->sh.id, res->code, j->slug);
			j->slug_dropped = true;
			queue_create(r, j);
			return true;
		}
		record_error(r, &j->sh, false, "AfterShip cannot tell the courier "
		    "(%d: %s)", res->code, res->message);
		return false;
	case AS_INVALID_NUMBER:
	case AS_MISSING_NUMBER:
	case AS_BAD_FORMAT:
		record_error(r, &j->sh, true, "AfterShip rejected the tracking number "
		    "(%d: %s); it is not polled any more", res->code, res->message);
		return false;
	case AS_NEEDS_POSTAL:
	case AS_NEEDS_COUNTRY:
		record_error(r, &j->sh, false, "the courier needs more details than "
		    "shiptrack has (%d: %s)", res->code, res->message);
		return false;
	default:
		record_error(r, &j->sh, false, "AfterShip refused the tracking "
		    "(%d: %s)", res->code, res->message);
		return false;
	}
}

static void
on_create(void *arg, const struct carrier_result *res)
{
	struct job *j = arg;
	struct run *r = j->r;

	if (res->outcome == CARRIER_OK) {
		if (res->resp->ntrackings > 0)
			apply_own(r, &j->sh, &res->resp->trackings[0], &r->n.registered);
		else
			record_error(r, &j->sh, false, "the create answer held no tracking");
	} else if (!common_outcome(r, &j->sh, res) &&
	    create_refused(r, j, res))
		return;	/* queued again, or waiting for a lookup */
	free(j);
}

/* --- lookups of numbers that already exist (4003) ------------------------ */

/* The listed tracking that is this shipment's: same number, same slug if we sent one. */
static const struct carrier_tracking *
find_own(const struct carrier_response *resp, const struct job *j)
{
	const struct carrier_tracking *any = NULL;

	for (size_t i = 0; i < resp->ntrackings; i++) {
		const struct carrier_tracking *t = &resp->trackings[i];
		if (t->tracking_number == NULL ||
		    strcmp(t->tracking_number, j->sh.tracking_number) != 0)
			continue;
		if (j->slug == NULL || j->slug_dropped ||
		    (t->slug != NULL && strcmp(t->slug, j->slug) == 0))
			return t;
		if (any == NULL)
			any = t;
	}
	return any;
}

static void
on_lookup(void *arg, const struct carrier_result *res)
{
	struct lookup *l = arg;
	struct run *r = l->r;

	for (size_t i = 0; i < l->n; i++) {
		struct job *j = l->jobs[i];
		const struct carrier_tracking *t;

		if (res->outcome != CARRIER_OK) {
			if (!common_outcome(r, &j->sh, res))
				record_error(r, &j->sh, false, "looking the number up "
				    "failed (%d: %s)", res->code, res->message);
		} else if ((t = find_own(res->resp, j)) != NULL)
			apply_own(r, &j->sh, t, &r->n.registered);
		else
			record_error(r, &j->sh, false, "AfterShip says the tracking "
			    "exists (4003) but does not list it");
		free(j);
	}
	free(l);
}

static bool
queue_lookup(struct run *r)
{
	struct lookup *l = calloc(1, sizeof(*l));
	const char *numbers[CARRIER_LOOKUP_MAX];
	struct carrier_query q = { .updated_min_ms = -1, .numbers = numbers };

	if (l == NULL)
		return false;
	l->r = r;
	while (l->n < CARRIER_LOOKUP_MAX && r->npend > 0) {
		struct job *j = r->pend[--r->npend];
		/* The same number twice (two orders) is asked for once. */
		bool dup = false;
		for (size_t i = 0; i < q.nnumbers && !dup; i++)
			dup = strcmp(numbers[i], j->sh.tracking_number) == 0;
		if (!dup)
			numbers[q.nnumbers++] = j->sh.tracking_number;
		l->jobs[l->n++] = j;
	}
	if (carrier_list(r->c, &q, on_lookup, l) < 0) {
		struct carrier_result res = { .outcome = CARRIER_FAILED,
		    .message = "cannot build the lookup request" };
		on_lookup(l, &res);
	}
	return true;
}

/* --- reconcile: get by id ------------------------------------------------ */

static void
on_get(void *arg, const struct carrier_result *res)
{
	struct job *j = arg;
	struct run *r = j->r;

	if (res->outcome == CARRIER_OK) {
		if (res->resp->ntrackings > 0)
			apply_own(r, &j->sh, &res->resp->trackings[0], &r->n.reconciled);
		else
			record_error(r, &j->sh, false, "the answer held no tracking");
	} else if (!common_outcome(r, &j->sh, res)) {
		if (res->code == AS_NOT_FOUND && !j->recreated && !r->o->dry_run) {
			/* Gone from AfterShip (deleted, expired): register it again. */
			log_info("shipment %lld: tracking %s is gone (4004); "
			    "creating it again", (long long)j->sh.id, j->sh.carrier_id);
			j->recreated = true;
			j->slug = j->sh.carrier_slug[0] ? j->sh.carrier_slug :
			    carrier_slug_for(j->sh.carrier);
			queue_create(r, j);
			return;
		}
		record_error(r, &j->sh, false, "AfterShip refused the fetch (%d: %s)",
		    res->code, res->message);
	}
	free(j);
}

/* --- list sync ----------------------------------------------------------- */

static void on_list(void *arg, const struct carrier_result *res);

static void
queue_list_page(struct run *r, const char *cursor)
{
	struct carrier_query q = {
		.updated_min_ms = r->list_since, .cursor = cursor, .page = r->list_page,
	};

	if (carrier_list(r->c, &q, on_list, r) < 0) {
		log_error("cannot build the list request");
		r->list_done = true;
	}
}

/*
 * Whether to ask for the page after this one.  A sync cut short is not
 * recorded as complete, so the next run lists again from the same point
 * and nothing is lost; the run says why in one line and exits 1.
 */
#define NOT_COMPLETE "not complete: the next run lists again from the same point"

static bool
want_next_page(struct run *r, const struct carrier_response *resp)
{
	switch (carrier_pager_next(&r->pager, resp)) {
	case CARRIER_PAGE_NEXT:
		if (!past_deadline(r))
			return true;
		r->cut = LIST_CUT_LATE;
		log_error("list sync: out of time (poll_interval, %ld s) after %ld "
		    "pages; " NOT_COMPLETE, r->a.conf.poll_interval, r->pager.pages);
		return false;
	case CARRIER_PAGE_CAPPED:
		r->cut = LIST_CUT_CAPPED;
		log_error("list sync: stopped at poll_max_pages (%ld pages) with the "
		    "carrier service still offering more; " NOT_COMPLETE,
		    r->pager.pages);
		return false;
	case CARRIER_PAGE_REPEATED:
		r->cut = LIST_CUT_REPEATED;
		log_error("list sync: the carrier service answered page %ld with a "
		    "%s it had given before (a loop); stopped, " NOT_COMPLETE,
		    r->pager.pages, resp->next_cursor[0] ? "next cursor" : "page");
		return false;
	default:
		return false;	/* the last page */
	}
}

static void
on_list(void *arg, const struct carrier_result *res)
{
	struct run *r = arg;
	const struct carrier_response *resp = res->resp;
	bool more;

	if (res->outcome != CARRIER_OK) {
		r->list_done = true;
		if (!common_outcome(r, NULL, res))
			log_error("list sync: %s", res->message);
		else if (res->outcome != CARRIER_STOPPED && res->outcome != CARRIER_UNAUTHORIZED)
			log_error("list sync: carrier service %s: %s",
			    carrier_outcome_name(res->outcome), res->message);
		return;
	}
	/*
	 * Ask for the next page first, and let it go out while this page is
	 * written (pages come one after another: the cursor is in the answer).
	 */
	if ((more = want_next_page(r, resp))) {
		r->list_page++;
		queue_list_page(r, resp->next_cursor[0] ? resp->next_cursor : NULL);
	}
	for (size_t i = 0; i < resp->ntrackings && !r->stopping; i++) {
		const struct carrier_tracking *t = &resp->trackings[i];
		struct carrier_matches m;
		enum store_rc rc;

		if (i % 16 == 15)
			carrier_pump(r->c);
		if ((rc = store_carrier_match(r->st, t->id, t->legacy_id, t->tracking_number,
		    &m)) != STORE_OK) {
			store_failed(r, rc);
			break;
		}
		for (size_t k = 0; k < m.n && !r->stopping; k++)
			apply(r, m.v[k].id, m.v[k].order_id, &resp->trackings[i], false,
			    &r->n.listed);
	}
	if (r->stopping || r->cut != LIST_CUT_NONE)
		r->list_done = true;
	else if (!more)
		r->list_done = r->list_ok = true;
}

/* --- feeding the client ---------------------------------------------------- */

/* Read a due shipment; false when it is no longer due (a push got there first). */
static bool
load_due(struct run *r, int64_t id, bool want_registered, struct carrier_ship *sh)
{
	enum store_rc rc = store_carrier_shipment(r->st, id, sh);

	if (rc != STORE_OK) {
		if (rc != STORE_NONE)
			store_failed(r, rc);
		return false;
	}
	return (sh->carrier_id[0] != '\0') == want_registered &&
	    sh->next_poll_ms <= timefmt_now_ms() && strcmp(sh->tag, "Delivered") != 0 &&
	    strcmp(sh->tag, "Expired") != 0;
}

static bool
feed_register(struct run *r)
{
	struct carrier_ship sh;
	struct job *j;

	if (!load_due(r, r->reg[r->ireg++], false, &sh))
		return true;
	if (r->o->dry_run) {
		log_info("would register shipment %lld (%s, order %s)",
		    (long long)sh.id, sh.tracking_number, sh.order_id);
		r->n.would_register++;
		return true;
	}
	if ((j = job_new(r, &sh)) == NULL)
		return false;
	j->slug = carrier_slug_for(sh.carrier);
	queue_create(r, j);
	return true;
}

static bool
feed_reconcile(struct run *r)
{
	struct carrier_ship sh;
	struct job *j;

	if (!load_due(r, r->rec[r->irec++], true, &sh))
		return true;
	if ((j = job_new(r, &sh)) == NULL)
		return false;
	if (carrier_get(r->c, sh.carrier_id, on_get, j) < 0) {
		record_error(r, &sh, false, "cannot build the fetch request");
		free(j);
	}
	return true;
}

/* Called by the client whenever it could take more work. */
static bool
feed(void *arg)
{
	struct run *r = arg;
	size_t window = 2 * (size_t)r->a.conf.poll_concurrency;
	bool late;

	progress(r, false);
	if (poll_signal && !r->stopping) {
		log_warn("interrupted: stopping");
		r->interrupted = true;
		stop_run(r);
	}
	if (r->stopping)
		return false;
	/* Past the deadline, or out of quota: no new shipments this run. */
	if ((late = past_deadline(r) || r->quota)) {
		carrier_drop_queued(r->c, CARRIER_CREATE);
		carrier_drop_queued(r->c, CARRIER_GET);
	}
	if (!late && r->ireg < r->nreg && carrier_pending(r->c, CARRIER_CREATE) < window)
		return feed_register(r);
	/* Lookups: a full request, or what is left once the creates are done. */
	if (r->npend >= CARRIER_LOOKUP_MAX || (r->npend > 0 &&
	    carrier_pending(r->c, CARRIER_CREATE) == 0 && (late || r->ireg == r->nreg)))
		return queue_lookup(r);
	/* Reconcile only what the list sync did not just bring up to date. */
	if (!r->list_done)
		return false;
	if (!r->rec_loaded) {
		long left = r->o->limit < 0 ? -1 : r->o->limit - (long)r->nreg;
		enum store_rc rc = left == 0 ? STORE_OK : store_carrier_due(r->st,
		    DUE_RECONCILE, timefmt_now_ms(), left, &r->rec, &r->nrec);
		r->rec_loaded = true;
		store_failed(r, rc);
		return rc == STORE_OK;
	}
	if (!late && r->irec < r->nrec && carrier_pending(r->c, CARRIER_GET) < window)
		return feed_reconcile(r);
	return false;
}

/* --- the pass ------------------------------------------------------------- */

/* Where the list sync starts: the last complete one minus the margin. */
static enum store_rc
plan_list(struct run *r)
{
	char v[32];
	long cursor;
	bool any;
	enum store_rc rc = store_meta_get(r->st, META_LIST_SYNC, v, sizeof(v));

	r->list_start = r->start_ms;
	r->list_since = -1;
	r->list_page = 1;
	carrier_pager_init(&r->pager, r->a.conf.poll_max_pages);
	if (rc == STORE_OK && conf_parse_long(v, 0, LONG_MAX, &cursor) == 0) {
		r->list_since = cursor - r->a.conf.poll_sync_margin * 1000;
		if (r->list_since < 0)
			r->list_since = 0;
		r->list_wanted = true;
		return STORE_OK;
	}
	if (rc != STORE_OK && rc != STORE_NONE)
		return rc;
	/*
	 * No complete sync yet: list everything if some shipment is
	 * registered; if none is, this run's creates bring their data, and
	 * the next run lists from here.
	 */
	if ((rc = store_carrier_any_registered(r->st, &any)) != STORE_OK)
		return rc;
	r->list_wanted = any;
	r->list_done = r->list_ok = !any;
	return STORE_OK;
}

/*
 * Staleness comes with time alone: shipments that stalled since their last
 * update (stale, or their estimate passed) and were not announced yet get
 * their "delayed" row here (apply_carrier.h), at most STALL_SWEEP_MAX a
 * run (the rest next run), even when the carrier service failed.
 */
#define STALL_SWEEP_MAX 1000

static void
sweep_stalls(struct run *r)
{
	enum store_rc rc;

	if (r->unauthorized || r->config_error || r->db_error)
		return;
	rc = apply_carrier_stalls(r->st, timefmt_now_ms(), STALL_SWEEP_MAX,
	    r->o->dry_run, &r->n.delayed);
	if (rc != STORE_OK)
		store_failed(r, rc);
}

void
poll_pass(struct run *r)
{
	enum store_rc rc = store_carrier_due(r->st, DUE_REGISTER, r->start_ms,
	    r->o->limit, &r->reg, &r->nreg);

	if (rc == STORE_OK)
		rc = plan_list(r);
	if (rc != STORE_OK) {
		store_failed(r, rc);
		return;
	}
	if (r->list_wanted)
		queue_list_page(r, NULL);
	if (carrier_run(r->c, feed, r) < 0) {
		log_error("the transfer loop failed (curl multi interface)");
		r->client_error = true;
	}
	/* Lookups still waiting when the run stopped: nothing was recorded. */
	for (size_t i = 0; i < r->npend; i++)
		free(r->pend[i]);
	r->npend = 0;
	sweep_stalls(r);
	progress(r, true);
}

