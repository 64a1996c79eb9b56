/*
 * carrier_parse: the pure half of carrier.h: base URLs, request URLs and
 * bodies, answers into plain structs (the tracking object in them is
 * carrier_tracking.c's), the slug map, the paging guard, header lines.
 * No network, no clock, no allocation that outlives the struct it fills
 * (libcurl is used only for its HTTP-date parser).
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "apiclient.h"
#include "carrier.h"
#include "json.h"
#include "num.h"
#include "text.h"

/* --- small helpers ----------------------------------------------------- */

static long
get_long(json_object *o, const char *key, long dflt)
{
	json_object *v = json_get_obj(o, key, json_type_int);
	int64_t n;

	if (v == NULL)
		return dflt;
	n = json_object_get_int64(v);
	return n < 0 ? dflt : n > 1000000000 ? 1000000000 : (long)n;
}

/* --- the API family ----------------------------------------------------- */

int
carrier_api_parse(const char *base, struct carrier_api *out)
{
	size_t len;
	const char *v;

	memset(out, 0, sizeof(*out));
	if (base == NULL || strlen(base) > 1024 || !text_printable(base) ||
	    strpbrk(base, "?# ") != NULL ||
	    (strncasecmp(base, "https://", 8) != 0 && strncasecmp(base, "http://", 7) != 0))
		return -1;
	len = strlen(base);
	while (len > 0 && base[len - 1] == '/')
		len--;
	if (len >= 3 && strncmp(base + len - 3, "/v4", 3) == 0) {
		out->legacy = out->wrapped = true;
		out->key_header = "aftership-api-key";
		return 0;
	}
	/* ".../tracking/YYYY-MM" */
	if (len < 17 || strncmp(base + len - 17, "/tracking/", 10) != 0)
		return -1;
	v = base + len - 7;
	for (int i = 0; i < 7; i++)
		if (i == 4 ? v[i] != '-' : !isdigit((unsigned char)v[i]))
			return -1;
	if (!((v[5] == '0' && v[6] >= '1') || (v[5] == '1' && v[6] <= '2')))
		return -1;
	memcpy(out->version, v, 7);
	out->version[7] = '\0';
	out->wrapped = strcmp(out->version, "2024-07") < 0;
	out->cursor = strcmp(out->version, "2024-10") >= 0;
	out->key_header = "as-api-key";
	return 0;
}

/* --- requests ----------------------------------------------------------- */

static int
put_base(const char *base, struct buf *out)
{
	size_t len = strlen(base);

	while (len > 0 && base[len - 1] == '/')
		len--;
	buf_reset(out);
	return buf_append(out, base, len);
}

int
carrier_url_create(const char *base, struct buf *out)
{
	return put_base(base, out) < 0 || buf_append(out, "/trackings", 10) < 0 ? -1 : 0;
}

int
carrier_url_get(const char *base, const char *id, struct buf *out)
{
	if (id == NULL || *id == '\0' || put_base(base, out) < 0 ||
	    buf_append(out, "/trackings/", 11) < 0 || apiclient_put_escaped(out, id) < 0)
		return -1;
	return 0;
}

int
carrier_url_list(const char *base, const struct carrier_query *q, struct buf *out)
{
	char iso[TIMEFMT_ISO_LEN];

	if (put_base(base, out) < 0 ||
	    buf_printf(out, "/trackings?limit=%d", CARRIER_LIST_LIMIT) < 0)
		return -1;
	if (q->updated_min_ms >= 0) {
		/* Whole seconds, "+00:00" as AfterShip documents it; "+" must be %2B. */
		timefmt_iso_utc(q->updated_min_ms - q->updated_min_ms % 1000, iso);
		iso[strlen(iso) - 1] = '\0';
		if (buf_append(out, "&updated_at_min=", 16) < 0 ||
		    apiclient_put_escaped(out, iso) < 0 || apiclient_put_escaped(out, "+00:00") < 0)
			return -1;
	}
	/*
	 * The next page as the last answer described it: a cursor (>= 2024-10,
	 * also when an older version is served as a newer one), else a number.
	 */
	if (q->cursor != NULL && *q->cursor != '\0') {
		if (buf_append(out, "&cursor=", 8) < 0 || apiclient_put_escaped(out, q->cursor) < 0)
			return -1;
	} else if (q->page > 1 && buf_printf(out, "&page=%ld", q->page) < 0)
		return -1;
	for (size_t i = 0; i < q->nnumbers && i < CARRIER_LOOKUP_MAX; i++)
		if (buf_append(out, i == 0 ? "&tracking_numbers=" : "%2C",
		    i == 0 ? 18 : 3) < 0 || apiclient_put_escaped(out, q->numbers[i]) < 0)
			return -1;
	return out->len > CARRIER_MAX_URL ? -1 : 0;
}

int
carrier_body_create(const struct carrier_api *api, const struct carrier_new *n,
    struct buf *out)
{
	json_object *t = json_object_new_object(), *root = t;
	int rc = -1;

	if (t == NULL || n->tracking_number == NULL)
		goto err;
	json_object_object_add(t, "tracking_number",
	    json_object_new_string(n->tracking_number));
	if (n->slug != NULL)
		json_object_object_add(t, "slug", json_object_new_string(n->slug));
	if (n->order_id != NULL)
		json_object_object_add(t, "order_id", json_object_new_string(n->order_id));
	if (api->wrapped) {
		if ((root = json_object_new_object()) == NULL) {
			root = t;
			goto err;
		}
		json_object_object_add(root, "tracking", t);
	}
	rc = json_to_buf(root, out);
err:
	json_object_put(root);
	return rc;
}

/*
 * Carrier names as marketplaces write them, reduced to lower-case letters
 * and digits, and the slug AfterShip knows the carrier by.  A name not
 * listed (or "Other") is left to AfterShip's detection.
 */
static const struct {
	const char *name, *slug;
} slugs[] = {
	{ "ups", "ups" }, { "unitedparcelservice", "ups" },
	{ "fedex", "fedex" }, { "federalexpress", "fedex" },
	{ "fedexground", "fedex" }, { "fedexexpress", "fedex" },
	{ "usps", "usps" }, { "unitedstatespostalservice", "usps" },
	{ "uspostalservice", "usps" },
	{ "dhl", "dhl" }, { "dhlexpress", "dhl" },
	{ "amazon", "amazon" }, { "amazonlogistics", "amazon" },
	{ "amazonshipping", "amazon" }, { "amzl", "amazon" },
	{ "royalmail", "royal-mail" }, { "canadapost", "canada-post" },
	{ "australiapost", "australia-post" }, { "dpd", "dpd" },
	{ "gls", "gls" }, { "ontrac", "ontrac" }, { "lasership", "lasership" },
};

const char *
carrier_slug_for(const char *carrier_name)
{
	char key[48];
	size_t n = 0;

	if (carrier_name == NULL)
		return NULL;
	for (const char *p = carrier_name; *p != '\0'; p++) {
		if (!isalnum((unsigned char)*p))
			continue;
		if (n + 1 >= sizeof(key))
			return NULL;
		key[n++] = (char)tolower((unsigned char)*p);
	}
	key[n] = '\0';
	for (size_t i = 0; i < sizeof(slugs) / sizeof(slugs[0]); i++)
		if (strcmp(key, slugs[i].name) == 0)
			return slugs[i].slug;
	return NULL;
}

/* --- answers ------------------------------------------------------------ */

static json_object *
parse_json(const char *text, size_t len)
{
	struct json_tokener *tok;
	json_object *obj;

	if (len == 0 || len > CARRIER_MAX_BODY ||
	    (tok = json_tokener_new_ex(CARRIER_MAX_DEPTH)) == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (obj != NULL && json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

static void
read_list(json_object *data, struct carrier_response *r, size_t *n,
    json_object **arr)
{
	json_object *pg = json_get_obj(data, "pagination", json_type_object);
	const char *cur;

	*arr = json_get_obj(data, "trackings", json_type_array);
	*n = *arr ? json_object_array_length(*arr) : 0;
	if (pg != NULL) {
		json_object *more = json_get_obj(pg, "has_next_page", json_type_boolean);
		cur = json_get_token(pg, "next_cursor", CARRIER_MAX_CURSOR);
		r->has_next = more != NULL && json_object_get_boolean(more) &&
		    cur != NULL;
		if (r->has_next)
			snprintf(r->next_cursor, sizeof(r->next_cursor), "%s", cur);
		return;
	}
	r->page = get_long(data, "page", 1);
	r->limit = get_long(data, "limit", CARRIER_LIST_LIMIT);
	r->count = get_long(data, "count", 0);
	r->has_next = *n > 0 && (int64_t)r->page * r->limit < r->count;
}

int
carrier_response_parse(enum carrier_op op, int http, const char *body,
    size_t len, struct carrier_response *r)
{
	json_object *meta, *data, *one = NULL, *arr = NULL;
	const char *s;
	size_t n = 1;

	memset(r, 0, sizeof(*r));
	r->http = http;
	if (body == NULL)
		body = "", len = 0;	/* an answer with no body at all */
	if ((r->root = parse_json(body, len)) == NULL ||
	    !json_object_is_type(r->root, json_type_object)) {
		/* A plain-text 5xx, a proxy's HTML page, a body cut short. */
		char first[120];
		const char *nl = memchr(body, '\n', len);
		text_clean_copy(first, sizeof(first), body, nl ? (size_t)(nl - body) : len);
		snprintf(r->message, sizeof(r->message), "HTTP %d%s%s%s", http,
		    first[0] ? " \"" : ", unreadable body", first,
		    first[0] ? "\" (not JSON)" : "");
		json_object_put(r->root);
		r->root = NULL;
		return -1;
	}
	meta = json_get_obj(r->root, "meta", json_type_object);
	r->code = (int)get_long(meta, "code", 0);
	if ((s = json_get_str(meta, "message", 1000)) != NULL)
		text_clean_copy(r->message, sizeof(r->message), s, strlen(s));
	if ((s = json_get_token(meta, "type", sizeof(r->type) - 1)) != NULL)
		snprintf(r->type, sizeof(r->type), "%s", s);
	if (r->message[0] == '\0')
		snprintf(r->message, sizeof(r->message), "HTTP %d", http);
	data = json_get_obj(r->root, "data", json_type_object);
	if (http < 200 || http > 299 || data == NULL)
		return 0;
	if (op == CARRIER_LIST)
		read_list(data, r, &n, &arr);
	else if ((one = json_get_obj(data, "tracking", json_type_object)) == NULL)
		one = data;	/* wrapped ({"tracking": ..}) or not, whatever the version */
	if (n == 0)
		return 0;
	if ((r->trackings = calloc(n, sizeof(*r->trackings))) == NULL) {
		json_object_put(r->root);
		r->root = NULL;
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		json_object *t = op == CARRIER_LIST ? json_object_array_get_idx(arr, i) : one;
		if (carrier_tracking_parse(t, &r->trackings[r->ntrackings]) == 0)
			r->ntrackings++;
		else
			carrier_tracking_free(&r->trackings[r->ntrackings]);
	}
	return 0;
}

void
carrier_response_free(struct carrier_response *r)
{
	for (size_t i = 0; i < r->ntrackings; i++)
		carrier_tracking_free(&r->trackings[i]);
	free(r->trackings);
	r->trackings = NULL;
	r->ntrackings = 0;
	json_object_put(r->root);
	r->root = NULL;
}

enum carrier_outcome
carrier_classify(int http, bool parsed)
{
	if (http >= 200 && http <= 299)
		return parsed ? CARRIER_OK : CARRIER_UNAVAILABLE;
	if (http == 401)
		return CARRIER_UNAUTHORIZED;
	if (http == 429)
		return CARRIER_RATE_LIMITED;
	if (http == 408 || (http >= 500 && http <= 599))
		return CARRIER_UNAVAILABLE;
	if (http >= 400 && http <= 499 && parsed)
		return CARRIER_REFUSED;
	return CARRIER_FAILED;
}

const char *
carrier_outcome_name(enum carrier_outcome o)
{
	static const char *const names[] = {
		[CARRIER_OK] = "ok", [CARRIER_REFUSED] = "refused",
		[CARRIER_UNAUTHORIZED] = "unauthorized",
		[CARRIER_RATE_LIMITED] = "rate limited",
		[CARRIER_UNAVAILABLE] = "unavailable", [CARRIER_STOPPED] = "stopped",
		[CARRIER_FAILED] = "failed",
	};

	return (unsigned)o < sizeof(names) / sizeof(names[0]) ? names[o] : "?";
}

const char *
carrier_op_name(enum carrier_op op)
{
	static const char *const names[] = {
		[CARRIER_CREATE] = "create", [CARRIER_GET] = "get",
		[CARRIER_LIST] = "list",
	};

	return (unsigned)op < CARRIER_OP__MAX ? names[op] : "?";
}

/* --- the paging guard ----------------------------------------------------- */

void
carrier_pager_init(struct carrier_pager *p, long max_pages)
{
	memset(p, 0, sizeof(*p));
	p->max_pages = max_pages < 1 ? 1 : max_pages;
	p->power = 1;
}

/*
 * What identifies a page: the cursor it leads to, else its trackings (the
 * first, the last and how many: pages of a sound list never share one).
 */
static void
page_key(const struct carrier_response *r, char *key, size_t keysz)
{
	const struct carrier_tracking *first = &r->trackings[0],
	    *last = &r->trackings[r->ntrackings - 1];

	if (r->next_cursor[0] != '\0')
		snprintf(key, keysz, "cursor %s", r->next_cursor);
	else
		snprintf(key, keysz, "page %zu %s %s", r->ntrackings,
		    first->id ? first->id : first->tracking_number,
		    last->id ? last->id : last->tracking_number);
}

enum carrier_paging
carrier_pager_next(struct carrier_pager *p, const struct carrier_response *r)
{
	char key[sizeof(p->saved)];

	p->pages++;
	if (!r->has_next || r->ntrackings == 0)
		return CARRIER_PAGE_LAST;
	page_key(r, key, sizeof(key));
	if (p->saved_set && strcmp(key, p->saved) == 0)
		return CARRIER_PAGE_REPEATED;
	if (p->pages >= p->max_pages)
		return CARRIER_PAGE_CAPPED;
	/* Brent: keep a key for 1, 2, 4, ... pages, then save a later one. */
	if (!p->saved_set || p->steps == p->power) {
		memcpy(p->saved, key, sizeof(p->saved));
		p->saved_set = true;
		p->power *= 2;
		p->steps = 0;
	}
	p->steps++;
	return CARRIER_PAGE_NEXT;
}

/* --- headers ------------------------------------------------------------- */

void
carrier_headers_init(struct carrier_headers *h)
{
	memset(h, 0, sizeof(*h));
	h->limit = h->remaining = -1;
	h->reset_s = h->retry_after_s = h->retry_at_s = -1;
}

/*
 * Retry-After in its other form, an HTTP-date (all three of RFC 9110's
 * forms start with the day's name), read by libcurl: Unix seconds within
 * [0, CARRIER_MAX_HEADER_S], or -1.
 */
static int64_t
header_date(const char *v, size_t len)
{
	char tmp[64];
	time_t t;

	if (len == 0 || len >= sizeof(tmp) || !isalpha((unsigned char)v[0]))
		return -1;
	memcpy(tmp, v, len);
	tmp[len] = '\0';
	if ((t = curl_getdate(tmp, NULL)) < 0)
		return -1;
	return (int64_t)t > CARRIER_MAX_HEADER_S ? CARRIER_MAX_HEADER_S : (int64_t)t;
}

void
carrier_header_line(struct carrier_headers *h, const char *line, size_t len)
{
	struct apiclient_header hd;
	const char *v;
	size_t vlen;

	if (!apiclient_header_split(line, len, &hd))
		return;
	v = hd.value;
	vlen = hd.value_len;
#define IS(name) apiclient_header_is(&hd, name)
	if (IS("X-RateLimit-Limit"))
		h->limit = (long)num_whole_digits(v, vlen, CARRIER_MAX_HEADER_COUNT);
	else if (IS("X-RateLimit-Remaining"))
		h->remaining = (long)num_whole_digits(v, vlen, CARRIER_MAX_HEADER_COUNT);
	else if (IS("X-RateLimit-Reset"))
		h->reset_s = num_whole_digits(v, vlen, CARRIER_MAX_HEADER_S);
	else if (IS("Retry-After")) {
		h->retry_after_s = num_whole_digits(v, vlen, CARRIER_MAX_HEADER_S);
		h->retry_at_s = h->retry_after_s < 0 ? header_date(v, vlen) : -1;
	} else if (IS("as-api-version"))
		text_clean_copy(h->api_version, sizeof(h->api_version), v, vlen);
	else if (IS("Content-Type"))
		h->json = vlen >= 16 && strncasecmp(v, "application/json", 16) == 0;
#undef IS
}

/* The parser saturated every header, so none of this can overflow. */
int64_t
carrier_retry_wait_ms(const struct carrier_headers *h, int64_t now_ms)
{
	int64_t until;

	if (h->retry_after_s >= 0)
		return h->retry_after_s * 1000;
	if (h->retry_at_s >= 0)
		until = h->retry_at_s * 1000;
	else if (h->reset_s > 0)
		until = h->reset_s * 1000 + CARRIER_RESET_GRACE_MS;
	else
		return 1000;
	return until > now_ms ? until - now_ms : 0;
}
