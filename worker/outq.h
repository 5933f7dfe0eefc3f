/* outq.h - each session's outgoing queue in the worker: the bytes the router
 * still holds for it, and, while it is behind, what it is owed.
 *
 * A session whose queue holds session_send_queue bytes or more (or whose
 * router queue is full) is behind: no more deltas are queued for it (a mark
 * remembers from where each reply's text was missed), and the other frames
 * (starts, finals, errors, pongs, snapshots, closes) are held here, at most
 * held_max bytes. When the router has written half of its queue it catches up:
 * the held frames go out in order, each mark as one delta with all the text
 * it missed (built by ops.missed), and the stream goes on. A session behind
 * with no progress (the router wrote none of its bytes) for longer than
 * slow_client_timeout, or owed more than held_max, is
 * closed: what is held is dropped and it is sent an error frame (slow_line)
 * and a close ("slow") as soon as they fit.
 *
 * A frame is counted before the router takes it: one that would take a
 * session's queue past session_send_queue waits, unless the queue is empty
 * (a frame larger than the bound goes alone).
 *
 * The worker's budget (worker_send_budget) bounds every session together:
 * what the router holds for all of them plus what is held here. Over it, a
 * session with anything queued may queue no more (it is behind; one with
 * an empty queue may always send one frame, so readers are slowed, never
 * stopped), and the session behind with the most bytes is cut off at once
 * (ops.cut: its connection is shut, the router drops what it held; the log
 * says why, ops.slow with reason "memory"), one at a time: the next only
 * after the router dropped the last one's bytes. Its lightchat-ws sees the
 * connection end as after a worker restart (its replies in flight end as
 * worker_unavailable; they are stored whole).
 *
 * Memory: a session costs at most max(session_send_queue, one frame) in
 * the router's queue plus held_max here; all of them together at most the
 * budget plus one frame and the bytes of the one being cut (each at most
 * RELAY_LINE_MAX, ~2 MB: the final of a 1 MiB reply, JSON-escaped).
 * Measured figures are in docs/ARCHITECTURE.md ("Back-pressure") and bench
 * rows 8 and 8b.
 *
 * Coalescing (stream_coalesce_ms, the window; 0: off): a delta for a
 * session open (not behind) goes at the next outq_due (the end of this
 * turn of the worker's loop, with what the same reads brought) when no
 * delta went to it for a window, so a reply's first token and every token
 * after a pause wait for no clock; one that comes sooner leaves a mark
 * instead, and the mark goes
 * as one delta with all the text since (ops.missed, as when catching up)
 * when the window since the session's last delta ends (outq_due: each
 * session on its own phase, the loop's 1 ms rounding batching those due
 * together), when its
 * text reaches stream_coalesce_bytes, before any other frame for that
 * session (a reply's final frame, an error, a snapshot: frames keep their
 * order), before a delta of another reply or of the reasoning (so the text
 * of each keeps its order too), and when the reply ends (outq_flush_reply).
 * No token waits longer than the window (plus the loop's 1 ms rounding),
 * and the deltas a session gets still add up to the reply's text exactly.
 * Every hop after the worker (the router's write, lightchat-ws, its pipe,
 * websocketd, lighttpd, the browser) pays per frame, not per token:
 * measured in bench (relay_cost, bench/RESULTS.md).
 *
 * No sockets here (tests/unit/test-outq.c runs it): frames leave through
 * ops.send, which session.c makes. Single-threaded (the accounts' atomics
 * date from
 * libzmq's I/O thread releasing them; they cost nothing). */
#ifndef LC_OUTQ_H
#define LC_OUTQ_H

#include <stddef.h>

#include "peer.h"

/* The bytes the router holds for one session: charged when a frame is handed
 * to it, released when the router has written (or dropped) it. Reference
 * counted: it lives while its session is known or a frame of it is queued. */
struct outq_acct;

/* Charges n bytes (and a reference) to a: as a frame is queued in the
 * router, before it can be written. */
void outq_acct_charge(struct outq_acct *a, size_t n);

/* Releases what outq_acct_charge(a, n) charged (any thread); may free
 * a. */
void outq_acct_release(struct outq_acct *a, size_t n);

enum outq_sent {
	OUTQ_SENT = 0,   /* queued in the router */
	OUTQ_FULL = 1,   /* not queued: the session's pipe is full */
	OUTQ_GONE = -1,  /* not queued: the session is gone */
};

struct outq_ops {
	/* Queues kind ("line" or "close") and body for p in the router,
	 * charging acct (NULL: out of memory earlier; send uncounted). */
	enum outq_sent (*send)(void *arg, const struct peer *p,
	    const char *kind, const char *body, struct outq_acct *acct);
	/* The delta frame with the text of reply (a peer_delta's serial)
	 * from offset to now, malloc'd (the caller frees it); NULL when the
	 * reply is over (its final frame carries the whole text), nothing
	 * is missed, or out of memory. */
	char *(*missed)(void *arg, unsigned long reply, size_t offset);
	/* p is being closed (behind for behind_ms) for why: "slow" (no
	 * progress for the timeout, or owed more than held_max) or "memory"
	 * (the worker's budget); called from outq_tick only, so it may change
	 * the callers' lists. */
	void (*slow)(void *arg, const struct peer *p, long behind_ms,
	    const char *why);
	/* Shuts p's connection now, so that the router drops what it holds for it
	 * (and releases its acct). Returns 0, or -1 if it cannot (unknown or
	 * already gone). It must not call back into outq. */
	int (*cut)(void *arg, const struct peer *p);
	void *arg;
	/* The clock for coalescing, in microseconds (tests set their own);
	 * NULL: CLOCK_MONOTONIC. */
	long long (*now_us)(void *arg);
};

struct outq_limits {
	size_t queue;        /* session_send_queue: behind at this many bytes */
	size_t held_max;     /* frames held for a session behind, bytes */
	long timeout_ms;     /* slow_client_timeout */
	size_t budget;       /* worker_send_budget: every session together */
	size_t overhead;     /* what ops.send charges a frame beyond its body */
	const char *slow_line;  /* the error frame for a slow session (copied) */
	long coalesce_ms;    /* stream_coalesce_ms: 0 sends deltas at once */
	size_t coalesce_bytes;  /* stream_coalesce_bytes: a mark's text that
	                         * goes at once */
};

struct outq;

/* Creates an empty set of queues. Returns NULL when out of memory. */
struct outq *outq_new(const struct outq_limits *lim, struct outq_ops ops);

/* Frees q and what it holds; NULL is allowed. Frames still in the router keep
 * their acct alive until released. */
void outq_free(struct outq *q);

/* Sends kind and body to p, or holds them while p is behind; a delta
 * (delta not NULL) is dropped instead while p is behind, and its text
 * reaches p when it catches up. Returns 0, or -1 if p is gone (forgotten
 * then). */
int outq_send(struct outq *q, const struct peer *p, const char *kind,
    const char *body, const struct peer_delta *delta);

/* Sends the coalesced deltas whose window is over. Returns the
 * milliseconds (rounded up) until the next one is due, or -1 when none
 * waits. Called from the worker's loop at each turn. */
long outq_due(struct outq *q);

/* Sends now every coalesced delta of reply (a peer_delta's serial) still
 * waiting: before its text is rearranged at its end (reply.c's finish). */
void outq_flush_reply(struct outq *q, unsigned long reply);

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

/* The bytes the router holds for every session together. */
size_t outq_total(const struct outq *q);

/* What counts against the budget: outq_total plus the frames held here. */
size_t outq_live(const struct outq *q);

#endif
