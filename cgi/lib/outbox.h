/*
 * outbox: what a stage-change notification says, built without I/O.
 *
 * The outbox family: this room is the message; outbox_send.h delivers it
 * (curl: the webhook POST, SMTP); outbox_run.h is the cron loop that
 * decides when; the store keeps the rows (store_outbox.h).
 *
 * From one struct outbox_msg this module makes the outbound webhook body
 * ({"type":"order.stage_changed", ...} with the shopper view), its
 * Standard Webhooks signature, and the customer e-mail (header lines, a
 * plain-text and an HTML body).  Pure functions, so all of it is
 * unit-tested byte for byte.
 *
 * Signatures follow the Standard Webhooks specification
 * (github.com/standard-webhooks/standard-webhooks, spec/standard-webhooks.md,
 * "Signature scheme" and "Webhook headers"): the header value is
 * "v1," + base64(HMAC-SHA256(key, "<msg id>.<unix seconds>.<body>")), the
 * key being the base64-decoded secret after its "whsec_" prefix.
 *
 * The e-mail speaks the shopper's language (m->locale, else default_locale,
 * else English) with the shopper page's words (i18n.h): subject and body
 * per stage, the stage change's time in the delivery country's zone.  A
 * subject that is not ASCII is sent as RFC 2047 encoded-words.
 *
 * Everything bound for a mail header is checked here first (valid.h): the
 * addresses must be plain addr-specs and an order id in the Subject
 * printable ASCII.  So no stored value can end a header line and start
 * another (header injection), or smuggle a second recipient.
 */
#ifndef SHIPTRACK_OUTBOX_H
#define SHIPTRACK_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define OUTBOX_KEY_MIN 24	/* bytes; the spec's minimum for HMAC secrets */
#define OUTBOX_KEY_MAX 64
#define OUTBOX_SIG_LEN 48	/* "v1," + 44 base64 characters + NUL */
#define OUTBOX_BACKOFF_MAX_MS (6 * 3600 * 1000LL)
#define OUTBOX_PARCEL_MAX 128	/* a tracking number (<= 64 bytes) and more */

struct outbox_msg {
	const char *uid;		/* webhook-id; also the mail's Message-ID */
	const char *order_id;
	const char *stage;
	const char *previous_stage;	/* NULL for a new order */
	const char *shipment;		/* parcel trouble: tracking number; else NULL or "";
					   stage "delayed": "<number>#<episode>" */
	const char *occurred_at;
	const char *link;		/* shopper URL, or NULL */
	json_object *order;		/* shopper view (borrowed), or NULL */
	const char *locale;		/* the shopper's language ("de"); NULL: default_locale */
	const char *country;		/* delivery country (ISO 3166); NULL: dates in UTC */
};

/*
 * The signing key from a notify_secret ("whsec_" + base64; the bare base64
 * is accepted too, as the reference libraries do).  0, or -1 if it is not
 * base64 or decodes to fewer than OUTBOX_KEY_MIN or more than
 * OUTBOX_KEY_MAX bytes.
 */
int outbox_secret_key(const char *secret, unsigned char key[OUTBOX_KEY_MAX],
    size_t *keylen);

/* "v1,<base64 HMAC-SHA256 over msg_id.timestamp.body>" into out. */
void outbox_sign(const unsigned char *key, size_t keylen, const char *msg_id,
    int64_t timestamp, const void *body, size_t len, char out[OUTBOX_SIG_LEN]);

/* The webhook body, malloc'd, compact JSON; NULL when out of memory. */
char *outbox_webhook_body(const struct outbox_msg *m, size_t *len);

#define OUTBOX_MAIL_HEADERS 6
struct outbox_mail {
	char *header[OUTBOX_MAIL_HEADERS + 1];	/* "Name: value", NULL-terminated */
	char *text;				/* text/plain body, UTF-8 */
	char *html;				/* text/html body, UTF-8 */
};

/*
 * The customer e-mail for m, from and to the given addresses, dated now.
 * 0; -1 with *why set when a value may not go into a header (the row
 * cannot be mailed: retrying will not help); -2 when memory ran out.
 */
int  outbox_mail_build(const struct outbox_msg *m, const char *from,
    const char *to, int64_t now_ms, struct outbox_mail *out, const char **why);
void outbox_mail_free(struct outbox_mail *mail);

/* Delay before attempt number attempts + 1: base, 2 base, 4 base, ... capped. */
int64_t outbox_backoff_ms(long attempts, int64_t base_ms);

#endif
