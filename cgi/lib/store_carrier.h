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

#include "store.h"

/* meta keys (store_meta_get); "poll." ones are GET /v1/stats's lastPoll. */
#define META_LIST_SYNC	"carrier.list_sync_ms"	/* start of the last complete list sync */
/* the end of the last run whose result was "ok" (/v1/stats lastSuccessfulPoll) */
#define META_POLL_OK	"poll_ok.finishedAt"

#define STORE_NEVER INT64_MAX	/* next_poll_ms of a shipment never polled again */

/*
 * Lengths of what the store keeps of the carrier service's data: the
 * AfterShip client's bounds (carrier.h; apply_carrier.c checks that they
 * agree), so that what one reads fits what the other writes.
 */
#define STORE_CARRIER_NUMBER_MAX 64
#define STORE_CARRIER_ID_MAX 64
#define STORE_CARRIER_SLUG_MAX 64
#define STORE_CARRIER_DATE_MAX 40

struct carrier_ship {
	int64_t id;
	char order_id[STORE_ORDER_ID_MAX + 1];
	char tracking_number[STORE_CARRIER_NUMBER_MAX + 1];
	char carrier[101];			/* as the marketplace named it */
	char carrier_id[STORE_CARRIER_ID_MAX + 1];	/* "" until registered */
	char carrier_slug[STORE_CARRIER_SLUG_MAX + 1];
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

/*
 * The shipments a tracking concerns (one number in a few orders at most):
 * by the service's id or legacy id (either may be NULL), else an
 * unregistered shipment with its number.
 */
#define STORE_MAX_MATCHES 32
struct carrier_matches {
	size_t n;
	struct {
		int64_t id;
		char order_id[STORE_ORDER_ID_MAX + 1];
	} v[STORE_MAX_MATCHES];
};
enum store_rc store_carrier_match(struct store *st, const char *id,
    const char *legacy_id, const char *tracking_number, struct carrier_matches *m);

/*
 * A tracking as the store takes it from the carrier service (the poller
 * and the receiver convert the client's, apply_carrier.c): strings NULL
 * when absent, never "".
 */
struct store_scan {
	const char *time_raw;		/* as the carrier wrote it */
	int64_t time_ms;		/* when time_ok */
	bool time_ok, has_offset;	/* time_raw was read; it had an offset */
	const char *tag, *subtag, *message, *location;
};
/* Estimates by who made them: the courier's own, the service's prediction. */
enum store_est { STORE_EST_CARRIER, STORE_EST_PREDICTED, STORE_EST__MAX };
struct store_tracking {
	const char *id, *legacy_id, *slug;
	const char *tag;		/* one of the nine, or NULL */
	const char *subtag, *subtag_message, *expected_delivery, *delivered_at;
	const char *est_earliest[STORE_EST__MAX], *est_latest[STORE_EST__MAX];
	const char *pickup_location, *pickup_note, *signed_by, *tracking_link;
	int64_t updated_ms;		/* when has_updated */
	bool has_updated;
	const struct store_scan *scans;
	size_t nscans;
};

struct carrier_apply {
	bool adopt;		/* this tracking is the shipment's: take its id */
	bool fetched;		/* we fetched it: bookkeeping below */
	int64_t now_ms;
	int64_t next_poll_ms;	/* fetched: when to reconcile next */
};
/* *changed: something the views show changed (the order needs recomputing). */
enum store_rc store_carrier_apply(struct store *st, int64_t shipment_id,
    const struct store_tracking *t, const struct carrier_apply *how,
    bool *changed);

/* Record an error; next try after base_ms * 2^(failures so far), at most cap_ms. */
enum store_rc store_carrier_fail(struct store *st, int64_t shipment_id,
    const char *message, int64_t now_ms, int64_t base_ms, int64_t cap_ms);
/* Record an error and never poll the shipment again. */
enum store_rc store_carrier_reject(struct store *st, int64_t shipment_id,
    const char *message, int64_t now_ms);

/* --- stall episodes ----------------------------------------------------- */

struct carrier_stall {
	char order_id[STORE_ORDER_ID_MAX + 1];
	char tracking_number[STORE_CARRIER_NUMBER_MAX + 1];	/* "" while pending */
	char tag[24];
	long episode;		/* episodes begun so far */
	bool same_scan;		/* the latest episode began at the current last scan */
	bool open;		/* that episode has not ended */
	bool final;		/* Delivered or Expired */
	bool stalled;		/* shipment_is_stalled() now */
	char scan[STORE_CARRIER_DATE_MAX];	/* last_checkpoint_at; "" for none */
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
