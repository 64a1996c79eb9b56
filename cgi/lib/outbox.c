/*
 * outbox: see outbox.h.  Two parts: the webhook (body and signature) and
 * the e-mail (headers, text, HTML); header values are checked by valid.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "codec.h"
#include "i18n.h"
#include "outbox.h"
#include "sig.h"
#include "timefmt.h"
#include "valid.h"

#define MAIL_BODY_MAX (64u * 1024)

/* ---- webhook ------------------------------------------------------------ */

int
outbox_secret_key(const char *secret, unsigned char key[OUTBOX_KEY_MAX],
    size_t *keylen)
{
	unsigned char tmp[512];
	size_t n;

	if (secret == NULL)
		return -1;
	if (strncmp(secret, "whsec_", 6) == 0)
		secret += 6;
	if (codec_b64_decode(secret, tmp, sizeof(tmp), &n) < 0 ||
	    n < OUTBOX_KEY_MIN || n > OUTBOX_KEY_MAX) {
		OPENSSL_cleanse(tmp, sizeof(tmp));
		return -1;
	}
	memcpy(key, tmp, n);
	*keylen = n;
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}

void
outbox_sign(const unsigned char *key, size_t keylen, const char *msg_id,
    int64_t timestamp, const void *body, size_t len, char out[OUTBOX_SIG_LEN])
{
	unsigned char mac[SIG_MAC_LEN];
	struct buf signed_content;

	/* The signed content is "<msg id>.<timestamp>.<body>", byte for byte. */
	buf_init(&signed_content, (size_t)-1);
	if (buf_printf(&signed_content, "%s.%lld.", msg_id, (long long)timestamp) < 0 ||
	    buf_append(&signed_content, body, len) < 0) {
		out[0] = '\0';	/* out of memory: an empty signature fails closed */
		buf_free(&signed_content);
		return;
	}
	sig_hmac_sha256(key, keylen, signed_content.data, signed_content.len, mac);
	buf_free(&signed_content);
	memcpy(out, "v1,", 3);
	codec_b64_encode(mac, sizeof(mac), out + 3, OUTBOX_SIG_LEN - 3, false);
}

static json_object *
str_or_null(const char *s)
{
	return s != NULL ? json_object_new_string(s) : NULL;
}

/*
 * What a row's shipment says outside: a "delayed" row names its parcel as
 * "<tracking number>#<episode>" (one row per stall episode, so the
 * outbox's unique key announces each once: apply_carrier.h); the webhook
 * and the e-mail name the plain tracking number.
 */
static struct outbox_msg
plain_parcel(const struct outbox_msg *m, char buf[OUTBOX_PARCEL_MAX])
{
	struct outbox_msg p = *m;
	const char *hash;

	if (m->shipment != NULL && strcmp(m->stage, "delayed") == 0 &&
	    (hash = strrchr(m->shipment, '#')) != NULL) {
		snprintf(buf, OUTBOX_PARCEL_MAX, "%.*s", (int)(hash - m->shipment),
		    m->shipment);
		p.shipment = buf;
	}
	return p;
}

char *
outbox_webhook_body(const struct outbox_msg *msg, size_t *len)
{
	json_object *o = json_object_new_object();
	char parcel[OUTBOX_PARCEL_MAX];
	struct outbox_msg plain = plain_parcel(msg, parcel);
	const struct outbox_msg *m = &plain;
	const char *s;
	char *out = NULL;

	if (o == NULL)
		return NULL;
	json_object_object_add(o, "type", json_object_new_string("order.stage_changed"));
	json_object_object_add(o, "orderId", json_object_new_string(m->order_id));
	json_object_object_add(o, "stage", json_object_new_string(m->stage));
	json_object_object_add(o, "previousStage", str_or_null(m->previous_stage));
	if (m->shipment != NULL && *m->shipment != '\0')
		json_object_object_add(o, "shipment", json_object_new_string(m->shipment));
	json_object_object_add(o, "occurredAt", str_or_null(m->occurred_at));
	json_object_object_add(o, "link", str_or_null(m->link));
	json_object_object_add(o, "order", m->order ? json_object_get(m->order) : NULL);
	/* Compact, '/' unescaped: the same form the API answers in. */
	s = json_object_to_json_string_length(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
	if (s != NULL)
		out = strdup(s);
	json_object_put(o);
	return out;
}

/* ---- e-mail ------------------------------------------------------------------- */

/*
 * The words come from the page's catalogs (i18n.h), in the shopper's
 * language: "email.subject.<stage>" and "email.body.<stage>" (unknown
 * stages: ".other"), then the lines every mail has.
 */

/* RFC 5322 date, without strftime's locale: "Thu, 26 Nov 2026 18:35:10 +0000". */
static void
mail_date(int64_t now_ms, char out[40])
{
	static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
	static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
	    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	time_t t = (time_t)(now_ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday],
	    tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
	    tm.tm_sec);
}

static char *dupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A formatted string, malloc'd; NULL when out of memory. */
static char *
dupf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || (s = malloc((size_t)n + 1)) == NULL)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

/* Append n bytes of s with HTML's five special characters escaped. */
static int
put_html(struct buf *b, const char *s, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++) {
		switch (s[i]) {
		case '&': rc = buf_printf(b, "&amp;"); break;
		case '<': rc = buf_printf(b, "&lt;"); break;
		case '>': rc = buf_printf(b, "&gt;"); break;
		case '"': rc = buf_printf(b, "&quot;"); break;
		case '\'': rc = buf_printf(b, "&#39;"); break;
		default: rc = buf_append(b, s + i, 1);
		}
	}
	return rc;
}

/* Append n bytes of s with control characters shown as '?', for the text body. */
static int
put_text(struct buf *b, const char *s, size_t n)
{
	int rc = 0;

	for (size_t i = 0; i < n && rc == 0; i++)
		rc = buf_append(b, (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? "?" : s + i, 1);
	return rc;
}

static bool
has_parcel(const struct outbox_msg *m)
{
	return m->shipment != NULL && *m->shipment != '\0';
}

/* "email.<part>.<stage>", or ".other" for a stage the catalog has no words for. */
static void
stage_key(const struct outbox_msg *m, const char *part, char *key, size_t keysz)
{
	snprintf(key, keysz, "email.%s.%.40s", part, m->stage);
	if (strcmp(i18n_text(m->locale, key), key) == 0)
		snprintf(key, keysz, "email.%s.other", part);
}

/* What a mail says, once for the text part and once for the HTML part. */
struct mail_words {
	char body_key[64];
	char when[I18N_DATE_MAX];	/* the stage change, in the shopper's zone; "" if unknown */
};

static void
mail_words(const struct outbox_msg *m, struct mail_words *w)
{
	struct timeval_iso at;

	stage_key(m, "body", w->body_key, sizeof(w->body_key));
	w->when[0] = '\0';
	if (m->occurred_at != NULL && timefmt_parse(m->occurred_at, &at) == 0 &&
	    i18n_datetime(m->locale, at.ms, m->country, w->when, sizeof(w->when)) < 0)
		w->when[0] = '\0';
}

/* One catalog text with its placeholders, through put, between pre and post. */
static int
line(struct buf *b, const struct outbox_msg *m, const char *key,
    const struct i18n_var *var, int (*put)(struct buf *, const char *, size_t),
    const char *pre, const char *post)
{
	return buf_printf(b, "%s", pre) ||
	    i18n_expand(b, m->locale, key, var, var != NULL, put) ||
	    buf_printf(b, "%s", post);
}

typedef int (*put_fn)(struct buf *, const char *, size_t);

/* What every mail says, each line between pre and post: what happened, the parcel, when. */
static int
mail_news(struct buf *b, const struct outbox_msg *m, const struct mail_words *w,
    put_fn put, const char *pre, const char *post)
{
	const struct i18n_var order = { "order", m->order_id },
	    parcel = { "number", has_parcel(m) ? m->shipment : "" },
	    when = { "date", w->when };
	int rc = line(b, m, w->body_key, &order, put, pre, post);

	if (rc == 0 && has_parcel(m))
		rc = line(b, m, "email.parcel", &parcel, put, pre, post);
	if (rc == 0 && w->when[0] != '\0')
		rc = line(b, m, "email.when", &when, put, pre, post);
	return rc;
}

/* The body built, or NULL (and b freed) when rc says it could not be. */
static char *
mail_body(struct buf *b, int rc)
{
	if (rc != 0) {
		buf_free(b);
		return NULL;
	}
	return b->data;
}

static char *
mail_text(const struct outbox_msg *m)
{
	struct mail_words w;
	struct buf b;
	int rc;

	mail_words(m, &w);
	buf_init(&b, MAIL_BODY_MAX);
	rc = line(&b, m, "email.greeting", NULL, put_text, "", "\r\n\r\n") ||
	    mail_news(&b, m, &w, put_text, "", "\r\n");
	if (rc == 0 && m->link != NULL)
		rc = line(&b, m, "email.follow", NULL, put_text, "\r\n", "\r\n") ||
		    put_text(&b, m->link, strlen(m->link)) || buf_printf(&b, "\r\n");
	if (rc == 0)
		rc = line(&b, m, "email.footer", NULL, put_text, "\r\n", "\r\n");
	return mail_body(&b, rc);
}

static char *
mail_html(const struct outbox_msg *m)
{
	struct mail_words w;
	struct buf b;
	int rc;

	mail_words(m, &w);
	buf_init(&b, MAIL_BODY_MAX);
	rc = buf_printf(&b, "<!DOCTYPE html>\r\n<html lang=\"%s\"><head><meta charset=\"utf-8\">",
	    i18n_lang(m->locale) != NULL ? i18n_lang(m->locale) : "en") ||
	    line(&b, m, "email.html_title", NULL, put_html, "<title>", "</title></head>\r\n<body>\r\n") ||
	    line(&b, m, "email.greeting", NULL, put_html, "<p>", "</p>\r\n") ||
	    mail_news(&b, m, &w, put_html, "<p>", "</p>\r\n");
	if (rc == 0 && m->link != NULL)
		rc = buf_printf(&b, "<p><a href=\"") || put_html(&b, m->link, strlen(m->link)) ||
		    line(&b, m, "email.follow_link", NULL, put_html, "\">", "</a></p>\r\n");
	if (rc == 0)
		rc = line(&b, m, "email.footer", NULL, put_html, "<p style=\"color:#666\">",
		    "</p>\r\n</body></html>\r\n");
	return mail_body(&b, rc);
}

/* The length of s's longest prefix of at most max bytes that ends on a
 * whole UTF-8 character. */
static size_t
utf8_prefix(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	while (n > 0 && n < len && ((unsigned char)s[n] & 0xc0) == 0x80)
		n--;
	return n;
}

/*
 * "Subject: <text>": as it is when it is printable ASCII, else as RFC 2047
 * encoded-words ("=?UTF-8?B?...?=", at most 75 characters each, never
 * splitting a character), so a German or French subject arrives intact.
 */
static char *
subject_header(const char *s)
{
	struct buf b;
	size_t len = strlen(s), n;
	char enc[80];

	if (valid_header_value(s, 998 - 9))
		return dupf("Subject: %s", s);
	buf_init(&b, 4096);
	if (buf_printf(&b, "Subject:") < 0)
		goto err;
	for (; len > 0; s += n, len -= n) {
		/* 45 bytes -> 60 base64 characters + 12 of framing = 72. */
		if ((n = utf8_prefix(s, len, 45)) == 0)
			n = len < 45 ? len : 45;
		codec_b64_encode((const unsigned char *)s, n, enc, sizeof(enc), false);
		if (buf_printf(&b, " =?UTF-8?B?%s?=", enc) < 0)
			goto err;
	}
	return b.data;
err:
	buf_free(&b);
	return NULL;
}

static char *
mail_subject(const struct outbox_msg *m)
{
	const struct i18n_var order = { "order", m->order_id };
	char key[64], *h = NULL;
	struct buf b;

	stage_key(m, "subject", key, sizeof(key));
	buf_init(&b, 2048);
	/* The catalog's words are ours and the order id was checked: still, no
	 * control character may end the header line. */
	if (i18n_expand(&b, m->locale, key, &order, 1, put_text) == 0 && b.data != NULL)
		h = subject_header(b.data);
	buf_free(&b);
	return h;
}

static int
mail_headers(const struct outbox_msg *m, const char *from, const char *to,
    int64_t now_ms, char **h)
{
	char date[40];

	mail_date(now_ms, date);
	h[0] = dupf("From: %s", from);
	h[1] = dupf("To: %s", to);
	h[2] = mail_subject(m);
	h[3] = dupf("Date: %s", date);
	/* Stable per notification, so a resend is recognisably the same message. */
	h[4] = dupf("Message-ID: <%s@%s>", m->uid, strchr(from, '@') + 1);
	h[5] = dupf("Auto-Submitted: auto-generated");
	h[6] = NULL;
	for (int i = 0; i < OUTBOX_MAIL_HEADERS; i++)
		if (h[i] == NULL)
			return -1;
	return 0;
}

int
outbox_mail_build(const struct outbox_msg *msg, const char *from, const char *to,
    int64_t now_ms, struct outbox_mail *out, const char **why)
{
	char parcel[OUTBOX_PARCEL_MAX];
	struct outbox_msg plain = plain_parcel(msg, parcel);
	const struct outbox_msg *m = &plain;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	if (!valid_address(from)) {
		*why = "mail_from is not a plain e-mail address";
		return -1;
	}
	if (!valid_address(to)) {
		*why = "the contact address is not a plain e-mail address";
		return -1;
	}
	if (!valid_header_value(m->order_id, VALID_ORDER_ID_MAX) ||
	    !valid_header_value(m->uid, 100)) {
		*why = "the order id cannot go into a mail header";
		return -1;
	}
	if (mail_headers(m, from, to, now_ms, out->header) < 0 ||
	    (out->text = mail_text(m)) == NULL || (out->html = mail_html(m)) == NULL) {
		outbox_mail_free(out);
		*why = "out of memory";
		return -2;
	}
	return 0;
}

void
outbox_mail_free(struct outbox_mail *mail)
{
	for (int i = 0; i < OUTBOX_MAIL_HEADERS; i++) {
		free(mail->header[i]);
		mail->header[i] = NULL;
	}
	free(mail->text);
	free(mail->html);
	mail->text = mail->html = NULL;
}

/* ---- retries ----------------------------------------------------------------- */

int64_t
outbox_backoff_ms(long attempts, int64_t base_ms)
{
	int64_t d = base_ms > 0 ? base_ms : 1;

	for (long i = 1; i < attempts && d < OUTBOX_BACKOFF_MAX_MS; i++)
		d *= 2;
	return d < OUTBOX_BACKOFF_MAX_MS ? d : OUTBOX_BACKOFF_MAX_MS;
}
