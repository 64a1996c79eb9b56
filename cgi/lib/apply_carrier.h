/*
 * apply_carrier: carrier data into the store, each piece in one
 * transaction (its own, or for the *_in_tx functions the caller's)
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
 *   apply_carrier_stalls    poller: the sweep over shipments that stalled
 *                           with time alone, one transaction each.
 *
 * Stalls ("delayed" notifications).  A shipment is stalled when the rule
 * of order.h (shipment_is_stalled: stale, or its estimate passed with no
 * scan since) says so.  Each time a shipment is applied, and in the sweep,
 * its episode is brought up to date in the same transaction: stalled, and
 * no episode began at its current last scan -> episode + 1, and one
 * "delayed" row in the outbox, for shipment "<tracking number>#<episode>"
 * (the outbox is unique per (order, stage, shipment), so an episode is
 * announced at most once, whatever re-polls, replays and duplicate pushes
 * do); a later scan, or a final tag, ends the open episode.  So one
 * stall, however long, is one notification, and a parcel that moves and
 * stalls again is announced again.
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

/* The stall episode of one shipment, inside the caller's transaction. */
enum store_rc apply_carrier_stall_in_tx(struct store *st, int64_t shipment_id,
    int64_t now_ms);

/*
 * The sweep: at most limit shipments stalled now and not yet announced,
 * each in its own transaction (dry run: rolled back).  *begun: episodes
 * begun.
 */
enum store_rc apply_carrier_stalls(struct store *st, int64_t now_ms, long limit,
    bool dry_run, long *begun);

/* Inside the caller's transaction (the receiver's group commit). */
enum store_rc apply_carrier_event_in_tx(struct store *st, const struct event *ev,
    const char *body, size_t len, int64_t now_ms, bool *duplicate);

#endif
