/* link: see link.h. */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "link.h"
#include "sig.h"

static bool
unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' || c == '~';
}

/* Append s percent-encoded at out[*o]; false if it does not fit. */
static bool
put_encoded(char *out, size_t outsz, size_t *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (*o + 4 > outsz)
			return false;
		if (unreserved(c))
			out[(*o)++] = (char)c;
		else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
	out[*o] = '\0';
	return true;
}

int
link_shopper_url(const char *base, const char *lookup_secret,
    const char *order_id, char *out, size_t outsz)
{
	char key[SIG_LOOKUP_KEY_LEN + 1];
	size_t blen = strlen(base), o;
	bool slash;
	int n;

	/* ".../" or ".../page.html" take the query directly; else add "/". */
	slash = blen > 0 && base[blen - 1] != '/' &&
	    (blen < 5 || strcmp(base + blen - 5, ".html") != 0);
	n = snprintf(out, outsz, "%s%s?order=", base, slash ? "/" : "");
	if (n < 0 || (size_t)n >= outsz)
		return -1;
	o = (size_t)n;
	if (!put_encoded(out, outsz, &o, order_id))
		return -1;
	sig_lookup_key(lookup_secret, order_id, key);
	n = snprintf(out + o, outsz - o, "&key=%s", key);
	return n < 0 || (size_t)n >= outsz - o ? -1 : 0;
}
