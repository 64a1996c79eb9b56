/*
 * event: a webhook body, already verified, into one normalised event.
 *
 * Each sender's envelope (Rye gen 1, Rye gen 2, AfterShip push) is read
 * into the same struct: id, type, order id, createdAt, marketplace, the
 * handshake challenge if it is one, and for tracking events the shipments
 * found under any of the documented aliases.  An AfterShip push gives
 * event_id, event, ts and its tracking object (msg); the order it
 * concerns is found later, by the store, from the tracking.  Strings
 * point into the parsed json-c tree and live until event_free().
 *
 * Parsing is bounded: the body as json.h reads it (nesting depth, strict
 * JSON, valid UTF-8, no lone surrogate escape, no NaN or Infinity), and
 * the length of every field we keep.  Where json-c would read two
 * different texts as one value, the text is refused instead: an id that
 * is a number (clamped beyond 64 bits); ids, order ids and types must be
 * JSON strings.  Gen 1 and gen 2 may share a secret, so the signature
 * does not say which format was meant: a body must be of the generation
 * its header names.  Fields we do not understand are kept in the raw
 * body, which is stored as received, so a later parser can re-read them
 * (`shiptrack replay`).
 *
 * Records the Rye pass fetched (shiptrack-poll, poll_rye.c) are read by
 * event_parse_record(): a swept gen-2 event is a webhook body and parses
 * as one; an observation (Rye's answer about one object at one moment,
 * "object":"observation") and a gen-1 order's embedded event
 * ("object":"order_event") are envelopes around Rye's object, kept byte
 * for byte in "data" (rye_record.h builds them).  Everything derived from
 * them (order id, subject, the status an observation states) is read
 * from the body again, so replay re-derives it like any event's.  The
 * receiver uses event_parse(), which refuses both envelopes: a webhook
 * cannot pose as an answer of Rye's API.
 */
#ifndef SHIPTRACK_EVENT_H
#define SHIPTRACK_EVENT_H

#include <stddef.h>

#include <json-c/json.h>

#include "json.h"
#include "sig.h"
#include "timefmt.h"

#define EVENT_MAX_DEPTH JSON_MAX_DEPTH
#define EVENT_MAX_ID 200
#define EVENT_MAX_TYPE 100
#define EVENT_MAX_TRACKING 32
#define TRACKING_MAX_NUMBER 64
#define TRACKING_MAX_CARRIER 100
#define TRACKING_MAX_URL 2048
#define EVENT_MAX_SUBJECT (64 + 1 + EVENT_MAX_ID + 1)
#define EVENT_MAX_STATUS 64

struct tracking_ref {
	const char *number;	/* NULL: "tracking details pending" */
	const char *carrier;
	const char *url;	/* only http(s) URLs are kept */
};

/* What a body is: a sender's event, or a record of the Rye pass. */
enum event_record {
	RECORD_NONE,		/* an event as a sender sends it (webhook, swept) */
	RECORD_INTENT,		/* rye2.intent.observed: a gen-2 CheckoutIntent */
	RECORD_SHIPMENT,	/* rye2.shipment.observed: a gen-2 Shipment */
	RECORD_ORDER1,		/* rye1.order.observed: a gen-1 orderByID answer */
	RECORD_ORDER1_EVENT,	/* an event embedded in an orderByID answer */
};

struct event {
	enum sig_scheme scheme;
	enum event_record record;
	json_object *root;
	const char *id;
	const char *type;
	const char *order_id;	/* NULL when the event concerns no order */
	const char *marketplace;
	const char *challenge;	/* non-NULL for a URL-verification handshake */
	struct timeval_iso created;
	char created_at[TIMEFMT_ISO_LEN];	/* normalised UTC */
	size_t ntracking;
	struct tracking_ref tracking[EVENT_MAX_TRACKING];
	json_object *tracking_msg;	/* AfterShip push: msg, or NULL */
	/* gen 2 and records: "<source.type>:<source.id>", else NULL */
	const char *subject;
	/* observations: the order status stated (any upper-case word), else NULL */
	const char *status;
	json_object *data;		/* records: Rye's object */
	const char *source;		/* "sync", or NULL: "webhook"; set by the caller */
	char subject_buf[EVENT_MAX_SUBJECT];
	char status_buf[EVENT_MAX_STATUS + 1];
	char marketplace_buf[EVENT_MAX_TYPE + 1];
	char type_buf[EVENT_MAX_TYPE + 1];
};

enum event_rc {
	EVENT_OK,
	EVENT_HANDSHAKE,	/* answer ev->challenge; nothing to store */
	EVENT_INVALID_JSON,
	EVENT_MISSING_FIELD,
	EVENT_INVALID_FIELD,
};

/*
 * Parse body; on any rc but EVENT_OK/HANDSHAKE, why says what was wrong.
 * EVENT_INVALID_JSON: not (strict, lossless) JSON, or not an object.
 * EVENT_INVALID_FIELD: a field of the wrong type or form, or a body not
 * of the scheme's generation.  EVENT_MISSING_FIELD: no id, type or
 * createdAt, no challenge in a handshake, or a gen-1 order event without
 * requestId.
 */
enum event_rc event_parse(enum sig_scheme scheme, const char *body,
    size_t len, struct event *ev, char *why, size_t whysz);
/* The same, also accepting the Rye pass's records (never a handshake). */
enum event_rc event_parse_record(enum sig_scheme scheme, const char *body,
    size_t len, struct event *ev, char *why, size_t whysz);
/* "webhook" or "sync": where ev came from. */
const char *event_source(const struct event *ev);
void event_free(struct event *ev);

/*
 * Shipments of a TRACKING_OBTAINED data object: data.order, data, and each
 * element of data.shipments / data.order.shipments, de-duplicated by
 * number.  A tracking event with no number yields one pending entry.
 */
size_t event_extract_tracking(json_object *data, struct tracking_ref *out,
    size_t max);

#endif
