/*
 * Unit tests for cgi/lib/sig.c and codec.c: HMAC, base64/hex, signature verification
 * for every scheme, constant-time string compare and shopper lookup keys.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <pthread.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "codec.h"
#include "sig.h"

/* The spec's test vector (shared/spec/rye-webhooks.md, "Signature"). */
#define VEC_SECRET "whsec_example_secret"
#define VEC_BODY "{\"id\":\"evt_test\",\"type\":\"PAYMENT_SUCCEEDED\"}"
#define VEC_B64 "VjlVluBllFoBKduTNBocQ/3oxcw8lK8wqw+TU1BnpBE="
#define VEC_HEX "56395596e065945a0129db93341a1c43fde8c5cc3c94af30ab0f93535067a411"
#define VEC_HEX_UPPER "56395596E065945A0129DB93341A1C43FDE8C5CC3C94AF30AB0F93535067A411"

static const unsigned char vec_mac[SIG_MAC_LEN] = {
	0x56, 0x39, 0x55, 0x96, 0xe0, 0x65, 0x94, 0x5a,
	0x01, 0x29, 0xdb, 0x93, 0x34, 0x1a, 0x1c, 0x43,
	0xfd, 0xe8, 0xc5, 0xcc, 0x3c, 0x94, 0xaf, 0x30,
	0xab, 0x0f, 0x93, 0x53, 0x50, 0x67, 0xa4, 0x11,
};

static bool
verify(enum sig_scheme scheme, const char *secrets, const char *header,
    const char *body)
{
	return sig_verify(scheme, secrets, header, body, strlen(body));
}

/* ---- HMAC ------------------------------------------------------------- */

static void
test_hmac_spec_vector(void **state)
{
	unsigned char mac[SIG_MAC_LEN];

	(void)state;
	assert_int_equal(strlen(VEC_BODY), 44);
	sig_hmac_sha256(VEC_SECRET, strlen(VEC_SECRET), VEC_BODY,
	    strlen(VEC_BODY), mac);
	assert_memory_equal(mac, vec_mac, SIG_MAC_LEN);
}

static void
test_hmac_rfc4231_case2(void **state)
{
	/* RFC 4231, test case 2. */
	static const unsigned char want[SIG_MAC_LEN] = {
		0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e,
		0x6a, 0x04, 0x24, 0x26, 0x08, 0x95, 0x75, 0xc7,
		0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27, 0x39, 0x83,
		0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43,
	};
	const char *msg = "what do ya want for nothing?";
	unsigned char mac[SIG_MAC_LEN];

	(void)state;
	sig_hmac_sha256("Jefe", 4, msg, strlen(msg), mac);
	assert_memory_equal(mac, want, SIG_MAC_LEN);
}

static void
test_hmac_empty_message(void **state)
{
	/* printf '' | openssl dgst -sha256 -hmac key -r */
	static const unsigned char want[SIG_MAC_LEN] = {
		0x5d, 0x5d, 0x13, 0x95, 0x63, 0xc9, 0x5b, 0x59,
		0x67, 0xb9, 0xbd, 0x9a, 0x8c, 0x9b, 0x23, 0x3a,
		0x9d, 0xed, 0xb4, 0x50, 0x72, 0x79, 0x4c, 0xd2,
		0x32, 0xdc, 0x1b, 0x74, 0x83, 0x26, 0x07, 0xd0,
	};
	unsigned char mac[SIG_MAC_LEN];

	(void)state;
	sig_hmac_sha256("key", 3, NULL, 0, mac);
	assert_memory_equal(mac, want, SIG_MAC_LEN);
}

/* ---- sig_verify: Rye gen 1 (base64) ------------------------------------ */

static void
test_verify_v1_valid(void **state)
{
	(void)state;
	assert_true(verify(SIG_RYE_V1, VEC_SECRET, VEC_B64, VEC_BODY));
}

static void
test_verify_v1_wrong_secret(void **state)
{
	(void)state;
	assert_false(verify(SIG_RYE_V1, "whsec_example_secreT", VEC_B64, VEC_BODY));
	/* A prefix of the secret is a different key. */
	assert_false(verify(SIG_RYE_V1, "whsec_example_secre", VEC_B64, VEC_BODY));
	assert_false(verify(SIG_RYE_V1, "whsec_example_secret2", VEC_B64, VEC_BODY));
}

static void
test_verify_v1_tampered_body(void **state)
{
	char body[] = VEC_BODY;

	(void)state;
	/* One byte changed. */
	body[8] = 'T';
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, VEC_B64, body));
	/* Body cut by one byte (the length is authoritative, not the NUL). */
	assert_false(sig_verify(SIG_RYE_V1, VEC_SECRET, VEC_B64, VEC_BODY,
	    strlen(VEC_BODY) - 1));
	/* A trailing newline the sender did not sign. */
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, VEC_B64, VEC_BODY "\n"));
	/* An empty body. */
	assert_false(sig_verify(SIG_RYE_V1, VEC_SECRET, VEC_B64, "", 0));
}

static void
test_verify_v1_tampered_signature(void **state)
{
	char sig[] = VEC_B64;

	(void)state;
	sig[0] = 'W';
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, sig, VEC_BODY));
	strcpy(sig, VEC_B64);
	sig[41] = sig[41] == 'B' ? 'C' : 'B';	/* last full character */
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, sig, VEC_BODY));
}

static void
test_verify_v1_truncated_signature(void **state)
{
	char sig[sizeof(VEC_B64)];

	(void)state;
	/* Drop the padding: no longer valid base64. */
	snprintf(sig, sizeof(sig), "%.43s", VEC_B64);
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, sig, VEC_BODY));
	/* Drop the last quantum: valid base64 of a 30-byte prefix of the MAC. */
	snprintf(sig, sizeof(sig), "%.40s", VEC_B64);
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, sig, VEC_BODY));
	/* Only the first quantum. */
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, "VjlV", VEC_BODY));
}

static void
test_verify_v1_empty_and_garbage_header(void **state)
{
	(void)state;
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, "", VEC_BODY));
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, " ", VEC_BODY));
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, "!!!!!!!!", VEC_BODY));
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, "not base64 at all", VEC_BODY));
	assert_false(verify(SIG_RYE_V1, VEC_SECRET,
	    "****luBllFoBKduTNBocQ/3oxcw8lK8wqw+TU1BnpBE=", VEC_BODY));
	/* The hex form is not accepted under the base64 scheme. */
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, VEC_HEX, VEC_BODY));
	assert_false(verify(SIG_RYE_V1, VEC_SECRET, "v0=" VEC_HEX, VEC_BODY));
	/* base64url of the right MAC is not standard base64. */
	assert_false(verify(SIG_RYE_V1, VEC_SECRET,
	    "VjlVluBllFoBKduTNBocQ_3oxcw8lK8wqw-TU1BnpBE=", VEC_BODY));
	assert_false(sig_verify(SIG_RYE_V1, VEC_SECRET, NULL, VEC_BODY,
	    strlen(VEC_BODY)));
}

/* ---- sig_verify: Rye gen 2 (v0=hex) ------------------------------------ */

static void
test_verify_v2_valid(void **state)
{
	(void)state;
	assert_true(verify(SIG_RYE_V2, VEC_SECRET, "v0=" VEC_HEX, VEC_BODY));
	/* Hex digits of either case decode to the same bytes. */
	assert_true(verify(SIG_RYE_V2, VEC_SECRET, "v0=" VEC_HEX_UPPER, VEC_BODY));
}

static void
test_verify_v2_rejects(void **state)
{
	char sig[] = "v0=" VEC_HEX;

	(void)state;
	/* No prefix, another version prefix, the base64 form. */
	assert_false(verify(SIG_RYE_V2, VEC_SECRET, VEC_HEX, VEC_BODY));
	assert_false(verify(SIG_RYE_V2, VEC_SECRET, "v1=" VEC_HEX, VEC_BODY));
	assert_false(verify(SIG_RYE_V2, VEC_SECRET, VEC_B64, VEC_BODY));
	assert_false(verify(SIG_RYE_V2, VEC_SECRET, "v0=", VEC_BODY));
	assert_false(verify(SIG_RYE_V2, VEC_SECRET, "", VEC_BODY));
	/* Wrong secret, tampered body. */
	assert_false(verify(SIG_RYE_V2, "other", "v0=" VEC_HEX, VEC_BODY));
	assert_false(verify(SIG_RYE_V2, VEC_SECRET, "v0=" VEC_HEX,
	    "{\"id\":\"evt_test\",\"type\":\"PAYMENT_SUCCEEDEd\"}"));
	/* Tampered signature: last digit changed. */
	sig[strlen(sig) - 1] = '0';
	assert_false(verify(SIG_RYE_V2, VEC_SECRET, sig, VEC_BODY));
	/* Truncated by one digit, and by one byte. */
	strcpy(sig, "v0=" VEC_HEX);
	sig[strlen(sig) - 1] = '\0';
	assert_false(verify(SIG_RYE_V2, VEC_SECRET, sig, VEC_BODY));
	sig[strlen(sig) - 1] = '\0';
	assert_false(verify(SIG_RYE_V2, VEC_SECRET, sig, VEC_BODY));
	/* Extended by a byte. */
	assert_false(verify(SIG_RYE_V2, VEC_SECRET, "v0=" VEC_HEX "00", VEC_BODY));
	/* Non-hex digit. */
	strcpy(sig, "v0=" VEC_HEX);
	sig[10] = 'g';
	assert_false(verify(SIG_RYE_V2, VEC_SECRET, sig, VEC_BODY));
}

static void
test_verify_aftership(void **state)
{
	(void)state;
	assert_true(verify(SIG_AFTERSHIP, VEC_SECRET, VEC_B64, VEC_BODY));
	assert_false(verify(SIG_AFTERSHIP, VEC_SECRET, "v0=" VEC_HEX, VEC_BODY));
	assert_false(verify(SIG_AFTERSHIP, "x", VEC_B64, VEC_BODY));
}

static void
test_verify_bad_scheme(void **state)
{
	(void)state;
	assert_false(verify(SIG__MAX, VEC_SECRET, VEC_B64, VEC_BODY));
	assert_false(verify((enum sig_scheme)99, VEC_SECRET, VEC_B64, VEC_BODY));
}

/* ---- rotation and secrets ---------------------------------------------- */

static void
test_verify_rotation(void **state)
{
	(void)state;
	/* Signed with the new secret, the old one listed first. */
	assert_true(verify(SIG_RYE_V1, "whsec_old " VEC_SECRET, VEC_B64, VEC_BODY));
	/* Signed with the old secret, the new one listed first. */
	assert_true(verify(SIG_RYE_V1, VEC_SECRET " whsec_new", VEC_B64, VEC_BODY));
	assert_true(verify(SIG_RYE_V2, "a " VEC_SECRET " b", "v0=" VEC_HEX, VEC_BODY));
	/* Extra blanks around and between secrets. */
	assert_true(verify(SIG_RYE_V1, "  whsec_old   " VEC_SECRET "  ", VEC_B64,
	    VEC_BODY));
	/* Neither secret signed it. */
	assert_false(verify(SIG_RYE_V1, "whsec_old whsec_new", VEC_B64, VEC_BODY));
	/* The list is split, not used as one key. */
	assert_false(verify(SIG_RYE_V1, "whsec_example secret", VEC_B64, VEC_BODY));
}

static void
test_verify_no_secrets_fails_closed(void **state)
{
	(void)state;
	assert_false(sig_verify(SIG_RYE_V1, NULL, VEC_B64, VEC_BODY,
	    strlen(VEC_BODY)));
	assert_false(sig_verify(SIG_RYE_V2, NULL, "v0=" VEC_HEX, VEC_BODY,
	    strlen(VEC_BODY)));
	assert_false(verify(SIG_RYE_V1, "", VEC_B64, VEC_BODY));
	assert_false(verify(SIG_RYE_V1, "   ", VEC_B64, VEC_BODY));
	/* An attacker signing with the empty key gains nothing either. */
	{
		unsigned char mac[SIG_MAC_LEN];
		char b64[64];

		sig_hmac_sha256("", 0, VEC_BODY, strlen(VEC_BODY), mac);
		assert_int_not_equal(codec_b64_encode(mac, SIG_MAC_LEN, b64,
		    sizeof(b64), false), 0);
		assert_false(verify(SIG_RYE_V1, "", b64, VEC_BODY));
		assert_false(verify(SIG_RYE_V1, " ", b64, VEC_BODY));
	}
}

static void
test_verify_several_presented(void **state)
{
	(void)state;
	/* A sender rotating its own secret may send two signatures. */
	assert_true(verify(SIG_RYE_V1, VEC_SECRET,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, " VEC_B64, VEC_BODY));
	assert_true(verify(SIG_RYE_V2, VEC_SECRET,
	    "v0=0000000000000000000000000000000000000000000000000000000000000000,v0="
	    VEC_HEX, VEC_BODY));
	assert_false(verify(SIG_RYE_V1, VEC_SECRET,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=, "
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", VEC_BODY));
}

static void
test_verify_binary_body(void **state)
{
	/* The MAC is over bytes, including NULs, not a C string. */
	const unsigned char body[] = { 'a', 0, 'b', 0xff };
	unsigned char mac[SIG_MAC_LEN];
	char b64[64];

	(void)state;
	sig_hmac_sha256("k", 1, body, sizeof(body), mac);
	codec_b64_encode(mac, SIG_MAC_LEN, b64, sizeof(b64), false);
	assert_true(sig_verify(SIG_RYE_V1, "k", b64, body, sizeof(body)));
	assert_false(sig_verify(SIG_RYE_V1, "k", b64, body, 1));
}

/* ---- base64 ------------------------------------------------------------ */

static void
test_b64_encode_standard(void **state)
{
	/* RFC 4648 section 10. */
	static const struct { const char *in, *out; } v[] = {
		{ "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	char out[32];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		size_t n = codec_b64_encode((const unsigned char *)v[i].in,
		    strlen(v[i].in), out, sizeof(out), false);
		assert_int_equal(n, strlen(v[i].out));
		assert_string_equal(out, v[i].out);
	}
	assert_int_equal(codec_b64_encode(vec_mac, SIG_MAC_LEN, out, sizeof(out), false), 0);
	{
		char big[64];
		assert_int_equal(codec_b64_encode(vec_mac, SIG_MAC_LEN, big,
		    sizeof(big), false), 44);
		assert_string_equal(big, VEC_B64);
	}
}

static void
test_b64_encode_url(void **state)
{
	static const unsigned char in[] = { 0xfb, 0xff, 0xbf, 0xfb, 0xff };
	char out[32];

	(void)state;
	assert_int_equal(codec_b64_encode(in, 5, out, sizeof(out), false), 8);
	assert_string_equal(out, "+/+/+/8=");
	assert_int_equal(codec_b64_encode(in, 5, out, sizeof(out), true), 7);
	assert_string_equal(out, "-_-_-_8");
	assert_int_equal(codec_b64_encode((const unsigned char *)"f", 1, out,
	    sizeof(out), true), 2);
	assert_string_equal(out, "Zg");
	{
		char big[64];
		assert_int_equal(codec_b64_encode(vec_mac, SIG_MAC_LEN, big,
		    sizeof(big), true), 43);
		assert_string_equal(big,
		    "VjlVluBllFoBKduTNBocQ_3oxcw8lK8wqw-TU1BnpBE");
	}
}

static void
test_b64_encode_too_small(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'x', sizeof(out));
	/* "foobar" needs 8 + 1 bytes. */
	assert_int_equal(codec_b64_encode((const unsigned char *)"foobar", 6, out,
	    8, false), 0);
	assert_int_equal(codec_b64_encode((const unsigned char *)"fooba", 5, out,
	    8, false), 0);
	assert_int_equal(codec_b64_encode((const unsigned char *)"foo", 3, out,
	    5, false), 4);
	assert_string_equal(out, "Zm9v");
}

static void
test_b64_decode_valid(void **state)
{
	unsigned char out[64];
	size_t n = 99;

	(void)state;
	assert_int_equal(codec_b64_decode("Zm9vYmFy", out, sizeof(out), &n), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(out, "foobar", 6);
	assert_int_equal(codec_b64_decode("Zm9vYmE=", out, sizeof(out), &n), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "fooba", 5);
	assert_int_equal(codec_b64_decode("Zg==", out, sizeof(out), &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(out[0], 'f');
	assert_int_equal(codec_b64_decode(VEC_B64, out, sizeof(out), &n), 0);
	assert_int_equal(n, SIG_MAC_LEN);
	assert_memory_equal(out, vec_mac, SIG_MAC_LEN);
	assert_int_equal(codec_b64_decode("+/+/", out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(out[2], 0xbf);
}

static void
test_b64_decode_rejects(void **state)
{
	static const char *const bad[] = {
		"",		/* empty */
		"Zg",		/* padding missing */
		"Zg=",		/* padding short */
		"Zm9",		/* length not a multiple of 4 */
		"Zm9vY",
		"Z===",		/* too much padding */
		"====",
		"=Zg=",		/* padding first */
		"Zg=A",		/* padding in the middle */
		"Zg==Zg==",	/* padding then more data */
		"Zm9v!A==",	/* bad character */
		"Zm 9",		/* blank inside */
		" Zm9v",	/* leading blank */
		"Zm9v ",	/* trailing blank */
		"Zm9v\n",	/* trailing newline */
		"-_8=",		/* base64url alphabet */
		"Zm9v\x80\x80\x80\x80",	/* bytes above ASCII */
	};
	unsigned char out[64];
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (codec_b64_decode(bad[i], out, sizeof(out), &n) != -1)
			fail_msg("accepted bad base64 #%zu \"%s\"", i, bad[i]);
	}
}

static void
test_b64_decode_output_bound(void **state)
{
	unsigned char out[6];
	char big[2048];
	size_t n;

	(void)state;
	assert_int_equal(codec_b64_decode("Zm9vYmFy", out, 5, &n), -1);
	assert_int_equal(codec_b64_decode("Zm9vYmFy", out, 6, &n), 0);
	assert_int_equal(n, 6);
	/* A very long input is refused rather than overflowing anything. */
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(codec_b64_decode(big, out, sizeof(out), &n), -1);
}

/* ---- hex --------------------------------------------------------------- */

static void
test_hex_decode(void **state)
{
	unsigned char out[SIG_MAC_LEN];

	(void)state;
	assert_int_equal(codec_hex_decode("00ff7Fa0", 8, out, 4), 0);
	assert_int_equal(out[0], 0x00);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(out[2], 0x7f);
	assert_int_equal(out[3], 0xa0);
	assert_int_equal(codec_hex_decode(VEC_HEX, 64, out, SIG_MAC_LEN), 0);
	assert_memory_equal(out, vec_mac, SIG_MAC_LEN);
	memset(out, 0, sizeof(out));
	assert_int_equal(codec_hex_decode(VEC_HEX_UPPER, 64, out, SIG_MAC_LEN), 0);
	assert_memory_equal(out, vec_mac, SIG_MAC_LEN);
}

static void
test_hex_decode_rejects(void **state)
{
	unsigned char out[4];

	(void)state;
	assert_int_equal(codec_hex_decode("00ff7f", 6, out, 4), -1);	/* short */
	assert_int_equal(codec_hex_decode("00ff7fa0b", 9, out, 4), -1);	/* long */
	assert_int_equal(codec_hex_decode("00ff7fa", 7, out, 4), -1);	/* odd */
	assert_int_equal(codec_hex_decode("00fg7fa0", 8, out, 4), -1);	/* g */
	assert_int_equal(codec_hex_decode("0xff7fa0", 8, out, 4), -1);
	assert_int_equal(codec_hex_decode("00ff 7fa", 8, out, 4), -1);
	assert_int_equal(codec_hex_decode("-1ff7fa0", 8, out, 4), -1);
	assert_int_equal(codec_hex_decode("", 0, out, 4), -1);
}

/* ---- sig_str_equal ------------------------------------------------------ */

static void
test_str_equal(void **state)
{
	(void)state;
	assert_true(sig_str_equal("token-123", "token-123"));
	assert_true(sig_str_equal("", ""));
	assert_false(sig_str_equal("token-123", "token-124"));
	assert_false(sig_str_equal("token-123", "Token-123"));
	assert_false(sig_str_equal("token-123", "token-12"));
	assert_false(sig_str_equal("token-12", "token-123"));
	assert_false(sig_str_equal("", "x"));
	assert_false(sig_str_equal("x", ""));
}

/* ---- lookup keys ------------------------------------------------------- */

static void
test_lookup_key_known_values(void **state)
{
	char key[SIG_LOOKUP_KEY_LEN + 1];

	(void)state;
	/*
	 * Computed independently with:
	 *   printf %s req_abc123 | openssl dgst -sha256 -hmac lookup-secret-1 \
	 *     -binary | head -c16 | base64 | tr '+/' '-_' | tr -d =
	 */
	memset(key, 'x', sizeof(key));
	sig_lookup_key("lookup-secret-1", "req_abc123", key);
	assert_string_equal(key, "EBOcb7zek9us957jx6IoOw");
	/* Same command with order id req_1 (exercises the '_' digit). */
	sig_lookup_key("lookup-secret-1", "req_1", key);
	assert_string_equal(key, "0zjxMC_iT53rVL_DMw7MjQ");
	/* ... and req_2. */
	sig_lookup_key("lookup-secret-1", "req_2", key);
	assert_string_equal(key, "OdjGZfwR_3To4cxlOv2F5g");
}

static void
test_lookup_key_shape(void **state)
{
	char a[SIG_LOOKUP_KEY_LEN + 1], b[SIG_LOOKUP_KEY_LEN + 1];
	char id[32];

	(void)state;
	for (int i = 0; i < 200; i++) {
		snprintf(id, sizeof(id), "ci_%d", i);
		sig_lookup_key("s3cret", id, a);
		assert_int_equal(strlen(a), SIG_LOOKUP_KEY_LEN);
		for (size_t j = 0; j < SIG_LOOKUP_KEY_LEN; j++) {
			char c = a[j];
			if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '_'))
				fail_msg("key %s has non-base64url char", a);
		}
		/* Deterministic. */
		sig_lookup_key("s3cret", id, b);
		assert_string_equal(a, b);
		/* Depends on the secret. */
		sig_lookup_key("s3cret2", id, b);
		assert_string_not_equal(a, b);
	}
	sig_lookup_key("s3cret", "ci_1", a);
	sig_lookup_key("s3cret", "ci_2", b);
	assert_string_not_equal(a, b);
}

static void
test_lookup_key_equal(void **state)
{
	char a[SIG_LOOKUP_KEY_LEN + 1];
	char b[SIG_LOOKUP_KEY_LEN + 2];

	(void)state;
	sig_lookup_key("s3cret", "ci_1", a);
	assert_true(sig_lookup_key_equal(a, a));
	memcpy(b, a, sizeof(a));
	assert_true(sig_lookup_key_equal(b, a));
	b[SIG_LOOKUP_KEY_LEN - 1] ^= 1;			/* last character */
	assert_false(sig_lookup_key_equal(b, a));
	memcpy(b, a, sizeof(a));
	b[SIG_LOOKUP_KEY_LEN - 1] = '\0';		/* a prefix */
	assert_false(sig_lookup_key_equal(b, a));
	memcpy(b, a, sizeof(a));
	b[SIG_LOOKUP_KEY_LEN] = 'x';			/* one character more */
	b[SIG_LOOKUP_KEY_LEN + 1] = '\0';
	assert_false(sig_lookup_key_equal(b, a));
	assert_false(sig_lookup_key_equal("", a));
	assert_false(sig_lookup_key_equal(a, ""));
}

/* FIPS 180-2 vectors: "abc", and the same split into parts. */
static void
test_sha256_parts_and_hex(void **state)
{
	static const char want[] =
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
	struct codec_part whole = { "abc", 3 };
	struct codec_part split[] = { { "a", 1 }, { "", 0 }, { "bc", 2 } };
	unsigned char md[SIG_MAC_LEN];
	char hex[2 * SIG_MAC_LEN + 1];

	(void)state;
	assert_true(codec_sha256(&whole, 1, md));
	codec_hex_encode(md, SIG_MAC_LEN, hex);
	hex[2 * SIG_MAC_LEN] = '\0';
	assert_string_equal(hex, want);
	assert_true(codec_sha256(split, 3, md));
	codec_hex_encode(md, SIG_MAC_LEN, hex);
	assert_string_equal(hex, want);
	/* The empty message. */
	assert_true(codec_sha256(NULL, 0, md));
	codec_hex_encode(md, 4, hex);
	hex[8] = '\0';
	assert_string_equal(hex, "e3b0c442");
}

/* The same MAC from many threads at once (the shared template context). */
static void *
hmac_many(void *arg)
{
	unsigned char mac[SIG_MAC_LEN], first[SIG_MAC_LEN];

	(void)arg;
	sig_hmac_sha256("key", 3, "message", 7, first);
	for (int i = 0; i < 2000; i++) {
		sig_hmac_sha256("key", 3, "message", 7, mac);
		if (memcmp(mac, first, SIG_MAC_LEN) != 0)
			return (void *)1;
	}
	return NULL;
}

static void
test_hmac_threads(void **state)
{
	pthread_t t[8];
	void *r;

	(void)state;
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hmac_many, NULL), 0);
	for (int i = 0; i < 8; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_null(r);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hmac_spec_vector),
		cmocka_unit_test(test_hmac_rfc4231_case2),
		cmocka_unit_test(test_hmac_empty_message),
		cmocka_unit_test(test_hmac_threads),
		cmocka_unit_test(test_sha256_parts_and_hex),
		cmocka_unit_test(test_lookup_key_equal),
		cmocka_unit_test(test_verify_v1_valid),
		cmocka_unit_test(test_verify_v1_wrong_secret),
		cmocka_unit_test(test_verify_v1_tampered_body),
		cmocka_unit_test(test_verify_v1_tampered_signature),
		cmocka_unit_test(test_verify_v1_truncated_signature),
		cmocka_unit_test(test_verify_v1_empty_and_garbage_header),
		cmocka_unit_test(test_verify_v2_valid),
		cmocka_unit_test(test_verify_v2_rejects),
		cmocka_unit_test(test_verify_aftership),
		cmocka_unit_test(test_verify_bad_scheme),
		cmocka_unit_test(test_verify_rotation),
		cmocka_unit_test(test_verify_no_secrets_fails_closed),
		cmocka_unit_test(test_verify_several_presented),
		cmocka_unit_test(test_verify_binary_body),
		cmocka_unit_test(test_b64_encode_standard),
		cmocka_unit_test(test_b64_encode_url),
		cmocka_unit_test(test_b64_encode_too_small),
		cmocka_unit_test(test_b64_decode_valid),
		cmocka_unit_test(test_b64_decode_rejects),
		cmocka_unit_test(test_b64_decode_output_bound),
		cmocka_unit_test(test_hex_decode),
		cmocka_unit_test(test_hex_decode_rejects),
		cmocka_unit_test(test_str_equal),
		cmocka_unit_test(test_lookup_key_known_values),
		cmocka_unit_test(test_lookup_key_shape),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
