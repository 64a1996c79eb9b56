/*
 * http_error: every error the two programs answer, in one table: the
 * status, the code clients match on ({"ok":false,"error":code,...}) and
 * a default message.
 *
 * Both webhook.fcgi and api.fcgi answer through it (http_send_error()),
 * so the same failure gets the same answer from either: a body read that
 * fails is 413 payload_too_large, 400 bad_length, 408 timeout or 400
 * bad_request whichever program reads it.  A caller may pass a message of
 * its own where it tells more ("no such order"); the status and the code
 * come only from here.  An error that asks the client to come back
 * (retry_after) carries that Retry-After.
 *
 * Pure: no I/O.
 */
#ifndef SHIPTRACK_HTTP_ERROR_H
#define SHIPTRACK_HTTP_ERROR_H

enum http_error {
	HTTP_ERR_NONE,			/* not an error: no answer sent */
	HTTP_ERR_BAD_REQUEST,		/* 400: a body not read or not usable */
	HTTP_ERR_BAD_LENGTH,		/* 400: a body not of CONTENT_LENGTH */
	HTTP_ERR_BAD_PARAMETER,		/* 400: a query parameter or segment */
	HTTP_ERR_INVALID_JSON,		/* 400: a body's JSON or its shape */
	HTTP_ERR_MISSING_FIELD,		/* 400 */
	HTTP_ERR_INVALID_FIELD,		/* 400 */
	HTTP_ERR_INVALID_EMAIL,		/* 400 */
	HTTP_ERR_BAD_SIGNATURE,		/* 401: a webhook's signature */
	HTTP_ERR_UNAUTHORIZED,		/* 401: the API's bearer token */
	HTTP_ERR_FORBIDDEN,		/* 403: not enabled here */
	HTTP_ERR_NOT_FOUND,		/* 404 */
	HTTP_ERR_METHOD_NOT_ALLOWED,	/* 405: the answer carries Allow */
	HTTP_ERR_TIMEOUT,		/* 408: the body did not come in time */
	HTTP_ERR_TOO_LARGE,		/* 413 */
	HTTP_ERR_RATE_LIMITED,		/* 429: the caller gives Retry-After */
	HTTP_ERR_INTERNAL,		/* 500 */
	HTTP_ERR_UNAVAILABLE,		/* 503: storage; Retry-After */
	HTTP_ERR_NOT_CONFIGURED,	/* 503: no secret; Retry-After */
	HTTP_ERR__MAX
};

int http_error_status(enum http_error e);
const char *http_error_code(enum http_error e);
const char *http_error_message(enum http_error e);
/* Seconds for Retry-After, or 0 when the answer carries none by itself. */
int http_error_retry_after(enum http_error e);

#endif
