/* limits.h - what one user or one address may take of the worker: open
 * WebSocket sessions per user and per address, and messages per user per
 * minute across all of that user's sessions. Pure counting over bounded
 * tables: no ZeroMQ, no clock of its own (the caller passes the time), no
 * I/O but an fstat of a session's connection (limits_gone).
 *
 * A session is counted from its first checked message (limits_open) until
 * limits_close (its "bye", or the worker closed it), limits_clear (the token
 * key changed: every session was closed), or until limits_gone finds its
 * connection closed without a "bye" (the session was killed). A restarted
 * worker counts each session again at its hello: lightchat-ws says hello
 * again as soon as its connection to the new worker is up. */
#ifndef LC_LIMITS_H
#define LC_LIMITS_H

#include <stddef.h>

#include "username.h"

#define LIMITS_KEY_MAX 256    /* a session's key: its ZeroMQ identity */
#define LIMITS_ADDR_MAX 64    /* an address, cut to fit (IPv6 is 45) */

enum limits_verdict {
	LIMITS_OK = 0,
	LIMITS_USER,      /* the user has max_connections_per_user open */
	LIMITS_ADDRESS,   /* the address has max_connections_per_address */
	LIMITS_FULL       /* no slot left for a new session: refused */
};

struct limits;

/* Makes the tables: slots sessions (and as many users) at most; per_user
 * and per_address sessions open at once, user_per_minute messages per user
 * (a bucket that refills continuously and holds a quarter of it, plus one).
 * Returns NULL when out of memory or slots is 0. Free with limits_free. */
struct limits *limits_new(long per_user, long per_address,
    long user_per_minute, size_t slots);

/* Frees l; NULL is allowed. */
void limits_free(struct limits *l);

/* The address a session's peer field names: its last comma-separated item,
 * trimmed (X-Forwarded-For: lighttpd appends the address it saw, so the
 * items before it are the client's own say), cut to LIMITS_ADDR_MAX - 1
 * bytes; "" for none. */
void limits_address(const char *peer, char out[LIMITS_ADDR_MAX]);

/* Counts session key (keylen bytes, 1..LIMITS_KEY_MAX) of user (not "")
 * from the address in peer (see limits_address) as open, at now_ms. fd is
 * the descriptor its messages arrive on (-1: unknown; see limits_gone).
 * Returns LIMITS_OK when counted (or already counted: nothing changes), or
 * why it is not counted: the session must then be refused. */
enum limits_verdict limits_open(struct limits *l, const void *key,
    size_t keylen, const char *user, const char *peer, int fd,
    long long now_ms);

/* The session key ended: it is no longer counted. Unknown keys and a NULL
 * l are allowed. */
void limits_close(struct limits *l, const void *key, size_t keylen);

/* Every session ended. NULL is allowed. */
void limits_clear(struct limits *l);

/* Takes one message from user's budget at now_ms. Returns 0, or -1 when
 * it is empty. A user with no session counted is not limited here (0). */
int limits_take(struct limits *l, const char *user, long long now_ms);

/* Finds a counted session whose connection is gone (its descriptor closed,
 * or now another file), forgets it and copies its key into key_out
 * (LIMITS_KEY_MAX bytes) and its length into *keylen. Returns 1, or 0 when
 * there is none. For the worker's tick: sessions killed without a "bye". */
int limits_gone(struct limits *l, void *key_out, size_t *keylen);

/* The descriptor session key's messages arrive on, if it is counted and
 * the descriptor is still its connection (the same file as at
 * limits_open); else -1. */
int limits_fd(const struct limits *l, const void *key, size_t keylen);

/* The sessions counted for user, and for the address in peer. */
long limits_user_count(const struct limits *l, const char *user);
long limits_address_count(const struct limits *l, const char *peer);

/* The sessions counted in all (0 for a NULL l). */
long limits_total(const struct limits *l);

/* A short name of verdict v, for logs: "user", "address", "full", "ok". */
const char *limits_strerror(enum limits_verdict v);

#endif
