/* query: see query.h. */
#include "config.h"

#include <string.h>

#include "query.h"
#include "text.h"

int
query_decode(const char *src, size_t n, char *dst, size_t dstsz)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)src[i];
		if (c == '+')
			c = ' ';
		else if (c == '%') {
			int hi, lo;
			if (i + 2 >= n || (hi = text_hexval(src[i + 1])) < 0 ||
			    (lo = text_hexval(src[i + 2])) < 0)
				return -1;
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		}
		if (c < 0x20 || c == 0x7f || o + 1 >= dstsz)
			return -1;
		dst[o++] = (char)c;
	}
	dst[o] = '\0';
	return 0;
}

const char *
query_get(const struct query *q, const char *key)
{
	for (size_t i = 0; i < q->n; i++)
		if (strcmp(q->p[i].key, key) == 0)
			return q->p[i].value;
	return NULL;
}

int
query_parse(const char *qs, struct query *q, const char **why)
{
	const char *p = qs;

	q->n = 0;
	if (qs == NULL)
		return 0;
	if (strlen(qs) > QUERY_MAX_LEN) {
		*why = "query string too long";
		return -1;
	}
	while (*p != '\0') {
		size_t len = strcspn(p, "&"), klen = strcspn(p, "=");
		const char *val = p + klen + 1;

		if (len == 0) {		/* "a=1&&b=2": tolerate empty pieces */
			p++;
			continue;
		}
		if (q->n == QUERY_MAX_PARAMS) {
			*why = "too many query parameters";
			return -1;
		}
		if (klen >= len) {	/* "flag" without "=": empty value */
			klen = len;
			val = p + len;
		}
		if (query_decode(p, klen, q->p[q->n].key, sizeof(q->p[q->n].key)) < 0 ||
		    query_decode(val, (size_t)(p + len - val), q->p[q->n].value,
		    sizeof(q->p[q->n].value)) < 0) {
			*why = "malformed query parameter";
			return -1;
		}
		if (query_get(q, q->p[q->n].key) != NULL) {
			*why = "repeated query parameter";
			return -1;
		}
		q->n++;
		p += len;
		if (*p == '&')
			p++;
	}
	return 0;
}
