/*
 * log: one line per event on stderr, which every web server routes to its
 * error log and cron mails to its owner.
 *
 * A line is "<UTC time> <program>[<pid>] <level>: <message>".  The message
 * is formatted first and then escaped, so a value taken from a request (an
 * event id, a header) can never start a new line or hide behind a carriage
 * return: bytes below 0x20, 0x7f and backslash come out as \n, \r, \t, \\
 * or \xHH.  Secrets are never passed in; callers log names, not values.
 */
#ifndef SHIPTRACK_LOG_H
#define SHIPTRACK_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LL_ERROR, LL_WARN, LL_INFO, LL_DEBUG };

void log_init(const char *program, enum log_level level);
void log_set_level(enum log_level level);
int  log_parse_level(const char *name, enum log_level *out);
/* Whether messages of this level are written. */
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Escape src into dst (at most dstsz bytes, always terminated). */
void log_escape(char *dst, size_t dstsz, const char *src);

#define log_error(...) log_msg(LL_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LL_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LL_DEBUG, __VA_ARGS__)

#endif
