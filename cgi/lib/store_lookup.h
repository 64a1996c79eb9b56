/*
 * store_lookup: the SQL of shoppers' lookups.
 *
 *   candidates  the orders whose facts (either origin) hold an order
 *               number; the caller checks each one's effective facts
 *               (store_facts_get), since an operator's number overrides
 *               Rye's;
 *   failures    the failed-lookup log of sql/007: one row per failure and
 *               key (an HMAC of the client address or of the order number,
 *               lookup.h), counted within the window and pruned behind it.
 *
 * Nothing here begins or ends a transaction: the caller does, so a count
 * and the failure it leads to are one step for every process.
 */
#ifndef SHIPTRACK_STORE_LOOKUP_H
#define SHIPTRACK_STORE_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* More orders than this sharing one order number are not looked at. */
#define LOOKUP_MAX_CANDIDATES 8

struct lookup_candidates {
	size_t n;
	char id[LOOKUP_MAX_CANDIDATES][STORE_ORDER_ID_MAX + 1];
};
enum store_rc store_lookup_candidates(struct store *st, const char *order_number,
    struct lookup_candidates *out);

/* Delete failures older than since_ms. */
enum store_rc store_lookup_prune(struct store *st, int64_t since_ms);
/*
 * key's failures since since_ms (*n), and when the one that must expire
 * for the count to drop below max happened (*oldest_ms; -1 when n < max).
 */
enum store_rc store_lookup_failures(struct store *st, const char *key,
    int64_t since_ms, long max, long *n, int64_t *oldest_ms);
enum store_rc store_lookup_fail(struct store *st, const char *key, int64_t now_ms);

#endif
