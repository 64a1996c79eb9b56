/*
 * order: see order.h.  The tables here are the contract's lists, in the
 * contract's order; the rank of a status-bearing type is its index + 1.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "order.h"

/* OS_OTHER has no name of its own: its text comes with it. */
static const char *const status_names[OS__MAX] = {
	"PENDING", "PROCESSING", "SUCCEEDED", "FAILED",
	"CANCELLATION_IN_PROGRESS", "CANCELLED", NULL,
};

static const char *const stage_names[STAGE__MAX] = {
	"processing", "placed", "shipped", "in_transit", "out_for_delivery",
	"available_for_pickup", "attempt_failed", "exception", "delivered",
	"partially_delivered", "expired", "failed", "cancelled",
};

static const char *const tag_names[TAG__MAX] = {
	"Pending", "InfoReceived", "InTransit", "OutForDelivery", "AttemptFail",
	"Delivered", "AvailableForPickup", "Exception", "Expired",
};

/* DESIGN.md "Order state", in its order: later in the list wins ties. */
static const struct {
	const char *type;
	enum effect_kind kind;
	enum order_status status;
} type_rules[] = {
	{ "ORDER_SUBMISSION_STARTED", EFFECT_SET, OS_PROCESSING },
	{ "ORDER_SUBMISSION_SUCCEEDED", EFFECT_SET, OS_PROCESSING },
	{ "ORDER_PLACED", EFFECT_SET, OS_SUCCEEDED },
	{ "TRACKING_OBTAINED", EFFECT_SET, OS_SUCCEEDED },
	{ "ORDER_FAILED", EFFECT_SET, OS_FAILED },
	{ "PAYMENT_FAILED", EFFECT_SET, OS_FAILED },
	{ "ORDER_CANCEL_STARTED", EFFECT_CANCEL_START, OS_CANCELLATION_IN_PROGRESS },
	{ "ORDER_CANCEL_SUCCEEDED", EFFECT_SET, OS_CANCELLED },
	{ "ORDER_CANCEL_FAILED", EFFECT_CANCEL_FAIL, OS_PENDING },
	{ "checkout_intent.completed", EFFECT_SET, OS_SUCCEEDED },
	{ "checkout_intent.order_failed", EFFECT_SET, OS_FAILED },
	{ "checkout_intent.offer_failed", EFFECT_SET, OS_FAILED },
};

struct type_effect
order_type_effect(const char *type)
{
	struct type_effect e = { EFFECT_NONE, OS_PENDING, 0 };

	for (size_t i = 0; type != NULL && i < sizeof(type_rules) / sizeof(type_rules[0]); i++)
		if (strcmp(type, type_rules[i].type) == 0) {
			e.kind = type_rules[i].kind;
			e.status = type_rules[i].status;
			e.rank = (int)i + 1;
			break;
		}
	return e;
}

/* Above every type: at equal times an observation (the API's word) wins. */
#define OBSERVATION_RANK ((int)(sizeof(type_rules) / sizeof(type_rules[0])) + 1)

struct type_effect
order_event_effect(const struct order_event *ev)
{
	struct type_effect e = { EFFECT_SET, OS_OTHER, OBSERVATION_RANK };

	if (ev->status == NULL)
		return order_type_effect(ev->type);
	if (order_status_parse(ev->status, &e.status) == 0 &&
	    e.status == OS_CANCELLATION_IN_PROGRESS)
		e.kind = EFFECT_CANCEL_START;	/* a failure of it goes back */
	return e;
}

int
order_event_cmp(const void *a, const void *b)
{
	const struct order_event *x = a, *y = b;
	int rx, ry;

	if (x->created_ms != y->created_ms)
		return x->created_ms < y->created_ms ? -1 : 1;
	rx = order_event_effect(x).rank;
	ry = order_event_effect(y).rank;
	if (rx != ry)
		return rx < ry ? -1 : 1;
	return strcmp(x->id, y->id);
}

/* A status and, for OS_OTHER, its text. */
struct status_is {
	enum order_status s;
	const char *other;
};

enum order_status
order_status_of(struct order_event *evs, size_t n, const char **other)
{
	struct status_is status = { OS_PENDING, NULL }, before_cancel = status;

	qsort(evs, n, sizeof(*evs), order_event_cmp);
	for (size_t i = 0; i < n; i++) {
		struct type_effect e = order_event_effect(&evs[i]);
		struct status_is set = { e.status, e.status == OS_OTHER ?
		    evs[i].status : NULL };

		switch (e.kind) {
		case EFFECT_NONE:
			break;
		case EFFECT_SET:
			status = set;
			break;
		case EFFECT_CANCEL_START:
			/* A repeated start keeps the first pre-cancel status. */
			if (status.s != OS_CANCELLATION_IN_PROGRESS)
				before_cancel = status;
			status = set;
			status.s = OS_CANCELLATION_IN_PROGRESS;
			break;
		case EFFECT_CANCEL_FAIL:
			/* Only a cancellation in progress can fail back. */
			if (status.s == OS_CANCELLATION_IN_PROGRESS)
				status = before_cancel;
			break;
		}
	}
	*other = status.other;
	return status.s;
}

static enum order_stage
stage_of_tag(enum carrier_tag t)
{
	switch (t) {
	case TAG_IN_TRANSIT: return STAGE_IN_TRANSIT;
	case TAG_OUT_FOR_DELIVERY: return STAGE_OUT_FOR_DELIVERY;
	case TAG_ATTEMPT_FAIL: return STAGE_ATTEMPT_FAILED;
	case TAG_DELIVERED: return STAGE_DELIVERED;
	case TAG_AVAILABLE_FOR_PICKUP: return STAGE_AVAILABLE_FOR_PICKUP;
	case TAG_EXCEPTION: return STAGE_EXCEPTION;
	case TAG_EXPIRED: return STAGE_EXPIRED;
	default: return STAGE_SHIPPED;	/* Pending, InfoReceived */
	}
}

/*
 * Several shipments make one order stage.  Trouble first (an exception
 * or failed attempt on any parcel must be visible), then delivery (all:
 * delivered; some: partially_delivered), then the most advanced of the
 * parcels still moving; expired only when nothing else is left.
 */
static enum order_stage
stage_of_shipments(const enum carrier_tag *tags, size_t n)
{
	static const enum order_stage progress[] = {
		STAGE_OUT_FOR_DELIVERY, STAGE_AVAILABLE_FOR_PICKUP,
		STAGE_IN_TRANSIT, STAGE_SHIPPED,
	};
	bool seen[STAGE__MAX] = { false };
	size_t delivered = 0;

	for (size_t i = 0; i < n; i++) {
		enum order_stage s = stage_of_tag(tags[i]);
		seen[s] = true;
		delivered += s == STAGE_DELIVERED;
	}
	if (seen[STAGE_EXCEPTION])
		return STAGE_EXCEPTION;
	if (seen[STAGE_ATTEMPT_FAILED])
		return STAGE_ATTEMPT_FAILED;
	if (delivered == n)
		return STAGE_DELIVERED;
	if (delivered > 0)
		return STAGE_PARTIALLY_DELIVERED;
	for (size_t i = 0; i < sizeof(progress) / sizeof(progress[0]); i++)
		if (seen[progress[i]])
			return progress[i];
	return STAGE_EXPIRED;
}

enum order_stage
order_stage_of(enum order_status status, const enum carrier_tag *tags,
    size_t nshipments)
{
	if (status == OS_FAILED)
		return STAGE_FAILED;
	if (status == OS_CANCELLED)
		return STAGE_CANCELLED;
	if (nshipments > 0)
		return stage_of_shipments(tags, nshipments);
	return status == OS_SUCCEEDED ? STAGE_PLACED : STAGE_PROCESSING;
}

const char *
order_status_name(enum order_status s)
{
	return s < OS__MAX && status_names[s] != NULL ? status_names[s] : "PENDING";
}

const char *
order_stage_name(enum order_stage s)
{
	return s < STAGE__MAX ? stage_names[s] : "processing";
}

int
order_status_parse(const char *name, enum order_status *out)
{
	for (int i = 0; i < OS__MAX; i++)
		if (status_names[i] != NULL && strcmp(name, status_names[i]) == 0) {
			*out = (enum order_status)i;
			return 0;
		}
	return -1;
}

int
order_stage_parse(const char *name, enum order_stage *out)
{
	for (int i = 0; i < STAGE__MAX; i++)
		if (strcmp(name, stage_names[i]) == 0) {
			*out = (enum order_stage)i;
			return 0;
		}
	return -1;
}

const char *
carrier_tag_name(enum carrier_tag t)
{
	return t < TAG__MAX ? tag_names[t] : "Pending";
}

enum carrier_tag
carrier_tag_parse(const char *name)
{
	for (int i = 0; name != NULL && i < TAG__MAX; i++)
		if (strcmp(name, tag_names[i]) == 0)
			return (enum carrier_tag)i;
	return TAG_PENDING;
}

static const struct {
	const char *status;
	enum carrier_tag tag;
} rye_tags[] = {
	{ "ordered", TAG_PENDING },
	{ "shipped", TAG_IN_TRANSIT },
	{ "delayed", TAG_IN_TRANSIT },
	{ "out_for_delivery", TAG_OUT_FOR_DELIVERY },
	{ "delivered", TAG_DELIVERED },
	{ "canceled", TAG_PENDING },
};

enum carrier_tag
shipment_tag_of(const char *carrier_tag, bool carrier_known, const char *rye_status)
{
	enum carrier_tag t = carrier_tag_parse(carrier_tag);

	if ((carrier_known && t != TAG_PENDING) || rye_status == NULL)
		return t;
	for (size_t i = 0; i < sizeof(rye_tags) / sizeof(rye_tags[0]); i++)
		if (strcmp(rye_status, rye_tags[i].status) == 0)
			return rye_tags[i].tag;
	return TAG_PENDING;
}

bool
carrier_tag_is_final(enum carrier_tag t)
{
	return t == TAG_DELIVERED || t == TAG_EXPIRED;
}

int
stale_rules_init(struct stale_rules *r, long default_days, const char *spec)
{
	const char *p = spec != NULL ? spec : "";

	for (int t = 0; t < TAG__MAX; t++)
		r->days[t] = carrier_tag_is_final((enum carrier_tag)t) ? 0 : default_days;
	while (*p != '\0') {
		char name[32], *end;
		size_t len = strcspn(p, " \t"), klen = strcspn(p, "=");
		long days;
		int t;

		if (len == 0) {
			p++;
			continue;
		}
		if (klen >= len || klen >= sizeof(name))
			return -1;
		memcpy(name, p, klen);
		name[klen] = '\0';
		for (t = 0; t < TAG__MAX && strcmp(name, tag_names[t]) != 0; t++)
			;
		errno = 0;
		days = strtol(p + klen + 1, &end, 10);
		if (t == TAG__MAX || end != p + len || p[klen + 1] < '0' ||
		    p[klen + 1] > '9' || errno == ERANGE || days > 3650)
			return -1;
		r->days[t] = days;
		p += len;
	}
	return 0;
}

bool
shipment_is_stale(const struct stale_rules *r, enum carrier_tag tag,
    int64_t last_scan_ms, bool has_scan, int64_t announced_ms, int64_t now_ms)
{
	int64_t since = has_scan ? last_scan_ms : announced_ms;

	if (tag >= TAG__MAX || r->days[tag] == 0)
		return false;
	return now_ms - since > (int64_t)r->days[tag] * 86400000;
}

bool
shipment_is_stalled(const struct stale_rules *r, enum carrier_tag tag,
    int64_t last_scan_ms, bool has_scan, int64_t announced_ms,
    int64_t est_end_ms, int64_t now_ms)
{
	if (tag >= TAG__MAX || carrier_tag_is_final(tag))
		return false;
	if (shipment_is_stale(r, tag, last_scan_ms, has_scan, announced_ms, now_ms))
		return true;
	return est_end_ms >= 0 && now_ms > est_end_ms &&
	    (!has_scan || last_scan_ms <= est_end_ms);
}
