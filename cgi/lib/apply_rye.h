/*
 * apply_rye: what a record of the Rye pass (rye_record.h) does to the
 * store, inside the caller's transaction.  apply_event_effects() hands
 * every record here, live and in replay alike, so what a record does is
 * re-derived from its stored body:
 *
 *   rye2.intent.observed    the buyer's data (e-mail, the store's order
 *                           number, postal code, country) from the order's
 *                           latest intent observation, as the Rye origin of
 *                           order_facts (an operator's value still wins);
 *   rye2.shipment.observed  the shipment's waiting events now name its
 *                           intent; the parcel (number, carrier, URL, Rye's
 *                           status and dates) is merged into the order's
 *                           shipments if this observation is the newest,
 *                           and Rye's tracking events become its
 *                           checkpoints (shown until the carrier has some);
 *   rye1.order.observed     each of the order's shipments, like a
 *                           TRACKING_OBTAINED (keyed by the matching
 *                           embedded tracking event: see apply_rye.c), and
 *                           the buyer's data if the answer has it.
 *
 * The status an observation states is not applied here: the fold reads it
 * from the record (order.h), like any event's.
 */
#ifndef SHIPTRACK_APPLY_RYE_H
#define SHIPTRACK_APPLY_RYE_H

#include "event.h"
#include "store.h"

enum store_rc apply_rye_record(struct store *st, const struct event *ev);

#endif
