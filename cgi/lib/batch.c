/*
 * batch: see batch.h.  One mutex guards the queue and the "leader busy"
 * flag; one condition variable wakes waiters when a commit finishes.  The
 * store is used only by the current leader, so the SQLite handle is never
 * touched by two threads at once.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>

#include "apply.h"
#include "apply_carrier.h"
#include "batch.h"
#include "log.h"
#include "timefmt.h"

struct batch {
	struct app *app;
	size_t max;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct batch_item *head, *tail;
	bool leading;
};

struct batch *
batch_new(struct app *a, size_t max_per_commit)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->app = a;
	b->max = max_per_commit ? max_per_commit : 1;
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->cv, NULL);
	return b;
}

void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->mu);
	pthread_cond_destroy(&b->cv);
	free(b);
}

/* One item inside the open transaction, under its own savepoint. */
static void
apply_item(struct store *st, struct batch_item *it, int64_t now_ms)
{
	if (store_savepoint(st) != STORE_OK) {
		it->rc = STORE_ERROR;
		return;
	}
	if (it->kind == BATCH_EVENT && it->ev->scheme == SIG_AFTERSHIP)
		it->rc = apply_carrier_event_in_tx(st, it->ev, it->body, it->len,
		    now_ms, &it->duplicate);
	else if (it->kind == BATCH_EVENT)
		it->rc = apply_event_in_tx(st, it->ev, it->body, it->len, now_ms,
		    &it->duplicate);
	else
		it->rc = apply_reject_in_tx(st, it->scheme, it->reason, it->body,
		    it->len, now_ms);
	if (it->rc == STORE_OK)
		it->rc = store_release(st);
	else
		store_rollback_to(st);
}

/* The leader's work, outside the mutex: one transaction for the list. */
static void
commit_list(struct batch *b, struct batch_item *list)
{
	struct store *st = app_store(b->app);
	enum store_rc rc = st == NULL ? STORE_ERROR : store_begin(st);
	int64_t now = timefmt_now_ms();
	struct batch_item *it;

	for (it = list; it != NULL && rc == STORE_OK; it = it->next)
		apply_item(st, it, now);
	if (rc == STORE_OK && (rc = store_commit(st)) != STORE_OK)
		store_rollback(st);
	/* A failed BEGIN or COMMIT fails every item: none is durable. */
	for (it = list; it != NULL; it = it->next)
		if (rc != STORE_OK)
			it->rc = rc;
}

/* Detach up to b->max queued items (called with the mutex held). */
static struct batch_item *
take(struct batch *b)
{
	struct batch_item *list = b->head, *last = b->head;
	size_t n = 1;

	while (last->next != NULL && n < b->max)
		last = last->next, n++;
	b->head = last->next;
	if (b->head == NULL)
		b->tail = NULL;
	last->next = NULL;
	return list;
}

enum store_rc
batch_submit(struct batch *b, struct batch_item *it)
{
	it->done = false;
	it->next = NULL;
	it->duplicate = false;
	pthread_mutex_lock(&b->mu);
	if (b->tail != NULL)
		b->tail->next = it;
	else
		b->head = it;
	b->tail = it;
	while (!it->done) {
		struct batch_item *list, *p, *next;

		if (b->leading) {
			pthread_cond_wait(&b->cv, &b->mu);
			continue;
		}
		b->leading = true;
		list = take(b);
		pthread_mutex_unlock(&b->mu);
		commit_list(b, list);
		pthread_mutex_lock(&b->mu);
		/* Read next before marking: a woken owner may reuse its item. */
		for (p = list; p != NULL; p = next) {
			next = p->next;
			p->done = true;
		}
		b->leading = false;
		pthread_cond_broadcast(&b->cv);
	}
	pthread_mutex_unlock(&b->mu);
	return it->rc;
}
