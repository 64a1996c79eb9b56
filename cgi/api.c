/*
 * api.fcgi: the JSON status API, read-only over the shared database.
 *
 * main() is: load config, open the store read-only, serve.  handle() is
 * a few guards and one dispatch through the route table: split PATH_INFO
 * into segments, find the route whose pattern matches ("*" takes one
 * segment), check its method (405 with Allow), its audience (operator
 * routes need the bearer token), then call its handler.  Every answer
 * goes through send_cached(), which adds the ETag and honours
 * If-None-Match, and the route's Cache-Control.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app.h"
#include "http.h"
#include "i18n.h"
#include "event.h"
#include "log.h"
#include "lookup.h"
#include "notify.h"
#include "promtext.h"
#include "query.h"
#include "sig.h"
#include "stats.h"
#include "store_facts.h"
#include "store_outbox.h"
#include "timefmt.h"
#include "urlpath.h"
#include "view.h"
#include "viewcache.h"

#define MAX_SEGMENTS 6
#define MAX_SEGMENT 256

enum audience { ANYONE, OPERATOR };

struct call {
	struct http_req *req;
	struct app *app;
	const char *seg[MAX_SEGMENTS];
	size_t nseg;
	const char *cache;	/* Cache-Control for this route */
	struct query q;
};

typedef void (*route_fn)(struct call *c);

static void route_health(struct call *c);
static void route_track(struct call *c);
static void route_order(struct call *c);
static void route_orders(struct call *c);
static void route_stats(struct call *c);
static void route_metrics(struct call *c);
static void route_contact(struct call *c);
static void route_lookup(struct call *c);
static void route_settings(struct call *c);

static const struct route {
	const char *pattern[MAX_SEGMENTS];
	const char *method;
	enum audience who;
	route_fn fn;
} routes[] = {
	{ { "v1", "health" }, "GET", ANYONE, route_health },
	{ { "v1", "track", "*" }, "GET", ANYONE, route_track },
	{ { "v1", "orders" }, "GET", OPERATOR, route_orders },
	{ { "v1", "orders", "*" }, "GET", OPERATOR, route_order },
	{ { "v1", "stats" }, "GET", OPERATOR, route_stats },
	{ { "v1", "metrics" }, "GET", OPERATOR, route_metrics },
	{ { "v1", "orders", "*", "contact" }, "PUT", OPERATOR, route_contact },
	{ { "v1", "lookup" }, "POST", ANYONE, route_lookup },
	{ { "v1", "settings" }, "GET", ANYONE, route_settings },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const char *const cache_operator = "no-store";
static const char *const cache_public = "no-cache";
/* The page's settings change only with the configuration. */
static const char *const cache_settings = "public, max-age=300";
/* Short: a shopper reloading sees news within a minute; private: per key. */
static const char *const cache_shopper = "private, max-age=30";

#define LIST_DEFAULT 50
#define LIST_MAX 200
#define CONTACT_BODY_MAX 1024
#define LOOKUP_BODY_MAX 1024
#define METRICS_BODY_MAX (4u << 20)

/*
 * The API reads through the read-only handle app_store() gives; the one
 * route that writes (contact) opens its own read-write handle on first
 * use and keeps it for the life of the process (one request at a time:
 * this program serves without threads).
 */
static struct store *writer;

/* Rendered shopper views (viewcache.h), made in main(). */
static struct viewcache *views;

/* Strong ETag: the first 16 bytes of SHA-256 of the body, hex. */
static bool
etag_of(const char *body, size_t len, char out[40])
{
	struct sig_part part = { body, len };
	unsigned char md[SIG_MAC_LEN];

	if (!sig_sha256(&part, 1, md))
		return false;
	out[0] = '"';
	sig_hex_encode(md, 16, out + 1);
	out[33] = '"';
	out[34] = '\0';
	return true;
}

/* Does If-None-Match (a list, or "*") name this ETag? */
static bool
etag_matches(const char *inm, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = inm;

	if (inm == NULL)
		return false;
	while (*p != '\0') {
		size_t len;
		p += strspn(p, " \t,");
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		len = strcspn(p, " \t,");
		if ((len == 1 && *p == '*') || (len == elen && strncmp(p, etag, len) == 0))
			return true;
		p += len;
	}
	return false;
}

/*
 * Header buffers.  An answer's headers are the fixed ones below (under
 * 200 bytes), cors_origin (at most CONF_ORIGIN_MAX: conf.c refuses a
 * longer one at start-up) and one route's further lines (at most
 * MORE_MAX), so they always fit in HTTP_EXTRA_MAX; common_headers()
 * still checks, because a cut header set loses the blank line that ends
 * it and corrupts the answer.
 */
#define MORE_MAX 256
_Static_assert(200 + CONF_ORIGIN_MAX + MORE_MAX <= HTTP_EXTRA_MAX,
    "the largest legal header set must fit in HTTP_EXTRA_MAX");

/* snprintf's result n fitted in size bytes; else logged and answered 500. */
static bool
header_fits(struct call *c, int n, size_t size)
{
	if (n >= 0 && (size_t)n < size)
		return true;
	log_error("answer headers do not fit in %zu bytes: answered 500", size);
	http_send_error(c->req, 500, "internal", "the answer could not be made", NULL);
	return false;
}

/* The headers every answer carries, then more, into out; false if answered 500. */
static bool
common_headers(struct call *c, char *out, size_t outsz, const char *more)
{
	const char *origin = c->app->conf_ok ? c->app->conf.cors_origin : NULL;

	return header_fits(c, snprintf(out, outsz, "Cache-Control: %s\r\n"
	    "X-Content-Type-Options: nosniff\r\n%s%s%s%s", c->cache,
	    origin ? "Access-Control-Allow-Origin: " : "", origin ? origin : "",
	    origin ? "\r\nAccess-Control-Expose-Headers: ETag\r\nVary: Origin\r\n" : "",
	    more ? more : ""), outsz);
}

/* An answer with its ETag, or 304 when the client has it already. */
static void
send_body(struct call *c, int status, const char *body, size_t len,
    const char *etag)
{
	char head[HTTP_EXTRA_MAX], more[64];

	if (!header_fits(c, snprintf(more, sizeof(more), "ETag: %s\r\n", etag),
	    sizeof(more)) || !common_headers(c, head, sizeof(head), more))
		return;
	if (status == 200 &&
	    etag_matches(http_param(c->req, "HTTP_IF_NONE_MATCH"), etag))
		http_send(c->req, 304, NULL, head, NULL, 0);
	else
		http_send(c->req, status, "application/json", head, body, len);
}

static void send_unavailable(struct call *c);

static void
send_cached(struct call *c, int status, json_object *obj)
{
	char etag[40];
	size_t len;
	const char *body = http_json_string(obj, &len);

	if (etag_of(body, len, etag))
		send_body(c, status, body, len, etag);
	else
		send_unavailable(c);
	json_object_put(obj);
}

static void
send_error(struct call *c, int status, const char *code, const char *msg,
    const char *more)
{
	char head[HTTP_EXTRA_MAX];

	if (common_headers(c, head, sizeof(head), more))
		http_send_error(c->req, status, code, msg, head);
}

static void
send_unavailable(struct call *c)
{
	send_error(c, 503, "unavailable", "the database cannot be read; retry later",
	    "Retry-After: 5\r\n");
}

static void
route_health(struct call *c)
{
	struct store *st = app_store(c->app);
	json_object *o = json_object_new_object();
	bool ok = st != NULL && store_schema_version(st) == store_schema_target();

	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "version", json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "database", json_object_new_string(
	    ok ? "ok" : "unavailable"));
	if (!ok) {
		/* Also the error shape every other failure has. */
		json_object_object_add(o, "error", json_object_new_string("unavailable"));
		json_object_object_add(o, "message", json_object_new_string(
		    "the database cannot be read"));
	}
	send_cached(c, ok ? 200 : 503, o);
}

/*
 * GET /v1/settings: what the static page cannot know by itself, the
 * language to fall back to when the browser's are not in a catalog
 * (default_locale, as its catalog's code: "pt-BR" -> "pt").  No database.
 */
static void
route_settings(struct call *c)
{
	json_object *o = json_object_new_object();
	const char *lang = c->app->conf_ok ? i18n_lang(c->app->conf.default_locale) : NULL;

	json_object_object_add(o, "defaultLocale",
	    json_object_new_string(lang != NULL ? lang : I18N_FALLBACK));
	c->cache = cache_settings;
	send_cached(c, 200, o);
}

static void
route_order(struct call *c)
{
	struct store *st = app_store(c->app);
	json_object *o = NULL;
	enum store_rc rc;

	if (st == NULL) {
		send_unavailable(c);
		return;
	}
	rc = view_order(st, c->seg[2], VIEW_OPERATOR, &o);
	if (rc == STORE_NONE)
		send_error(c, 404, "not_found", "no such order", NULL);
	else if (rc != STORE_OK)
		send_unavailable(c);
	else
		send_cached(c, 200, o);
}

static void
bad_parameter(struct call *c, const char *msg)
{
	send_error(c, 400, "bad_parameter", msg, NULL);
}

/*
 * Shopper lookup.  The key is checked before the database is asked, and
 * a wrong key and an unknown order get the same bytes (NO_MATCH),
 * so the answer tells nothing about which order ids exist.
 */
#define NO_MATCH "no order matches that order number and key"

/* The shopper view from the cache, if the database is as it was then. */
static bool
send_kept_view(struct call *c, struct store *st)
{
	int64_t version = store_change_counter(st);
	char etag[VIEWCACHE_ETAG_LEN], *body = NULL;
	size_t len = 0;

	if (version < 0 || viewcache_get(views, c->seg[2], version,
	    timefmt_now_ms(), &body, &len, etag) != 1)
		return false;
	send_body(c, 200, body, len, etag);
	free(body);
	return true;
}

/*
 * Render the shopper view in one read transaction (one snapshot of the
 * order), keep it with that snapshot's change counter, and send it.
 */
static void
send_new_view(struct call *c, struct store *st)
{
	int64_t now = timefmt_now_ms(), version = -1;
	json_object *o = NULL;
	enum store_rc rc;
	char etag[40];
	const char *body;
	size_t len;

	if ((rc = store_read_begin(st)) == STORE_OK) {
		version = store_change_counter(st);
		rc = view_order(st, c->seg[2], VIEW_SHOPPER, &o);
		store_read_end(st);
	}
	if (rc == STORE_NONE) {
		send_error(c, 404, "not_found", NO_MATCH, NULL);
		return;
	}
	if (rc != STORE_OK) {
		send_unavailable(c);
		return;
	}
	body = http_json_string(o, &len);
	if (!etag_of(body, len, etag))
		send_unavailable(c);
	else {
		if (version >= 0)
			viewcache_put(views, c->seg[2], version, now, body, len, etag);
		send_body(c, 200, body, len, etag);
	}
	json_object_put(o);
}

static void
route_track(struct call *c)
{
	const char *secret = c->app->conf_ok ? c->app->conf.lookup_secret : NULL;
	const char *key = query_get(&c->q, "key");
	char expected[SIG_LOOKUP_KEY_LEN + 1];
	struct store *st;

	c->cache = cache_shopper;
	if (secret == NULL) {
		send_error(c, 403, "forbidden", "order tracking is not enabled here", NULL);
		return;
	}
	if (key == NULL || *key == '\0') {
		bad_parameter(c, "the lookup key (key=) is required");
		return;
	}
	sig_lookup_key(secret, c->seg[2], expected);
	if (!sig_lookup_key_equal(key, expected))
		send_error(c, 404, "not_found", NO_MATCH, NULL);
	else if ((st = app_store(c->app)) == NULL)
		send_unavailable(c);
	else if (!send_kept_view(c, st))
		send_new_view(c, st);
}

/* Cursor: base64url of "<createdAt ms>.<order id>", opaque to clients. */
static void
cursor_encode(int64_t ms, const char *id, char *out, size_t outsz)
{
	char raw[MAX_SEGMENT + 32];
	int n = snprintf(raw, sizeof(raw), "%lld.%s", (long long)ms, id);

	if (n < 0 || (size_t)n >= sizeof(raw) ||
	    sig_b64_encode((const unsigned char *)raw, (size_t)n, out, outsz, true) == 0)
		out[0] = '\0';
}

static int
cursor_decode(const char *cur, struct order_filter *f, char *idbuf, size_t idsz)
{
	unsigned char raw[MAX_SEGMENT + 32];
	char num[24], *dot;
	size_t len;
	long v;

	if (strlen(cur) > 400 || sig_b64url_decode(cur, raw, sizeof(raw) - 1, &len) < 0)
		return -1;
	raw[len] = '\0';
	if (memchr(raw, '\0', len) != NULL || (dot = strchr((char *)raw, '.')) == NULL ||
	    (size_t)(dot - (char *)raw) >= sizeof(num) || strlen(dot + 1) >= idsz ||
	    dot[1] == '\0')
		return -1;
	memcpy(num, raw, (size_t)(dot - (char *)raw));
	num[dot - (char *)raw] = '\0';
	if (conf_parse_long(num, 0, 0x7fffffffffffffffL, &v) < 0)
		return -1;
	memcpy(idbuf, dot + 1, strlen(dot + 1) + 1);
	f->has_cursor = true;
	f->cursor_ms = v;
	f->cursor_id = idbuf;
	return 0;
}

static int
list_filter(struct call *c, struct order_filter *f, char *idbuf, size_t idsz)
{
	const char *v;
	enum order_status status;
	enum order_stage stage;
	long limit = LIST_DEFAULT;

	memset(f, 0, sizeof(*f));
	if ((v = query_get(&c->q, "status")) != NULL && *v != '\0') {
		/* Rye adds statuses (ACTION_REQUIRED, ...): any upper-case word. */
		if (order_status_parse(v, &status) < 0 && (strlen(v) > ORDER_STATUS_MAX ||
		    v[strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")] != '\0'))
			return bad_parameter(c, "status: not an order status"), -1;
		f->status = v;
	}
	if ((v = query_get(&c->q, "stage")) != NULL && *v != '\0') {
		if (order_stage_parse(v, &stage) < 0)
			return bad_parameter(c, "stage: not a stage"), -1;
		f->stage = v;
	}
	if ((v = query_get(&c->q, "stale")) != NULL && *v != '\0') {
		if (strcmp(v, "1") != 0 && strcmp(v, "0") != 0)
			return bad_parameter(c, "stale: must be 1 or 0"), -1;
		f->stale = *v == '1';
	}
	if ((v = query_get(&c->q, "limit")) != NULL &&
	    conf_parse_long(v, 1, LIST_MAX, &limit) < 0)
		return bad_parameter(c, "limit: must be 1 to 200"), -1;
	if ((v = query_get(&c->q, "cursor")) != NULL && *v != '\0' &&
	    cursor_decode(v, f, idbuf, idsz) < 0)
		return bad_parameter(c, "cursor: not a cursor this API gave out"), -1;
	f->limit = (int)limit + 1;	/* one more tells whether a next page exists */
	f->now_ms = timefmt_now_ms();
	return 0;
}

struct page {
	char *ids[LIST_MAX + 1];
	int64_t ms[LIST_MAX + 1];
	size_t n;
};

static int
page_add(void *arg, const char *id, int64_t ms)
{
	struct page *p = arg;

	if (p->n == LIST_MAX + 1 || (p->ids[p->n] = strdup(id)) == NULL)
		return -1;
	p->ms[p->n++] = ms;
	return 0;
}

static void
route_orders(struct call *c)
{
	struct store *st = app_store(c->app);
	struct order_filter f;
	struct page p = { .n = 0 };
	char idbuf[MAX_SEGMENT + 1], next[512] = "";
	json_object *o, *arr;
	enum store_rc rc;
	size_t shown;

	if (list_filter(c, &f, idbuf, sizeof(idbuf)) < 0)
		return;
	if (st == NULL || (rc = store_orders_list(st, &f, page_add, &p)) != STORE_OK) {
		for (size_t i = 0; i < p.n; i++)
			free(p.ids[i]);
		send_unavailable(c);
		return;
	}
	shown = p.n < (size_t)f.limit ? p.n : (size_t)f.limit - 1;
	if (p.n > shown)
		cursor_encode(p.ms[shown - 1], p.ids[shown - 1], next, sizeof(next));
	o = json_object_new_object();
	arr = json_object_new_array();
	for (size_t i = 0; i < shown && rc == STORE_OK; i++) {
		json_object *v = NULL;
		rc = view_order(st, p.ids[i], VIEW_SUMMARY, &v);
		if (rc == STORE_OK)
			json_object_array_add(arr, v);
		else if (rc == STORE_NONE)	/* gone since the list: skip */
			rc = STORE_OK;
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.ids[i]);
	json_object_object_add(o, "orders", arr);
	json_object_object_add(o, "nextCursor", next[0] ? json_object_new_string(next) : NULL);
	if (rc != STORE_OK) {
		json_object_put(o);
		send_unavailable(c);
		return;
	}
	send_cached(c, 200, o);
}

static void
route_stats(struct call *c)
{
	struct store *st = app_store(c->app);
	json_object *o = NULL;

	if (st == NULL || stats_gather(st, &c->app->conf, timefmt_now_ms(), &o) != STORE_OK)
		send_unavailable(c);
	else
		send_cached(c, 200, o);
}

/* Prometheus scrapes: the text format, never cached, no ETag. */
static void
route_metrics(struct call *c)
{
	struct store *st = app_store(c->app);
	char head[1024];
	struct buf b;

	buf_init(&b, METRICS_BODY_MAX);
	if (st == NULL || stats_metrics(st, &c->app->conf, timefmt_now_ms(), &b) != STORE_OK)
		send_unavailable(c);
	else {
		common_headers(c, head, sizeof(head), NULL);
		http_send(c->req, 200, PROMTEXT_CONTENT_TYPE, head, b.data, b.len);
	}
	buf_free(&b);
}

static struct store *
writer_store(struct call *c)
{
	const struct conf *cf = &c->app->conf;
	char err[512];

	if (writer == NULL && c->app->conf_ok &&
	    store_open(&writer, cf->database, STORE_READWRITE, cf->durability,
	    cf->busy_timeout, err, sizeof(err)) < 0)
		log_error("%s", err);
	return writer;
}

/* The body, read within max bytes; false once answered 4xx. */
static bool
read_body(struct call *c, struct buf *b, size_t max)
{
	switch (http_read_body(c->req, max, b)) {
	case BODY_OK:
		return true;
	case BODY_TOO_LARGE:
		send_error(c, 413, "payload_too_large", "the body is too large", NULL);
		break;
	case BODY_TIMEOUT:
		send_error(c, 408, "request_timeout", "the body did not arrive in time", NULL);
		break;
	default:
		send_error(c, 400, "bad_request", "the body could not be read", NULL);
		break;
	}
	return false;
}

/* One key of the body into change; NULL, or why it is refused (*code). */
static const char *
contact_field(const char *key, json_object *v, struct facts_change *change,
    const char **code)
{
	enum fact f;
	const char *s;

	for (f = 0; f < FACT__MAX; f++)
		if (f != FACT_COUNTRY && strcmp(key, fact_json_name(f)) == 0)
			break;
	*code = "invalid_json";		/* the body's shape is wrong */
	if (f == FACT__MAX)
		return "unknown key (expected email, orderNumber, postalCode, locale)";
	change->set[f] = true;
	if (v == NULL)
		return NULL;		/* null clears the operator's value */
	if (!json_object_is_type(v, json_type_string))
		return "each value is a string or null";
	*code = "invalid_field";	/* a value is wrong */
	if (strlen(s = json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
		if (f == FACT_EMAIL)
			*code = "invalid_email";
		return "a value holds a NUL byte";
	}
	change->v[f] = s;
	if (f == FACT_EMAIL && !notify_address_ok(s)) {
		*code = "invalid_email";
		return "not a plain e-mail address (one @, printable ASCII, no"
		    " spaces, angle brackets, quotes or commas)";
	}
	if (f != FACT_EMAIL && !facts_value_ok(f, s))
		return f == FACT_LOCALE ? "locale is a language tag such as de or pt-BR" :
		    "orderNumber (64 bytes) or postalCode (16 bytes) too long or not printable";
	return NULL;
}

/*
 * The body {"email", "orderNumber", "postalCode", "locale"}, each
 * optional, at least one, a string or null (null clears the operator's
 * value, so Rye's shows again).  False once answered 400.
 */
static bool
contact_change(struct call *c, json_object *root, struct facts_change *change)
{
	const char *why = NULL, *code = "invalid_field";

	if (root == NULL || !json_object_is_type(root, json_type_object) ||
	    json_object_object_length(root) == 0) {
		send_error(c, 400, "invalid_json", "expected an object with email,"
		    " orderNumber, postalCode or locale", NULL);
		return false;
	}
	json_object_object_foreach(root, key, v) {
		if ((why = contact_field(key, v, change, &code)) != NULL)
			break;
	}
	if (why != NULL) {
		send_error(c, 400, code, why, NULL);
		return false;
	}
	return true;
}

/* PUT /v1/orders/{id}/contact: the buyer's contact and lookup data. */
static void
route_contact(struct call *c)
{
	struct facts_change change = { .set = { false } };
	json_object *root = NULL;
	char head[HTTP_EXTRA_MAX], now[TIMEFMT_ISO_LEN];
	struct store *st;
	enum store_rc rc;
	struct buf b;

	buf_init(&b, CONTACT_BODY_MAX);
	if (!notify_order_id_ok(c->seg[2]))
		bad_parameter(c, "not a valid order id");
	else if (read_body(c, &b, CONTACT_BODY_MAX) &&
	    contact_change(c, root = event_parse_json(b.data, b.len), &change)) {
		timefmt_iso_utc(timefmt_now_ms(), now);
		if ((st = writer_store(c)) == NULL)
			send_unavailable(c);
		else if ((rc = store_facts_change_tx(st, c->seg[2], FACTS_OPERATOR,
		    &change, now, true)) == STORE_NONE)
			send_error(c, 404, "not_found", "no such order", NULL);
		else if (rc != STORE_OK)
			send_unavailable(c);
		else if (common_headers(c, head, sizeof(head), NULL))
			http_send(c->req, 204, NULL, head, NULL, 0);
	}
	json_object_put(root);
	buf_free(&b);
}

/*
 * POST /v1/lookup: the order id and lookup key for an order number with
 * its e-mail or postal code (lookup.h).  A wrong pair and an unknown
 * number are the same 404, byte for byte; too many failures from this
 * address or for this number, 429 with Retry-After.
 */
#define LOOKUP_NO_MATCH "no order matches that order number and e-mail or postal code"

/* A string member of at most max bytes, no NUL inside; NULL otherwise. */
static const char *
body_string(json_object *root, const char *key, size_t max)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(root, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v) || strlen(s) > max)
		return NULL;
	return s;
}

/* Exactly {"orderNumber", "email"} or {"orderNumber", "postalCode"}. */
static bool
lookup_request(json_object *root, struct lookup_req *req)
{
	char norm[LOOKUP_VALUE_MAX + 1];

	if (root == NULL || !json_object_is_type(root, json_type_object) ||
	    json_object_object_length(root) != 2)
		return false;
	req->order_number = body_string(root, "orderNumber", LOOKUP_NUMBER_MAX);
	req->by = LOOKUP_EMAIL;
	if ((req->value = body_string(root, "email", LOOKUP_VALUE_MAX)) == NULL) {
		req->by = LOOKUP_POSTAL;
		req->value = body_string(root, "postalCode", LOOKUP_VALUE_MAX);
	}
	return req->order_number != NULL && *req->order_number != '\0' &&
	    req->value != NULL && lookup_normalise(req->by, req->value, norm);
}

static void
send_lookup_found(struct call *c, const char *order_id)
{
	const char *secret = c->app->conf.lookup_secret;
	char key[SIG_LOOKUP_KEY_LEN + 1];
	json_object *o = json_object_new_object();

	char head[HTTP_EXTRA_MAX];
	const char *body;
	size_t len;

	sig_lookup_key(secret, order_id, key);
	json_object_object_add(o, "order", json_object_new_string(order_id));
	json_object_object_add(o, "key", json_object_new_string(key));
	body = http_json_string(o, &len);
	/* No ETag: an answer to a POST, never revalidated. */
	if (common_headers(c, head, sizeof(head), NULL))
		http_send(c->req, 200, "application/json", head, body, len);
	json_object_put(o);
}

static void
lookup_answer(struct call *c, const struct lookup_req *req)
{
	const struct conf *cf = &c->app->conf;
	struct lookup_limits lim = { cf->lookup_secret, cf->lookup_max_failures,
	    (int64_t)cf->lookup_window_seconds * 1000 };
	char order_id[201], more[64];
	struct store *st = writer_store(c);
	enum store_rc rc;
	long retry = 1;

	if (st == NULL) {
		send_unavailable(c);
		return;
	}
	switch (lookup_run(st, req, &lim, timefmt_now_ms(), order_id, &retry, &rc)) {
	case LOOKUP_FOUND:
		send_lookup_found(c, order_id);
		break;
	case LOOKUP_NOT_FOUND:
		send_error(c, 404, "not_found", LOOKUP_NO_MATCH, NULL);
		break;
	case LOOKUP_LIMITED:
		snprintf(more, sizeof(more), "Retry-After: %ld\r\n", retry);
		send_error(c, 429, "rate_limited", "too many failed lookups; try again"
		    " later", more);
		break;
	default:
		send_unavailable(c);
		break;
	}
}

static void
route_lookup(struct call *c)
{
	const char *addr = http_param(c->req, "REMOTE_ADDR");
	struct lookup_req req = { .client = addr != NULL ? addr : "" };
	json_object *root = NULL;
	struct buf b;

	c->cache = cache_operator;	/* no-store: the answer holds a key */
	if (!c->app->conf_ok || c->app->conf.lookup_secret == NULL) {
		send_error(c, 403, "forbidden", "order tracking is not enabled here", NULL);
		return;
	}
	buf_init(&b, LOOKUP_BODY_MAX);
	if (read_body(c, &b, LOOKUP_BODY_MAX)) {
		if (!lookup_request(root = event_parse_json(b.data, b.len), &req))
			send_error(c, 400, "bad_request", "expected {\"orderNumber\","
			    " \"email\"} or {\"orderNumber\", \"postalCode\"}, strings",
			    NULL);
		else
			lookup_answer(c, &req);
	}
	json_object_put(root);
	buf_free(&b);
}

/*
 * The path's segments, each percent-decoded once (urlpath.h: from
 * REQUEST_URI where the web server's PATH_INFO would have lost an
 * encoded "/"), so an order id is one segment whatever it holds.  404 for
 * a path that is too long or cannot be routed, 400 for a malformed
 * escape or a control character; false once answered.
 */
static bool
split_path(struct call *c, char *buf, size_t bufsz)
{
	struct urlpath_vars v = { http_param(c->req, "REQUEST_URI"),
	    http_param(c->req, "SCRIPT_NAME"), http_path(c->req) };
	enum urlpath_rc rc = urlpath_split(&v, buf, bufsz, c->seg, MAX_SEGMENTS, &c->nseg);

	for (size_t i = 0; rc == URLPATH_OK && i < c->nseg; i++)
		if (strlen(c->seg[i]) > MAX_SEGMENT)
			rc = URLPATH_NOT_FOUND;
	if (rc == URLPATH_BAD)
		send_error(c, 400, "bad_parameter", "the path has a malformed %-escape"
		    " or a control character", NULL);
	else if (rc != URLPATH_OK)
		send_error(c, 404, "not_found", "no such route", NULL);
	return rc == URLPATH_OK;
}

#define TEXT_OF(n) #n
#define NUMBER_TEXT(n) TEXT_OF(n)
#define ID_MAX_TEXT NUMBER_TEXT(EVENT_MAX_ID)

/* A route's order id (its "*" segment): as bounded as ingest's. */
static bool
order_id_ok(struct call *c, const struct route *r)
{
	for (size_t i = 0; i < c->nseg; i++)
		if (strcmp(r->pattern[i], "*") == 0 && strlen(c->seg[i]) > EVENT_MAX_ID) {
			bad_parameter(c, "the order id is longer than " ID_MAX_TEXT " bytes");
			return false;
		}
	return true;
}

static bool
pattern_matches(const struct route *r, const struct call *c)
{
	size_t i;

	for (i = 0; i < MAX_SEGMENTS && r->pattern[i] != NULL; i++)
		if (i >= c->nseg || (strcmp(r->pattern[i], "*") != 0 &&
		    strcmp(r->pattern[i], c->seg[i]) != 0))
			return false;
	return i == c->nseg;
}

/* 401 unless "Authorization: Bearer <api_token>"; 403 if no token is set. */
static bool
authorised(struct call *c)
{
	const char *h = http_param(c->req, "HTTP_AUTHORIZATION");
	const char *token = c->app->conf_ok ? c->app->conf.api_token : NULL;

	if (token == NULL) {
		send_error(c, 403, "forbidden", "operator access is not configured", NULL);
		return false;
	}
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 || strlen(h) > 1024 ||
	    !sig_str_equal(h + 7, token)) {
		send_error(c, 401, "unauthorized", "a valid bearer token is required",
		    "WWW-Authenticate: Bearer realm=\"shiptrack\"\r\n");
		return false;
	}
	return true;
}

/*
 * CORS preflight for a known route: a page on cors_origin may send the
 * bearer token and If-None-Match; nothing else is allowed cross-origin.
 */
static void
preflight(struct call *c, const char *allow)
{
	char head[HTTP_EXTRA_MAX], more[MORE_MAX];
	const char *methods = allow + strlen("Allow: ");

	c->cache = cache_public;
	if (header_fits(c, snprintf(more, sizeof(more), "Access-Control-Allow-Methods: %.*s"
	    "Access-Control-Allow-Headers: Authorization, Content-Type, If-None-Match\r\n"
	    "Access-Control-Max-Age: 600\r\n", (int)strcspn(methods, "\r") + 2, methods),
	    sizeof(more)) && common_headers(c, head, sizeof(head), more))
		http_send(c->req, 204, NULL, head, NULL, 0);
}

static void
handle(struct http_req *req, void *arg)
{
	struct call c = { .req = req, .app = arg, .cache = cache_public };
	const char *method = http_method(req);
	const struct route *match = NULL;
	const char *why = NULL;
	char path[2048], allow[64] = "";

	if (!split_path(&c, path, sizeof(path)))
		return;
	for (size_t i = 0; i < NROUTES; i++) {
		if (!pattern_matches(&routes[i], &c))
			continue;
		if (strcmp(routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0))
			match = &routes[i];
		else
			snprintf(allow, sizeof(allow), "Allow: %s\r\n", routes[i].method);
	}
	if (match == NULL && allow[0] != '\0' && strcmp(method, "OPTIONS") == 0 &&
	    c.app->conf_ok && c.app->conf.cors_origin != NULL) {
		preflight(&c, allow);
		return;
	}
	if (match == NULL && allow[0] != '\0') {
		send_error(&c, 405, "method_not_allowed", "method not allowed here", allow);
		return;
	}
	if (match == NULL) {
		send_error(&c, 404, "not_found", "no such route", NULL);
		return;
	}
	if (match->who == OPERATOR) {
		c.cache = cache_operator;
		if (!authorised(&c))
			return;
	}
	if (!order_id_ok(&c, match))
		return;
	if (query_parse(http_param(req, "QUERY_STRING"), &c.q, &why) < 0) {
		bad_parameter(&c, why);
		return;
	}
	match->fn(&c);
}

int
main(int argc, char *argv[])
{
	struct app a;
	int rc;

	(void)argc;
	(void)argv;
	app_init(&a, "shiptrack-api", NULL, STORE_READONLY);
	(void)app_store(&a);
	views = viewcache_new(a.conf_ok ? (size_t)a.conf.view_cache : 0);
	rc = http_serve(handle, &a, a.conf_ok ? a.conf.read_timeout : 10);
	store_close(writer);
	viewcache_free(views);
	app_free(&a);
	return rc;
}
