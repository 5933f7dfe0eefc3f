/* zmtp.h - a ZeroMQ DEALER peer that speaks ZMTP 3.0 (NULL security) itself,
 * without libzmq.
 *
 * Why: the WebSocket session runs once per connection, and linking libzmq
 * costs each process ~0.4 MB of private memory (libzmq's I/O and reaper
 * threads, and relocated pages of its dependency chain: libstdc++, krb5,
 * gssapi, pgm, sodium). The session needs one connecting DEALER socket and
 * nothing else. The worker's ROUTER (worker/router.c) speaks ZMTP itself
 * too; both take the wire format from lib/zmtp_wire.c, and each works with
 * libzmq's own peers (tests/unit/test-zmtp.c, test-router.c).
 *
 * What it does as libzmq's DEALER does: connects to ipc:// or tcp://,
 * reconnects every ZMTP_RECONNECT_MS while the peer is away, queues what is
 * sent meanwhile (bounded), delivers whole multipart messages, and drops a
 * message that was half written when the connection broke. What it does
 * not: CURVE/PLAIN security, ZMTP 1.0/2.0 peers, heartbeats (it announces
 * 3.0, so a 3.1 peer sends no PING), more than one peer.
 *
 * Use: zmtp_init, then in a poll loop watch zmtp_fd() for zmtp_events(),
 * with zmtp_timeout_ms() as the timeout, call zmtp_service() with the
 * revents, and zmtp_recv() until it returns 0. Single-threaded. */
#ifndef LC_ZMTP_H
#define LC_ZMTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <time.h>

#include "buf.h"
#include "zmtp_wire.h"

#define ZMTP_RECONNECT_MS 100

enum zmtp_err {
	ZMTP_OK = 0,
	ZMTP_ERR = -1,    /* bad endpoint, out of memory, a broken peer */
	ZMTP_FULL = -2,   /* the send queue has no room for this message */
};

enum zmtp_state {
	ZMTP_DOWN = 0,    /* no connection; retry at retry_at */
	ZMTP_CONNECTING,  /* tcp connect in progress */
	ZMTP_HANDSHAKE,   /* greeting and READY sent, waiting for the peer's */
	ZMTP_READY,       /* messages flow */
};

struct zmtp {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int fd;                  /* -1 while down */
	enum zmtp_state state;
	struct timespec retry_at;
	unsigned char hs[ZMTP_WIRE_HANDSHAKE_MAX]; /* our greeting + READY */
	size_t hs_len, hs_off;
	int peer_greeted;        /* the peer's 64-byte greeting was read */
	struct lc_buf out;       /* encoded messages queued for the peer */
	size_t out_off;          /* bytes of out already written */
	struct lc_buf in;        /* bytes read, not yet parsed */
	size_t in_off;           /* bytes of in already handed out */
	size_t max_msg;          /* largest message accepted from the peer */
};

/* Parses endpoint (zmtp_wire_endpoint: ipc:// or tcp:// with a numeric
 * address or localhost) and prepares a peer that accepts messages of at
 * most max_msg bytes and queues at most max_queue bytes. Does not connect
 * yet.
 * Returns ZMTP_OK, or ZMTP_ERR with a reason in err (errlen bytes). The
 * caller frees with zmtp_close. */
int zmtp_init(struct zmtp *z, const char *endpoint, size_t max_msg,
    size_t max_queue, char *err, size_t errlen);

/* Returns the socket to poll, or -1 while there is none (then poll only for
 * zmtp_timeout_ms). */
int zmtp_fd(const struct zmtp *z);

/* Returns the poll events the socket needs (POLLIN, plus POLLOUT while a
 * connect or a write is pending). */
short zmtp_events(const struct zmtp *z);

/* Returns milliseconds until zmtp_service must run again without I/O (the
 * next reconnect attempt), or -1 for no limit. */
int zmtp_timeout_ms(const struct zmtp *z);

/* Connects, reads and writes as revents (from poll, 0 on a timeout) allow.
 * A lost connection is not an error: it is retried. Returns ZMTP_OK, or
 * ZMTP_ERR when the peer breaks the protocol in a way retrying cannot mend
 * (a message over max_msg, a peer that is not a ROUTER). */
int zmtp_service(struct zmtp *z, short revents);

/* Queues one message of n frames (n >= 1), to be written as soon as the peer
 * is ready. Returns ZMTP_OK, ZMTP_FULL (nothing queued; try again after
 * zmtp_service has written some) or ZMTP_ERR (out of memory). */
int zmtp_send(struct zmtp *z, const struct zmtp_part *parts, int n);

/* Takes the next whole message received: its first ZMTP_MAX_PARTS frames
 * into parts, their number (all of them, counted) into *n. The data stay
 * valid until the next zmtp_recv, zmtp_service or zmtp_feed call. Returns 1
 * (a message), 0 (none yet) or ZMTP_ERR (the peer broke the protocol). */
int zmtp_recv(struct zmtp *z, struct zmtp_part parts[ZMTP_MAX_PARTS], int *n);

/* Appends bytes as if read from the peer (zmtp_service uses it; tests and
 * fuzzers feed it directly). Returns ZMTP_OK or ZMTP_ERR (over the bound). */
int zmtp_feed(struct zmtp *z, const void *p, size_t n);

/* Writes what is queued, waiting at most ms milliseconds (used before exit,
 * as libzmq's linger). Returns ZMTP_OK when all was written, else ZMTP_ERR. */
int zmtp_flush(struct zmtp *z, int ms);

/* Closes the socket and frees the buffers. */
void zmtp_close(struct zmtp *z);

#endif
