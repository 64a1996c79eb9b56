/*
 * promtext: a writer for Prometheus's text exposition format, version
 * 0.0.4 (what GET /v1/metrics answers).
 *
 * The format, as far as a writer must know it: one family is a "# HELP
 * name text" line and a "# TYPE name counter|gauge|histogram" line, then
 * its samples, "name{label="value",...} number", each family once and
 * contiguous.  Metric and label names match [a-zA-Z_:][a-zA-Z0-9_:]* and
 * [a-zA-Z_][a-zA-Z0-9_]*; label values escape backslash, double quote and
 * line feed (\\, \", \n); HELP text escapes backslash and line feed.
 * Numbers are Go floats: the shortest decimal that reads back the same,
 * and +Inf, -Inf, NaN.  A histogram's samples are name_bucket with an
 * "le" label (cumulative, ending with le="+Inf"), name_sum and
 * name_count (equal to the +Inf bucket).
 *
 * Every writer refuses (returns -1) rather than emit a malformed line:
 * a bad name, a label list that does not fit.
 */
#ifndef SHIPTRACK_PROMTEXT_H
#define SHIPTRACK_PROMTEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

#define PROMTEXT_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
#define PROMTEXT_NUMBER_LEN 32

bool promtext_name_ok(const char *name);
/* v as the format writes it, into buf (PROMTEXT_NUMBER_LEN bytes). */
void promtext_number(double v, char *buf, size_t bufsz);
/*
 * Append name="value" (value escaped) to the comma-separated label list
 * in buf; 0, or -1 (buf unchanged) if the name is bad or it does not fit.
 */
int promtext_label(char *buf, size_t bufsz, const char *name, const char *value);
/* The # HELP and # TYPE lines; type is "counter", "gauge" or "histogram". */
int promtext_family(struct buf *b, const char *name, const char *type,
    const char *help);
/* name{labels} v; labels from promtext_label(), or NULL or "" for none. */
int promtext_sample(struct buf *b, const char *name, const char *labels, double v);

#endif
