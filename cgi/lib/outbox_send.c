/*
 * outbox_send: see outbox_send.h.  Each transfer is set up, performed and
 * classified in three small steps; the common options live in one place.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "outbox_send.h"
#include "valid.h"

/* What came back: a count, the first bytes, and Retry-After. */
struct answer {
	size_t seen;
	bool capped;		/* more than OUTBOX_SEND_BODY_MAX: transfer stopped */
	char snippet[OUTBOX_SEND_SNIPPET + 1];
	size_t snippet_len;
	long retry_after_s;
};

int
outbox_send_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void
outbox_send_cleanup(void)
{
	curl_global_cleanup();
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n, keep;

	if (a->seen + len > OUTBOX_SEND_BODY_MAX) {
		a->capped = true;
		return 0;	/* stop reading: curl ends with CURLE_WRITE_ERROR */
	}
	a->seen += len;
	keep = OUTBOX_SEND_SNIPPET - a->snippet_len;
	if (keep > len)
		keep = len;
	memcpy(a->snippet + a->snippet_len, p, keep);
	a->snippet_len += keep;
	a->snippet[a->snippet_len] = '\0';
	return len;
}

/* Retry-After in its delta-seconds form; an HTTP date is ignored. */
static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;
	static const char name[] = "retry-after:";
	char num[16];
	size_t i = sizeof(name) - 1, k = 0;

	if (len <= i || strncasecmp(p, name, i) != 0)
		return len;
	while (i < len && (p[i] == ' ' || p[i] == '\t'))
		i++;
	while (i < len && k < sizeof(num) - 1 && p[i] >= '0' && p[i] <= '9')
		num[k++] = p[i++];
	num[k] = '\0';
	if (k > 0 && k < 9)
		a->retry_after_s = strtol(num, NULL, 10);
	return len;
}

/* Printable ASCII only, so a peer's answer cannot forge log lines. */
static void
clean_copy(char *dst, size_t dstsz, const char *src)
{
	size_t o = 0;

	for (; *src != '\0' && o + 1 < dstsz; src++)
		dst[o++] = (unsigned char)*src >= 0x20 && (unsigned char)*src < 0x7f ?
		    *src : ' ';
	dst[o] = '\0';
}

static CURL *
easy_new(const char *url, const char *protocols, long timeout_s, char *errbuf)
{
	CURL *e = curl_easy_init();

	if (e == NULL)
		return NULL;
	errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, protocols);
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, strncmp(protocols, "smtp", 4) == 0 ?
	    (long)(CURLPROTO_SMTP | CURLPROTO_SMTPS) :
	    (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_s * 1000L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    timeout_s < 10 ? timeout_s * 1000L : 10000L);
	return e;
}

/* A transfer that did not complete: curl's reason, then its detail. */
static void
transport_error(struct outbox_send_result *r, CURLcode res, const char *errbuf)
{
	char detail[CURL_ERROR_SIZE];

	clean_copy(detail, sizeof(detail), errbuf);
	snprintf(r->error, sizeof(r->error), "%s%s%s", curl_easy_strerror(res),
	    detail[0] ? ": " : "", detail);
}

/* ---- webhook -------------------------------------------------------------- */

static struct curl_slist *
webhook_headers(const struct outbox_send_webhook *w)
{
	char line[5][128];
	struct curl_slist *h = NULL, *t;

	/* "Expect:" turns off 100-continue: one round trip, one timeout. */
	snprintf(line[0], sizeof(line[0]), "Content-Type: application/json");
	snprintf(line[1], sizeof(line[1]), "Expect:");
	snprintf(line[2], sizeof(line[2]), "webhook-id: %s", w->msg_id);
	snprintf(line[3], sizeof(line[3]), "webhook-timestamp: %lld",
	    (long long)w->timestamp);
	snprintf(line[4], sizeof(line[4]), "webhook-signature: %s", w->signature);
	for (size_t i = 0; i < 5; i++) {
		if ((t = curl_slist_append(h, line[i])) == NULL) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	return h;
}

static void
webhook_classify(struct outbox_send_result *r, CURL *e, CURLcode res,
    const struct answer *a, const char *errbuf)
{
	char snippet[OUTBOX_SEND_SNIPPET + 1];
	long code = 0;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	r->status = code;
	r->retry_after_s = a->retry_after_s;
	/* A 2xx whose body we stopped reading still counts as delivered. */
	if (res != CURLE_OK && !(res == CURLE_WRITE_ERROR && a->capped && code > 0)) {
		transport_error(r, res, errbuf);
		return;
	}
	r->ok = code >= 200 && code <= 299;
	r->permanent = code == 410;	/* Gone: the receiver wants no more */
	if (!r->ok) {
		clean_copy(snippet, sizeof(snippet), a->snippet);
		snprintf(r->error, sizeof(r->error), "HTTP %ld%s%s", code,
		    snippet[0] ? ": " : "", snippet);
	}
}

void
outbox_send_webhook(const struct outbox_send_webhook *w, struct outbox_send_result *r)
{
	char errbuf[CURL_ERROR_SIZE];
	struct answer a = { 0 };
	struct curl_slist *h;
	CURLcode res;
	CURL *e;

	memset(r, 0, sizeof(*r));
	if ((e = easy_new(w->url, "http,https", w->timeout_s, errbuf)) == NULL ||
	    (h = webhook_headers(w)) == NULL) {
		curl_easy_cleanup(e);
		snprintf(r->error, sizeof(r->error), "out of memory");
		return;
	}
	curl_easy_setopt(e, CURLOPT_USERAGENT, PACKAGE_NAME "/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_POSTFIELDS, w->body);
	curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)w->len);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, &a);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, &a);
	res = curl_easy_perform(e);
	webhook_classify(r, e, res, &a, errbuf);
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
}

/* ---- e-mail ------------------------------------------------------------------- */

static curl_mimepart *
text_part(curl_mime *m, const char *type, const char *data)
{
	curl_mimepart *p = curl_mime_addpart(m);

	if (p == NULL || curl_mime_data(p, data, CURL_ZERO_TERMINATED) != CURLE_OK ||
	    curl_mime_type(p, type) != CURLE_OK ||
	    curl_mime_encoder(p, "quoted-printable") != CURLE_OK)
		return NULL;
	return p;
}

/*
 * The body as curl's own SMTP example builds it: a multipart/alternative
 * (text first, then HTML: the last is the preferred) inside the message.
 */
static curl_mime *
mail_mime(CURL *e, const struct outbox_mail *mail)
{
	curl_mime *top = curl_mime_init(e), *alt = curl_mime_init(e);
	curl_mimepart *p;

	if (top == NULL || alt == NULL ||
	    text_part(alt, "text/plain; charset=utf-8", mail->text) == NULL ||
	    text_part(alt, "text/html; charset=utf-8", mail->html) == NULL ||
	    (p = curl_mime_addpart(top)) == NULL)
		goto err;
	if (curl_mime_subparts(p, alt) != CURLE_OK)
		goto err;
	alt = NULL;	/* owned by top now */
	if (curl_mime_type(p, "multipart/alternative") != CURLE_OK)
		goto err;
	return top;
err:
	curl_mime_free(alt);
	curl_mime_free(top);
	return NULL;
}

static struct curl_slist *
address_list(const char *addr)
{
	char line[VALID_ADDR_MAX + 3];

	snprintf(line, sizeof(line), "<%s>", addr);
	return curl_slist_append(NULL, line);
}

static struct curl_slist *
mail_headers(const struct outbox_mail *mail)
{
	struct curl_slist *h = NULL, *t;

	for (int i = 0; mail->header[i] != NULL; i++) {
		if ((t = curl_slist_append(h, mail->header[i])) == NULL) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	return h;
}

/* Credentials over smtp:// need STARTTLS, unless the operator opted out. */
static bool
tls_required(const struct outbox_send_mail *m)
{
	return m->user != NULL && !m->allow_plaintext_auth &&
	    strncasecmp(m->url, "smtp://", 7) == 0;
}

static void
mail_classify(struct outbox_send_result *r, CURL *e, CURLcode res, const char *errbuf,
    bool tls)
{
	long code = 0;

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	r->status = code;
	if (res == CURLE_OK) {
		r->ok = true;
		return;
	}
	transport_error(r, res, errbuf);
	if (tls && res == CURLE_USE_SSL_FAILED)
		snprintf(r->error, sizeof(r->error), "no TLS: the SMTP server offers no"
		    " STARTTLS, so the password was not sent in clear text (AUTH"
		    " without TLS needs smtp_allow_plaintext_auth = 1)");
	/* 5yz is a permanent refusal (RFC 5321 4.2.1), except for our login. */
	r->permanent = code >= 500 && code <= 599 && code != 530 && code != 534 &&
	    code != 535 && code != 538;
}

void
outbox_send_mail(const struct outbox_send_mail *m, struct outbox_send_result *r)
{
	char errbuf[CURL_ERROR_SIZE], from[VALID_ADDR_MAX + 3];
	struct curl_slist *rcpt = NULL, *h = NULL;
	curl_mime *mime = NULL;
	CURL *e;

	memset(r, 0, sizeof(*r));
	snprintf(from, sizeof(from), "<%s>", m->from);
	if ((e = easy_new(m->url, "smtp,smtps", m->timeout_s, errbuf)) == NULL ||
	    (rcpt = address_list(m->to)) == NULL || (h = mail_headers(m->mail)) == NULL ||
	    (mime = mail_mime(e, m->mail)) == NULL) {
		snprintf(r->error, sizeof(r->error), "out of memory");
		goto done;
	}
	if (m->user != NULL) {
		curl_easy_setopt(e, CURLOPT_USERNAME, m->user);
		curl_easy_setopt(e, CURLOPT_PASSWORD, m->password ? m->password : "");
	}
	/* TRY: STARTTLS when offered; ALL: no AUTH (nor mail) without it. */
	curl_easy_setopt(e, CURLOPT_USE_SSL, tls_required(m) ?
	    (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, from);
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_MIMEPOST, mime);
	mail_classify(r, e, curl_easy_perform(e), errbuf, tls_required(m));
done:
	curl_mime_free(mime);
	curl_slist_free_all(h);
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(e);
}
