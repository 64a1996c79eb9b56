/*
 * poll_pass: the carrier pass of shiptrack-poll (see poll.h, poll_pass.h
 * and poll.c's comment).
 *
 * The carrier client asks feed() for work whenever it could take more:
 * registrations first (POST, a window of 2 x concurrency queued at a time),
 * lookups of numbers that already exist (50 per list request), and, once
 * the list sync (poll_list.c) is complete, the reconciliations (GET by
 * id).  Each answer comes back to its on_*() callback (poll_jobs.c), which
 * applies it (apply_carrier.h) or decides what its meta.code means;
 * pass_common_outcome() handles what is not about one shipment (401, a
 * used-up quota, a wrong base URL, stopping).
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

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apply_carrier.h"
#include "log.h"
#include "metrics.h"
#include "poll_pass.h"
#include "ratelimit.h"
#include "store_carrier.h"
#include "timefmt.h"

#define MAX_RETRIES	3
#define MAX_WAITS	5
#define MAX_WAIT_S	60

/* --- the pass's course ---------------------------------------------------------- */

bool
pass_past_deadline(const struct carrier_pass *p)
{
	return timefmt_now_ms() >= p->deadline;
}

/* Stop starting work; what is in flight ends as CARRIER_STOPPED. */
static void
stop_run(struct carrier_pass *p)
{
	p->stopping = true;
	carrier_stop(p->c);
}

void
pass_store_failed(struct carrier_pass *p, enum store_rc rc)
{
	if (rc == STORE_OK || p->db_error)
		return;
	log_error("the database failed (%s): stopping the run",
	    rc == STORE_BUSY ? "busy" : rc == STORE_FULL ? "full" : "error");
	p->db_error = true;
	stop_run(p);
}

static void
progress(struct carrier_pass *p, bool final)
{
	const struct carrier_stats *s = carrier_stats(p->c);

	if (final) {
		progress_end(&p->progress);
		return;
	}
	progress_show(&p->progress, "shiptrack-poll: %ld requests; %ld/%zu registered, "
	    "%ld listed, %ld/%zu reconciled, %ld updated, %ld failed",
	    s->sent[CARRIER_CREATE] + s->sent[CARRIER_LIST] + s->sent[CARRIER_GET],
	    p->n.registered, p->nreg, p->n.listed, p->n.reconciled, p->nrec,
	    p->n.updated, p->n.failed + p->n.rejected);
}

/* --- outcomes common to every request ------------------------------------ */

void
pass_record_error(struct carrier_pass *p, const struct carrier_ship *sh, bool for_good,
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
		p->n.rejected++;
	else
		p->n.failed++;
	if (!p->o->dry_run)
		pass_store_failed(p, apply_carrier_error(p->st, sh->id, msg, for_good,
		    timefmt_now_ms(), p->backoff_ms, BACKOFF_CAP_MS));
}

bool
pass_common_outcome(struct carrier_pass *p, const struct carrier_ship *sh,
    const struct carrier_result *res)
{
	switch (res->outcome) {
	case CARRIER_STOPPED:
		return true;
	case CARRIER_UNAUTHORIZED:
		if (!p->unauthorized)
			log_error("the carrier service refused the API key (HTTP 401): "
			    "check carrier_api_key");
		p->unauthorized = true;
		stop_run(p);
		return true;
	case CARRIER_RATE_LIMITED:
		/* Not the shipment's fault: it stays due for the next run. */
		p->quota = true;
		return true;
	case CARRIER_REFUSED:
		if (res->code == 404 || res->code == 405) {
			if (!p->config_error)
				log_error("the carrier service does not know this route "
				    "(%d %s): check carrier_api_url", res->code,
				    res->message);
			p->config_error = true;
			stop_run(p);
			return true;
		}
		return false;
	case CARRIER_OK:
		return false;
	default:
		if (sh != NULL)
			pass_record_error(p, sh, false, "carrier service %s: %s",
			    carrier_outcome_name(res->outcome), res->message);
		return true;
	}
}

/* --- applying trackings -------------------------------------------------- */

void
pass_apply(struct carrier_pass *p, int64_t id, const char *order_id,
    const struct carrier_tracking *t, bool adopt, long *counter)
{
	int64_t now = timefmt_now_ms();
	struct carrier_apply how = {
		.adopt = adopt, .fetched = true, .now_ms = now,
		/* Spread the next reconciliations out over +-10%. */
		.next_poll_ms = now + (int64_t)((double)p->reconcile_ms *
		    (0.9 + 0.2 * ratelimit_jitter(&p->rnd))),
	};
	bool changed;
	enum store_rc rc = apply_carrier_shipment(p->st, id, order_id, t, &how,
	    p->o->dry_run, &changed);

	if (rc != STORE_OK) {
		pass_store_failed(p, rc);
		return;
	}
	(*counter)++;
	if (changed) {
		p->n.updated++;
		log_debug("shipment %lld (order %s): %s%s", (long long)id, order_id,
		    t->tag ? t->tag : "no tag", p->o->dry_run ? " (dry run)" : "");
	}
}

/* --- feeding the client ---------------------------------------------------- */

/* Read a due shipment; false when it is no longer due (a push got there first). */
static bool
load_due(struct carrier_pass *p, int64_t id, bool want_registered, struct carrier_ship *sh)
{
	enum store_rc rc = store_carrier_shipment(p->st, id, sh);

	if (rc != STORE_OK) {
		if (rc != STORE_NONE)
			pass_store_failed(p, rc);
		return false;
	}
	return (sh->carrier_id[0] != '\0') == want_registered &&
	    sh->next_poll_ms <= timefmt_now_ms() && strcmp(sh->tag, "Delivered") != 0 &&
	    strcmp(sh->tag, "Expired") != 0;
}

static bool
feed_register(struct carrier_pass *p)
{
	struct carrier_ship sh;

	if (!load_due(p, p->reg[p->ireg++], false, &sh))
		return true;
	if (p->o->dry_run) {
		log_info("would register shipment %lld (%s, order %s)",
		    (long long)sh.id, sh.tracking_number, sh.order_id);
		p->n.would_register++;
		return true;
	}
	return jobs_register(p, &sh);
}

static bool
feed_reconcile(struct carrier_pass *p)
{
	struct carrier_ship sh;

	if (!load_due(p, p->rec[p->irec++], true, &sh))
		return true;
	return jobs_reconcile(p, &sh);
}

/* Called by the client whenever it could take more work. */
static bool
feed(void *arg)
{
	struct carrier_pass *p = arg;
	size_t window = 2 * (size_t)p->conf->poll_concurrency;
	bool late;

	progress(p, false);
	if (poll_signal && !p->stopping) {
		log_warn("interrupted: stopping");
		p->interrupted = true;
		stop_run(p);
	}
	if (p->stopping)
		return false;
	/* Past the deadline, or out of quota: no new shipments this run. */
	if ((late = pass_past_deadline(p) || p->quota)) {
		carrier_drop_queued(p->c, CARRIER_CREATE);
		carrier_drop_queued(p->c, CARRIER_GET);
	}
	if (!late && p->ireg < p->nreg && carrier_pending(p->c, CARRIER_CREATE) < window)
		return feed_register(p);
	/* Lookups: a full request, or what is left once the creates are done. */
	if (p->npend >= CARRIER_LOOKUP_MAX || (p->npend > 0 &&
	    carrier_pending(p->c, CARRIER_CREATE) == 0 && (late || p->ireg == p->nreg)))
		return jobs_lookup(p);
	/* Reconcile only what the list sync did not just bring up to date. */
	if (!p->list.done)
		return false;
	if (!p->rec_loaded) {
		long left = p->o->limit < 0 ? -1 : p->o->limit - (long)p->nreg;
		enum store_rc rc = left == 0 ? STORE_OK : store_carrier_due(p->st,
		    DUE_RECONCILE, timefmt_now_ms(), left, &p->rec, &p->nrec);
		p->rec_loaded = true;
		pass_store_failed(p, rc);
		return rc == STORE_OK;
	}
	if (!late && p->irec < p->nrec && carrier_pending(p->c, CARRIER_GET) < window)
		return feed_reconcile(p);
	return false;
}

/* --- the pass ------------------------------------------------------------- */

/*
 * Staleness comes with time alone: shipments that stalled since their last
 * update (stale, or their estimate passed) and were not announced yet get
 * their "delayed" row here (apply_carrier.h), at most STALL_SWEEP_MAX a
 * run (the rest next run), even when the carrier service failed.
 */
#define STALL_SWEEP_MAX 1000

static void
sweep_stalls(struct carrier_pass *p)
{
	enum store_rc rc;

	if (p->unauthorized || p->config_error || p->db_error)
		return;
	rc = apply_carrier_stalls(p->st, timefmt_now_ms(), STALL_SWEEP_MAX,
	    p->o->dry_run, &p->n.delayed);
	if (rc != STORE_OK)
		pass_store_failed(p, rc);
}

void
poll_pass(struct carrier_pass *p)
{
	enum store_rc rc;

	p->st = p->e->st;
	rc = store_carrier_due(p->st, DUE_REGISTER, p->start_ms, p->o->limit,
	    &p->reg, &p->nreg);
	if (rc == STORE_OK)
		rc = list_sync_plan(p);
	if (rc != STORE_OK) {
		pass_store_failed(p, rc);
		return;
	}
	if (p->list.wanted)
		list_sync_start(p);
	if (carrier_run(p->c, feed, p) < 0) {
		log_error("the transfer loop failed (curl multi interface)");
		p->client_error = true;
	}
	jobs_drop_waiting(p);
	sweep_stalls(p);
	progress(p, true);
}

/* --- opening, the run's record, the summary --------------------------------- */

int
poll_pass_open(const struct poll_env *e, struct carrier_pass **out)
{
	const struct conf *c = e->conf;
	struct carrier_opts co = {
		.base_url = c->carrier_api_url, .api_key = c->carrier_api_key,
		.timeout_s = c->carrier_timeout, .concurrency = (int)c->poll_concurrency,
		.limit = { [BUCKET_CREATE] = c->carrier_rate_create,
		    [BUCKET_LIST] = c->carrier_rate_list,
		    [BUCKET_GET] = c->carrier_rate_get },
		.legacy_limit = c->carrier_rate_v4,
		.max_retries = MAX_RETRIES, .max_waits = MAX_WAITS, .max_wait_s = MAX_WAIT_S,
		.deadline_ms = e->deadline,
	};
	struct carrier_pass *p = calloc(1, sizeof(*p));
	char err[512];

	if ((*out = p) == NULL) {
		fprintf(stderr, "shiptrack-poll: out of memory\n");
		return EXIT_FAILED;
	}
	p->e = e;
	p->o = e->o;
	p->conf = c;
	p->start_ms = e->start_ms;
	p->deadline = e->deadline;
	p->reconcile_ms = (int64_t)c->reconcile_hours * 3600 * 1000;
	p->backoff_ms = (int64_t)c->poll_interval * 1000;
	p->rnd = (uint64_t)p->start_ms * 6364136223846793005ULL ^ (uint64_t)getpid();
	progress_init(&p->progress, !p->o->verbose);
	if ((p->c = carrier_open(&co, err, sizeof(err))) == NULL) {
		fprintf(stderr, "shiptrack-poll: %s\n", err);
		return EXIT_USAGE;
	}
	return 0;
}

/* The run's result, for the summary and GET /v1/stats, and its exit status. */
static const char *
result_of(const struct carrier_pass *p, int *rc)
{
	/* The first that applies, worst first. */
	const struct poll_outcome ladder[] = {
		{ p->unauthorized, "unauthorized", EXIT_USAGE },
		{ p->config_error, "bad_url", EXIT_USAGE },
		{ p->db_error, "database_error", EXIT_FAILED },
		{ p->client_error, "client_error", EXIT_FAILED },
		{ p->interrupted, "interrupted", EXIT_FAILED },
		{ p->quota, "rate_limited", EXIT_FAILED },
		{ p->list.cut == LIST_CUT_CAPPED, "list_page_cap", EXIT_FAILED },
		{ p->list.cut == LIST_CUT_REPEATED, "list_repeated", EXIT_FAILED },
		{ p->list.cut == LIST_CUT_LATE, "list_out_of_time", EXIT_FAILED },
		{ p->list.wanted && !p->list.ok, "list_sync_failed", EXIT_FAILED },
		{ p->n.failed > 0 || p->n.rejected > 0, "some_failed", EXIT_FAILED },
	};

	return poll_outcome(ladder, sizeof(ladder) / sizeof(ladder[0]), rc);
}

/* What a run records besides poll_record()'s: the cursor, the metrics. */
static enum store_rc
record_more(void *arg, struct store *st)
{
	struct carrier_pass *p = arg;
	enum store_rc rc = STORE_OK;
	char num[32];

	/* A complete sync (or none needed: nothing was registered) moves the cursor. */
	if (p->list.ok) {
		snprintf(num, sizeof(num), "%lld", (long long)p->list.start);
		rc = store_meta_set(st, META_LIST_SYNC, num);
	}
	if (rc == STORE_OK)
		rc = metrics_store_poll_run(st, carrier_stats(p->c),
		    timefmt_now_ms() - p->start_ms);
	return rc;
}

static void
record_run(struct carrier_pass *p, const char *result, long requests)
{
	const struct poll_num nums[] = {
		{ "poll.requests", requests }, { "poll.registered", p->n.registered },
		{ "poll.updated", p->n.updated }, { "poll.failed", p->n.failed },
		{ "poll.rejected", p->n.rejected },
	};
	const struct poll_record rec = {
		.pass = "poll", .start_ms = p->start_ms, .result = result,
		.ok_key = META_POLL_OK, .nums = nums, .n = sizeof(nums) / sizeof(nums[0]),
		.more = record_more, .arg = p,
	};

	if (!poll_record(p->st, &rec)) {
		log_error("could not record the run in the database");
		p->db_error = true;
	}
}

int
poll_pass_finish(struct carrier_pass *p, const char **result)
{
	const struct carrier_stats *s = carrier_stats(p->c);
	long requests = s->sent[CARRIER_CREATE] + s->sent[CARRIER_LIST] +
	    s->sent[CARRIER_GET];
	int rc = 0;

	*result = result_of(p, &rc);
	if (!p->o->dry_run && !p->db_error)
		record_run(p, *result, requests);
	printf("%s%ld registered, %ld listed, %ld reconciled, "
	    "%ld updated, %ld failed, %ld rejected, %ld stalled",
	    p->o->dry_run ? "dry run: " : "", p->n.registered, p->n.listed,
	    p->n.reconciled, p->n.updated, p->n.failed, p->n.rejected, p->n.delayed);
	if (p->o->dry_run)
		printf(", %ld would be registered", p->n.would_register);
	printf("; %ld requests (%ld create, %ld list, %ld get), %ld rate-limited, "
	    "%ld retried; ", requests, s->sent[CARRIER_CREATE],
	    s->sent[CARRIER_LIST], s->sent[CARRIER_GET], s->rate_limited, s->retries);
	return rc;
}

void
poll_pass_warn(const struct carrier_pass *p)
{
	if (p->quota)
		fprintf(stderr, "shiptrack-poll: the carrier service's rate limit or "
		    "quota stopped this run; the rest waits for the next one\n");
	if (p->unauthorized)
		fprintf(stderr, "shiptrack-poll: the carrier service refused the API "
		    "key (401): check carrier_api_key\n");
}

void
poll_pass_close(struct carrier_pass *p)
{
	if (p == NULL)
		return;
	carrier_close(p->c);
	free(p->reg);
	free(p->rec);
	free(p->pend);
	free(p);
}
