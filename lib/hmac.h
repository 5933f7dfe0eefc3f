/* hmac.h - SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104), for the session
 * token's and the device cookie's MACs.
 *
 * Our own, not libcrypto's: the FastCGI programs need nothing else of
 * OpenSSL, and libcrypto's relocated data alone is ~0.4 MB private in each
 * process that maps it (two FastCGI processes idle; docs/ARCHITECTURE.md,
 * "Idle"). Checked against FIPS 180-4's and RFC 4231's vectors and against
 * libcrypto over many lengths (tests/unit/test-hmac.c). No allocation: every
 * function works on the caller's memory, and none fails. */
#ifndef LC_HMAC_H
#define LC_HMAC_H

#include <stddef.h>
#include <stdint.h>

#define LC_SHA256_LEN 32     /* bytes of a digest */
#define LC_SHA256_BLOCK 64   /* bytes of a block */

struct lc_sha256 {
	uint32_t h[8];
	uint64_t bytes;                      /* message length so far */
	unsigned char block[LC_SHA256_BLOCK];
	size_t used;                         /* bytes of block filled */
};

/* Starts a digest in ctx (caller's memory). */
void sha256_init(struct lc_sha256 *ctx);

/* Adds n bytes of p (p may be NULL when n is 0). */
void sha256_update(struct lc_sha256 *ctx, const void *p, size_t n);

/* Writes the digest of everything added to out and wipes ctx. */
void sha256_final(struct lc_sha256 *ctx, unsigned char out[LC_SHA256_LEN]);

/* HMAC-SHA256 of the n bytes of msg under the klen bytes of key (any length;
 * longer than a block is hashed first, as RFC 2104 says) into out. key and
 * msg may be NULL when their length is 0. Wipes its own copies of the key. */
void hmac_sha256(const void *key, size_t klen, const void *msg, size_t n,
    unsigned char out[LC_SHA256_LEN]);

/* Returns 1 if the n bytes of a and b are equal, else 0, in a time that
 * depends on n only (for comparing MACs). */
int hmac_equal(const void *a, const void *b, size_t n);

#endif
