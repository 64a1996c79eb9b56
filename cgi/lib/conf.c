/*
 * conf: see conf.h.  The table below is the single list of keys; a key
 * is either a string (empty means unset) or a bounded integer, or an enum
 * with its own parser.  Loading is: defaults, then the file, then the
 * environment, then validation of the combination.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"
#include "i18n.h"
#include "log.h"
#include "num.h"
#include "order.h"
#include "text.h"

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif
#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

enum conf_kind { K_STRING, K_LONG, K_DURABILITY };

#define KEY_LETTERS "abcdefghijklmnopqrstuvwxyz_ABCDEFGHIJKLMNOPQRSTUVWXYZ"

/*
 * What a string key holds, beyond text.  One word on a key's line in
 * the table below turns a rule on:
 *   CREDENTIAL  a credential: `shiptrack check` only says whether it is
 *               set, and warns when the file holding it is readable by
 *               others;
 *   SECRET      a credential that guards shiptrack's own doors (HMAC
 *               keys, the operator token, the lookup key): also refused
 *               when shorter than CONF_SECRET_MIN bytes;
 *   SECRETS     the same, for a blank-separated list (rotation): each
 *               item must be long enough;
 *   ORIGIN      a value for Access-Control-Allow-Origin.
 * Credentials shiptrack presents to others (carrier_api_key,
 * smtp_password) are not length-checked: the other side judges them.
 */
#define F_CREDENTIAL 0x1
#define F_MIN_LEN 0x2
#define F_LIST 0x4
#define F_ORIGIN 0x8
#define CREDENTIAL F_CREDENTIAL
#define SECRET (F_CREDENTIAL | F_MIN_LEN)
#define SECRETS (F_CREDENTIAL | F_MIN_LEN | F_LIST)
#define ORIGIN F_ORIGIN

struct conf_key {
	const char *name;
	const char *env;
	enum conf_kind kind;
	size_t offset;
	const char *def;
	long min, max;
	unsigned flags;
};

#define S(n, e, d, f) { #n, e, K_STRING, offsetof(struct conf, n), d, 0, 0, f }
#define L(n, e, d, lo, hi) { #n, e, K_LONG, offsetof(struct conf, n), d, lo, hi, 0 }

static const struct conf_key keys[] = {
	S(database, "SHIPTRACK_DATABASE", LOCALSTATEDIR "/lib/shiptrack/shiptrack.db", 0),
	S(database_password_file, "SHIPTRACK_DATABASE_PASSWORD_FILE", NULL, 0),
	S(webhook_secret, "SHIPTRACK_WEBHOOK_SECRET", NULL, SECRETS),
	/* unset: webhook_secret */
	S(webhook_secret_v2, "SHIPTRACK_WEBHOOK_SECRET_V2", NULL, SECRETS),
	S(aftership_webhook_secret, "SHIPTRACK_AFTERSHIP_WEBHOOK_SECRET", NULL, SECRETS),
	S(api_token, "SHIPTRACK_API_TOKEN", NULL, SECRET),
	S(lookup_secret, "SHIPTRACK_LOOKUP_SECRET", NULL, SECRET),
	S(carrier_api_key, "SHIPTRACK_CARRIER_API_KEY", NULL, CREDENTIAL),
	S(carrier_api_url, "SHIPTRACK_CARRIER_API_URL",
	    "https://api.aftership.com/tracking/2025-07", 0),
	L(carrier_rate_create, "SHIPTRACK_CARRIER_RATE_CREATE", "20", 1, 1000),
	L(carrier_rate_list, "SHIPTRACK_CARRIER_RATE_LIST", "6", 1, 1000),
	L(carrier_rate_get, "SHIPTRACK_CARRIER_RATE_GET", "5", 1, 1000),
	L(carrier_rate_v4, "SHIPTRACK_CARRIER_RATE_V4", "10", 1, 1000),
	L(carrier_timeout, "SHIPTRACK_CARRIER_TIMEOUT", "30", 1, 600),
	L(poll_concurrency, "SHIPTRACK_POLL_CONCURRENCY", "4", 1, 32),
	L(poll_interval, "SHIPTRACK_POLL_INTERVAL", "900", 10, 86400),
	L(reconcile_hours, "SHIPTRACK_RECONCILE_HOURS", "24", 1, 24 * 90),
	L(poll_sync_margin, "SHIPTRACK_POLL_SYNC_MARGIN", "300", 0, 86400),
	L(poll_max_pages, "SHIPTRACK_POLL_MAX_PAGES", "1000", 1, 1000000),
	S(rye_api_key, "SHIPTRACK_RYE_API_KEY", NULL, CREDENTIAL),
	S(rye_api_url, "SHIPTRACK_RYE_API_URL", "https://api.rye.com", 0),
	S(rye_graphql_url, "SHIPTRACK_RYE_GRAPHQL_URL",
	    "https://graphql.api.rye.com/v1/query", 0),
	S(rye_auth_scheme, "SHIPTRACK_RYE_AUTH_SCHEME", "Bearer", 0),
	L(rye_rate, "SHIPTRACK_RYE_RATE", "10", 1, 100),
	L(rye_resync_hours, "SHIPTRACK_RYE_RESYNC_HOURS", "24", 1, 24 * 90),
	L(max_body, "SHIPTRACK_MAX_BODY", "1048576", 1, 64L * 1024 * 1024),
	{ "durability", "SHIPTRACK_DURABILITY", K_DURABILITY,
	    offsetof(struct conf, durability), "full", 0, 0, 0 },
	S(cors_origin, "SHIPTRACK_CORS_ORIGIN", NULL, ORIGIN),
	S(notify_url, "SHIPTRACK_NOTIFY_URL", NULL, 0),
	S(notify_secret, "SHIPTRACK_NOTIFY_SECRET", NULL, SECRET),
	S(smtp_url, "SHIPTRACK_SMTP_URL", NULL, 0),
	S(smtp_user, "SHIPTRACK_SMTP_USER", NULL, 0),
	S(smtp_password, "SHIPTRACK_SMTP_PASSWORD", NULL, CREDENTIAL),
	L(smtp_allow_plaintext_auth, "SHIPTRACK_SMTP_ALLOW_PLAINTEXT_AUTH", "0", 0, 1),
	S(mail_from, "SHIPTRACK_MAIL_FROM", NULL, 0),
	L(notify_give_up_hours, "SHIPTRACK_NOTIFY_GIVE_UP_HOURS", "48", 1, 24 * 365),
	L(notify_lease_seconds, "SHIPTRACK_NOTIFY_LEASE_SECONDS", "300", 1, 86400),
	L(notify_timeout, "SHIPTRACK_NOTIFY_TIMEOUT", "20", 1, 600),
	L(notify_retry_seconds, "SHIPTRACK_NOTIFY_RETRY_SECONDS", "60", 1, 86400),
	L(busy_timeout, "SHIPTRACK_BUSY_TIMEOUT", "5000", 0, 600000),
	L(read_timeout, "SHIPTRACK_READ_TIMEOUT", "10", 1, 3600),
	L(threads, "SHIPTRACK_THREADS", "16", 1, 256),
	L(view_cache, "SHIPTRACK_VIEW_CACHE", "128", 0, 65536),
	L(lookup_max_failures, "SHIPTRACK_LOOKUP_MAX_FAILURES", "10", 1, 100000),
	L(lookup_window_seconds, "SHIPTRACK_LOOKUP_WINDOW_SECONDS", "3600", 1, 7 * 86400),
	S(log_level, "SHIPTRACK_LOG_LEVEL", "info", 0),
	S(public_url, "SHIPTRACK_PUBLIC_URL", NULL, 0),
	L(stale_days, "SHIPTRACK_STALE_DAYS", "7", 1, 365),
	S(stale_rules, "SHIPTRACK_STALE_RULES", STALE_RULES_DEFAULT, 0),
	S(default_locale, "SHIPTRACK_DEFAULT_LOCALE", I18N_FALLBACK, 0),
};
#define NKEYS (sizeof(keys) / sizeof(keys[0]))

const char *
conf_default_path(void)
{
	return SYSCONFDIR "/shiptrack.conf";
}

static const struct conf_key *
find_key(const char *name)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (strcmp(keys[i].name, name) == 0)
			return &keys[i];
	return NULL;
}

/* The bounds, as text for the messages. */
#define TEXT_OF(n) #n
#define NUMBER_TEXT(n) TEXT_OF(n)
#define MIN_TEXT NUMBER_TEXT(CONF_SECRET_MIN)
#define MAX_TEXT NUMBER_TEXT(CONF_ORIGIN_MAX)

/*
 * A secret guessable by brute force is no door: every blank-separated
 * item of a SECRETS list, or the whole value of a SECRET, must have
 * CONF_SECRET_MIN bytes.  The message names the rule, never the value
 * or its length.
 */
static const char *
secret_problem(const struct conf_key *k, const char *v)
{
	if (!(k->flags & F_LIST))
		return strlen(v) < CONF_SECRET_MIN ? "shorter than " MIN_TEXT
		    " bytes: use a random value of at least " MIN_TEXT " bytes" : NULL;
	for (v += strspn(v, " \t"); *v != '\0'; v += strspn(v, " \t")) {
		size_t len = strcspn(v, " \t");
		if (len < CONF_SECRET_MIN)
			return "a secret in the list is shorter than " MIN_TEXT
			    " bytes: use random values of at least " MIN_TEXT " bytes each";
		v += len;
	}
	return NULL;
}

/* "[v6]" or a lower-case name or IPv4 address; returns what follows, or NULL. */
static const char *
origin_host_end(const char *h)
{
	size_t n;

	if (*h == '[') {
		n = strspn(h + 1, "0123456789abcdef:.");
		return n > 0 && h[n + 1] == ']' ? h + n + 2 : NULL;
	}
	n = strspn(h, "abcdefghijklmnopqrstuvwxyz0123456789.-");
	return n > 0 ? h + n : NULL;
}

/*
 * cors_origin is echoed in Access-Control-Allow-Origin, which a browser
 * compares byte for byte with the page's serialised origin (RFC 6454):
 * "*", or scheme://host[:port] with a lower-case host, no default port
 * and nothing after it.  Anything else would never match (or would not
 * fit in the answer's headers), so it is refused at start-up.
 */
static const char *
origin_problem(const char *v)
{
	static const char *const bad = "must be * or an origin, http(s)://host[:port]:"
	    " a lower-case host, no default port, no path (not even a trailing /)";
	const char *h, *p, *def;
	size_t digits;

	if (strcmp(v, "*") == 0)
		return NULL;
	if (strlen(v) > CONF_ORIGIN_MAX)
		return "longer than " MAX_TEXT " bytes";
	if (strncmp(v, "https://", 8) == 0)
		h = v + 8, def = "443";
	else if (strncmp(v, "http://", 7) == 0)
		h = v + 7, def = "80";
	else
		return bad;
	if ((p = origin_host_end(h)) == NULL)
		return bad;
	if (*p == ':') {
		long port;
		digits = strspn(p + 1, "0123456789");
		if (digits == 0 || digits > 5 || p[1] == '0' ||
		    num_parse_long(p + 1, 1, 65535, &port) < 0 ||
		    strcmp(p + 1, def) == 0)
			return bad;
		p += 1 + digits;
	}
	return *p == '\0' ? NULL : bad;
}

/* Set one key from text; returns 0 or -1 with a reason in why. */
static int
set_key(struct conf *c, const struct conf_key *k, const char *value,
    const char **why)
{
	char *base = (char *)c + k->offset;

	switch (k->kind) {
	case K_STRING: {
		char **slot = (char **)(void *)base;
		/* A CR or NUL-ish byte could end up in a header or a log line. */
		if (!text_printable(value)) {
			*why = "contains a control character";
			return -1;
		}
		if (*value != '\0' && (k->flags & F_MIN_LEN) &&
		    (*why = secret_problem(k, value)) != NULL)
			return -1;
		if (*value != '\0' && (k->flags & F_ORIGIN) &&
		    (*why = origin_problem(value)) != NULL)
			return -1;
		free(*slot);
		*slot = NULL;
		if (*value != '\0' && (*slot = strdup(value)) == NULL) {
			*why = "out of memory";
			return -1;
		}
		return 0;
	}
	case K_LONG:
		if (num_parse_long(value, k->min, k->max,
		    (long *)(void *)base) < 0) {
			*why = "not a whole number in range";
			return -1;
		}
		return 0;
	case K_DURABILITY:
		if (strcmp(value, "full") == 0)
			c->durability = DURABILITY_FULL;
		else if (strcmp(value, "normal") == 0)
			c->durability = DURABILITY_NORMAL;
		else {
			*why = "must be 'full' or 'normal'";
			return -1;
		}
		return 0;
	}
	*why = "internal error";
	return -1;
}

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

/* One line of the file; lineno for messages. */
static int
parse_line(struct conf *c, const char *file, int lineno, char *line,
    char *err, size_t errsz)
{
	const struct conf_key *k;
	const char *why = NULL;
	char *eq, *key, *value, *p = trim(line);

	if (*p == '\0' || *p == '#')
		return 0;
	if ((eq = strchr(p, '=')) == NULL) {
		snprintf(err, errsz, "%s:%d: expected 'key = value'", file, lineno);
		return -1;
	}
	*eq = '\0';
	key = trim(p);
	/*
	 * Echo the key only when it looks like one: a mistyped separator
	 * ("webhook_secret: whsec_...=") would otherwise put a secret in
	 * the error message, and from there in the log.  Keys may hold a
	 * digit (webhook_secret_v2), but an unknown one that does is not
	 * echoed: a secret alone on a line ("whsec9k2...=") would be one.
	 */
	if (key[strspn(key, KEY_LETTERS "0123456789")] != '\0' || strlen(key) > 40) {
		snprintf(err, errsz, "%s:%d: expected 'key = value'", file, lineno);
		return -1;
	}
	if ((k = find_key(key)) == NULL) {
		if (key[strspn(key, KEY_LETTERS)] == '\0')
			snprintf(err, errsz, "%s:%d: unknown key '%.64s'", file, lineno, key);
		else
			snprintf(err, errsz, "%s:%d: unknown key", file, lineno);
		return -1;
	}
	value = trim(eq + 1);
	if (set_key(c, k, value, &why) < 0) {
		snprintf(err, errsz, "%s:%d: %s: %s", file, lineno, k->name, why);
		return -1;
	}
	if ((k->flags & F_CREDENTIAL) && *value != '\0')
		c->source_has_secret = true;
	return 0;
}

static int
read_file(struct conf *c, const char *file, bool must_exist, char *err,
    size_t errsz)
{
	char line[4096];
	int lineno = 0, rc = 0;
	FILE *f;

	if ((f = fopen(file, "r")) == NULL) {
		if (!must_exist && errno == ENOENT)
			return 0;
		snprintf(err, errsz, "%s: %s", file, strerror(errno));
		return -1;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errsz, "%s:%d: line too long", file, lineno);
			rc = -1;
		} else
			rc = parse_line(c, file, lineno, line, err, errsz);
	}
	if (rc == 0 && ferror(f)) {
		snprintf(err, errsz, "%s: read error", file);
		rc = -1;
	}
	fclose(f);
	if (rc == 0 && (c->source = strdup(file)) == NULL)
		rc = -1;
	return rc;
}

/*
 * Environment values are trimmed like the file's, so SHIPTRACK_API_TOKEN=" "
 * is unset, not a one-blank token that "Bearer  " would match.
 */
static int
apply_env(struct conf *c, char *err, size_t errsz)
{
	for (size_t i = 0; i < NKEYS; i++) {
		const char *v = getenv(keys[i].env), *why = "out of memory";
		char *copy = NULL;
		int rc = 0;

		if (v == NULL)
			continue;
		if ((copy = strdup(v)) == NULL ||
		    set_key(c, &keys[i], trim(copy), &why) < 0) {
			snprintf(err, errsz, "environment %s (%s): %s", keys[i].env,
			    keys[i].name, why);
			rc = -1;
		}
		free(copy);
		if (rc < 0)
			return -1;
	}
	return 0;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errsz)
{
	const char *why = NULL;
	bool explicit = true;
	enum log_level level;

	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].def != NULL && set_key(c, &keys[i], keys[i].def, &why) < 0) {
			snprintf(err, errsz, "default for %s: %s", keys[i].name, why);
			return -1;
		}
	if (path == NULL && (path = getenv("SHIPTRACK_CONFIG")) == NULL) {
		path = conf_default_path();
		explicit = false;
	}
	if (read_file(c, path, explicit, err, errsz) < 0 ||
	    apply_env(c, err, errsz) < 0) {
		conf_free(c);
		return -1;
	}
	if (c->database == NULL) {
		snprintf(err, errsz, "database: must not be empty");
		conf_free(c);
		return -1;
	}
	if (stale_rules_init(&c->stale, c->stale_days, c->stale_rules) < 0) {
		snprintf(err, errsz, "stale_rules: expected 'Tag=days ...' with AfterShip tags");
		conf_free(c);
		return -1;
	}
	/* Gen 1 always authorises with Basic; gen 2's docs show both. */
	if (c->rye_auth_scheme == NULL || (strcmp(c->rye_auth_scheme, "Bearer") != 0 &&
	    strcmp(c->rye_auth_scheme, "Basic") != 0)) {
		snprintf(err, errsz, "rye_auth_scheme: must be Bearer or Basic");
		conf_free(c);
		return -1;
	}
	if (c->log_level != NULL && log_parse_level(c->log_level, &level) < 0) {
		snprintf(err, errsz, "log_level: must be error, warning, info or debug");
		conf_free(c);
		return -1;
	}
	/* The page and the e-mails fall back to it: it must have a catalog. */
	if (c->default_locale == NULL || !i18n_supported(c->default_locale)) {
		snprintf(err, errsz, "default_locale: must be one of %s", i18n_languages());
		conf_free(c);
		return -1;
	}
	return 0;
}

void
conf_free(struct conf *c)
{
	for (size_t i = 0; i < NKEYS; i++)
		if (keys[i].kind == K_STRING) {
			char **slot = (char **)(void *)((char *)c + keys[i].offset);
			free(*slot);
			*slot = NULL;
		}
	free(c->source);
	c->source = NULL;
}
