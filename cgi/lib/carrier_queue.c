/*
 * carrier_queue: a request's way into the carrier client (see carrier.c
 * for its way through): the calls build its URL and body
 * (carrier_parse.c) and queue it in its endpoint's FIFO; opening the
 * client (its options checked, the key put into a header line and
 * nowhere else) and closing it.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "apiclient.h"
#include "carrier.h"
#include "carrier_int.h"
#include "ratelimit.h"
#include "timefmt.h"

static enum carrier_bucket
bucket_of(const struct carrier *c, enum carrier_op op)
{
	if (c->api.legacy)
		return BUCKET_CREATE;	/* /v4: one limit for the whole account */
	return op == CARRIER_CREATE ? BUCKET_CREATE : op == CARRIER_LIST ?
	    BUCKET_LIST : BUCKET_GET;
}

void
carrier_fifo_push(struct fifo *f, struct xfer *x, bool front)
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

struct xfer *
carrier_fifo_pop(struct fifo *f)
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

size_t
carrier_queued(const struct carrier *c)
{
	size_t n = 0;

	for (int b = 0; b < BUCKET__MAX; b++)
		n += c->q[b].n;
	return n;
}

void
carrier_xfer_free(struct xfer *x)
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
	carrier_fifo_push(&c->q[x->bucket], x, false);
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

/* What is wrong with the key, or NULL. */
static const char *
key_problem(const char *key)
{
	if (key == NULL || *key == '\0')
		return "carrier_api_key is not set";
	for (const char *p = key; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || *p == 0x7f)
			return "carrier_api_key contains blanks or control characters";
	return NULL;
}

struct carrier *
carrier_open(const struct carrier_opts *o, char *err, size_t errsz)
{
	struct carrier *c;
	const char *problem;
	char *key_line = NULL;
	size_t len;
	int64_t now = carrier_mono_ms();

	if ((problem = key_problem(o->api_key)) != NULL) {
		snprintf(err, errsz, "%s", problem);
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
	c->rnd = ratelimit_seed(timefmt_now_ms(), (long)getpid());
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
		carrier_abandon(c);
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
