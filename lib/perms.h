/* perms.h - lightchat's files are its own: the state directory and the users
 * file may not be open to the group or to others. The programs check this at
 * start (as token.c checks the key) and refuse to run otherwise; with umask
 * 077 (perms_private_umask) everything they create is private too: the
 * database with its -wal and -shm files, the sockets, the key. The admin
 * tool run as root works as the state directory's owner (perms_become_owner),
 * so that root never leaves files the service cannot read. */
#ifndef LC_PERMS_H
#define LC_PERMS_H

#include <stddef.h>

#include "config.h"

/* Sets the process's umask to 077. */
void perms_private_umask(void);

/* Checks that path, when it exists, is a directory (want_dir) or a regular
 * file that neither the group nor others may read, write or enter. Returns
 * 0 (fine, or absent), or -1 with a message naming the fix in err (cap
 * bytes). */
int perms_check_private(const char *path, int want_dir, char *err,
    size_t cap);

/* perms_check_private for cfg's state directory and users file. Returns 0,
 * or -1 with err set. */
int perms_check_state(const struct lc_config *cfg, char *err, size_t cap);

/* Run as root on a state directory (path) that belongs to another user (the
 * package's lightchat), becomes that user: its uid, its group, no
 * supplementary groups, so that what the admin tool writes there stays the
 * service's and root-owned files never appear in it. Does nothing for
 * another caller, an absent directory or one root owns. Returns 0, or -1
 * with err set (cap bytes) when switching failed. */
int perms_become_owner(const char *path, char *err, size_t cap);

#endif
