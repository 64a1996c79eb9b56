/*
 * codec: see codec.h.  base64 via EVP_EncodeBlock/EVP_DecodeBlock, whose
 * padding quirks are handled here.
 */
#include "config.h"

#include <pthread.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "codec.h"
#include "text.h"

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
codec_sha256(const struct codec_part *parts, size_t n,
    unsigned char out[CODEC_SHA256_LEN])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned int outlen = 0;
	bool ok;

	pthread_once(&sha256_once, sha256_fetch);
	ok = ctx != NULL && EVP_DigestInit_ex(ctx, sha256_fetched != NULL ?
	    sha256_fetched : EVP_sha256(), NULL);
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(ctx, parts[i].data, parts[i].len);
	ok = ok && EVP_DigestFinal_ex(ctx, out, &outlen) && outlen == CODEC_SHA256_LEN;
	EVP_MD_CTX_free(ctx);
	return ok;
}

void
codec_hex_encode(const unsigned char *in, size_t len, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < len; i++) {
		out[2 * i] = hex[in[i] >> 4];
		out[2 * i + 1] = hex[in[i] & 15];
	}
}

size_t
codec_b64_encode(const unsigned char *in, size_t len, char *out, size_t outsz,
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
codec_b64_decode(const char *in, unsigned char *out, size_t outsz,
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
codec_b64url_decode(const char *in, unsigned char *out, size_t outsz,
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
	return codec_b64_decode(tmp, out, outsz, outlen);
}

int
codec_hex_decode(const char *in, size_t inlen, unsigned char *out, size_t outlen)
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
