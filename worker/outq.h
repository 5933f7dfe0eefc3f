/* outq.h - each session's outgoing queue in the worker: the bytes libzmq
 * still holds for it, and, while it is behind, what it is owed.
 *
 * A session whose queue holds session_send_queue bytes or more (or whose
 * libzmq pipe is full) is behind: no more deltas are queued for it (a mark
 * remembers from where each reply's text was missed), and the other frames
 * (starts, finals, errors, pongs, snapshots, closes) are held here, at most
 * held_max bytes. When libzmq has written half of its queue it catches up:
 * the held frames go out in order, each mark as one delta with all the text
 * it missed (built by ops.missed), and the stream goes on. A session behind
 * with no progress (libzmq wrote none of its bytes) for longer than
 * slow_client_timeout, or owed more than held_max, is
 * closed: what is held is dropped and it is sent an error frame (slow_line)
 * and a close ("slow") as soon as they fit.
 *
 * Memory: a session costs at most session_send_queue + one frame in
 * libzmq's pipe plus held_max here, and only for slow_client_timeout: at
 * the default limits ~0.5 MB a session while deltas stream, ~13 MB at worst
 * (the finals of 1 MiB replies, JSON-escaped). Measured with non-reading
 * clients the worker stays near 22 MB (it reached 91 MB and kept it before),
 * under the 64 MB stated in docs/ARCHITECTURE.md ("Back-pressure").
 *
 * No ZeroMQ here (tests/unit/test-outq.c runs it): frames leave through
 * ops.send, which session.c makes. Single-threaded, except that
 * outq_acct_release may be called from any thread (libzmq's I/O thread). */
#ifndef LC_OUTQ_H
#define LC_OUTQ_H

#include <stddef.h>

#include "peer.h"

/* The bytes libzmq holds for one session: charged when a frame is handed
 * to it, released when libzmq has written (or dropped) it. Reference
 * counted: it lives while its session is known or a frame of it is queued. */
struct outq_acct;

/* Charges n bytes (and a reference) to a: before a frame goes to libzmq. */
void outq_acct_charge(struct outq_acct *a, size_t n);

/* Releases what outq_acct_charge(a, n) charged, from any thread; may free
 * a. */
void outq_acct_release(struct outq_acct *a, size_t n);

enum outq_sent {
	OUTQ_SENT = 0,   /* queued in libzmq */
	OUTQ_FULL = 1,   /* not queued: the session's pipe is full */
	OUTQ_GONE = -1,  /* not queued: the session is gone */
};

struct outq_ops {
	/* Queues kind ("line" or "close") and body for p in libzmq,
	 * charging acct (NULL: out of memory earlier; send uncounted). */
	enum outq_sent (*send)(void *arg, const struct peer *p,
	    const char *kind, const char *body, struct outq_acct *acct);
	/* The delta frame with the text of reply (a peer_delta's serial)
	 * from offset to now, malloc'd (the caller frees it); NULL when the
	 * reply is over (its final frame carries the whole text), nothing
	 * is missed, or out of memory. */
	char *(*missed)(void *arg, unsigned long reply, size_t offset);
	/* p is being closed as too slow (behind for behind_ms); called from
	 * outq_tick only, so it may change the callers' lists. */
	void (*slow)(void *arg, const struct peer *p, long behind_ms);
	void *arg;
};

struct outq_limits {
	size_t queue;        /* session_send_queue: behind at this many bytes */
	size_t held_max;     /* frames held for a session behind, bytes */
	long timeout_ms;     /* slow_client_timeout */
	const char *slow_line;  /* the error frame for a slow session (copied) */
};

struct outq;

/* Creates an empty set of queues. Returns NULL when out of memory. */
struct outq *outq_new(const struct outq_limits *lim, struct outq_ops ops);

/* Frees q and what it holds; NULL is allowed. Frames still in libzmq keep
 * their acct alive until released. */
void outq_free(struct outq *q);

/* Sends kind and body to p, or holds them while p is behind; a delta
 * (delta not NULL) is dropped instead while p is behind, and its text
 * reaches p when it catches up. Returns 0, or -1 if p is gone (forgotten
 * then). */
int outq_send(struct outq *q, const struct peer *p, const char *kind,
    const char *body, const struct peer_delta *delta);

/* For the worker's tick: sessions that caught up get what they are owed;
 * those behind too long are closed (ops.slow, then the error and close). */
void outq_tick(struct outq *q);

/* p went away: forgets it and what it is owed. */
void outq_forget(struct outq *q, const struct peer *p);

/* Returns 1 if p is being closed as too slow (its messages are ignored),
 * else 0. */
int outq_closing(const struct outq *q, const struct peer *p);

/* Returns 1 if p is behind or closing, else 0. */
int outq_behind(const struct outq *q, const struct peer *p);

/* The bytes libzmq holds for every session together. */
size_t outq_total(const struct outq *q);

#endif
