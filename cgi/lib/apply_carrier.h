/*
 * apply_carrier: carrier data into the store, each in one transaction
 * together with the recomputation of the orders it moves.
 *
 * The poller and AfterShip's push webhooks both end here and both go
 * through store_carrier_apply(), so a push and a poll of the same tracking
 * agree: whichever carries the newer updated_at wins, in either order.
 *
 *   apply_carrier_shipment  poller: one fetched tracking onto one shipment
 *                           (dry run: the same work, rolled back);
 *   apply_carrier_error     poller: a per-shipment error (with back-off, or
 *                           for good);
 *   apply_carrier_event_in_tx webhook: store the push event (de-duplicated on
 *                           event_id) filed under the order of the first
 *                           shipment its tracking matches, and apply the
 *                           tracking to every shipment it matches.  An
 *                           event for a tracking we do not know is stored
 *                           with no order.
 */
#ifndef SHIPTRACK_APPLY_CARRIER_H
#define SHIPTRACK_APPLY_CARRIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carrier.h"
#include "event.h"
#include "store.h"
#include "store_carrier.h"

enum store_rc apply_carrier_shipment(struct store *st, int64_t shipment_id,
    const char *order_id, const struct carrier_tracking *t,
    const struct carrier_apply *how, bool dry_run, bool *changed);

enum store_rc apply_carrier_error(struct store *st, int64_t shipment_id,
    const char *message, bool for_good, int64_t now_ms, int64_t base_ms,
    int64_t cap_ms);

/* Inside the caller's transaction (the receiver's group commit). */
enum store_rc apply_carrier_event_in_tx(struct store *st, const struct event *ev,
    const char *body, size_t len, int64_t now_ms, bool *duplicate);

#endif
