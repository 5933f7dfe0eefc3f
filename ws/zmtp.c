/* zmtp.c - a ZeroMQ DEALER peer speaking ZMTP 3.0 with the NULL mechanism
 * (rfc.zeromq.org 23/ZMTP, 37/ZMTP for the commands). See zmtp.h for why.
 *
 * Errors: functions return ZMTP_OK / ZMTP_ERR / ZMTP_FULL; a lost
 * connection is handled here (dropped, retried), never returned. */
#include "zmtp.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "monotime.h"

#define F_MORE 0x01
#define F_LONG 0x02
#define F_COMMAND 0x04
#define HANDSHAKE_MS 30000   /* as libzmq's ZMQ_HANDSHAKE_IVL */
#define READ_CHUNK 32768
/* A message of many empty frames is all headers: bound its frame count. */
#define MAX_FRAMES 1024

static const char socket_type[] = "DEALER";

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

/* ---- encoding ---- */

static void
put_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint64_t
get_be64(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static uint32_t
get_be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Returns the length of the header of a frame of len bytes. */
static size_t
header_len(size_t len)
{
	return len <= 255 ? 2 : 9;
}

/* Writes a frame header for len bytes into h (9 bytes room); returns its
 * length. */
static size_t
frame_header(unsigned char *h, unsigned flags, size_t len)
{
	if (header_len(len) == 2) {
		h[0] = (unsigned char)flags;
		h[1] = (unsigned char)len;
		return 2;
	}
	h[0] = (unsigned char)(flags | F_LONG);
	for (int i = 0; i < 8; i++)
		h[1 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
	return 9;
}

/* Our greeting (signature, version 3.0, NULL, as client) and READY command
 * with Socket-Type and an empty Identity, written once per connection. */
static size_t
build_handshake(unsigned char *p)
{
	unsigned char body[64];
	size_t n = 0;

	memset(p, 0, ZMTP_GREETING_LEN);
	p[0] = 0xff;
	p[8] = 0x01;          /* padding: 1 + identity length, as libzmq */
	p[9] = 0x7f;
	p[10] = 3;            /* version 3.0 */
	p[11] = 0;
	memcpy(p + 12, "NULL", 4);
	body[n++] = 5;
	memcpy(body + n, "READY", 5);
	n += 5;
	body[n++] = 11;
	memcpy(body + n, "Socket-Type", 11);
	n += 11;
	put_be32(body + n, (uint32_t)strlen(socket_type));
	n += 4;
	memcpy(body + n, socket_type, strlen(socket_type));
	n += strlen(socket_type);
	body[n++] = 8;
	memcpy(body + n, "Identity", 8);
	n += 8;
	put_be32(body + n, 0);
	n += 4;
	size_t h = frame_header(p + ZMTP_GREETING_LEN, F_COMMAND, n);
	memcpy(p + ZMTP_GREETING_LEN + h, body, n);
	return ZMTP_GREETING_LEN + h + n;
}

/* ---- decoding ---- */

/* Reads a frame header from p (n bytes). Returns its length (2 or 9), 0 if
 * incomplete, ZMTP_ERR if malformed. */
static int
parse_header(const unsigned char *p, size_t n, unsigned *flags, uint64_t *len)
{
	if (n < 1)
		return 0;
	*flags = p[0];
	if (*flags & ~(unsigned)(F_MORE | F_LONG | F_COMMAND))
		return ZMTP_ERR;
	if ((*flags & F_COMMAND) && (*flags & F_MORE))
		return ZMTP_ERR;
	if (*flags & F_LONG) {
		if (n < 9)
			return 0;
		*len = get_be64(p + 1);
		return 9;
	}
	if (n < 2)
		return 0;
	*len = p[1];
	return 2;
}

/* Checks the peer's READY properties: it must be a ROUTER. */
static int
check_ready(const unsigned char *p, size_t n)
{
	int router = 0;

	while (n > 0) {
		size_t nl = p[0];
		if (n < 1 + nl + 4)
			return ZMTP_ERR;
		const unsigned char *name = p + 1;
		uint32_t vl = get_be32(p + 1 + nl);
		if (vl > n - 1 - nl - 4)
			return ZMTP_ERR;
		const unsigned char *val = p + 1 + nl + 4;
		if (nl == 11 && strncasecmp((const char *)name, "Socket-Type",
		    11) == 0)
			router = vl == 6 && memcmp(val, "ROUTER", 6) == 0;
		p += 1 + nl + 4 + vl;
		n -= 1 + nl + 4 + vl;
	}
	return router ? ZMTP_OK : ZMTP_ERR;
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
		int h = parse_header((const unsigned char *)out->data + pos,
		    out->len - pos, &flags, &len);
		if (h <= 0 || len > out->len - pos - (size_t)h)
			return out->len;  /* cannot happen: we encoded it */
		pos += (size_t)h + (size_t)len;
		if (flags & F_MORE)
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
	size_t avail = z->in.len - z->in_off, off = 0, total = 0;
	int frames = 0;

	if (z->state < ZMTP_HANDSHAKE || avail == 0)
		return 0;  /* (in.data may still be NULL) */
	const unsigned char *p = (const unsigned char *)z->in.data + z->in_off;
	if (!z->peer_greeted) {
		if (avail < ZMTP_GREETING_LEN)
			return 0;
		if (p[0] != 0xff || p[9] != 0x7f || p[10] < 3 ||
		    memcmp(p + 12, "NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
		    20) != 0) {
			log_err("the worker endpoint does not speak ZMTP 3 "
			    "with the NULL mechanism");
			return ZMTP_ERR;
		}
		z->peer_greeted = 1;
		z->in_off += ZMTP_GREETING_LEN;
		return 2;
	}
	for (;;) {
		unsigned flags = 0;
		uint64_t len = 0;
		int h = parse_header(p + off, avail - off, &flags, &len);
		if (h == ZMTP_ERR) {
			log_err("malformed frame from the worker");
			return ZMTP_ERR;
		}
		if (h > 0 && len > z->max_msg - total) {
			log_err("message from the worker over %zu bytes",
			    z->max_msg);
			return ZMTP_ERR;
		}
		if (h == 0 || len > avail - off - (size_t)h)
			return 0;
		const unsigned char *body = p + off + (size_t)h;
		if (flags & F_COMMAND) {
			if (off != 0) {
				log_err("command inside a message from the "
				    "worker");
				return ZMTP_ERR;
			}
			z->in_off += (size_t)h + (size_t)len;
			size_t nl = len > 0 ? body[0] : 0;
			if (len == 0 || nl > len - 1) {
				log_err("malformed command from the worker");
				return ZMTP_ERR;
			}
			if (nl == 5 && memcmp(body + 1, "READY", 5) == 0 &&
			    z->state == ZMTP_HANDSHAKE) {
				if (check_ready(body + 6, (size_t)len - 6) != 0) {
					log_err("the worker endpoint is not a "
					    "ZeroMQ ROUTER");
					return ZMTP_ERR;
				}
				z->state = ZMTP_READY;
				write_pending(z);
			} else if (nl == 5 && memcmp(body + 1, "ERROR", 5) == 0) {
				log_warn("the worker refused the connection");
				drop_connection(z, ZMTP_RECONNECT_MS);
			}
			/* Others (PING, SUBSCRIBE, ...) mean nothing here. */
			return 2;
		}
		if (z->state != ZMTP_READY) {
			log_err("message from the worker before its READY");
			return ZMTP_ERR;
		}
		if (++frames > MAX_FRAMES) {
			log_err("message from the worker with over %d frames",
			    MAX_FRAMES);
			return ZMTP_ERR;
		}
		if (frames <= ZMTP_MAX_PARTS) {
			parts[frames - 1].data = body;
			parts[frames - 1].len = (size_t)len;
		}
		total += (size_t)len;
		off += (size_t)h + (size_t)len;
		if (!(flags & F_MORE)) {
			z->in_off += off;
			*n = frames;
			return 1;
		}
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

static int
parse_endpoint(struct zmtp *z, const char *ep, char *err, size_t errlen)
{
	memset(&z->addr, 0, sizeof(z->addr));
	if (strncmp(ep, "ipc://", 6) == 0) {
		struct sockaddr_un *un = (struct sockaddr_un *)&z->addr;
		const char *path = ep + 6;
		size_t n = strlen(path);
		if (n == 0 || n >= sizeof(un->sun_path)) {
			snprintf(err, errlen, "ipc path empty or over %zu "
			    "bytes", sizeof(un->sun_path) - 1);
			return ZMTP_ERR;
		}
		un->sun_family = AF_UNIX;
		memcpy(un->sun_path, path, n);
		if (path[0] == '@')  /* Linux abstract name, as libzmq */
			un->sun_path[0] = '\0';
		z->addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
		    n + (path[0] == '@' ? 0 : 1));
		return ZMTP_OK;
	}
	if (strncmp(ep, "tcp://", 6) != 0) {
		snprintf(err, errlen, "endpoint must be ipc:// or tcp://");
		return ZMTP_ERR;
	}
	char host[256], port[8];
	const char *hp = ep + 6, *colon = strrchr(hp, ':');
	size_t hl = colon != NULL ? (size_t)(colon - hp) : 0;
	if (colon == NULL || hl == 0 || hl >= sizeof(host) ||
	    strlen(colon + 1) == 0 || strlen(colon + 1) >= sizeof(port) ||
	    strspn(colon + 1, "0123456789") != strlen(colon + 1)) {
		snprintf(err, errlen, "tcp endpoint must be tcp://host:port");
		return ZMTP_ERR;
	}
	if (hp[0] == '[' && hl >= 2 && hp[hl - 1] == ']') {
		hp++;
		hl -= 2;
	}
	memcpy(host, hp, hl);
	host[hl] = '\0';
	snprintf(port, sizeof(port), "%s", colon + 1);
	/* Numeric addresses and "localhost" only: lightchat-ws is linked
	 * statically (docs/ARCHITECTURE.md, "Memory per connection"), and a
	 * static glibc has no name service to resolve other names with. */
	long pn = strtol(port, NULL, 10);
	if (pn < 1 || pn > 65535) {
		snprintf(err, errlen, "tcp endpoint port must be 1 to 65535");
		return ZMTP_ERR;
	}
	struct sockaddr_in *in4 = (struct sockaddr_in *)&z->addr;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&z->addr;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)pn);
		z->addrlen = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)pn);
		z->addrlen = sizeof(*in6);
	} else {
		snprintf(err, errlen, "tcp endpoint host must be a numeric "
		    "address or localhost, not '%.64s'", host);
		return ZMTP_ERR;
	}
	return ZMTP_OK;
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
	buf_init(&z->in, max_msg + (size_t)MAX_FRAMES * 9 + READ_CHUNK);
	z->hs_len = build_handshake(z->hs);
	z->hs_off = z->hs_len;
	monotime_now(&z->retry_at);  /* connect at the first service */
	return parse_endpoint(z, endpoint, err, errlen);
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
	size_t need = 0, old;

	for (int i = 0; i < n; i++)
		need += header_len(parts[i].len) + parts[i].len;
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
	old = z->out.len;
	for (int i = 0; i < n; i++) {
		unsigned char h[9];
		size_t hl = frame_header(h, i + 1 < n ? F_MORE : 0,
		    parts[i].len);
		if (buf_append(&z->out, h, hl) != LC_BUF_OK ||
		    buf_append(&z->out, parts[i].data, parts[i].len) !=
		    LC_BUF_OK) {
			buf_truncate(&z->out, old);
			return ZMTP_ERR;
		}
	}
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
