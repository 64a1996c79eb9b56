/*
 * text: the two character tests several parsers share, so each untrusted
 * input (webhook fields, carrier answers, query strings, signatures) is
 * judged by the same rule.
 */
#ifndef SHIPTRACK_TEXT_H
#define SHIPTRACK_TEXT_H

#include <stdbool.h>

/* No byte below 0x20 and no DEL: safe for logs, headers and the page. */
bool text_printable(const char *s);

/* The value of one hex digit of either case, or -1. */
int text_hexval(char c);

#endif
