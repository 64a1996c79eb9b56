/*
 * http_cors: see http_cors.h.
 */
#include "config.h"

#include <string.h>

#include "http_cors.h"

void
http_cors_headers(struct http_head *h, const char *origin)
{
	if (origin == NULL)
		return;
	http_head_add(h, "Access-Control-Allow-Origin: %s\r\n"
	    "Access-Control-Expose-Headers: ETag\r\nVary: Origin\r\n", origin);
}

bool
http_cors_preflight_asked(const char *method, const char *origin)
{
	return origin != NULL && strcmp(method, "OPTIONS") == 0;
}

void
http_cors_preflight(struct http_head *h, const char *methods)
{
	http_head_add(h, "Access-Control-Allow-Methods: %s\r\n"
	    "Access-Control-Allow-Headers: Authorization, Content-Type,"
	    " If-None-Match\r\n"
	    "Access-Control-Max-Age: 600\r\n", methods);
}
