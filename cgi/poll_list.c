/*
 * poll_list: the carrier pass's list sync: every tracking the service
 * updated since the last complete sync (minus poll_sync_margin), all
 * pages, each applied to the shipments it matches by number.  At most
 * poll_max_pages pages, none after a page the service repeats, none
 * after the run's deadline; a sync cut short is not recorded as
 * complete (poll_pass.c records the cursor), so the next run lists again
 * from the same point.
 */
#include "config.h"

#include <limits.h>

#include "log.h"
#include "num.h"
#include "poll_pass.h"
#include "store_carrier.h"

static void on_list(void *arg, const struct carrier_result *res);

static void
queue_list_page(struct carrier_pass *p, const char *cursor)
{
	struct carrier_query q = {
		.updated_min_ms = p->list.since, .cursor = cursor, .page = p->list.page,
	};

	if (carrier_list(p->c, &q, on_list, p) < 0) {
		log_error("cannot build the list request");
		p->list.done = true;
	}
}

/*
 * Whether to ask for the page after this one.  A sync cut short is not
 * recorded as complete, so the next run lists again from the same point
 * and nothing is lost; the run says why in one line and exits 1.
 */
#define NOT_COMPLETE "not complete: the next run lists again from the same point"

static bool
want_next_page(struct carrier_pass *p, const struct carrier_response *resp)
{
	switch (carrier_pager_next(&p->list.pager, resp)) {
	case CARRIER_PAGE_NEXT:
		if (!pass_past_deadline(p))
			return true;
		p->list.cut = LIST_CUT_LATE;
		log_error("list sync: out of time (poll_interval, %ld s) after %ld "
		    "pages; " NOT_COMPLETE, p->conf->poll_interval, p->list.pager.pages);
		return false;
	case CARRIER_PAGE_CAPPED:
		p->list.cut = LIST_CUT_CAPPED;
		log_error("list sync: stopped at poll_max_pages (%ld pages) with the "
		    "carrier service still offering more; " NOT_COMPLETE,
		    p->list.pager.pages);
		return false;
	case CARRIER_PAGE_REPEATED:
		p->list.cut = LIST_CUT_REPEATED;
		log_error("list sync: the carrier service answered page %ld with a "
		    "%s it had given before (a loop); stopped, " NOT_COMPLETE,
		    p->list.pager.pages, resp->next_cursor[0] ? "next cursor" : "page");
		return false;
	default:
		return false;	/* the last page */
	}
}

static void
on_list(void *arg, const struct carrier_result *res)
{
	struct carrier_pass *p = arg;
	const struct carrier_response *resp = res->resp;
	bool more;

	if (res->outcome != CARRIER_OK) {
		p->list.done = true;
		if (!pass_common_outcome(p, NULL, res))
			log_error("list sync: %s", res->message);
		else if (res->outcome != CARRIER_STOPPED && res->outcome != CARRIER_UNAUTHORIZED)
			log_error("list sync: carrier service %s: %s",
			    carrier_outcome_name(res->outcome), res->message);
		return;
	}
	/*
	 * Ask for the next page first, and let it go out while this page is
	 * written (pages come one after another: the cursor is in the answer).
	 */
	if ((more = want_next_page(p, resp))) {
		p->list.page++;
		queue_list_page(p, resp->next_cursor[0] ? resp->next_cursor : NULL);
	}
	for (size_t i = 0; i < resp->ntrackings && !p->stopping; i++) {
		const struct carrier_tracking *t = &resp->trackings[i];
		struct carrier_matches m;
		enum store_rc rc;

		if (i % 16 == 15)
			carrier_pump(p->c);
		if ((rc = store_carrier_match(p->st, t->id, t->legacy_id,
		    t->tracking_number, &m)) != STORE_OK) {
			pass_store_failed(p, rc);
			break;
		}
		for (size_t k = 0; k < m.n && !p->stopping; k++)
			pass_apply(p, m.v[k].id, m.v[k].order_id, t, false,
			    &p->n.listed);
	}
	if (p->stopping || p->list.cut != LIST_CUT_NONE)
		p->list.done = true;
	else if (!more)
		p->list.done = p->list.ok = true;
}

enum store_rc
list_sync_plan(struct carrier_pass *p)
{
	char v[32];
	long cursor;
	bool any;
	enum store_rc rc = store_meta_get(p->st, META_LIST_SYNC, v, sizeof(v));

	p->list.start = p->start_ms;
	p->list.since = -1;
	p->list.page = 1;
	carrier_pager_init(&p->list.pager, p->conf->poll_max_pages);
	if (rc == STORE_OK && num_parse_long(v, 0, LONG_MAX, &cursor) == 0) {
		p->list.since = cursor - p->conf->poll_sync_margin * 1000;
		if (p->list.since < 0)
			p->list.since = 0;
		p->list.wanted = true;
		return STORE_OK;
	}
	if (rc != STORE_OK && rc != STORE_NONE)
		return rc;
	/*
	 * No complete sync yet: list everything if some shipment is
	 * registered; if none is, this run's creates bring their data, and
	 * the next run lists from here.
	 */
	if ((rc = store_carrier_any_registered(p->st, &any)) != STORE_OK)
		return rc;
	p->list.wanted = any;
	p->list.done = p->list.ok = !any;
	return STORE_OK;
}

void
list_sync_start(struct carrier_pass *p)
{
	queue_list_page(p, NULL);
}
