/*
 * store_rye: the store room's SQL for the Rye sync (sql/006).
 *
 *   records   what applying the Rye pass's records needs (apply_rye.c):
 *             the intent a shipment's subject belongs to, attaching a
 *             shipment's waiting events to it, the latest observation of
 *             an order, a Rye parcel merged into the order's shipments,
 *             Rye's tracking events of a parcel; reset for replay;
 *   pass      what the Rye pass of shiptrack-poll keeps between runs
 *             (poll_rye.c): which orders and shipments are due, when each
 *             was last read and what went wrong, with a back-off;
 *   view      an order's lastSync and syncError for the operator.
 *
 * Nothing here begins or ends a transaction; the callers do.
 */
#ifndef SHIPTRACK_STORE_RYE_H
#define SHIPTRACK_STORE_RYE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

/* --- records ------------------------------------------------------------ */

/*
 * The intent a "shipment:<id>" subject belongs to: the order the latest
 * of its records of type (the Rye pass's observations) names.
 */
enum store_rc store_rye_subject_order(struct store *st, const char *subject,
    const char *type, char *order_id, size_t order_id_sz);
/* Events of subject that named no order now name order_id. */
enum store_rc store_rye_resolve(struct store *st, const char *subject,
    const char *order_id);

/* The latest (createdAt, then arrival) record of type for order_id. */
typedef int (*store_body_cb)(void *arg, const char *id, const void *body,
    size_t len);
enum store_rc store_rye_latest(struct store *st, const char *order_id,
    const char *type, store_body_cb cb, void *arg);

/* How many records of type a subject has, and the id of the last stored. */
enum store_rc store_rye_subject_records(struct store *st, const char *subject,
    const char *type, long *count, char *last_id, size_t last_id_sz);

/* One Rye parcel as its latest observation says (gen 2). */
struct rye_parcel {
	const char *order_id, *rye_shipment_id;
	const char *tracking_number;	/* NULL: pending, keyed "rye:<shipment id>" */
	const char *carrier, *url;
	const char *status, *estimated_delivery, *delivered_at;
	const char *first_key;		/* orders the shipment (its createdAt) */
	const char *key;		/* the observation's: only newer ones apply */
};
/*
 * Merge p into the order's shipments: the row of that Rye shipment, or of
 * that tracking number (a pending row is folded into the numbered one).
 * *row: the shipment's id; *applied: false when a newer observation was
 * applied before (nothing changed).
 */
enum store_rc store_rye_parcel(struct store *st, const struct rye_parcel *p,
    int64_t *row, bool *applied);

struct rye_checkpoint {
	const char *time_raw;
	int64_t time_ms;
	bool time_ok, has_offset;
	const char *tag, *message, *location;
};
enum store_rc store_rye_checkpoint(struct store *st, int64_t row,
    const struct rye_checkpoint *c);

/* Replay: forget what the Rye records gave the shipments (not whose they are). */
enum store_rc store_rye_reset_derived(struct store *st);

/* --- pass ----------------------------------------------------------------- */

/* A trigger: a new event since the last run's mark (arrival order). */
struct rye_trigger {
	int64_t seq;
	const char *scheme, *type, *order_id, *subject;
};
typedef int (*store_trigger_cb)(void *arg, const struct rye_trigger *t);
/*
 * Events after after_seq, up to upto_seq, that may ask for a fetch (no
 * records of the pass itself).
 */
enum store_rc store_rye_triggers(struct store *st, int64_t after_seq,
    int64_t upto_seq, store_trigger_cb cb, void *arg);
/*
 * The largest seq at or below which every event is committed: a mark
 * moved up to it never passes one that commits later.  Where writers do
 * not serialise (PostgreSQL), it waits for the transactions inserting
 * events (busy_timeout at most: STORE_BUSY) and holds new ones back for
 * one read; call it outside a transaction.
 */
enum store_rc store_rye_settled_seq(struct store *st, int64_t *seq);

/* Whether events after seq include gen-1 / gen-2 ones (read only). */
enum store_rc store_rye_schemes(struct store *st, int64_t after_seq, bool *gen1,
    bool *gen2);

/* Gen 2: fetch order_id in the next run (a final one only if force). */
enum store_rc store_rye_want_intent(struct store *st, const char *order_id,
    bool force);
/* Gen 1: re-read order_id once it has been quiet until due_ms. */
enum store_rc store_rye_want_order1(struct store *st, const char *order_id,
    int64_t due_ms);
/* Gen 1: SUCCEEDED orders without a shipment created before before_ms and
 * not read since then are due now. */
enum store_rc store_rye_placed_due(struct store *st, int64_t before_ms);
/* Gen 2: fetch this shipment by id. */
enum store_rc store_rye_want_shipment(struct store *st, const char *shipment_id);

/* Due ids (freed by the caller: free each, then the array). */
struct rye_due {
	char **ids;
	bool *deep;		/* orders: due by the resync timer, not an event */
	size_t n;
};
void rye_due_free(struct rye_due *d);
enum store_rc store_rye_due_orders(struct store *st, int generation,
    int64_t now_ms, long limit, struct rye_due *out);
enum store_rc store_rye_due_shipments(struct store *st, int64_t now_ms,
    long limit, struct rye_due *out);

/* A read went well: final orders are not re-read; the rest at next_ms. */
enum store_rc store_rye_synced(struct store *st, const char *order_id,
    int64_t now_ms, bool final, int64_t next_ms);
/* A read failed: recorded, next try after base_ms * 2^failures, <= cap_ms. */
enum store_rc store_rye_failed(struct store *st, const char *order_id,
    const char *message, int64_t now_ms, int64_t base_ms, int64_t cap_ms);
enum store_rc store_rye_shipment_done(struct store *st, const char *shipment_id);
enum store_rc store_rye_shipment_failed(struct store *st, const char *shipment_id,
    const char *message, int64_t now_ms, int64_t base_ms, int64_t cap_ms);

/* Whether an order is final for the pass: nothing more will change. */
enum store_rc store_rye_is_final(struct store *st, const char *order_id,
    int generation, bool *final);

/* --- view ------------------------------------------------------------------- */

struct rye_sync_row {
	bool known;
	char last_sync_at[40];
	char sync_error[400];
	char sync_error_at[40];
};
enum store_rc store_rye_sync_get(struct store *st, const char *order_id,
    struct rye_sync_row *out);

#endif
