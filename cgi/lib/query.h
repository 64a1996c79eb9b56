/*
 * query: QUERY_STRING into decoded key/value pairs, paranoid.
 *
 * At most QUERY_MAX_PARAMS pairs, keys up to 32 bytes, values up to 512
 * after decoding; "%XX" must be two hex digits, "+" is a space; a decoded
 * NUL or control character, a repeated key, or anything over a bound
 * makes the whole query invalid (the caller answers 400), so "present but
 * bad" never reads as "absent".
 */
#ifndef SHIPTRACK_QUERY_H
#define SHIPTRACK_QUERY_H

#include <stddef.h>

#define QUERY_MAX_PARAMS 16
#define QUERY_MAX_KEY 32
#define QUERY_MAX_VALUE 512
#define QUERY_MAX_LEN 4096

struct query {
	size_t n;
	struct {
		char key[QUERY_MAX_KEY + 1];
		char value[QUERY_MAX_VALUE + 1];
	} p[QUERY_MAX_PARAMS];
};

/* 0, or -1 with a short reason in why. */
int query_parse(const char *qs, struct query *q, const char **why);
/* The value of key, or NULL if absent. */
const char *query_get(const struct query *q, const char *key);
/* Percent-decode src (n bytes) into dst (dstsz); -1 on malformed/too long. */
int query_decode(const char *src, size_t n, char *dst, size_t dstsz);

#endif
