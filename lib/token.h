/* token.h - session tokens: HS256 JWTs (RFC 7519), made and checked here
 * with lib/hmac.h's HMAC-SHA256, lib/b64url.h and cJSON (strictly parsed).
 *
 * Checked in this order: the length (LC_TOKEN_MAX) and the alphabet, both
 * parts decoding to JSON objects, the algorithm pinned to HS256 (so "none"
 * and HS384/HS512 made with the same key are refused), the signature
 * (compared in constant time), then the claims. libjwt did this before:
 * in each FastCGI process it brought libcrypto's ~0.4 MB of private pages
 * (docs/ARCHITECTURE.md, "Idle"); tests/unit/test-token.c keeps it as the
 * other side of interoperability checks. */
#ifndef LC_TOKEN_H
#define LC_TOKEN_H

#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "username.h"   /* LC_USER_MAX: a token's subject is a user */

#define LC_TOKEN_KEY_MIN 32
#define LC_TOKEN_KEY_MAX 512
#define LC_TOKEN_MAX 2048        /* longest token accepted */
#define LC_SID_LEN 32            /* hex digits of a session id (id.h's shape) */
#define LC_PWV_LEN 16            /* hex digits of a password fingerprint */

enum lc_token_err {
	LC_TOKEN_OK = 0,
	LC_TOKEN_MALFORMED = -1,  /* too long, bad characters, not a JWT */
	LC_TOKEN_BAD_SIGNATURE = -2,
	LC_TOKEN_BAD_ALG = -3,
	LC_TOKEN_EXPIRED = -4,
	LC_TOKEN_BAD_CLAIMS = -5, /* missing/odd sub, iat, nbf, purpose, sid,
	                           * pwv */
	LC_TOKEN_NOMEM = -6,
	LC_TOKEN_REVOKED = -7,    /* verifies, but its session is over
	                           * (lib/session_check.h; never token_verify) */
	LC_TOKEN_UNAVAILABLE = -8, /* verifies, but whether its session lasts
	                           * cannot be told now: the database or the
	                           * users file failed (session_verify only) */
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

/* Replaces the key file with a new random key (0600, written to path.tmp
 * and renamed over path, so readers see the old key or the new one): every
 * token made with the old key fails from then on. Returns 0, or -1 with a
 * message in err. */
int token_key_rotate(const char *path, char *err, size_t errcap);

/* The state of a key file when it was last loaded, for token_key_refresh;
 * zero it before the first call. */
struct lc_token_key_stamp {
	int set;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	time_t checked;          /* when the file was last looked at */
};

/* Looks at the key file at most once a second (now: the time): when it
 * changed since the last call (lightchat-admin rotate-key), loads it into
 * key and returns 1; returns 0 when it did not (or on the first call, which
 * only records its state), -1 with a message in err when the new file
 * cannot be loaded (key is then unchanged). */
int token_key_refresh(const char *path, struct lc_token_key *key,
    struct lc_token_key_stamp *stamp, time_t now, char *err, size_t errcap);

/* Issues a token for user valid for lifetime seconds from now, naming its
 * session sid (LC_SID_LEN lowercase hex digits) and the fingerprint pwv
 * (LC_PWV_LEN hex digits) of the user's password hash when it was issued.
 * Returns a malloc'd string the caller frees, or NULL when out of memory or
 * sid or pwv is not of that shape. */
char *token_issue(const struct lc_token_key *key, const char *user,
    const char *sid, const char *pwv, long lifetime, time_t now);

/* Verifies token at time now: signature, time claims, and that sid and pwv
 * are present and of their shape (a token without them is
 * LC_TOKEN_BAD_CLAIMS). Whether its session is still valid is
 * lib/session_check.h's question. On LC_TOKEN_OK copies the user name into
 * user (LC_USER_MAX + 1 bytes), the expiry into *exp, the session id into
 * sid (LC_SID_LEN + 1 bytes) and the fingerprint into pwv (LC_PWV_LEN + 1
 * bytes); exp, sid and pwv may be NULL. */
int token_verify(const struct lc_token_key *key, const char *token, time_t now,
    char user[LC_USER_MAX + 1], long *exp, char *sid, char *pwv);

/* Returns a short description of a token error code, for logs. */
const char *token_strerror(int err);

#endif
