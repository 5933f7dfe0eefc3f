/* zmtp.c - a ZeroMQ DEALER peer speaking ZMTP 3.0 with the NULL mechanism
 * (rfc.zeromq.org 23/ZMTP, 37/ZMTP for the commands). See zmtp.h for why.
 *
 * Errors: functions return ZMTP_OK / ZMTP_ERR / ZMTP_FULL; a lost
 * connection is handled here (dropped, retried), never returned. */
#include "zmtp.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"

#define HANDSHAKE_MS 30000   /* as libzmq's ZMQ_HANDSHAKE_IVL */
/* A read's room, on the stack: 1 kB (32 kB first, then 4 kB). Its frame
 * pushes every call below it down the stack, onto pages the process then
 * keeps for the connection's life. Measured per idle connection at 100:
 * 100 -> 88 kB private at 4 kB (glibc); at 1 kB 37 -> 35 kB PSS (musl),
 * the stack 12-16 -> 8-12 kB. A delta frame is a few hundred bytes; a
 * longer frame is assembled in z->in anyway. (Reading straight into z->in
 * instead measured 7 kB more: its first growth is then to a read's room,
 * 8 kB, against 256 bytes for an idle connection's messages.) */
#define READ_CHUNK 1024

/* ---- time ---- */

static void
after_ms(struct timespec *t, long ms)
{
	monotime_now(t);
	t->tv_sec += ms / 1000;
	t->tv_nsec += (ms % 1000) * 1000000L;
	if (t->tv_nsec >= 1000000000L) {
		t->tv_sec++;
		t->tv_nsec -= 1000000000L;
	}
}

static long
ms_until(const struct timespec *t)
{
	return -monotime_ms_since(t);
}

/* ---- connection ---- */

/* Returns the end of the last whole queued message at or before off
 * (after = 0), or of the first one at or after off (after = 1). The queue
 * always starts at a message's first frame. */
static size_t
message_edge(const struct lc_buf *out, size_t off, int after)
{
	size_t pos = 0, edge = 0;

	if (off == 0)
		return 0;
	while (pos < out->len) {
		unsigned flags = 0;
		uint64_t len = 0;
		int h = zmtp_wire_parse_header((const unsigned char *)out->data +
		    pos, out->len - pos, &flags, &len);
		if (h <= 0 || len > out->len - pos - (size_t)h)
			return out->len;  /* cannot happen: we encoded it */
		pos += (size_t)h + (size_t)len;
		if (flags & ZMTP_F_MORE)
			continue;
		if (pos > off)
			return after ? pos : edge;
		edge = pos;
		if (pos == off)
			return pos;
	}
	return after ? out->len : edge;
}

static void
drop_connection(struct zmtp *z, long retry_ms)
{
	if (z->fd >= 0)
		close(z->fd);
	z->fd = -1;
	z->state = ZMTP_DOWN;
	z->peer_greeted = 0;
	z->hs_off = 0;
	buf_reset(&z->in);
	z->in_off = 0;
	/* A message half written is lost, as with libzmq; whole ones queued
	 * after it wait for the next connection. */
	buf_consume(&z->out, message_edge(&z->out, z->out_off, 1));
	z->out_off = 0;
	after_ms(&z->retry_at, retry_ms);
}

/* Writes what is pending (our handshake, then queued messages once the peer
 * is ready). A broken connection is dropped. */
static void
write_pending(struct zmtp *z)
{
	for (;;) {
		const void *p;
		size_t n;
		if (z->hs_off < z->hs_len) {
			p = z->hs + z->hs_off;
			n = z->hs_len - z->hs_off;
		} else if (z->state == ZMTP_READY && z->out_off < z->out.len) {
			p = z->out.data + z->out_off;
			n = z->out.len - z->out_off;
		} else {
			break;
		}
		ssize_t w = send(z->fd, p, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK) {
				log_debug("worker connection lost: %s",
				    strerror(errno));
				drop_connection(z, ZMTP_RECONNECT_MS);
			}
			return;
		}
		if (z->hs_off < z->hs_len) {
			z->hs_off += (size_t)w;
		} else {
			z->out_off += (size_t)w;
			if (z->out_off == z->out.len) {
				buf_reset(&z->out);
				z->out_off = 0;
			}
		}
	}
}

static void
start_handshake(struct zmtp *z)
{
	z->state = ZMTP_HANDSHAKE;
	z->hs_off = 0;
	z->peer_greeted = 0;
	after_ms(&z->retry_at, HANDSHAKE_MS);
	write_pending(z);
}

static void
try_connect(struct zmtp *z)
{
	int one = 1;

	z->fd = socket(z->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0);
	if (z->fd < 0) {
		log_warn("socket: %s", strerror(errno));
		drop_connection(z, ZMTP_RECONNECT_MS);
		return;
	}
	if (z->addr.ss_family != AF_UNIX)
		(void)setsockopt(z->fd, IPPROTO_TCP, TCP_NODELAY, &one,
		    sizeof(one));
	if (connect(z->fd, (struct sockaddr *)&z->addr, z->addrlen) == 0) {
		start_handshake(z);
	} else if (errno == EINPROGRESS) {
		z->state = ZMTP_CONNECTING;
		after_ms(&z->retry_at, HANDSHAKE_MS);
	} else {
		/* Not there yet (ENOENT, ECONNREFUSED) or its backlog is
		 * full (EAGAIN): try again, as libzmq does. */
		log_debug("connect to the worker: %s", strerror(errno));
		drop_connection(z, ZMTP_RECONNECT_MS);
	}
}

/* Parses the next unit of input: the greeting, one command or one whole
 * message. Returns 1 (a message, in parts/n), 2 (a greeting or command was
 * handled), 0 (more input needed) or ZMTP_ERR. */
static int
next_unit(struct zmtp *z, struct zmtp_part parts[ZMTP_MAX_PARTS], int *n)
{
	size_t avail = z->in.len - z->in_off, used = 0;
	const char *why = "";

	if (z->state < ZMTP_HANDSHAKE || avail == 0)
		return 0;  /* (in.data may still be NULL) */
	int u = zmtp_wire_next((const unsigned char *)z->in.data + z->in_off,
	    avail, z->peer_greeted, z->max_msg, parts, n, &used, &why);
	if (u < 0) {
		log_err("the worker endpoint %s", why);
		return ZMTP_ERR;
	}
	z->in_off += used;
	switch (u) {
	case ZMTP_UNIT_GREETING:
		z->peer_greeted = 1;
		return 2;
	case ZMTP_UNIT_COMMAND:
		if (parts[0].len == 5 && memcmp(parts[0].data, "READY", 5) == 0 &&
		    z->state == ZMTP_HANDSHAKE) {
			struct zmtp_part type;
			if (zmtp_wire_property(parts[1].data, parts[1].len,
			    "Socket-Type", &type) != 1 || type.len != 6 ||
			    memcmp(type.data, "ROUTER", 6) != 0) {
				log_err("the worker endpoint is not a "
				    "ZeroMQ ROUTER");
				return ZMTP_ERR;
			}
			z->state = ZMTP_READY;
			write_pending(z);
		} else if (parts[0].len == 5 &&
		    memcmp(parts[0].data, "ERROR", 5) == 0) {
			log_warn("the worker refused the connection");
			drop_connection(z, ZMTP_RECONNECT_MS);
		}
		/* Others (PING, SUBSCRIBE, ...) mean nothing here. */
		return 2;
	case ZMTP_UNIT_MESSAGE:
		if (z->state != ZMTP_READY) {
			log_err("message from the worker before its READY");
			return ZMTP_ERR;
		}
		return 1;
	default:
		return 0;
	}
}

/* Handles the greeting and commands until the peer is ready. */
static int
handshake_input(struct zmtp *z)
{
	struct zmtp_part parts[ZMTP_MAX_PARTS];
	int n = 0, r = 2;

	while (z->state == ZMTP_HANDSHAKE && r == 2)
		r = next_unit(z, parts, &n);
	return r == ZMTP_ERR ? ZMTP_ERR : ZMTP_OK;
}

int
zmtp_init(struct zmtp *z, const char *endpoint, size_t max_msg,
    size_t max_queue, char *err, size_t errlen)
{
	memset(z, 0, sizeof(*z));
	z->fd = -1;
	z->state = ZMTP_DOWN;
	z->max_msg = max_msg;
	buf_init(&z->out, max_queue);
	/* Room for one whole message of headers and data plus a read. */
	buf_init(&z->in, max_msg + (size_t)ZMTP_WIRE_MAX_FRAMES *
	    ZMTP_WIRE_HEADER_MAX + READ_CHUNK);
	z->hs_len = zmtp_wire_handshake(z->hs, "DEALER", NULL, 0);
	z->hs_off = z->hs_len;
	monotime_now(&z->retry_at);  /* connect at the first service */
	return zmtp_wire_endpoint(endpoint, &z->addr, &z->addrlen, err,
	    errlen) == 0 ? ZMTP_OK : ZMTP_ERR;
}

int
zmtp_fd(const struct zmtp *z)
{
	return z->fd;
}

short
zmtp_events(const struct zmtp *z)
{
	switch (z->state) {
	case ZMTP_CONNECTING:
		return POLLOUT;
	case ZMTP_HANDSHAKE:
		return (short)(POLLIN | (z->hs_off < z->hs_len ? POLLOUT : 0));
	case ZMTP_READY:
		return (short)(POLLIN | (z->hs_off < z->hs_len ||
		    z->out_off < z->out.len ? POLLOUT : 0));
	default:
		return 0;
	}
}

int
zmtp_timeout_ms(const struct zmtp *z)
{
	if (z->state == ZMTP_READY)
		return -1;
	long ms = ms_until(&z->retry_at);
	return ms < 0 ? 0 : (int)(ms > HANDSHAKE_MS ? HANDSHAKE_MS : ms);
}

int
zmtp_feed(struct zmtp *z, const void *p, size_t n)
{
	if (z->in_off > 0) {  /* what was handed out is no longer needed */
		buf_consume(&z->in, z->in_off);
		z->in_off = 0;
	}
	if (buf_append(&z->in, p, n) != LC_BUF_OK) {
		log_err("input from the worker over %zu bytes", z->in.max);
		return ZMTP_ERR;
	}
	return ZMTP_OK;
}

int
zmtp_service(struct zmtp *z, short revents)
{
	if (z->state != ZMTP_READY && ms_until(&z->retry_at) <= 0) {
		if (z->state == ZMTP_DOWN) {
			try_connect(z);
			return ZMTP_OK;
		}
		log_warn("no handshake from the worker in %d s; reconnecting",
		    HANDSHAKE_MS / 1000);
		drop_connection(z, ZMTP_RECONNECT_MS);
		return ZMTP_OK;
	}
	if (z->fd < 0)
		return ZMTP_OK;
	if (z->state == ZMTP_CONNECTING) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);
		if (!(revents & (POLLOUT | POLLERR | POLLHUP)))
			return ZMTP_OK;
		if (getsockopt(z->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 ||
		    soerr != 0) {
			log_debug("connect to the worker: %s",
			    strerror(soerr != 0 ? soerr : errno));
			drop_connection(z, ZMTP_RECONNECT_MS);
		} else {
			start_handshake(z);
		}
		return ZMTP_OK;
	}
	if (revents & (POLLIN | POLLHUP | POLLERR)) {
		char chunk[READ_CHUNK];
		ssize_t r = read(z->fd, chunk, sizeof(chunk));
		if (r > 0) {
			if (zmtp_feed(z, chunk, (size_t)r) != ZMTP_OK)
				return ZMTP_ERR;
		} else if (r == 0 || (errno != EINTR && errno != EAGAIN)) {
			log_debug("worker connection closed%s%s",
			    r == 0 ? "" : ": ", r == 0 ? "" : strerror(errno));
			drop_connection(z, ZMTP_RECONNECT_MS);
			return ZMTP_OK;
		}
		if (z->state == ZMTP_HANDSHAKE && handshake_input(z) != ZMTP_OK)
			return ZMTP_ERR;
	}
	if (z->fd >= 0 && (revents & POLLOUT))
		write_pending(z);
	return ZMTP_OK;
}

int
zmtp_send(struct zmtp *z, const struct zmtp_part *parts, int n)
{
	size_t need;

	need = zmtp_wire_message_len(parts, n);
	if (need > z->out.max - (z->out.len - z->out_off))
		return ZMTP_FULL;
	if (z->out.len + need > z->out.max) {
		/* Reclaim the messages written; the queue must keep starting
		 * at a message so a broken connection can drop a half one. */
		size_t edge = message_edge(&z->out, z->out_off, 0);
		buf_consume(&z->out, edge);
		z->out_off -= edge;
		if (z->out.len + need > z->out.max)
			return ZMTP_FULL;
	}
	if (zmtp_wire_append(&z->out, parts, n) != 0)
		return ZMTP_ERR;
	/* Written at once when possible: one poll round less per message. */
	if (z->state == ZMTP_READY)
		write_pending(z);
	return ZMTP_OK;
}

int
zmtp_recv(struct zmtp *z, struct zmtp_part parts[ZMTP_MAX_PARTS], int *n)
{
	int r;

	if (z->in_off == z->in.len && z->in_off > 0) {
		buf_reset(&z->in);
		z->in_off = 0;
	}
	while ((r = next_unit(z, parts, n)) == 2)
		;
	return r;
}

int
zmtp_flush(struct zmtp *z, int ms)
{
	struct timespec deadline;

	after_ms(&deadline, ms);
	while (z->out_off < z->out.len) {
		long left = ms_until(&deadline);
		if (left <= 0)
			return ZMTP_ERR;
		struct pollfd pfd = { z->fd, zmtp_events(z), 0 };
		int t = zmtp_timeout_ms(z);
		if (t < 0 || t > left)
			t = (int)left;
		if (poll(&pfd, z->fd >= 0 ? 1 : 0, t) < 0 && errno != EINTR)
			return ZMTP_ERR;
		if (zmtp_service(z, pfd.revents) != ZMTP_OK)
			return ZMTP_ERR;
		struct zmtp_part parts[ZMTP_MAX_PARTS];
		int n;
		while (zmtp_recv(z, parts, &n) == 1)
			;  /* replies are not wanted any more */
	}
	return ZMTP_OK;
}

void
zmtp_close(struct zmtp *z)
{
	if (z->fd >= 0)
		close(z->fd);
	z->fd = -1;
	z->state = ZMTP_DOWN;
	buf_free(&z->in);
	buf_free(&z->out);
}
