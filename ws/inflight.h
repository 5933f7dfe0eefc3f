/* inflight.h - the replies this connection's client is waiting for, so that
 * a worker that dies mid-reply still gets every one of them a final frame.
 *
 * The worker tells the session, when it admits a prompt, which reply it now
 * owes the client (RELAY_INFLIGHT in lib/relay.h): the body is the final
 * frame to give the client should the worker go away first (a
 * worker_unavailable error, built by the worker in the shape both protocols
 * know). The bytes of that frame up to and including its first `,"type":"`
 * are the reply's key: the worker's frames of one reply all begin with them
 * (`{"msgid":…,"conversation_id":…,"type":"`; a `,"` never occurs inside a
 * JSON string, so the first one is the key's end), and the reply's final
 * frame is the one whose key is followed by `reply"` or `error"`. The
 * session compares bytes; it parses no JSON.
 *
 * Bounded: at most INFLIGHT_MAX replies of at most INFLIGHT_LINE_MAX bytes.
 * The worker admits at most max_inflight_per_user replies per user (4 by
 * default), so a full set means a configuration over INFLIGHT_MAX: the
 * replies past it are not tracked (inflight_add says so, and the session
 * logs it); their clients hear no final frame if the worker dies. */
#ifndef LC_INFLIGHT_H
#define LC_INFLIGHT_H

#include <stddef.h>

#define INFLIGHT_MAX 64
/* A msgid is at most 128 bytes, escaped at most 6 bytes a byte by cJSON. */
#define INFLIGHT_LINE_MAX 2048

enum inflight_rc {
	INFLIGHT_OK = 0,
	INFLIGHT_FULL = -1,  /* INFLIGHT_MAX replies tracked: not added */
	INFLIGHT_BAD = -2,   /* no key, or longer than INFLIGHT_LINE_MAX */
	INFLIGHT_NOMEM = -3,
};

struct inflight {
	char *line[INFLIGHT_MAX];    /* the fallback final frame, malloc'd */
	size_t len[INFLIGHT_MAX];    /* its length */
	size_t keylen[INFLIGHT_MAX]; /* the bytes of its key */
	int n;                       /* entries used: [0, n) */
};

/* Starts an empty set (a static or zeroed struct is one already). */
void inflight_init(struct inflight *f);

/* Tracks the reply whose fallback final frame is line (len bytes, copied);
 * a tracked reply with the same key is replaced. Returns INFLIGHT_OK,
 * INFLIGHT_FULL, INFLIGHT_BAD or INFLIGHT_NOMEM (nothing changed then). */
int inflight_add(struct inflight *f, const char *line, size_t len);

/* Looks at a line the worker sends the client: when it is the final frame
 * of a tracked reply, forgets that reply. Returns 1 then, else 0. Cheap
 * when nothing is tracked (a line per token passes here). */
int inflight_done(struct inflight *f, const char *line, size_t len);

/* Number of replies tracked. */
int inflight_count(const struct inflight *f);

/* Hands every tracked reply's fallback frame to emit, oldest first, and
 * forgets them all (the worker went away). emit returns 0, or -1 to stop
 * handing out (the client is gone; the rest are forgotten too). Returns the
 * number of frames emitted. */
int inflight_fail(struct inflight *f,
    int (*emit)(void *arg, const char *line, size_t len), void *arg);

/* Forgets everything and frees the copies. f may be NULL. */
void inflight_free(struct inflight *f);

#endif
