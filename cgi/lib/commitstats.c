/*
 * commitstats: see commitstats.h.  Buckets are log-spaced, four per
 * doubling (each about 19% wide), which is plenty to tell 2 ms from
 * 200 ms; the quantiles report a bucket's upper bound.
 */
#include "config.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

#include "commitstats.h"
#include "log.h"
#include "metrics.h"

void
commitstats_init(struct commitstats *s, bool debug)
{
	memset(s, 0, sizeof(*s));
	pthread_mutex_init(&s->mu, NULL);
	s->debug = debug;
}

void
commitstats_destroy(struct commitstats *s)
{
	pthread_mutex_destroy(&s->mu);
}

int
commitstats_bucket(int64_t us)
{
	int b;

	if (us <= 1)
		return 0;
	b = (int)ceil(4.0 * log2((double)us));
	return b >= COMMITSTATS_BUCKETS ? COMMITSTATS_BUCKETS - 1 : b;
}

int64_t
commitstats_bucket_top(int b)
{
	return (int64_t)floor(exp2(b / 4.0));
}

int64_t
commitstats_quantile(const struct commitstats_period *p, double q)
{
	int64_t want, seen = 0;

	if (p->commits == 0)
		return 0;
	want = (int64_t)ceil(q * (double)p->commits);
	if (want < 1)
		want = 1;
	for (int b = 0; b < COMMITSTATS_BUCKETS; b++)
		if ((seen += p->hist[b]) >= want)
			return commitstats_bucket_top(b);
	return p->max_us;
}

/* The period's line, then a fresh period (mutex held). */
static void
log_period(struct commitstats *s, int64_t now_us)
{
	struct commitstats_period *p = &s->p;

	if (s->debug && p->commits > 0)
		log_debug("commits %" PRId64 " (%" PRId64 " webhooks) in %.1f s: p50 %.2f"
		    " p99 %.2f max %.2f ms; WAL up to %" PRId64 " pages; checkpoints:"
		    " %" PRId64 " by the checkpointer (%" PRId64 " pages, %.1f ms,"
		    " longest %.1f ms), %" PRId64 " by the leader (longest %.1f ms)",
		    p->commits, p->items, (now_us - s->period_start_us) / 1e6,
		    commitstats_quantile(p, 0.5) / 1e3, commitstats_quantile(p, 0.99) / 1e3,
		    p->max_us / 1e3, p->max_wal, p->ckpt_runs, p->ckpt_pages,
		    p->ckpt_us / 1e3, p->ckpt_max_us / 1e3, p->ckpt_leader_runs,
		    p->ckpt_leader_max_us / 1e3);
	memset(p, 0, sizeof(*p));
	s->period_start_us = now_us;
}

void
commitstats_commit(struct commitstats *s, int64_t us, size_t items,
    int wal_pages, int64_t now_us)
{
	struct commitstats_period *p = &s->p;

	metric_observe(M_COMMIT_DURATION, us);
	metric_observe(M_COMMIT_BATCH, (int64_t)items);
	pthread_mutex_lock(&s->mu);
	if (s->period_start_us == 0)
		s->period_start_us = now_us;
	p->hist[commitstats_bucket(us)]++;
	p->commits++;
	p->items += (int64_t)items;
	if (us > p->max_us)
		p->max_us = us;
	if (wal_pages > p->max_wal)
		p->max_wal = wal_pages;
	if (s->debug && us >= COMMITSTATS_SLOW_US)
		log_debug("slow commit: %.1f ms for %zu webhooks, WAL %d pages",
		    us / 1e3, items, wal_pages);
	if (now_us - s->period_start_us >= COMMITSTATS_LOG_S * 1000000LL)
		log_period(s, now_us);
	pthread_mutex_unlock(&s->mu);
}

void
commitstats_checkpoint(struct commitstats *s, int64_t us, int pages, bool leader)
{
	struct commitstats_period *p = &s->p;

	pthread_mutex_lock(&s->mu);
	if (leader) {
		p->ckpt_leader_runs++;
		if (us > p->ckpt_leader_max_us)
			p->ckpt_leader_max_us = us;
	} else {
		p->ckpt_runs++;
		p->ckpt_pages += pages > 0 ? pages : 0;
		p->ckpt_us += us;
		if (us > p->ckpt_max_us)
			p->ckpt_max_us = us;
	}
	if (s->debug && us >= COMMITSTATS_SLOW_US)
		log_debug("slow checkpoint by the %s: %.1f ms, %d pages",
		    leader ? "leader" : "checkpointer", us / 1e3, pages);
	pthread_mutex_unlock(&s->mu);
}
