/*
 * text: the character tests several parsers share, so each untrusted
 * input (webhook fields, carrier answers, query strings, signatures) is
 * judged by the same rule.
 */
#ifndef SHIPTRACK_TEXT_H
#define SHIPTRACK_TEXT_H

#include <stdbool.h>
#include <stddef.h>

/* No byte below 0x20 and no DEL: safe for logs, headers and the page. */
bool text_printable(const char *s);

/* The printable bytes of s[0..len), at most outsz-1 of them, into out. */
void text_clean_copy(char *out, size_t outsz, const char *s, size_t len);

/* The value of one hex digit of either case, or -1. */
int text_hexval(char c);

/*
 * Does JSON text hold a "\uXXXX" escape of a UTF-16 surrogate that is not
 * one half of a pair (a high one followed at once by a low one)?  Such a
 * string is no Unicode text (RFC 8259 section 8.2, RFC 7493 section 2.1),
 * and json-c decodes every one of them to the same U+FFFD without a word.
 * Meant for text a JSON parser has accepted: there every backslash is an
 * escape inside a string.  Reads at most len bytes.
 */
bool text_json_lone_surrogate(const char *s, size_t len);

#endif
