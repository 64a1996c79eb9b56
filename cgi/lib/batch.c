/*
 * batch: see batch.h.  One mutex guards the queue and the "leader busy"
 * flag.  Each waiting thread sleeps on its own condition variable, so a
 * finished commit wakes exactly the owners of the items it committed,
 * plus the owner of the first queued item to lead the next commit (one
 * shared variable woke every waiter after every commit, and most of them
 * only went back to sleep).  The store is used only by the current
 * leader, so the SQLite handle is never touched by two threads at once.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "batch.h"
#include "checkpointer.h"
#include "commitstats.h"
#include "log.h"
#include "timefmt.h"

struct batch {
	struct app *app;
	struct batch_ops ops;
	size_t max;
	pthread_mutex_t mu;
	struct batch_item *head, *tail;
	size_t queued;		/* items in the list head..tail */
	bool leading;
	/* the gathering leader (see gather()) */
	unsigned coming;	/* threads between batch_arrive() and submit */
	bool alone;		/* one request thread: nobody to gather */
	bool gathering, gather_busy;
	pthread_cond_t *leader_cv;
	int64_t last_commit_us;	/* CLOCK_MONOTONIC, when the last commit ended */
	_Atomic int64_t quiet_since_us;	/* the last good commit's, read without mu */
	/* checkpoints (checkpointer.h): started by the first leader */
	bool long_lived;		/* FastCGI: many requests, a checkpointer */
	bool ckpt_tried;		/* only by the leader */
	struct checkpointer *ckpt;
	pthread_cond_t idle_cv;		/* the checkpointer waits for no leader */
	bool hold_wanted;		/* ... and no new leader starts meanwhile */
	unsigned long commits, items;	/* for the log line at exit (under mu) */
	struct commitstats cs;		/* commit and checkpoint times */
};

static int64_t
mono_us(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (int64_t)now.tv_sec * 1000000 + now.tv_nsec / 1000;
}

/*
 * Checkpoints run on their own thread (checkpointer.h), which now and
 * then holds the commits for one short copy: it takes the lead itself,
 * so no thread leads a commit meanwhile, and hands it back.  hold_wanted
 * lets it in after the commit under way: without it, leaders handed the
 * lead to each other and the checkpointer waited up to 50 ms, while the
 * log it then had to copy during the hold kept growing.
 */
static void
hold_commits(void *arg)
{
	struct batch *b = arg;

	pthread_mutex_lock(&b->mu);
	b->hold_wanted = true;
	while (b->leading)
		pthread_cond_wait(&b->idle_cv, &b->mu);
	b->hold_wanted = false;
	b->leading = true;
	pthread_mutex_unlock(&b->mu);
}

static void
release_commits(void *arg)
{
	struct batch *b = arg;

	pthread_mutex_lock(&b->mu);
	b->leading = false;
	if (b->head != NULL)
		pthread_cond_signal(b->head->cv);
	pthread_mutex_unlock(&b->mu);
}

/* Each checkpoint pass, in the commit statistics. */
static void
checkpoint_passed(void *arg, int64_t us, int pages, bool holding)
{
	commitstats_checkpoint(&((struct batch *)arg)->cs, us, pages, holding);
}

/*
 * The first leader of a long-lived process starts the checkpointer (from
 * a request thread, so that the new thread inherits its blocked signals),
 * which leaves only a backstop to its own handle's commits.
 */
static void
ckpt_start(struct batch *b, struct store *st)
{
	const struct checkpointer_hooks hooks = { hold_commits, release_commits,
	    checkpoint_passed, b };

	b->ckpt_tried = true;
	if (b->long_lived && st != NULL)
		b->ckpt = checkpointer_start(st, &hooks);
}

struct batch *
batch_new(struct app *a, const struct batch_ops *ops, size_t max_per_commit,
    size_t threads, bool long_lived)
{
	struct batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	b->app = a;
	b->ops = *ops;
	b->max = max_per_commit ? max_per_commit : 1;
	b->alone = threads <= 1;
	b->long_lived = long_lived;
	b->quiet_since_us = mono_us();	/* quiet counts from the start, too */
	pthread_mutex_init(&b->mu, NULL);
	pthread_cond_init(&b->idle_cv, NULL);
	commitstats_init(&b->cs, log_enabled(LL_DEBUG));
	return b;
}

void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	checkpointer_stop(b->ckpt);
	pthread_cond_destroy(&b->idle_cv);
	commitstats_destroy(&b->cs);
	pthread_mutex_destroy(&b->mu);
	free(b);
}

/* One item inside the open transaction: the creator's apply. */
static enum store_rc
apply_one(struct batch *b, struct store *st, struct batch_item *it, int64_t now_ms)
{
	return b->ops.apply(b->ops.ctx, st, it, now_ms);
}

/* The same under its own savepoint: a failure undoes only its writes. */
static void
apply_item(struct batch *b, struct store *st, struct batch_item *it, int64_t now_ms)
{
	if (store_savepoint(st) != STORE_OK) {
		it->rc = STORE_ERROR;
		return;
	}
	it->rc = apply_one(b, st, it, now_ms);
	/* A write the driver had only queued may fail at the RELEASE. */
	if (it->rc == STORE_OK)
		it->rc = store_release(st);
	if (it->rc != STORE_OK)
		store_rollback_to(st);
}

/*
 * Every item of the list in the open transaction.  Savepoints cost: under
 * one, SQLite copies each page an item touches into a statement journal
 * (about a dozen 4 KiB pages per webhook), for an undo that is almost
 * never needed.  So the list is applied without them; only if an item
 * fails is the whole transaction rolled back and the list applied again,
 * each item under its own savepoint, which gives exactly the results of
 * doing it that way in the first place.
 */
static enum store_rc
apply_list(struct batch *b, struct store *st, struct batch_item *list,
    int64_t now_ms)
{
	struct batch_item *it;
	enum store_rc rc;

	for (it = list; it != NULL; it = it->next) {
		if (b->ops.ahead != NULL && it->next != NULL)
			b->ops.ahead(b->ops.ctx, st, it->next, now_ms);
		if ((it->rc = apply_one(b, st, it, now_ms)) != STORE_OK)
			break;
	}
	if (it == NULL)
		return STORE_OK;
	store_rollback(st);
	if ((rc = store_begin(st)) != STORE_OK)
		return rc;
	for (it = list; it != NULL; it = it->next)
		apply_item(b, st, it, now_ms);
	return STORE_OK;
}

/* What the creator adds to the whole commit, in its transaction; then commit. */
static enum store_rc
finish_and_commit(struct batch *b, struct store *st, const struct batch_item *list)
{
	enum store_rc rc = b->ops.finish ? b->ops.finish(b->ops.ctx, st, list) : STORE_OK;

	if (rc == STORE_OK)
		rc = store_commit(st);
	if (rc != STORE_OK)
		store_rollback(st);
	if (b->ops.finished)
		b->ops.finished(b->ops.ctx, rc == STORE_OK);
	return rc;
}

/* The leader's work, outside the mutex: one transaction for the list. */
static void
commit_list(struct batch *b, struct batch_item *list)
{
	struct store *st = app_store(b->app);
	int64_t now = timefmt_now_ms(), t0 = mono_us();
	enum store_rc rc;
	struct batch_item *it;
	size_t n = 0;

	if (!b->ckpt_tried)
		ckpt_start(b, st);
	rc = st == NULL ? STORE_ERROR : store_begin(st);
	if (rc == STORE_OK)
		rc = apply_list(b, st, list, now);
	if (rc == STORE_OK)
		rc = finish_and_commit(b, st, list);
	if (rc == STORE_OK)
		atomic_store(&b->quiet_since_us, mono_us());
	/* A failed BEGIN or COMMIT fails every item: none is durable. */
	for (it = list; it != NULL; it = it->next) {
		if (rc != STORE_OK)
			it->rc = rc;
		n += !it->empty;
	}
	/* A CGI process commits once: its own write would be the only one. */
	if (rc == STORE_OK && n > 0 && b->long_lived)
		commitstats_commit(&b->cs, mono_us() - t0, n, store_log_pages(st),
		    mono_us());
	if (rc == STORE_OK && b->ckpt != NULL)
		checkpointer_note(b->ckpt, store_log_pages(st));
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
	b->queued -= n;
	return list;
}

/* This thread's condition variable (request threads live as long as the process). */
static pthread_cond_t *
own_cv(void)
{
	static _Thread_local pthread_cond_t cv;
	static _Thread_local bool ready;

	if (!ready) {
		pthread_condattr_t attr;

		/* gather() waits against CLOCK_MONOTONIC. */
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		pthread_cond_init(&cv, &attr);
		pthread_condattr_destroy(&attr);
		ready = true;
	}
	return &cv;
}

/* Whether this thread is counted in b->coming (one batch per process). */
static _Thread_local bool arrived;

/* Whether the gathering leader has what it waits for (mutex held). */
static bool
gathered(const struct batch *b, bool busy)
{
	return b->queued >= b->max || (!busy && b->coming == 0);
}

/* Wake the gathering leader once it has what it waits for (mutex held). */
static void
wake_gatherer(struct batch *b)
{
	if (b->gathering && gathered(b, b->gather_busy))
		pthread_cond_signal(b->leader_cv);
}

/* Stop counting this thread as coming (called with the mutex held). */
static void
uncount(struct batch *b)
{
	if (arrived) {
		arrived = false;
		b->coming--;
	}
}

void
batch_arrive(struct batch *b)
{
	if (b->alone)
		return;
	(void)own_cv();		/* before the lock: the leader may wait on it */
	pthread_mutex_lock(&b->mu);
	if (!arrived) {
		arrived = true;
		b->coming++;
	}
	pthread_mutex_unlock(&b->mu);
}

void
batch_depart(struct batch *b)
{
	if (!arrived)
		return;
	pthread_mutex_lock(&b->mu);
	uncount(b);
	wake_gatherer(b);
	pthread_mutex_unlock(&b->mu);
}

/*
 * The new leader (mutex held) may wait a moment before it commits, so
 * that more webhooks share the commit (see batch.h):
 *   - for the requests already on their way to batch_submit() (past
 *     reading their bodies: the HMAC and the JSON parse are left, tens of
 *     microseconds), and
 *   - while webhooks come back to back (the last commit ended less than
 *     BATCH_BUSY_US ago), for those about to come: measured, a 200 us
 *     wait made batches of ~12 out of batches of 1.6 and cut the cost of
 *     a webhook by a fifth (fewer pages written per webhook, fewer WAL
 *     syncs at durability full), which the waiting more than pays for.
 * It waits at most BATCH_GATHER_US, less once b->max are queued, and not
 * at all when a webhook comes alone: a quiet receiver answers at once.
 */
#define BATCH_GATHER_US 200
#define BATCH_BUSY_US 2000

static void
gather(struct batch *b, pthread_cond_t *cv)
{
	int64_t now = mono_us(), until = now + BATCH_GATHER_US;
	bool busy = now - b->last_commit_us < BATCH_BUSY_US;
	struct timespec deadline = {
		.tv_sec = (time_t)(until / 1000000),
		.tv_nsec = (long)(until % 1000000) * 1000,
	};

	if (b->alone || gathered(b, busy))
		return;
	b->gathering = true;
	b->gather_busy = busy;
	b->leader_cv = cv;
	while (!gathered(b, busy))
		if (pthread_cond_timedwait(cv, &b->mu, &deadline) == ETIMEDOUT)
			break;
	b->gathering = false;
}

enum store_rc
batch_submit(struct batch *b, struct batch_item *it)
{
	it->done = false;
	it->next = NULL;
	it->cv = own_cv();
	pthread_mutex_lock(&b->mu);
	if (b->tail != NULL)
		b->tail->next = it;
	else
		b->head = it;
	b->tail = it;
	b->queued++;
	uncount(b);
	wake_gatherer(b);
	while (!it->done) {
		struct batch_item *list, *p, *next;

		if (b->leading || b->hold_wanted) {
			pthread_cond_wait(it->cv, &b->mu);
			continue;
		}
		b->leading = true;
		gather(b, it->cv);
		list = take(b);
		pthread_mutex_unlock(&b->mu);
		commit_list(b, list);
		pthread_mutex_lock(&b->mu);
		/*
		 * Read next and cv before marking: a woken owner may reuse its
		 * item (the mutex is held, so none runs before the loop ends).
		 */
		b->commits++;
		b->last_commit_us = mono_us();
		for (p = list; p != NULL; p = next) {
			next = p->next;
			b->items++;
			p->done = true;
			if (p != it)
				pthread_cond_signal(p->cv);
		}
		b->leading = false;
		pthread_cond_signal(&b->idle_cv);
		/* Hand the lead to whoever queued meanwhile. */
		if (b->head != NULL)
			pthread_cond_signal(b->head->cv);
	}
	pthread_mutex_unlock(&b->mu);
	return it->rc;
}

/* --- quiet times and the end (batch.h) ------------------------------------ */

bool
batch_quiet_for(struct batch *b, int64_t us)
{
	if (!b->long_lived || mono_us() - atomic_load(&b->quiet_since_us) < us)
		return false;
	atomic_store(&b->quiet_since_us, mono_us());	/* one thread acts, not all */
	return true;
}

void
batch_commit_alone(struct batch *b, struct batch_item *it)
{
	it->next = NULL;
	commit_list(b, it);
}

bool
batch_long_lived(const struct batch *b)
{
	return b->long_lived;
}

void
batch_totals(struct batch *b, unsigned long *commits, unsigned long *items)
{
	pthread_mutex_lock(&b->mu);
	*commits = b->commits;
	*items = b->items;
	pthread_mutex_unlock(&b->mu);
}
