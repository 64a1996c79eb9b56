/*
 * http_reply: see http_reply.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "conf.h"
#include "http_cors.h"
#include "http_reply.h"

_Static_assert(200 + CONF_ORIGIN_MAX + HTTP_REPLY_MORE_MAX <= HTTP_EXTRA_MAX,
    "the largest legal header set must fit in HTTP_EXTRA_MAX");

/* The lines every answer carries, into h. */
static void
common_headers(const struct http_reply *r, struct http_head *h)
{
	http_head_add(h, "Cache-Control: %s\r\n", http_cache_control(r->cache));
	http_head_add(h, "X-Content-Type-Options: nosniff\r\n");
	http_cors_headers(h, r->cors_origin);
}

void
http_reply_plain(struct http_reply *r, int status, const char *type,
    const char *body, size_t len)
{
	struct http_head h = { .len = 0 };

	common_headers(r, &h);
	http_send_head(r->req, status, type, &h, body, len);
}

void
http_reply_tagged(struct http_reply *r, int status, const char *body,
    size_t len, const char *etag)
{
	struct http_head h = { .len = 0 };

	common_headers(r, &h);
	http_head_add(&h, "ETag: %s\r\n", etag);
	if (status == 200 &&
	    http_etag_matches(http_param(r->req, "HTTP_IF_NONE_MATCH"), etag))
		http_send_head(r->req, 304, NULL, &h, NULL, 0);
	else
		http_send_head(r->req, status, "application/json", &h, body,
		    len);
}

/* Only a GET (or HEAD) is asked again with If-None-Match. */
static bool
revalidated(struct http_reply *r)
{
	const char *m = http_method(r->req);

	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

void
http_reply_json(struct http_reply *r, int status, json_object *obj)
{
	char etag[HTTP_ETAG_LEN];
	size_t len = 0;
	const char *body = http_json_string(obj, &len);

	if (!revalidated(r))
		http_reply_plain(r, status, "application/json", body, len);
	else if (http_etag(body, len, etag))
		http_reply_tagged(r, status, body, len, etag);
	else
		http_reply_error(r, HTTP_ERR_UNAVAILABLE, NULL, NULL);
	json_object_put(obj);
}

void
http_reply_error(struct http_reply *r, enum http_error e, const char *msg,
    const char *more)
{
	struct http_head h = { .len = 0 };

	common_headers(r, &h);
	if (more != NULL)
		http_head_add(&h, "%s", more);
	if (h.cut)	/* http_send_head() logs it and answers 500 */
		http_send_head(r->req, http_error_status(e), NULL, &h, NULL, 0);
	else
		http_send_error(r->req, e, msg, h.s);
}

void
http_reply_not_allowed(struct http_reply *r, const char *allow)
{
	struct http_head h = { .len = 0 };
	char more[HTTP_REPLY_MORE_MAX];

	if (http_cors_preflight_asked(http_method(r->req), r->cors_origin)) {
		r->cache = HTTP_CACHE_ANYONE;
		common_headers(r, &h);
		http_cors_preflight(&h, allow);
		http_send_head(r->req, 204, NULL, &h, NULL, 0);
		return;
	}
	snprintf(more, sizeof(more), "Allow: %s\r\n", allow);
	http_reply_error(r, HTTP_ERR_METHOD_NOT_ALLOWED, NULL, more);
}
