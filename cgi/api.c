/*
 * api.fcgi: the JSON status API over the shared database, read-mostly:
 * every route reads through the read-only handle, and the two that
 * write (PUT /v1/orders/{id}/contact, POST /v1/lookup: its failure
 * count) go through one read-write handle, the writer (app.h), opened
 * on first use.
 *
 * main() is: load config, open the store read-only, serve.  handle() is
 * a few guards and one dispatch through the route table (at the bottom,
 * above it): find the route for the path and method (http_route.h: 404,
 * or 405 with Allow, or a CORS preflight), check its audience (operator
 * routes need the bearer token, http_auth.h), bound its order id, parse
 * the query, then call its handler.  Handlers answer through
 * http_reply.h, which adds the route's Cache-Control, the CORS lines
 * and, for JSON, the ETag (If-None-Match gives 304); errors come from
 * one table (http_error.h).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app.h"
#include "contact.h"
#include "cursor.h"
#include "http_auth.h"
#include "http_reply.h"
#include "http_route.h"
#include "i18n.h"
#include "event.h"
#include "json.h"
#include "lookup.h"
#include "num.h"
#include "promtext.h"
#include "query.h"
#include "sig.h"
#include "stats.h"
#include "timefmt.h"
#include "valid.h"
#include "view.h"
#include "viewcache.h"

enum audience { ANYONE, OPERATOR };

struct call {
	struct http_req *req;
	struct app *app;
	const struct conf *cf;	/* NULL when the configuration failed */
	struct http_path path;
	const char *order_id;	/* the route's "*" segment, if it has one */
	struct http_reply out;	/* its Cache-Control and CORS */
	struct query q;
};

#define LIST_DEFAULT 50
#define STATUS_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"
#define LIST_MAX VIEW_LIST_MAX
#define CONTACT_BODY_MAX 1024
#define LOOKUP_BODY_MAX 1024
#define METRICS_BODY_MAX (4u << 20)

/* Rendered shopper views (viewcache.h), made in main(). */
static struct viewcache *views;

/* An error answer (http_error.h); msg NULL: the table's. */
static void
fail(struct call *c, enum http_error e, const char *msg)
{
	http_reply_error(&c->out, e, msg, NULL);
}

static void
bad_parameter(struct call *c, const char *msg)
{
	fail(c, HTTP_ERR_BAD_PARAMETER, msg);
}

static void
unavailable(struct call *c)
{
	fail(c, HTTP_ERR_UNAVAILABLE, NULL);
}

static void
route_health(struct call *c)
{
	struct store *st = app_store(c->app);
	json_object *o = json_object_new_object();
	bool ok = st != NULL &&
	    store_schema_version(st) == store_schema_target();

	json_object_object_add(o, "ok", json_object_new_boolean(ok));
	json_object_object_add(o, "version",
	    json_object_new_string(PACKAGE_VERSION));
	json_object_object_add(o, "database",
	    json_object_new_string(ok ? "ok" : "unavailable"));
	if (!ok) {
		/* Also the error shape every other failure has. */
		json_object_object_add(o, "error", json_object_new_string(
		    http_error_code(HTTP_ERR_UNAVAILABLE)));
		json_object_object_add(o, "message", json_object_new_string(
		    "the database cannot be read"));
	}
	http_reply_json(&c->out, ok ? 200 : 503, o);
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
	const char *lang = c->cf ? i18n_lang(c->cf->default_locale) : NULL;

	json_object_object_add(o, "defaultLocale",
	    json_object_new_string(lang != NULL ? lang : I18N_FALLBACK));
	c->out.cache = HTTP_CACHE_CONFIG;
	http_reply_json(&c->out, 200, o);
}

static void
route_order(struct call *c)
{
	struct store *st = app_store(c->app);
	json_object *o = NULL;
	enum store_rc rc = st == NULL ? STORE_ERROR :
	    view_order(st, c->order_id, VIEW_OPERATOR, &o);

	if (rc == STORE_NONE)
		fail(c, HTTP_ERR_NOT_FOUND, "no such order");
	else if (rc != STORE_OK)
		unavailable(c);
	else
		http_reply_json(&c->out, 200, o);
}

/*
 * Shopper lookup.  The key is checked before the database is asked, and
 * a wrong key and an unknown order get the same bytes (NO_MATCH),
 * so the answer tells nothing about which order ids exist.
 */
#define NO_MATCH "no order matches that order number and key"
#define TRACKING_OFF "order tracking is not enabled here"

/* The shopper view from the cache, if the database is as it was then. */
static bool
send_kept_view(struct call *c, struct store *st)
{
	int64_t version = store_change_counter(st);
	char etag[VIEWCACHE_ETAG_LEN], *body = NULL;
	size_t len = 0;

	if (version < 0 || viewcache_get(views, c->order_id, version,
	    timefmt_now_ms(), &body, &len, etag) != 1)
		return false;
	http_reply_tagged(&c->out, 200, body, len, etag);
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
	char etag[HTTP_ETAG_LEN];
	const char *body;
	size_t len;

	if ((rc = store_read_begin(st)) == STORE_OK) {
		version = store_change_counter(st);
		rc = view_order(st, c->order_id, VIEW_SHOPPER, &o);
		store_read_end(st);
	}
	if (rc == STORE_NONE) {
		fail(c, HTTP_ERR_NOT_FOUND, NO_MATCH);
		return;
	}
	if (rc != STORE_OK) {
		unavailable(c);
		return;
	}
	body = http_json_string(o, &len);
	if (!http_etag(body, len, etag))
		unavailable(c);
	else {
		if (version >= 0)
			viewcache_put(views, c->order_id, version, now, body,
			    len, etag);
		http_reply_tagged(&c->out, 200, body, len, etag);
	}
	json_object_put(o);
}

static void
route_track(struct call *c)
{
	const char *secret = c->cf ? c->cf->lookup_secret : NULL;
	const char *key = query_get(&c->q, "key");
	char expected[SIG_LOOKUP_KEY_LEN + 1];
	struct store *st;

	c->out.cache = HTTP_CACHE_SHOPPER;
	if (secret == NULL) {
		fail(c, HTTP_ERR_FORBIDDEN, TRACKING_OFF);
		return;
	}
	if (key == NULL || *key == '\0') {
		bad_parameter(c, "the lookup key (key=) is required");
		return;
	}
	sig_lookup_key(secret, c->order_id, expected);
	if (!sig_lookup_key_equal(key, expected))
		fail(c, HTTP_ERR_NOT_FOUND, NO_MATCH);
	else if ((st = app_store(c->app)) == NULL)
		unavailable(c);
	else if (!send_kept_view(c, st))
		send_new_view(c, st);
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
		/* Rye adds statuses (ACTION_REQUIRED, ...): any such word. */
		if (order_status_parse(v, &status) < 0 &&
		    (strlen(v) > ORDER_STATUS_MAX ||
		    v[strspn(v, STATUS_CHARS)] != '\0'))
			return bad_parameter(c,
			    "status: not an order status"), -1;
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
	    num_parse_long(v, 1, LIST_MAX, &limit) < 0)
		return bad_parameter(c, "limit: must be 1 to 200"), -1;
	if ((v = query_get(&c->q, "cursor")) != NULL && *v != '\0') {
		if (!cursor_decode(v, &f->cursor_ms, idbuf, idsz))
			return bad_parameter(c,
			    "cursor: not a cursor this API gave out"), -1;
		f->has_cursor = true;
		f->cursor_id = idbuf;
	}
	f->limit = (int)limit;
	f->now_ms = timefmt_now_ms();
	return 0;
}

static void
route_orders(struct call *c)
{
	struct store *st = app_store(c->app);
	struct order_filter f;
	char idbuf[CURSOR_ID_MAX + 1];
	json_object *o = NULL;

	if (list_filter(c, &f, idbuf, sizeof(idbuf)) < 0)
		return;
	if (st == NULL || view_order_list(st, &f, &o) != STORE_OK)
		unavailable(c);
	else
		http_reply_json(&c->out, 200, o);
}

static void
route_stats(struct call *c)
{
	struct store *st = app_store(c->app);
	json_object *o = NULL;

	if (st == NULL ||
	    stats_gather(st, c->cf, timefmt_now_ms(), &o) != STORE_OK)
		unavailable(c);
	else
		http_reply_json(&c->out, 200, o);
}

/* Prometheus scrapes: the text format, never cached, no ETag. */
static void
route_metrics(struct call *c)
{
	struct store *st = app_store(c->app);
	struct buf b;

	buf_init(&b, METRICS_BODY_MAX);
	if (st == NULL ||
	    stats_metrics(st, c->cf, timefmt_now_ms(), &b) != STORE_OK)
		unavailable(c);
	else
		http_reply_plain(&c->out, 200, PROMTEXT_CONTENT_TYPE, b.data,
		    b.len);
	buf_free(&b);
}

/* The body, read within max bytes; false once answered 4xx. */
static bool
read_body(struct call *c, struct buf *b, size_t max)
{
	enum http_error e = http_read_body(c->req, max, b);

	if (e != HTTP_ERR_NONE)
		fail(c, e, NULL);
	return e == HTTP_ERR_NONE;
}

/* The change the body asks for (contact.h); false once answered 400. */
static bool
contact_change(struct call *c, json_object *root, struct facts_change *change)
{
	static const enum http_error errors[] = {
		[CONTACT_OK] = HTTP_ERR_NONE,
		[CONTACT_BAD_SHAPE] = HTTP_ERR_INVALID_JSON,
		[CONTACT_BAD_VALUE] = HTTP_ERR_INVALID_FIELD,
		[CONTACT_BAD_EMAIL] = HTTP_ERR_INVALID_EMAIL,
	};
	const char *why = NULL;
	enum contact_rc rc = contact_change_parse(root, change, &why);

	if (rc != CONTACT_OK)
		fail(c, errors[rc], why);
	return rc == CONTACT_OK;
}

/* PUT /v1/orders/{id}/contact: the buyer's contact and lookup data. */
static void
route_contact(struct call *c)
{
	struct facts_change change = { .set = { false } };
	json_object *root = NULL;
	char now[TIMEFMT_ISO_LEN];
	struct store *st;
	enum store_rc rc;
	struct buf b;

	buf_init(&b, CONTACT_BODY_MAX);
	if (!valid_order_id(c->order_id))
		bad_parameter(c, "not a valid order id");
	else if (read_body(c, &b, CONTACT_BODY_MAX) && contact_change(c,
	    root = json_parse_bounded(b.data, b.len, NULL), &change)) {
		timefmt_iso_utc(timefmt_now_ms(), now);
		if ((st = app_writer(c->app)) == NULL)
			unavailable(c);
		else if ((rc = store_facts_change_tx(st, c->order_id,
		    FACTS_OPERATOR, &change, now, true)) == STORE_NONE)
			fail(c, HTTP_ERR_NOT_FOUND, "no such order");
		else if (rc != STORE_OK)
			unavailable(c);
		else
			http_reply_plain(&c->out, 204, NULL, NULL, 0);
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
#define LOOKUP_NO_MATCH \
	"no order matches that order number and e-mail or postal code"

static void
lookup_answer(struct call *c, const struct lookup_req *req)
{
	const struct conf *cf = c->cf;
	struct lookup_limits lim = { cf->lookup_secret, cf->lookup_max_failures,
	    (int64_t)cf->lookup_window_seconds * 1000 };
	char order_id[201], key[SIG_LOOKUP_KEY_LEN + 1], more[64];
	struct store *st = app_writer(c->app);
	json_object *o;
	enum store_rc rc;
	long retry = 1;

	if (st == NULL) {
		unavailable(c);
		return;
	}
	switch (lookup_run(st, req, &lim, timefmt_now_ms(), order_id, &retry,
	    &rc)) {
	case LOOKUP_FOUND:
		sig_lookup_key(cf->lookup_secret, order_id, key);
		o = json_object_new_object();
		json_object_object_add(o, "order",
		    json_object_new_string(order_id));
		json_object_object_add(o, "key", json_object_new_string(key));
		http_reply_json(&c->out, 200, o);	/* a POST's: no ETag */
		break;
	case LOOKUP_NOT_FOUND:
		fail(c, HTTP_ERR_NOT_FOUND, LOOKUP_NO_MATCH);
		break;
	case LOOKUP_LIMITED:
		snprintf(more, sizeof(more), "Retry-After: %ld\r\n", retry);
		http_reply_error(&c->out, HTTP_ERR_RATE_LIMITED,
		    "too many failed lookups; try again later", more);
		break;
	default:
		unavailable(c);
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

	c->out.cache = HTTP_CACHE_SECRET;	/* the answer holds a key */
	if (c->cf == NULL || c->cf->lookup_secret == NULL) {
		fail(c, HTTP_ERR_FORBIDDEN, TRACKING_OFF);
		return;
	}
	buf_init(&b, LOOKUP_BODY_MAX);
	if (read_body(c, &b, LOOKUP_BODY_MAX)) {
		root = json_parse_bounded(b.data, b.len, NULL);
		if (!lookup_request_parse(root, &req))
			fail(c, HTTP_ERR_BAD_REQUEST, "expected"
			    " {\"orderNumber\", \"email\"} or"
			    " {\"orderNumber\", \"postalCode\"}, strings");
		else
			lookup_answer(c, &req);
	}
	json_object_put(root);
	buf_free(&b);
}

typedef void (*route_fn)(struct call *c);

/* A route: its path and method (http_route.h), who may call it, its handler. */
static const struct route {
	struct http_route at;
	enum audience who;
	route_fn fn;
} routes[] = {
	{ { { "v1", "health" }, "GET" }, ANYONE, route_health },
	{ { { "v1", "track", "*" }, "GET" }, ANYONE, route_track },
	{ { { "v1", "orders" }, "GET" }, OPERATOR, route_orders },
	{ { { "v1", "orders", "*" }, "GET" }, OPERATOR, route_order },
	{ { { "v1", "stats" }, "GET" }, OPERATOR, route_stats },
	{ { { "v1", "metrics" }, "GET" }, OPERATOR, route_metrics },
	{ { { "v1", "orders", "*", "contact" }, "PUT" }, OPERATOR,
	    route_contact },
	{ { { "v1", "lookup" }, "POST" }, ANYONE, route_lookup },
	{ { { "v1", "settings" }, "GET" }, ANYONE, route_settings },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

#define TEXT_OF(n) #n
#define NUMBER_TEXT(n) TEXT_OF(n)
#define ID_MAX_TEXT NUMBER_TEXT(EVENT_MAX_ID)

/* A route's order id (its "*" segment): as bounded as ingest's. */
static bool
order_id_ok(struct call *c, const struct route *r)
{
	for (size_t i = 0; i < c->path.nseg; i++) {
		if (!http_route_wildcard(&r->at, i))
			continue;
		if (strlen(c->path.seg[i]) > EVENT_MAX_ID) {
			bad_parameter(c, "the order id is longer than "
			    ID_MAX_TEXT " bytes");
			return false;
		}
		c->order_id = c->path.seg[i];
	}
	return true;
}

/* 401 unless "Authorization: Bearer <api_token>"; 403 if no token is set. */
static bool
authorised(struct call *c)
{
	const char *token = c->cf ? c->cf->api_token : NULL;
	enum http_error e = http_auth_bearer(
	    http_param(c->req, "HTTP_AUTHORIZATION"), token);

	if (e == HTTP_ERR_FORBIDDEN)
		fail(c, e, "operator access is not configured");
	else if (e != HTTP_ERR_NONE)
		http_reply_error(&c->out, e, NULL, HTTP_AUTH_CHALLENGE);
	return e == HTTP_ERR_NONE;
}

/* The route for the request, or NULL once answered 400, 404 or 405. */
static const struct route *
route_of(struct call *c, const char *method)
{
	struct http_match m;
	const char *why = NULL;
	enum http_error e = http_path_split(c->req, &c->path, &why);

	if (e == HTTP_ERR_NONE)
		e = http_route_find(routes, NROUTES, sizeof(routes[0]),
		    &c->path, method, &m);
	if (e == HTTP_ERR_NONE)
		return m.entry;
	if (e == HTTP_ERR_METHOD_NOT_ALLOWED)
		http_reply_not_allowed(&c->out, m.allow);
	else
		fail(c, e, why);
	return NULL;
}

static void
handle(struct http_req *req, void *arg)
{
	struct app *a = arg;
	struct call c = { .req = req, .app = a,
	    .cf = a->conf_ok ? &a->conf : NULL, .out = { .req = req,
	    .cache = HTTP_CACHE_ANYONE,
	    .cors_origin = a->conf_ok ? a->conf.cors_origin : NULL } };
	const struct route *match = route_of(&c, http_method(req));
	const char *why = NULL;

	if (match == NULL)
		return;
	if (match->who == OPERATOR) {
		c.out.cache = HTTP_CACHE_SECRET;
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
	viewcache_free(views);
	app_free(&a);
	return rc;
}
