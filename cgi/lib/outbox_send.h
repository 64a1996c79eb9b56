/*
 * outbox_send: sends what outbox.h built, with libcurl: the signed
 * webhook POST to notify_url and the customer e-mail over SMTP
 * (curl_mime, multipart/alternative with a text and an HTML part).
 *
 * One blocking transfer at a time (the cron loop, outbox_run.h, works one
 * row at a time), and every transfer is bounded: total time including
 * the connect (timeout_s), no redirects, only the expected protocols, the
 * answer read to at most OUTBOX_SEND_BODY_MAX bytes with its first
 * OUTBOX_SEND_SNIPPET bytes kept for the error text.  Plain smtp:// upgrades to TLS when the server
 * offers STARTTLS, and with credentials it must: AUTH never goes out in
 * clear text (a server without STARTTLS, or a man in the middle who
 * strips it from the EHLO answer, fails the attempt before AUTH) unless
 * the operator opted out (allow_plaintext_auth, smtp_allow_plaintext_auth).
 *
 * A result is classified, not judged: ok (2xx, or the message accepted),
 * permanent (retrying cannot help: HTTP 410 Gone, an SMTP 5xx reply other
 * than an authentication failure), the status code, Retry-After, and an
 * error text that names what went wrong, never a secret, an address or
 * the URL (which may carry a token).  The cron loop decides what to retry.
 */
#ifndef SHIPTRACK_OUTBOX_SEND_H
#define SHIPTRACK_OUTBOX_SEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "outbox.h"

#define OUTBOX_SEND_BODY_MAX (64u * 1024)
#define OUTBOX_SEND_SNIPPET 160

struct outbox_send_result {
	bool ok;
	bool permanent;
	long status;		/* HTTP status or last SMTP reply code; 0: none */
	long retry_after_s;	/* Retry-After in seconds; 0: none given */
	char error[320];	/* "" when ok */
};

struct outbox_send_webhook {
	const char *url;
	const char *msg_id;	/* webhook-id */
	int64_t timestamp;	/* webhook-timestamp, Unix seconds */
	const char *signature;	/* webhook-signature */
	const char *body;
	size_t len;
	long timeout_s;
};

struct outbox_send_mail {
	const char *url;		/* smtp:// or smtps:// */
	const char *user, *password;	/* NULL: no AUTH */
	bool allow_plaintext_auth;	/* AUTH over smtp:// without TLS: unsafe */
	const char *from, *to;		/* checked addr-specs */
	const struct outbox_mail *mail;
	long timeout_s;
};

/* Once per process, before and after any transfer; -1 if libcurl failed. */
int  outbox_send_init(void);
void outbox_send_cleanup(void);

void outbox_send_webhook(const struct outbox_send_webhook *w, struct outbox_send_result *r);
void outbox_send_mail(const struct outbox_send_mail *m, struct outbox_send_result *r);

#endif
