/* device.c - device cookies: issue and verify (HMAC-SHA256, libcrypto). */
#include "device.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "username.h"

#define PURPOSE "lightchat-device|"
#define MAC_LEN 32
#define NONCE_LEN 8
/* user length byte, user, expiry (8), nonce, MAC */
#define RAW_MAX (1 + LC_USER_MAX + 8 + NONCE_LEN + MAC_LEN)

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* base64url without padding; out has room (checked by the callers). */
static size_t
b64_encode(const unsigned char *in, size_t n, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64[(v >> 18) & 63];
		out[o++] = b64[(v >> 12) & 63];
		if (i + 1 < n)
			out[o++] = b64[(v >> 6) & 63];
		if (i + 2 < n)
			out[o++] = b64[v & 63];
	}
	out[o] = '\0';
	return o;
}

/* Decodes base64url into out (cap bytes). Returns the length or -1. */
static long
b64_decode(const char *in, unsigned char *out, size_t cap)
{
	size_t n = strlen(in), o = 0;
	uint32_t v = 0;
	int bits = 0;

	if (n % 4 == 1)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *p = memchr(b64, in[i], 64);
		if (p == NULL || in[i] == '\0')
			return -1;
		v = (v << 6) | (uint32_t)(p - b64);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= cap)
				return -1;
			out[o++] = (unsigned char)(v >> bits);
		}
	}
	/* Leftover bits must be zero: one encoding per value. */
	if (bits > 0 && (v & ((1u << bits) - 1)) != 0)
		return -1;
	return (long)o;
}

static int
mac(const struct lc_token_key *key, const unsigned char *msg, size_t n,
    unsigned char out[MAC_LEN])
{
	unsigned char buf[sizeof(PURPOSE) - 1 + RAW_MAX];
	unsigned int len = 0;

	memcpy(buf, PURPOSE, sizeof(PURPOSE) - 1);
	memcpy(buf + sizeof(PURPOSE) - 1, msg, n);
	if (HMAC(EVP_sha256(), key->bytes, (int)key->len, buf,
	    sizeof(PURPOSE) - 1 + n, out, &len) == NULL || len != MAC_LEN)
		return -1;
	return 0;
}

int
device_issue(const struct lc_token_key *key, const char *user,
    long lifetime, time_t now, char out[LC_DEVICE_MAX])
{
	unsigned char raw[RAW_MAX];
	size_t ulen = strlen(user), n = 0;
	uint64_t exp = (uint64_t)now + (uint64_t)lifetime;

	out[0] = '\0';
	if (!username_valid(user) || ulen > LC_USER_MAX || key->len == 0)
		return -1;
	raw[n++] = (unsigned char)ulen;
	memcpy(raw + n, user, ulen);
	n += ulen;
	for (int i = 7; i >= 0; i--)
		raw[n++] = (unsigned char)(exp >> (i * 8));
	if (getrandom(raw + n, NONCE_LEN, 0) != NONCE_LEN)
		return -1;
	n += NONCE_LEN;
	if (mac(key, raw, n, raw + n) != 0)
		return -1;
	n += MAC_LEN;
	b64_encode(raw, n, out);    /* 4/3 of RAW_MAX < LC_DEVICE_MAX */
	return 0;
}

int
device_verify(const struct lc_token_key *key, const char *value,
    const char *user, time_t now, char id[LC_DEVICE_ID_MAX])
{
	unsigned char raw[RAW_MAX], want[MAC_LEN];
	long n;
	size_t ulen;
	uint64_t exp = 0;

	if (id != NULL)
		id[0] = '\0';
	if (value == NULL || user == NULL || key->len == 0 ||
	    strlen(value) >= LC_DEVICE_MAX)
		return 0;
	n = b64_decode(value, raw, sizeof(raw));
	if (n < 1)
		return 0;
	ulen = raw[0];
	if ((size_t)n != 1 + ulen + 8 + NONCE_LEN + MAC_LEN)
		return 0;
	size_t body = (size_t)n - MAC_LEN;
	if (mac(key, raw, body, want) != 0 ||
	    CRYPTO_memcmp(want, raw + body, MAC_LEN) != 0)
		return 0;
	if (strlen(user) != ulen || memcmp(raw + 1, user, ulen) != 0)
		return 0;
	for (int i = 0; i < 8; i++)
		exp = (exp << 8) | raw[1 + ulen + (size_t)i];
	if (exp <= (uint64_t)now)
		return 0;
	if (id != NULL) {
		const unsigned char *nonce = raw + 1 + ulen + 8;
		for (int i = 0; i < NONCE_LEN; i++)
			snprintf(id + 2 * i, 3, "%02x", nonce[i]);
	}
	return 1;
}
