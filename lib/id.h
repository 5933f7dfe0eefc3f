/* id.h - the shape of a conversation id: 32 lowercase hex digits, made from
 * 128 random bits. Parsing a request needs only this, not the store. */
#ifndef LC_ID_H
#define LC_ID_H

#define ID_LEN 32          /* hex digits of an id, without the NUL */

/* Returns 1 if id (NULL allowed: 0) is ID_LEN lowercase hex digits,
 * else 0. */
int id_valid(const char *id);

/* Makes a new random id into id (ID_LEN + 1 bytes, NUL-terminated).
 * Returns 0, or -1 (logged) when the kernel gives no random bytes. */
int id_new(char id[ID_LEN + 1]);

#endif
