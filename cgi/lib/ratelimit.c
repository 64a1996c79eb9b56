/*
 * ratelimit: see ratelimit.h.
 */
#include "config.h"

#include "ratelimit.h"

void
ratelimit_init(struct ratelimit *rl, double limit_per_s, int64_t now_ms)
{
	if (limit_per_s <= 0)
		limit_per_s = 1;
	rl->per_ms = limit_per_s * RATELIMIT_HEADROOM / 1000.0;
	rl->tokens = 1;
	rl->last_ms = now_ms;
	rl->hold_ms = 0;
}

static void
refill(struct ratelimit *rl, int64_t now_ms)
{
	if (now_ms > rl->last_ms) {
		rl->tokens += (double)(now_ms - rl->last_ms) * rl->per_ms;
		if (rl->tokens > 1)
			rl->tokens = 1;
	}
	rl->last_ms = now_ms;
}

int64_t
ratelimit_wait(struct ratelimit *rl, int64_t now_ms)
{
	int64_t wait = 0;

	refill(rl, now_ms);
	if (rl->tokens < 1) {
		/* Round up: waking a millisecond early would only spin. */
		wait = (int64_t)((1 - rl->tokens) / rl->per_ms) + 1;
	}
	if (rl->hold_ms - now_ms > wait)
		wait = rl->hold_ms - now_ms;
	return wait;
}

int
ratelimit_take(struct ratelimit *rl, int64_t now_ms)
{
	if (ratelimit_wait(rl, now_ms) > 0)
		return -1;
	rl->tokens -= 1;
	return 0;
}

void
ratelimit_hold(struct ratelimit *rl, int64_t until_ms)
{
	if (until_ms > rl->hold_ms)
		rl->hold_ms = until_ms;
}

void
ratelimit_observe(struct ratelimit *rl, long remaining, int64_t reset_ms,
    int64_t now_ms, int64_t max_hold_ms)
{
	if (remaining > 0 || reset_ms <= now_ms || reset_ms - now_ms > max_hold_ms)
		return;
	ratelimit_hold(rl, reset_ms);
}

uint64_t
ratelimit_seed(int64_t now_ms, long pid)
{
	return (uint64_t)now_ms * 6364136223846793005ULL ^ (uint64_t)pid ^
	    0x9e3779b97f4a7c15ULL;
}

double
ratelimit_jitter(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return (double)((x * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
}

double
ratelimit_backoff_ms(int attempt, double base_ms, double cap_ms, uint64_t *state)
{
	double d = base_ms * (double)(1L << (attempt > 16 ? 16 : attempt - 1));

	if (d > cap_ms)
		d = cap_ms;
	return d / 2 + d / 2 * ratelimit_jitter(state);
}
