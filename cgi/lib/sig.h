/*
 * sig: the HMAC schemes senders sign webhooks with, and the small crypto
 * helpers around them (constant-time comparison, lookup keys), all on
 * OpenSSL libcrypto; the encodings they use are codec.h's.
 *
 * Verification always works on the raw body bytes, decodes the presented
 * signature to bytes and compares 32 bytes with CRYPTO_memcmp, so neither
 * the position of the first wrong byte nor the encoding's case leaks
 * through timing.  A secret setting may hold several secrets separated by
 * spaces (rotation): each is tried in turn.  Secrets are never logged.
 */
#ifndef SHIPTRACK_SIG_H
#define SHIPTRACK_SIG_H

#include <stdbool.h>
#include <stddef.h>

#define SIG_MAC_LEN 32

enum sig_scheme {
	SIG_RYE_V1,		/* Rye-Hmac-Signature-V1: base64(HMAC) */
	SIG_RYE_V2,		/* x-rye-signature: v0=hex(HMAC) */
	SIG_AFTERSHIP,		/* aftership-hmac-sha256: base64(HMAC) */
	SIG__MAX
};

/* The scheme's name as stored with each event ("rye1", "rye2", "aftership"). */
const char *sig_scheme_name(enum sig_scheme s);
/* The scheme stored under this name, or SIG__MAX. */
enum sig_scheme sig_scheme_named(const char *name);

void sig_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t msglen, unsigned char out[SIG_MAC_LEN]);

/*
 * Verify a signature header value against a body with each secret in the
 * space-separated list.  Returns true on a match.
 */
bool sig_verify(enum sig_scheme scheme, const char *secrets,
    const char *header, const void *body, size_t bodylen);

/* Constant-time equality of two NUL-terminated strings (e.g. tokens). */
bool sig_str_equal(const char *a, const char *b);

/* Shopper lookup key: base64url(first 16 bytes of HMAC(secret, id)), 22 chars. */
#define SIG_LOOKUP_KEY_LEN 22
void sig_lookup_key(const char *secret, const char *order_id,
    char out[SIG_LOOKUP_KEY_LEN + 1]);
/*
 * Constant-time equality of a presented lookup key and the expected one.
 * Keys have one public length, so unlike sig_str_equal() this needs no
 * MACs to hide it.
 */
bool sig_lookup_key_equal(const char *presented, const char *expected);

#endif
