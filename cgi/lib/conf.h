/*
 * conf: the configuration every program shares.
 *
 * A "key = value" file ("#" starts a comment line) named by
 * SHIPTRACK_CONFIG, else the compiled-in default path; every key can be
 * overridden by its environment variable, and the environment wins.  The
 * keys are one table in conf.c (name, variable, default, kind, bounds), so
 * parsing, validation, --help text and documentation cannot drift apart.
 * Errors name the file, the line and the key, never a secret's value.
 *
 * Values are checked as they are read: every string is printable text;
 * secrets (HMAC keys, the operator token, the lookup key) have at least
 * CONF_SECRET_MIN bytes, each of them in a rotation list; cors_origin is
 * "*" or one origin of at most CONF_ORIGIN_MAX bytes.  File and
 * environment values alike are trimmed of surrounding blanks, and an
 * empty string means unset.
 */
#ifndef SHIPTRACK_CONF_H
#define SHIPTRACK_CONF_H

#include <stdbool.h>
#include <stddef.h>

#include "order.h"
#include "store.h"	/* enum durability */

#define CONF_SECRET_MIN 16	/* bytes, per secret */
#define CONF_ORIGIN_MAX 256	/* bytes of cors_origin */

struct conf {
	char *database;
	char *database_password_file;	/* PostgreSQL's password, if not elsewhere */
	char *webhook_secret;
	char *webhook_secret_v2;	/* gen 2's, when it differs (NULL: webhook_secret) */
	char *aftership_webhook_secret;
	char *api_token;
	char *lookup_secret;
	char *carrier_api_key;
	char *carrier_api_url;
	long carrier_rate_create;	/* the service's limits, requests/s per endpoint */
	long carrier_rate_list;
	long carrier_rate_get;
	long carrier_rate_v4;		/* /v4: one limit per account */
	long carrier_timeout;		/* s per carrier request */
	long poll_concurrency;		/* carrier requests in flight at once */
	long poll_interval;		/* s between cron runs: a run starts no new work after it */
	long reconcile_hours;		/* unseen by list syncs this long: a GET */
	long poll_sync_margin;		/* s the list sync looks back before its last run */
	long poll_max_pages;		/* list-sync pages one run asks for at most */
	char *rye_api_key;		/* none: no Rye pass */
	char *rye_api_url;		/* gen-2 REST base */
	char *rye_graphql_url;		/* gen-1 GraphQL endpoint */
	char *rye_auth_scheme;		/* gen 2's Authorization scheme: Bearer or Basic */
	long rye_rate;			/* gen-2 reads/s Rye allows the account */
	long rye_resync_hours;		/* a quiet, unfinished order is re-read after this */
	long max_body;
	enum durability durability;
	char *cors_origin;
	char *notify_url;
	char *notify_secret;
	char *smtp_url;
	char *smtp_user;
	char *smtp_password;
	long smtp_allow_plaintext_auth;	/* 1: AUTH over smtp:// without TLS (unsafe) */
	char *mail_from;
	long notify_give_up_hours;	/* a notification not delivered by then: failed */
	long notify_lease_seconds;	/* a sender's hold on one row */
	long notify_timeout;		/* s per webhook POST or SMTP transaction */
	long notify_retry_seconds;	/* first back-off; doubles per attempt */
	long busy_timeout;	/* ms SQLite waits for a lock before 503 */
	long read_timeout;	/* s a request body may take to arrive */
	long threads;		/* request threads per FastCGI receiver process */
	long view_cache;	/* shopper views kept per API process (0: none) */
	long lookup_max_failures;	/* failed lookups per address or order number ... */
	long lookup_window_seconds;	/* ... within this window, then 429 */
	char *log_level;
	char *public_url;	/* base URL of the shopper page, for links */
	long stale_days;	/* default days without a scan before "stale" */
	char *stale_rules;	/* per-tag overrides, "Tag=days ..." */
	struct stale_rules stale;	/* parsed from stale_days + stale_rules */
	char *default_locale;	/* language of page and e-mails when nothing better is known */
	char *source;		/* the file that was read, or NULL */
	bool source_has_secret;	/* that file sets a credential */
};

/*
 * Load configuration.  path: an explicit file (--config), or NULL to use
 * SHIPTRACK_CONFIG or the default.  Returns 0, or -1 with a message in err.
 */
int  conf_load(struct conf *c, const char *path, char *err, size_t errsz);
void conf_free(struct conf *c);

/* The default configuration file path compiled in. */
const char *conf_default_path(void);

#endif
