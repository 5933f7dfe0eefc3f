/* router.h - the worker's ZeroMQ ROUTER socket, without libzmq: it binds the
 * worker endpoint, accepts each session's DEALER (lightchat-ws, or any
 * libzmq DEALER), speaks ZMTP 3.0 with the NULL mechanism with it
 * (lib/zmtp_wire.c), and routes messages by identity as libzmq's ROUTER
 * with ZMQ_ROUTER_MANDATORY does: a message to an identity not connected is
 * refused (ROUTER_GONE), never dropped unseen.
 *
 * Why not libzmq: its I/O and reaper threads, its 16 kB pipe chunks per
 * peer and its dependency chain (libstdc++, sodium, PGM, NORM) cost the
 * worker 2.7 MB idle and 0.03 MB per connection (bench relay_cost), and
 * every frame crossed to the I/O thread and back (docs/ARCHITECTURE.md,
 * "Memory per connection"). Here a frame is a copy into its peer's queue,
 * written in the same thread at the end of the loop's turn, every frame
 * queued for a peer in that turn in one send(2).
 *
 * What it does as libzmq does: generated 5-byte identities (a zero byte and
 * a counter) unless the peer's READY names its own (unique, not starting
 * with a zero byte), fair reading (a message from each connection in turn),
 * a queue per peer bounded in messages (as ZMQ_SNDHWM) and bytes, a PONG
 * for a ZMTP 3.1 PING, the ipc file unlinked before bind and after close.
 * What it does not: other mechanisms, ZMTP 1.0/2.0 peers, peers that are
 * not DEALERs.
 *
 * Use: watch router_fd() for reading in the loop's epoll set; when it is
 * readable call router_service(); take messages with router_recv() while
 * router_pending(); send with router_send(); call router_flush() before
 * every wait and router_tick() about once a second. Single-threaded. */
#ifndef LC_ROUTER_H
#define LC_ROUTER_H

#include <stddef.h>

#include "zmtp_wire.h"

struct router;

struct router_limits {
	size_t max_msg;      /* the largest message a peer may send */
	size_t max_peers;    /* connections at once; more are closed */
	size_t queue_msgs;   /* messages queued for one peer (ZMQ_SNDHWM) */
	size_t queue_bytes;  /* bytes queued for one peer */
};

/* One received message. Its pointers stay valid until the next
 * router_recv, router_service, router_flush, router_tick or router_free. */
struct router_msg {
	const unsigned char *id;   /* the sender's identity */
	size_t idlen;
	struct zmtp_part parts[ZMTP_MAX_PARTS];   /* its frames */
	int n;                     /* its frames, all counted */
	int fd;                    /* its connection's socket: for fstat,
	                            * getsockopt and shutdown, never close */
};

/* Told once per sent message, when its last byte was written or it was
 * dropped with its connection (never from inside router_send). */
struct router_done {
	void (*fn)(void *arg, size_t n);
	void *arg;
	size_t n;
};

enum router_sent {
	ROUTER_SENT = 0,
	ROUTER_FULL = 1,    /* the peer's queue is full: nothing queued */
	ROUTER_GONE = -1,   /* no such peer (or out of memory): nothing queued */
};

/* Binds endpoint (ipc:// or tcp://, lib/zmtp_wire.h) and listens. Returns
 * the socket, or NULL with a reason in err (errlen bytes). Free with
 * router_free. */
struct router *router_new(const char *endpoint,
    const struct router_limits *lim, char *err, size_t errlen);

/* Returns a descriptor (an epoll set of the listening socket and every
 * connection) that is readable while there is something to accept, read
 * or write. */
int router_fd(const struct router *r);

/* Accepts, reads and writes what is ready, without waiting. A connection
 * that breaks the protocol or goes away is closed (logged), and the
 * messages queued for it are dropped (their router_done told). */
void router_service(struct router *r);

/* Returns 1 when a received message (or input not yet parsed) waits for
 * router_recv, else 0. */
int router_pending(const struct router *r);

/* Takes the next whole message, fairly from the connections. Returns 1 with
 * m filled, or 0 when there is none. */
int router_recv(struct router *r, struct router_msg *m);

/* Queues a message of n frames (1..ZMTP_MAX_PARTS) for the peer with
 * identity id; the parts are copied. done (NULL: none) is told when it is
 * written or dropped. Returns ROUTER_SENT, ROUTER_FULL or ROUTER_GONE. */
enum router_sent router_send(struct router *r, const void *id, size_t idlen,
    const struct zmtp_part *parts, int n, const struct router_done *done);

/* Writes what router_send queued since, to every peer, one send(2) each;
 * what does not fit waits for the socket to be writable. */
void router_flush(struct router *r);

/* Closes the connections whose handshake has taken over 30 s. */
void router_tick(struct router *r);

/* Returns the connections open (handshaken or not). */
size_t router_peers(const struct router *r);

/* Writes what is queued as far as the sockets take it now, closes every
 * connection (telling each queued message's router_done), the listening
 * socket and its ipc file. NULL is allowed. */
void router_free(struct router *r);

#endif
