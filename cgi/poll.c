/*
 * shiptrack-poll: the cron run that keeps every order current from Rye's
 * API and every shipment from AfterShip (DESIGN.md "Poller";
 * shared/spec/rye-api.md, aftership.md).
 *
 * First the Rye pass (poll_rye.c: thin events completed, missed events
 * recovered, buyer data taken), with its own lock ("<database>.rye.lock")
 * and at most half the run's time, so that `--rye-only` can run every
 * minute beside the full run; then the carrier pass:
 *
 *   options -> configuration -> lock -> database -> carrier client
 *   -> register new shipments (POST)  and, at the same time,
 *      list sync: every tracking updated since the last complete sync
 *      (minus poll_sync_margin), all pages -- but at most poll_max_pages,
 *      none after a page the service repeats, none after the deadline
 *   -> then reconcile: GET by id the shipments no list has returned for
 *      reconcile_hours (next_poll_ms passed)
 *   -> cursor and run recorded, one summary line, exit status.
 *
 * So a run's requests grow with the trackings that changed, not with the
 * fleet.  Each shipment's update is its own transaction (apply_carrier.h);
 * a run killed at any point leaves a consistent database, and the next run
 * lists again from the old cursor.  The carrier client paces each endpoint
 * below its limit; 429s, 5xx and timeouts are retried there.  What each
 * answer means for its shipment is poll_pass.c's business.
 *
 * Two runs never overlap: the run holds flock(2) on "<database>.poll.lock"
 * (the kernel drops it when the process dies, even by kill -9); a second
 * run says so and exits 0.
 *
 * A run has a deadline, poll_interval after its start: no new shipment,
 * no further list page and no 429 wait goes past it, so a run never holds
 * the lock long into the next cron run's slot (what is in flight finishes,
 * each request within carrier_timeout and its bounded retries).
 *
 * Exit status: 0 all fine; 1 some shipments failed (recorded), the list
 * sync did not complete (a failure, the page cap, a repeated page, the
 * deadline), the quota ran out, or the run was interrupted; 2 usage or
 * configuration error, or the service refused the key.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "carrier.h"
#include "log.h"
#include "metrics.h"
#include "poll.h"
#include "runlock.h"
#include "store_carrier.h"
#include "timefmt.h"

#define EXIT_FAILED	1
#define EXIT_USAGE	2
#define RUN_LOCKED	(-1)	/* another run holds the lock: exit 0 */
#define MAX_RETRIES	3
#define MAX_WAITS	5
#define MAX_WAIT_S	60

volatile sig_atomic_t poll_signal;

static void
print_help(const char *usage)
{
	printf("%s\n"
	    "First the Rye pass (with rye_api_key): completes thin gen-2 events\n"
	    "and recovers missed ones from Rye's API, re-reads quiet gen-1\n"
	    "orders, takes the buyer's data.  Then keeps every shipment current\n"
	    "from AfterShip: registers new shipments, fetches what changed since\n"
	    "the last run (list sync), and re-reads by id what no list returned\n"
	    "for reconcile_hours, within the services' rate limits.\n\n"
	    "  -c, --config FILE  configuration file (else $SHIPTRACK_CONFIG,\n"
	    "                     else %s)\n"
	    "  -n, --limit N      register or re-read at most N shipments\n"
	    "  -d, --dry-run      fetch (list and get only), change nothing\n"
	    "  -v, --verbose      log every request and update\n"
	    "  -R, --rye-only     the Rye pass only (cheap: can run every minute)\n"
	    "  -C, --carrier-only the carrier pass only\n"
	    "  -h, --help         this text\n"
	    "  -V, --version      the version\n\n"
	    "Exit status: 0 fine, 1 some reads failed (recorded) or the run\n"
	    "was cut short (list pages, rate limit, deadline), 2 usage or\n"
	    "configuration error, or Rye or the carrier service refused the key.\n",
	    usage, conf_default_path());
}

static int
parse_options(int argc, char *argv[], struct opts *o)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "limit", required_argument, NULL, 'n' },
		{ "dry-run", no_argument, NULL, 'd' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "rye-only", no_argument, NULL, 'R' },
		{ "carrier-only", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] =
	    "usage: shiptrack-poll [--config FILE] [--limit N] [--dry-run] [--verbose]\n"
	    "                      [--rye-only | --carrier-only]\n"
	    "       shiptrack-poll --help | --version\n";
	int ch;

	memset(o, 0, sizeof(*o));
	o->limit = -1;
	while ((ch = getopt_long(argc, argv, "c:n:dvRChV", longopts, NULL)) != -1)
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'n':
			if (conf_parse_long(optarg, 0, 100000000, &o->limit) < 0) {
				fprintf(stderr, "shiptrack-poll: --limit takes a whole "
				    "number >= 0\n%s", usage);
				return EXIT_USAGE;
			}
			break;
		case 'd':
			o->dry_run = true;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'R':
			o->rye_only = true;
			break;
		case 'C':
			o->carrier_only = true;
			break;
		case 'h':
			print_help(usage);
			return 0;
		case 'V':
			printf("shiptrack-poll %s\n", PACKAGE_VERSION);
			return 0;
		default:
			fputs(usage, stderr);
			return EXIT_USAGE;
		}
	if (optind < argc) {
		fprintf(stderr, "shiptrack-poll: unexpected argument '%s'\n%s",
		    argv[optind], usage);
		return EXIT_USAGE;
	}
	if (o->rye_only && o->carrier_only) {
		fprintf(stderr, "shiptrack-poll: --rye-only and --carrier-only exclude each "
		    "other\n%s", usage);
		return EXIT_USAGE;
	}
	return -1;
}

static void
on_signal(int sig)
{
	poll_signal = sig;
}

static int
take_lock(struct run *r)
{
	char err[4200];

	switch (runlock_take(&r->lock, r->a.conf.database, RUNLOCK_POLL,
	    timefmt_now_ms(), err, sizeof(err))) {
	case RUNLOCK_TAKEN:
		return 0;
	case RUNLOCK_BUSY:
		printf("shiptrack-poll: another run is in progress (it holds"
		    " the poll lock); nothing to do\n");
		return RUN_LOCKED;
	default:
		fprintf(stderr, "shiptrack-poll: cannot lock: %s\n", err);
		return EXIT_FAILED;
	}
}

static int open_store(struct run *r);

static int
run_open(struct run *r, const struct opts *o)
{
	struct carrier_opts co;
	char err[512];
	int rc;

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->lock.fd = -1;
	r->rye.lock.fd = -1;
	app_init(&r->a, "shiptrack-poll", o->config, STORE_READWRITE);
	if (!r->a.conf_ok) {
		fprintf(stderr, "shiptrack-poll: %s\n", r->a.conf_err);
		return EXIT_USAGE;
	}
	if (o->verbose)
		log_set_level(LL_DEBUG);
	r->start_ms = timefmt_now_ms();
	r->deadline = r->start_ms + (int64_t)r->a.conf.poll_interval * 1000;
	if (o->rye_only) {
		if (r->a.conf.rye_api_key == NULL) {
			fprintf(stderr, "shiptrack-poll: --rye-only: rye_api_key is not set\n");
			return EXIT_USAGE;
		}
		return open_store(r);
	}
	co = (struct carrier_opts){
		.base_url = r->a.conf.carrier_api_url, .api_key = r->a.conf.carrier_api_key,
		.timeout_s = r->a.conf.carrier_timeout,
		.concurrency = (int)r->a.conf.poll_concurrency,
		.limit = { [BUCKET_CREATE] = r->a.conf.carrier_rate_create,
		    [BUCKET_LIST] = r->a.conf.carrier_rate_list,
		    [BUCKET_GET] = r->a.conf.carrier_rate_get },
		.legacy_limit = r->a.conf.carrier_rate_v4,
		.max_retries = MAX_RETRIES, .max_waits = MAX_WAITS, .max_wait_s = MAX_WAIT_S,
		.deadline_ms = r->deadline,
	};
	if ((r->c = carrier_open(&co, err, sizeof(err))) == NULL) {
		fprintf(stderr, "shiptrack-poll: %s\n", err);
		return EXIT_USAGE;
	}
	if ((rc = take_lock(r)) != 0)
		return rc;
	return open_store(r);
}

static int
open_store(struct run *r)
{
	struct sigaction sa;

	/*
	 * This connection commits with synchronous=NORMAL, whatever `durability`
	 * says (that key is about what a webhook's 2xx promises).  One fsync per
	 * shipment would cost more than the rate limits do, and nothing here
	 * needs it: in WAL mode a power loss drops only the newest commits, in
	 * order, and the cursor is committed after every update of its run, so
	 * whatever is lost is fetched again by the next run (and a receiver's
	 * FULL commit syncs our earlier ones with its own).
	 */
	r->a.conf.durability = DURABILITY_NORMAL;
	if ((r->st = app_store(&r->a)) == NULL) {
		char shown[512];
		store_display_name(r->a.conf.database, shown, sizeof(shown));
		fprintf(stderr, "shiptrack-poll: cannot open the database %s\n",
		    shown);
		return EXIT_FAILED;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	progress_init(&r->progress, !r->o->verbose);
	r->reconcile_ms = (int64_t)r->a.conf.reconcile_hours * 3600 * 1000;
	r->backoff_ms = (int64_t)r->a.conf.poll_interval * 1000;
	r->rnd = (uint64_t)r->start_ms * 6364136223846793005ULL ^ (uint64_t)getpid();
	return 0;
}

static void
record_run(struct run *r, const char *result, long requests)
{
	char started[TIMEFMT_ISO_LEN], finished[TIMEFMT_ISO_LEN], num[32];
	const struct { const char *key; long v; } nums[] = {
		{ "poll.requests", requests }, { "poll.registered", r->n.registered },
		{ "poll.updated", r->n.updated }, { "poll.failed", r->n.failed },
		{ "poll.rejected", r->n.rejected },
	};
	enum store_rc rc;

	timefmt_iso_utc(r->start_ms - r->start_ms % 1000, started);
	timefmt_iso_utc(timefmt_now_ms() / 1000 * 1000, finished);
	if ((rc = store_begin(r->st)) != STORE_OK)
		goto err;
	/* A complete sync (or none needed: nothing was registered) moves the cursor. */
	if (r->list_ok) {
		snprintf(num, sizeof(num), "%lld", (long long)r->list_start);
		rc = store_meta_set(r->st, META_LIST_SYNC, num);
	}
	if (rc == STORE_OK)
		rc = store_meta_set(r->st, "poll.startedAt", started);
	if (rc == STORE_OK)
		rc = store_meta_set(r->st, "poll.finishedAt", finished);
	if (rc == STORE_OK)
		rc = store_meta_set(r->st, "poll.result", result);
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]) && rc == STORE_OK; i++) {
		snprintf(num, sizeof(num), "%ld", nums[i].v);
		rc = store_meta_set(r->st, nums[i].key, num);
	}
	if (rc == STORE_OK && strcmp(result, "ok") == 0)
		rc = store_meta_set(r->st, META_POLL_OK, finished);
	if (rc == STORE_OK)
		rc = metrics_store_poll_run(r->st, carrier_stats(r->c),
		    timefmt_now_ms() - r->start_ms);
	if (rc == STORE_OK && (rc = store_commit(r->st)) == STORE_OK)
		return;
err:
	store_rollback(r->st);
	log_error("could not record the run in the database");
	r->db_error = true;
}

/* The run's result, for the summary and GET /v1/stats, and its exit status. */
static const char *
result_of(const struct run *r, int *rc)
{
	*rc = EXIT_USAGE;
	if (r->unauthorized)
		return "unauthorized";
	if (r->config_error)
		return "bad_url";
	*rc = EXIT_FAILED;
	if (r->db_error)
		return "database_error";
	if (r->client_error)
		return "client_error";
	if (r->interrupted)
		return "interrupted";
	if (r->quota)
		return "rate_limited";
	if (r->cut == LIST_CUT_CAPPED)
		return "list_page_cap";
	if (r->cut == LIST_CUT_REPEATED)
		return "list_repeated";
	if (r->cut == LIST_CUT_LATE)
		return "list_out_of_time";
	if (r->list_wanted && !r->list_ok)
		return "list_sync_failed";
	if (r->n.failed > 0 || r->n.rejected > 0)
		return "some_failed";
	*rc = 0;
	return "ok";
}

/* "rye: ..." of the summary line. */
static void
print_rye(const struct run *r)
{
	const struct rye_pass *p = &r->rye;
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
	result = poll_rye_result(r, &rc);
	printf("rye: %ld recovered, %ld intents, %ld shipments, %ld orders read, "
	    "%ld failed; %ld requests, %ld rate-limited, %ld retried%s%s; ",
	    p->n.recovered, p->n.intents, p->n.shipments, p->n.orders, p->n.failed,
	    requests, s->rate_limited, s->retries, rc ? "; " : "", rc ? result : "");
}

/* The carrier pass's part of the summary line; its exit status. */
static int
finish_carrier(struct run *r, const char **result)
{
	const struct carrier_stats *s;
	long requests;
	int rc = 0;

	if (r->o->rye_only || r->rye.unauthorized) {
		*result = "ok";
		printf("carrier: skipped (%s); ", r->o->rye_only ? "--rye-only" :
		    "Rye refused its key");
		return 0;
	}
	s = carrier_stats(r->c);
	requests = s->sent[CARRIER_CREATE] + s->sent[CARRIER_LIST] + s->sent[CARRIER_GET];
	*result = result_of(r, &rc);
	if (!r->o->dry_run && !r->db_error)
		record_run(r, *result, requests);
	printf("%s%ld registered, %ld listed, %ld reconciled, "
	    "%ld updated, %ld failed, %ld rejected, %ld stalled",
	    r->o->dry_run ? "dry run: " : "", r->n.registered, r->n.listed,
	    r->n.reconciled, r->n.updated, r->n.failed, r->n.rejected, r->n.delayed);
	if (r->o->dry_run)
		printf(", %ld would be registered", r->n.would_register);
	printf("; %ld requests (%ld create, %ld list, %ld get), %ld rate-limited, "
	    "%ld retried; ", requests, s->sent[CARRIER_CREATE],
	    s->sent[CARRIER_LIST], s->sent[CARRIER_GET], s->rate_limited, s->retries);
	return rc;
}

/*
 * One summary line: the Rye pass's part, the carrier pass's, the time and
 * the run's result: the carrier pass's, unless the Rye pass ended worse
 * (its result names it: rye_...).  Exit status: the worse of the two.
 */
static int
run_finish(struct run *r)
{
	const char *result, *rye_result;
	int rc, rye_rc;

	rye_result = poll_rye_result(r, &rye_rc);
	printf("shiptrack-poll: ");
	print_rye(r);
	rc = finish_carrier(r, &result);
	if (rye_rc > rc || (rc == 0 && rye_rc != 0)) {
		result = rye_result;
		rc = rye_rc;
	}
	printf("%.1f s; %s\n", (double)(timefmt_now_ms() - r->start_ms) / 1000.0, result);
	if (r->quota)
		fprintf(stderr, "shiptrack-poll: the carrier service's rate limit or "
		    "quota stopped this run; the rest waits for the next one\n");
	if (r->unauthorized)
		fprintf(stderr, "shiptrack-poll: the carrier service refused the API "
		    "key (401): check carrier_api_key\n");
	if (r->rye.unauthorized)
		fprintf(stderr, "shiptrack-poll: Rye refused the API key (401/403): check "
		    "rye_api_key and rye_auth_scheme; nothing was changed\n");
	return rc;
}

static void
run_close(struct run *r)
{
	poll_rye_close(r);
	carrier_close(r->c);
	free(r->reg);
	free(r->rec);
	free(r->pend);
	runlock_release(&r->lock);
	if (r->a.conf_ok)
		app_free(&r->a);
}

int
main(int argc, char *argv[])
{
	struct opts o;
	struct run r;
	int rc;

	if ((rc = parse_options(argc, argv, &o)) >= 0)
		return rc;
	if ((rc = run_open(&r, &o)) == 0) {
		poll_rye(&r);
		if (!o.rye_only && !r.rye.unauthorized)
			poll_pass(&r);
		rc = run_finish(&r);
	}
	run_close(&r);
	return rc == RUN_LOCKED ? 0 : rc;
}
