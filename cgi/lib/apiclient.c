/* apiclient: see apiclient.h. */
#include "config.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

#include "apiclient.h"

void
apiclient_easy_defaults(CURL *e)
{
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
}

struct curl_slist *
apiclient_headers(const char *credential_line, bool post)
{
	struct curl_slist *l = NULL, *t;
	const char *lines[] = { credential_line, "Accept: application/json",
	    post ? "Content-Type: application/json" : NULL, post ? "Expect:" : NULL };

	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		if (lines[i] == NULL)
			continue;
		if ((t = curl_slist_append(l, lines[i])) == NULL) {
			curl_slist_free_all(l);
			return NULL;
		}
		l = t;
	}
	return l;
}

/* --- the answer ------------------------------------------------------------- */

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct apiclient_sink *s = arg;

	if (buf_append(&s->body, p, size * n) < 0) {
		s->too_large = true;
		return 0;	/* curl stops with CURLE_WRITE_ERROR */
	}
	return size * n;
}

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct apiclient_sink *s = arg;

	/* A new status line (after a 100 Continue): forget the earlier block. */
	if (size * n > 5 && strncmp(p, "HTTP/", 5) == 0)
		s->header(s->arg, NULL, 0);
	else
		s->header(s->arg, p, size * n);
	return size * n;
}

void
apiclient_sink_reset(struct apiclient_sink *s)
{
	buf_reset(&s->body);
	s->too_large = false;
	s->header(s->arg, NULL, 0);
}

void
apiclient_sink_attach(CURL *e, struct apiclient_sink *s)
{
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, s);
}

/* --- header lines and URLs ---------------------------------------------------- */

bool
apiclient_header_split(const char *line, size_t len, struct apiclient_header *h)
{
	const char *colon = memchr(line, ':', len), *v;
	size_t vlen;

	if (colon == NULL)
		return false;
	h->name = line;
	h->name_len = (size_t)(colon - line);
	v = colon + 1;
	vlen = len - h->name_len - 1;
	while (vlen > 0 && (*v == ' ' || *v == '\t'))
		v++, vlen--;
	while (vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
	    v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
		vlen--;
	h->value = v;
	h->value_len = vlen;
	return true;
}

bool
apiclient_header_is(const struct apiclient_header *h, const char *name)
{
	return h->name_len == strlen(name) &&
	    strncasecmp(h->name, name, h->name_len) == 0;
}

int
apiclient_put_escaped(struct buf *out, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		char e[3] = { '%', hex[c >> 4], hex[c & 15] };

		if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
			if (buf_append(out, s, 1) < 0)
				return -1;
		} else if (buf_append(out, e, 3) < 0)
			return -1;
	}
	return 0;
}
