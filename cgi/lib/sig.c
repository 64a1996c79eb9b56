/*
 * sig: see sig.h.  HMAC via OpenSSL's EVP_MAC; the encodings are codec.h's.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "codec.h"
#include "sig.h"

const char *
sig_scheme_name(enum sig_scheme s)
{
	switch (s) {
	case SIG_RYE_V1: return "rye1";
	case SIG_RYE_V2: return "rye2";
	case SIG_AFTERSHIP: return "aftership";
	default: return "unknown";
	}
}

enum sig_scheme
sig_scheme_named(const char *name)
{
	for (int s = 0; s < SIG__MAX; s++)
		if (strcmp(sig_scheme_name((enum sig_scheme)s), name) == 0)
			return (enum sig_scheme)s;
	return SIG__MAX;
}

/*
 * OpenSSL 3's one-shot HMAC() looks the HMAC and SHA-256 implementations
 * up in its provider tables on every call, which cost three times the
 * hashing itself for a short message.  So one context with SHA-256 set
 * is made once, never changed afterwards, and each call works on a copy
 * of it (copying only reads it, so threads may share it).
 */
static EVP_MAC_CTX *hmac_template;
static pthread_once_t hmac_once = PTHREAD_ONCE_INIT;

static void
hmac_template_make(void)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
		OSSL_PARAM_construct_end(),
	};
	EVP_MAC *mac = EVP_MAC_fetch(NULL, "HMAC", NULL);

	if (mac != NULL && (hmac_template = EVP_MAC_CTX_new(mac)) != NULL &&
	    !EVP_MAC_CTX_set_params(hmac_template, params)) {
		EVP_MAC_CTX_free(hmac_template);
		hmac_template = NULL;
	}
	EVP_MAC_free(mac);	/* the context keeps its own reference */
}

static bool
hmac_fast(const void *key, size_t keylen, const void *msg, size_t msglen,
    unsigned char out[SIG_MAC_LEN])
{
	EVP_MAC_CTX *ctx;
	size_t outlen = 0;
	bool ok;

	pthread_once(&hmac_once, hmac_template_make);
	if (hmac_template == NULL || (ctx = EVP_MAC_CTX_dup(hmac_template)) == NULL)
		return false;
	ok = EVP_MAC_init(ctx, key, keylen, NULL) &&
	    EVP_MAC_update(ctx, msg, msglen) &&
	    EVP_MAC_final(ctx, out, &outlen, SIG_MAC_LEN) && outlen == SIG_MAC_LEN;
	EVP_MAC_CTX_free(ctx);
	return ok;
}

void
sig_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t msglen, unsigned char out[SIG_MAC_LEN])
{
	unsigned int outlen = SIG_MAC_LEN;
	static const unsigned char empty;

	/* Neither refuses length 0, but both want a non-NULL pointer. */
	key = keylen ? key : &empty;
	msg = msglen ? msg : &empty;
	if (hmac_fast(key, keylen, msg, msglen, out))
		return;
	HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out, &outlen);
}

/*
 * Turn a presented header into MAC candidates.  Rye gen 2 prefixes "v0=";
 * several comma- or space-separated signatures are accepted so a sender
 * can sign with an old and a new secret during its own rotation.
 */
static int
decode_presented(enum sig_scheme scheme, const char *header,
    unsigned char macs[][SIG_MAC_LEN], int max)
{
	char tok[256];
	const char *p = header;
	int n = 0;

	while (*p != '\0' && n < max) {
		size_t len = strcspn(p, ", ");
		size_t outlen;

		if (len > 0 && len < sizeof(tok)) {
			memcpy(tok, p, len);
			tok[len] = '\0';
			if (scheme == SIG_RYE_V2) {
				if (len > 3 && strncmp(tok, "v0=", 3) == 0 &&
				    codec_hex_decode(tok + 3, len - 3, macs[n],
				    SIG_MAC_LEN) == 0)
					n++;
			} else if (codec_b64_decode(tok, macs[n], SIG_MAC_LEN,
			    &outlen) == 0 && outlen == SIG_MAC_LEN)
				n++;
		}
		p += len;
		p += strspn(p, ", ");
	}
	return n;
}

bool
sig_verify(enum sig_scheme scheme, const char *secrets, const char *header,
    const void *body, size_t bodylen)
{
	unsigned char presented[4][SIG_MAC_LEN], mac[SIG_MAC_LEN];
	const char *p = secrets;
	bool ok = false;
	int n;

	if (secrets == NULL || header == NULL || scheme >= SIG__MAX)
		return false;
	n = decode_presented(scheme, header, presented, 4);
	while (*p != '\0') {
		size_t len = strcspn(p, " \t");
		if (len > 0) {
			sig_hmac_sha256(p, len, body, bodylen, mac);
			/* Try every candidate: no early exit on a match. */
			for (int i = 0; i < n; i++)
				ok |= CRYPTO_memcmp(mac, presented[i],
				    SIG_MAC_LEN) == 0;
		}
		p += len;
		p += strspn(p, " \t");
	}
	OPENSSL_cleanse(mac, sizeof(mac));
	return ok;
}

bool
sig_str_equal(const char *a, const char *b)
{
	unsigned char ma[SIG_MAC_LEN], mb[SIG_MAC_LEN];
	static const char k[] = "shiptrack token compare";

	/*
	 * Compare MACs of both strings under a fixed key: equal-length,
	 * constant-time, and the token's length does not leak either.
	 */
	sig_hmac_sha256(k, sizeof(k) - 1, a, strlen(a), ma);
	sig_hmac_sha256(k, sizeof(k) - 1, b, strlen(b), mb);
	return CRYPTO_memcmp(ma, mb, SIG_MAC_LEN) == 0;
}

bool
sig_lookup_key_equal(const char *presented, const char *expected)
{
	/* Every key is SIG_LOOKUP_KEY_LEN long: its length is no secret. */
	return strlen(presented) == SIG_LOOKUP_KEY_LEN &&
	    strlen(expected) == SIG_LOOKUP_KEY_LEN &&
	    CRYPTO_memcmp(presented, expected, SIG_LOOKUP_KEY_LEN) == 0;
}

void
sig_lookup_key(const char *secret, const char *order_id,
    char out[SIG_LOOKUP_KEY_LEN + 1])
{
	unsigned char mac[SIG_MAC_LEN];
	char enc[32];

	sig_hmac_sha256(secret, strlen(secret), order_id, strlen(order_id), mac);
	codec_b64_encode(mac, 16, enc, sizeof(enc), true);
	memcpy(out, enc, SIG_LOOKUP_KEY_LEN);
	out[SIG_LOOKUP_KEY_LEN] = '\0';
}
