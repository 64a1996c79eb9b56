/*
 * order: the rules that turn stored facts into an order's status and
 * stage.  Pure functions: no I/O, no allocation, no clock.
 *
 * Status is a fold over the order's events sorted by (createdAt, rank,
 * id), where rank is the event type's place in DESIGN.md's list, so the
 * result depends on the set of events and never on their arrival order.
 * An observation of the Rye pass (rye_record.h) states a status at the
 * time it was fetched: it sets that status, and it ranks above every
 * event type, so at equal times the API's word wins.  Rye's OrderStatus
 * is an open set: the six known values have an enum, any other
 * (ACTION_REQUIRED, PARTIALLY_CANCELLED, ...) is OS_OTHER with its text,
 * stored and shown as it is.  Its stage is "processing" unless the
 * shipments say more.
 *
 * Stage combines the status with the shipments' tags.  A shipment's tag
 * is AfterShip's once AfterShip knows the parcel; before that, Rye's
 * shipment status gives it (shipment_tag_of()).
 */
#ifndef SHIPTRACK_ORDER_H
#define SHIPTRACK_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum order_status {
	OS_PENDING, OS_PROCESSING, OS_SUCCEEDED, OS_FAILED,
	OS_CANCELLATION_IN_PROGRESS, OS_CANCELLED,
	OS_OTHER,	/* a status Rye added: its text travels beside the enum */
	OS__MAX
};
#define ORDER_STATUS_MAX 64	/* bytes of a status's text */

enum order_stage {
	STAGE_PROCESSING, STAGE_PLACED, STAGE_SHIPPED, STAGE_IN_TRANSIT,
	STAGE_OUT_FOR_DELIVERY, STAGE_AVAILABLE_FOR_PICKUP,
	STAGE_ATTEMPT_FAILED, STAGE_EXCEPTION, STAGE_DELIVERED,
	STAGE_PARTIALLY_DELIVERED, STAGE_EXPIRED, STAGE_FAILED,
	STAGE_CANCELLED, STAGE__MAX
};

/* AfterShip's closed set of nine tags. */
enum carrier_tag {
	TAG_PENDING, TAG_INFO_RECEIVED, TAG_IN_TRANSIT, TAG_OUT_FOR_DELIVERY,
	TAG_ATTEMPT_FAIL, TAG_DELIVERED, TAG_AVAILABLE_FOR_PICKUP,
	TAG_EXCEPTION, TAG_EXPIRED, TAG__MAX
};

enum effect_kind { EFFECT_NONE, EFFECT_SET, EFFECT_CANCEL_START, EFFECT_CANCEL_FAIL };

struct type_effect {
	enum effect_kind kind;
	enum order_status status;	/* for EFFECT_SET */
	int rank;			/* tie-break: later in the list wins */
};

/* The effect of an event type on the status (EFFECT_NONE, rank 0, if none). */
struct type_effect order_type_effect(const char *type);

/* One event as the fold sees it. */
struct order_event {
	int64_t created_ms;
	const char *type;
	const char *id;
	const char *status;	/* an observation's stated status, else NULL */
};

/* The effect of one event: its type's, or the status an observation states. */
struct type_effect order_event_effect(const struct order_event *e);

/* Compare two events in fold order (qsort-compatible on struct order_event). */
int order_event_cmp(const void *a, const void *b);

/*
 * Sorts evs in place and folds them; returns the status.  For OS_OTHER,
 * *other points at its text (inside evs); else it is set to NULL.
 */
enum order_status order_status_of(struct order_event *evs, size_t n,
    const char **other);

enum order_stage order_stage_of(enum order_status status,
    const enum carrier_tag *tags, size_t nshipments);

/*
 * Staleness: a shipment not yet final is stale when its last carrier scan
 * (or, before any scan, the time it was announced) is older than the
 * number of days its tag allows.  Waiting is normal for some tags longer
 * than for others: a parcel out for delivery for two days is stuck, one
 * in transit for two days is not.  days[tag] == 0 means never stale.
 */
struct stale_rules {
	long days[TAG__MAX];
};
#define STALE_RULES_DEFAULT \
	"Pending=5 InfoReceived=5 OutForDelivery=2 AttemptFail=3 Exception=3"

/* Every non-final tag gets default_days, then spec ("Tag=days ...") overrides. */
int  stale_rules_init(struct stale_rules *r, long default_days, const char *spec);
bool shipment_is_stale(const struct stale_rules *r, enum carrier_tag tag,
    int64_t last_scan_ms, bool has_scan, int64_t announced_ms, int64_t now_ms);

/*
 * Stall (the "delayed" notification): a shipment not yet final that is
 * stale by the rule above, or whose estimated delivery has passed with no
 * scan since it passed.  est_end_ms: the latest instant the best estimate
 * can mean (timefmt_latest_ms), < 0 when there is none.  A scan after the
 * estimate ends that reason for good: a parcel that is late but moving is
 * not stalled.
 */
bool shipment_is_stalled(const struct stale_rules *r, enum carrier_tag tag,
    int64_t last_scan_ms, bool has_scan, int64_t announced_ms,
    int64_t est_end_ms, int64_t now_ms);

/*
 * A parcel's tag as shown and staged: AfterShip's (carrier_tag) once
 * AfterShip knows it (carrier_known: carrier data stored) and says more
 * than Pending; before that Rye's shipment status (rye_status, may be
 * NULL): ordered Pending, shipped and delayed InTransit, out_for_delivery
 * OutForDelivery, delivered Delivered, canceled (and any status Rye adds)
 * Pending; the operator view shows Rye's status beside it.
 */
enum carrier_tag shipment_tag_of(const char *carrier_tag, bool carrier_known,
    const char *rye_status);

const char *order_status_name(enum order_status s);
const char *order_stage_name(enum order_stage s);
int order_status_parse(const char *name, enum order_status *out);
int order_stage_parse(const char *name, enum order_stage *out);
const char *carrier_tag_name(enum carrier_tag t);
/* Unknown or NULL tags read as Pending: the state is derived from tag only. */
enum carrier_tag carrier_tag_parse(const char *name);
bool carrier_tag_is_final(enum carrier_tag t);

#endif
