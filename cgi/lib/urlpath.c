/* urlpath: see urlpath.h. */
#include "config.h"

#include <stdbool.h>
#include <string.h>

#include "text.h"
#include "urlpath.h"

#define NO_TAIL ((size_t)-1)

/* The byte "%XY" at p stands for, or -1 if p is no escape. */
static int
escape_at(const char *p)
{
	int hi, lo;

	if (p[0] != '%' || (hi = text_hexval(p[1])) < 0 || (lo = text_hexval(p[2])) < 0)
		return -1;
	return hi * 16 + lo;
}

/*
 * Where the tail of raw[0, rlen) starts that decodes to pi, or NO_TAIL.
 * Compared from the end, so each byte is looked at once (an escape read
 * backwards is the one read forwards: '%' is no hex digit).  keep_2f: the
 * server left "%2F" as it was (Apache's AllowEncodedSlashes NoDecode).
 * The tail must start at one of raw's own slashes.
 */
static size_t
tail_start(const char *raw, size_t rlen, const char *pi, bool keep_2f)
{
	size_t r = rlen, p = strlen(pi);

	while (p > 0 && r > 0) {
		int c = r >= 3 ? escape_at(raw + r - 3) : -1;

		if (c >= 0 && !(keep_2f && c == '/')) {
			if ((unsigned char)pi[p - 1] != c)
				return NO_TAIL;
			r -= 3;
		} else if (raw[r - 1] != pi[p - 1])
			return NO_TAIL;
		else
			r--;
		p--;
	}
	return p == 0 && r < rlen && raw[r] == '/' ? r : NO_TAIL;
}

/*
 * No tail of the raw path decodes to PATH_INFO: the server rewrote the
 * path (resolved dot segments, merged slashes).  If the client encoded
 * nothing that matters, PATH_INFO is as good as the raw path (*start
 * stays NO_TAIL).  An encoded control character is refused.  An encoded
 * "/" may have become a separator there (nginx resolves "a%2F..%2Fb" to
 * "b"), so the route is taken from the raw path after SCRIPT_NAME, the
 * mount point, when the raw path starts with it; else it is not found.
 */
static enum urlpath_rc
unmatched(const char *raw, size_t rlen, const char *script_name, size_t *start)
{
	size_t slen = script_name != NULL ? strlen(script_name) : 0;
	bool slash = false;

	for (size_t i = 0; i + 2 < rlen; i++) {
		int c = escape_at(raw + i);
		if (c >= 0 && (c < 0x20 || c == 0x7f))
			return URLPATH_BAD;
		slash |= c == '/';
	}
	if (!slash)
		return URLPATH_OK;
	if (slen == 0 || slen >= rlen || strncmp(raw, script_name, slen) != 0 ||
	    raw[slen] != '/')
		return URLPATH_NOT_FOUND;
	*start = slen;
	return URLPATH_OK;
}

/*
 * One segment s[0, n) into out (n + 1 bytes), %-escapes decoded when
 * decode is set.  An escape cannot run past the segment: it would need a
 * hex digit where the '/', '?' or NUL that ends the segment is.
 */
static enum urlpath_rc
segment(const char *s, size_t n, bool decode, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];

		if (decode && c == '%') {
			if ((c = escape_at(s + i)) < 0)
				return URLPATH_BAD;
			i += 2;
		}
		if (c < 0x20 || c == 0x7f)
			return URLPATH_BAD;
		out[o++] = (char)c;
	}
	out[o] = '\0';
	return URLPATH_OK;
}

/* Split path[0, n) at '/' into buf; empty segments are skipped. */
static enum urlpath_rc
split(const char *path, size_t n, bool decode, char *buf, size_t bufsz,
    const char **seg, size_t maxseg, size_t *nseg)
{
	size_t used = 0, i = 0;
	enum urlpath_rc rc;

	/* Decoding never lengthens, and each NUL takes a '/''s place. */
	if (n >= bufsz)
		return URLPATH_NOT_FOUND;
	while (i < n) {
		const char *end = memchr(path + i, '/', n - i);
		size_t len = end != NULL ? (size_t)(end - path) - i : n - i;

		if (len > 0) {
			if (*nseg == maxseg)
				return URLPATH_NOT_FOUND;
			if ((rc = segment(path + i, len, decode, buf + used)) != URLPATH_OK)
				return rc;
			seg[(*nseg)++] = buf + used;
			used += strlen(buf + used) + 1;
		}
		i += len + 1;
	}
	return URLPATH_OK;
}

enum urlpath_rc
urlpath_split(const struct urlpath_vars *v, char *buf, size_t bufsz,
    const char **seg, size_t maxseg, size_t *nseg)
{
	const char *raw = v->request_uri, *pi = v->path_info != NULL ? v->path_info : "";
	size_t rlen, start;
	enum urlpath_rc rc;

	*nseg = 0;
	if (raw == NULL)
		return split(pi, strlen(pi), false, buf, bufsz, seg, maxseg, nseg);
	rlen = strcspn(raw, "?#");
	if ((start = tail_start(raw, rlen, pi, false)) == NO_TAIL &&
	    (start = tail_start(raw, rlen, pi, true)) == NO_TAIL &&
	    (rc = unmatched(raw, rlen, v->script_name, &start)) != URLPATH_OK)
		return rc;
	if (start == NO_TAIL)
		return split(pi, strlen(pi), false, buf, bufsz, seg, maxseg, nseg);
	return split(raw + start, rlen - start, true, buf, bufsz, seg, maxseg, nseg);
}
