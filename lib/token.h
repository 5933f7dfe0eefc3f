/* token.h - session tokens: HS256 JWTs made and checked with libjwt.
 *
 * libjwt 1.10 accepts HS384/HS512 tokens made with the same key, does not
 * check exp, and crashes on huge tokens (alloca); so the length and alphabet
 * are checked before decoding, the algorithm is pinned after, and the time
 * claims are enforced here. */
#ifndef LC_TOKEN_H
#define LC_TOKEN_H

#include <stddef.h>
#include <time.h>

#include "username.h"   /* LC_USER_MAX: a token's subject is a user */

#define LC_TOKEN_KEY_MIN 32
#define LC_TOKEN_KEY_MAX 512
#define LC_TOKEN_MAX 2048        /* longest token accepted */

enum lc_token_err {
	LC_TOKEN_OK = 0,
	LC_TOKEN_MALFORMED = -1,  /* too long, bad characters, not a JWT */
	LC_TOKEN_BAD_SIGNATURE = -2,
	LC_TOKEN_BAD_ALG = -3,
	LC_TOKEN_EXPIRED = -4,
	LC_TOKEN_BAD_CLAIMS = -5, /* missing/odd sub, iat, nbf, purpose */
	LC_TOKEN_NOMEM = -6,
};

struct lc_token_key {
	unsigned char bytes[LC_TOKEN_KEY_MAX];
	size_t len;
};

/* Reads the key file: it must exist, be readable by its owner only and hold
 * at least LC_TOKEN_KEY_MIN bytes. Returns 0, or -1 with a message in err. */
int token_key_load(const char *path, struct lc_token_key *key, char *err,
    size_t errcap);

/* Creates the key file from /dev/urandom (64 bytes, mode 0600) if it does not
 * exist. Returns 1 if created, 0 if it already existed, -1 with err set. */
int token_key_create(const char *path, char *err, size_t errcap);

/* Issues a token for user valid for lifetime seconds from now. Returns a
 * malloc'd string the caller frees, or NULL when out of memory. */
char *token_issue(const struct lc_token_key *key, const char *user,
    long lifetime, time_t now);

/* Verifies token at time now. On LC_TOKEN_OK copies the user name into user
 * (LC_USER_MAX + 1 bytes) and the expiry into *exp (may be NULL). */
int token_verify(const struct lc_token_key *key, const char *token, time_t now,
    char user[LC_USER_MAX + 1], long *exp);

/* Returns a short description of a token error code, for logs. */
const char *token_strerror(int err);

#endif
