/*
 * stats: the operator's counts, gathered once for everyone who shows
 * them, so GET /v1/stats, `shiptrack stats` (human or --json), `shiptrack
 * check` and GET /v1/metrics cannot disagree.
 *
 * stats_gather() reads one snapshot (one read transaction): orders by
 * status and by stage, stale orders, stored events and rejected
 * deliveries, notifications by state, the last poll run and the last
 * successful one, the last Rye pass ("rye": its times, result and counts,
 * and lastSuccess), and the state of the cron runs' locks (runlock.h).  The
 * result is the JSON object /v1/stats answers; `shiptrack stats --json`
 * prints the same object through the same serialiser, and stats_print()
 * writes it for people, one aligned line per count.  stats_metrics()
 * writes the same object, plus the stored running totals (metrics.h), in
 * Prometheus's text format (promtext.h).
 *
 * A run lock is "stuck" when it has been held longer than
 * STATS_STUCK_INTERVALS x poll_interval: cron starts a run every
 * poll_interval, a run starts no new work after one interval, so a run
 * still holding the lock after three is hanging, and every run cron
 * starts meanwhile leaves at once, saying only that another run is busy.
 */
#ifndef SHIPTRACK_STATS_H
#define SHIPTRACK_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "runlock.h"
#include "store.h"

#define STATS_STUCK_INTERVALS 3
#define STATS_LOCKS 3		/* poll, notify, rye */

struct stats_lock {
	const char *name;	/* RUNLOCK_POLL, RUNLOCK_NOTIFY */
	bool ok;		/* false: could not look (error says why) */
	char error[160];
	struct runlock_state s;
	int64_t age_s;		/* held with a known start: seconds since; else -1 */
	bool stuck;
};

/* Look at both run locks of c->database (never blocks, never takes them). */
void stats_locks(const struct conf *c, int64_t now_ms,
    struct stats_lock out[STATS_LOCKS]);

/* GET /v1/stats's body (new object in *out). */
enum store_rc stats_gather(struct store *st, const struct conf *c,
    int64_t now_ms, json_object **out);

/* The same for people: aligned "name value" lines, groups indented. */
void stats_print(FILE *f, json_object *stats);

/*
 * stats_gather(), and more read in the same snapshot: more(arg, st) runs
 * inside its read transaction (stats_metrics() reads the stored totals
 * so).
 */
enum store_rc stats_gather_with(struct store *st, const struct conf *c,
    int64_t now_ms, json_object **out,
    enum store_rc (*more)(void *arg, struct store *st), void *arg);
/* The notification states counted, in order; NULL past the last. */
const char *stats_notify_state(size_t i);

/* GET /v1/metrics's body into out (PROMTEXT_CONTENT_TYPE; stats_prom.c). */
enum store_rc stats_metrics(struct store *st, const struct conf *c,
    int64_t now_ms, struct buf *out);

#endif
