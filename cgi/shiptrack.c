/*
 * shiptrack: the operator's command line.
 *
 *   shiptrack [--config FILE] COMMAND [ARGS]
 *
 * One function per subcommand, found through the command table; each
 * returns the process exit status: 0 done, 1 failed, 2 usage or
 * configuration error.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "app.h"
#include "apply_replay.h"
#include "event.h"
#include "http.h"
#include "link.h"
#include "num.h"
#include "outbox_run.h"
#include "outbox_send.h"
#include "progress.h"
#include "runlock.h"
#include "stats.h"
#include "store_facts.h"
#include "timefmt.h"
#include "valid.h"

#define EXIT_USAGE 2

struct command {
	const char *name;
	const char *args;
	const char *help;
	int (*fn)(struct app *a, int argc, char *argv[]);
};

static int cmd_migrate(struct app *a, int argc, char *argv[]);
static int cmd_check(struct app *a, int argc, char *argv[]);
static int cmd_replay(struct app *a, int argc, char *argv[]);
static int cmd_link(struct app *a, int argc, char *argv[]);
static int cmd_export(struct app *a, int argc, char *argv[]);
static int cmd_contact(struct app *a, int argc, char *argv[]);
static int cmd_notify(struct app *a, int argc, char *argv[]);
static int cmd_stats(struct app *a, int argc, char *argv[]);
static int cmd_copy_to(struct app *a, int argc, char *argv[]);

static const struct command commands[] = {
	{ "migrate", "", "create the database or bring its schema up to date", cmd_migrate },
	{ "check", "", "validate the configuration and the database's integrity", cmd_check },
	{ "replay", "", "rebuild all order state from the stored raw events", cmd_replay },
	{ "link", "ORDER_ID [--base-url URL]", "print the shopper's tracking link", cmd_link },
	{ "export", "--csv", "write orders and their shipments as CSV (RFC 4180)",
	    cmd_export },
	{ "stats", "[--json]", "the counts GET /api/v1/stats gives, and the cron runs' locks",
	    cmd_stats },
	{ "contact", "ORDER_ID ADDRESS", "set the customer's e-mail address for an order",
	    cmd_contact },
	{ "notify", "[--limit N]", "deliver pending stage-change notifications (cron)",
	    cmd_notify },
	{ "copy-to", "URI", "copy the database into an empty one (PostgreSQL)", cmd_copy_to },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *f)
{
	fprintf(f, "usage: shiptrack [--config FILE] COMMAND [ARGS]\n"
	    "       shiptrack --help | --version\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++)
		fprintf(f, "  %-8s %-27s %s\n", commands[i].name, commands[i].args,
		    commands[i].help);
	fprintf(f, "\nConfiguration: --config, else $SHIPTRACK_CONFIG, else %s;\n"
	    "every key can be overridden by its SHIPTRACK_* environment variable.\n",
	    conf_default_path());
}

static int
no_args(int argc, const char *name)
{
	if (argc > 1) {
		fprintf(stderr, "shiptrack %s: takes no arguments\n", name);
		return -1;
	}
	return 0;
}

struct migrating {
	struct progress p;
	int total;
};

/* store_on_migrate(): the progress line while migrations run. */
static void
migrate_shown(void *arg, int from, int done, int total)
{
	struct migrating *m = arg;

	m->total = total;
	if (done < total)
		progress_show(&m->p, "shiptrack migrate: schema %d to %d: migration %d"
		    " of %d, %.0f s", from, from + total, done + 1, total,
		    progress_seconds(&m->p));
}

static int
cmd_migrate(struct app *a, int argc, char *argv[])
{
	struct migrating m = { .total = 0 };
	struct store *st;
	char shown[512];

	if (no_args(argc, argv[0]) < 0)
		return EXIT_USAGE;
	progress_init(&m.p, true);
	store_on_migrate(migrate_shown, &m);
	st = app_store(a);
	store_on_migrate(NULL, NULL);
	progress_end(&m.p);
	if (st == NULL)
		return 1;
	store_display_name(a->conf.database, shown, sizeof(shown));
	printf("database %s at schema version %d; %d migration%s applied in %.1f s\n",
	    shown, store_schema_version(st), m.total, m.total == 1 ? "" : "s",
	    progress_seconds(&m.p));
	return 0;
}

static void
print_setting(const char *name, const char *value)
{
	/* Say whether a secret is set, never what it is. */
	printf("  %-26s %s\n", name, value ? "set" : "not set");
}

/*
 * The cron runs' locks: who holds one and since when.  Returns how many
 * are stuck (held longer than STATS_STUCK_INTERVALS x poll_interval).
 */
static int
check_locks(const struct conf *c)
{
	struct stats_lock l[STATS_LOCKS];
	char since[TIMEFMT_ISO_LEN];
	int stuck = 0;

	stats_locks(c, timefmt_now_ms(), l);
	printf("runs:\n");
	for (int i = 0; i < STATS_LOCKS; i++) {
		printf("  %-20s ", l[i].name);
		if (!l[i].ok)
			printf("cannot tell: %s\n", l[i].error);
		else if (!l[i].s.held)
			printf("not running\n");
		else if (l[i].s.since_ms <= 0)
			printf("running (since when unknown)\n");
		else {
			timefmt_iso_utc(l[i].s.since_ms, since);
			printf("%srunning since %s (%lld s, pid %ld)", l[i].stuck ?
			    "STUCK: " : "", since, (long long)l[i].age_s, l[i].s.pid);
			if (l[i].stuck)
				printf(": longer than %d x poll_interval (%ld s); the runs"
				    " cron starts meanwhile leave at once",
				    STATS_STUCK_INTERVALS, c->poll_interval);
			putchar('\n');
			stuck += l[i].stuck;
		}
	}
	return stuck;
}

/*
 * A configuration file that sets a credential should be the owner's alone
 * (0600, as make install creates it).  A warning, not a failure: the
 * file works, it is only exposed, so the exit status stays the checks'.
 */
static void
warn_conf_mode(const struct conf *c)
{
	struct stat sb;

	if (c->source == NULL || !c->source_has_secret || stat(c->source, &sb) != 0 ||
	    (sb.st_mode & (S_IRWXG | S_IRWXO)) == 0)
		return;
	printf("warning: %s holds secrets and is %s by %s (mode %04o): chmod 600 %s\n",
	    c->source, sb.st_mode & (S_IRGRP | S_IROTH) ? "readable" : "accessible",
	    sb.st_mode & S_IRWXO ? "everyone" : "its group",
	    (unsigned)(sb.st_mode & 07777), c->source);
}

static int
cmd_check(struct app *a, int argc, char *argv[])
{
	struct store_check ck;
	char result[512];
	struct store *st;

	if (no_args(argc, argv[0]) < 0)
		return EXIT_USAGE;
	printf("configuration: %s\n", a->conf.source ? a->conf.source :
	    "(environment and defaults only)");
	warn_conf_mode(&a->conf);
	print_setting("webhook_secret", a->conf.webhook_secret);
	print_setting("webhook_secret_v2", a->conf.webhook_secret_v2);
	print_setting("aftership_webhook_secret", a->conf.aftership_webhook_secret);
	print_setting("api_token", a->conf.api_token);
	print_setting("lookup_secret", a->conf.lookup_secret);
	print_setting("carrier_api_key", a->conf.carrier_api_key);
	print_setting("rye_api_key", a->conf.rye_api_key);
	print_setting("notify_secret", a->conf.notify_secret);
	print_setting("smtp_password", a->conf.smtp_password);
	if (a->conf.smtp_allow_plaintext_auth)
		printf("  WARNING: smtp_allow_plaintext_auth = 1: the SMTP password may"
		    " cross the network in clear text\n");
	if (outbox_run_check_conf(&a->conf, result, sizeof(result)) < 0) {
		printf("notifications: %s\n", result);
		return EXIT_USAGE;
	}
	store_display_name(a->conf.database, result, sizeof(result));
	printf("database: %s\n", result);
	if ((st = app_store(a)) == NULL)
		return 1;
	if (store_check(st, &ck) != STORE_OK ||
	    strcmp(ck.integrity, "ok") != 0) {
		printf("integrity: FAILED: %s\n", ck.integrity);
		return 1;
	}
	printf("integrity: ok\nschema: %d\n", ck.schema);
	for (size_t i = 0; i < ck.ncounts; i++)
		printf("  %-20s %lld\n", ck.count[i].table,
		    (long long)ck.count[i].rows);
	return check_locks(&a->conf) > 0 ? 1 : 0;
}

/* apply_replay()'s progress line. */
static void
replay_shown(void *arg, const struct apply_replay_counts *n)
{
	struct progress *p = arg;

	if (n->orders == 0)
		progress_show(p, "shiptrack replay: %ld of %lld events", n->events,
		    (long long)n->total);
	else
		progress_show(p, "shiptrack replay: %ld events; %ld orders rebuilt",
		    n->events, n->orders);
}

static int
cmd_replay(struct app *a, int argc, char *argv[])
{
	struct apply_replay_counts n;
	struct progress p;
	struct store *st;
	enum store_rc rc;

	if (no_args(argc, argv[0]) < 0)
		return EXIT_USAGE;
	if ((st = app_store(a)) == NULL)
		return 1;
	progress_init(&p, true);
	rc = apply_replay(st, replay_shown, &p, &n);
	progress_end(&p);
	if (rc != STORE_OK) {
		fprintf(stderr, "shiptrack replay: failed; nothing was changed\n");
		return 1;
	}
	printf("replayed %ld events into %ld orders (%ld could not be parsed)"
	    " in %.1f s\n", n.events, n.orders, n.skipped, progress_seconds(&p));
	return 0;
}

static int
cmd_link(struct app *a, int argc, char *argv[])
{
	const char *base = a->conf.public_url ? a->conf.public_url : "http://localhost/";
	const char *id = NULL;
	char url[LINK_MAX];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--base-url") == 0 && i + 1 < argc)
			base = argv[++i];
		else if (strncmp(argv[i], "--base-url=", 11) == 0)
			base = argv[i] + 11;
		else if (id == NULL && argv[i][0] != '-')
			id = argv[i];
		else {
			fprintf(stderr, "usage: shiptrack link ORDER_ID [--base-url URL]\n");
			return EXIT_USAGE;
		}
	}
	if (id == NULL || *id == '\0' || strlen(id) > EVENT_MAX_ID) {
		fprintf(stderr, "usage: shiptrack link ORDER_ID [--base-url URL]\n");
		return EXIT_USAGE;
	}
	if (a->conf.lookup_secret == NULL) {
		fprintf(stderr, "shiptrack link: lookup_secret is not configured\n");
		return EXIT_USAGE;
	}
	if (link_shopper_url(base, a->conf.lookup_secret, id, url, sizeof(url)) < 0) {
		fprintf(stderr, "shiptrack link: the base URL is too long\n");
		return EXIT_USAGE;
	}
	printf("%s\n", url);
	return 0;
}

/*
 * RFC 4180 field; a leading = + - @ tab or CR is defused for spreadsheets
 * (a ' before it, and quotes).  web/admin.js's csvField() follows the same
 * rule, and tests/browser/run.mjs holds the two to the same bytes.
 */
static void
put_csv_field(const char *s)
{
	if (s == NULL)
		return;
	if (s[0] != '\0' && strchr("=+-@\t\r", s[0]) != NULL) {
		putchar('"');
		putchar('\'');
		for (; *s != '\0'; s++) {
			if (*s == '"')
				putchar('"');
			putchar(*s);
		}
		putchar('"');
		return;
	}
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s != '\0'; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

static int
put_csv_row(void *arg, const char *const *cols)
{
	(void)arg;
	for (int i = 0; i < STORE_EXPORT_COLUMNS; i++) {
		if (i > 0)
			putchar(',');
		put_csv_field(cols[i]);
	}
	fputs("\r\n", stdout);
	return ferror(stdout) ? -1 : 0;
}

static int
cmd_export(struct app *a, int argc, char *argv[])
{
	struct store *st;

	if (argc != 2 || strcmp(argv[1], "--csv") != 0) {
		fprintf(stderr, "usage: shiptrack export --csv\n");
		return EXIT_USAGE;
	}
	if ((st = app_store(a)) == NULL)
		return 1;
	put_csv_row(NULL, store_export_header);
	if (store_export(st, put_csv_row, NULL) != STORE_OK || fflush(stdout) != 0) {
		fprintf(stderr, "shiptrack export: failed\n");
		return 1;
	}
	return 0;
}

/*
 * copy-to URI: the configured database into an empty one, verified
 * (store_copy.c); the URI's password is never printed.
 */
static int
cmd_copy_to(struct app *a, int argc, char *argv[])
{
	struct store_copy_report rep;
	struct progress p;
	char err[1024];
	struct store *st;

	if (argc != 2) {
		fprintf(stderr, "usage: shiptrack copy-to URI\n");
		return EXIT_USAGE;
	}
	if ((st = app_store(a)) == NULL)
		return 1;
	progress_init(&p, false);
	if (store_copy_to(st, argv[1], &rep, err, sizeof(err)) < 0) {
		fprintf(stderr, "shiptrack copy-to: %s\n", err);
		return 1;
	}
	for (size_t i = 0; i < rep.ntables; i++)
		printf("  %-22s %lld rows\n", rep.table[i], (long long)rep.rows[i]);
	printf("copied to %s and verified: every table's rows counted on both"
	    " sides; events sha256 %s on both; %.1f s\n", rep.target, rep.digest,
	    progress_seconds(&p));
	return 0;
}

/* The counts GET /v1/stats answers: its very JSON (--json), or for people. */
static int
cmd_stats(struct app *a, int argc, char *argv[])
{
	bool json = argc == 2 && strcmp(argv[1], "--json") == 0;
	json_object *o = NULL;
	struct store *st;
	size_t len;

	if (argc > 2 || (argc == 2 && !json)) {
		fprintf(stderr, "usage: shiptrack stats [--json]\n");
		return EXIT_USAGE;
	}
	if ((st = app_store(a)) == NULL ||
	    stats_gather(st, &a->conf, timefmt_now_ms(), &o) != STORE_OK) {
		fprintf(stderr, "shiptrack stats: the database cannot be read\n");
		return 1;
	}
	if (json)
		printf("%s\n", http_json_string(o, &len));
	else
		stats_print(stdout, o);
	json_object_put(o);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int
cmd_contact(struct app *a, int argc, char *argv[])
{
	struct facts_change change = { .set = { false } };
	char now[TIMEFMT_ISO_LEN];
	struct store *st;
	enum store_rc rc;

	if (argc != 3) {
		fprintf(stderr, "usage: shiptrack contact ORDER_ID ADDRESS\n");
		return EXIT_USAGE;
	}
	if (!valid_order_id(argv[1])) {
		fprintf(stderr, "shiptrack contact: not a valid order id\n");
		return EXIT_USAGE;
	}
	if (!valid_address(argv[2])) {
		fprintf(stderr, "shiptrack contact: not a plain e-mail address (one @,"
		    " printable ASCII, no spaces, angle brackets, quotes or commas)\n");
		return EXIT_USAGE;
	}
	if ((st = app_store(a)) == NULL)
		return 1;
	timefmt_iso_utc(timefmt_now_ms(), now);
	change.set[FACT_EMAIL] = true;
	change.v[FACT_EMAIL] = argv[2];
	if ((rc = store_facts_change_tx(st, argv[1], FACTS_OPERATOR, &change, now,
	    true)) != STORE_OK) {
		fprintf(stderr, "shiptrack contact: %s\n", rc == STORE_NONE ?
		    "no such order" : "failed; nothing was changed");
		return 1;
	}
	printf("contact address set for order %s\n", argv[1]);
	return 0;
}

static int
notify_args(int argc, char *argv[], struct outbox_run_opts *o)
{
	const char *v = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
			v = argv[++i];
		else if (strncmp(argv[i], "--limit=", 8) == 0)
			v = argv[i] + 8;
		else
			v = "";
		if (num_parse_long(v, 1, 1000000, &o->limit) < 0) {
			fprintf(stderr, "usage: shiptrack notify [--limit N]\n");
			return -1;
		}
	}
	return 0;
}

/*
 * The cron step.  A run that finds another one delivering leaves at once
 * with status 0: that run does the work.
 */
static int
cmd_notify(struct app *a, int argc, char *argv[])
{
	struct outbox_run_opts o = { .limit = 0 };
	struct outbox_run_stats s;
	struct store *st;
	enum store_rc rc;
	struct runlock lock;
	char err[4200];

	if (notify_args(argc, argv, &o) < 0)
		return EXIT_USAGE;
	if (outbox_run_check_conf(&a->conf, err, sizeof(err)) < 0) {
		fprintf(stderr, "shiptrack notify: %s\n", err);
		return EXIT_USAGE;
	}
	switch (runlock_take(&lock, a->conf.database, RUNLOCK_NOTIFY,
	    timefmt_now_ms(), err, sizeof(err))) {
	case RUNLOCK_TAKEN:
		break;
	case RUNLOCK_BUSY:
		printf("notify: another run is delivering; nothing to do\n");
		return 0;
	default:
		fprintf(stderr, "shiptrack notify: %s\n", err);
		return 1;
	}
	if ((st = app_store(a)) == NULL || outbox_send_init() < 0) {
		runlock_release(&lock);
		return 1;
	}
	rc = outbox_run(&a->conf, st, &o, &s);
	outbox_send_cleanup();
	runlock_release(&lock);
	printf("notify: %ld notifications, %ld sent, %ld skipped, %ld to retry,"
	    " %ld failed, %ld interrupted runs recovered\n", s.rows, s.sent,
	    s.skipped, s.retry, s.failed, s.reclaimed);
	if (rc != STORE_OK) {
		fprintf(stderr, "shiptrack notify: stopped by a database error\n");
		return 1;
	}
	return s.retry > 0 || s.failed > 0 ? 1 : 0;
}

int
main(int argc, char *argv[])
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	struct app a;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, "+c:hV", opts, NULL)) != -1)
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("shiptrack %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (size_t i = 0; i < NCOMMANDS; i++) {
		if (strcmp(argv[0], commands[i].name) != 0)
			continue;
		app_init(&a, "shiptrack", config, STORE_READWRITE);
		if (!a.conf_ok) {
			fprintf(stderr, "shiptrack: %s\n", a.conf_err);
			return EXIT_USAGE;
		}
		rc = commands[i].fn(&a, argc, argv);
		app_free(&a);
		return rc;
	}
	fprintf(stderr, "shiptrack: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return EXIT_USAGE;
}
