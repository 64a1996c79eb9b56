/*
 * view: an order as the API shows it (DESIGN.md "Shopper view").
 *
 * The shopper view is the order, its shipments and their checkpoints;
 * the operator view adds the stored events (with their source: webhook
 * or sync), each shipment's poll error and what Rye says about it, the
 * Rye pass's lastSync and syncError, and the order's notifications with
 * their delivery attempts (history of what shiptrack sent, so unlike the
 * rest it depends on arrival order).
 * Key order is fixed, so the same stored facts always give the same bytes
 * (the permutation test and ETags rely on it).
 */
#ifndef SHIPTRACK_VIEW_H
#define SHIPTRACK_VIEW_H

#include <json-c/json.h>

#include "store.h"

/* SUMMARY: the shopper view without checkpoints, for lists. */
enum view_kind { VIEW_SHOPPER, VIEW_OPERATOR, VIEW_SUMMARY };

/* STORE_OK with *out set, STORE_NONE for an unknown order, or an error. */
enum store_rc view_order(struct store *st, const char *order_id,
    enum view_kind kind, json_object **out);

/*
 * A page of the order list: {"orders":[summary, ...],"nextCursor":c},
 * at most f->limit (1 to VIEW_LIST_MAX) orders matching f, newest
 * first; c is the cursor (cursor.h) after the last one when more follow,
 * else null.  An order gone between the list and its view is left out.
 * STORE_OK with *out set, or an error.
 */
#define VIEW_LIST_MAX 200
enum store_rc view_order_list(struct store *st, const struct order_filter *f,
    json_object **out);

#endif
