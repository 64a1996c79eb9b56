/*
 * poll_sweep: the Rye pass's sweep of the gen-2 events list
 * (GET /api/v1/events), for events shiptrack never received: Rye delivers
 * each webhook once and does not retry a refused one.  Each new event is
 * stored and applied exactly as if it had come by webhook (same parser,
 * same apply, source "sync"); an event stored before, by webhook or by an
 * earlier sweep, is a duplicate by its id and changes nothing.
 *
 * Rye documents neither the list's order nor a time filter, so the order
 * is read from the data (createdAt across a page) and the cost per run is
 * kept to what is new:
 *
 *   newest first   (what is assumed until a page shows otherwise) the
 *                  sweep starts at the top and stops after the first page
 *                  that reaches back past the mark, the newest createdAt
 *                  of the last complete sweep less poll_sync_margin (an
 *                  event Rye writes late, with an earlier createdAt, is
 *                  still found within the margin), or after a page that
 *                  held nothing new and reaches back to the mark itself:
 *                  so a quiet account costs one page even when more than
 *                  a page of events lies within the margin (the price: an
 *                  event written late into such a burst, while nothing
 *                  else is new, waits for the next busy sweep).  No mark yet: the whole
 *                  list once, resumable: each page's cursor is kept with
 *                  the events it stored, the next run first sweeps the top
 *                  down to where that walk began, then walks on;
 *   oldest first   the sweep resumes after the cursor of the last page it
 *                  saw and pages to the end.
 *
 * Either way a run with nothing new asks for one page.  Each page is one
 * transaction: its events and the cursor or mark that covers them, so a
 * run killed with SIGKILL mid-page asks for that page again and stores
 * nothing twice.  The page cap (poll_max_pages), a cursor Rye gives twice
 * or the pass's deadline end the sweep early: the mark does not move,
 * the run exits 1 and says why in one line.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apply.h"
#include "event.h"
#include "log.h"
#include "poll_rye.h"
#include "rye.h"
#include "store_carrier.h"
#include "store_rye.h"
#include "timefmt.h"

#define META_ORDER	"ryesync.events.order"	/* "newest" or "oldest" */
#define META_MARK	"ryesync.events.mark"	/* ms: newest of the last complete sweep */
#define META_WALK	"ryesync.events.walk"	/* the unfinished first walk's next cursor */
#define META_WALK_TOP	"ryesync.events.walkTop"	/* ms: newest when it began */
#define META_CURSOR	"ryesync.events.cursor"	/* oldest first: the last page's end */

struct sweep {
	struct rye_pass *p;
	bool oldest_first;
	int64_t mark, walk_top;		/* -1: none */
	char walk[RYE_MAX_CURSOR + 1], cursor[RYE_MAX_CURSOR + 1];
	bool walking;			/* a first walk is unfinished */
	bool stored;			/* this run stored an event */
	size_t pages;
};

/* What one page held, and whether to ask for the next (the pager's word). */
struct page {
	int64_t oldest, newest;		/* createdAt ms; -1 when none readable */
	long fresh;			/* events it held that were not stored before */
	bool more;			/* the pager says: ask for the next page */
	bool end;			/* Rye says: this was the last page */
};

/* --- state -------------------------------------------------------------------- */

static int64_t
meta_ms(struct store *st, const char *key)
{
	char v[32];

	return store_meta_get(st, key, v, sizeof(v)) == STORE_OK && v[0] ?
	    strtoll(v, NULL, 10) : -1;
}

static void
load(struct sweep *s)
{
	struct store *st = s->p->st;
	char order[16] = "";

	(void)store_meta_get(st, META_ORDER, order, sizeof(order));
	s->oldest_first = strcmp(order, "oldest") == 0;
	s->mark = meta_ms(st, META_MARK);
	s->walk_top = meta_ms(st, META_WALK_TOP);
	s->walking = store_meta_get(st, META_WALK, s->walk,
	    sizeof(s->walk)) == STORE_OK;
	if (store_meta_get(st, META_CURSOR, s->cursor, sizeof(s->cursor)) !=
	    STORE_OK)
		s->cursor[0] = '\0';
}

static enum store_rc
put_ms(struct store *st, const char *key, int64_t ms)
{
	char v[32];

	snprintf(v, sizeof(v), "%lld", (long long)ms);
	return store_meta_set(st, key, v);
}

/* --- one page ----------------------------------------------------------------- */

/* Store one listed event as a webhook of it would be; false on a database error. */
static bool
store_event(struct sweep *s, const struct rye_event *e, int64_t now, enum store_rc *rc)
{
	struct event ev;
	char why[160];
	bool dup = false;

	switch (event_parse(SIG_RYE_V2, e->raw, e->raw_len, &ev, why, sizeof(why))) {
	case EVENT_OK:
		ev.source = "sync";
		*rc = apply_event_in_tx(s->p->st, &ev, e->raw, e->raw_len, now, &dup);
		if (*rc == STORE_OK && !dup) {
			s->p->n.recovered++;
			s->stored = true;
			log_info("rye: recovered event %s (%s)", ev.id, ev.type);
		}
		break;
	case EVENT_HANDSHAKE:
		break;	/* a verification challenge: nothing to keep */
	default:
		log_warn("rye: listed event %s is not one to store: %s", e->id, why);
		s->p->n.unreadable++;
		break;
	}
	event_free(&ev);
	return *rc == STORE_OK;
}

/* The times on a page; oldest first when its first event is older than its last. */
static void
page_times(struct sweep *s, const struct rye_answer *a, struct page *pg)
{
	int64_t first = -1, last = -1;

	pg->oldest = pg->newest = -1;
	for (size_t i = 0; i < a->nevents; i++) {
		struct timeval_iso t;

		if (a->events[i].created_at == NULL ||
		    timefmt_parse(a->events[i].created_at, &t) < 0)
			continue;
		if (first < 0)
			first = t.ms;
		last = t.ms;
		if (pg->oldest < 0 || t.ms < pg->oldest)
			pg->oldest = t.ms;
		if (t.ms > pg->newest)
			pg->newest = t.ms;
	}
	if (first >= 0 && last > first && !s->oldest_first) {
		log_info("rye: the events list comes oldest first");
		s->oldest_first = true;
	}
}

/*
 * Fetch the page after the pager's cursor and store its new events, with
 * the meta key (if any) that records the page's end cursor, in one
 * transaction.  false when the sweep must stop.
 */
static bool
page(struct sweep *s, struct rye_pager *pager, struct page *pg, const char *key)
{
	struct rye_pass *p = s->p;
	struct rye_answer a;
	enum store_rc rc = STORE_OK;
	const char *end;
	int64_t now;

	rye_list_events(p->c, pager->after, RYE_PAGE_MAX, &a);
	s->pages++;
	if (a.result != RYE_OK) {
		poll_rye_answer_failed(p, &a, "the events list");
		rye_answer_free(&a);
		return false;
	}
	page_times(s, &a, pg);
	pg->fresh = p->n.recovered;
	end = a.page.end_cursor;
	if (end != NULL && *end != '\0')
		snprintf(s->cursor, sizeof(s->cursor), "%s", end);
	now = timefmt_now_ms();
	if ((rc = store_begin(p->st)) == STORE_OK) {
		for (size_t i = 0; i < a.nevents && store_event(s, &a.events[i], now, &rc); i++)
			;
		if (rc == STORE_OK && key != NULL && end != NULL && *end != '\0')
			rc = store_meta_set(p->st, key, end);
		if (rc == STORE_OK)
			rc = store_commit(p->st);
		if (rc != STORE_OK)
			store_rollback(p->st);
	}
	poll_rye_store_failed(p, rc);
	pg->fresh = p->n.recovered - pg->fresh;
	pg->more = rye_pager_next(pager, &a);
	pg->end = pager->stop == RYE_PAGER_END;
	rye_answer_free(&a);
	return rc == STORE_OK;
}

/* --- walks ---------------------------------------------------------------------- */

/* Whether the walk goes on after a page the pager did not end. */
static bool
go_on(struct sweep *s, const struct rye_pager *pager, const struct page *pg)
{
	struct rye_pass *p = s->p;

	if (pager->stop == RYE_PAGER_PAGE_CAP) {
		p->cut = RYE_CUT_PAGE_CAP;
		log_error("rye: events sweep stopped at poll_max_pages (%zu pages) with "
		    "Rye still offering more; not complete: the next run goes on",
		    pager->pages);
		return false;
	}
	if (pager->stop == RYE_PAGER_REPEATED_CURSOR) {
		p->cut = RYE_CUT_REPEATED;
		log_error("rye: events sweep: Rye gave a cursor it had given before (a "
		    "loop) after %zu pages; stopped, not complete", pager->pages);
		return false;
	}
	if (pg->more && !poll_rye_going(p)) {
		if (p->late)
			p->cut = RYE_CUT_LATE;
		return false;
	}
	return pg->more;
}

/*
 * From the top down to stop_at (< 0: to the end), or to a page with
 * nothing new that reaches back to quiet_at (< 0: never).  *newest: the
 * newest createdAt seen.  A first walk (walk_key) keeps its place page by
 * page.  true when complete.
 */
static bool
top_down(struct sweep *s, int64_t stop_at, int64_t quiet_at, int64_t *newest,
    const char *walk_key)
{
	struct rye_pager pager;
	struct page pg;
	bool complete = false;

	*newest = -1;
	if (rye_pager_init(&pager, (size_t)s->p->conf->poll_max_pages) < 0)
		return false;
	while (page(s, &pager, &pg, walk_key)) {
		if (pg.newest > *newest)
			*newest = pg.newest;
		if (walk_key != NULL && s->walk_top < 0 && *newest >= 0 &&
		    put_ms(s->p->st, META_WALK_TOP, s->walk_top = *newest) != STORE_OK)
			break;
		if ((stop_at >= 0 && pg.oldest >= 0 && pg.oldest < stop_at) || pg.end ||
		    (quiet_at >= 0 && pg.fresh == 0 && pg.oldest >= 0 && pg.oldest <= quiet_at)) {
			complete = true;
			break;
		}
		if (!go_on(s, &pager, &pg))
			break;
	}
	rye_pager_free(&pager);
	return complete;
}

/* From after `from` to the end (oldest first, or the rest of a first walk). */
static bool
forward(struct sweep *s, const char *from, const char *key)
{
	struct rye_pager pager;
	struct page pg;
	bool complete = false;

	if (rye_pager_init(&pager, (size_t)s->p->conf->poll_max_pages) < 0)
		return false;
	snprintf(pager.after, sizeof(pager.after), "%s", from);
	while (page(s, &pager, &pg, key)) {
		if (pg.end) {
			complete = true;
			break;
		}
		if (!go_on(s, &pager, &pg))
			break;
	}
	rye_pager_free(&pager);
	return complete;
}

/* --- the sweep ------------------------------------------------------------------ */

/* A first walk reached the end: from now on, what is new only. */
static void
finish_walk(struct sweep *s)
{
	struct store *st = s->p->st;
	enum store_rc rc = store_begin(st);

	if (rc == STORE_OK && s->oldest_first)
		rc = store_meta_set(st, META_ORDER, "oldest");
	if (rc == STORE_OK && s->oldest_first && s->cursor[0])
		rc = store_meta_set(st, META_CURSOR, s->cursor);
	if (rc == STORE_OK && !s->oldest_first)
		rc = put_ms(st, META_MARK, s->walk_top);
	if (rc == STORE_OK)
		rc = store_meta_delete(st, META_WALK);
	if (rc == STORE_OK)
		rc = store_meta_delete(st, META_WALK_TOP);
	if (rc == STORE_OK)
		rc = store_commit(st);
	if (rc != STORE_OK)
		store_rollback(st);
	poll_rye_store_failed(s->p, rc);
}

bool
poll_rye_sweep(struct rye_pass *p)
{
	struct sweep s = { .p = p };
	int64_t newest;

	load(&s);
	if (s.oldest_first && !s.walking && s.cursor[0]) {
		(void)forward(&s, s.cursor, META_CURSOR);
	} else if (s.mark >= 0 && !s.walking) {
		if (top_down(&s, s.mark - p->margin_ms, s.mark, &newest, NULL) &&
		    newest > s.mark)
			poll_rye_store_failed(p, put_ms(p->st, META_MARK, newest));
	} else if (s.walking && s.walk_top >= 0) {
		/* A first walk under way: what came since it began, then on from its place. */
		if (!top_down(&s, s.walk_top - p->margin_ms, s.walk_top, &newest, NULL))
			return s.stored;
		if (newest > s.walk_top)
			s.walk_top = newest;
		if (forward(&s, s.walk, META_WALK))
			finish_walk(&s);
	} else if (top_down(&s, -1, -1, &newest, META_WALK))
		finish_walk(&s);
	log_debug("rye: events sweep: %zu pages", s.pages);
	return s.stored;
}
