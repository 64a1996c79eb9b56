/*
 * rye_limits: the pure rest of rye.h: response headers (RateLimit,
 * RateLimit-Policy, gen-1 Ratelimit-*, Retry-After) and the pager's stop
 * rules.  Header values come from the network: every number is bounded,
 * every scan stops at the value's end, junk is skipped, never trusted.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "apiclient.h"
#include "num.h"
#include "rye.h"

#define MAX_COUNT	1000000000L
#define MAX_VALUE_LEN	1024

/* --- RFC 8941 lists: `"default";r=7;t=1, "burst";r=0;t=30` ---------------- */

/* Skip a bare item: a "string" (with \-escapes) or a token/number. */
static void
skip_item(const char *v, size_t len, size_t *i)
{
	if (*i < len && v[*i] == '"') {
		for ((*i)++; *i < len && v[*i] != '"'; (*i)++)
			if (v[*i] == '\\' && *i + 1 < len)
				(*i)++;
		if (*i < len)
			(*i)++;
		return;
	}
	while (*i < len && v[*i] != ';' && v[*i] != ',')
		(*i)++;
}

/* Skip to the next member's ',' (not one inside a string). */
static void
skip_member(const char *v, size_t len, size_t *i)
{
	while (*i < len && v[*i] != ',') {
		if (v[*i] == '"')
			skip_item(v, len, i);
		else
			(*i)++;
	}
}

/* An sf-integer >= 0; -1 for anything else (decimals, strings, tokens). */
static long
param_value(const char *v, size_t len, size_t *i)
{
	long n = (long)num_digits(v, len, i, MAX_COUNT);

	if (n < 0 || (*i < len && v[*i] != ';' && v[*i] != ',' && v[*i] != ' ' &&
	    v[*i] != '\t'))
		n = -1;
	skip_item(v, len, i);	/* the rest of a value that is not a number */
	return n;
}

/* The parameters a and b of the member at v[*i], up to its ','. */
static void
member_params(const char *v, size_t len, size_t *i, char a, char b, long *va, long *vb)
{
	*va = *vb = -1;
	while (*i < len && (v[*i] == ' ' || v[*i] == '\t'))
		(*i)++;
	skip_item(v, len, i);
	while (*i < len && v[*i] == ';') {
		size_t k = ++*i, klen;
		long n = -1;

		while (*i < len && v[*i] != '=' && v[*i] != ';' && v[*i] != ',')
			(*i)++;
		klen = *i - k;
		if (*i < len && v[*i] == '=') {
			(*i)++;
			n = param_value(v, len, i);
		}
		if (klen == 1 && (v[k] == a || v[k] == b))
			*(v[k] == a ? va : vb) = n;
	}
	skip_member(v, len, i);	/* junk up to the next member */
}

int
rye_sf_params(const char *v, size_t len, char a, char b, bool by_ratio,
    long *va, long *vb)
{
	size_t i = 0;
	long best_a = -1, best_b = -1;

	if (v == NULL || len > MAX_VALUE_LEN)
		return -1;
	while (i < len) {
		long ma, mb;

		member_params(v, len, &i, a, b, &ma, &mb);
		if (i < len)
			i++;	/* the ',' */
		if (ma < 0 || (by_ratio && mb == 0))
			continue;
		if (by_ratio && mb < 0)
			mb = 1;
		/* The tightest member: the smallest a (or a/b), then the longest b. */
		if (best_a < 0 || (by_ratio ? (double)ma / (double)mb <
		    (double)best_a / (double)best_b : ma < best_a ||
		    (ma == best_a && mb > best_b))) {
			best_a = ma;
			best_b = mb;
		}
	}
	if (best_a < 0)
		return -1;
	*va = best_a;
	*vb = best_b;
	return 0;
}

/* --- header lines --------------------------------------------------------------- */

void
rye_headers_init(struct rye_headers *h)
{
	memset(h, 0, sizeof(*h));
	h->remaining = h->reset_s = h->quota = h->window_s = -1;
	h->gql_remaining = h->gql_reset = h->retry_after_s = -1;
}

static long
clamp_s(long s)
{
	return s > RYE_MAX_HEADER_S ? RYE_MAX_HEADER_S : s;
}

/* Retry-After: delta seconds, or an HTTP date (curl's parser). */
static long
retry_after(const char *v, size_t len, int64_t now_s)
{
	char tmp[64];
	time_t t;
	long n = (long)num_whole_digits(v, len, RYE_MAX_HEADER_S);

	if (n >= 0 || len == 0 || len >= sizeof(tmp))
		return n;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	if ((t = curl_getdate(tmp, NULL)) < 0)
		return -1;
	if ((int64_t)t <= now_s)
		return 0;
	return (int64_t)t - now_s > RYE_MAX_HEADER_S ? RYE_MAX_HEADER_S :
	    (long)((int64_t)t - now_s);
}

void
rye_header_line(struct rye_headers *h, const char *line, size_t len, int64_t now_s)
{
	struct apiclient_header hd;
	const char *v;
	size_t vlen;
	long a, b;

	if (!apiclient_header_split(line, len, &hd))
		return;
	v = hd.value;
	vlen = hd.value_len;
	if (vlen > MAX_VALUE_LEN)
		return;
#define IS(name) apiclient_header_is(&hd, name)
	if (IS("RateLimit") && rye_sf_params(v, vlen, 'r', 't', false, &a, &b) == 0) {
		h->remaining = a;
		h->reset_s = b < 0 ? -1 : clamp_s(b);
	} else if (IS("RateLimit-Policy") &&
	    rye_sf_params(v, vlen, 'q', 'w', true, &a, &b) == 0) {
		h->quota = a;
		h->window_s = clamp_s(b);
	} else if (IS("Ratelimit-Remaining"))
		h->gql_remaining = (long)num_whole_digits(v, vlen, MAX_COUNT);
	else if (IS("Ratelimit-Reset"))
		h->gql_reset = (long)num_whole_digits(v, vlen, 0x7fffffffL);
	else if (IS("Retry-After"))
		h->retry_after_s = retry_after(v, vlen, now_s);
	else if (IS("Content-Type"))
		h->json = vlen >= 16 && strncasecmp(v, "application/json", 16) == 0;
#undef IS
}

/* --- the pager ------------------------------------------------------------------ */

static uint64_t
fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

int
rye_pager_init(struct rye_pager *p, size_t max_pages)
{
	memset(p, 0, sizeof(*p));
	p->max_pages = max_pages < 1 ? 1 : max_pages;
	p->stop = RYE_PAGER_MORE;
	return (p->seen = calloc(p->max_pages, sizeof(*p->seen))) == NULL ? -1 : 0;
}

void
rye_pager_free(struct rye_pager *p)
{
	free(p->seen);
	p->seen = NULL;
}

static bool
seen(const struct rye_pager *p, uint64_t h)
{
	for (size_t i = 0; i + 1 < p->pages; i++)
		if (p->seen[i] == h)
			return true;
	return false;
}

bool
rye_pager_next(struct rye_pager *p, const struct rye_answer *a)
{
	const char *cur = a->page.end_cursor;
	size_t items = a->nevents + a->nshipments + a->nintents + a->skipped;
	uint64_t h;

	if (p->stop != RYE_PAGER_MORE)
		return false;
	p->pages++;
	if (!a->page.has_next || cur == NULL || *cur == '\0' || items == 0) {
		p->stop = RYE_PAGER_END;
		return false;
	}
	h = fnv1a(cur);
	if (strcmp(cur, p->after) == 0 || seen(p, h)) {
		p->stop = RYE_PAGER_REPEATED_CURSOR;
		return false;
	}
	if (p->pages >= p->max_pages) {
		p->stop = RYE_PAGER_PAGE_CAP;
		return false;
	}
	p->seen[p->pages - 1] = h;
	snprintf(p->after, sizeof(p->after), "%s", cur);
	return true;
}

const char *
rye_pager_stop_name(enum rye_pager_stop s)
{
	static const char *const names[] = {
		[RYE_PAGER_MORE] = "more", [RYE_PAGER_END] = "end",
		[RYE_PAGER_PAGE_CAP] = "page cap",
		[RYE_PAGER_REPEATED_CURSOR] = "repeated cursor",
	};

	return (unsigned)s <= RYE_PAGER_REPEATED_CURSOR ? names[s] : "?";
}
