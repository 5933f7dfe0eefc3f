/* device.c - device cookies: issue and verify (HMAC-SHA256, lib/hmac.h). */
#include "device.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "b64url.h"
#include "hmac.h"
#include "username.h"

#define PURPOSE "lightchat-device|"
#define MAC_LEN LC_SHA256_LEN
#define NONCE_LEN 8
/* user length byte, user, expiry (8), nonce, MAC */
#define RAW_MAX (1 + LC_USER_MAX + 8 + NONCE_LEN + MAC_LEN)

static void
mac(const struct lc_token_key *key, const unsigned char *msg, size_t n,
    unsigned char out[MAC_LEN])
{
	unsigned char buf[sizeof(PURPOSE) - 1 + RAW_MAX];

	memcpy(buf, PURPOSE, sizeof(PURPOSE) - 1);
	memcpy(buf + sizeof(PURPOSE) - 1, msg, n);
	hmac_sha256(key->bytes, key->len, buf, sizeof(PURPOSE) - 1 + n, out);
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
	mac(key, raw, n, raw + n);
	n += MAC_LEN;
	/* 4/3 of RAW_MAX < LC_DEVICE_MAX */
	return b64url_encode(raw, n, out, LC_DEVICE_MAX) < 0 ? -1 : 0;
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
	n = b64url_decode(value, strlen(value), raw, sizeof(raw));
	if (n < 1)
		return 0;
	ulen = raw[0];
	if ((size_t)n != 1 + ulen + 8 + NONCE_LEN + MAC_LEN)
		return 0;
	size_t body = (size_t)n - MAC_LEN;
	mac(key, raw, body, want);
	if (!hmac_equal(want, raw + body, MAC_LEN))
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
