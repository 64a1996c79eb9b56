/* inbox: see inbox.h. */
#include "config.h"

#include "apply.h"
#include "apply_carrier.h"
#include "inbox.h"
#include "log.h"
#include "metrics.h"
#include "store_metrics.h"
#include "timefmt.h"

/* One item inside the group commit's open transaction. */
static enum store_rc
apply_item(void *ctx, struct store *st, struct batch_item *b, int64_t now_ms)
{
	struct inbox_item *it = b->arg;

	(void)ctx;
	if (it->kind == INBOX_EVENT && it->ev->scheme == SIG_AFTERSHIP)
		return apply_carrier_event_in_tx(st, it->ev, it->body, it->len,
		    now_ms, &it->duplicate);
	if (it->kind == INBOX_EVENT)
		return apply_event_in_tx(st, it->ev, it->body, it->len, now_ms,
		    &it->duplicate);
	if (it->kind == INBOX_FLUSH)
		return STORE_OK;
	return apply_reject_in_tx(st, it->scheme, it->reason, it->body, it->len,
	    now_ms);
}

/* The item applied after the current one: its insert may go ahead. */
static void
ahead_item(void *ctx, struct store *st, struct batch_item *b, int64_t now_ms)
{
	struct inbox_item *it = b->arg;

	(void)ctx;
	if (it->kind == INBOX_EVENT && it->ev->scheme != SIG_AFTERSHIP)
		apply_event_ahead(st, it->ev, it->body, it->len, now_ms);
}

/*
 * The counts waiting in metrics.h and what this list stores, written in
 * its transaction (one upsert per changed series), kept only if it commits.
 */
static enum store_rc
count_list(void *ctx, struct store *st, const struct batch_item *list)
{
	int64_t n[M__MAX] = { 0 };

	(void)ctx;
	for (const struct batch_item *b = list; b != NULL; b = b->next) {
		const struct inbox_item *it = b->arg;

		if (b->rc == STORE_OK && it->kind == INBOX_EVENT)
			n[it->duplicate ? M_WEBHOOK_DUPLICATE : M_WEBHOOK_ACCEPTED]++;
		else if (b->rc == STORE_OK && it->kind == INBOX_REJECT)
			n[metric_rejected(it->code ? it->code : "")]++;
	}
	return metrics_flush(st, n);
}

static void
counted(void *ctx, bool committed)
{
	(void)ctx;
	metrics_flush_end(committed);
}

struct batch *
inbox_open(struct app *a, size_t max_per_commit, size_t threads, bool long_lived)
{
	const struct batch_ops ops = {
		.apply = apply_item, .ahead = ahead_item, .finish = count_list,
		.finished = counted,
	};

	return batch_new(a, &ops, max_per_commit, threads, long_lived);
}

static void
prepare(struct inbox_item *it)
{
	it->duplicate = false;
	it->b.arg = it;
	it->b.empty = it->kind == INBOX_FLUSH;
}

enum store_rc
inbox_submit(struct batch *b, struct inbox_item *it)
{
	prepare(it);
	return batch_submit(b, &it->b);
}

/* --- counts that no commit carried (inbox.h) ------------------------------ */

void
inbox_flush_due(struct batch *b)
{
	struct inbox_item it = { .kind = INBOX_FLUSH };

	/* Cheapest test first: this runs after every request. */
	if (!metrics_pending() ||
	    !batch_quiet_for(b, METRICS_FLUSH_SECONDS * 1000000LL))
		return;
	(void)inbox_submit(b, &it);
}

/* CGI: a small transaction of its own, unless a process wrote one lately. */
static void
flush_alone(struct store *st)
{
	int64_t last = 0, now = timefmt_now_ms();
	enum store_rc rc;

	if (store_metrics_flushed_get(st, &last) != STORE_OK ||
	    (now >= last && now - last < METRICS_FLUSH_SECONDS * 1000LL) ||
	    store_begin(st) != STORE_OK)
		return;
	rc = metrics_flush(st, NULL);
	if (rc == STORE_OK)
		rc = store_metrics_flushed_set(st, now);
	if (rc == STORE_OK)
		rc = store_commit(st);
	if (rc != STORE_OK)
		store_rollback(st);
	metrics_flush_end(rc == STORE_OK);
}

/* At exit, no request thread left: store the counts still waiting. */
static void
flush_at_exit(struct batch *b, struct app *a)
{
	struct inbox_item it = { .kind = INBOX_FLUSH };
	struct store *st;

	if (!metrics_pending() || (st = app_store(a)) == NULL)
		return;
	prepare(&it);
	if (batch_long_lived(b))
		batch_commit_alone(b, &it.b);
	else
		flush_alone(st);
}

void
inbox_close(struct batch *b, struct app *a)
{
	unsigned long commits, items;

	if (b == NULL)
		return;
	flush_at_exit(b, a);
	batch_totals(b, &commits, &items);
	if (commits > 0)
		log_info("%lu webhooks in %lu commits", items, commits);
	batch_free(b);
}
