/*
 * rye_record: the records the Rye pass stores, built from the Rye
 * client's answers (rye.h).  Pure: no I/O, no clock.
 *
 * Webhooks are the fast path, Rye's API the truth: what the pass fetches
 * is stored in `events` like a webhook (source 'sync') and folded by the
 * same rules, so order state stays a function of the stored records.
 * Three kinds:
 *
 *   a swept gen-2 event   the event's own JSON text, byte for byte, under
 *                         its own id (a webhook of it is a duplicate);
 *   an observation        Rye's answer about one object at fetch time:
 *                         {"id","object":"observation","type","createdAt",
 *                         "source":{"type","id"},"data":<Rye's object>},
 *                         type rye2.intent.observed, rye2.shipment.observed
 *                         or rye1.order.observed;
 *   a gen-1 order event   an event embedded in an orderByID answer:
 *                         {"id":"sync:<its id>","object":"order_event",
 *                         "requestId","createdAt","data":<the event>}.
 *
 * Why an envelope: Rye's object holds neither the record's id nor the
 * time it was observed, and replay must re-derive both from the body.
 * "data" is Rye's text exactly as received (the client keeps each list
 * item's and orderByID's raw slice), so nothing Rye said is lost.
 *
 * Observation ids are deterministic: "obs:<kind>:<object id>:<digest>:<k>"
 * where digest is 16 hex digits of SHA-256 over the facts shiptrack reads
 * (state, buyer data, tracking, ...) and k the number of observations of
 * that object stored before.  The pass stores an observation only when its
 * digest differs from the latest one's, so an unchanged object fetched
 * again stores nothing; k keeps A -> B -> A three records, so the latest
 * observation always says what Rye says now.
 */
#ifndef SHIPTRACK_RYE_RECORD_H
#define SHIPTRACK_RYE_RECORD_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"
#include "rye.h"

#define RYE_RECORD_INTENT	"rye2.intent.observed"
#define RYE_RECORD_SHIPMENT	"rye2.shipment.observed"
#define RYE_RECORD_ORDER1	"rye1.order.observed"

#define RYE_DIGEST_LEN		16	/* hex digits */
#define RYE_RECORD_MAX_ID	(4 + 9 + RYE_MAX_ID + 1 + RYE_DIGEST_LEN + 24)

/*
 * A gen-2 intent state as an order status: completed SUCCEEDED, failed
 * FAILED, placing_order PROCESSING, requires_action ACTION_REQUIRED,
 * retrieving_offer and awaiting_confirmation PENDING; any other state its
 * own text in upper case (shown as it is).  -1 when state is NULL, empty
 * or not a word.
 */
int rye_record_intent_status(const char *state, char *out, size_t outsz);

/*
 * A GraphQL __typename as the webhook type it stands for:
 * TrackingObtainedOrderEvent -> TRACKING_OBTAINED (PascalCase, less the
 * "OrderEvent" suffix, to UPPER_SNAKE).  -1 when it is not a word.
 */
int rye_record_event_type(const char *type_name, char *out, size_t outsz);

/* The facts' digests (RYE_DIGEST_LEN hex digits + NUL). */
void rye_record_intent_digest(const struct rye_intent *i, char out[RYE_DIGEST_LEN + 1]);
void rye_record_shipment_digest(const struct rye_shipment *s,
    char out[RYE_DIGEST_LEN + 1]);
void rye_record_order_digest(const struct rye_order *o, char out[RYE_DIGEST_LEN + 1]);

/* "obs:<kind>:<id>:<digest>:<k>"; -1 if it does not fit. */
int rye_record_obs_id(char *out, size_t outsz, const char *kind, const char *id,
    const char *digest, long k);
/* The digest part of an observation id; false if id is none. */
bool rye_record_obs_digest(const char *obs_id, char out[RYE_DIGEST_LEN + 1]);

/* An observation's body (see above) into out. */
int rye_record_observation(struct buf *out, const char *id, const char *type,
    const char *created_at, const char *source_type, const char *source_id,
    const char *raw, size_t raw_len);
/* A gen-1 order event's body; its id is "sync:" + the event's own. */
int rye_record_order_event(struct buf *out, const char *id, const char *request_id,
    const char *created_at, const char *raw, size_t raw_len);

#endif
