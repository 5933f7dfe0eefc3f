/* users.h - the users file: htpasswd format, "name:hash" per line.
 *
 * Accepted hashes: yescrypt ($y$), bcrypt ($2a$ $2b$ $2y$) and sha512-crypt
 * ($6$). Anything else is refused: libxcrypt falls back to DES on a junk
 * setting. The file is read afresh on every check, so edits by htpasswd or
 * lightchat-admin take effect at once. */
#ifndef LC_USERS_H
#define LC_USERS_H

#include <stddef.h>

#include "username.h"

#define LC_USERS_LINE_MAX 1024
/* libxcrypt refuses passphrases of CRYPT_MAX_PASSPHRASE_SIZE (512) bytes
 * or more, NUL included. */
#define LC_PASSWORD_MAX 511
/* yescrypt costs (crypt_gensalt's count): 0 is libxcrypt's default, 5. */
#define LC_USERS_COST_DEFAULT 5
#define LC_USERS_COST_MAX 11

enum lc_users_err {
	LC_USERS_OK = 0,
	LC_USERS_DENIED = -1,    /* unknown user or wrong password */
	LC_USERS_IO = -2,        /* the file could not be read or written */
	LC_USERS_BAD_HASH = -3,  /* the stored hash is of a refused kind */
	LC_USERS_NOMEM = -4,
	LC_USERS_EXISTS = -5,
	LC_USERS_NOT_FOUND = -6,
	LC_USERS_BAD_INPUT = -7, /* invalid user name or password */
	LC_USERS_CHANGED = -8,   /* the user's hash changed meanwhile */
};

/* Checks user's password against the file at path. Unknown users are checked
 * against a dummy hash so that both failures take the same time. Returns
 * LC_USERS_OK, LC_USERS_DENIED, LC_USERS_BAD_HASH or LC_USERS_IO. */
int users_verify(const char *path, const char *user, const char *password);

/* Makes a yescrypt hash of password into out. Returns 0 or an error code. */
int users_hash(const char *password, char *out, size_t outcap);

/* The same at a yescrypt cost from 0 (the default) to LC_USERS_COST_MAX. */
int users_hash_cost(const char *password, int cost, char *out, size_t outcap);

/* Returns 1 if hash, of an accepted kind, is weaker than yescrypt at cost
 * (bcrypt, sha512-crypt, or yescrypt at a lower cost), else 0 (also for a
 * yescrypt hash with parameters no cost makes: left as it is). */
int users_hash_weaker(const char *hash, int cost);

/* After a successful check: when user's stored hash is weaker than yescrypt
 * at cost and password still matches it, replaces that line only (the file
 * keeps its other lines and comments; users_set's lock and atomic rename).
 * Returns 1 rehashed, 0 nothing to do, or LC_USERS_CHANGED (the hash changed
 * meanwhile: nothing written), LC_USERS_NOT_FOUND, LC_USERS_IO,
 * LC_USERS_NOMEM. */
int users_upgrade(const char *path, const char *user, const char *password,
    int cost);

/* Returns the nanoseconds the slower of a check against a yescrypt hash at
 * cost and the unknown-user check takes (the most of three tries), or -1. */
long long users_check_ns(int cost);

/* Returns 1 if hash starts with an accepted prefix, else 0. */
int users_hash_kind_ok(const char *hash);

/* Sets user's hash: adds the user (LC_USERS_EXISTS if must_be_new and the
 * user exists) or replaces it (LC_USERS_NOT_FOUND if must_exist and it does
 * not). The file is rewritten atomically with mode 0600. */
int users_set(const char *path, const char *user, const char *hash,
    int must_be_new, int must_exist);

/* Removes user. Returns 0, LC_USERS_NOT_FOUND or LC_USERS_IO. */
int users_delete(const char *path, const char *user);

/* Calls fn with each user name in file order. Returns the number of users or
 * LC_USERS_IO (0 users for a missing file). */
int users_each(const char *path, void (*fn)(const char *user, void *arg),
    void *arg);

/* Returns a short description of an error code. */
const char *users_strerror(int err);

#endif
