/*
 * carrier_int.h: inside the carrier client; included by carrier.c (a
 * request's way through: pacing, transfers, retries, the loop) and
 * carrier_queue.c (its way in, opening and closing), and by nothing
 * else: callers see carrier.h.
 */
#ifndef SHIPTRACK_CARRIER_INT_H
#define SHIPTRACK_CARRIER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "apiclient.h"
#include "carrier.h"
#include "ratelimit.h"

struct xfer {
	struct xfer *next;
	struct carrier *c;
	enum carrier_op op;
	enum carrier_bucket bucket;
	char *url, *body;
	size_t body_len;
	carrier_done_fn done;
	void *arg;
	int attempts, waits;
	int64_t not_before;		/* monotonic ms */
	CURL *easy;
	struct apiclient_sink sink;	/* the answer */
	struct carrier_headers h;
	char errbuf[CURL_ERROR_SIZE];
};

struct fifo {
	struct xfer *head, *tail;
	size_t n;
};

struct carrier {
	struct carrier_api api;
	struct carrier_opts o;
	char *base;
	struct curl_slist *hdr_get, *hdr_post;
	CURLM *multi;
	struct ratelimit rl[BUCKET__MAX];
	int64_t closed_until[BUCKET__MAX];	/* wall ms; 0: open */
	struct fifo q[BUCKET__MAX];
	struct xfer **flying;		/* the transfers running, inflight of them */
	size_t inflight, pending[CARRIER_OP__MAX];
	struct carrier_stats stats;
	bool stopping, version_logged, global;
	uint64_t rnd;
};

/* CLOCK_MONOTONIC, in ms. */
int64_t carrier_mono_ms(void);

/* An endpoint's FIFO: push at the tail, or at the head (a retry). */
void carrier_fifo_push(struct fifo *f, struct xfer *x, bool front);
struct xfer *carrier_fifo_pop(struct fifo *f);
/* Requests queued over all endpoints. */
size_t carrier_queued(const struct carrier *c);
void carrier_xfer_free(struct xfer *x);

/* The one place a request ends: its done callback, exactly once, then freed. */
void carrier_finish(struct xfer *x, enum carrier_outcome outcome, int http,
    const struct carrier_response *r, const char *message, int64_t reset_ms);
/* Every queued and in-flight request ends as STOPPED. */
void carrier_abandon(struct carrier *c);

#endif
