/*
 * apply_replay: `shiptrack replay`'s work: every order rebuilt from the
 * stored raw events, in one transaction.
 *
 *   count the events (for the progress line)
 *   -> reset what is derived (orders, shipments, the Rye pass's
 *      bookkeeping; the raw events and the outbox stay)
 *   -> re-read each stored event with today's parser, in arrival order,
 *      re-derive its columns and re-apply its effects (apply.h); one that
 *      no longer parses is kept as stored and counted as skipped
 *   -> prune what no event derives any more
 *   -> recompute every order that has events (updatedAt kept where
 *      nothing derived changed)
 *   -> commit; any failure rolls everything back, so a failed replay
 *      leaves the old state intact.
 *
 * The CLI keeps the arguments and the printing: progress() is called
 * after each event and each order, with the counts so far.
 */
#ifndef SHIPTRACK_APPLY_REPLAY_H
#define SHIPTRACK_APPLY_REPLAY_H

#include <stdint.h>

#include "store.h"

struct apply_replay_counts {
	int64_t total;		/* events stored, counted before the replay */
	long events;		/* events re-applied */
	long skipped;		/* events that no longer parse (kept as stored) */
	long orders;		/* orders rebuilt */
};

typedef void (*apply_replay_progress)(void *arg,
    const struct apply_replay_counts *n);

/* STORE_OK once committed; otherwise nothing was changed. */
enum store_rc apply_replay(struct store *st, apply_replay_progress progress,
    void *arg, struct apply_replay_counts *n);

#endif
