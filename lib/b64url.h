/* b64url.h - base64url without padding (RFC 4648 section 5), the encoding
 * of the session token's parts and of the device cookie. */
#ifndef LC_B64URL_H
#define LC_B64URL_H

#include <stddef.h>

/* Characters b64url_encode writes for n bytes (no NUL). */
#define B64URL_LEN(n) (((n) / 3) * 4 + ((n) % 3 == 0 ? 0 : (n) % 3 + 1))

/* Encodes the n bytes of in into out (cap bytes, room for
 * B64URL_LEN(n) + 1 with the NUL). Returns the length written (NUL not
 * counted), or -1 (out untouched past out[0] = '\0') when it does not fit. */
long b64url_encode(const void *in, size_t n, char *out, size_t cap);

/* Decodes the len characters of in (not NUL-terminated; in may be NULL when
 * len is 0) into out (cap bytes). Only the canonical encoding is accepted:
 * no padding, no other character, a length that is not 1 mod 4, and zero
 * leftover bits. Returns the number of bytes, or -1 (malformed, or more
 * than cap bytes). */
long b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap);

/* Returns the 6-bit value of the base64url character c, or -1 when c is
 * not one. */
int b64url_value(int c);

#endif
