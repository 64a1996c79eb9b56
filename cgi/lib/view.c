/*
 * view: see view.h.  Each callback adds one row's object to the array
 * it is handed; NULL strings become JSON null.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "cursor.h"
#include "store_facts.h"
#include "store_outbox.h"
#include "store_rye.h"
#include "timefmt.h"
#include "view.h"

struct view_ctx {
	struct store *st;
	enum view_kind kind;
	json_object *arr;
	enum store_rc rc;
};

static json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

static void
add(json_object *o, const char *key, json_object *v)
{
	json_object_object_add(o, key, v);
}

/* An object of n string fields (NULL: JSON null), appended to arr. */
static int
add_strings(json_object *arr, const char *const *keys, const char *const *vals,
    size_t n)
{
	json_object *o = json_object_new_object();

	for (size_t i = 0; i < n; i++)
		add(o, keys[i], str_or_null(vals[i]));
	json_object_array_add(arr, o);
	return 0;
}

static int
add_checkpoint(void *arg, const struct checkpoint_row *r)
{
	static const char *const keys[] = { "time", "tag", "subtag", "message",
	    "location" };
	const char *const vals[] = { r->time, r->tag, r->subtag, r->message,
	    r->location };

	return add_strings(arg, keys, vals, 5);
}

static json_object *
estimate(const char *source, const char *earliest, const char *latest)
{
	json_object *e = json_object_new_object();

	add(e, "source", json_object_new_string(source));
	add(e, "earliest", json_object_new_string(earliest ? earliest : latest));
	add(e, "latest", json_object_new_string(latest ? latest : earliest));
	return e;
}

/*
 * What else the carrier knows, after the older keys: the estimates by
 * source (the courier's, AfterShip's prediction, and Rye's only when
 * AfterShip has neither), where to collect the parcel (only while it is
 * waiting there), who signed for it (once delivered), and the carrier's
 * own tracking page.
 */
static void
add_carrier_facts(json_object *o, const struct shipment_row *r)
{
	json_object *est = json_object_new_array(), *pickup = NULL;
	bool aftership = false;

	if (r->est_carrier[0] != NULL || r->est_carrier[1] != NULL) {
		json_object_array_add(est, estimate("carrier", r->est_carrier[0],
		    r->est_carrier[1]));
		aftership = true;
	}
	if (r->est_predicted[0] != NULL || r->est_predicted[1] != NULL) {
		json_object_array_add(est, estimate("predicted", r->est_predicted[0],
		    r->est_predicted[1]));
		aftership = true;
	}
	if (!aftership && r->est_rye != NULL)
		json_object_array_add(est, estimate("rye", r->est_rye, r->est_rye));
	add(o, "estimates", est);
	if (r->tag != NULL && strcmp(r->tag, "AvailableForPickup") == 0 &&
	    r->pickup_location != NULL) {
		pickup = json_object_new_object();
		add(pickup, "location", json_object_new_string(r->pickup_location));
		add(pickup, "note", str_or_null(r->pickup_note));
	}
	add(o, "pickup", pickup);
	add(o, "signedBy", r->tag != NULL && strcmp(r->tag, "Delivered") == 0 ?
	    str_or_null(r->signed_by) : NULL);
	add(o, "carrierTrackingLink", str_or_null(r->carrier_tracking_link));
}

/* Operator only: what Rye says about the parcel (gen 2), or null. */
static json_object *
rye_of(const struct shipment_row *r)
{
	json_object *o;

	if (r->rye_shipment_id == NULL)
		return NULL;
	o = json_object_new_object();
	add(o, "shipmentId", json_object_new_string(r->rye_shipment_id));
	add(o, "status", str_or_null(r->rye_status));
	add(o, "estimatedDelivery", str_or_null(r->rye_estimated_delivery));
	add(o, "deliveredAt", str_or_null(r->rye_delivered_at));
	return o;
}

static int
add_shipment(void *arg, const struct shipment_row *r)
{
	struct view_ctx *c = arg;
	json_object *o = json_object_new_object(), *cps = json_object_new_array();

	add(o, "trackingNumber", str_or_null(r->tracking_number));
	add(o, "carrier", str_or_null(r->carrier));
	add(o, "trackingUrl", str_or_null(r->tracking_url));
	add(o, "tag", str_or_null(r->tag));
	add(o, "subtag", str_or_null(r->subtag));
	add(o, "subtagMessage", str_or_null(r->subtag_message));
	add(o, "expectedDelivery", str_or_null(r->expected_delivery));
	add(o, "deliveredAt", str_or_null(r->delivered_at));
	add(o, "lastCheckpointAt", str_or_null(r->last_checkpoint_at));
	add(o, "checkedAt", str_or_null(r->checked_at));
	add(o, "stale", json_object_new_boolean(r->stale));
	if (c->kind == VIEW_OPERATOR) {
		json_object *pe = NULL;
		if (r->poll_error != NULL) {
			pe = json_object_new_object();
			add(pe, "message", json_object_new_string(r->poll_error));
			add(pe, "at", str_or_null(r->poll_error_at));
		}
		add(o, "pollError", pe);
		add(o, "rye", rye_of(r));
	}
	json_object_array_add(c->arr, o);
	if (c->kind == VIEW_SUMMARY) {
		json_object_put(cps);
		add_carrier_facts(o, r);
		return 0;
	}
	add(o, "checkpoints", cps);
	add_carrier_facts(o, r);
	c->rc = store_shipment_checkpoints(c->st, r->id, add_checkpoint, cps);
	return c->rc == STORE_OK ? 0 : 1;
}

static int
add_event(void *arg, const struct event_row *r)
{
	static const char *const keys[] = { "id", "type", "createdAt", "receivedAt",
	    "source" };
	const char *const vals[] = { r->id, r->type, r->created_at, r->received_at,
	    r->source };

	return add_strings(arg, keys, vals, 5);
}

/* Operator only: when the Rye pass last read the order, and its last error. */
static enum store_rc
add_sync(struct store *st, const char *order_id, json_object *o)
{
	struct rye_sync_row r;
	json_object *err = NULL;
	enum store_rc rc = store_rye_sync_get(st, order_id, &r);

	if (rc != STORE_OK)
		return rc;
	if (r.sync_error[0] != '\0') {
		err = json_object_new_object();
		add(err, "message", json_object_new_string(r.sync_error));
		add(err, "at", r.sync_error_at[0] ? json_object_new_string(r.sync_error_at) :
		    NULL);
	}
	add(o, "lastSync", r.last_sync_at[0] ? json_object_new_string(r.last_sync_at) : NULL);
	add(o, "syncError", err);
	return STORE_OK;
}

static int
add_attempt(void *arg, const struct notify_attempt_row *r)
{
	json_object *arr = arg, *o = json_object_new_object();

	add(o, "channel", str_or_null(r->channel));
	add(o, "at", str_or_null(r->at));
	add(o, "status", r->status != 0 ? json_object_new_int64(r->status) : NULL);
	add(o, "error", str_or_null(r->error));
	json_object_array_add(arr, o);
	return 0;
}

/* Operator only: each notification, its channel states and attempts. */
static int
add_notification(void *arg, const struct notify_row *r)
{
	struct view_ctx *c = arg;
	json_object *o = json_object_new_object(), *at = json_object_new_array();
	bool pending = strcmp(r->webhook_state, "pending") == 0 ||
	    strcmp(r->email_state, "pending") == 0;
	char next[TIMEFMT_ISO_LEN];

	timefmt_iso_utc(r->next_attempt_ms, next);
	add(o, "id", str_or_null(r->uid));
	add(o, "stage", str_or_null(r->stage));
	add(o, "previousStage", str_or_null(r->previous_stage));
	add(o, "shipment", r->shipment != NULL && *r->shipment != '\0' ?
	    json_object_new_string(r->shipment) : NULL);
	add(o, "occurredAt", str_or_null(r->occurred_at));
	add(o, "webhook", str_or_null(r->webhook_state));
	add(o, "email", str_or_null(r->email_state));
	add(o, "nextAttemptAt", pending ? json_object_new_string(next) : NULL);
	add(o, "lastError", str_or_null(r->last_error));
	add(o, "attempts", at);
	json_object_array_add(c->arr, o);
	c->rc = store_notify_attempts(c->st, r->id, add_attempt, at);
	return c->rc == STORE_OK ? 0 : 1;
}

static int
set_order(void *arg, const struct order_row *r)
{
	json_object *o = arg;

	add(o, "id", str_or_null(r->id));
	add(o, "status", str_or_null(r->status));
	add(o, "stage", str_or_null(r->stage));
	add(o, "marketplace", str_or_null(r->marketplace));
	add(o, "createdAt", str_or_null(r->created_at));
	add(o, "updatedAt", str_or_null(r->updated_at));
	return 0;
}

/*
 * What is known about the buyer (store_facts.h).  The shopper view shows
 * only the order's language; the operator view every fact, and where each
 * came from.
 */
static enum store_rc
add_facts(struct store *st, const char *order_id, enum view_kind kind,
    json_object *o)
{
	struct facts f;
	json_object *ct, *from;
	enum store_rc rc = store_facts_get(st, order_id, &f);

	if (rc != STORE_OK && rc != STORE_NONE)
		return rc;
	if (kind == VIEW_SHOPPER) {
		add(o, "locale", rc == STORE_OK && f.known[FACT_LOCALE] ?
		    json_object_new_string(f.v[FACT_LOCALE]) : NULL);
		return STORE_OK;
	}
	if (rc == STORE_NONE) {
		add(o, "contact", NULL);
		return STORE_OK;
	}
	ct = json_object_new_object();
	from = json_object_new_object();
	for (enum fact k = 0; k < FACT__MAX; k++) {
		add(ct, fact_json_name(k), f.known[k] ?
		    json_object_new_string(f.v[k]) : NULL);
		if (f.known[k])
			add(from, fact_json_name(k),
			    json_object_new_string(facts_origin_name(f.from[k])));
	}
	add(ct, "from", from);
	add(o, "contact", ct);
	return STORE_OK;
}

enum store_rc
view_order(struct store *st, const char *order_id, enum view_kind kind,
    json_object **out)
{
	json_object *o = json_object_new_object();
	struct view_ctx c = { st, kind, json_object_new_array(), STORE_OK };
	enum store_rc rc;

	*out = NULL;
	rc = store_order_get(st, order_id, set_order, o);
	if (rc == STORE_OK && kind != VIEW_SUMMARY)
		rc = add_facts(st, order_id, kind, o);
	if (rc == STORE_OK && kind == VIEW_OPERATOR)
		rc = add_sync(st, order_id, o);
	if (rc == STORE_OK)
		rc = store_order_shipments(st, order_id, add_shipment, &c);
	if (rc == STORE_OK)
		rc = c.rc;
	add(o, "shipments", c.arr);
	if (rc == STORE_OK && kind == VIEW_OPERATOR) {
		json_object *evs = json_object_new_array();
		add(o, "events", evs);
		rc = store_order_events(st, order_id, add_event, evs);
	}
	if (rc == STORE_OK && kind == VIEW_OPERATOR) {
		struct view_ctx n = { st, kind, json_object_new_array(), STORE_OK };
		add(o, "notifications", n.arr);
		rc = store_order_notifications(st, order_id, add_notification, &n);
		if (rc == STORE_OK)
			rc = n.rc;
	}
	if (rc != STORE_OK) {
		json_object_put(o);
		return rc;
	}
	*out = o;
	return STORE_OK;
}

/* The keys of one page of the list, and one more when more follow. */
struct page {
	char *ids[VIEW_LIST_MAX + 1];
	int64_t ms[VIEW_LIST_MAX + 1];
	size_t n;
};

static int
page_add(void *arg, const char *id, int64_t ms)
{
	struct page *p = arg;

	if (p->n == VIEW_LIST_MAX + 1 || (p->ids[p->n] = strdup(id)) == NULL)
		return -1;
	p->ms[p->n++] = ms;
	return 0;
}

/* The summaries of the page's first n orders, into arr. */
static enum store_rc
page_views(struct store *st, const struct page *p, size_t n, json_object *arr)
{
	enum store_rc rc = STORE_OK;

	for (size_t i = 0; i < n && rc == STORE_OK; i++) {
		json_object *v = NULL;
		rc = view_order(st, p->ids[i], VIEW_SUMMARY, &v);
		if (rc == STORE_OK)
			json_object_array_add(arr, v);
		else if (rc == STORE_NONE)	/* gone since the list: skip */
			rc = STORE_OK;
	}
	return rc;
}

enum store_rc
view_order_list(struct store *st, const struct order_filter *f,
    json_object **out)
{
	struct order_filter one_more = *f;
	struct page p = { .n = 0 };
	char next[512] = "";
	json_object *arr;
	enum store_rc rc;
	size_t shown;

	*out = NULL;
	if (f->limit < 1 || f->limit > VIEW_LIST_MAX)
		return STORE_ERROR;
	one_more.limit = f->limit + 1;	/* one more tells whether a next page exists */
	if ((rc = store_orders_list(st, &one_more, page_add, &p)) == STORE_OK) {
		shown = p.n <= (size_t)f->limit ? p.n : (size_t)f->limit;
		if (p.n > shown)
			(void)cursor_encode(p.ms[shown - 1], p.ids[shown - 1], next,
			    sizeof(next));
		arr = json_object_new_array();
		rc = page_views(st, &p, shown, arr);
		*out = json_object_new_object();
		add(*out, "orders", arr);
		add(*out, "nextCursor", next[0] ? json_object_new_string(next) : NULL);
	}
	for (size_t i = 0; i < p.n; i++)
		free(p.ids[i]);
	if (rc != STORE_OK) {
		json_object_put(*out);
		*out = NULL;
	}
	return rc;
}
