/*
 * carrier: the client half of carrier.h, on the curl multi interface:
 * a request's way through (carrier_queue.c is its way in).
 *
 * A request is a struct xfer (carrier_int.h).  It waits in its endpoint's FIFO until the
 * endpoint's bucket has a token and a transfer slot is free, runs, and is
 * then either finished (its done callback, exactly once) or put back at
 * the head of its FIFO with a time before which it may not go:
 *
 *   429          hold the whole endpoint until Retry-After (seconds or
 *                an HTTP-date), else X-RateLimit-Reset; at most max_waits
 *                times, and never for longer than max_wait_s (a daily
 *                quota) nor past the run's deadline: then the endpoint is
 *                closed for this run and its requests end RATE_LIMITED
 *                without being sent;
 *   5xx, 408, timeout, connection trouble, a body that is not JSON on a
 *                2xx: back off exponentially (0.5 s doubling, capped at
 *                30 s) with jitter, at most max_retries times.
 *
 * Putting the retry at the head of its FIFO also delays the requests
 * behind it: when the service is struggling, the endpoint slows down.
 * The loop sleeps in curl_multi_poll() for at most 250 ms, so a stop
 * request is seen quickly.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "apiclient.h"
#include "carrier.h"
#include "carrier_int.h"
#include "log.h"
#include "ratelimit.h"

#define BACKOFF_BASE_MS	500
#define BACKOFF_CAP_MS	30000
#define MAX_TICK_MS	250

int64_t
carrier_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The one place a request ends. */
void
carrier_finish(struct xfer *x, enum carrier_outcome outcome, int http,
    const struct carrier_response *r, const char *message, int64_t reset_ms)
{
	struct carrier *c = x->c;
	struct carrier_result res = {
		.outcome = outcome, .http = http, .code = r ? r->code : 0,
		.message = message, .resp = r, .rate_reset_ms = reset_ms,
	};

	if (outcome != CARRIER_OK && outcome != CARRIER_REFUSED)
		c->stats.failed++;
	c->stats.ended[x->op][outcome]++;
	c->pending[x->op]--;
	x->done(x->arg, &res);
	carrier_xfer_free(x);
}

static void
landed(struct carrier *c, struct xfer *x)
{
	for (size_t i = 0; i < c->inflight; i++)
		if (c->flying[i] == x) {
			c->flying[i] = c->flying[--c->inflight];
			return;
		}
}

static int
start(struct carrier *c, struct xfer *x)
{
	CURL *e;

	apiclient_sink_reset(&x->sink);
	x->errbuf[0] = '\0';
	if ((e = x->easy = curl_easy_init()) == NULL)
		return -1;
	apiclient_easy_defaults(e);
	apiclient_sink_attach(e, &x->sink);
	curl_easy_setopt(e, CURLOPT_URL, x->url);
	curl_easy_setopt(e, CURLOPT_PRIVATE, x);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, c->o.timeout_s * 1000L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    c->o.timeout_s < 10 ? c->o.timeout_s * 1000L : 10000L);
	if (x->body != NULL) {
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdr_post);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->body);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long)x->body_len);
	} else {
		curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->hdr_get);
		curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
	}
	if (curl_multi_add_handle(c->multi, e) != CURLM_OK) {
		curl_easy_cleanup(e);
		x->easy = NULL;
		return -1;
	}
	c->flying[c->inflight++] = x;
	c->stats.sent[x->op]++;
	log_debug("carrier: %s %s", carrier_op_name(x->op), x->url);
	return 0;
}

/* Start what may start now; returns ms until something else may (or -1). */
static int64_t
start_ready(struct carrier *c, int64_t now)
{
	int64_t wake = -1, wall = timefmt_now_ms();

	for (int b = 0; b < BUCKET__MAX; b++) {
		struct fifo *f = &c->q[b];

		while (f->head != NULL) {
			struct xfer *x = f->head;
			int64_t w;

			if (c->closed_until[b] > wall) {
				carrier_fifo_pop(f);
				carrier_finish(x, CARRIER_RATE_LIMITED, 429, NULL,
				    "the service's request quota is used up",
				    c->closed_until[b]);
				continue;
			}
			if ((size_t)c->o.concurrency <= c->inflight)
				break;	/* a finishing transfer wakes the loop */
			w = x->not_before > now ? x->not_before - now : 0;
			if (w == 0)
				w = ratelimit_wait(&c->rl[b], now);
			if (w > 0) {
				wake = wake < 0 || w < wake ? w : wake;
				break;
			}
			ratelimit_take(&c->rl[b], now);
			carrier_fifo_pop(f);
			if (start(c, x) < 0)
				carrier_finish(x, CARRIER_FAILED, 0, NULL,
				    "cannot start a transfer (out of memory?)", 0);
		}
	}
	return wake;
}

static void
requeue(struct xfer *x, int64_t not_before)
{
	x->not_before = not_before;
	carrier_fifo_push(&x->c->q[x->bucket], x, true);
}

/* 5xx, timeouts, unreadable bodies: back off and retry, or give up. */
static void
retry_or_fail(struct xfer *x, int http, const char *why, int64_t now)
{
	struct carrier *c = x->c;
	char msg[300];
	double d;

	if (x->attempts < c->o.max_retries && !c->stopping) {
		x->attempts++;
		c->stats.retries++;
		d = ratelimit_backoff_ms(x->attempts, BACKOFF_BASE_MS, BACKOFF_CAP_MS,
		    &c->rnd);
		log_debug("carrier: %s: %s; retry %d in %.0f ms",
		    carrier_op_name(x->op), why, x->attempts, d);
		requeue(x, now + (int64_t)d);
		return;
	}
	snprintf(msg, sizeof(msg), "%s (after %d %s)", why, x->attempts + 1,
	    x->attempts ? "attempts" : "attempt");
	carrier_finish(x, CARRIER_UNAVAILABLE, http, NULL, msg, 0);
}

/* A 429: wait until the service's reset, or give up for this run. */
static void
rate_limited(struct xfer *x, const struct carrier_response *r, int64_t now)
{
	struct carrier *c = x->c;
	int64_t wall = timefmt_now_ms(), wait = carrier_retry_wait_ms(&x->h, wall);
	int64_t until = wall + wait;
	bool late = c->o.deadline_ms > 0 && until > c->o.deadline_ms;

	c->stats.rate_limited++;
	if (wait > (int64_t)c->o.max_wait_s * 1000 || late) {
		c->closed_until[x->bucket] = until;
		log_warn("carrier: %s: rate limited for %lld s more (%s): not waiting",
		    carrier_op_name(x->op), (long long)(wait / 1000),
		    late ? "past the end of this run" : "quota?");
		carrier_finish(x, CARRIER_RATE_LIMITED, 429, r, late ? "rate limited "
		    "until after this run's end" : "the service's request quota "
		    "is used up", until);
		return;
	}
	if (x->waits >= c->o.max_waits || c->stopping) {
		carrier_finish(x, CARRIER_RATE_LIMITED, 429, r,
		    "still rate limited after waiting", until);
		return;
	}
	x->waits++;
	log_info("carrier: %s: rate limited (429); waiting %lld ms",
	    carrier_op_name(x->op), (long long)wait);
	ratelimit_hold(&c->rl[x->bucket], now + wait);
	requeue(x, now + wait);
}

static void
note_version(struct carrier *c, const struct xfer *x)
{
	if (c->version_logged || x->h.api_version[0] == '\0')
		return;
	c->version_logged = true;
	if (strcmp(x->h.api_version, c->api.version) != 0)
		log_warn("carrier: configured API version %s is served as %s",
		    c->api.version[0] ? c->api.version : "v4", x->h.api_version);
	else
		log_debug("carrier: served as API version %s", x->h.api_version);
}

static void
completed(struct carrier *c, struct xfer *x, CURLcode res)
{
	struct carrier_response r;
	int64_t now = carrier_mono_ms(), wall = timefmt_now_ms();
	long http = 0;
	bool parsed;
	char why[CURL_ERROR_SIZE + 64];

	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &http);
	curl_multi_remove_handle(c->multi, x->easy);
	curl_easy_cleanup(x->easy);
	x->easy = NULL;
	landed(c, x);
	if (x->h.remaining >= 0 && x->h.reset_s > 0)
		ratelimit_observe(&c->rl[x->bucket], x->h.remaining,
		    now + (x->h.reset_s * 1000 + CARRIER_RESET_GRACE_MS - wall), now,
		    2000 + CARRIER_RESET_GRACE_MS);
	note_version(c, x);
	if (x->sink.too_large) {
		carrier_finish(x, CARRIER_FAILED, (int)http, NULL,
		    "answer larger than the 8 MiB this client accepts", 0);
		return;
	}
	if (res != CURLE_OK) {
		snprintf(why, sizeof(why), "%s", x->errbuf[0] ? x->errbuf :
		    curl_easy_strerror(res));
		retry_or_fail(x, 0, why, now);
		return;
	}
	parsed = carrier_response_parse(x->op, (int)http, x->sink.body.data, x->sink.body.len,
	    &r) == 0;
	switch (carrier_classify((int)http, parsed)) {
	case CARRIER_RATE_LIMITED:
		rate_limited(x, parsed ? &r : NULL, now);
		break;
	case CARRIER_UNAVAILABLE:
		retry_or_fail(x, (int)http, r.message, now);
		break;
	default:
		carrier_finish(x, carrier_classify((int)http, parsed), (int)http,
		    parsed ? &r : NULL, r.message, 0);
		break;
	}
	carrier_response_free(&r);
}

static int
drain(struct carrier *c)
{
	CURLMsg *m;
	int left, n = 0;

	while ((m = curl_multi_info_read(c->multi, &left)) != NULL) {
		struct xfer *x = NULL;
		CURL *e = m->easy_handle;
		CURLcode res = m->data.result;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
		completed(c, x, res);
		n++;
	}
	return n;
}

/* Every queued and in-flight request ends as STOPPED. */
void
carrier_abandon(struct carrier *c)
{
	struct xfer *x;

	while (carrier_queued(c) > 0 || c->inflight > 0) {
		for (int b = 0; b < BUCKET__MAX; b++)
			while ((x = carrier_fifo_pop(&c->q[b])) != NULL)
				carrier_finish(x, CARRIER_STOPPED, 0, NULL, "the run is stopping", 0);
		if (c->inflight > 0) {
			x = c->flying[--c->inflight];
			carrier_finish(x, CARRIER_STOPPED, 0, NULL, "the run is stopping", 0);
		}
	}
}

int
carrier_run(struct carrier *c, carrier_feed_fn feed, void *arg)
{
	for (;;) {
		int64_t wake;
		long timeout;
		int running;

		if (c->stopping) {
			carrier_abandon(c);
			return 0;
		}
		while (feed != NULL && carrier_queued(c) < 2 * (size_t)c->o.concurrency &&
		    feed(arg))
			;
		if (c->stopping)
			continue;
		wake = start_ready(c, carrier_mono_ms());
		if (c->inflight == 0 && carrier_queued(c) == 0) {
			if (feed != NULL && feed(arg))
				continue;
			return 0;
		}
		if (curl_multi_perform(c->multi, &running) != CURLM_OK)
			return -1;
		if (drain(c) > 0)
			continue;
		timeout = wake < 0 || wake > MAX_TICK_MS ? MAX_TICK_MS : (long)wake;
		if (timeout > 0 && curl_multi_poll(c->multi, NULL, 0, (int)timeout,
		    NULL) != CURLM_OK)
			return -1;
	}
}

void
carrier_stop(struct carrier *c)
{
	c->stopping = true;
}

void
carrier_pump(struct carrier *c)
{
	int running;

	if (c->stopping)
		return;
	(void)start_ready(c, carrier_mono_ms());
	(void)curl_multi_perform(c->multi, &running);
}

void
carrier_drop_queued(struct carrier *c, enum carrier_op op)
{
	struct fifo drop = { NULL, NULL, 0 };
	struct xfer *x;

	for (int b = 0; b < BUCKET__MAX; b++) {
		struct fifo all = c->q[b];

		c->q[b] = (struct fifo){ NULL, NULL, 0 };
		while ((x = carrier_fifo_pop(&all)) != NULL)
			carrier_fifo_push(x->op == op ? &drop : &c->q[b], x, false);
	}
	/* Callbacks may queue more: finish only after the queues are whole again. */
	while ((x = carrier_fifo_pop(&drop)) != NULL)
		carrier_finish(x, CARRIER_STOPPED, 0, NULL, "not started: the run is out of time", 0);
}

