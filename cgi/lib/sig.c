/*
 * sig: see sig.h.  HMAC via OpenSSL's EVP_MAC; base64 via
 * EVP_EncodeBlock/EVP_DecodeBlock, whose padding quirks are handled here.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "sig.h"
#include "text.h"

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
 * SHA-256, fetched from OpenSSL's provider once: EVP_sha256() makes
 * OpenSSL 3 look the implementation up again on every EVP_DigestInit_ex.
 */
static EVP_MD *sha256_fetched;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void
sha256_fetch(void)
{
	sha256_fetched = EVP_MD_fetch(NULL, "SHA256", NULL);
}

bool
sig_sha256(const struct sig_part *parts, size_t n, unsigned char out[SIG_MAC_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int outlen = 0;
	bool ok;

	pthread_once(&sha256_once, sha256_fetch);
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, sha256_fetched != NULL ?
	    sha256_fetched : EVP_sha256(), NULL);
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, parts[i].data, parts[i].len);
	ok = ok && EVP_DigestFinal_ex(ctx, out, &outlen) && outlen == SIG_MAC_LEN;
	EVP_MD_CTX_free(ctx);
	return ok;
}

void
sig_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
}

size_t
sig_b64_encode(const unsigned char *in, size_t len, char *out, size_t outsz,
    bool url)
{
	size_t need = 4 * ((len + 2) / 3) + 1, n;

	if (outsz < need)
		return 0;
	n = (size_t)EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	if (!url)
		return n;
	while (n > 0 && out[n - 1] == '=')
		out[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		if (out[i] == '+')
			out[i] = '-';
		else if (out[i] == '/')
			out[i] = '_';
	return n;
}

int
sig_b64_decode(const char *in, unsigned char *out, size_t outsz,
    size_t *outlen)
{
	size_t len = strlen(in), pad = 0;
	unsigned char tmp[512];
	int n;

	if (len == 0 || len % 4 != 0 || len / 4 * 3 > sizeof(tmp))
		return -1;
	if (in[len - 1] == '=')
		pad++;
	if (len > 1 && in[len - 2] == '=')
		pad++;
	/* EVP_DecodeBlock tolerates surrounding blanks; we do not. */
	for (size_t i = 0; i < len - pad; i++) {
		char c = in[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/'))
			return -1;
	}
	n = EVP_DecodeBlock(tmp, (const unsigned char *)in, (int)len);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad > outsz)
		return -1;
	*outlen = (size_t)n - pad;
	memcpy(out, tmp, *outlen);
	OPENSSL_cleanse(tmp, sizeof(tmp));
	return 0;
}

int
sig_b64url_decode(const char *in, unsigned char *out, size_t outsz,
    size_t *outlen)
{
	char tmp[700];
	size_t len = strlen(in);

	if (len % 4 == 1 || len + 3 >= sizeof(tmp))
		return -1;
	for (size_t i = 0; i < len; i++) {
		char c = in[i];
		if (c == '+' || c == '/' || c == '=')
			return -1;
		tmp[i] = c == '-' ? '+' : c == '_' ? '/' : c;
	}
	while (len % 4 != 0)
		tmp[len++] = '=';
	tmp[len] = '\0';
	return sig_b64_decode(tmp, out, outsz, outlen);
}

int
sig_hex_decode(const char *in, size_t inlen, unsigned char *out, size_t outlen)
{
	if (inlen != 2 * outlen)
		return -1;
	for (size_t i = 0; i < outlen; i++) {
		int hi = text_hexval(in[2 * i]), lo = text_hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
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
				    sig_hex_decode(tok + 3, len - 3, macs[n],
				    SIG_MAC_LEN) == 0)
					n++;
			} else if (sig_b64_decode(tok, macs[n], SIG_MAC_LEN,
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
	sig_b64_encode(mac, 16, enc, sizeof(enc), true);
	memcpy(out, enc, SIG_LOOKUP_KEY_LEN);
	out[SIG_LOOKUP_KEY_LEN] = '\0';
}
