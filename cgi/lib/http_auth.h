/*
 * http_auth: the bearer token check ("Authorization: Bearer <token>",
 * RFC 6750) that guards the API's operator routes.
 *
 * The scheme name is matched without regard to case (RFC 9110 11.1); the
 * token is compared in constant time (sig_str_equal compares MACs of
 * both, so neither the first wrong byte nor the length shows in the
 * time taken).  A header over HTTP_AUTH_MAX bytes is refused unread.
 * Pure: the caller passes the header and the configured token.
 */
#ifndef SHIPTRACK_HTTP_AUTH_H
#define SHIPTRACK_HTTP_AUTH_H

#include "http_error.h"

#define HTTP_AUTH_MAX 1024
/* The header line a 401 carries. */
#define HTTP_AUTH_CHALLENGE "WWW-Authenticate: Bearer realm=\"shiptrack\"\r\n"

/*
 * authorization: the header's value or NULL; token: the configured one
 * or NULL.  HTTP_ERR_NONE; HTTP_ERR_FORBIDDEN when no token is
 * configured (nobody can be let in); HTTP_ERR_UNAUTHORIZED otherwise.
 */
enum http_error http_auth_bearer(const char *authorization, const char *token);

#endif
