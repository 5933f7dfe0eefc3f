/* peer.h - a WebSocket session as the worker knows it (its ZeroMQ identity),
 * and the two ways the lower modules reach sessions without knowing how:
 * a peer_sink sends a line to one session (made by session.c), a fanout
 * sends a reply's frame to everyone who follows its conversation (made by
 * watch.c). Neither takes ownership of the line it sends. A delta frame
 * goes with where its text lies in its reply (struct peer_delta), so that a
 * session that fell behind can be sent, instead of the deltas it missed, one
 * delta with all their text (worker/outq.h). */
#ifndef LC_PEER_H
#define LC_PEER_H

#include <stddef.h>
#include <string.h>

#define PEER_ID_MAX 256

struct peer {                 /* one WebSocket session, by ZeroMQ identity */
	unsigned char id[PEER_ID_MAX];
	size_t idlen;
};

static inline int
peer_equal(const struct peer *a, const struct peer *b)
{
	return a->idlen == b->idlen && memcmp(a->id, b->id, a->idlen) == 0;
}

/* A delta frame's place in its reply. */
struct peer_delta {
	unsigned long reply;   /* the reply's serial (reply_missed) */
	size_t offset;         /* the delta's first byte in the reply's text */
	size_t len;            /* its bytes */
};

/* Sends one client line to one session. */
struct peer_sink {
	/* Returns 0, or -1 if the session is gone. */
	int (*send)(void *arg, const struct peer *p, const char *line);
	void *arg;
	/* As send, for a delta frame (which a session that is behind misses
	 * and is later sent coalesced). NULL: deltas go through send. */
	int (*delta)(void *arg, const struct peer *p, const char *line,
	    const struct peer_delta *d);
};

/* Sends a reply's frames to the sessions that follow its conversation. */
struct fanout {
	/* Sends line to origin when to_origin, and to every other session of
	 * user watching conversation_id ("": nobody else). Returns 0, or -1
	 * if origin was to get it and is gone. */
	int (*send)(void *arg, const struct peer *origin, int to_origin,
	    const char *user, const char *conversation_id, const char *line);
	/* Makes p (a session of user) watch conversation_id. */
	void (*watch)(void *arg, const struct peer *p, const char *user,
	    const char *conversation_id);
	void *arg;
	/* As send, for a delta frame at d. NULL: deltas go through send. */
	int (*delta)(void *arg, const struct peer *origin, int to_origin,
	    const char *user, const char *conversation_id, const char *line,
	    const struct peer_delta *d);
	/* Sends now the deltas of reply (a peer_delta's serial) that wait to
	 * go together (worker/outq.h). NULL: none wait. */
	void (*flush)(void *arg, unsigned long reply);
};

/* The other hosts' workers, for session.c (made by worker/cluster.c when
 * several hosts share one PostgreSQL database; with one host, both NULL
 * and nothing changes). */
struct remote {
	/* p, a session of user, starts watching conversation_id and this host
	 * has no reply in it: the other hosts are asked. Returns 1 when the
	 * answer will come from there (the snapshot of the host writing a
	 * reply in it, else idle after a short wait), 0 when the caller sends
	 * its own now. */
	int (*watch)(void *arg, const struct peer *p, const char *user,
	    const char *conversation_id);
	/* A stop of user's reply msgid (NULL: none), else the one in
	 * conversation_id (NULL: none), that is not on this host: passed on
	 * to the host writing it. */
	void (*stop)(void *arg, const char *user, const char *msgid,
	    const char *conversation_id);
	void *arg;
};

#endif
