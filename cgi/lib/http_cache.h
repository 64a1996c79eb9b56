/*
 * http_cache: what lets clients and caches keep an answer: its ETag, the
 * If-None-Match test that turns a repeat into 304, and the Cache-Control
 * each kind of answer carries.
 *
 * ETags are strong and made from the body alone (the first 16 bytes of
 * its SHA-256, hex, quoted), so the same bytes have the same tag from any
 * process: a FastCGI pool and CGI runs agree, and a kept view
 * (viewcache.h) keeps its tag.  If-None-Match is a list of tags or "*";
 * a "W/" prefix is ignored, the weak comparison RFC 9110 (13.1.2) asks
 * for with If-None-Match.  Pure: no I/O.
 */
#ifndef SHIPTRACK_HTTP_CACHE_H
#define SHIPTRACK_HTTP_CACHE_H

#include <stdbool.h>
#include <stddef.h>

#define HTTP_ETAG_LEN 35	/* two quotes, 32 hex digits, NUL */

/* Who an answer is for, which says how long it may be kept, and where. */
enum http_cache {
	HTTP_CACHE_ANYONE,	/* no-cache: kept, asked again (304) */
	HTTP_CACHE_SECRET,	/* no-store: an operator's, or holds a key */
	HTTP_CACHE_SHOPPER,	/* private, max-age=30: a shopper's view */
	HTTP_CACHE_CONFIG,	/* public, max-age=300: set by configuration */
};

/* The Cache-Control value for c. */
const char *http_cache_control(enum http_cache c);

/* The body's ETag into out; false if hashing failed (OpenSSL). */
bool http_etag(const char *body, size_t len, char out[HTTP_ETAG_LEN]);

/* Does the If-None-Match value (NULL: absent) name etag? */
bool http_etag_matches(const char *if_none_match, const char *etag);

#endif
