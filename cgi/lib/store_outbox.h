/*
 * store_outbox: the notification outbox (sql/003), for apply.c (which
 * queues), the outbox run (outbox_run.h, `shiptrack notify`), the operator
 * view and stats.
 *
 * Rows are queued by apply.c in the transaction of the stage change they
 * announce (store_notify_insert).  Delivery takes one row at a
 * time with a lease: store_notify_claim() is one write transaction that
 * first records, as an "interrupted" attempt, every lease a run took
 * and never gave back (it was killed mid-delivery), then picks the most
 * overdue pending row whose lease has expired and leases it with
 *
 *   UPDATE ... SET claimed_until_ms = now + lease, attempts = attempts + 1
 *   WHERE id = (SELECT ... due, unleased ... LIMIT 1) RETURNING ...
 *
 * so two runs can never hold the same row: the write lock makes the
 * pick and the lease one step.  store_notify_finish() records the
 * attempts and the new channel states in one transaction and gives the
 * lease back only if it is still the one this claim took.  A channel
 * state moves from 'pending' to 'sent', 'skipped' or 'failed' and never
 * back.
 */
#ifndef SHIPTRACK_STORE_OUTBOX_H
#define SHIPTRACK_STORE_OUTBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

/* Queue an announcement; a repeat of (order, stage, shipment) is ignored. */
struct notify_rec {
	const char *order_id, *stage, *previous_stage;
	const char *shipment;		/* "" for the order itself */
	const char *occurred_at;
	int64_t created_ms;
};
enum store_rc store_notify_insert(struct store *st, const struct notify_rec *n);

/* A leased row; the strings are owned (store_notify_claim_free). */
struct notify_claim {
	int64_t id, created_ms;
	int64_t lease_until_ms;		/* this claim's lease, its token */
	long attempts;			/* claims so far, this one included */
	bool webhook_pending, email_pending;
	char *uid, *order_id, *stage, *previous_stage, *shipment, *occurred_at;
};

/*
 * Reclaim expired leases (recording them), then lease the next due row.
 * STORE_OK with *c filled, STORE_NONE when nothing is due.  *reclaimed
 * (may be NULL) gets the number of abandoned leases found.
 */
enum store_rc store_notify_claim(struct store *st, int64_t now_ms,
    int64_t lease_ms, struct notify_claim *c, long *reclaimed);
void store_notify_claim_free(struct notify_claim *c);

struct notify_attempt {
	const char *channel;		/* "webhook", "email" */
	long status;			/* HTTP or SMTP code; 0: none */
	const char *error;		/* NULL on success */
};

struct notify_outcome {
	const char *webhook_state;	/* new state, or NULL to leave it */
	const char *email_state;
	int64_t next_attempt_ms;
	const char *last_error;		/* NULL: clear */
	const char *at;			/* ISO time of the attempts */
	struct notify_attempt attempt[2];
	int nattempts;
};

/* Record the attempts and the outcome of claim c, in one transaction. */
enum store_rc store_notify_finish(struct store *st, const struct notify_claim *c,
    const struct notify_outcome *o);

/*
 * Is this row's e-mail superseded (a later order-level row for the order,
 * or, for a parcel's row, the order's own row for the same stage)?
 */
enum store_rc store_notify_superseded(struct store *st,
    const struct notify_claim *c, bool *superseded);

/* --- reads --- */

struct notify_row {
	int64_t id, next_attempt_ms;
	long attempts;
	const char *uid, *stage, *previous_stage, *shipment, *occurred_at,
	    *webhook_state, *email_state, *last_error;
};
typedef int (*store_notify_cb)(void *arg, const struct notify_row *r);
/* An order's notifications, oldest first. */
enum store_rc store_order_notifications(struct store *st, const char *order_id,
    store_notify_cb cb, void *arg);

struct notify_attempt_row {
	const char *channel, *at, *error;
	long status;			/* 0: none */
};
typedef int (*store_attempt_cb)(void *arg, const struct notify_attempt_row *r);
/* One notification's attempts, in the order they were made. */
enum store_rc store_notify_attempts(struct store *st, int64_t notification_id,
    store_attempt_cb cb, void *arg);

/*
 * Rows by overall state, as cb(arg, "notifications", state, n): "pending"
 * (a channel still to go), else "failed" (a channel gave up), else "sent"
 * (a channel delivered), else "skipped".
 */
enum store_rc store_notify_counts(struct store *st, store_count_cb cb, void *arg);

/*
 * Stalls: cb(arg, "delayed", "notifications", n) for the "delayed" rows
 * queued (one per stall episode), cb(arg, "delayed", "stalledShipments", n)
 * for the shipments in an episode now.
 */
enum store_rc store_notify_delayed(struct store *st, store_count_cb cb, void *arg);

#endif
