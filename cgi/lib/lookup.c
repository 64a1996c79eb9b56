/*
 * lookup: see lookup.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>

#include "codec.h"
#include "lookup.h"
#include "sig.h"
#include "store_facts.h"
#include "store_lookup.h"

static bool
ascii_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
	    c == '\v';
}

static char
ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

bool
lookup_normalise(enum lookup_by by, const char *v, char out[LOOKUP_VALUE_MAX + 1])
{
	size_t n = 0, len;

	memset(out, 0, LOOKUP_VALUE_MAX + 1);
	if (v == NULL)
		return false;
	len = strlen(v);
	if (by == LOOKUP_EMAIL) {
		while (len > 0 && ascii_space(v[len - 1]))
			len--;
		while (len > 0 && ascii_space(*v))
			v++, len--;
	}
	for (size_t i = 0; i < len; i++) {
		if (by == LOOKUP_POSTAL && ascii_space(v[i]))
			continue;
		if (n == LOOKUP_VALUE_MAX) {
			memset(out, 0, LOOKUP_VALUE_MAX + 1);
			return false;
		}
		out[n++] = ascii_lower(v[i]);
	}
	return n > 0;
}

/* A string member of at most max bytes, no NUL inside; NULL otherwise. */
static const char *
body_string(json_object *root, const char *key, size_t max)
{
	json_object *v;
	const char *s;

	if (!json_object_object_get_ex(root, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	if (strlen(s) != (size_t)json_object_get_string_len(v) || strlen(s) > max)
		return NULL;
	return s;
}

bool
lookup_request_parse(json_object *root, struct lookup_req *req)
{
	char norm[LOOKUP_VALUE_MAX + 1];

	if (root == NULL || !json_object_is_type(root, json_type_object) ||
	    json_object_object_length(root) != 2)
		return false;
	req->order_number = body_string(root, "orderNumber", LOOKUP_NUMBER_MAX);
	req->by = LOOKUP_EMAIL;
	if ((req->value = body_string(root, "email", LOOKUP_VALUE_MAX)) == NULL) {
		req->by = LOOKUP_POSTAL;
		req->value = body_string(root, "postalCode", LOOKUP_VALUE_MAX);
	}
	return req->order_number != NULL && *req->order_number != '\0' &&
	    req->value != NULL && lookup_normalise(req->by, req->value, norm);
}

bool
lookup_equal(const char a[LOOKUP_VALUE_MAX + 1], const char b[LOOKUP_VALUE_MAX + 1])
{
	return CRYPTO_memcmp(a, b, LOOKUP_VALUE_MAX + 1) == 0;
}

void
lookup_limit_key(const char *secret, char kind, const char *value,
    char out[LOOKUP_LIMIT_KEY_LEN])
{
	unsigned char mac[SIG_MAC_LEN];
	char msg[LOOKUP_VALUE_MAX + 8];
	int n = snprintf(msg, sizeof(msg), "%c:%s", kind, value);

	/* A value too long to have been accepted is cut: it still gets a key. */
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = (int)sizeof(msg) - 1;
	sig_hmac_sha256(secret, strlen(secret), msg, (size_t)n, mac);
	out[0] = kind;
	out[1] = ':';
	codec_hex_encode(mac, sizeof(mac), out + 2);
	out[LOOKUP_LIMIT_KEY_LEN - 1] = '\0';
	OPENSSL_cleanse(mac, sizeof(mac));
}

/* Over the limit?  *retry_s: seconds until key's window frees a slot. */
static enum store_rc
over_limit(struct store *st, const char *key, const struct lookup_limits *lim,
    int64_t now_ms, bool *over, long *retry_s)
{
	int64_t oldest;
	long n;
	enum store_rc rc = store_lookup_failures(st, key, now_ms - lim->window_ms,
	    lim->max, &n, &oldest);

	if (rc != STORE_OK || n < lim->max)
		return rc;
	*over = true;
	if (oldest >= 0) {
		int64_t wait = (oldest + lim->window_ms - now_ms + 999) / 1000;
		long w = wait < 1 ? 1 : wait > lim->window_ms / 1000 ?
		    (long)(lim->window_ms / 1000) : (long)wait;
		if (w > *retry_s)
			*retry_s = w;
	}
	return STORE_OK;
}

/*
 * Does one of the orders with this number match?  Every candidate's value
 * is compared, and a dummy when there is none, so the work does not tell
 * whether the number exists.
 */
static enum store_rc
find(struct store *st, const struct lookup_req *req,
    const char want[LOOKUP_VALUE_MAX + 1], char order_id[201], bool *found)
{
	static const char dummy[LOOKUP_VALUE_MAX + 1] = "\x01";
	enum fact field = req->by == LOOKUP_EMAIL ? FACT_EMAIL : FACT_POSTAL_CODE;
	struct lookup_candidates c;
	char have[LOOKUP_VALUE_MAX + 1];
	enum store_rc rc = store_lookup_candidates(st, req->order_number, &c);

	*found = false;
	if (rc != STORE_OK)
		return rc;
	if (c.n == 0)
		(void)lookup_equal(want, dummy);
	for (size_t i = 0; i < c.n && rc == STORE_OK; i++) {
		struct facts f;
		bool ok;
		if ((rc = store_facts_get(st, c.id[i], &f)) == STORE_NONE) {
			rc = STORE_OK;
			continue;
		}
		/* The effective number: an operator's overrides Rye's. */
		ok = rc == STORE_OK && f.known[FACT_ORDER_NUMBER] &&
		    strcmp(f.v[FACT_ORDER_NUMBER], req->order_number) == 0 &&
		    f.known[field] && lookup_normalise(req->by, f.v[field], have);
		if (lookup_equal(want, ok ? have : dummy) && ok && !*found) {
			*found = true;
			snprintf(order_id, 201, "%s", c.id[i]);
		}
	}
	return rc;
}

static enum store_rc
lookup_tx(struct store *st, const struct lookup_req *req,
    const struct lookup_limits *lim, int64_t now_ms, char order_id[201],
    long *retry_s, enum lookup_rc *out)
{
	char ka[LOOKUP_LIMIT_KEY_LEN], kn[LOOKUP_LIMIT_KEY_LEN];
	char want[LOOKUP_VALUE_MAX + 1];
	bool over = false, found = false;
	enum store_rc rc;

	lookup_limit_key(lim->secret, 'a', req->client, ka);
	lookup_limit_key(lim->secret, 'n', req->order_number, kn);
	(void)lookup_normalise(req->by, req->value, want);
	rc = store_lookup_prune(st, now_ms - lim->window_ms);
	if (rc == STORE_OK)
		rc = over_limit(st, ka, lim, now_ms, &over, retry_s);
	if (rc == STORE_OK)
		rc = over_limit(st, kn, lim, now_ms, &over, retry_s);
	if (rc != STORE_OK || over) {
		*out = LOOKUP_LIMITED;
		return rc;
	}
	if ((rc = find(st, req, want, order_id, &found)) != STORE_OK)
		return rc;
	*out = found ? LOOKUP_FOUND : LOOKUP_NOT_FOUND;
	if (!found && (rc = store_lookup_fail(st, ka, now_ms)) == STORE_OK)
		rc = store_lookup_fail(st, kn, now_ms);
	return rc;
}

enum lookup_rc
lookup_run(struct store *st, const struct lookup_req *req,
    const struct lookup_limits *lim, int64_t now_ms, char order_id[201],
    long *retry_s, enum store_rc *rc)
{
	enum lookup_rc out = LOOKUP_NOT_FOUND;

	order_id[0] = '\0';
	*retry_s = 1;
	if ((*rc = store_begin(st)) != STORE_OK)
		return LOOKUP_FAILED;
	*rc = lookup_tx(st, req, lim, now_ms, order_id, retry_s, &out);
	if (*rc == STORE_OK)
		*rc = store_commit(st);
	if (*rc != STORE_OK) {
		store_rollback(st);
		return LOOKUP_FAILED;
	}
	return out;
}
