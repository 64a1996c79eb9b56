/*
 * outbox_run: see outbox_run.h.  outbox_run() is the loop; send_row() is one
 * row: prepare (view, link, contact) -> one function per channel ->
 * decide (states, next attempt) -> store_notify_finish().
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "outbox_send.h"
#include "i18n.h"
#include "link.h"
#include "log.h"
#include "outbox.h"
#include "outbox_run.h"
#include "store_facts.h"
#include "store_outbox.h"
#include "timefmt.h"
#include "valid.h"
#include "view.h"

enum outcome { OUT_SENT, OUT_SKIPPED, OUT_FAILED, OUT_RETRY };

static const char *const state_name[] = {
	[OUT_SENT] = "sent", [OUT_SKIPPED] = "skipped", [OUT_FAILED] = "failed",
	[OUT_RETRY] = NULL,	/* stays pending */
};

/* One channel's attempt on one row. */
struct channel {
	const char *name;
	enum outcome out;
	long status, retry_after_s;
	char error[400];
};

struct run {
	const struct conf *c;
	struct store *st;
	unsigned char key[OUTBOX_KEY_MAX];
	size_t keylen;
	struct outbox_run_stats *stats;
};

/* What one row's messages are made of. */
struct row {
	struct outbox_msg msg;
	json_object *view;
	char link[LINK_MAX];
	char contact[VALID_ADDR_MAX + 2];
	bool has_contact;
	bool superseded;	/* e-mail only: a newer row says it better */
	char country[FACT_VALUE_MAX + 1];
};

/* ---- configuration ------------------------------------------------ */

static bool
has_scheme(const char *url, const char *a, const char *b)
{
	return strncmp(url, a, strlen(a)) == 0 || strncmp(url, b, strlen(b)) == 0;
}

int
outbox_run_check_conf(const struct conf *c, char *err, size_t errsz)
{
	unsigned char key[OUTBOX_KEY_MAX];
	size_t keylen;
	long channels = 0;

	if (c->notify_url != NULL) {
		channels++;
		if (!has_scheme(c->notify_url, "http://", "https://"))
			return snprintf(err, errsz, "notify_url: must be an http:// or"
			    " https:// URL"), -1;
		if (outbox_secret_key(c->notify_secret, key, &keylen) < 0)
			return snprintf(err, errsz, "notify_secret: must be set with"
			    " notify_url, as \"whsec_\" followed by base64 of %d to %d"
			    " bytes", OUTBOX_KEY_MIN, OUTBOX_KEY_MAX), -1;
		OPENSSL_cleanse(key, sizeof(key));
	}
	if (c->mail_from != NULL && !valid_address(c->mail_from))
		return snprintf(err, errsz, "mail_from: not a plain e-mail address"), -1;
	if (c->smtp_url != NULL) {
		channels++;
		if (!has_scheme(c->smtp_url, "smtp://", "smtps://"))
			return snprintf(err, errsz, "smtp_url: must be an smtp:// or"
			    " smtps:// URL"), -1;
	}
	if (c->notify_lease_seconds <= channels * c->notify_timeout)
		return snprintf(err, errsz, "notify_lease_seconds: must exceed"
		    " notify_timeout for each configured channel (%ld s)",
		    channels * c->notify_timeout), -1;
	return 0;
}

/* ---- one row: prepare ------------------------------------------------------ */

static enum store_rc
prepare(struct run *s, const struct notify_claim *cl, struct row *r)
{
	const struct conf *c = s->c;
	struct facts facts;
	enum store_rc rc;

	r->msg = (struct outbox_msg){
		.uid = cl->uid, .order_id = cl->order_id, .stage = cl->stage,
		.previous_stage = cl->previous_stage, .shipment = cl->shipment,
		.occurred_at = cl->occurred_at,
		.locale = c->default_locale, .country = NULL,
	};
	/* The order as the shopper sees it now; gone since (replay): null. */
	rc = view_order(s->st, cl->order_id, VIEW_SHOPPER, &r->view);
	if (rc != STORE_OK && rc != STORE_NONE)
		return rc;
	r->msg.order = r->view;
	if (c->public_url != NULL && c->lookup_secret != NULL &&
	    link_shopper_url(c->public_url, c->lookup_secret, cl->order_id,
	    r->link, sizeof(r->link)) == 0)
		r->msg.link = r->link;
	/* The effective address: the operator's, else Rye's buyer e-mail. */
	rc = store_facts_get(s->st, cl->order_id, &facts);
	if (rc != STORE_OK && rc != STORE_NONE)
		return rc;
	r->has_contact = facts.known[FACT_EMAIL] &&
	    strlen(facts.v[FACT_EMAIL]) < sizeof(r->contact);
	snprintf(r->contact, sizeof(r->contact), "%s",
	    r->has_contact ? facts.v[FACT_EMAIL] : "");
	/*
	 * The e-mail's language: the order's (operator's, else Rye's) when a
	 * catalog has it, else default_locale; its dates in the zone of the
	 * order's country when known, else UTC (outbox.h).
	 */
	if (facts.known[FACT_LOCALE] && i18n_supported(facts.v[FACT_LOCALE]))
		r->msg.locale = i18n_lang(facts.v[FACT_LOCALE]);
	if (facts.known[FACT_COUNTRY]) {
		snprintf(r->country, sizeof(r->country), "%s", facts.v[FACT_COUNTRY]);
		r->msg.country = r->country;
	}
	return store_notify_superseded(s->st, cl, &r->superseded);
}

/* ---- one row: channels ----------------------------------------------------- */

static void
skip(struct channel *ch, const char *why)
{
	ch->out = OUT_SKIPPED;
	snprintf(ch->error, sizeof(ch->error), "skipped: %s", why);
}

static void
take_result(struct channel *ch, const struct outbox_send_result *d)
{
	ch->status = d->status;
	ch->retry_after_s = d->retry_after_s;
	ch->out = d->ok ? OUT_SENT : d->permanent ? OUT_FAILED : OUT_RETRY;
	snprintf(ch->error, sizeof(ch->error), "%s", d->error);
}

static void
send_webhook(struct run *s, const struct row *r, int64_t now_ms,
    struct channel *ch)
{
	char sig[OUTBOX_SIG_LEN];
	struct outbox_send_result d;
	struct outbox_send_webhook w;
	size_t len;
	char *body;

	ch->name = "webhook";
	if (s->c->notify_url == NULL) {
		skip(ch, "notify_url is not set");
		return;
	}
	if ((body = outbox_webhook_body(&r->msg, &len)) == NULL) {
		ch->out = OUT_RETRY;
		snprintf(ch->error, sizeof(ch->error), "out of memory");
		return;
	}
	w = (struct outbox_send_webhook){
		.url = s->c->notify_url, .msg_id = r->msg.uid,
		.timestamp = now_ms / 1000, .signature = sig, .body = body,
		.len = len, .timeout_s = s->c->notify_timeout,
	};
	outbox_sign(s->key, s->keylen, w.msg_id, w.timestamp, body, len, sig);
	outbox_send_webhook(&w, &d);
	take_result(ch, &d);
	free(body);
}

static void
send_email(struct run *s, const struct row *r, int64_t now_ms,
    struct channel *ch)
{
	const struct conf *c = s->c;
	struct outbox_mail mail;
	struct outbox_send_result d;
	const char *why;
	int rc;

	ch->name = "email";
	if (c->smtp_url == NULL || c->mail_from == NULL) {
		skip(ch, "smtp_url or mail_from is not set");
		return;
	}
	if (!r->has_contact) {
		skip(ch, "no contact address for this order");
		return;
	}
	if (r->superseded) {
		skip(ch, "superseded: a newer notice for this order tells the customer");
		return;
	}
	if ((rc = outbox_mail_build(&r->msg, c->mail_from, r->contact, now_ms,
	    &mail, &why)) < 0) {
		/* A value unfit for a header stays unfit: no retry. */
		ch->out = rc == -2 ? OUT_RETRY : OUT_FAILED;
		snprintf(ch->error, sizeof(ch->error), "%s", why);
		return;
	}
	outbox_send_mail(&(struct outbox_send_mail){
		.url = c->smtp_url, .user = c->smtp_user, .password = c->smtp_password,
		.allow_plaintext_auth = c->smtp_allow_plaintext_auth != 0,
		.from = c->mail_from, .to = r->contact, .mail = &mail,
		.timeout_s = c->notify_timeout,
	}, &d);
	take_result(ch, &d);
	outbox_mail_free(&mail);
}

/* ---- one row: decide ------------------------------------------------------- */

/* When a row stops being retried: its stage change + notify_give_up_hours. */
static int64_t
deadline_of(const struct run *s, const struct notify_claim *cl)
{
	return cl->created_ms + s->c->notify_give_up_hours * 3600000LL;
}

/*
 * Channels that must retry either get a next attempt (back-off, or
 * Retry-After if later, never past the deadline) or, at or past the
 * deadline, fail.  Fills the outcome the store records.
 */
static void
decide(struct run *s, const struct notify_claim *cl, struct channel *ch,
    int n, int64_t now_ms, struct notify_outcome *o)
{
	int64_t deadline = deadline_of(s, cl);
	int64_t next = now_ms + outbox_backoff_ms(cl->attempts,
	    s->c->notify_retry_seconds * 1000LL);
	bool retry = false;

	for (int i = 0; i < n; i++) {
		size_t len = strlen(ch[i].error);
		if (ch[i].out == OUT_RETRY && now_ms >= deadline) {
			ch[i].out = OUT_FAILED;
			snprintf(ch[i].error + len, sizeof(ch[i].error) - len,
			    "; gave up after %ld attempts", cl->attempts);
		}
		if (ch[i].out == OUT_RETRY && now_ms + ch[i].retry_after_s * 1000LL > next)
			next = now_ms + ch[i].retry_after_s * 1000LL;
		retry |= ch[i].out == OUT_RETRY;
		if (o->last_error == NULL && ch[i].out != OUT_SENT && ch[i].out != OUT_SKIPPED)
			o->last_error = ch[i].error;
		o->attempt[i] = (struct notify_attempt){ ch[i].name, ch[i].status,
		    ch[i].out == OUT_SENT ? NULL : ch[i].error };
		if (strcmp(ch[i].name, "webhook") == 0)
			o->webhook_state = state_name[ch[i].out];
		else
			o->email_state = state_name[ch[i].out];
	}
	o->nattempts = n;
	/* Done rows keep the time of their last attempt. */
	o->next_attempt_ms = !retry ? now_ms : next < deadline ? next : deadline;
}

/* Add the channels' outcomes to the run's counts and log them. */
static void
tally(struct run *s, const struct notify_claim *cl, const struct channel *ch, int n)
{
	for (int i = 0; i < n; i++) {
		long *slot[] = { &s->stats->sent, &s->stats->skipped,
		    &s->stats->failed, &s->stats->retry };
		(*slot[ch[i].out])++;
		if (ch[i].out == OUT_SENT)
			log_info("notification %s (order %s, %s): %s sent", cl->uid,
			    cl->order_id, cl->stage, ch[i].name);
		else if (ch[i].out == OUT_SKIPPED)
			log_info("notification %s (order %s, %s): %s %s", cl->uid,
			    cl->order_id, cl->stage, ch[i].name, ch[i].error);
		else
			log_warn("notification %s (order %s, %s): %s %s: %s", cl->uid,
			    cl->order_id, cl->stage, ch[i].name,
			    ch[i].out == OUT_RETRY ? "will be retried" : "failed",
			    ch[i].error);
	}
}

/* Too old before it was ever tried: fail every channel, send nothing. */
static int
stale_row(struct run *s, const struct notify_claim *cl, struct channel *ch)
{
	int n = 0;

	if (cl->webhook_pending)
		ch[n++].name = "webhook";
	if (cl->email_pending)
		ch[n++].name = "email";
	for (int i = 0; i < n; i++) {
		ch[i].out = OUT_FAILED;
		snprintf(ch[i].error, sizeof(ch[i].error), "gave up: older than"
		    " notify_give_up_hours (%ld) at its first attempt",
		    s->c->notify_give_up_hours);
	}
	return n;
}

static enum store_rc
send_row(struct run *s, const struct notify_claim *cl)
{
	int64_t now_ms = timefmt_now_ms();
	struct channel ch[2] = { { 0 }, { 0 } };
	struct row r = { .view = NULL };
	struct notify_outcome o = { 0 };
	char at[TIMEFMT_ISO_LEN];
	enum store_rc rc = STORE_OK;
	int n = 0;

	if (cl->attempts == 1 && now_ms > deadline_of(s, cl))
		n = stale_row(s, cl, ch);
	else if ((rc = prepare(s, cl, &r)) == STORE_OK) {
		if (cl->webhook_pending)
			send_webhook(s, &r, now_ms, &ch[n++]);
		if (cl->email_pending)
			send_email(s, &r, now_ms, &ch[n++]);
	}
	json_object_put(r.view);
	if (rc != STORE_OK)
		return rc;	/* the lease runs out; a later run retries */
	now_ms = timefmt_now_ms();
	timefmt_iso_utc(now_ms, at);
	o.at = at;
	decide(s, cl, ch, n, now_ms, &o);
	tally(s, cl, ch, n);
	return store_notify_finish(s->st, cl, &o);
}

/* ---- the run ----------------------------------------------------------------- */

enum store_rc
outbox_run(const struct conf *c, struct store *st, const struct outbox_run_opts *o,
    struct outbox_run_stats *stats)
{
	struct run s = { .c = c, .st = st, .stats = stats };
	enum store_rc rc = STORE_OK;

	memset(stats, 0, sizeof(*stats));
	/* what a text missing in a language falls back to */
	i18n_set_default(c->default_locale);
	if (c->notify_url != NULL && outbox_secret_key(c->notify_secret, s.key,
	    &s.keylen) < 0)
		return STORE_ERROR;	/* outbox_run_check_conf() said so first */
	while (rc == STORE_OK && (o->limit == 0 || stats->rows < o->limit)) {
		struct notify_claim cl;
		long reclaimed = 0;
		int64_t now = timefmt_now_ms();

		rc = store_notify_claim(st, now, c->notify_lease_seconds * 1000LL, &cl,
		    &reclaimed);
		stats->reclaimed += reclaimed;
		if (rc != STORE_OK)
			break;
		stats->rows++;
		rc = send_row(&s, &cl);
		store_notify_claim_free(&cl);
	}
	OPENSSL_cleanse(s.key, sizeof(s.key));
	return rc == STORE_NONE ? STORE_OK : rc;
}
