/*
 * store_facts: what is known about an order's buyer (sql/005, table
 * order_facts): the e-mail address notifications go to, the store's own
 * order number and the postal code shoppers look their order up by, the
 * country (for the time zone of e-mails) and the language.
 *
 * Facts come from two origins, one row each: the operator (PUT
 * /v1/orders/{id}/contact, `shiptrack contact`) and Rye (the Rye pass,
 * from the buyer data of the order).  A field's effective value is the
 * operator's when the operator set it, else Rye's: a sync never
 * overwrites what an operator typed, and an operator who clears a field
 * lets Rye's value show again.  That rule is facts_merge(), in C, not in
 * SQL.
 *
 * Values are validated by the caller (valid_address() for e-mail,
 * facts_value_ok() for the rest); the store keeps them as given.
 */
#ifndef SHIPTRACK_STORE_FACTS_H
#define SHIPTRACK_STORE_FACTS_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

enum facts_origin { FACTS_OPERATOR, FACTS_RYE, FACTS__MAX };

enum fact {
	FACT_EMAIL, FACT_ORDER_NUMBER, FACT_POSTAL_CODE, FACT_COUNTRY,
	FACT_LOCALE, FACT__MAX
};

/* Longest value of any fact (an e-mail address is at most 254 bytes). */
#define FACT_VALUE_MAX 254

/* One origin's row, or the effective merge of both. */
struct facts {
	bool known[FACT__MAX];
	char v[FACT__MAX][FACT_VALUE_MAX + 1];
	enum facts_origin from[FACT__MAX];	/* merged: where each came from */
};

/* A change: for each field with set[f], its new value (NULL clears it). */
struct facts_change {
	bool set[FACT__MAX];
	const char *v[FACT__MAX];
};

/* "operator", "rye"; the JSON names "email", "orderNumber", ... */
const char *facts_origin_name(enum facts_origin o);
const char *fact_json_name(enum fact f);
/* Bounds of a non-email fact: printable, no control bytes, <= its maximum. */
bool facts_value_ok(enum fact f, const char *v);

/*
 * Apply a change to origin's row, inside the caller's transaction.
 * require_order: STORE_NONE (nothing written) when no such order exists.
 */
enum store_rc store_facts_change(struct store *st, const char *order_id,
    enum facts_origin origin, const struct facts_change *c,
    const char *now_iso, bool require_order);
/* The same in a transaction of its own. */
enum store_rc store_facts_change_tx(struct store *st, const char *order_id,
    enum facts_origin origin, const struct facts_change *c,
    const char *now_iso, bool require_order);

/* Each origin's row (out[origin].known all false where there is none). */
enum store_rc store_facts_rows(struct store *st, const char *order_id,
    struct facts out[FACTS__MAX]);
/* The effective facts: operator over Rye, field by field. */
void facts_merge(const struct facts rows[FACTS__MAX], struct facts *out);
/* store_facts_rows + facts_merge; STORE_NONE when nothing is known. */
enum store_rc store_facts_get(struct store *st, const char *order_id,
    struct facts *out);

#endif
