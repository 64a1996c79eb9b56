/*
 * rye_url: the Rye client's requests, pure: the URLs of the gen-2 REST
 * calls (each id checked, then percent-escaped) and the gen-1 GraphQL
 * body.  No network.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "apiclient.h"
#include "json.h"
#include "rye.h"
#include "rye_int.h"
#include "text.h"

const char rye_order_query[] =
    "query OrderById($id: ID!) { orderByID(id: $id) {"
    " id status marketplace marketplaceOrderIds"
    " cart { buyerIdentity { email postalCode } }"
    " shipments { carrierName carrierTrackingNumber carrierTrackingUrl }"
    " events { __typename id createdAt"
    " ... on OrderFailedOrderEvent { reason }"
    " ... on OrderCancelFailedOrderEvent { reason } } } }";


/* --- requests ------------------------------------------------------------ */

int
rye_url_check(const char *url)
{
	const char *host;

	if (url == NULL || strlen(url) > 1024 || !text_printable(url) ||
	    strpbrk(url, "?# ") != NULL)
		return -1;
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0)
		host = url + 7;
	else
		return -1;
	return *host == '\0' || *host == '/' ? -1 : 0;
}

/* The REST base, without trailing slashes or a trailing "/api/v1". */
static int
put_base(const char *base, struct buf *out)
{
	size_t len;

	if (rye_url_check(base) < 0)
		return -1;
	len = strlen(base);
	while (len > 0 && base[len - 1] == '/')
		len--;
	if (len >= 7 && strncmp(base + len - 7, "/api/v1", 7) == 0)
		len -= 7;
	while (len > 0 && base[len - 1] == '/')
		len--;
	buf_reset(out);
	return buf_append(out, base, len) < 0 || buf_append(out, "/api/v1/", 8) < 0 ?
	    -1 : 0;
}

static bool
id_ok(const char *id)
{
	return id != NULL && *id != '\0' && strlen(id) <= RYE_MAX_ID;
}

static int
put_paging(struct buf *out, const char *after, int limit)
{
	if (limit < 1 || limit > RYE_PAGE_MAX)
		limit = RYE_PAGE_MAX;
	if (buf_printf(out, "?limit=%d", limit) < 0)
		return -1;
	if (after != NULL && *after != '\0') {
		if (strlen(after) > RYE_MAX_CURSOR || buf_append(out, "&after=", 7) < 0 ||
		    apiclient_put_escaped(out, after) < 0)
			return -1;
	}
	return out->len > RYE_MAX_URL ? -1 : 0;
}

static int
url_one(const char *base, const char *what, const char *id, struct buf *out)
{
	if (!id_ok(id) || put_base(base, out) < 0 ||
	    buf_append(out, what, strlen(what)) < 0 || apiclient_put_escaped(out, id) < 0)
		return -1;
	return out->len > RYE_MAX_URL ? -1 : 0;
}

int
rye_url_intent(const char *base, const char *id, struct buf *out)
{
	return url_one(base, "checkout-intents/", id, out);
}

int
rye_url_shipment(const char *base, const char *id, struct buf *out)
{
	return url_one(base, "shipments/", id, out);
}

int
rye_url_shipments(const char *base, const char *intent_id, const char *after,
    int limit, struct buf *out)
{
	if (url_one(base, "checkout-intents/", intent_id, out) < 0 ||
	    buf_append(out, "/shipments", 10) < 0)
		return -1;
	return put_paging(out, after, limit);
}

int
rye_url_events(const char *base, const char *after, int limit, struct buf *out)
{
	if (put_base(base, out) < 0 || buf_append(out, "events", 6) < 0)
		return -1;
	return put_paging(out, after, limit);
}

/* base/what?key=ids[0]&key=ids[1]...&limit=n */
static int
url_by_ids(const char *base, const char *what, const char *key,
    const char *const *ids, size_t n, struct buf *out)
{
	if (n == 0 || n > RYE_IDS_MAX || put_base(base, out) < 0 ||
	    buf_append(out, what, strlen(what)) < 0 ||
	    buf_printf(out, "?limit=%zu", n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (!id_ok(ids[i]) || buf_printf(out, "&%s=", key) < 0 ||
		    apiclient_put_escaped(out, ids[i]) < 0)
			return -1;
	return out->len > RYE_MAX_URL ? -1 : 0;
}

int
rye_url_intents_by_id(const char *base, const char *const *ids, size_t n,
    struct buf *out)
{
	return url_by_ids(base, "checkout-intents", "id", ids, n, out);
}

int
rye_url_shipments_by_id(const char *base, const char *const *ids, size_t n,
    struct buf *out)
{
	return url_by_ids(base, "shipments", "ids", ids, n, out);
}

int
rye_body_order_by_id(const char *id, struct buf *out)
{
	json_object *root, *vars;
	int rc = -1;

	if (!id_ok(id) || (root = json_object_new_object()) == NULL)
		return -1;
	if ((vars = json_object_new_object()) == NULL)
		goto err;
	json_object_object_add(root, "query", json_object_new_string(rye_order_query));
	json_object_object_add(vars, "id", json_object_new_string(id));
	json_object_object_add(root, "variables", vars);
	rc = json_to_buf(root, out);
err:
	json_object_put(root);
	return rc;
}
