/*
 * webhook.fcgi: receive, verify, store and apply sender webhooks.
 *
 * Request flow (one function each, in this order):
 *   method -> sender (by signature header) -> secret configured?
 *   -> body (bounded) -> signature (raw bytes, constant time)
 *   -> parse (bounded) -> handshake, or apply in one transaction
 *   -> answer, only after the commit.
 * Every refusal before the signature is verified leaves no trace but a
 * log line and a count (metrics.h); a signed body we cannot accept is
 * kept as evidence.
 *
 * Under FastCGI the process runs `threads` request threads and commits
 * their writes together (inbox.h, on batch.h's group commit); in CGI mode
 * the same code path commits a batch of one.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "batch.h"
#include "event.h"
#include "http.h"
#include "inbox.h"
#include "log.h"
#include "metrics.h"
#include "sig.h"
#include "timefmt.h"

#define MAX_SIGNATURE_HEADER 1024
#define MAX_PER_COMMIT 64

struct receiver {
	struct app app;
	struct batch *batch;
};

/*
 * A refusal that stores nothing: counted (metrics.h, by its code), then
 * answered from the error table (http_error.h); msg NULL: the table's.
 */
static void
refuse(struct http_req *req, enum http_error e, const char *msg,
    const char *extra)
{
	metric_add(metric_rejected(http_error_code(e)), 1);
	http_send_error(req, e, msg, extra);
}

/*
 * Senders, recognised by the header that carries their signature.
 * AfterShip's push (SIG_AFTERSHIP) is applied like a poll of the tracking
 * it carries (apply_carrier.h), through the same group commit.  Rye's two
 * generations may have a secret each; gen 2 falls back to gen 1's.  The
 * secret proves the bytes, not the format: event_parse() checks that the
 * body is of the generation the header names.
 */
#define SECRET_OF(field) offsetof(struct conf, field)
static const struct sender {
	enum sig_scheme scheme;
	const char *header;		/* CGI variable name */
	size_t secret;			/* offset of the secret in struct conf */
	size_t fallback;		/* used while that one is unset */
} senders[] = {
	{ SIG_RYE_V1, "HTTP_RYE_HMAC_SIGNATURE_V1", SECRET_OF(webhook_secret),
	    SECRET_OF(webhook_secret) },
	{ SIG_RYE_V2, "HTTP_X_RYE_SIGNATURE", SECRET_OF(webhook_secret_v2),
	    SECRET_OF(webhook_secret) },
	{ SIG_AFTERSHIP, "HTTP_AFTERSHIP_HMAC_SHA256",
	    SECRET_OF(aftership_webhook_secret), SECRET_OF(aftership_webhook_secret) },
};
#define NSENDERS (sizeof(senders) / sizeof(senders[0]))

static const char *
conf_string(const struct app *a, size_t offset)
{
	return *(char *const *)(const void *)((const char *)&a->conf + offset);
}

static const char *
secret_of(const struct app *a, const struct sender *s)
{
	const char *secret = conf_string(a, s->secret);

	return secret != NULL ? secret : conf_string(a, s->fallback);
}

/* Is any sender's secret set?  None: every delivery would be refused. */
static bool
any_secret(const struct app *a)
{
	for (size_t i = 0; i < NSENDERS; i++)
		if (secret_of(a, &senders[i]) != NULL)
			return true;
	return false;
}

static const struct sender *
find_sender(struct http_req *req, const char **value)
{
	for (size_t i = 0; i < NSENDERS; i++)
		if ((*value = http_param(req, senders[i].header)) != NULL)
			return &senders[i];
	return NULL;
}

static bool
read_body(struct http_req *req, const struct app *a, struct buf *body)
{
	enum http_error e = http_read_body(req, (size_t)a->conf.max_body, body);

	if (e != HTTP_ERR_NONE)
		refuse(req, e, NULL, NULL);
	return e == HTTP_ERR_NONE;
}

static void
answer_unavailable(struct http_req *req)
{
	refuse(req, HTTP_ERR_UNAVAILABLE, NULL, NULL);
}

static void
answer_accepted(struct http_req *req, const char *id, bool duplicate)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	json_object_object_add(o, "event", json_object_new_string(id));
	json_object_object_add(o, "duplicate", json_object_new_boolean(duplicate));
	http_send_json(req, 200, NULL, o);
}

static void
answer_challenge(struct http_req *req, const char *challenge)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "challenge", json_object_new_string(challenge));
	http_send_json(req, 200, NULL, o);
}

/* A signed body we refuse: keep it, then answer 400 (or 503 if not kept). */
static void
reject(struct http_req *req, struct receiver *r, const struct sender *s,
    enum http_error e, const char *why, const struct buf *body)
{
	struct inbox_item it = {
		.kind = INBOX_REJECT, .scheme = sig_scheme_name(s->scheme),
		.reason = why, .code = http_error_code(e), .body = body->data,
		.len = body->len,
	};

	if (inbox_submit(r->batch, &it) != STORE_OK) {
		answer_unavailable(req);
		return;
	}
	log_warn("rejected %s delivery: %s", sig_scheme_name(s->scheme), why);
	http_send_error(req, e, why, NULL);
}

static void
process(struct http_req *req, struct receiver *r, const struct sender *s,
    const struct buf *body)
{
	static const enum http_error errors[] = {
		[EVENT_INVALID_JSON] = HTTP_ERR_INVALID_JSON,
		[EVENT_MISSING_FIELD] = HTTP_ERR_MISSING_FIELD,
		[EVENT_INVALID_FIELD] = HTTP_ERR_INVALID_FIELD,
	};
	struct event ev;
	char why[160];
	enum event_rc rc = event_parse(s->scheme, body->data, body->len, &ev,
	    why, sizeof(why));
	struct inbox_item it = {
		.kind = INBOX_EVENT, .ev = &ev, .body = body->data, .len = body->len,
	};

	if (rc == EVENT_HANDSHAKE) {
		metric_add(M_WEBHOOK_CHALLENGE, 1);
		answer_challenge(req, ev.challenge);
	} else if (rc != EVENT_OK)
		reject(req, r, s, errors[rc], why, body);
	else if (inbox_submit(r->batch, &it) != STORE_OK)
		answer_unavailable(req);
	else {
		log_info("event %s type %s order %s%s", ev.id, ev.type,
		    ev.order_id ? ev.order_id : "-", it.duplicate ? " (duplicate)" : "");
		answer_accepted(req, ev.id, it.duplicate);
	}
	event_free(&ev);
}

static void
handle(struct http_req *req, void *arg)
{
	struct receiver *r = arg;
	struct app *a = &r->app;
	const struct sender *s;
	const char *sig = NULL, *secret;
	struct buf body;

	if (strcmp(http_method(req), "POST") != 0) {
		refuse(req, HTTP_ERR_METHOD_NOT_ALLOWED,
		    "only POST is accepted here", "Allow: POST\r\n");
		return;
	}
	if (!a->conf_ok || !any_secret(a)) {
		refuse(req, HTTP_ERR_NOT_CONFIGURED, NULL, NULL);
		return;
	}
	s = find_sender(req, &sig);
	if (s == NULL || strlen(sig) > MAX_SIGNATURE_HEADER) {
		refuse(req, HTTP_ERR_BAD_SIGNATURE, "no usable signature header",
		    NULL);
		return;
	}
	if ((secret = secret_of(a, s)) == NULL) {
		refuse(req, HTTP_ERR_NOT_CONFIGURED,
		    "no secret is configured for this sender", NULL);
		return;
	}
	buf_init(&body, 0);
	if (read_body(req, a, &body)) {
		/* From here on it is CPU work to batch_submit(): a commit waits for it. */
		batch_arrive(r->batch);
		if (!sig_verify(s->scheme, secret, sig, body.data, body.len)) {
			log_warn("bad %s signature", sig_scheme_name(s->scheme));
			refuse(req, HTTP_ERR_BAD_SIGNATURE, NULL, NULL);
		} else
			process(req, r, s, &body);
		batch_depart(r->batch);
	}
	buf_free(&body);
}

/* One request, then the counts it left waiting, if they are due (inbox.h). */
static void
serve(struct http_req *req, void *arg)
{
	struct receiver *r = arg;

	handle(req, r);
	inbox_flush_due(r->batch);
}

int
main(int argc, char *argv[])
{
	struct receiver r;
	int rc, threads;

	(void)argc;
	(void)argv;
	app_init(&r.app, "shiptrack-webhook", NULL, STORE_READWRITE);
	(void)app_store(&r.app);	/* open and migrate now, not on the first request */
	threads = r.app.conf_ok ? (int)r.app.conf.threads : 1;
	if ((r.batch = inbox_open(&r.app, MAX_PER_COMMIT, (size_t)threads,
	    http_fastcgi_socket())) == NULL)
		return 1;
	rc = http_serve_threads(serve, &r, r.app.conf_ok ? r.app.conf.read_timeout : 10,
	    threads);
	inbox_close(r.batch, &r.app);
	app_free(&r.app);
	return rc;
}
