/*
 * commitstats: how long the receiver's group commits take, for operators
 * and for whoever hunts a stall.
 *
 * Every commit (BEGIN to COMMIT returned: the time every webhook of the
 * batch waits on the database) and every checkpoint run is noted here by
 * the one thread that did it: the group-commit leader (only one at a
 * time) or the checkpointer (only one).  Two outputs:
 *
 *   - /v1/metrics: the histograms shiptrack_commit_duration_seconds and
 *     shiptrack_commit_batch_size (metrics.h), so a stall in production
 *     shows in the operator's dashboard;
 *   - at log_level = debug, one line every COMMITSTATS_LOG_S seconds
 *     with that period's commits: count, webhooks, p50/p99/max commit
 *     time, the longest WAL, and the checkpoints (who ran them, how many
 *     pages, how long), plus a line for each commit slower than
 *     COMMITSTATS_SLOW_US as it happens.  The figures a stall leaves are
 *     then in the web server's error log, next to the time it happened.
 */
#ifndef SHIPTRACK_COMMITSTATS_H
#define SHIPTRACK_COMMITSTATS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define COMMITSTATS_LOG_S 5
#define COMMITSTATS_SLOW_US 50000
/* Log-spaced buckets: 4 per doubling, from 1 us to ~70 s. */
#define COMMITSTATS_BUCKETS 104

struct commitstats_period {
	uint32_t hist[COMMITSTATS_BUCKETS];
	int64_t commits, items, max_us, max_wal;
	int64_t ckpt_runs, ckpt_pages, ckpt_max_us, ckpt_us;
	int64_t ckpt_leader_runs, ckpt_leader_max_us;
};

struct commitstats {
	pthread_mutex_t mu;	/* leader and checkpointer write; rarely both */
	struct commitstats_period p;
	int64_t period_start_us;
	bool debug;		/* log at debug level (else metrics only) */
};

void commitstats_init(struct commitstats *s, bool debug);
void commitstats_destroy(struct commitstats *s);

/* A commit of items webhooks that took us; the WAL was wal_pages long after it. */
void commitstats_commit(struct commitstats *s, int64_t us, size_t items,
    int wal_pages, int64_t now_us);
/* A checkpoint run that copied pages in us; leader: run by the commit leader. */
void commitstats_checkpoint(struct commitstats *s, int64_t us, int pages,
    bool leader);

/* The bucket of a duration, and a bucket's upper bound (for tests). */
int commitstats_bucket(int64_t us);
int64_t commitstats_bucket_top(int b);
/* The q-quantile (0..1) of a period's commit times, in us (0 if none). */
int64_t commitstats_quantile(const struct commitstats_period *p, double q);

#endif
