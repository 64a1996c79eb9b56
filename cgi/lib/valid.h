/*
 * valid: the validators for values that end up where a stray byte does
 * harm (a mail header, an SMTP command, a log line), shared by every way
 * such a value comes in: the API's contact route, `shiptrack contact`,
 * Rye's buyer data, and the e-mail built from them (outbox.h).
 *
 * An address must be a plain addr-spec: one "@", printable ASCII, none of
 * blanks, angle brackets, quotes, commas, semicolons, colons,
 * parentheses, backslashes or control characters, a dot-atom on either
 * side, within RFC 5321's limits.  So no accepted value can end a header
 * line and start another (header injection), or smuggle a second
 * recipient.  Pure: no I/O.
 */
#ifndef SHIPTRACK_VALID_H
#define SHIPTRACK_VALID_H

#include <stdbool.h>
#include <stddef.h>

#define VALID_ADDR_MAX 254	/* RFC 5321 path limit without the brackets */
#define VALID_LOCAL_MAX 64	/* RFC 5321 local-part limit */
#define VALID_ORDER_ID_MAX 200

/* An order id an operator may name: non-empty, <= 200 bytes, no control bytes. */
bool valid_order_id(const char *id);
/* A plain addr-spec we are willing to put in From:, To: and RCPT TO. */
bool valid_address(const char *addr);
/* Non-empty, at most max bytes, every byte printable ASCII (0x20..0x7e). */
bool valid_header_value(const char *s, size_t max);

#endif
