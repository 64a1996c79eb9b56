/*
 * codec: bytes to text and back (hex, base64, base64url) and SHA-256, on
 * OpenSSL libcrypto: what the signatures (sig.h), ETags, list cursors,
 * notification ids and record digests all encode with.
 *
 * Decoders take untrusted text: every length is checked against the
 * caller's buffer, and text the encoder could not have written is refused
 * (blanks, a missing or misplaced pad, the other alphabet's characters),
 * where OpenSSL's own decoder would let some of it through.  Pure: no I/O.
 */
#ifndef SHIPTRACK_CODEC_H
#define SHIPTRACK_CODEC_H

#include <stdbool.h>
#include <stddef.h>

#define CODEC_SHA256_LEN 32

/* SHA-256 of the concatenation of n parts; false if OpenSSL failed. */
struct codec_part {
	const void *data;
	size_t len;
};
bool codec_sha256(const struct codec_part *parts, size_t n,
    unsigned char out[CODEC_SHA256_LEN]);

/* len bytes as 2 * len lowercase hex digits in out (not terminated). */
void codec_hex_encode(const unsigned char *in, size_t len, char *out);

/* Decode exactly 2*outlen hex digits of either case; -1 otherwise. */
int codec_hex_decode(const char *in, size_t inlen, unsigned char *out,
    size_t outlen);

/* Standard base64 with padding, or (url) base64url without padding.
 * Returns the length written (terminated), or 0 if outsz is too small. */
size_t codec_b64_encode(const unsigned char *in, size_t len, char *out,
    size_t outsz, bool url);

/* Decode standard base64 (padding required); -1 if malformed or too long. */
int codec_b64_decode(const char *in, unsigned char *out, size_t outsz,
    size_t *outlen);

/* Decode base64url without padding (as codec_b64_encode(..., true) writes). */
int codec_b64url_decode(const char *in, unsigned char *out, size_t outsz,
    size_t *outlen);

#endif
