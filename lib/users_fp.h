/* users_fp.h - the fingerprint of a user's password hash in the users file
 * (lib/users.h's format): 16 hex digits that change whenever the user's
 * line changes its hash (by lightchat-admin, htpasswd or an editor), and
 * that a deleted user has none of. A token carries the fingerprint of its
 * login (lib/session_check.h); it is not secret (tokens are signed). Apart
 * from users.c so that the worker checks sessions without libxcrypt. */
#ifndef LC_USERS_FP_H
#define LC_USERS_FP_H

#include "users.h"

#define LC_USERS_FP_LEN 16

/* Gets user's fingerprint in the file at path into out (LC_USERS_FP_LEN + 1
 * bytes). Answers are cached until the file's device, inode, size or
 * modification time changes: a call costs a stat(). Returns 1 found, 0 no
 * such user or no file (out ""), or LC_USERS_IO. */
int users_fingerprint(const char *path, const char *user,
    char out[LC_USERS_FP_LEN + 1]);

#endif
