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

#include "app.h"
#include "cursor.h"
#include "http.h"
#include "http_auth.h"
#include "http_reply.h"
#include "http_route.h"
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
#include "store_notify.h"
#include "timefmt.h"
#include "urlpath.h"
#include "view.h"
#include "viewcache.h"

enum audience { ANYONE, OPERATOR };

struct call {
	struct http_req *req;
	struct app *app;
	struct http_path path;
	const char *order_id;	/* the route's "*" segment, if it has one */
	struct http_reply out;	/* how it is answered: its Cache-Control, CORS */
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
	{ { { "v1", "orders", "*", "contact" }, "PUT" }, OPERATOR, route_contact },
	{ { { "v1", "lookup" }, "POST" }, ANYONE, route_lookup },
	{ { { "v1", "settings" }, "GET" }, ANYONE, route_settings },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

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

static void
bad_parameter(struct call *c, const char *msg)
{
	http_reply_error(&c->out, HTTP_ERR_BAD_PARAMETER, msg, NULL);
}

static void
unavailable(struct call *c)
{
	http_reply_error(&c->out, HTTP_ERR_UNAVAILABLE, NULL, NULL);
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
	const char *lang = c->app->conf_ok ? i18n_lang(c->app->conf.default_locale) : NULL;

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
	enum store_rc rc;

	if (st == NULL) {
		unavailable(c);
		return;
	}
	rc = view_order(st, c->order_id, VIEW_OPERATOR, &o);
	if (rc == STORE_NONE)
		http_reply_error(&c->out, HTTP_ERR_NOT_FOUND, "no such order", NULL);
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

/* The shopper view from the cache, if the database is as it was then. */
static bool
send_kept_view(struct call *c, struct store *st)
{
	int64_t version = store_data_version(st);
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
 * order), keep it with that snapshot's data_version, and send it.
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
		version = store_data_version(st);
		rc = view_order(st, c->order_id, VIEW_SHOPPER, &o);
		store_read_end(st);
	}
	if (rc == STORE_NONE) {
		http_reply_error(&c->out, HTTP_ERR_NOT_FOUND, NO_MATCH, NULL);
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
			viewcache_put(views, c->order_id, version, now, body, len, etag);
		http_reply_tagged(&c->out, 200, body, len, etag);
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

	c->out.cache = HTTP_CACHE_SHOPPER;
	if (secret == NULL) {
		http_reply_error(&c->out, HTTP_ERR_FORBIDDEN, "order tracking is not enabled here", NULL);
		return;
	}
	if (key == NULL || *key == '\0') {
		bad_parameter(c, "the lookup key (key=) is required");
		return;
	}
	sig_lookup_key(secret, c->order_id, expected);
	if (!sig_lookup_key_equal(key, expected))
		http_reply_error(&c->out, HTTP_ERR_NOT_FOUND, NO_MATCH, NULL);
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
	if ((v = query_get(&c->q, "cursor")) != NULL && *v != '\0') {
		if (!cursor_decode(v, &f->cursor_ms, idbuf, idsz))
			return bad_parameter(c, "cursor: not a cursor this API gave out"), -1;
		f->has_cursor = true;
		f->cursor_id = idbuf;
	}
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
	char idbuf[CURSOR_ID_MAX + 1], next[512] = "";
	json_object *o, *arr;
	enum store_rc rc;
	size_t shown;

	if (list_filter(c, &f, idbuf, sizeof(idbuf)) < 0)
		return;
	if (st == NULL || (rc = store_orders_list(st, &f, page_add, &p)) != STORE_OK) {
		for (size_t i = 0; i < p.n; i++)
			free(p.ids[i]);
		unavailable(c);
		return;
	}
	shown = p.n < (size_t)f.limit ? p.n : (size_t)f.limit - 1;
	if (p.n > shown)
		(void)cursor_encode(p.ms[shown - 1], p.ids[shown - 1], next, sizeof(next));
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
		unavailable(c);
		return;
	}
	http_reply_json(&c->out, 200, o);
}

static void
route_stats(struct call *c)
{
	struct store *st = app_store(c->app);
	json_object *o = NULL;

	if (st == NULL || stats_gather(st, &c->app->conf, timefmt_now_ms(), &o) != STORE_OK)
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
	if (st == NULL || stats_metrics(st, &c->app->conf, timefmt_now_ms(), &b) != STORE_OK)
		unavailable(c);
	else
		http_reply_plain(&c->out, 200, PROMTEXT_CONTENT_TYPE, b.data, b.len);
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
	enum http_error e = http_read_body(c->req, max, b);

	if (e != HTTP_ERR_NONE)
		http_reply_error(&c->out, e, NULL, NULL);
	return e == HTTP_ERR_NONE;
}

/* One key of the body into change; NULL, or why it is refused (*e). */
static const char *
contact_field(const char *key, json_object *v, struct facts_change *change,
    enum http_error *e)
{
	enum fact f;
	const char *s;

	for (f = 0; f < FACT__MAX; f++)
		if (f != FACT_COUNTRY && strcmp(key, fact_json_name(f)) == 0)
			break;
	*e = HTTP_ERR_INVALID_JSON;		/* the body's shape is wrong */
	if (f == FACT__MAX)
		return "unknown key (expected email, orderNumber, postalCode, locale)";
	change->set[f] = true;
	if (v == NULL)
		return NULL;		/* null clears the operator's value */
	if (!json_object_is_type(v, json_type_string))
		return "each value is a string or null";
	*e = HTTP_ERR_INVALID_FIELD;	/* a value is wrong */
	if (strlen(s = json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
		if (f == FACT_EMAIL)
			*e = HTTP_ERR_INVALID_EMAIL;
		return "a value holds a NUL byte";
	}
	change->v[f] = s;
	if (f == FACT_EMAIL && !notify_address_ok(s)) {
		*e = HTTP_ERR_INVALID_EMAIL;
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
	enum http_error e = HTTP_ERR_INVALID_FIELD;
	const char *why = NULL;

	if (root == NULL || !json_object_is_type(root, json_type_object) ||
	    json_object_object_length(root) == 0) {
		http_reply_error(&c->out, HTTP_ERR_INVALID_JSON, "expected an object with email,"
		    " orderNumber, postalCode or locale", NULL);
		return false;
	}
	json_object_object_foreach(root, key, v) {
		if ((why = contact_field(key, v, change, &e)) != NULL)
			break;
	}
	if (why != NULL) {
		http_reply_error(&c->out, e, why, NULL);
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
	char now[TIMEFMT_ISO_LEN];
	struct store *st;
	enum store_rc rc;
	struct buf b;

	buf_init(&b, CONTACT_BODY_MAX);
	if (!notify_order_id_ok(c->order_id))
		bad_parameter(c, "not a valid order id");
	else if (read_body(c, &b, CONTACT_BODY_MAX) &&
	    contact_change(c, root = event_parse_json(b.data, b.len), &change)) {
		timefmt_iso_utc(timefmt_now_ms(), now);
		if ((st = writer_store(c)) == NULL)
			unavailable(c);
		else if ((rc = store_facts_change_tx(st, c->order_id, FACTS_OPERATOR,
		    &change, now, true)) == STORE_NONE)
			http_reply_error(&c->out, HTTP_ERR_NOT_FOUND, "no such order", NULL);
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
	const char *body;
	size_t len;

	sig_lookup_key(secret, order_id, key);
	json_object_object_add(o, "order", json_object_new_string(order_id));
	json_object_object_add(o, "key", json_object_new_string(key));
	body = http_json_string(o, &len);
	/* No ETag: an answer to a POST, never revalidated. */
	http_reply_plain(&c->out, 200, "application/json", body, len);
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
		unavailable(c);
		return;
	}
	switch (lookup_run(st, req, &lim, timefmt_now_ms(), order_id, &retry, &rc)) {
	case LOOKUP_FOUND:
		send_lookup_found(c, order_id);
		break;
	case LOOKUP_NOT_FOUND:
		http_reply_error(&c->out, HTTP_ERR_NOT_FOUND, LOOKUP_NO_MATCH, NULL);
		break;
	case LOOKUP_LIMITED:
		snprintf(more, sizeof(more), "Retry-After: %ld\r\n", retry);
		http_reply_error(&c->out, HTTP_ERR_RATE_LIMITED, "too many failed lookups; try again"
		    " later", more);
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
	if (!c->app->conf_ok || c->app->conf.lookup_secret == NULL) {
		http_reply_error(&c->out, HTTP_ERR_FORBIDDEN, "order tracking is not enabled here", NULL);
		return;
	}
	buf_init(&b, LOOKUP_BODY_MAX);
	if (read_body(c, &b, LOOKUP_BODY_MAX)) {
		if (!lookup_request(root = event_parse_json(b.data, b.len), &req))
			http_reply_error(&c->out, HTTP_ERR_BAD_REQUEST, "expected {\"orderNumber\","
			    " \"email\"} or {\"orderNumber\", \"postalCode\"}, strings",
			    NULL);
		else
			lookup_answer(c, &req);
	}
	json_object_put(root);
	buf_free(&b);
}

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
			bad_parameter(c, "the order id is longer than " ID_MAX_TEXT " bytes");
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
	const char *token = c->app->conf_ok ? c->app->conf.api_token : NULL;
	enum http_error e = http_auth_bearer(http_param(c->req, "HTTP_AUTHORIZATION"),
	    token);

	if (e == HTTP_ERR_FORBIDDEN)
		http_reply_error(&c->out, e, "operator access is not configured", NULL);
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
		e = http_route_find(routes, NROUTES, sizeof(routes[0]), &c->path,
		    method, &m);
	if (e == HTTP_ERR_NONE)
		return m.entry;
	if (e == HTTP_ERR_METHOD_NOT_ALLOWED)
		http_reply_not_allowed(&c->out, m.allow);
	else
		http_reply_error(&c->out, e, why, NULL);
	return NULL;
}

static void
handle(struct http_req *req, void *arg)
{
	struct app *a = arg;
	struct call c = { .req = req, .app = a, .out = { .req = req,
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
	store_close(writer);
	viewcache_free(views);
	app_free(&a);
	return rc;
}
