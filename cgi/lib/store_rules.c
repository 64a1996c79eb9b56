/*
 * store_rules: order.h's rules applied to a shipment as it is stored.
 *
 * SQL returns the columns the rules read (SHIP_RULE_COLS, store_int.h)
 * and C decides: the tag a parcel shows, whether it is stale, whether it
 * is stalled, whether an order has waited too long for tracking.  One
 * implementation for the views' flags, the operator list's filter, the
 * stats and the poller's stall sweep, and nothing a database has to run.
 *
 * The columns are text as stored: a scan time in any form timefmt reads
 * (one it cannot read counts as no scan), first_key "<ms>|<event id>"
 * (store_event_key), estimates as dates or date-times.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "timefmt.h"

void
store_ship_cols(struct db_stmt *s, int first, struct ship_cols *c)
{
	memset(c, 0, sizeof(*c));
	c->tag = db_column_text(s, first);
	c->carrier_known = !db_column_is_null(s, first + 1);
	c->rye_status = db_column_text(s, first + 2);
	c->last_checkpoint_at = db_column_text(s, first + 3);
	c->first_key = db_column_text(s, first + 4);
}

void
store_ship_estimates(struct db_stmt *s, int first, struct ship_cols *c)
{
	for (int i = 0; i < SHIP_EST_NCOLS; i++)
		c->estimate[i] = db_column_text(s, first + i);
}

enum carrier_tag
store_ship_tag(const struct ship_cols *c)
{
	return shipment_tag_of(c->tag, c->carrier_known, c->rye_status);
}

/* The inputs both rules share: the last scan, and when it was announced. */
struct ship_times {
	struct timeval_iso scan;
	bool has_scan;
	int64_t announced;
};

static void
ship_times(const struct ship_cols *c, int64_t now_ms, struct ship_times *t)
{
	memset(t, 0, sizeof(*t));
	t->has_scan = c->last_checkpoint_at != NULL &&
	    timefmt_parse(c->last_checkpoint_at, &t->scan) == 0;
	/* Not yet announced (a replay in progress): as of now, so not stale. */
	t->announced = c->first_key != NULL ? strtoll(c->first_key, NULL, 10) : now_ms;
}

bool
store_ship_stale(const struct store *st, const struct ship_cols *c, int64_t now_ms)
{
	enum carrier_tag tag = store_ship_tag(c);
	struct ship_times t;

	/* A tag never stale needs no dates read (most parcels are delivered). */
	if (st->stale.days[tag] == 0)
		return false;
	ship_times(c, now_ms, &t);
	return shipment_is_stale(&st->stale, tag, t.scan.ms, t.has_scan, t.announced,
	    now_ms);
}

/* The latest instant of the best estimate (the first one given), or -1. */
static int64_t
estimate_end(const struct ship_cols *c)
{
	struct timeval_iso e;

	for (int i = 0; i < SHIP_EST_NCOLS; i++)
		if (c->estimate[i] != NULL)
			return timefmt_parse(c->estimate[i], &e) == 0 ?
			    timefmt_latest_ms(&e) : -1;
	return -1;
}

bool
store_ship_stalled(const struct store *st, const struct ship_cols *c,
    int64_t now_ms)
{
	struct ship_times t;

	ship_times(c, now_ms, &t);
	return shipment_is_stalled(&st->stale, store_ship_tag(c), t.scan.ms,
	    t.has_scan, t.announced, estimate_end(c), now_ms);
}

bool
store_order_waits_too_long(const struct store *st, const char *stage,
    int64_t created_ms, int64_t now_ms)
{
	bool waiting = stage != NULL && (strcmp(stage, "processing") == 0 ||
	    strcmp(stage, "placed") == 0);

	return waiting && created_ms < now_ms -
	    (int64_t)st->stale.days[TAG_PENDING] * 86400000;
}

int64_t
store_backoff_ms(int64_t failures, int64_t base_ms, int64_t cap_ms)
{
	int shift = failures <= 0 ? 0 : failures >= 20 ? 20 : (int)failures;

	/* base_ms << shift would overflow: it is past any cap anyway. */
	if (base_ms > INT64_MAX >> shift)
		return cap_ms;
	return base_ms * ((int64_t)1 << shift) < cap_ms ?
	    base_ms * ((int64_t)1 << shift) : cap_ms;
}
