/*
 * cursor: see cursor.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "cursor.h"
#include "num.h"

/* "<ms>.<id>": 20 digits, the dot, the id. */
#define RAW_MAX (CURSOR_ID_MAX + 32)

bool
cursor_encode(int64_t ms, const char *id, char *out, size_t outsz)
{
	char raw[RAW_MAX];
	int n = snprintf(raw, sizeof(raw), "%lld.%s", (long long)ms, id);

	if (n < 0 || (size_t)n >= sizeof(raw) || codec_b64_encode(
	    (const unsigned char *)raw, (size_t)n, out, outsz, true) == 0) {
		if (outsz > 0)
			out[0] = '\0';
		return false;
	}
	return true;
}

bool
cursor_decode(const char *cur, int64_t *ms, char *id, size_t idsz)
{
	unsigned char raw[RAW_MAX];
	char num[24], *dot;
	size_t len;
	long v;

	if (strlen(cur) > CURSOR_MAX ||
	    codec_b64url_decode(cur, raw, sizeof(raw) - 1, &len) < 0)
		return false;
	raw[len] = '\0';
	if (memchr(raw, '\0', len) != NULL ||
	    (dot = strchr((char *)raw, '.')) == NULL ||
	    (size_t)(dot - (char *)raw) >= sizeof(num) ||
	    strlen(dot + 1) >= idsz || dot[1] == '\0')
		return false;
	memcpy(num, raw, (size_t)(dot - (char *)raw));
	num[dot - (char *)raw] = '\0';
	if (num_parse_long(num, 0, 0x7fffffffffffffffL, &v) < 0)
		return false;
	memcpy(id, dot + 1, strlen(dot + 1) + 1);
	*ms = v;
	return true;
}
