/*
 * progress: a one-line progress display on stderr for long work
 * (shiptrack-poll's run, `shiptrack replay`, `shiptrack migrate`).
 *
 * Only when stderr is a terminal: the line is rewritten in place ("\r",
 * then erase to the end of the line) at most every PROGRESS_INTERVAL_MS,
 * and erased when the work ends, so that the one summary line the
 * program prints afterwards stands alone.  When stderr is not a terminal
 * (cron, a log, a pipe) nothing is written at all: the summary line is
 * the whole story there.
 */
#ifndef SHIPTRACK_PROGRESS_H
#define SHIPTRACK_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

#define PROGRESS_INTERVAL_MS 100	/* at most ~10 redraws a second */

struct progress {
	bool tty;		/* draw at all */
	bool drawn;		/* a line is on the screen */
	int64_t last_ms;	/* CLOCK_MONOTONIC, the last redraw */
	int64_t start_ms;
};

/* wanted: false to stay quiet even on a terminal (e.g. --verbose logs). */
void progress_init(struct progress *p, bool wanted);
/* Redraw with this text if a redraw is due. */
void progress_show(struct progress *p, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Erase the line. */
void progress_end(struct progress *p);
/* Seconds since progress_init(), for the summary line. */
double progress_seconds(const struct progress *p);

#endif
