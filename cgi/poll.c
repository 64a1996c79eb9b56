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
 * answer means for its shipment is poll_pass.c's business (poll_jobs.c,
 * poll_list.c).  Each pass keeps its state to itself (poll.h).
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

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "log.h"
#include "num.h"
#include "poll.h"
#include "runlock.h"
#include "store_carrier.h"
#include "timefmt.h"

#define RUN_LOCKED	(-1)	/* another run holds the lock: exit 0 */

volatile sig_atomic_t poll_signal;

/* The run: the program's own part; each pass keeps its state to itself. */
struct run {
	const struct opts *o;
	struct app a;
	struct poll_env env;
	struct runlock lock;
	struct carrier_pass *pass;
	struct rye_pass *rye;
};

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

static void
print_help(void)
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

/* The options into *o: -1 to run, else the exit status (--help, an error). */
static int
parse_options(int argc, char *argv[], struct opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->limit = -1;
	while ((ch = getopt_long(argc, argv, "c:n:dvRChV", longopts, NULL)) != -1)
		switch (ch) {
		case 'c':
			o->config = optarg;
			break;
		case 'n':
			if (num_parse_long(optarg, 0, 100000000, &o->limit) < 0) {
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
			print_help();
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
	if ((r->env.st = app_store(&r->a)) == NULL) {
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
	if ((r->rye = poll_rye_new(&r->env)) == NULL) {
		fprintf(stderr, "shiptrack-poll: out of memory\n");
		return EXIT_FAILED;
	}
	return 0;
}

static int
run_open(struct run *r, const struct opts *o)
{
	int rc;

	memset(r, 0, sizeof(*r));
	r->o = o;
	r->lock.fd = -1;
	app_init(&r->a, "shiptrack-poll", o->config, STORE_READWRITE);
	if (!r->a.conf_ok) {
		fprintf(stderr, "shiptrack-poll: %s\n", r->a.conf_err);
		return EXIT_USAGE;
	}
	if (o->verbose)
		log_set_level(LL_DEBUG);
	r->env = (struct poll_env){ .o = o, .conf = &r->a.conf };
	r->env.start_ms = timefmt_now_ms();
	r->env.deadline = r->env.start_ms + (int64_t)r->a.conf.poll_interval * 1000;
	if (o->rye_only) {
		if (r->a.conf.rye_api_key == NULL) {
			fprintf(stderr, "shiptrack-poll: --rye-only: rye_api_key is not set\n");
			return EXIT_USAGE;
		}
		return open_store(r);
	}
	if ((rc = poll_pass_open(&r->env, &r->pass)) != 0)
		return rc;
	if ((rc = take_lock(r)) != 0)
		return rc;
	return open_store(r);
}

const char *
poll_outcome(const struct poll_outcome *ladder, size_t n, int *rc)
{
	for (size_t i = 0; i < n; i++)
		if (ladder[i].applies) {
			*rc = ladder[i].rc;
			return ladder[i].result;
		}
	*rc = 0;
	return "ok";
}

/* poll_record()'s writes, inside its transaction. */
static enum store_rc
record_meta(struct store *st, const struct poll_record *r)
{
	char started[TIMEFMT_ISO_LEN], finished[TIMEFMT_ISO_LEN], key[64], num[32];
	const struct { const char *name; const char *v; } times[] = {
		{ "startedAt", started }, { "finishedAt", finished },
		{ "result", r->result },
	};
	enum store_rc rc = STORE_OK;

	timefmt_iso_utc(r->start_ms - r->start_ms % 1000, started);
	timefmt_iso_utc(timefmt_now_ms() / 1000 * 1000, finished);
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]) && rc == STORE_OK; i++) {
		snprintf(key, sizeof(key), "%s.%s", r->pass, times[i].name);
		rc = store_meta_set(st, key, times[i].v);
	}
	for (size_t i = 0; i < r->n && rc == STORE_OK; i++) {
		snprintf(num, sizeof(num), "%ld", r->nums[i].v);
		rc = store_meta_set(st, r->nums[i].key, num);
	}
	if (rc == STORE_OK && strcmp(r->result, "ok") == 0)
		rc = store_meta_set(st, r->ok_key, finished);
	if (rc == STORE_OK && r->more != NULL)
		rc = r->more(r->arg, st);
	return rc;
}

bool
poll_record(struct store *st, const struct poll_record *r)
{
	enum store_rc rc = store_begin(st);

	if (rc == STORE_OK)
		rc = record_meta(st, r);
	if (rc == STORE_OK)
		rc = store_commit(st);
	if (rc != STORE_OK)
		store_rollback(st);
	return rc == STORE_OK;
}

/* The carrier pass's part of the summary line; its exit status. */
static int
finish_carrier(struct run *r, const char **result)
{
	if (r->o->rye_only || poll_rye_refused_key(r->rye)) {
		*result = "ok";
		printf("carrier: skipped (%s); ", r->o->rye_only ? "--rye-only" :
		    "Rye refused its key");
		return 0;
	}
	return poll_pass_finish(r->pass, result);
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

	rye_result = poll_rye_result(r->rye, &rye_rc);
	printf("shiptrack-poll: ");
	poll_rye_print(r->rye);
	rc = finish_carrier(r, &result);
	if (rye_rc > rc || (rc == 0 && rye_rc != 0)) {
		result = rye_result;
		rc = rye_rc;
	}
	printf("%.1f s; %s\n", (double)(timefmt_now_ms() - r->env.start_ms) / 1000.0,
	    result);
	if (r->pass != NULL)
		poll_pass_warn(r->pass);
	if (poll_rye_refused_key(r->rye))
		fprintf(stderr, "shiptrack-poll: Rye refused the API key (401/403): check "
		    "rye_api_key and rye_auth_scheme; nothing was changed\n");
	return rc;
}

static void
run_close(struct run *r)
{
	poll_rye_close(r->rye);
	poll_pass_close(r->pass);
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
		poll_rye(r.rye);
		if (!o.rye_only && !poll_rye_refused_key(r.rye))
			poll_pass(r.pass);
		rc = run_finish(&r);
	}
	run_close(&r);
	return rc == RUN_LOCKED ? 0 : rc;
}
