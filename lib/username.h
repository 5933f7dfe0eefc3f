/* username.h - what a user name may be: the one rule shared by the users
 * file, the session token's subject and lightchat-admin. */
#ifndef LC_USERNAME_H
#define LC_USERNAME_H

#define LC_USER_MAX 64           /* longest user name, without NUL */

/* Returns 1 if name is an acceptable user name: 1..LC_USER_MAX bytes of
 * letters, digits and ._@- (not starting with '-'), else 0. NULL is
 * allowed (0). */
int username_valid(const char *name);

#endif
