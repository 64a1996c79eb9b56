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
#include <string.h>

#include <openssl/evp.h>

#include "app.h"
#include "http.h"
#include "log.h"
#include "sig.h"
#include "view.h"

#define MAX_SEGMENTS 6
#define MAX_SEGMENT 256

enum audience { ANYONE, OPERATOR };

struct call {
	struct http_req *req;
	struct app *app;
	const char *seg[MAX_SEGMENTS];
	size_t nseg;
	const char *cache;	/* Cache-Control for this route */
};

typedef void (*route_fn)(struct call *c);

static void route_health(struct call *c);
static void route_order(struct call *c);

static const struct route {
	const char *pattern[MAX_SEGMENTS];
	const char *method;
	enum audience who;
	route_fn fn;
} routes[] = {
	{ { "v1", "health" }, "GET", ANYONE, route_health },
	{ { "v1", "orders", "*" }, "GET", OPERATOR, route_order },
};
#define NROUTES (sizeof(routes) / sizeof(routes[0]))

static const char *const cache_operator = "no-store";
static const char *const cache_public = "no-cache";

/* Strong ETag: the first 16 bytes of SHA-256 of the body, hex. */
static void
etag_of(const char *body, size_t len, char out[40])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;

	EVP_Digest(body, len, md, &mdlen, EVP_sha256(), NULL);
	out[0] = '"';
	for (int i = 0; i < 16; i++) {
		out[1 + 2 * i] = hex[md[i] >> 4];
		out[2 + 2 * i] = hex[md[i] & 15];
	}
	out[33] = '"';
	out[34] = '\0';
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

static void
common_headers(struct call *c, char *out, size_t outsz, const char *more)
{
	const char *origin = c->app->conf_ok ? c->app->conf.cors_origin : NULL;

	snprintf(out, outsz, "Cache-Control: %s\r\nX-Content-Type-Options: nosniff\r\n"
	    "%s%s%s%s", c->cache, origin ? "Access-Control-Allow-Origin: " : "",
	    origin ? origin : "", origin ? "\r\nVary: Origin\r\n" : "",
	    more ? more : "");
}

static void
send_cached(struct call *c, int status, json_object *obj)
{
	char etag[40], head[1024], more[64];
	size_t len;
	const char *body = http_json_string(obj, &len);

	etag_of(body, len, etag);
	snprintf(more, sizeof(more), "ETag: %s\r\n", etag);
	common_headers(c, head, sizeof(head), more);
	if (status == 200 &&
	    etag_matches(http_param(c->req, "HTTP_IF_NONE_MATCH"), etag))
		http_send(c->req, 304, NULL, head, NULL, 0);
	else
		http_send(c->req, status, "application/json", head, body, len);
	json_object_put(obj);
}

static void
send_error(struct call *c, int status, const char *code, const char *msg,
    const char *more)
{
	char head[1024];

	common_headers(c, head, sizeof(head), more);
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
	send_cached(c, ok ? 200 : 503, o);
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

/* Split PATH_INFO into at most MAX_SEGMENTS non-empty segments in buf. */
static int
split_path(const char *path, char *buf, size_t bufsz, struct call *c)
{
	char *save = NULL, *tok;

	if (strlen(path) >= bufsz)
		return -1;
	memcpy(buf, path, strlen(path) + 1);
	c->nseg = 0;
	for (tok = strtok_r(buf, "/", &save); tok != NULL;
	    tok = strtok_r(NULL, "/", &save)) {
		if (c->nseg == MAX_SEGMENTS || strlen(tok) > MAX_SEGMENT)
			return -1;
		c->seg[c->nseg++] = tok;
	}
	return 0;
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
	if (h == NULL || strncmp(h, "Bearer ", 7) != 0 || strlen(h) > 1024 ||
	    !sig_str_equal(h + 7, token)) {
		send_error(c, 401, "unauthorized", "a valid bearer token is required",
		    "WWW-Authenticate: Bearer realm=\"shiptrack\"\r\n");
		return false;
	}
	return true;
}

static void
handle(struct http_req *req, void *arg)
{
	struct call c = { .req = req, .app = arg, .cache = cache_public };
	const char *method = http_method(req);
	const struct route *match = NULL;
	char path[2048], allow[64] = "";

	if (split_path(http_path(req), path, sizeof(path), &c) < 0) {
		send_error(&c, 404, "not_found", "no such route", NULL);
		return;
	}
	for (size_t i = 0; i < NROUTES; i++) {
		if (!pattern_matches(&routes[i], &c))
			continue;
		if (strcmp(routes[i].method, method) == 0 ||
		    (strcmp(method, "HEAD") == 0 && strcmp(routes[i].method, "GET") == 0))
			match = &routes[i];
		else
			snprintf(allow, sizeof(allow), "Allow: %s\r\n", routes[i].method);
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
	rc = http_serve(handle, &a, a.conf_ok ? a.conf.read_timeout : 10);
	app_free(&a);
	return rc;
}
