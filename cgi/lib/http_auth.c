/*
 * http_auth: see http_auth.h.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "http_auth.h"
#include "sig.h"

enum http_error
http_auth_bearer(const char *authorization, const char *token)
{
	const char *h = authorization;

	if (token == NULL)
		return HTTP_ERR_FORBIDDEN;
	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0 ||
	    strlen(h) > HTTP_AUTH_MAX || !sig_str_equal(h + 7, token))
		return HTTP_ERR_UNAUTHORIZED;
	return HTTP_ERR_NONE;
}
