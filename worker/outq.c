/* outq.c - each session's outgoing queue in the worker: the bytes the router
 * holds for it, and, while it is behind, the frames it is owed (deltas as
 * marks, sent coalesced when it catches up); deltas that come within the
 * coalescing window sent together; slow sessions closed. */
#include "outq.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "monotime.h"
#include "relay.h"

struct outq_acct {
	atomic_size_t bytes;
	atomic_size_t written;        /* all bytes the router has written: progress */
	atomic_uint refs;
	atomic_size_t *total;         /* the set's total, outlives every acct
	                               * (outq_free runs after the router's end) */
};

void
outq_acct_charge(struct outq_acct *a, size_t n)
{
	atomic_fetch_add(&a->bytes, n);
	atomic_fetch_add(a->total, n);
	atomic_fetch_add(&a->refs, 1);
}

static void
acct_unref(struct outq_acct *a)
{
	if (a != NULL && atomic_fetch_sub(&a->refs, 1) == 1)
		free(a);
}

void
outq_acct_release(struct outq_acct *a, size_t n)
{
	atomic_fetch_sub(&a->bytes, n);
	atomic_fetch_add(&a->written, n);
	atomic_fetch_sub(a->total, n);
	acct_unref(a);
}

/* A frame held for a session that is behind, or a mark (kind NULL): the
 * text of reply from offset was missed. */
struct held {
	struct held *next;
	const char *kind;             /* RELAY_LINE, RELAY_CLOSE or NULL */
	unsigned long reply;
	size_t offset, len;
	char body[];
};

enum { Q_OPEN, Q_BEHIND, Q_CLOSING };

struct qpeer {
	struct qpeer *next;           /* in its bucket */
	struct peer peer;
	struct outq_acct *acct;
	int state;
	int announce;                 /* closing: ops.slow not called yet */
	const char *why;              /* closing: "slow" or "memory" */
	int cut;                      /* its connection was shut (ops.cut) */
	long behind_ms;               /* how long it was behind when closed */
	struct timespec since;        /* behind or closing, with no progress,
	                               * since */
	size_t last_written;          /* acct->written at the last tick */
	struct held *head, **tail;
	size_t held_bytes;
	long long delta_us;           /* when its last delta went to the router */
	unsigned long delta_reply;    /* and whose text it was (a serial) */
	int pending;                  /* open, with marks waiting for their
	                               * window (in the set's pending list) */
	long long due_us;             /* pending: when they go */
	struct qpeer *pnext, *pprev;  /* in the pending list, oldest first */
};

#define OUTQ_BUCKETS 256

struct outq {
	struct outq_limits lim;
	char *slow_line;
	struct outq_ops ops;
	atomic_size_t total;
	size_t held_total;            /* every session's held_bytes */
	size_t nbehind;               /* sessions not open */
	struct qpeer *cutting;        /* cut; the router has not dropped it yet */
	long long window_us;          /* coalesce_ms; 0: off */
	struct qpeer *phead, *ptail;  /* the pending sessions, by due time
	                               * (pending_add keeps the order) */
	struct qpeer *bucket[OUTQ_BUCKETS];
};

static long long
now_us(const struct outq *q)
{
	struct timespec t;

	if (q->ops.now_us != NULL)
		return q->ops.now_us(q->ops.arg);
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* e's marks due at due: in the list by due time, after the entries due no
 * later, found from the tail. The walk passes at most the sessions
 * pending, all due within a window of now: about half of them on average
 * (at 100 streams some 50 steps per mark, well under a millisecond a
 * second; a wheel of 1 ms slots would make it constant for thousands). */
static void
pending_add(struct outq *q, struct qpeer *e, long long due)
{
	struct qpeer *after = q->ptail;

	if (e->pending)
		return;
	e->pending = 1;
	e->due_us = due;
	while (after != NULL && after->due_us > due)
		after = after->pprev;
	e->pprev = after;
	e->pnext = after != NULL ? after->pnext : q->phead;
	if (e->pnext != NULL)
		e->pnext->pprev = e;
	else
		q->ptail = e;
	if (after != NULL)
		after->pnext = e;
	else
		q->phead = e;
}

/* e's marks due now, at the end of this turn of the loop: first in the
 * list (outq_due sends every entry due by now in this turn, so one
 * before it due earlier still goes in the same turn). */
static void
pending_now(struct outq *q, struct qpeer *e, long long now)
{
	if (e->pending)
		return;
	e->pending = 1;
	e->due_us = now;
	e->pprev = NULL;
	e->pnext = q->phead;
	if (q->phead != NULL)
		q->phead->pprev = e;
	else
		q->ptail = e;
	q->phead = e;
}

static void
pending_del(struct outq *q, struct qpeer *e)
{
	if (!e->pending)
		return;
	e->pending = 0;
	if (e->pprev != NULL)
		e->pprev->pnext = e->pnext;
	else
		q->phead = e->pnext;
	if (e->pnext != NULL)
		e->pnext->pprev = e->pprev;
	else
		q->ptail = e->pprev;
	e->pnext = e->pprev = NULL;
}

struct outq *
outq_new(const struct outq_limits *lim, struct outq_ops ops)
{
	struct outq *q = calloc(1, sizeof(*q));

	if (q == NULL)
		return NULL;
	q->lim = *lim;
	q->ops = ops;
	q->window_us = lim->coalesce_ms > 0 ? lim->coalesce_ms * 1000LL : 0;
	atomic_init(&q->total, 0);
	q->slow_line = strdup(lim->slow_line != NULL ? lim->slow_line : "");
	if (q->slow_line == NULL) {
		free(q);
		return NULL;
	}
	q->lim.slow_line = q->slow_line;
	return q;
}

static unsigned
bucket_of(const struct peer *p)
{
	uint32_t h = 2166136261u;     /* FNV-1a */

	for (size_t i = 0; i < p->idlen; i++)
		h = (h ^ p->id[i]) * 16777619u;
	return h % OUTQ_BUCKETS;
}

static struct qpeer *
find(const struct outq *q, const struct peer *p)
{
	for (struct qpeer *e = q->bucket[bucket_of(p)]; e != NULL; e = e->next)
		if (peer_equal(&e->peer, p))
			return e;
	return NULL;
}

static void
held_drop(struct outq *q, struct qpeer *e)
{
	while (e->head != NULL) {
		struct held *h = e->head;
		e->head = h->next;
		free(h);
	}
	e->tail = &e->head;
	q->held_total -= e->held_bytes;
	e->held_bytes = 0;
}

/* Moves e to state, keeping the count of sessions not open; one not open
 * waits for no window (what it is owed goes when it catches up). */
static void
set_state(struct outq *q, struct qpeer *e, int state)
{
	if ((e->state == Q_OPEN) != (state == Q_OPEN))
		q->nbehind += state == Q_OPEN ? (size_t)-1 : 1;
	e->state = state;
	if (state != Q_OPEN)
		pending_del(q, e);
}

static void
qpeer_free(struct outq *q, struct qpeer *e)
{
	pending_del(q, e);
	held_drop(q, e);
	set_state(q, e, Q_OPEN);
	if (q->cutting == e)
		q->cutting = NULL;
	acct_unref(e->acct);
	free(e);
}

void
outq_free(struct outq *q)
{
	if (q == NULL)
		return;
	for (int i = 0; i < OUTQ_BUCKETS; i++) {
		while (q->bucket[i] != NULL) {
			struct qpeer *e = q->bucket[i];
			q->bucket[i] = e->next;
			qpeer_free(q, e);
		}
	}
	free(q->slow_line);
	free(q);
}

/* Finds p's entry, made when it has none. Returns NULL when out of
 * memory. */
static struct qpeer *
entry(struct outq *q, const struct peer *p)
{
	struct qpeer *e = find(q, p);
	unsigned b = bucket_of(p);

	if (e != NULL)
		return e;
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return NULL;
	e->acct = calloc(1, sizeof(*e->acct));
	if (e->acct == NULL) {
		free(e);
		return NULL;
	}
	atomic_init(&e->acct->bytes, 0);
	atomic_init(&e->acct->written, 0);
	atomic_init(&e->acct->refs, 1);
	e->acct->total = &q->total;
	e->peer = *p;
	e->tail = &e->head;
	e->next = q->bucket[b];
	q->bucket[b] = e;
	return e;
}

void
outq_forget(struct outq *q, const struct peer *p)
{
	for (struct qpeer **pp = &q->bucket[bucket_of(p)], *e; (e = *pp) !=
	    NULL; pp = &e->next) {
		if (peer_equal(&e->peer, p)) {
			*pp = e->next;
			qpeer_free(q, e);
			return;
		}
	}
}

static size_t
queued(const struct qpeer *e)
{
	return atomic_load(&e->acct->bytes);
}

size_t
outq_live(const struct outq *q)
{
	return outq_total(q) + q->held_total;
}

/* Hands one frame to the router unless it would take p's queue past its bound
 * or the worker past its budget; a session with an empty queue may always
 * send one frame. */
static enum outq_sent
try_send(struct outq *q, struct qpeer *e, const char *kind, const char *body)
{
	size_t n = strlen(body) + q->lim.overhead, have = queued(e);

	if (have > 0 && (have + n > q->lim.queue ||
	    outq_live(q) + n > q->lim.budget))
		return OUTQ_FULL;
	return q->ops.send(q->ops.arg, &e->peer, kind, body, e->acct);
}

/* Appends a frame (kind not NULL) or a mark. Returns 0, or -1 when out of
 * memory. */
static int
hold(struct outq *q, struct qpeer *e, const char *kind, const char *body,
    unsigned long reply, size_t offset)
{
	size_t n = body != NULL ? strlen(body) : 0;
	struct held *h = malloc(sizeof(*h) + n + 1);

	if (h == NULL) {
		log_err("out of memory holding a frame for a slow session");
		return -1;
	}
	h->next = NULL;
	h->kind = kind;
	h->reply = reply;
	h->offset = offset;
	h->len = n;
	memcpy(h->body, body != NULL ? body : "", n + 1);
	*e->tail = h;
	e->tail = &h->next;
	e->held_bytes += sizeof(*h) + n;
	q->held_total += sizeof(*h) + n;
	return 0;
}

static void
pop(struct outq *q, struct qpeer *e)
{
	struct held *h = e->head;

	e->head = h->next;
	if (e->head == NULL)
		e->tail = &e->head;
	e->held_bytes -= sizeof(*h) + h->len;
	q->held_total -= sizeof(*h) + h->len;
	free(h);
}

/* e's queue is full: behind from now. */
static void
go_behind(struct outq *q, struct qpeer *e)
{
	set_state(q, e, Q_BEHIND);
	monotime_now(&e->since);
	e->last_written = atomic_load(&e->acct->written);
}

/* Sends what e is owed, in order: a session behind once the router has
 * written half its queue, an open one's marks (coalesced deltas) at once.
 * Sets *covered when a mark of reply was sent. Returns OUTQ_SENT when all
 * went (e is open again unless closing), OUTQ_FULL (an open session is
 * behind then), or OUTQ_GONE. */
static enum outq_sent
flush(struct outq *q, struct qpeer *e, unsigned long reply, int *covered)
{
	pending_del(q, e);
	if (e->head != NULL && e->state != Q_OPEN &&
	    queued(e) > q->lim.queue / 2)
		return OUTQ_FULL;
	while (e->head != NULL) {
		struct held *h = e->head;
		enum outq_sent r;
		if (h->kind == NULL) {
			char *line = q->ops.missed(q->ops.arg, h->reply, h->offset);
			if (line == NULL) {
				pop(q, e);   /* over: its final frame follows */
				continue;
			}
			r = try_send(q, e, RELAY_LINE, line);
			free(line);
			if (r == OUTQ_SENT && h->reply == reply)
				*covered = 1;
			if (r == OUTQ_SENT) {
				e->delta_us = now_us(q);
				e->delta_reply = h->reply;
			}
		} else {
			r = try_send(q, e, h->kind, h->body);
		}
		if (r == OUTQ_FULL && e->state == Q_OPEN)
			go_behind(q, e);
		if (r != OUTQ_SENT)
			return r;
		pop(q, e);
	}
	if (e->state == Q_BEHIND)
		set_state(q, e, Q_OPEN);
	return OUTQ_SENT;
}

/* e is closed as too slow: what it is owed is dropped, the error frame
 * and the close wait for room. ops.slow is called from outq_tick. */
static void
close_slow(struct outq *q, struct qpeer *e)
{
	pending_del(q, e);
	e->behind_ms = monotime_ms_since(&e->since);
	held_drop(q, e);
	set_state(q, e, Q_CLOSING);
	e->announce = 1;
	e->why = "slow";
	monotime_now(&e->since);
	e->last_written = atomic_load(&e->acct->written);
	if (q->lim.slow_line[0] != '\0')
		hold(q, e, RELAY_LINE, q->lim.slow_line, 0, 0);
	hold(q, e, RELAY_CLOSE, "slow", 0, 0);
}

/* Shuts e's connection for the budget: the router drops what it holds for
 * it. One already closed as slow was announced as such. */
static void
cut(struct outq *q, struct qpeer *e)
{
	pending_del(q, e);
	if (e->state != Q_CLOSING) {
		e->behind_ms = monotime_ms_since(&e->since);
		set_state(q, e, Q_CLOSING);
		e->announce = 1;
		e->why = "memory";
	}
	held_drop(q, e);
	e->cut = 1;
	if (q->ops.cut(q->ops.arg, &e->peer) == 0 && queued(e) > 0)
		q->cutting = e;
}

/* Over the budget, the session behind with the most bytes is cut, unless
 * one cut is still being dropped by the router. */
static void
over_budget(struct outq *q)
{
	struct qpeer *big = NULL;
	size_t most = 0;

	if (q->nbehind == 0 || outq_live(q) <= q->lim.budget)
		return;
	if (q->cutting != NULL) {
		if (queued(q->cutting) > 0)
			return;
		q->cutting = NULL;
	}
	for (int i = 0; i < OUTQ_BUCKETS; i++) {
		for (struct qpeer *e = q->bucket[i]; e != NULL; e = e->next) {
			size_t n = queued(e) + e->held_bytes;
			if (e->state != Q_OPEN && !e->cut && n > most) {
				big = e;
				most = n;
			}
		}
	}
	if (big != NULL)
		cut(q, big);
}

static int
has_mark(const struct qpeer *e, unsigned long reply)
{
	for (const struct held *h = e->head; h != NULL; h = h->next)
		if (h->kind == NULL && h->reply == reply)
			return 1;
	return 0;
}

/* The mark e's newest delta would join: the last thing e holds, if it is
 * a mark of reply (text after another reply's mark would change the
 * order). */
static const struct held *
joins(const struct qpeer *e, unsigned long reply)
{
	const struct held *h = e->head;

	if (h == NULL)
		return NULL;
	while (h->next != NULL)
		h = h->next;
	return h->kind == NULL && h->reply == reply ? h : NULL;
}

/* An open session's delta, coalescing on: joins its mark (returns 1, or
 * sends the mark when its text reached coalesce_bytes), or leaves a new
 * mark when a delta went to e within the window (returns 1). Returns 0
 * when the delta is to go now (or e fell behind: *covered says whether a
 * mark sent had its text), -1 when e is gone. */
static int
coalesce(struct outq *q, struct qpeer *e, const struct peer_delta *d,
    int *covered)
{
	long long now;
	const struct held *m;

	if (e->pending) {
		m = joins(e, d->reply);
		if (m != NULL && d->offset + d->len - m->offset <
		    q->lim.coalesce_bytes)
			return 1;
		/* The mark is full, or this is other text: what waits goes
		 * first, in order. */
		if (flush(q, e, d->reply, covered) == OUTQ_GONE)
			return -1;
		if (e->state != Q_OPEN)
			return 0;   /* behind: the caller marks it */
		if (*covered)
			return 1;   /* its text went with the mark */
	}
	now = now_us(q);
	if (d->len >= q->lim.coalesce_bytes)
		return 0;
	if (hold(q, e, NULL, NULL, d->reply, d->offset) != 0)
		return 0;   /* out of memory: sent as it is */
	if (now - e->delta_us >= q->window_us || e->delta_reply != d->reply) {
		/* The first after a pause, or of other text (a reply's first
		 * token, however soon after the last reply; the answer's first
		 * after the reasoning) goes at the end of this turn of the
		 * loop, with the deltas the same reads brought: an upstream
		 * read holds several events when the loop was busy (at 100
		 * streams 5 ms a token, 1.8 tokens a frame when the first
		 * went alone, bench relay_cost). */
		pending_now(q, e, now);
		return 1;
	}
	/* Due when the window since its last delta ends: each session on its
	 * own phase (the loop's 1 ms rounding batches those due together). */
	pending_add(q, e, e->delta_us + q->window_us);
	return 1;
}

int
outq_send(struct outq *q, const struct peer *p, const char *kind,
    const char *body, const struct peer_delta *delta)
{
	struct qpeer *e = entry(q, p);
	enum outq_sent r = OUTQ_FULL;
	int covered = 0;

	if (e == NULL)   /* out of memory: uncounted, as before */
		return q->ops.send(q->ops.arg, p, kind, body, NULL) ==
		    OUTQ_GONE ? -1 : 0;
	if (e->state == Q_CLOSING)
		return 0;
	if (e->state == Q_OPEN && delta != NULL && q->window_us > 0) {
		int c = coalesce(q, e, delta, &covered);
		if (c < 0) {
			outq_forget(q, p);
			return -1;
		}
		if (c > 0)
			return 0;
	}
	if ((e->state == Q_BEHIND || e->pending) && !covered)
		r = flush(q, e, delta != NULL ? delta->reply : 0, &covered);
	if (e->state == Q_OPEN) {
		if (covered)
			return 0;   /* its text went in the coalesced delta */
		r = try_send(q, e, kind, body);
		if (r == OUTQ_FULL)
			go_behind(q, e);
		else if (r == OUTQ_SENT && delta != NULL) {
			e->delta_us = now_us(q);
			e->delta_reply = delta->reply;
		}
	}
	if (r == OUTQ_GONE) {
		outq_forget(q, p);
		return -1;
	}
	if (r == OUTQ_SENT)
		return 0;
	/* Behind: a delta leaves a mark, other frames wait. */
	if (delta != NULL) {
		if (!covered && !has_mark(e, delta->reply) &&
		    hold(q, e, NULL, NULL, delta->reply, delta->offset) != 0)
			close_slow(q, e);
	} else if (e->held_bytes + strlen(body) > q->lim.held_max ||
	    hold(q, e, kind, body, 0, 0) != 0) {
		close_slow(q, e);
	}
	over_budget(q);
	return 0;
}

void
outq_tick(struct outq *q)
{
	for (int i = 0; i < OUTQ_BUCKETS; i++) {
		for (struct qpeer *e = q->bucket[i], *next; e != NULL; e = next) {
			int covered = 0;
			next = e->next;
			if (e->state == Q_OPEN)
				continue;
			/* A session that reads, however slowly (the router wrote
			 * some of its bytes since the last tick) is not
			 * stuck: its clock starts again. One catching up
			 * through websocketd's and lighttpd's backlog can
			 * take longer than the timeout. */
			size_t w = atomic_load(&e->acct->written);
			if (w != e->last_written)
				monotime_now(&e->since);
			e->last_written = w;
			int late = monotime_ms_since(&e->since) > q->lim.timeout_ms;
			if (e->state == Q_BEHIND && late)
				close_slow(q, e);
			if (e->announce) {
				struct peer p = e->peer;
				e->announce = 0;
				/* May forget nothing of q: only the caller's
				 * lists change. */
				q->ops.slow(q->ops.arg, &p, e->behind_ms, e->why);
			}
			enum outq_sent r = flush(q, e, 0, &covered);
			/* Gone; or closed, with the close written out. */
			if (r == OUTQ_GONE || (e->state == Q_CLOSING &&
			    r == OUTQ_SENT && queued(e) == 0) ||
			    (e->cut && queued(e) == 0))
				outq_forget(q, &e->peer);
		}
	}
	over_budget(q);
}

long
outq_due(struct outq *q)
{
	long long now = now_us(q);

	while (q->phead != NULL && q->phead->due_us <= now) {
		struct qpeer *e = q->phead;
		int covered = 0;
		if (flush(q, e, 0, &covered) == OUTQ_GONE)
			outq_forget(q, &e->peer);
	}
	if (q->phead == NULL)
		return -1;
	return (long)((q->phead->due_us - now + 999) / 1000);
}

void
outq_flush_reply(struct outq *q, unsigned long reply)
{
	struct qpeer *e = q->phead, *next;

	for (; e != NULL; e = next) {
		int covered = 0;
		next = e->pnext;
		if (has_mark(e, reply) && flush(q, e, 0, &covered) == OUTQ_GONE)
			outq_forget(q, &e->peer);
	}
}

int
outq_closing(const struct outq *q, const struct peer *p)
{
	const struct qpeer *e = find(q, p);

	return e != NULL && e->state == Q_CLOSING;
}

int
outq_behind(const struct outq *q, const struct peer *p)
{
	const struct qpeer *e = find(q, p);

	return e != NULL && e->state != Q_OPEN;
}

size_t
outq_total(const struct outq *q)
{
	return atomic_load(&((struct outq *)q)->total);
}
