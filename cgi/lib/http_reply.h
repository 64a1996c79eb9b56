/*
 * http_reply: the API's answers, each with the lines every one carries:
 * the Cache-Control of its kind (http_cache.h), nosniff, and the CORS
 * lines when an origin is configured (http_cors.h), then its own.
 *
 * JSON answers to a GET or HEAD carry their ETag, and a 200 whose ETag
 * the client names in If-None-Match is 304 without a body; other
 * methods' answers are never asked again, so they carry none.  Errors
 * are answered from the error table (http_error.h).  A path that has
 * the route but not the method is 405 with Allow, or, when CORS is
 * configured and it is an OPTIONS, the preflight.
 *
 * Headers: the fixed lines (under 200 bytes), the origin (at most
 * CONF_ORIGIN_MAX: conf.c refuses a longer one at start-up) and an
 * answer's own lines (at most HTTP_REPLY_MORE_MAX) always fit in
 * HTTP_EXTRA_MAX (checked when compiling); a set that would not is
 * answered 500, never cut.
 */
#ifndef SHIPTRACK_HTTP_REPLY_H
#define SHIPTRACK_HTTP_REPLY_H

#include <stddef.h>

#include <json-c/json.h>

#include "http.h"
#include "http_cache.h"

#define HTTP_REPLY_MORE_MAX 256

struct http_reply {
	struct http_req *req;
	enum http_cache cache;
	const char *cors_origin;	/* NULL: no CORS */
};

/* obj (consumed), with its ETag for a GET; 503 if that cannot be made. */
void http_reply_json(struct http_reply *r, int status, json_object *obj);
/* A JSON body whose ETag is made already (a kept view). */
void http_reply_tagged(struct http_reply *r, int status, const char *body,
    size_t len, const char *etag);
/* A body without ETag (never revalidated); type and body NULL: none (204). */
void http_reply_plain(struct http_reply *r, int status, const char *type,
    const char *body, size_t len);
/* An error; msg NULL: the table's; more: further lines or NULL. */
void http_reply_error(struct http_reply *r, enum http_error e, const char *msg,
    const char *more);
/* The path has routes for allow ("GET, PUT") only: 405, or a preflight. */
void http_reply_not_allowed(struct http_reply *r, const char *allow);

#endif
