/*
 * http_cache: see http_cache.h.
 */
#include "config.h"

#include <string.h>

#include "http_cache.h"
#include "codec.h"

const char *
http_cache_control(enum http_cache c)
{
	switch (c) {
	case HTTP_CACHE_SECRET:
		return "no-store";
	case HTTP_CACHE_SHOPPER:
		/* A reload sees news within a minute; private: per key. */
		return "private, max-age=30";
	case HTTP_CACHE_CONFIG:
		return "public, max-age=300";
	case HTTP_CACHE_ANYONE:
	default:
		return "no-cache";
	}
}

bool
http_etag(const char *body, size_t len, char out[HTTP_ETAG_LEN])
{
	struct codec_part part = { body, len };
	unsigned char md[CODEC_SHA256_LEN];

	if (!codec_sha256(&part, 1, md))
		return false;
	out[0] = '"';
	codec_hex_encode(md, 16, out + 1);
	out[33] = '"';
	out[34] = '\0';
	return true;
}

bool
http_etag_matches(const char *if_none_match, const char *etag)
{
	size_t elen = strlen(etag);
	const char *p = if_none_match;

	if (p == NULL)
		return false;
	while (*p != '\0') {
		size_t len;
		p += strspn(p, " \t,");
		if (strncmp(p, "W/", 2) == 0)
			p += 2;
		len = strcspn(p, " \t,");
		if ((len == 1 && *p == '*') ||
		    (len == elen && strncmp(p, etag, len) == 0))
			return true;
		p += len;
	}
	return false;
}
