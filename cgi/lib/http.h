/*
 * http: one request in, one answer out, over FastCGI or plain CGI.
 *
 * http_serve() decides once: when stdin is a FastCGI listening socket it
 * accepts requests in a loop (one process, one database handle, many
 * requests); otherwise it answers the single CGI request described by the
 * environment and stdin, and returns.  Handlers see the same struct either
 * way and never touch libfcgi or getenv themselves.
 *
 * Bodies are read with two limits: a maximum size (checked against
 * CONTENT_LENGTH before reading and against the bytes while reading) and a
 * deadline for the whole body.  Answers always carry Content-Length.
 * Errors are answered from one table (http_error.h), so both programs
 * answer the same failure alike.
 */
#ifndef SHIPTRACK_HTTP_H
#define SHIPTRACK_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "buf.h"
#include "http_error.h"

struct http_req;

typedef void (*http_handler)(struct http_req *req, void *ctx);

/* Serve until shutdown; returns a process exit status. */
int http_serve(http_handler handler, void *ctx, long read_timeout_s);
/*
 * The same with nthreads request threads under FastCGI (the handler must
 * then be thread-safe); one call in CGI mode.
 */
int http_serve_threads(http_handler handler, void *ctx, long read_timeout_s,
    int nthreads);

/* True when running under FastCGI (for logs and tests). */
bool http_is_fastcgi(void);
/* Before serving: whether stdin is a FastCGI socket (false: one CGI request). */
bool http_fastcgi_socket(void);

/* A CGI variable (REQUEST_METHOD, HTTP_X_RYE_SIGNATURE, ...) or NULL. */
const char *http_param(struct http_req *req, const char *name);
const char *http_method(struct http_req *req);
/* PATH_INFO, never NULL (empty string when absent). */
const char *http_path(struct http_req *req);

/*
 * Read the whole body, at most max bytes, into out.  HTTP_ERR_NONE, or
 * the error to answer: HTTP_ERR_TOO_LARGE (declared or actual size over
 * max), HTTP_ERR_BAD_LENGTH (CONTENT_LENGTH malformed, or the body
 * shorter or longer), HTTP_ERR_TIMEOUT (the deadline passed), or
 * HTTP_ERR_BAD_REQUEST (a read error or out of memory: 400, as both
 * programs have always answered it).
 */
enum http_error http_read_body(struct http_req *req, size_t max,
    struct buf *out);

/*
 * Send an answer.  extra: further header lines, each ending in "\r\n", or
 * NULL; at most HTTP_EXTRA_MAX bytes.  Headers are never cut: a set that
 * does not fit (a cut one would lose the blank line that ends it) is
 * logged and answered 500 instead.  body may be NULL for an empty body
 * (204, 304).
 */
#define HTTP_EXTRA_MAX 1024
void http_send(struct http_req *req, int status, const char *content_type,
    const char *extra, const char *body, size_t len);
/* JSON answer from an object (consumed). */
void http_send_json(struct http_req *req, int status, const char *extra,
    json_object *obj);
/*
 * {"ok":false,"error":code,"message":message} with e's status and code
 * (http_error.h); message NULL: e's own.  extra as for http_send(); the
 * table's Retry-After is added to it.
 */
void http_send_error(struct http_req *req, enum http_error e,
    const char *message, const char *extra);

/*
 * Header lines put together for http_send()'s extra, at most
 * HTTP_EXTRA_MAX bytes.  A line that does not fit marks the set cut: it
 * must then not be sent (a cut set would lose the blank line that ends
 * the headers); http_send_head() answers 500 instead.
 */
struct http_head {
	char s[HTTP_EXTRA_MAX];
	size_t len;
	bool cut;
};
void http_head_add(struct http_head *h, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* http_send() with h's lines, or a 500 internal error (logged) if h is cut. */
void http_send_head(struct http_req *req, int status, const char *content_type,
    const struct http_head *h, const char *body, size_t len);

const char *http_status_text(int status);

/* Serialise without escaping '/', as the API promises plain JSON. */
const char *http_json_string(json_object *obj, size_t *len);

#endif
