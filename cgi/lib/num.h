/*
 * num: numbers read from text that someone else wrote (configuration,
 * command lines, query strings, response headers), each with its bounds.
 *
 * strtol() skips leading blanks, accepts a sign ("+5", "-0") and stops
 * quietly at the first junk byte; none of that is welcome in input we
 * judge.  So a number here is ASCII digits only (a '-' only where the
 * caller allows negative values), the whole of the text, within explicit
 * bounds; header values, which nobody bounds for us, saturate at a
 * maximum instead of overflowing.  Pure: no I/O.
 */
#ifndef SHIPTRACK_NUM_H
#define SHIPTRACK_NUM_H

#include <stddef.h>
#include <stdint.h>

/* Parse a decimal within [min, max]; rejects junk, signs where min >= 0, ERANGE. */
int num_parse_long(const char *s, long min, long max, long *out);

/*
 * The ASCII digits at v[*i..len) as a number saturated at max (no
 * overflow, max >= 0), *i moved past them; -1 when there is none.
 */
int64_t num_digits(const char *v, size_t len, size_t *i, int64_t max);

/* A whole value of digits only (no sign, no blanks), saturated at max; -1 otherwise. */
int64_t num_whole_digits(const char *v, size_t len, int64_t max);

#endif
