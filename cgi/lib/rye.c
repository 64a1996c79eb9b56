/*
 * rye: the client half of rye.h, one synchronous request at a time on one
 * reused curl easy handle (its connection stays open between calls);
 * opening and closing the client are rye_open.c's.
 *
 * A call is a loop over attempts:
 *
 *   wait for the API's bucket (never past the deadline, waking every
 *   250 ms to see the stop flag) -> send -> read the headers into the
 *   bucket -> read the answer, then
 *     429                 wait (Retry-After, the body's retryAfter, or
 *                         1-2 s, 2-4 s, 4-8 s ... up to 32-64 s), at most
 *                         max_waits times and never past the deadline;
 *     5xx, 408, timeout,  back off 0.5 s doubling, capped at 30 s, with
 *     connection, cut     "equal jitter", at most max_retries times and
 *     2xx body            never past the deadline;
 *     anything else       the answer.
 *
 * Each request's timeout is cut to what is left of the run's deadline;
 * a request cut that way which times out ends RYE_STOPPED, not
 * UNAVAILABLE: Rye did nothing wrong.  Messages never carry the key: curl
 * never puts headers into its errors, and a server that echoes the key
 * in an error message has it masked.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "apiclient.h"
#include "log.h"
#include "ratelimit.h"
#include "rye.h"
#include "rye_int.h"
#include "timefmt.h"

#define BACKOFF_BASE_MS		500
#define BACKOFF_CAP_MS		30000
#define WAIT_429_CAP_SHIFT	5	/* 1-2 s doubling up to 32-64 s */
#define RESET_GRACE_MS		50
#define HOLD_CAP_MS		60000	/* a RateLimit/Ratelimit-Reset hold, at most */
#define NAP_MS			250

/* One attempt's transfer state. */
struct xfer {
	struct rye *c;
	struct apiclient_sink sink;	/* the answer */
	struct rye_headers h;
	char errbuf[CURL_ERROR_SIZE];
};

int64_t
rye_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
stopping(const struct rye *c)
{
	return c->o.stop != NULL && *c->o.stop != 0;
}

/* Milliseconds left before the deadline (INT64_MAX without one). */
static int64_t
time_left(const struct rye *c)
{
	return c->o.deadline_ms > 0 ? c->o.deadline_ms - timefmt_now_ms() : INT64_MAX;
}

/*
 * Sleep at least ms, waking to look at the stop flag; false: stop was set.
 * The clock reads whole milliseconds, rounded down, so the end is one
 * later: a server's Retry-After: 3 is never 2.999 s.
 */
static bool
nap(const struct rye *c, int64_t ms)
{
	int64_t until = rye_mono_ms() + ms + 1, left;

	while ((left = until - rye_mono_ms()) > 0) {
		struct timespec ts;
		int64_t step = left < NAP_MS ? left : NAP_MS;

		if (stopping(c))
			return false;
		ts.tv_sec = (time_t)(step / 1000);
		ts.tv_nsec = (long)(step % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !stopping(c))
			;
	}
	return !stopping(c);
}

static enum rye_result
end(struct rye_answer *a, enum rye_result r, const char *message)
{
	a->result = r;
	snprintf(a->message, sizeof(a->message), "%s", message);
	return r;
}

/* --- curl ------------------------------------------------------------------- */

/* The answer's header lines (apiclient.h), into x->h. */
static void
header_line(void *arg, const char *line, size_t len)
{
	struct rye_headers *h = arg;

	if (line == NULL)
		rye_headers_init(h);
	else
		rye_header_line(h, line, len, timefmt_now_ms() / 1000);
}

static int
on_progress(void *arg, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct xfer *x = arg;

	(void)dt, (void)dn, (void)ut, (void)un;
	return stopping(x->c) ? 1 : 0;
}

/* The reused handle, with the options every call keeps. */
int
rye_easy_setup(struct rye *c)
{
	CURL *e = c->easy = curl_easy_init();

	if (e == NULL)
		return -1;
	apiclient_easy_defaults(e);
	curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
	return 0;
}

/* One HTTP exchange.  Returns curl's code; *http the status (0: none). */
static CURLcode
perform(struct rye *c, struct xfer *x, const char *url, const char *body,
    long timeout_ms, long *http)
{
	CURL *e = c->easy;
	CURLcode res;

	apiclient_sink_reset(&x->sink);
	x->errbuf[0] = '\0';
	*http = 0;
	apiclient_sink_attach(e, &x->sink);
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 10000 ? timeout_ms : 10000L);
	curl_easy_setopt(e, CURLOPT_XFERINFODATA, x);
	if (body != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdr_gql);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdr_rest);
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	res = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, http);
	return res;
}

/* --- what the headers say ------------------------------------------------------ */

/* RateLimit-Policy lower than the configured rate slows the REST bucket down. */
static void
observe_policy(struct rye *c, const struct rye_headers *h)
{
	double policy, want;

	if (h->quota < 0 || h->window_s <= 0)
		return;
	policy = (double)h->quota / (double)h->window_s;
	if (policy <= 0)
		policy = 1.0 / (double)h->window_s;	/* q=0: crawl, never stop */
	want = policy < c->rate[API_REST] ? policy : c->rate[API_REST];
	if (want == (c->policy_rate > 0 ? c->policy_rate : c->rate[API_REST]))
		return;
	if (want < c->rate[API_REST])
		log_info("rye: RateLimit-Policy allows %.2f requests/s: pacing to that", want);
	c->policy_rate = want < c->rate[API_REST] ? want : 0;
	c->rl[API_REST].per_ms = want * RATELIMIT_HEADROOM / 1000.0;
}

static void
hold(struct rye *c, int api, int64_t ms)
{
	if (ms <= 0)
		return;
	if (ms > HOLD_CAP_MS)
		ms = HOLD_CAP_MS;
	ratelimit_hold(&c->rl[api], rye_mono_ms() + ms + RESET_GRACE_MS);
	c->stats.held++;
}

static void
observe(struct rye *c, int api, const struct rye_headers *h)
{
	int64_t reset;

	if (api == API_REST) {
		observe_policy(c, h);
		/* Nothing left in this window: wait for the next (t seconds). */
		if (h->remaining == 0 && h->reset_s > 0)
			hold(c, api, (int64_t)h->reset_s * 1000);
		return;
	}
	if (h->gql_remaining != 0 || h->gql_reset < 0)
		return;
	/* Ratelimit-Reset's unit is not documented: Unix seconds if it looks like it. */
	reset = h->gql_reset;
	if (reset > 1000000000L)
		reset -= timefmt_now_ms() / 1000;
	hold(c, api, reset * 1000);
}

/* --- retries and waits -------------------------------------------------------- */

/* Sleep ms for a retry unless the deadline comes first.  false: do not retry. */
static bool
may_wait(struct rye *c, struct rye_answer *a, int64_t ms, enum rye_result fail,
    const char *what)
{
	size_t len = strlen(a->message);

	if (ms >= time_left(c)) {
		snprintf(a->message + len, sizeof(a->message) - len, "; %s %lld ms, "
		    "past the run's deadline", what, (long long)ms);
		a->result = fail;
		return false;
	}
	if (!nap(c, ms)) {
		end(a, RYE_STOPPED, "stopped while waiting to retry");
		return false;
	}
	return true;
}

/* 5xx, 408, timeouts, cut bodies.  true: try again. */
static bool
retry(struct rye *c, struct rye_answer *a, int *attempts, enum rye_result fail)
{
	double d;

	a->result = fail;
	if (*attempts >= c->o.max_retries) {
		size_t len = strlen(a->message);
		snprintf(a->message + len, sizeof(a->message) - len, " (after %d %s)",
		    *attempts + 1, *attempts ? "attempts" : "attempt");
		return false;
	}
	++*attempts;
	d = ratelimit_backoff_ms(*attempts, BACKOFF_BASE_MS, BACKOFF_CAP_MS, &c->rnd);
	log_debug("rye: %s; retry %d in %.0f ms", a->message, *attempts, d);
	if (!may_wait(c, a, (int64_t)d, fail, "the next retry would be in"))
		return false;
	c->stats.retries++;
	return true;
}

/* A 429: how long to wait before trying again. */
static int64_t
wait_429(struct rye *c, const struct rye_answer *a, const struct rye_headers *h,
    int waits)
{
	int64_t base = 1000LL << (waits - 1 > WAIT_429_CAP_SHIFT ? WAIT_429_CAP_SHIFT :
	    waits - 1), ms;
	long asked = h->retry_after_s >= 0 ? h->retry_after_s : a->retry_after_s;

	ms = base + (int64_t)((double)base * ratelimit_jitter(&c->rnd));
	if (asked > 0)
		ms = (int64_t)asked * 1000;	/* the server knows best */
	if (h->remaining == 0 && h->reset_s > 0 && (int64_t)h->reset_s * 1000 > ms)
		ms = (int64_t)h->reset_s * 1000;
	return ms;
}

/* true: try again. */
static bool
rate_limited(struct rye *c, int api, struct rye_answer *a,
    const struct rye_headers *h, int *waits)
{
	int64_t ms;

	c->stats.rate_limited++;
	if (*waits >= c->o.max_waits) {
		size_t len = strlen(a->message);
		snprintf(a->message + len, sizeof(a->message) - len,
		    " (still rate limited after %d waits)", *waits);
		return false;
	}
	ms = wait_429(c, a, h, ++*waits);
	log_info("rye: rate limited (429); waiting %lld ms", (long long)ms);
	ratelimit_hold(&c->rl[api], rye_mono_ms() + ms);
	return may_wait(c, a, ms, RYE_RATE_LIMITED,
	    "waiting out the rate limit would take");
}

/* --- one call ---------------------------------------------------------------- */

/* Mask the key wherever a server echoed it into the message. */
static void
mask(char *s, const char *key)
{
	size_t klen = strlen(key);

	for (char *p = s; (p = strstr(p, key)) != NULL; p += klen)
		memset(p, '*', klen);
}

/* Wait for the bucket.  false: the deadline or stop comes first (a is set). */
static bool
wait_turn(struct rye *c, int api, struct rye_answer *a)
{
	int64_t w;

	while ((w = ratelimit_wait(&c->rl[api], rye_mono_ms())) > 0) {
		if (w >= time_left(c)) {
			end(a, RYE_STOPPED, "not sent: the run's deadline comes before "
			    "Rye allows another request");
			return false;
		}
		if (!nap(c, w)) {
			end(a, RYE_STOPPED, "not sent: stopping");
			return false;
		}
	}
	ratelimit_take(&c->rl[api], rye_mono_ms());
	return true;
}

/* A transfer that failed in curl: why, and whether to retry. */
static bool
transfer_failed(struct rye *c, struct xfer *x, CURLcode res, bool cut_short,
    struct rye_answer *a, int *attempts)
{
	if (res == CURLE_ABORTED_BY_CALLBACK && stopping(c))
		end(a, RYE_STOPPED, "stopped during the request");
	else if (x->sink.too_large)
		end(a, RYE_INVALID, "answer larger than the 4 MiB this client accepts");
	else if (res == CURLE_OPERATION_TIMEDOUT && cut_short)
		end(a, RYE_STOPPED, "the run's deadline came during the request");
	else {
		end(a, RYE_UNAVAILABLE, x->errbuf[0] ? x->errbuf : curl_easy_strerror(res));
		return retry(c, a, attempts, RYE_UNAVAILABLE);
	}
	return false;
}

/* What to do with an answer that arrived.  true: try again. */
static bool
answered(struct rye *c, int api, enum rye_op op, struct xfer *x, long http,
    struct rye_answer *a, int *attempts, int *waits)
{
	bool json = rye_answer_parse(op, (int)http, x->sink.body.data, x->sink.body.len, a) == 0;

	mask(a->message, c->key);
	mask(a->error_name, c->key);
	switch (a->result) {
	case RYE_RATE_LIMITED:
		return rate_limited(c, api, a, &x->h, waits);
	case RYE_UNAVAILABLE:
		return retry(c, a, attempts, RYE_UNAVAILABLE);
	case RYE_INVALID:
		/* Not JSON on a 2xx: most likely cut short on the way. */
		return !json && retry(c, a, attempts, RYE_INVALID);
	default:
		return false;
	}
}

static enum rye_result
call(struct rye *c, enum rye_op op, const char *url, const char *body,
    struct rye_answer *a)
{
	int api = op == RYE_ORDER_BY_ID ? API_GQL : API_REST, attempts = 0, waits = 0;
	struct xfer x = { .c = c };
	bool again = true;

	buf_init(&x.sink.body, RYE_MAX_BODY);
	x.sink.header = header_line;
	x.sink.arg = &x.h;
	while (again) {
		long timeout = c->o.timeout_s * 1000L, http;
		int64_t left;
		bool cut_short = false;
		CURLcode res;

		if (stopping(c) || time_left(c) <= 0) {
			end(a, RYE_STOPPED, stopping(c) ? "not sent: stopping" :
			    "not sent: the run's deadline has passed");
			break;
		}
		if (!wait_turn(c, api, a))
			break;
		if ((left = time_left(c)) < timeout) {
			timeout = left < 1 ? 1 : (long)left;
			cut_short = true;
		}
		log_debug("rye: %s %s", rye_op_name(op), url);
		c->stats.sent[op]++;
		res = perform(c, &x, url, body, timeout, &http);
		observe(c, api, &x.h);
		if (res != CURLE_OK)
			again = transfer_failed(c, &x, res, cut_short, a, &attempts);
		else
			again = answered(c, api, op, &x, http, a, &attempts, &waits);
	}
	buf_free(&x.sink.body);
	if ((unsigned)a->result < RYE_RESULT__MAX)
		c->stats.ended[op][a->result]++;
	return a->result;
}

/* --- the calls ------------------------------------------------------------------ */

static enum rye_result
get(struct rye *c, enum rye_op op, int rc, struct buf *url, struct rye_answer *a)
{
	enum rye_result r = rc == 0 ? call(c, op, url->data, NULL, a) :
	    end(a, RYE_FAILED, "bad id or cursor (empty or too long)");

	if (rc != 0)
		c->stats.ended[op][RYE_FAILED]++;

	buf_free(url);
	return r;
}

enum rye_result
rye_get_intent(struct rye *c, const char *id, struct rye_answer *a)
{
	struct buf url;

	rye_answer_init(a);
	buf_init(&url, RYE_MAX_URL);
	return get(c, RYE_GET_INTENT, rye_url_intent(c->base, id, &url), &url, a);
}

enum rye_result
rye_get_shipment(struct rye *c, const char *id, struct rye_answer *a)
{
	struct buf url;

	rye_answer_init(a);
	buf_init(&url, RYE_MAX_URL);
	return get(c, RYE_GET_SHIPMENT, rye_url_shipment(c->base, id, &url), &url, a);
}

enum rye_result
rye_list_shipments(struct rye *c, const char *intent_id, const char *after,
    int limit, struct rye_answer *a)
{
	struct buf url;

	rye_answer_init(a);
	buf_init(&url, RYE_MAX_URL);
	return get(c, RYE_LIST_SHIPMENTS, rye_url_shipments(c->base, intent_id, after,
	    limit, &url), &url, a);
}

enum rye_result
rye_list_events(struct rye *c, const char *after, int limit, struct rye_answer *a)
{
	struct buf url;

	rye_answer_init(a);
	buf_init(&url, RYE_MAX_URL);
	return get(c, RYE_LIST_EVENTS, rye_url_events(c->base, after, limit, &url),
	    &url, a);
}

enum rye_result
rye_list_intents(struct rye *c, const char *const *ids, size_t n, struct rye_answer *a)
{
	struct buf url;

	rye_answer_init(a);
	buf_init(&url, RYE_MAX_URL + 64);
	return get(c, RYE_LIST_INTENTS, rye_url_intents_by_id(c->base, ids, n, &url),
	    &url, a);
}

enum rye_result
rye_find_shipments(struct rye *c, const char *const *ids, size_t n,
    struct rye_answer *a)
{
	struct buf url;

	rye_answer_init(a);
	buf_init(&url, RYE_MAX_URL + 64);
	return get(c, RYE_FIND_SHIPMENTS, rye_url_shipments_by_id(c->base, ids, n,
	    &url), &url, a);
}

enum rye_result
rye_order_by_id(struct rye *c, const char *id, struct rye_answer *a)
{
	struct buf body;
	enum rye_result r;

	rye_answer_init(a);
	buf_init(&body, 64 * 1024);
	if (rye_body_order_by_id(id, &body) < 0)
		r = end(a, RYE_FAILED, "bad order id (empty or too long)");
	else
		r = call(c, RYE_ORDER_BY_ID, c->gql, body.data, a);
	buf_free(&body);
	return r;
}

void
rye_set_deadline(struct rye *c, int64_t deadline_ms)
{
	c->o.deadline_ms = deadline_ms;
}

const struct rye_stats *
rye_stats(const struct rye *c)
{
	return &c->stats;
}
