/*
 * http_error: see http_error.h.
 */
#include "config.h"

#include "http_error.h"

static const struct {
	int status;
	const char *code;
	const char *message;
	int retry_after;
} errors[HTTP_ERR__MAX] = {
	[HTTP_ERR_NONE] = { 200, "ok",
	    "no error", 0 },
	[HTTP_ERR_BAD_REQUEST] = { 400, "bad_request",
	    "the body could not be read", 0 },
	[HTTP_ERR_BAD_LENGTH] = { 400, "bad_length",
	    "the body does not match CONTENT_LENGTH", 0 },
	[HTTP_ERR_BAD_PARAMETER] = { 400, "bad_parameter",
	    "a parameter is not valid", 0 },
	[HTTP_ERR_INVALID_JSON] = { 400, "invalid_json",
	    "the body is not the JSON expected", 0 },
	[HTTP_ERR_MISSING_FIELD] = { 400, "missing_field",
	    "a field is missing", 0 },
	[HTTP_ERR_INVALID_FIELD] = { 400, "invalid_field",
	    "a field is not valid", 0 },
	[HTTP_ERR_INVALID_EMAIL] = { 400, "invalid_email",
	    "not a plain e-mail address", 0 },
	[HTTP_ERR_BAD_SIGNATURE] = { 401, "bad_signature",
	    "the signature does not match the body", 0 },
	[HTTP_ERR_UNAUTHORIZED] = { 401, "unauthorized",
	    "a valid bearer token is required", 0 },
	[HTTP_ERR_FORBIDDEN] = { 403, "forbidden",
	    "not enabled here", 0 },
	[HTTP_ERR_NOT_FOUND] = { 404, "not_found",
	    "no such route", 0 },
	[HTTP_ERR_METHOD_NOT_ALLOWED] = { 405, "method_not_allowed",
	    "method not allowed here", 0 },
	[HTTP_ERR_TIMEOUT] = { 408, "timeout",
	    "the body did not arrive in time", 0 },
	[HTTP_ERR_TOO_LARGE] = { 413, "payload_too_large",
	    "the body is too large", 0 },
	[HTTP_ERR_RATE_LIMITED] = { 429, "rate_limited",
	    "too many requests; try again later", 0 },
	[HTTP_ERR_INTERNAL] = { 500, "internal",
	    "the answer could not be made", 0 },
	[HTTP_ERR_UNAVAILABLE] = { 503, "unavailable",
	    "storage is unavailable; retry later", 5 },
	[HTTP_ERR_NOT_CONFIGURED] = { 503, "not_configured",
	    "the receiver has no webhook secret configured", 5 },
};

/* Out of range is a bug in the caller: answer it as what it is. */
static enum http_error
known(enum http_error e)
{
	return (unsigned)e < HTTP_ERR__MAX ? e : HTTP_ERR_INTERNAL;
}

int
http_error_status(enum http_error e)
{
	return errors[known(e)].status;
}

const char *
http_error_code(enum http_error e)
{
	return errors[known(e)].code;
}

const char *
http_error_message(enum http_error e)
{
	return errors[known(e)].message;
}

int
http_error_retry_after(enum http_error e)
{
	return errors[known(e)].retry_after;
}
