/*
 * store_carrier: the store room's SQL for carrier data.
 *
 *   due         which shipments the poller must register (no AfterShip id
 *               yet) or reconcile (next_poll_ms passed): numbered, not
 *               final (Delivered, Expired), not rejected;
 *   match       which shipments a tracking from the service concerns: by
 *               its id or legacy id, else an unregistered shipment with
 *               the same number (push webhooks and list pages alike);
 *   apply       one tracking onto one shipment, only if its updated_at is
 *               newer than the stored one (the rule that makes push and
 *               pull agree): tag, subtag, dates, and the checkpoints as a
 *               de-duplicated union; plus, for a fetch, the bookkeeping
 *               (checked_at, next_poll_ms, errors cleared);
 *   fail/reject a per-shipment error for the operator view, with a growing
 *               back-off, or for good (next_poll_ms = INT64_MAX);
 *   stall       a shipment's stall episodes (sql/007): whether the rule of
 *               order.h says it is stalled now, and the episode it is in;
 *               which shipments a sweep must look at (stalled by the rule,
 *               not yet in an episode begun at their last scan).
 *
 * Nothing here begins or ends a transaction: apply_carrier.c does, so an
 * update and its order's recomputation commit together.
 */
#ifndef SHIPTRACK_STORE_CARRIER_H
#define SHIPTRACK_STORE_CARRIER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "carrier.h"
#include "store.h"

/* meta keys (store_meta_get); "poll." ones are GET /v1/stats's lastPoll. */
#define META_LIST_SYNC	"carrier.list_sync_ms"	/* start of the last complete list sync */
/* the end of the last run whose result was "ok" (/v1/stats lastSuccessfulPoll) */
#define META_POLL_OK	"poll_ok.finishedAt"

#define STORE_NEVER INT64_MAX	/* next_poll_ms of a shipment never polled again */

struct carrier_ship {
	int64_t id;
	char order_id[201];
	char tracking_number[CARRIER_MAX_NUMBER + 1];
	char carrier[101];			/* as the marketplace named it */
	char carrier_id[CARRIER_MAX_ID + 1];	/* "" until registered */
	char carrier_slug[CARRIER_MAX_SLUG + 1];
	char tag[24];
	int64_t next_poll_ms;
	long failures;
};

enum store_due { DUE_REGISTER, DUE_RECONCILE };

/* Ids of due shipments, most overdue first, at most limit; free(*ids). */
enum store_rc store_carrier_due(struct store *st, enum store_due kind,
    int64_t now_ms, long limit, int64_t **ids, size_t *n);
/* STORE_NONE when the shipment is gone. */
enum store_rc store_carrier_shipment(struct store *st, int64_t id,
    struct carrier_ship *out);
/* Whether any shipment has an AfterShip id. */
enum store_rc store_carrier_any_registered(struct store *st, bool *any);

/* The shipments one tracking concerns (one number in a few orders at most). */
#define STORE_MAX_MATCHES 32
struct carrier_matches {
	size_t n;
	struct {
		int64_t id;
		char order_id[201];
	} v[STORE_MAX_MATCHES];
};
enum store_rc store_carrier_match(struct store *st, const struct carrier_tracking *t,
    struct carrier_matches *m);

struct carrier_apply {
	bool adopt;		/* this tracking is the shipment's: take its id */
	bool fetched;		/* we fetched it: bookkeeping below */
	int64_t now_ms;
	int64_t next_poll_ms;	/* fetched: when to reconcile next */
};
/* *changed: something the views show changed (the order needs recomputing). */
enum store_rc store_carrier_apply(struct store *st, int64_t shipment_id,
    const struct carrier_tracking *t, const struct carrier_apply *how,
    bool *changed);

/* Record an error; next try after base_ms * 2^(failures so far), at most cap_ms. */
enum store_rc store_carrier_fail(struct store *st, int64_t shipment_id,
    const char *message, int64_t now_ms, int64_t base_ms, int64_t cap_ms);
/* Record an error and never poll the shipment again. */
enum store_rc store_carrier_reject(struct store *st, int64_t shipment_id,
    const char *message, int64_t now_ms);

/* --- stall episodes ----------------------------------------------------- */

/*
 * The latest bound of a shipment's best estimate, in SQL: the courier's,
 * else AfterShip's prediction, else Rye's.
 */
struct carrier_stall {
	char order_id[201];
	char tracking_number[CARRIER_MAX_NUMBER + 1];	/* "" while pending */
	char tag[24];
	long episode;		/* episodes begun so far */
	bool same_scan;		/* the latest episode began at the current last scan */
	bool open;		/* that episode has not ended */
	bool final;		/* Delivered or Expired */
	bool stalled;		/* shipment_is_stalled() now */
	char scan[CARRIER_MAX_DATE];	/* last_checkpoint_at; "" for none */
};
/* STORE_NONE when the shipment is gone. */
enum store_rc store_carrier_stall_get(struct store *st, int64_t id, int64_t now_ms,
    struct carrier_stall *out);
/* Begin episode out->episode + 1 at scan, now. */
enum store_rc store_carrier_stall_begin(struct store *st, int64_t id,
    const char *scan, const char *now_iso);
enum store_rc store_carrier_stall_end(struct store *st, int64_t id);
/* Shipments stalled now and not in an episode begun at their last scan. */
enum store_rc store_carrier_stall_due(struct store *st, int64_t now_ms, long limit,
    int64_t **ids, size_t *n);

#endif
