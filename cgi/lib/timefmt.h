/*
 * timefmt: every date form shiptrack meets, in; ISO-8601 UTC, out.
 *
 * Rye sends "2023-06-27T12:00:00Z" or with milliseconds; carriers send a
 * date alone, a local time without offset, a time with "+01:00", or ".000Z".
 * A parsed time keeps whether it had a clock time and whether its offset
 * was known: an offset-less carrier time is the carrier's local time, and
 * converting it as if it were UTC would invent a zone.  Such a time is
 * still given a sortable value (read as UTC) so that ordering is total.
 *
 * Pure functions, no I/O, no locale, no TZ.
 */
#ifndef SHIPTRACK_TIMEFMT_H
#define SHIPTRACK_TIMEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct timeval_iso {
	int64_t ms;		/* milliseconds since 1970-01-01T00:00:00Z */
	bool has_time;		/* a clock time was given, not just a date */
	bool has_offset;	/* "Z" or "+hh:mm" was given */
};

/* 0 on success, -1 if s is not one of the accepted forms. */
int timefmt_parse(const char *s, struct timeval_iso *out);

/* "YYYY-MM-DDTHH:MM:SSZ", or with ".mmm" when ms is not whole; needs 25 bytes. */
#define TIMEFMT_ISO_LEN 32
void timefmt_iso_utc(int64_t ms, char out[TIMEFMT_ISO_LEN]);

/*
 * The latest UTC instant a parsed value can mean: itself when its offset
 * is known; for a local time without offset, that time in the westernmost
 * zone (UTC-12); for a date alone, the end of that day there.  So "the
 * estimated delivery has passed" is never said while it is still that
 * day, or not yet that time, somewhere.
 */
int64_t timefmt_latest_ms(const struct timeval_iso *t);

/* Current wall-clock time in ms. */
int64_t timefmt_now_ms(void);

#endif
