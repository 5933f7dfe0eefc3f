/* interest.h - which conversations the hosts follow across the cluster
 * (worker/cluster.h): one bounded table keyed by (user, conversation) with,
 * for each, when another host last said one of its sessions watches it
 * (remote interest: this host forwards its reply's frames while that is
 * fresh), whether a session of this host watches it without a local reply
 * (local interest: this host asks the others for the reply), and the msgid
 * of the remote reply last heard of there.
 *
 * Pure: no clock (times are passed in, milliseconds of any monotonic
 * clock), no I/O, no allocation after interest_new. The per-frame question
 * (interest_fresh) is one hash lookup, and none at all while no other host
 * follows anything. */
#ifndef LC_INTEREST_H
#define LC_INTEREST_H

#include <stddef.h>

#include "id.h"
#include "request.h"
#include "username.h"

struct interest;

struct interest_entry {
	char user[LC_USER_MAX + 1];
	char conv[ID_LEN + 1];
	long long remote_ms;  /* another host's last watch (0: none) */
	int dropped;          /* forwarding stopped (queue full) until the
	                       * next watch that asks for a snapshot */
	int local;            /* a session here watches it, no local reply */
	int resnap;           /* the next watch sent asks for a snapshot */
	long long sent_ms;    /* the last watch this host sent for it */
	char msgid[REQUEST_MSGID_MAX + 1]; /* the remote reply's ("": none) */
};

/* A table for at most max entries (max >= 1). Returns NULL when out of
 * memory; free with interest_free. */
struct interest *interest_new(size_t max);

/* Frees t; NULL is allowed. */
void interest_free(struct interest *t);

/* The entry of (user, conv), or NULL. Valid until the next interest_make
 * or interest_sweep. */
struct interest_entry *interest_find(struct interest *t, const char *user,
    const char *conv);

/* The entry of (user, conv), made (all fields 0) when there is none.
 * Returns NULL when the table is full or a name is too long. */
struct interest_entry *interest_make(struct interest *t, const char *user,
    const char *conv);

/* Another host watches (user, conv) now: made or refreshed. Returns the
 * entry, with *was_fresh set to whether its remote interest was fresh
 * (younger than ttl_ms) before, or NULL when the table is full. */
struct interest_entry *interest_remote(struct interest *t, const char *user,
    const char *conv, long long now_ms, long long ttl_ms, int *was_fresh);

/* The entry of (user, conv) if another host's interest in it is fresh
 * (younger than ttl_ms) and its forwarding not dropped, else NULL. */
struct interest_entry *interest_fresh(struct interest *t, const char *user,
    const char *conv, long long now_ms, long long ttl_ms);

/* Forgets the remote interest older than ttl_ms, then every entry with
 * neither remote nor local interest. */
void interest_sweep(struct interest *t, long long now_ms, long long ttl_ms);

/* Calls fn(arg, e) for every entry (fn must not make or sweep). */
void interest_each(struct interest *t,
    void (*fn)(void *arg, struct interest_entry *e), void *arg);

/* The number of entries, and of those with remote interest (fresh or
 * not yet swept). */
size_t interest_count(const struct interest *t);
size_t interest_remote_count(const struct interest *t);

#endif
