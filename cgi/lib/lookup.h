/*
 * lookup: how a shopper finds an order without its id (POST
 * /api/v1/lookup): the store's order number, exactly as written, with the
 * order's e-mail address or its postal code.
 *
 *   e-mail       equal after trimming ASCII whitespace at both ends,
 *                ignoring ASCII case;
 *   postal code  equal after removing every ASCII whitespace, ignoring
 *                ASCII case ("sw1a 1aa" is "SW1A1AA"; UK, NL, CA codes);
 *
 * against the order's effective facts (store_facts.h: the operator's over
 * Rye's).  Values are compared in constant time over fixed-size buffers,
 * and when no order has that number the comparison is still made, against
 * a dummy, so a wrong pair and an unknown number cost the same.
 *
 * Guessing is bounded: at most max failures per client address and,
 * separately, per order number within window_ms, counted in the database
 * (store_lookup.h) so the bound holds across processes.  The keys stored
 * are HMACs (keyed with lookup_secret) of the address and of the number,
 * never the values.  A client or number over the limit is answered
 * without looking and without writing another failure, so nobody can make
 * the table grow; failures older than the window are pruned as lookups go.
 * One write transaction holds the count, the look and the failure, so
 * concurrent lookups cannot pass the limit between them.
 */
#ifndef SHIPTRACK_LOOKUP_H
#define SHIPTRACK_LOOKUP_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "store.h"

#define LOOKUP_VALUE_MAX 254		/* an e-mail address at most */
#define LOOKUP_NUMBER_MAX 64		/* facts_value_ok()'s bound of orderNumber */
#define LOOKUP_LIMIT_KEY_LEN (2 + 2 * 32 + 1)	/* "a:" / "n:" + hex HMAC */

enum lookup_by { LOOKUP_EMAIL, LOOKUP_POSTAL };

struct lookup_req {
	const char *order_number;
	enum lookup_by by;
	const char *value;		/* the e-mail or the postal code, as typed */
	const char *client;		/* REMOTE_ADDR; "" when unknown */
};

struct lookup_limits {
	const char *secret;		/* lookup_secret */
	long max;			/* lookup_max_failures */
	int64_t window_ms;		/* lookup_window_seconds */
};

enum lookup_rc { LOOKUP_FOUND, LOOKUP_NOT_FOUND, LOOKUP_LIMITED, LOOKUP_FAILED };

/*
 * Normalise a value as typed for comparison into out, zero-padded to its
 * full size; false when nothing is left or it is too long.
 */
bool lookup_normalise(enum lookup_by by, const char *v,
    char out[LOOKUP_VALUE_MAX + 1]);
/*
 * The request a body asks for: exactly {"orderNumber", "email"} or
 * {"orderNumber", "postalCode"}, strings within their bounds, without
 * NUL, the value not empty once normalised.  Sets req's order_number, by
 * and value (pointing into root), not its client; false otherwise.
 */
bool lookup_request_parse(json_object *root, struct lookup_req *req);
/* Constant-time equality of two normalised values. */
bool lookup_equal(const char a[LOOKUP_VALUE_MAX + 1],
    const char b[LOOKUP_VALUE_MAX + 1]);
/* The stored key of a client address (kind 'a') or an order number ('n'). */
void lookup_limit_key(const char *secret, char kind, const char *value,
    char out[LOOKUP_LIMIT_KEY_LEN]);

/*
 * One lookup in one write transaction.  FOUND: order_id set.  LIMITED:
 * *retry_s is when the window frees a slot (1 to the window).  FAILED:
 * *rc says what the store said.
 */
enum lookup_rc lookup_run(struct store *st, const struct lookup_req *req,
    const struct lookup_limits *lim, int64_t now_ms, char order_id[201],
    long *retry_s, enum store_rc *rc);

#endif
