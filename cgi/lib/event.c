/*
 * event: see event.h.  The shipments a tracking event names are
 * event_tracking.c's; the member readers are json.h's.
 */
#include "config.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "event.h"
#include "json.h"
#include "rye_record.h"
#include "text.h"

static enum event_rc
fail(char *why, size_t whysz, enum event_rc rc, const char *msg)
{
	snprintf(why, whysz, "%s", msg);
	return rc;
}

/* createdAt: ISO-8601 text, or Unix seconds as a number. */
static int
read_created(json_object *root, struct event *ev)
{
	json_object *v;

	if (!json_object_object_get_ex(root, "createdAt", &v))
		return -1;
	if (json_object_is_type(v, json_type_int)) {
		int64_t s = json_object_get_int64(v);
		if (s < 0 || s > 253402300799LL)
			return -2;
		ev->created.ms = s * 1000;
		ev->created.has_time = ev->created.has_offset = true;
	} else if (!json_object_is_type(v, json_type_string) ||
	    timefmt_parse(json_object_get_string(v), &ev->created) < 0)
		return -2;
	timefmt_iso_utc(ev->created.ms, ev->created_at);
	return 0;
}

/* AfterShip: ts (Unix seconds), else the tracking's updated_at. */
static int
read_ts(struct event *ev)
{
	json_object *v;
	const char *u;

	if (json_object_object_get_ex(ev->root, "ts", &v) &&
	    !json_object_is_type(v, json_type_null)) {
		int64_t s = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || s < 0 ||
		    s > 253402300799LL)
			return -2;
		ev->created.ms = s * 1000;
		ev->created.has_time = ev->created.has_offset = true;
	} else if ((u = json_get_text(ev->tracking_msg, "updated_at")) == NULL)
		return -1;
	else if (timefmt_parse(u, &ev->created) < 0)
		return -2;
	timefmt_iso_utc(ev->created.ms, ev->created_at);
	return 0;
}

static enum event_rc
check_id(const char *s, size_t max, char *why, size_t whysz, const char *name)
{
	if (strlen(s) > max || *s == '\0' || !text_printable(s)) {
		snprintf(why, whysz, "%s must be 1 to %zu printable characters", name, max);
		return EVENT_INVALID_FIELD;
	}
	return EVENT_OK;
}

static enum event_rc
parse_rye1(struct event *ev, char *why, size_t whysz)
{
	json_object *data = json_get_obj(ev->root, "data", json_type_object);

	if (!json_get_key(ev->root, "id", &ev->id) || !json_get_key(ev->root, "type", &ev->type) ||
	    !json_get_key(ev->root, "requestId", &ev->order_id))
		return fail(why, whysz, EVENT_INVALID_FIELD,
		    "id, type and requestId must be JSON strings without NUL");
	if (ev->type != NULL && strcmp(ev->type, "WEBHOOK_URL_VERIFICATION") == 0) {
		ev->challenge = json_get_text(data, "challenge");
		return ev->challenge ? EVENT_HANDSHAKE :
		    fail(why, whysz, EVENT_MISSING_FIELD, "data.challenge is missing");
	}
	ev->marketplace = json_get_text(data, "marketplace");
	if (ev->marketplace == NULL)
		ev->marketplace = json_get_text(ev->root, "marketplace");
	if (ev->type != NULL && strcmp(ev->type, "TRACKING_OBTAINED") == 0)
		ev->ntracking = event_extract_tracking(data, ev->tracking,
		    EVENT_MAX_TRACKING);
	return EVENT_OK;
}

/*
 * "<type>:<id>" when both are short printable words; the Rye pass looks
 * records up by it (a shipment's events wait for their intent).
 */
static void
set_subject(struct event *ev, const char *type, const char *id)
{
	ev->subject = NULL;
	if (type == NULL || id == NULL || *type == '\0' || *id == '\0' ||
	    strlen(type) > 64 || strlen(id) > EVENT_MAX_ID || !text_printable(type) ||
	    !text_printable(id) || strchr(type, ':') != NULL)
		return;
	snprintf(ev->subject_buf, sizeof(ev->subject_buf), "%s:%s", type, id);
	ev->subject = ev->subject_buf;
}

static enum event_rc
parse_rye2(struct event *ev, char *why, size_t whysz)
{
	json_object *source = json_get_obj(ev->root, "source", json_type_object);
	const char *stype = json_get_text(source, "type"), *sid;

	if (!json_get_key(ev->root, "id", &ev->id) || !json_get_key(ev->root, "type", &ev->type) ||
	    !json_get_key(source, "id", &sid))
		return fail(why, whysz, EVENT_INVALID_FIELD,
		    "id, type and source.id must be JSON strings without NUL");
	/*
	 * Rye's current docs answer source.id; an earlier revision echoed a
	 * challenge value (rye-api.md, correction 4): that one when present.
	 */
	if (ev->type != NULL &&
	    strcmp(ev->type, "webhook_endpoint.verification_challenge") == 0) {
		ev->challenge = json_get_text(json_get_obj(ev->root, "data", json_type_object),
		    "challenge");
		if (ev->challenge == NULL || *ev->challenge == '\0')
			ev->challenge = sid;
		return ev->challenge ? EVENT_HANDSHAKE : fail(why, whysz,
		    EVENT_MISSING_FIELD, "data.challenge and source.id are missing");
	}
	/* Only a checkout intent's id is an order id; a shipment's is not. */
	if ((stype != NULL && strcmp(stype, "checkout_intent") == 0) ||
	    (stype == NULL && ev->type != NULL &&
	    strncmp(ev->type, "checkout_intent.", 16) == 0))
		ev->order_id = sid;
	set_subject(ev, stype != NULL ? stype : ev->order_id != NULL ?
	    "checkout_intent" : NULL, sid);
	return EVENT_OK;
}

/* AfterShip push: the tracking in msg is applied by the store (apply_carrier). */
static enum event_rc
parse_aftership(struct event *ev, char *why, size_t whysz)
{
	if (!json_get_key(ev->root, "event_id", &ev->id) || !json_get_key(ev->root, "event", &ev->type))
		return fail(why, whysz, EVENT_INVALID_FIELD,
		    "event_id and event must be JSON strings without NUL");
	ev->tracking_msg = json_get_obj(ev->root, "msg", json_type_object);
	return EVENT_OK;
}

static enum event_rc
check_common(struct event *ev, char *why, size_t whysz)
{
	enum event_rc rc;
	int c;

	if (ev->id == NULL || ev->type == NULL)
		return fail(why, whysz, EVENT_MISSING_FIELD,
		    ev->id == NULL ? "id is missing" : "type is missing");
	if ((c = ev->scheme == SIG_AFTERSHIP ? read_ts(ev) :
	    read_created(ev->root, ev)) == -1)
		return fail(why, whysz, EVENT_MISSING_FIELD, "createdAt is missing");
	if (c < 0)
		return fail(why, whysz, EVENT_INVALID_FIELD,
		    "createdAt is not an ISO-8601 time");
	if ((rc = check_id(ev->id, EVENT_MAX_ID, why, whysz, "id")) != EVENT_OK ||
	    (rc = check_id(ev->type, EVENT_MAX_TYPE, why, whysz, "type")) != EVENT_OK)
		return rc;
	if (ev->order_id != NULL &&
	    (rc = check_id(ev->order_id, EVENT_MAX_ID, why, whysz, "order id")) != EVENT_OK)
		return rc;
	if (ev->marketplace != NULL &&
	    (strlen(ev->marketplace) > EVENT_MAX_TYPE || !text_printable(ev->marketplace)))
		ev->marketplace = NULL;
	return EVENT_OK;
}

/* A gen-1 type: upper case, digits and underscores (ORDER_PLACED). */
static bool
gen1_type(const char *t)
{
	if (t == NULL || !(*t >= 'A' && *t <= 'Z'))
		return false;
	return t[strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")] == '\0';
}

/*
 * The body must be of the generation its header names.  Gen 1 and gen 2
 * may share one secret, so a valid signature alone does not say which
 * parser the sender meant: gen-2 bytes read as gen 1 would be filed under
 * no order, or another one.  Gen 1: an upper-case type, and no
 * "object":"event"; gen 2: "object":"event" and a source object.
 */
static enum event_rc
check_shape(const struct event *ev, char *why, size_t whysz)
{
	const char *object = json_get_text(ev->root, "object");
	bool is_event = object != NULL && strcmp(object, "event") == 0;

	if (ev->scheme == SIG_RYE_V1 && (is_event || !gen1_type(ev->type)))
		return fail(why, whysz, EVENT_INVALID_FIELD, "not a gen-1 body"
		    " (upper-case type, no \"object\":\"event\"), yet signed"
		    " with Rye-Hmac-Signature-V1");
	if (ev->scheme == SIG_RYE_V2 &&
	    (!is_event || json_get_obj(ev->root, "source", json_type_object) == NULL))
		return fail(why, whysz, EVENT_INVALID_FIELD, "not a gen-2 body"
		    " (\"object\":\"event\" and a source), yet signed with"
		    " x-rye-signature");
	return EVENT_OK;
}

/*
 * The gen-1 types shared/spec/rye-webhooks.md lists as concerning an
 * order: each carries its requestId.  Others (URL verification, product
 * and store events, types Rye adds later) may have none.
 */
static const char *const gen1_order_types[] = {
	"PAYMENT_SUCCEEDED", "PAYMENT_FAILED", "PAYMENT_REFUNDED", "REFUND_CREATED",
	"ORDER_SUBMISSION_STARTED", "ORDER_SUBMISSION_SUCCEEDED", "ORDER_PLACED",
	"ORDER_FAILED", "ORDER_CANCEL_STARTED", "ORDER_CANCEL_SUCCEEDED",
	"ORDER_CANCEL_FAILED", "TRACKING_OBTAINED", NULL,
};

static enum event_rc
check_order_ref(const struct event *ev, char *why, size_t whysz)
{
	if (ev->scheme != SIG_RYE_V1 || ev->order_id != NULL)
		return EVENT_OK;
	for (const char *const *t = gen1_order_types; *t != NULL; t++)
		if (strcmp(ev->type, *t) == 0) {
			snprintf(why, whysz, "requestId is missing: %s concerns"
			    " an order", ev->type);
			return EVENT_MISSING_FIELD;
		}
	return EVENT_OK;
}

static enum event_rc
parse_envelope(struct event *ev, char *why, size_t whysz)
{
	switch (ev->scheme) {
	case SIG_RYE_V1:
		return parse_rye1(ev, why, whysz);
	case SIG_RYE_V2:
		return parse_rye2(ev, why, whysz);
	case SIG_AFTERSHIP:
		return parse_aftership(ev, why, whysz);
	default:
		return fail(why, whysz, EVENT_INVALID_FIELD, "unsupported sender");
	}
}

/* ---- the Rye pass's records ------------------------------------------- */

static const struct {
	const char *type;
	enum event_record record;
	enum sig_scheme scheme;
} record_types[] = {
	{ RYE_RECORD_INTENT, RECORD_INTENT, SIG_RYE_V2 },
	{ RYE_RECORD_SHIPMENT, RECORD_SHIPMENT, SIG_RYE_V2 },
	{ RYE_RECORD_ORDER1, RECORD_ORDER1, SIG_RYE_V1 },
};

/* An order status as stated: an upper-case word (unknown ones are kept). */
static const char *
status_word(struct event *ev, const char *s)
{
	size_t n = s != NULL ? strlen(s) : 0;

	if (n == 0 || n > EVENT_MAX_STATUS ||
	    s[strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")] != '\0')
		return NULL;
	memcpy(ev->status_buf, s, n + 1);
	return ev->status_buf;
}

/* gen 1 says SHOPIFY, its webhooks shopify: one spelling, the webhooks'. */
static void
lower_marketplace(struct event *ev, const char *m)
{
	size_t n = m != NULL ? strlen(m) : 0;

	ev->marketplace = NULL;
	if (n == 0 || n > EVENT_MAX_TYPE || !text_printable(m))
		return;
	for (size_t i = 0; i <= n; i++)
		ev->marketplace_buf[i] = (char)(m[i] >= 'A' && m[i] <= 'Z' ?
		    m[i] - 'A' + 'a' : m[i]);
	ev->marketplace = ev->marketplace_buf;
}

static enum event_rc
observation_of(struct event *ev, const char *sid, char *why, size_t whysz)
{
	char status[EVENT_MAX_STATUS + 1];

	switch (ev->record) {
	case RECORD_INTENT:
		ev->order_id = sid;
		set_subject(ev, "checkout_intent", sid);
		if (rye_record_intent_status(json_get_text(ev->data, "state"), status,
		    sizeof(status)) == 0)
			ev->status = status_word(ev, status);
		return EVENT_OK;
	case RECORD_SHIPMENT:
		if (!json_get_key(ev->data, "checkoutIntentId", &ev->order_id) ||
		    ev->order_id == NULL)
			return fail(why, whysz, EVENT_MISSING_FIELD,
			    "data.checkoutIntentId is missing");
		set_subject(ev, "shipment", sid);
		return EVENT_OK;
	default:
		ev->order_id = sid;
		set_subject(ev, "order1", sid);
		ev->status = status_word(ev, json_get_text(ev->data, "status"));
		lower_marketplace(ev, json_get_text(ev->data, "marketplace"));
		return EVENT_OK;
	}
}

static enum event_rc
parse_observation(struct event *ev, char *why, size_t whysz)
{
	const char *sid;
	size_t i;

	if (!json_get_key(ev->root, "id", &ev->id) || !json_get_key(ev->root, "type", &ev->type))
		return fail(why, whysz, EVENT_INVALID_FIELD,
		    "id and type must be JSON strings without NUL");
	for (i = 0; i < sizeof(record_types) / sizeof(record_types[0]); i++)
		if (ev->type != NULL && strcmp(ev->type, record_types[i].type) == 0 &&
		    ev->scheme == record_types[i].scheme)
			break;
	if (i == sizeof(record_types) / sizeof(record_types[0]))
		return fail(why, whysz, EVENT_INVALID_FIELD,
		    "not an observation of this generation");
	ev->record = record_types[i].record;
	if ((ev->data = json_get_obj(ev->root, "data", json_type_object)) == NULL)
		return fail(why, whysz, EVENT_MISSING_FIELD, "data is missing");
	if (!json_get_key(ev->data, "id", &sid) || sid == NULL)
		return fail(why, whysz, EVENT_MISSING_FIELD, "data.id is missing");
	return observation_of(ev, sid, why, whysz);
}

/* An event of a gen-1 orderByID answer: its type from data.__typename. */
static enum event_rc
parse_order_event(struct event *ev, char *why, size_t whysz)
{
	const char *tn;

	ev->record = RECORD_ORDER1_EVENT;
	if (ev->scheme != SIG_RYE_V1)
		return fail(why, whysz, EVENT_INVALID_FIELD, "an order event is gen 1");
	if (!json_get_key(ev->root, "id", &ev->id) ||
	    !json_get_key(ev->root, "requestId", &ev->order_id))
		return fail(why, whysz, EVENT_INVALID_FIELD,
		    "id and requestId must be JSON strings without NUL");
	ev->data = json_get_obj(ev->root, "data", json_type_object);
	tn = json_get_text(ev->data, "__typename");
	if (tn == NULL || rye_record_event_type(tn, ev->type_buf,
	    sizeof(ev->type_buf)) < 0)
		return fail(why, whysz, EVENT_MISSING_FIELD, "data.__typename is missing");
	ev->type = ev->type_buf;
	if (ev->order_id == NULL)
		return fail(why, whysz, EVENT_MISSING_FIELD, "requestId is missing");
	return EVENT_OK;
}

/* "observation", "order_event", or NULL for a sender's body. */
static const char *
record_object(const struct event *ev)
{
	const char *object = json_get_text(ev->root, "object");

	if (object != NULL && (strcmp(object, "observation") == 0 ||
	    strcmp(object, "order_event") == 0))
		return object;
	return NULL;
}

const char *
event_source(const struct event *ev)
{
	return ev->source != NULL ? ev->source : "webhook";
}

/* Parse the JSON of a body into ev; EVENT_OK or EVENT_INVALID_JSON. */
static enum event_rc
start(enum sig_scheme scheme, const char *body, size_t len, struct event *ev,
    char *why, size_t whysz)
{
	const char *bad;

	memset(ev, 0, sizeof(*ev));
	ev->scheme = scheme;
	if ((ev->root = json_parse_bounded(body, len, &bad)) == NULL)
		return fail(why, whysz, EVENT_INVALID_JSON, bad);
	if (!json_object_is_type(ev->root, json_type_object))
		return fail(why, whysz, EVENT_INVALID_JSON, "body is not a JSON object");
	return EVENT_OK;
}

static enum event_rc parse_sender_body(struct event *ev, char *why, size_t whysz);

enum event_rc
event_parse_record(enum sig_scheme scheme, const char *body, size_t len,
    struct event *ev, char *why, size_t whysz)
{
	const char *object;
	enum event_rc rc;

	if ((rc = start(scheme, body, len, ev, why, whysz)) != EVENT_OK)
		return rc;
	if ((object = record_object(ev)) == NULL)
		return parse_sender_body(ev, why, whysz);
	rc = strcmp(object, "observation") == 0 ? parse_observation(ev, why, whysz) :
	    parse_order_event(ev, why, whysz);
	return rc != EVENT_OK ? rc : check_common(ev, why, whysz);
}

enum event_rc
event_parse(enum sig_scheme scheme, const char *body, size_t len,
    struct event *ev, char *why, size_t whysz)
{
	enum event_rc rc;

	if ((rc = start(scheme, body, len, ev, why, whysz)) != EVENT_OK)
		return rc;
	if (record_object(ev) != NULL)
		return fail(why, whysz, EVENT_INVALID_FIELD, "a record of shiptrack's"
		    " Rye pass (\"object\":\"observation\" or \"order_event\"),"
		    " not a webhook");
	return parse_sender_body(ev, why, whysz);
}

/*
 * The checks run in this order, so a body wrong in several ways is
 * answered for the first: JSON, a field of the wrong JSON type, a
 * handshake (answered without id or createdAt), a missing or malformed
 * id, type or createdAt, the generation's shape, then the order reference.
 */
static enum event_rc
parse_sender_body(struct event *ev, char *why, size_t whysz)
{
	enum event_rc rc;

	rc = parse_envelope(ev, why, whysz);
	if (rc == EVENT_HANDSHAKE) {
		if (strlen(ev->challenge) > 512 || !text_printable(ev->challenge))
			rc = fail(why, whysz, EVENT_INVALID_FIELD,
			    "challenge is too long or not printable");
		else if ((rc = check_shape(ev, why, whysz)) == EVENT_OK)
			return EVENT_HANDSHAKE;
		ev->challenge = NULL;	/* nothing to answer */
		return rc;
	}
	if (rc != EVENT_OK || (rc = check_common(ev, why, whysz)) != EVENT_OK ||
	    (rc = check_shape(ev, why, whysz)) != EVENT_OK)
		return rc;
	return check_order_ref(ev, why, whysz);
}

void
event_free(struct event *ev)
{
	if (ev->root != NULL)
		json_object_put(ev->root);
	ev->root = NULL;
}
