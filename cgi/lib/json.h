/*
 * json: untrusted JSON text into a json-c tree, bounded and lossless.
 *
 * json-c is lenient where two different texts would then read as one
 * value, so its answer is checked before anyone sees it: the text must be
 * strict RFC 8259 JSON, one value with nothing after it, at most
 * JSON_MAX_DEPTH deep, and strict UTF-8 (RFC 3629: json-c's own check
 * lets overlong forms, surrogates and code points above U+10FFFF
 * through); a "\u" escape of a lone surrogate (json-c makes every one
 * U+FFFD) and a number that is not finite (json-c reads NaN, Infinity
 * and 1e999) are refused.  Used for webhook bodies (event.h) and the
 * API's request bodies alike, so both refuse the same texts.  The member
 * readers below are the clients' (carrier.h, rye.h) and the parser's.
 * Pure: no I/O.
 */
#ifndef SHIPTRACK_JSON_H
#define SHIPTRACK_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#define JSON_MAX_DEPTH 32

/*
 * Parse text; NULL if it is not JSON by the rules above, with *why (if
 * why is not NULL) saying what was wrong.  The caller json_object_put()s
 * the result.
 */
json_object *json_parse_bounded(const char *text, size_t len, const char **why);
/* o as compact JSON (no "\/" escapes) in place of out's contents; -1 if it does not fit. */
struct buf;
int json_to_buf(json_object *o, struct buf *out);

/*
 * Reading members of a parsed answer.  Each returns NULL where the member
 * is absent, null or of another type; a string also when it is empty,
 * longer than max bytes, or holds an escaped NUL ("\u0000") that would
 * cut it short.
 */
json_object *json_get_obj(json_object *o, const char *key, json_type type);
/* A string value (not a member) by the same rule. */
const char *json_str_of(json_object *v, size_t max);
const char *json_get_str(json_object *o, const char *key, size_t max);
/* The same, for identifiers, codes and states: no control characters either. */
const char *json_get_token(json_object *o, const char *key, size_t max);

/*
 * A member a webhook's parser only reads (marketplace, tracking fields, a
 * challenge): a string, or an integer as its digits; NULL when absent,
 * null, anything else, a string an escaped NUL would cut short, or an
 * integer whose digits json-c may have lost (it clamps beyond 64 bits).
 */
const char *json_get_text(json_object *o, const char *key);
/*
 * A member events are keyed or filed by (an id, an order id, a type): a
 * JSON string only, compared byte for byte.  Never a number: json-c
 * clamps integers beyond 64 bits, so 99999999999999999999 and
 * 99999999999999999998 would both read 18446744073709551615 and the
 * second event be answered as a duplicate of the first.  Returns false
 * when the member is there (and not null) but unusable; *out is then NULL.
 */
bool json_get_key(json_object *o, const char *key, const char **out);

#endif
