/*
 * rye_int.h: inside the Rye client; included by its files (rye.c and
 * rye_open.c: the calls and the client; rye_url.c, rye_objects.c,
 * rye_raw.c, rye_parse.c: the pure half) and by nothing else: callers
 * see rye.h.
 */
#ifndef SHIPTRACK_RYE_INT_H
#define SHIPTRACK_RYE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <stdint.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "ratelimit.h"
#include "rye.h"

/* --- the client (rye.c, rye_open.c) ------------------------------------------ */

enum { API_REST, API_GQL, API__MAX };

struct rye {
	struct rye_opts o;
	char *base, *gql, *key;
	CURL *easy;
	struct curl_slist *hdr_rest, *hdr_gql;
	struct ratelimit rl[API__MAX];
	double rate[API__MAX];		/* configured */
	double policy_rate;		/* REST, from RateLimit-Policy; 0: none */
	struct rye_stats stats;
	uint64_t rnd;
	bool global;
};

/* CLOCK_MONOTONIC, in ms. */
int64_t rye_mono_ms(void);
/* c->easy made, with the options every call keeps; -1 when out of memory. */
int rye_easy_setup(struct rye *c);

/* --- reading objects (rye_objects.c) ------------------------------------------ */

/* A date-time member timefmt accepts, or NULL. */
const char *rye_get_date(json_object *o, const char *key);
/* An array's length, bounded by max (*truncated: it was longer); 0 when no array. */
size_t rye_array_len(json_object *arr, size_t max, bool *truncated);
/* Whether an element of orderByID's events is kept (and so has a slot). */
bool rye_order_event_kept(json_object *e);

/* --- raw text (rye_raw.c) ------------------------------------------------------ */

/* A byte range of the answer's text. */
struct rye_slice {
	const char *p;
	size_t n;
};

const char *rye_skip_ws(const char *p, const char *end);
/* A whole body: one JSON value and nothing but blanks after it; NULL when bad. */
json_object *rye_parse_json(const char *text, size_t len);
/* The value at a path of member names from the body's top; 0 or -1. */
int rye_path_slice(const char *body, size_t len, const char *const *path,
    size_t depth, struct rye_slice *out);
/* The elements of the array at a path (at most max kept); their number, or -1. */
long rye_path_array_slices(const char *body, size_t len, const char *const *path,
    size_t depth, struct rye_slice *sl, size_t max);
/* The top-level "data" array's elements (list answers). */
long rye_raw_data_slices(const char *body, size_t len, struct rye_slice *sl,
    size_t max);

#endif
