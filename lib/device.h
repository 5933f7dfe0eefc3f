/* device.h - the device cookie: proof that this browser logged in as a user
 * before (OWASP's answer to lockout by strangers).
 *
 * The value is opaque to clients: base64url(user | expiry | nonce | HMAC-
 * SHA256 with the token key over what precedes it and a purpose string).
 * Nothing in it is secret; it cannot be made or changed without the key. */
#ifndef LC_DEVICE_H
#define LC_DEVICE_H

#include <stddef.h>
#include <time.h>

#include "token.h"

#define LC_DEVICE_COOKIE "lightchat_device"
#define LC_DEVICE_MAX 256        /* longest value, NUL included */
#define LC_DEVICE_ID_MAX 17      /* the device's name for counting, NUL incl. */

/* Makes a device cookie for user valid lifetime seconds from now into out
 * (LC_DEVICE_MAX bytes). Returns 0, or -1 (bad user, no randomness). */
int device_issue(const struct lc_token_key *key, const char *user,
    long lifetime, time_t now, char out[LC_DEVICE_MAX]);

/* Returns 1 if value is a device cookie made with key for exactly user and
 * not expired at now, with its id (16 hex digits, the nonce) copied into id
 * (may be NULL); else 0. value may be NULL. */
int device_verify(const struct lc_token_key *key, const char *value,
    const char *user, time_t now, char id[LC_DEVICE_ID_MAX]);

#endif
