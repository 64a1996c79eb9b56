/*
 * rye_client_check: the Rye client (cgi/lib/rye.h) driven from the command
 * line, for tests/rye_client.py against tests/rye_stub.py.  Test-only.
 *
 *   RYE_CHECK_KEY=KEY rye_client_check [options] COMMAND [ARG...]
 *
 *   events          page through /api/v1/events with the client's pager
 *   intent ID       the checkout intent, then its shipments page by page
 *   shipment ID     one shipment
 *   order ID        gen-1 orderByID
 *   repeat N ID     GET the intent N times in a row
 *
 * Options: --base URL, --graphql URL, --scheme S, --rate R, --graphql-rate R,
 * --timeout S, --retries N, --waits N, --deadline S (from now), --max-pages N,
 * --limit N, --verbose.  The key comes from the environment, never argv.
 *
 * Output: one JSON object per line: each item read ({"event":…},
 * {"intent":…}, {"shipment":…}, {"order":…}), a {"call":…} line per call or
 * walk with its result, and {"stats":…} last.  Exit 2 when a call was
 * refused as unauthorized, 1 when one ended other than ok or not found,
 * 0 otherwise.
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "log.h"
#include "rye.h"
#include "timefmt.h"

static volatile sig_atomic_t stop_flag;
static int worst;		/* the exit status so far */

struct check {
	struct rye *c;
	size_t max_pages;
	int limit;
};

static void
on_signal(int sig)
{
	stop_flag = sig;
}

static void
put(json_object *o, const char *key, const char *s)
{
	json_object_object_add(o, key, s ? json_object_new_string(s) : NULL);
}

static void
emit(json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
	fflush(stdout);
	json_object_put(o);
}

/* {"call": name, "result", "http", "message", "error"} plus extras; notes the exit status. */
static json_object *
call_line(const char *name, const struct rye_answer *a)
{
	json_object *o = json_object_new_object();

	put(o, "call", name);
	put(o, "result", rye_result_name(a->result));
	json_object_object_add(o, "http", json_object_new_int(a->http));
	put(o, "message", a->message);
	put(o, "error", a->error_name[0] ? a->error_name : NULL);
	if (a->result == RYE_UNAUTHORIZED)
		worst = 2;
	else if (a->result != RYE_OK && a->result != RYE_NOT_FOUND && worst == 0)
		worst = 1;
	return o;
}

static void
walk_line(const char *name, const struct rye_answer *a, const struct rye_pager *p,
    size_t items, size_t skipped)
{
	json_object *o = call_line(name, a);

	json_object_object_add(o, "pages", json_object_new_int64((int64_t)p->pages));
	put(o, "stop", a->result == RYE_OK ? rye_pager_stop_name(p->stop) : NULL);
	json_object_object_add(o, "items", json_object_new_int64((int64_t)items));
	json_object_object_add(o, "skipped", json_object_new_int64((int64_t)skipped));
	emit(o);
}

/* --- events ------------------------------------------------------------------ */

static void
event_line(const struct rye_event *e)
{
	json_object *o = json_object_new_object();

	put(o, "event", e->id);
	put(o, "type", e->type);
	put(o, "createdAt", e->created_at);
	put(o, "sourceType", e->source_type);
	put(o, "sourceId", e->source_id);
	json_object_object_add(o, "raw", json_object_new_string_len(e->raw, (int)e->raw_len));
	emit(o);
}

static void
cmd_events(struct check *k)
{
	struct rye_pager p;
	struct rye_answer a;
	size_t items = 0, skipped = 0;

	rye_pager_init(&p, k->max_pages);
	do {
		if (rye_list_events(k->c, p.after, k->limit, &a) != RYE_OK)
			break;
		for (size_t i = 0; i < a.nevents; i++)
			event_line(&a.events[i]);
		items += a.nevents;
		skipped += a.skipped;
		if (!rye_pager_next(&p, &a))
			break;
		rye_answer_free(&a);
	} while (1);
	walk_line("events", &a, &p, items, skipped);
	rye_answer_free(&a);
	rye_pager_free(&p);
}

/* --- intents and shipments ---------------------------------------------------- */

static void
intent_line(const struct rye_intent *i)
{
	json_object *o = json_object_new_object(), *v = json_object_new_object();

	put(v, "id", i->id);
	put(v, "state", i->state);
	put(v, "createdAt", i->created_at);
	put(v, "referenceId", i->reference_id);
	put(v, "orderId", i->order_id);
	put(v, "failureCode", i->failure_code);
	put(v, "failureMessage", i->failure_message);
	put(v, "email", i->email);
	put(v, "postalCode", i->postal_code);
	put(v, "country", i->country);
	put(v, "firstName", i->first_name);
	put(v, "lastName", i->last_name);
	json_object_object_add(o, "intent", v);
	emit(o);
}

static json_object *
tracking_event_obj(const struct rye_tracking_event *e)
{
	json_object *v = json_object_new_object();

	put(v, "status", e->status);
	put(v, "description", e->description);
	put(v, "city", e->city);
	put(v, "province", e->province);
	put(v, "country", e->country);
	put(v, "local", e->time_local);
	put(v, "utc", e->time_utc);
	put(v, "displayDate", e->display_date);
	put(v, "displayTime", e->display_time);
	put(v, "location", e->location);
	return v;
}

static void
shipment_line(const struct rye_shipment *s)
{
	json_object *o = json_object_new_object(), *v = json_object_new_object();
	json_object *evs = json_object_new_array();

	put(v, "id", s->id);
	put(v, "checkoutIntentId", s->checkout_intent_id);
	put(v, "marketplaceOrderId", s->marketplace_order_id);
	put(v, "externalId", s->external_id);
	put(v, "status", s->status);
	put(v, "shippedAt", s->shipped_at);
	put(v, "deliveredAt", s->delivered_at);
	json_object_object_add(v, "hasTracking", json_object_new_boolean(s->has_tracking));
	put(v, "number", s->tracking_number);
	put(v, "carrierName", s->carrier_name);
	put(v, "url", s->tracking_url);
	put(v, "estimatedDelivery", s->estimated_delivery);
	for (size_t i = 0; i < s->nevents; i++)
		json_object_array_add(evs, tracking_event_obj(&s->events[i]));
	json_object_object_add(v, "events", evs);
	json_object_object_add(o, "shipment", v);
	emit(o);
}

static void
cmd_intent(struct check *k, const char *id)
{
	struct rye_pager p;
	struct rye_answer a;
	size_t items = 0, skipped = 0;

	if (rye_get_intent(k->c, id, &a) == RYE_OK)
		intent_line(&a.intent);
	emit(call_line("intent", &a));
	if (a.result != RYE_OK) {
		rye_answer_free(&a);
		return;
	}
	rye_answer_free(&a);
	rye_pager_init(&p, k->max_pages);
	do {
		if (rye_list_shipments(k->c, id, p.after, k->limit, &a) != RYE_OK)
			break;
		for (size_t i = 0; i < a.nshipments; i++)
			shipment_line(&a.shipments[i]);
		items += a.nshipments;
		skipped += a.skipped;
		if (!rye_pager_next(&p, &a))
			break;
		rye_answer_free(&a);
	} while (1);
	walk_line("shipments", &a, &p, items, skipped);
	rye_answer_free(&a);
	rye_pager_free(&p);
}

static void
cmd_shipment(struct check *k, const char *id)
{
	struct rye_answer a;

	if (rye_get_shipment(k->c, id, &a) == RYE_OK)
		shipment_line(&a.shipment);
	emit(call_line("shipment", &a));
	rye_answer_free(&a);
}

static void
cmd_repeat(struct check *k, long n, const char *id)
{
	struct rye_answer a;

	for (long i = 0; i < n && !stop_flag; i++) {
		rye_get_intent(k->c, id, &a);
		emit(call_line("intent", &a));
		rye_answer_free(&a);
	}
}

/* --- gen 1 ----------------------------------------------------------------------- */

static void
order_line(const struct rye_order *o)
{
	json_object *out = json_object_new_object(), *v = json_object_new_object();
	json_object *ids = json_object_new_array(), *sh = json_object_new_array();
	json_object *ev = json_object_new_array();

	put(v, "id", o->id);
	put(v, "status", o->status);
	put(v, "marketplace", o->marketplace);
	for (size_t i = 0; i < o->nmarketplace_order_ids; i++)
		json_object_array_add(ids, json_object_new_string(o->marketplace_order_ids[i]));
	for (size_t i = 0; i < o->nshipments; i++) {
		json_object *s = json_object_new_object();
		put(s, "carrierName", o->shipments[i].carrier_name);
		put(s, "number", o->shipments[i].tracking_number);
		put(s, "url", o->shipments[i].tracking_url);
		json_object_array_add(sh, s);
	}
	for (size_t i = 0; i < o->nevents; i++) {
		json_object *e = json_object_new_object();
		put(e, "typename", o->events[i].type_name);
		put(e, "id", o->events[i].id);
		put(e, "createdAt", o->events[i].created_at);
		put(e, "reason", o->events[i].reason);
		json_object_array_add(ev, e);
	}
	json_object_object_add(v, "marketplaceOrderIds", ids);
	json_object_object_add(v, "shipments", sh);
	json_object_object_add(v, "events", ev);
	json_object_object_add(out, "order", v);
	emit(out);
}

static void
cmd_order(struct check *k, const char *id)
{
	struct rye_answer a;
	json_object *o;

	if (rye_order_by_id(k->c, id, &a) == RYE_OK)
		order_line(&a.order);
	o = call_line("order", &a);
	json_object_object_add(o, "rawLength", json_object_new_int64((int64_t)a.body.len));
	emit(o);
	rye_answer_free(&a);
}

/* --- main ----------------------------------------------------------------------- */

static void
stats_line(const struct rye *c)
{
	const struct rye_stats *s = rye_stats(c);
	json_object *o = json_object_new_object(), *v = json_object_new_object();
	long sent = 0;

	for (int i = 0; i < RYE_OP__MAX; i++)
		sent += s->sent[i];
	json_object_object_add(v, "sent", json_object_new_int64(sent));
	json_object_object_add(v, "rateLimited", json_object_new_int64(s->rate_limited));
	json_object_object_add(v, "retries", json_object_new_int64(s->retries));
	json_object_object_add(v, "held", json_object_new_int64(s->held));
	json_object_object_add(o, "stats", v);
	emit(o);
}

static int
usage(void)
{
	fprintf(stderr, "usage: RYE_CHECK_KEY=KEY rye_client_check [options] "
	    "events | intent ID | shipment ID | order ID | repeat N ID\n");
	return 64;
}

/* Options into o and k; returns the index of the command, or -1. */
static int
options(int argc, char **argv, struct rye_opts *o, struct check *k)
{
	int i;

	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		const char *opt = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (strcmp(opt, "--verbose") == 0) {
			log_set_level(LL_DEBUG);
			continue;
		}
		if (v == NULL)
			return -1;
		i++;
		if (strcmp(opt, "--base") == 0)
			o->base_url = v;
		else if (strcmp(opt, "--graphql") == 0)
			o->graphql_url = v;
		else if (strcmp(opt, "--scheme") == 0)
			o->auth_scheme = v;
		else if (strcmp(opt, "--rate") == 0)
			o->rate = atof(v);
		else if (strcmp(opt, "--graphql-rate") == 0)
			o->graphql_rate = atof(v);
		else if (strcmp(opt, "--timeout") == 0)
			o->timeout_s = atol(v);
		else if (strcmp(opt, "--retries") == 0)
			o->max_retries = atoi(v);
		else if (strcmp(opt, "--waits") == 0)
			o->max_waits = atoi(v);
		else if (strcmp(opt, "--deadline") == 0)
			o->deadline_ms = timefmt_now_ms() + (int64_t)(atof(v) * 1000);
		else if (strcmp(opt, "--max-pages") == 0)
			k->max_pages = (size_t)atol(v);
		else if (strcmp(opt, "--limit") == 0)
			k->limit = atoi(v);
		else
			return -1;
	}
	return i < argc ? i : -1;
}

static int
run(struct check *k, int argc, char **argv, int i)
{
	const char *cmd = argv[i];

	if (strcmp(cmd, "events") == 0 && argc - i == 1)
		cmd_events(k);
	else if (strcmp(cmd, "intent") == 0 && argc - i == 2)
		cmd_intent(k, argv[i + 1]);
	else if (strcmp(cmd, "shipment") == 0 && argc - i == 2)
		cmd_shipment(k, argv[i + 1]);
	else if (strcmp(cmd, "order") == 0 && argc - i == 2)
		cmd_order(k, argv[i + 1]);
	else if (strcmp(cmd, "repeat") == 0 && argc - i == 3)
		cmd_repeat(k, atol(argv[i + 1]), argv[i + 2]);
	else
		return usage();
	stats_line(k->c);
	return worst;
}

int
main(int argc, char **argv)
{
	struct rye_opts o;
	struct check k = { NULL, 100, 100 };
	char err[256];
	int i, rc;

	log_init("rye_client_check", LL_INFO);
	rye_opts_default(&o);
	o.api_key = getenv("RYE_CHECK_KEY");
	o.stop = &stop_flag;
	if ((i = options(argc, argv, &o, &k)) < 0)
		return usage();
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	if ((k.c = rye_open(&o, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rye_client_check: %s\n", err);
		return 2;
	}
	rc = run(&k, argc, argv, i);
	rye_close(k.c);
	return rc;
}
