/*
 * Unit tests for cgi/lib/outbox.c, valid.c and link.c: the Standard
 * Webhooks signature (the specification's published test vector), secret
 * decoding, the webhook body, the checks that keep values out of mail
 * headers, the e-mail itself, back-off, and the shopper link.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "link.h"
#include "outbox.h"
#include "valid.h"

/*
 * The Standard Webhooks test vector, as published with the specification
 * in github.com/standard-webhooks/standard-webhooks: libraries/go/
 * webhook_test.go, TestWebhookSign (the same values are in the other
 * reference libraries' tests).
 */
#define SW_SECRET "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
#define SW_MSG_ID "msg_p5jXN8AQM9LWM0D4loKWxJek"
#define SW_TIMESTAMP 1614265330
#define SW_PAYLOAD "{\"test\": 2432232314}"
#define SW_SIGNATURE "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="

static void
sign_str(const char *secret, const char *id, int64_t ts, const char *body,
    char out[OUTBOX_SIG_LEN])
{
	unsigned char key[OUTBOX_KEY_MAX];
	size_t keylen;

	assert_int_equal(outbox_secret_key(secret, key, &keylen), 0);
	outbox_sign(key, keylen, id, ts, body, strlen(body), out);
}

/* ---- signature ------------------------------------------------------------ */

static void
test_standard_webhooks_vector(void **state)
{
	char sig[OUTBOX_SIG_LEN];

	(void)state;
	sign_str(SW_SECRET, SW_MSG_ID, SW_TIMESTAMP, SW_PAYLOAD, sig);
	assert_string_equal(sig, SW_SIGNATURE);
}

static void
test_vector_secret_without_prefix(void **state)
{
	char sig[OUTBOX_SIG_LEN];

	(void)state;
	sign_str(SW_SECRET + 6, SW_MSG_ID, SW_TIMESTAMP, SW_PAYLOAD, sig);
	assert_string_equal(sig, SW_SIGNATURE);
}

static void
test_secret_key_decodes(void **state)
{
	unsigned char key[OUTBOX_KEY_MAX];
	size_t keylen = 0;

	(void)state;
	assert_int_equal(outbox_secret_key(SW_SECRET, key, &keylen), 0);
	assert_int_equal(keylen, 24);
	assert_int_equal(key[0], 0x31);	/* "MfKQ" -> 0x31 0xf2 0x90 */
	assert_int_equal(key[1], 0xf2);
	assert_int_equal(key[2], 0x90);
}

static void
test_secret_key_rejects(void **state)
{
	static const char *const bad[] = {
		"", "whsec_", "whsec_not base64!", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaS",
		/* 16 bytes: below the spec's 24-byte minimum */
		"whsec_AAAAAAAAAAAAAAAAAAAAAA==",
		/* 66 bytes: above OUTBOX_KEY_MAX */
		"whsec_QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"
		"QUFBQUFBQUFBQUFBQUFBQUFBQUFB",
		" whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
		"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n",
	};
	unsigned char key[OUTBOX_KEY_MAX];
	size_t keylen;

	(void)state;
	assert_int_equal(outbox_secret_key(NULL, key, &keylen), -1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(outbox_secret_key(bad[i], key, &keylen), -1);
}

static void
test_signature_covers_id_time_and_body(void **state)
{
	char base[OUTBOX_SIG_LEN], other[OUTBOX_SIG_LEN];

	(void)state;
	sign_str(SW_SECRET, SW_MSG_ID, SW_TIMESTAMP, SW_PAYLOAD, base);
	sign_str(SW_SECRET, "msg_p5jXN8AQM9LWM0D4loKWxJeK", SW_TIMESTAMP, SW_PAYLOAD, other);
	assert_string_not_equal(base, other);
	sign_str(SW_SECRET, SW_MSG_ID, SW_TIMESTAMP + 1, SW_PAYLOAD, other);
	assert_string_not_equal(base, other);
	sign_str(SW_SECRET, SW_MSG_ID, SW_TIMESTAMP, "{\"test\": 2432232315}", other);
	assert_string_not_equal(base, other);
	assert_int_equal(strlen(base), 47);
	assert_memory_equal(base, "v1,", 3);
}

/* ---- webhook body ------------------------------------------------------------ */

static void
test_webhook_body_exact(void **state)
{
	json_object *view = json_tokener_parse("{\"id\":\"ord_1\",\"stage\":\"shipped\"}");
	struct outbox_msg m = {
		.uid = "msg_x", .order_id = "ord_1", .stage = "shipped",
		.previous_stage = "placed", .occurred_at = "2025-03-01T09:00:00Z",
		.link = "https://shop.example/track/?order=ord_1&key=K", .order = view,
	};
	size_t len;
	char *body;

	(void)state;
	body = outbox_webhook_body(&m, &len);
	assert_non_null(body);
	assert_string_equal(body, "{\"type\":\"order.stage_changed\",\"orderId\":\"ord_1\","
	    "\"stage\":\"shipped\",\"previousStage\":\"placed\","
	    "\"occurredAt\":\"2025-03-01T09:00:00Z\","
	    "\"link\":\"https://shop.example/track/?order=ord_1&key=K\","
	    "\"order\":{\"id\":\"ord_1\",\"stage\":\"shipped\"}}");
	assert_int_equal(len, strlen(body));
	free(body);
	/* The caller's view is borrowed, not consumed. */
	assert_int_equal(json_object_put(view), 1);
}

static void
test_webhook_body_new_order_parcel_and_nulls(void **state)
{
	struct outbox_msg m = {
		.uid = "msg_y", .order_id = "ord_2", .stage = "exception",
		.shipment = "1Z999", .occurred_at = "2025-03-01T09:00:00Z",
	};
	size_t len;
	char *body;

	(void)state;
	body = outbox_webhook_body(&m, &len);
	assert_non_null(body);
	assert_string_equal(body, "{\"type\":\"order.stage_changed\",\"orderId\":\"ord_2\","
	    "\"stage\":\"exception\",\"previousStage\":null,\"shipment\":\"1Z999\","
	    "\"occurredAt\":\"2025-03-01T09:00:00Z\",\"link\":null,\"order\":null}");
	free(body);
	m.shipment = "";
	body = outbox_webhook_body(&m, &len);
	assert_null(strstr(body, "shipment"));
	free(body);
}

static void
test_webhook_body_escapes_values(void **state)
{
	struct outbox_msg m = {
		.uid = "msg_z", .order_id = "o\"1\n</script>", .stage = "placed",
		.occurred_at = "2025-03-01T09:00:00Z",
	};
	json_object *back, *v;
	size_t len;
	char *body;

	(void)state;
	body = outbox_webhook_body(&m, &len);
	assert_non_null(body);
	assert_null(strchr(body, '\n'));
	back = json_tokener_parse(body);
	assert_non_null(back);
	assert_true(json_object_object_get_ex(back, "orderId", &v));
	assert_string_equal(json_object_get_string(v), m.order_id);
	json_object_put(back);
	free(body);
}

/* ---- header values -------------------------------------------------------- */

static void
test_address_ok_accepts(void **state)
{
	static const char *const good[] = {
		"customer@example.com", "a.b+tag@sub.example.co.uk", "x@y",
		"first_last-1@shop-example.net", "o'brien@example.ie",
		"1234567890123456789012345678901234567890123456789012345678901234@example.com",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(valid_address(good[i]));
}

static void
test_address_ok_refuses(void **state)
{
	static const char *const bad[] = {
		"", "@", "a@", "@b", "ab", "a@@b", "a@b@c", "a b@c.d", "a@b .d",
		" a@b.c", "a@b.c ", "a@b.c\r\nBcc: evil@x.y", "a@b.c\nBcc: evil@x.y",
		"a@b.c\r", "a\t@b.c", "<a@b.c>", "a@b.c>", "Name <a@b.c>",
		"a@b.c, evil@x.y", "a@b.c;evil@x.y", "\"a\"@b.c", "a(comment)@b.c",
		"a\\@b.c", "a@[127.0.0.1]", "a@b:25", ".a@b.c", "a.@b.c", "a..b@c.d",
		"a@.b.c", "a@b.c.", "a@b..c", "a@b_c.d", "caf\xc3\xa9@b.c", "a@b\x7f.c",
		"a@b\x01.c",
		/* local part of 65 characters */
		"12345678901234567890123456789012345678901234567890123456789012345@x.y",
	};
	char longaddr[300];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(valid_address(bad[i]));
	/* 255 bytes overall */
	memset(longaddr, 'a', sizeof(longaddr));
	memcpy(longaddr, "a@", 2);
	longaddr[255] = '\0';
	assert_false(valid_address(longaddr));
	longaddr[254] = '\0';
	assert_true(valid_address(longaddr));
}

static void
test_order_id_and_header_values(void **state)
{
	char big[260];

	(void)state;
	assert_true(valid_order_id("ord_123"));
	assert_true(valid_order_id("ord \xc3\xa9"));
	assert_false(valid_order_id(""));
	assert_false(valid_order_id(NULL));
	assert_false(valid_order_id("ord\r\nBcc: x@y"));
	assert_false(valid_order_id("ord\x7f"));
	memset(big, 'o', sizeof(big));
	big[200] = '\0';
	assert_true(valid_order_id(big));
	big[200] = 'o';
	big[201] = '\0';
	assert_false(valid_order_id(big));

	assert_true(valid_header_value("Order 1 ~!", 10));
	assert_false(valid_header_value("Order 1 ~!", 9));
	assert_false(valid_header_value("", 10));
	assert_false(valid_header_value("a\rb", 10));
	assert_false(valid_header_value("caf\xc3\xa9", 10));
}

/* ---- e-mail ------------------------------------------------------------------ */

static const struct outbox_msg mail_msg = {
	.uid = "msg_0123abcd", .order_id = "ord_42", .stage = "out_for_delivery",
	.previous_stage = "in_transit", .occurred_at = "2025-03-01T09:00:00Z",
	.link = "https://shop.example/t/?order=ord_42&key=K<\"",
};

static void
test_mail_headers_and_bodies(void **state)
{
	struct outbox_mail mail;
	const char *why = "unset";

	(void)state;
	/* 2025-03-01T09:00:00Z, a Saturday */
	assert_int_equal(outbox_mail_build(&mail_msg, "orders@shop.example",
	    "customer@example.com", 1740819600000LL, &mail, &why), 0);
	assert_null(why);
	assert_string_equal(mail.header[0], "From: orders@shop.example");
	assert_string_equal(mail.header[1], "To: customer@example.com");
	assert_string_equal(mail.header[2], "Subject: Your order ord_42 is out for delivery");
	assert_string_equal(mail.header[3], "Date: Sat, 01 Mar 2025 09:00:00 +0000");
	assert_string_equal(mail.header[4], "Message-ID: <msg_0123abcd@shop.example>");
	assert_string_equal(mail.header[5], "Auto-Submitted: auto-generated");
	assert_null(mail.header[6]);
	assert_non_null(strstr(mail.text, "Your order ord_42 is out for delivery."));
	assert_non_null(strstr(mail.text, mail_msg.link));
	/* HTML: the link escaped inside its attribute. */
	assert_non_null(strstr(mail.html,
	    "<a href=\"https://shop.example/t/?order=ord_42&amp;key=K&lt;&quot;\">"));
	assert_null(strstr(mail.html, "K<"));
	outbox_mail_free(&mail);
}

static void
test_mail_parcel_and_no_link(void **state)
{
	struct outbox_msg m = mail_msg;
	struct outbox_mail mail;
	const char *why;

	(void)state;
	m.stage = "exception";
	m.shipment = "1Z<b>9";
	m.link = NULL;
	assert_int_equal(outbox_mail_build(&m, "o@s.example", "c@e.example", 0,
	    &mail, &why), 0);
	assert_string_equal(mail.header[2], "Subject: Your order ord_42 has a delivery problem");
	assert_string_equal(mail.header[3], "Date: Thu, 01 Jan 1970 00:00:00 +0000");
	assert_non_null(strstr(mail.text, "Parcel: 1Z<b>9"));
	assert_non_null(strstr(mail.html, "Parcel: 1Z&lt;b&gt;9"));
	assert_null(strstr(mail.text, "Follow"));
	assert_null(strstr(mail.html, "<a "));
	outbox_mail_free(&mail);
}

static void
test_mail_refuses_header_injection(void **state)
{
	struct outbox_msg m = mail_msg;
	struct outbox_mail mail;
	const char *why;

	(void)state;
	m.order_id = "ord_1\r\nBcc: evil@attacker.example";
	assert_int_equal(outbox_mail_build(&m, "o@s.example", "c@e.example", 0,
	    &mail, &why), -1);
	assert_non_null(why);
	assert_null(mail.header[0]);
	m.order_id = "ord_\xc3\xa9";	/* not ASCII: not in a Subject */
	assert_int_equal(outbox_mail_build(&m, "o@s.example", "c@e.example", 0,
	    &mail, &why), -1);
	assert_int_equal(outbox_mail_build(&mail_msg, "o@s.example",
	    "c@e.example\r\nBcc: evil@attacker.example", 0, &mail, &why), -1);
	assert_int_equal(outbox_mail_build(&mail_msg, "o@s.example",
	    "c@e.example, evil@attacker.example", 0, &mail, &why), -1);
	assert_int_equal(outbox_mail_build(&mail_msg, "Shop <o@s.example>",
	    "c@e.example", 0, &mail, &why), -1);
}

static void
test_mail_text_has_no_control_characters(void **state)
{
	struct outbox_msg m = mail_msg;
	struct outbox_mail mail;
	const char *why;

	(void)state;
	m.shipment = "1Z\x1b[2J";
	assert_int_equal(outbox_mail_build(&m, "o@s.example", "c@e.example", 0,
	    &mail, &why), 0);
	assert_null(strchr(mail.text, '\x1b'));
	assert_non_null(strstr(mail.text, "Parcel: 1Z?[2J"));
	outbox_mail_free(&mail);
}

/* ---- back-off and phrases -------------------------------------------------- */

static void
test_backoff_doubles_and_caps(void **state)
{
	(void)state;
	assert_int_equal(outbox_backoff_ms(0, 60000), 60000);
	assert_int_equal(outbox_backoff_ms(1, 60000), 60000);
	assert_int_equal(outbox_backoff_ms(2, 60000), 120000);
	assert_int_equal(outbox_backoff_ms(3, 60000), 240000);
	assert_int_equal(outbox_backoff_ms(9, 60000), 60000LL << 8);
	assert_int_equal(outbox_backoff_ms(10, 60000), OUTBOX_BACKOFF_MAX_MS);
	assert_int_equal(outbox_backoff_ms(1000000, 60000), OUTBOX_BACKOFF_MAX_MS);
	assert_int_equal(outbox_backoff_ms(5, 0), 16);
	assert_int_equal(outbox_backoff_ms(1, 86400000), OUTBOX_BACKOFF_MAX_MS);
}

static const char *const stages[] = { "processing", "placed", "shipped",
    "in_transit", "out_for_delivery", "available_for_pickup",
    "attempt_failed", "exception", "delivered", "partially_delivered",
    "expired", "failed", "cancelled" };
static const char *const langs[] = { "en", "de", "es", "fr", "it", "nl", "pt" };

/* The Subject header's text: plain, or the RFC 2047 encoded-words decoded. */
static void
subject_text(const char *header, char *out, size_t outsz)
{
	const char *p = header + strlen("Subject:");
	size_t used = 0;

	assert_int_equal(strncmp(header, "Subject: ", 9), 0);
	if (strstr(p, "=?UTF-8?B?") == NULL) {
		snprintf(out, outsz, "%s", p + 1);
		return;
	}
	while ((p = strstr(p, "=?UTF-8?B?")) != NULL) {
		char b64[80];
		const char *end = strstr(p, "?=");
		size_t n;

		assert_non_null(end);
		assert_true((size_t)(end - p) < 75);	/* RFC 2047's limit per word */
		snprintf(b64, sizeof(b64), "%.*s", (int)(end - p - 10), p + 10);
		assert_int_equal(codec_b64_decode(b64, (unsigned char *)out + used,
		    outsz - used - 1, &n), 0);
		used += n;
		p = end + 2;
	}
	out[used] = '\0';
}

static void
build(const struct outbox_msg *m, struct outbox_mail *mail)
{
	const char *why;

	assert_int_equal(outbox_mail_build(m, "o@s.example", "c@e.example",
	    1740819600000LL, mail, &why), 0);
}

static void
test_mail_in_german_and_french(void **state)
{
	struct outbox_msg m = mail_msg;
	struct outbox_mail mail;
	char subject[400];

	(void)state;
	m.locale = "de";
	m.stage = "delivered";
	m.country = "DE";
	build(&m, &mail);
	assert_string_equal(mail.header[2], "Subject: Ihre Bestellung ord_42 wurde zugestellt");
	assert_non_null(strstr(mail.text, "Guten Tag,\r\n\r\nIhre Bestellung ord_42 wurde zugestellt.\r\n"));
	/* occurred_at 09:00Z is 10:00 in Berlin in March, and the zone is named */
	assert_non_null(strstr(mail.text, "Aktualisiert: Samstag, 1. M\xc3\xa4rz 2025, 10:00 Uhr CET\r\n"));
	assert_non_null(strstr(mail.text, "Hier k\xc3\xb6nnen Sie Ihre Bestellung verfolgen:"));
	assert_non_null(strstr(mail.html, "<html lang=\"de\">"));
	assert_non_null(strstr(mail.html, "<title>Ihre Bestellung</title>"));
	assert_non_null(strstr(mail.html, "\">Bestellung verfolgen</a>"));
	outbox_mail_free(&mail);
	/* A subject that is not ASCII travels as encoded-words. */
	m.locale = "fr";
	build(&m, &mail);
	assert_non_null(strstr(mail.header[2], "=?UTF-8?B?"));
	subject_text(mail.header[2], subject, sizeof(subject));
	assert_string_equal(subject, "Votre commande ord_42 a \xc3\xa9t\xc3\xa9 livr\xc3\xa9" "e");
	outbox_mail_free(&mail);
}

static void
test_mail_every_stage_in_every_language(void **state)
{
	struct outbox_msg m = mail_msg;
	struct outbox_mail mail;
	char subject[400], en[400];

	(void)state;
	for (size_t l = 0; l < sizeof(langs) / sizeof(langs[0]); l++)
		for (size_t i = 0; i < sizeof(stages) / sizeof(stages[0]); i++) {
			m.locale = langs[l];
			m.stage = stages[i];
			build(&m, &mail);
			for (const char *h = mail.header[2]; *h != '\0'; h++)
				assert_true(*h >= 0x20 && *h <= 0x7e);	/* a header stays ASCII */
			subject_text(mail.header[2], subject, sizeof(subject));
			assert_non_null(strstr(subject, "ord_42"));
			/* the body says what the subject says, with a full stop */
			assert_non_null(strstr(mail.text, subject));
			assert_non_null(strstr(mail.html, "ord_42"));
			if (l == 0)
				snprintf(en, sizeof(en), "%s", subject);
			outbox_mail_free(&mail);
		}
	/* A stage the catalogs do not know: "has a new status" in the language. */
	m.locale = "fr";
	m.stage = "teleported";
	build(&m, &mail);
	subject_text(mail.header[2], subject, sizeof(subject));
	assert_string_equal(subject, "Votre commande ord_42 a un nouveau statut");
	outbox_mail_free(&mail);
	m.locale = NULL;	/* no language: default_locale (English here) */
	build(&m, &mail);
	assert_string_equal(mail.header[2], "Subject: Your order ord_42 has a new status");
	outbox_mail_free(&mail);
}

static void
test_mail_long_subject_splits_on_characters(void **state)
{
	struct outbox_msg m = mail_msg;
	struct outbox_mail mail;
	char id[201], subject[600], want[600];

	(void)state;
	memset(id, 'o', 200);
	id[200] = '\0';
	m.order_id = id;
	m.locale = "fr";
	m.stage = "delivered";
	build(&m, &mail);
	subject_text(mail.header[2], subject, sizeof(subject));
	snprintf(want, sizeof(want), "Votre commande %s a \xc3\xa9t\xc3\xa9 livr\xc3\xa9" "e", id);
	assert_string_equal(subject, want);
	assert_true(strlen(mail.header[2]) < 998);
	outbox_mail_free(&mail);
}

/* ---- link ------------------------------------------------------------------- */

static void
test_link_forms(void **state)
{
	char url[LINK_MAX];

	(void)state;
	/* HMAC-SHA256("s3cret", "ord 1/\xc3\xa9"), first 16 bytes, base64url. */
	assert_int_equal(link_shopper_url("https://shop.example/track/", "s3cret",
	    "ord 1/\xc3\xa9", url, sizeof(url)), 0);
	assert_string_equal(url, "https://shop.example/track/?order=ord%201%2F%C3%A9"
	    "&key=VrLBrN4W2jqr93pcedK1Pg");
	assert_int_equal(link_shopper_url("https://shop.example/track", "s3cret",
	    "ord 1/\xc3\xa9", url, sizeof(url)), 0);
	assert_non_null(strstr(url, "https://shop.example/track/?order="));
	assert_int_equal(link_shopper_url("https://shop.example/t.html", "s3cret",
	    "ord 1/\xc3\xa9", url, sizeof(url)), 0);
	assert_non_null(strstr(url, "https://shop.example/t.html?order="));
	assert_int_equal(link_shopper_url("https://shop.example/track/", "s3cret",
	    "a&key=forged#x", url, sizeof(url)), 0);
	assert_non_null(strstr(url, "?order=a%26key%3Dforged%23x&key="));
}

static void
test_link_too_long(void **state)
{
	char url[80];

	(void)state;
	assert_int_equal(link_shopper_url("https://shop.example/track/", "s",
	    "ord_1", url, sizeof(url)), 0);
	assert_int_equal(link_shopper_url("https://shop.example/track/", "s",
	    "ord_12345678901234567890", url, sizeof(url)), -1);
	assert_int_equal(link_shopper_url("https://shop.example/track/", "s",
	    "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff", url, sizeof(url)), -1);
}

/* A "delayed" row names "<number>#<episode>"; the webhook and e-mail the number. */
static void
test_delayed_names_the_plain_number(void **state)
{
	struct outbox_msg m = {
		.uid = "msg_d", .order_id = "ord_7", .stage = "delayed",
		.previous_stage = "in_transit", .shipment = "1Z#A9#3",
		.occurred_at = "2025-03-01T09:00:00Z",
	};
	struct outbox_mail mail;
	const char *why;
	size_t len;
	char *body;

	(void)state;
	body = outbox_webhook_body(&m, &len);
	assert_non_null(body);
	assert_string_equal(body, "{\"type\":\"order.stage_changed\",\"orderId\":\"ord_7\","
	    "\"stage\":\"delayed\",\"previousStage\":\"in_transit\",\"shipment\":\"1Z#A9\","
	    "\"occurredAt\":\"2025-03-01T09:00:00Z\",\"link\":null,\"order\":null}");
	free(body);
	assert_int_equal(outbox_mail_build(&m, "o@s.example", "c@e.example", 0,
	    &mail, &why), 0);
	assert_string_equal(mail.header[2],
	    "Subject: Your order ord_7 is running late");
	assert_non_null(strstr(mail.text, "Parcel: 1Z#A9\r\n"));
	assert_non_null(strstr(mail.html, "Parcel: 1Z#A9</p>"));
	outbox_mail_free(&mail);
	/* Other stages keep the shipment as it is. */
	m.stage = "exception";
	body = outbox_webhook_body(&m, &len);
	assert_non_null(strstr(body, "\"shipment\":\"1Z#A9#3\""));
	free(body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_standard_webhooks_vector),
		cmocka_unit_test(test_delayed_names_the_plain_number),
		cmocka_unit_test(test_vector_secret_without_prefix),
		cmocka_unit_test(test_secret_key_decodes),
		cmocka_unit_test(test_secret_key_rejects),
		cmocka_unit_test(test_signature_covers_id_time_and_body),
		cmocka_unit_test(test_webhook_body_exact),
		cmocka_unit_test(test_webhook_body_new_order_parcel_and_nulls),
		cmocka_unit_test(test_webhook_body_escapes_values),
		cmocka_unit_test(test_address_ok_accepts),
		cmocka_unit_test(test_address_ok_refuses),
		cmocka_unit_test(test_order_id_and_header_values),
		cmocka_unit_test(test_mail_headers_and_bodies),
		cmocka_unit_test(test_mail_parcel_and_no_link),
		cmocka_unit_test(test_mail_refuses_header_injection),
		cmocka_unit_test(test_mail_text_has_no_control_characters),
		cmocka_unit_test(test_backoff_doubles_and_caps),
		cmocka_unit_test(test_mail_in_german_and_french),
		cmocka_unit_test(test_mail_every_stage_in_every_language),
		cmocka_unit_test(test_mail_long_subject_splits_on_characters),
		cmocka_unit_test(test_link_forms),
		cmocka_unit_test(test_link_too_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
