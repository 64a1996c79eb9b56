/*
 * http_cors: what lets a page on another origin (cors_origin) read the
 * API's answers, and the preflight its browser asks first.
 *
 * Every answer names the origin allowed (cors_origin: one origin, or
 * "*"), exposes ETag (so a page can revalidate) and says Vary: Origin.  A preflight (OPTIONS on a route that has other
 * methods) allows the route's methods and the headers the pages send
 * (Authorization, Content-Type, If-None-Match), for ten minutes; nothing
 * else is allowed cross-origin.  Without an origin configured there are
 * no CORS lines and no preflight.
 */
#ifndef SHIPTRACK_HTTP_CORS_H
#define SHIPTRACK_HTTP_CORS_H

#include <stdbool.h>

#include "http.h"

/* The lines every answer carries for origin (NULL: none). */
void http_cors_headers(struct http_head *h, const char *origin);

/* Is this request a preflight to answer (OPTIONS, an origin configured)? */
bool http_cors_preflight_asked(const char *method, const char *origin);

/* A preflight's own lines, for a route with methods ("GET, PUT"). */
void http_cors_preflight(struct http_head *h, const char *methods);

#endif
