/* peer.h - a WebSocket session as the worker knows it (its ZeroMQ identity),
 * and the two ways the lower modules reach sessions without knowing how:
 * a peer_sink sends a line to one session (made by session.c), a fanout
 * sends a reply's frame to everyone who follows its conversation (made by
 * watch.c). Neither takes ownership of the line it sends. */
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

/* Sends one client line to one session. */
struct peer_sink {
	/* Returns 0, or -1 if the session is gone. */
	int (*send)(void *arg, const struct peer *p, const char *line);
	void *arg;
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
};

#endif
