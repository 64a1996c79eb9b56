/*
 * ratelimit: a token bucket per endpoint, pure (the caller passes the time).
 *
 * AfterShip counts requests per endpoint in fixed one-second windows and
 * answers 429 past the limit.  A bucket that refills at the full limit
 * with a burst of several tokens can put close to twice the limit into
 * one window, and even a one-token bucket at exactly the limit spills over
 * as soon as network jitter moves one request across a window boundary.
 * So a bucket holds one token (burst 1) and refills at RATELIMIT_HEADROOM
 * of the limit: requests leave evenly spaced, never more than the limit
 * fall into any window, with about 100 ms of slack for jitter.
 *
 * The server's own view comes on top: X-RateLimit-Remaining 0 holds the
 * bucket until X-RateLimit-Reset, and a 429 holds it until Reset or
 * Retry-After (ratelimit_hold).  Times are milliseconds on any clock the
 * caller keeps monotonic.
 */
#ifndef SHIPTRACK_RATELIMIT_H
#define SHIPTRACK_RATELIMIT_H

#include <stdint.h>

#define RATELIMIT_HEADROOM 0.9

struct ratelimit {
	double per_ms;		/* refill rate, tokens per millisecond */
	double tokens;		/* 0..1 */
	int64_t last_ms;	/* time of the last refill */
	int64_t hold_ms;	/* no request before this time */
};

/* A bucket for a service limit of limit_per_s requests per second (> 0). */
void ratelimit_init(struct ratelimit *rl, double limit_per_s, int64_t now_ms);

/* Milliseconds until a request may go (0: now). */
int64_t ratelimit_wait(struct ratelimit *rl, int64_t now_ms);

/* Take the token for a request; returns 0, or -1 (nothing taken) if not yet allowed. */
int ratelimit_take(struct ratelimit *rl, int64_t now_ms);

/* No request before until_ms (a 429, or Remaining 0 until Reset). */
void ratelimit_hold(struct ratelimit *rl, int64_t until_ms);

/*
 * The server's headers: remaining requests in its window, which resets at
 * reset_ms (already on the caller's clock).  Remaining 0 holds the bucket
 * until then; a reset further than max_hold_ms away is ignored as clock
 * skew (one-second windows never reset further out).
 */
void ratelimit_observe(struct ratelimit *rl, long remaining, int64_t reset_ms,
    int64_t now_ms, int64_t max_hold_ms);

/*
 * Jitter for retries and schedules, so that clients (and shipments) do not
 * move in step: a uniform value in [0, 1) from a xorshift64* state the
 * caller seeds (non-zero).  Not for secrets.
 */
double ratelimit_jitter(uint64_t *state);
/* A state for ratelimit_jitter() that differs between processes and runs. */
uint64_t ratelimit_seed(int64_t now_ms, long pid);

/*
 * The wait before retry number attempt (1, 2, ...): base_ms doubling per
 * attempt up to cap_ms, with "equal jitter" (half of it fixed, half
 * random), so clients that failed together do not retry together.
 */
double ratelimit_backoff_ms(int attempt, double base_ms, double cap_ms,
    uint64_t *state);

#endif
