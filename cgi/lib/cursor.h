/*
 * cursor: the order list's page cursor, opaque to clients.
 *
 * A cursor is base64url (no padding) of "<createdAt ms>.<order id>", the
 * sort key of the last order on a page; the next page starts after it.
 * Decoding takes only what cursor_encode() could have given out: the
 * encoding, a dot, a non-negative number of at most 23 digits that fits
 * in 63 bits, a non-empty id of at most CURSOR_ID_MAX bytes without NUL,
 * and at most CURSOR_MAX characters in all.  Pure: no I/O.
 */
#ifndef SHIPTRACK_CURSOR_H
#define SHIPTRACK_CURSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CURSOR_ID_MAX 256	/* bytes of an id: the API's segment bound */
#define CURSOR_MAX 400		/* characters of a cursor taken back */

/* Into out (outsz bytes); false, with out "", when it does not fit. */
bool cursor_encode(int64_t ms, const char *id, char *out, size_t outsz);
/*
 * The time into *ms and the id into id (idsz bytes); false when cur is
 * not a cursor this API gave out.
 */
bool cursor_decode(const char *cur, int64_t *ms, char *id, size_t idsz);

#endif
