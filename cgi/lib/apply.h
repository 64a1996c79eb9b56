/*
 * apply: what a verified event does to the store, as one transaction.
 *
 *   insert the raw event (a duplicate id stops here: nothing else moves)
 *   -> merge the shipments a tracking event names
 *   -> recompute the order from the set of its events and shipments
 *
 * Recomputing from the set, rather than patching the previous state, is
 * what makes the result independent of arrival order.  The Rye pass's
 * records (rye_record.h) take the same path, with source "sync"; their
 * own effects are apply_rye.h's.  `shiptrack replay` (apply_replay.h)
 * uses the same functions inside one transaction over all events.
 */
#ifndef SHIPTRACK_APPLY_H
#define SHIPTRACK_APPLY_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "store.h"

/*
 * Store and apply one event, inside a transaction the caller opened (the
 * group commit, the Rye pass).  *duplicate is set when the id was already
 * stored (nothing changed).
 */
enum store_rc apply_event_in_tx(struct store *st, const struct event *ev,
    const char *body, size_t len, int64_t now_ms, bool *duplicate);
/*
 * ev is the next event the caller will store with apply_event_in_tx(), in
 * this transaction, after the one it stores now: its insert may go to a
 * server with this one's reads (store_event_insert_ahead()).  ev and body
 * must last until then.
 */
void apply_event_ahead(struct store *st, const struct event *ev,
    const char *body, size_t len, int64_t now_ms);

/*
 * A gen-2 shipment's event: it names no order until the Rye pass learns
 * the shipment's intent (store_rye.h); stored meanwhile with no order.
 */
bool apply_waits_for_intent(const struct event *ev);

/* The parts of apply_event_in_tx that need no insert (for replay); no transaction. */
enum store_rc apply_event_effects(struct store *st, const struct event *ev);

/*
 * Recompute an order's status, stage, dates from the store; no
 * transaction.  replay: keep updatedAt when nothing derived changed.
 */
enum store_rc apply_recompute_order(struct store *st, const char *order_id,
    int64_t now_ms, bool replay);

/* Keep a signed body we could not accept, inside the caller's transaction. */
enum store_rc apply_reject_in_tx(struct store *st, const char *scheme,
    const char *reason, const char *body, size_t len, int64_t now_ms);

#endif
