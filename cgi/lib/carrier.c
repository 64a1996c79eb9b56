/*
 * carrier: the client half of carrier.h, on the curl multi interface.
 *
 * A request is a struct xfer.  It waits in its endpoint's FIFO until the
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
#include <unistd.h>

#include <curl/curl.h>

#include "apiclient.h"
#include "carrier.h"
#include "log.h"
#include "ratelimit.h"

#define BACKOFF_BASE_MS	500
#define BACKOFF_CAP_MS	30000
#define MAX_TICK_MS	250

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

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static enum carrier_bucket
bucket_of(const struct carrier *c, enum carrier_op op)
{
	if (c->api.legacy)
		return BUCKET_CREATE;	/* /v4: one limit for the whole account */
	return op == CARRIER_CREATE ? BUCKET_CREATE : op == CARRIER_LIST ?
	    BUCKET_LIST : BUCKET_GET;
}

static void
fifo_push(struct fifo *f, struct xfer *x, bool front)
{
	x->next = NULL;
	if (f->head == NULL)
		f->head = f->tail = x;
	else if (front) {
		x->next = f->head;
		f->head = x;
	} else {
		f->tail->next = x;
		f->tail = x;
	}
	f->n++;
}

static struct xfer *
fifo_pop(struct fifo *f)
{
	struct xfer *x = f->head;

	if (x != NULL) {
		f->head = x->next;
		if (f->head == NULL)
			f->tail = NULL;
		f->n--;
	}
	return x;
}

static size_t
queued(const struct carrier *c)
{
	size_t n = 0;

	for (int b = 0; b < BUCKET__MAX; b++)
		n += c->q[b].n;
	return n;
}

static void
xfer_free(struct xfer *x)
{
	if (x->easy != NULL) {
		curl_multi_remove_handle(x->c->multi, x->easy);
		curl_easy_cleanup(x->easy);
	}
	buf_free(&x->sink.body);
	free(x->url);
	free(x->body);
	free(x);
}

/* The one place a request ends. */
static void
finish(struct xfer *x, enum carrier_outcome outcome, int http,
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
	xfer_free(x);
}

/* The answer's header lines (apiclient.h), into x->h. */
static void
header_line(void *arg, const char *line, size_t len)
{
	struct carrier_headers *h = arg;

	if (line == NULL)
		carrier_headers_init(h);
	else
		carrier_header_line(h, line, len);
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
				fifo_pop(f);
				finish(x, CARRIER_RATE_LIMITED, 429, NULL,
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
			fifo_pop(f);
			if (start(c, x) < 0)
				finish(x, CARRIER_FAILED, 0, NULL,
				    "cannot start a transfer (out of memory?)", 0);
		}
	}
	return wake;
}

static void
requeue(struct xfer *x, int64_t not_before)
{
	x->not_before = not_before;
	fifo_push(&x->c->q[x->bucket], x, true);
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
	finish(x, CARRIER_UNAVAILABLE, http, NULL, msg, 0);
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
		finish(x, CARRIER_RATE_LIMITED, 429, r, late ? "rate limited "
		    "until after this run's end" : "the service's request quota "
		    "is used up", until);
		return;
	}
	if (x->waits >= c->o.max_waits || c->stopping) {
		finish(x, CARRIER_RATE_LIMITED, 429, r,
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
	int64_t now = mono_ms(), wall = timefmt_now_ms();
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
		finish(x, CARRIER_FAILED, (int)http, NULL,
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
		finish(x, carrier_classify((int)http, parsed), (int)http,
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
static void
abandon(struct carrier *c)
{
	struct xfer *x;

	while (queued(c) > 0 || c->inflight > 0) {
		for (int b = 0; b < BUCKET__MAX; b++)
			while ((x = fifo_pop(&c->q[b])) != NULL)
				finish(x, CARRIER_STOPPED, 0, NULL, "the run is stopping", 0);
		if (c->inflight > 0) {
			x = c->flying[--c->inflight];
			finish(x, CARRIER_STOPPED, 0, NULL, "the run is stopping", 0);
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
			abandon(c);
			return 0;
		}
		while (feed != NULL && queued(c) < 2 * (size_t)c->o.concurrency &&
		    feed(arg))
			;
		if (c->stopping)
			continue;
		wake = start_ready(c, mono_ms());
		if (c->inflight == 0 && queued(c) == 0) {
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
	(void)start_ready(c, mono_ms());
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
		while ((x = fifo_pop(&all)) != NULL)
			fifo_push(x->op == op ? &drop : &c->q[b], x, false);
	}
	/* Callbacks may queue more: finish only after the queues are whole again. */
	while ((x = fifo_pop(&drop)) != NULL)
		finish(x, CARRIER_STOPPED, 0, NULL, "not started: the run is out of time", 0);
}

size_t
carrier_pending(const struct carrier *c, enum carrier_op op)
{
	return op < CARRIER_OP__MAX ? c->pending[op] : 0;
}

const struct carrier_stats *
carrier_stats(const struct carrier *c)
{
	return &c->stats;
}

const struct carrier_api *
carrier_api(const struct carrier *c)
{
	return &c->api;
}

static int
enqueue(struct carrier *c, enum carrier_op op, struct buf *url, struct buf *body,
    carrier_done_fn done, void *arg)
{
	struct xfer *x = calloc(1, sizeof(*x));

	if (x == NULL)
		return -1;
	x->c = c;
	x->op = op;
	x->bucket = bucket_of(c, op);
	x->done = done;
	x->arg = arg;
	/* The buffers' memory moves into the request. */
	x->url = url->data;
	url->data = NULL;
	if (body != NULL) {
		x->body = body->data;
		x->body_len = body->len;
		body->data = NULL;
	}
	buf_init(&x->sink.body, CARRIER_MAX_BODY);
	x->sink.header = header_line;
	x->sink.arg = &x->h;
	fifo_push(&c->q[x->bucket], x, false);
	c->pending[op]++;
	return 0;
}

int
carrier_create(struct carrier *c, const struct carrier_new *n,
    carrier_done_fn done, void *arg)
{
	struct buf url, body;
	int rc = -1;

	buf_init(&url, CARRIER_MAX_URL);
	buf_init(&body, 64 * 1024);
	if (carrier_url_create(c->base, &url) == 0 &&
	    carrier_body_create(&c->api, n, &body) == 0)
		rc = enqueue(c, CARRIER_CREATE, &url, &body, done, arg);
	buf_free(&url);
	buf_free(&body);
	return rc;
}

int
carrier_get(struct carrier *c, const char *id, carrier_done_fn done, void *arg)
{
	struct buf url;
	int rc = -1;

	buf_init(&url, CARRIER_MAX_URL);
	if (carrier_url_get(c->base, id, &url) == 0)
		rc = enqueue(c, CARRIER_GET, &url, NULL, done, arg);
	buf_free(&url);
	return rc;
}

int
carrier_list(struct carrier *c, const struct carrier_query *q,
    carrier_done_fn done, void *arg)
{
	struct buf url;
	int rc = -1;

	buf_init(&url, CARRIER_MAX_URL);
	if (carrier_url_list(c->base, q, &url) == 0)
		rc = enqueue(c, CARRIER_LIST, &url, NULL, done, arg);
	buf_free(&url);
	return rc;
}


struct carrier *
carrier_open(const struct carrier_opts *o, char *err, size_t errsz)
{
	struct carrier *c;
	char *key_line = NULL;
	size_t len;
	int64_t now = mono_ms();

	if (o->api_key == NULL || *o->api_key == '\0') {
		snprintf(err, errsz, "carrier_api_key is not set");
		return NULL;
	}
	for (const char *p = o->api_key; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f) {
			snprintf(err, errsz, "carrier_api_key contains blanks or "
			    "control characters");
			return NULL;
		}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errsz, "out of memory");
		return NULL;
	}
	c->o = *o;
	if (c->o.concurrency < 1)
		c->o.concurrency = 1;
	if (carrier_api_parse(o->base_url, &c->api) < 0) {
		snprintf(err, errsz, "carrier_api_url must be an http(s) URL ending "
		    "in /v4 or /tracking/YYYY-MM");
		goto err;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errsz, "cannot initialise libcurl");
		goto err;
	}
	c->global = true;
	if ((c->flying = calloc((size_t)c->o.concurrency, sizeof(*c->flying))) == NULL)
		goto oom;
	len = strlen(c->api.key_header) + strlen(o->api_key) + 3;
	if ((c->base = strdup(o->base_url)) == NULL ||
	    (key_line = malloc(len)) == NULL)
		goto oom;
	snprintf(key_line, len, "%s: %s", c->api.key_header, o->api_key);
	c->hdr_get = apiclient_headers(key_line, false);
	c->hdr_post = apiclient_headers(key_line, true);
	/* curl copied the line; wipe ours. */
	memset(key_line, 0, len);
	free(key_line);
	if (c->hdr_get == NULL || c->hdr_post == NULL ||
	    (c->multi = curl_multi_init()) == NULL)
		goto oom;
	curl_multi_setopt(c->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)c->o.concurrency);
	curl_multi_setopt(c->multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)c->o.concurrency);
	for (int b = 0; b < BUCKET__MAX; b++)
		ratelimit_init(&c->rl[b], (double)(c->api.legacy ? o->legacy_limit :
		    o->limit[b]), now);
	c->rnd = (uint64_t)timefmt_now_ms() * 6364136223846793005ULL ^
	    (uint64_t)getpid() ^ 0x9e3779b97f4a7c15ULL;
	return c;
oom:
	snprintf(err, errsz, "out of memory");
err:
	carrier_close(c);
	return NULL;
}

void
carrier_close(struct carrier *c)
{
	if (c == NULL)
		return;
	if (c->multi != NULL) {
		c->stopping = true;
		abandon(c);
		curl_multi_cleanup(c->multi);
	}
	curl_slist_free_all(c->hdr_get);
	curl_slist_free_all(c->hdr_post);
	if (c->global)
		curl_global_cleanup();
	free(c->flying);
	free(c->base);
	free(c);
}
