/* main.c - lightchat-ws: one process per WebSocket connection, started by
 * websocketd. It relays client lines (stdin) to the worker and the worker's
 * lines to the client (stdout) as a ZeroMQ DEALER, speaking ZMTP itself
 * (ws/zmtp.c: libzmq would cost each connection ~0.4 MB) and verifying
 * nothing itself: it forwards the connection's credentials
 * and the worker decides. stdin and ZeroMQ are polled together (websocketd
 * deadlocks otherwise); every line out is flushed at once; stdin EOF ends the
 * process within a second. When the connection to the worker breaks, every
 * reply the client still waits for ends at once with the final frame the
 * worker left for it (ws/inflight.h): a dead worker's replies never resume. */
#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "buf.h"
#include "config.h"
#include "inflight.h"
#include "log.h"
#include "monotime.h"
#include "relay.h"
#include "zmtp.h"

#define READ_CHUNK 65536
#define BYE_LINGER_MS 500

struct session {
	struct zmtp z;
	const char *fields[RELAY_UP_FRAMES];  /* credentials, from websocketd */
	struct lc_buf in;                     /* partial client line */
	int discarding;                       /* inside an over-long line */
	const char *pending;                  /* a kind the queue had no room
	                                       * for (its body is in) */
	char rx[READ_CHUNK];                  /* stdin bytes not forwarded */
	size_t rx_len, rx_off;                /* yet: rx[rx_off..rx_len) */
	struct inflight inflight;             /* replies the client waits for */
	int worker_ready;                     /* the connection was ready */
	int worker_lost;                      /* it was, then broke */
};

static const char *
env_field(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || strlen(v) > RELAY_FIELD_MAX)
		return "";
	return v;
}

/* Queues kind, the credentials and body as one multipart message. Returns
 * ZMTP_OK, ZMTP_FULL (nothing queued) or ZMTP_ERR. */
static int
send_up(struct session *s, const char *kind, const char *body, size_t len)
{
	struct zmtp_part parts[RELAY_UP_FRAMES];

	s->fields[RELAY_KIND] = kind;
	for (int i = 0; i < RELAY_UP_FRAMES; i++) {
		parts[i].data = i == RELAY_BODY ? body : s->fields[i];
		parts[i].len = i == RELAY_BODY ? len : strlen(s->fields[i]);
	}
	int rc = zmtp_send(&s->z, parts, RELAY_UP_FRAMES);
	if (rc == ZMTP_ERR)
		log_err("send to worker: out of memory");
	return rc;
}

/* Writes all of p then a newline to stdout, in one system call when it
 * fits (a line per token: this is the session's hot path). Returns 0 or -1
 * if stdout is gone. */
static int
write_line(const char *p, size_t n)
{
	struct iovec iov[2] = {
		{ (void *)p, n },
		{ (void *)"\n", 1 },
	};
	struct iovec *v = iov;
	int cnt = 2;

	while (cnt > 0) {
		ssize_t w = writev(STDOUT_FILENO, v, cnt);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (cnt > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			cnt--;
		}
		if (cnt > 0) {
			v->iov_base = (char *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

static int
is_kind(const struct zmtp_part *part, const char *kind)
{
	return part->len == strlen(kind) && memcmp(part->data, kind,
	    part->len) == 0;
}

/* The worker admitted a prompt of this client: remember the final frame
 * it left for the reply (body), in case the worker goes away first. */
static void
track_reply(struct session *s, const struct zmtp_part *body)
{
	int r = inflight_add(&s->inflight, body->data, body->len);

	if (r == INFLIGHT_FULL)
		log_warn("%d replies in flight on this connection: the next "
		    "is not tracked", INFLIGHT_MAX);
	else if (r != INFLIGHT_OK)
		log_err("a reply in flight could not be tracked (%s)",
		    r == INFLIGHT_NOMEM ? "out of memory" : "malformed");
}

static int
emit_line(void *arg, const char *line, size_t len)
{
	(void)arg;
	return write_line(line, len);
}

/* Call after anything that may break the connection to the worker (its
 * service, a send). When the connection was ready and is not any more, the
 * worker went away and its replies with it: each one the client waits for
 * gets its fallback final frame now. When it is ready again, the session
 * says hello again, so that the (restarted) worker counts it at once, not
 * at its next message. Returns 0, or -1 if stdout or the worker is gone. */
static int
check_worker(struct session *s)
{
	int was = s->worker_ready, n = inflight_count(&s->inflight), sent;

	s->worker_ready = s->z.state == ZMTP_READY;
	if (!was && s->worker_ready && s->worker_lost) {
		s->worker_lost = 0;
		/* Full: it is counted at its next message instead. */
		if (send_up(s, RELAY_HELLO, "", 0) == ZMTP_ERR)
			return -1;
	}
	if (was && !s->worker_ready)
		s->worker_lost = 1;
	if (!was || s->worker_ready || n == 0)
		return 0;
	sent = inflight_fail(&s->inflight, emit_line, NULL);
	log_warn("the worker went away: %d replies in flight ended as "
	    "worker_unavailable", n);
	return sent == n ? 0 : -1;
}

/* Handles the messages the worker sent. Returns 0 to go on, 1 to exit. */
static int
from_worker(struct session *s)
{
	struct zmtp_part parts[ZMTP_MAX_PARTS];
	int n = 0, r;

	while ((r = zmtp_recv(&s->z, parts, &n)) == 1) {
		if (n < 2) {
			log_err("malformed message from the worker");
			return 1;
		}
		if (is_kind(&parts[0], RELAY_INFLIGHT)) {
			track_reply(s, &parts[1]);
			continue;
		}
		/* "close", or anything unknown: end the connection. */
		if (!is_kind(&parts[0], RELAY_LINE))
			return 1;
		(void)inflight_done(&s->inflight, parts[1].data, parts[1].len);
		if (write_line(parts[1].data, parts[1].len) != 0)
			return 1;
	}
	return r == 0 ? 0 : 1;
}

/* Forwards every complete line read from stdin while the queue has room;
 * what does not fit stays in rx (and stdin is not read) until it has.
 * Returns 0, or -1 on an error. */
static int
forward_client(struct session *s)
{
	int r;

	if (s->pending != NULL) {
		r = send_up(s, s->pending, buf_str(&s->in), s->in.len);
		if (r != ZMTP_OK)
			return r == ZMTP_FULL ? 0 : -1;
		s->pending = NULL;
		buf_reset(&s->in);
	}
	while (s->rx_off < s->rx_len) {
		const char *p = s->rx + s->rx_off, *end = s->rx + s->rx_len;
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);
		const char *kind = NULL;
		s->rx_off += len + (nl != NULL ? 1 : 0);
		if (s->discarding) {
			if (nl != NULL)
				s->discarding = 0;
		} else if (buf_append(&s->in, p, len) != LC_BUF_OK) {
			/* Over max_message: drop it and tell the worker, which
			 * answers the client with an error frame. */
			buf_reset(&s->in);
			s->discarding = nl == NULL;
			kind = RELAY_TOOLONG;
		} else if (nl != NULL) {
			kind = RELAY_MSG;
		}
		if (kind == NULL)
			continue;
		r = send_up(s, kind, buf_str(&s->in), s->in.len);
		if (r == ZMTP_FULL) {
			s->pending = kind;
			return 0;
		}
		if (r != ZMTP_OK)
			return -1;
		buf_reset(&s->in);
	}
	s->rx_off = s->rx_len = 0;
	return 0;
}

/* Returns 1 while client input waits for room in the queue. */
static int
blocked(const struct session *s)
{
	return s->pending != NULL || s->rx_off < s->rx_len;
}

int
main(void)
{
	static struct session s;  /* static: rx is too big for the stack */
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX];
	struct timespec eof_at;
	int rc = 1, eof = 0;

	log_init("ws", getenv("LIGHTCHAT_LOG_LEVEL"));
	signal(SIGPIPE, SIG_IGN);
	if (config_load(&cfg, err) != 0) {
		log_err("configuration: %s", err);
		return 1;
	}
	buf_init(&s.in, (size_t)cfg.max_message);
	s.fields[RELAY_COOKIE] = env_field("HTTP_COOKIE");
	s.fields[RELAY_QUERY] = env_field("QUERY_STRING");
	s.fields[RELAY_ORIGIN] = env_field("HTTP_ORIGIN");
	/* websocketd does not pass Host; lighttpd adds X-Forwarded-Host. */
	s.fields[RELAY_HOST] = env_field("HTTP_X_FORWARDED_HOST")[0] != '\0' ?
	    env_field("HTTP_X_FORWARDED_HOST") : env_field("HTTP_HOST");
	/* Behind lighttpd's mod_proxy the peer is lighttpd itself. */
	s.fields[RELAY_PEER] = env_field("HTTP_X_FORWARDED_FOR")[0] != '\0' ?
	    env_field("HTTP_X_FORWARDED_FOR") : env_field("REMOTE_ADDR");

	/* The worker's lines may be a whole reply, JSON-escaped
	 * (RELAY_LINE_MAX); the queue holds two of the largest client
	 * messages with their credentials. */
	size_t up_max = RELAY_UP_MAX(cfg.max_message);
	if (zmtp_init(&s.z, cfg.worker_endpoint, RELAY_LINE_MAX(cfg.max_reply),
	    2 * up_max, err, sizeof(err)) != ZMTP_OK) {
		log_err("worker endpoint %s: %s", cfg.worker_endpoint, err);
		goto out;
	}
	/* Nothing else of the configuration is needed: its model table is
	 * most of this process's heap (~22 kB of its ~28 kB touched), which
	 * a long-lived connection would hold for nothing. */
	config_free(&cfg);
#ifdef __GLIBC__
	malloc_trim(0);  /* musl's malloc gives freed groups back itself */
#endif
	if (send_up(&s, RELAY_HELLO, "", 0) != ZMTP_OK)
		goto out;
	for (;;) {
		int reading = !eof && !blocked(&s);
		int timeout = zmtp_timeout_ms(&s.z);
		if (eof) {
			long left = BYE_LINGER_MS - monotime_ms_since(&eof_at);
			if (left <= 0)
				goto out;  /* the worker is away: give up */
			if (timeout < 0 || timeout > left)
				timeout = (int)left;
		}
		struct pollfd pfd[2] = {
			{ zmtp_fd(&s.z), zmtp_events(&s.z), 0 },
			{ reading ? STDIN_FILENO : -1, POLLIN, 0 },
		};
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR) {
			log_err("poll: %s", strerror(errno));
			goto out;
		}
		if (zmtp_service(&s.z, pfd[0].revents) != ZMTP_OK)
			goto out;
		if (from_worker(&s) != 0) {
			rc = 0;
			goto out;
		}
		if (pfd[1].revents & (POLLIN | POLLERR | POLLHUP)) {
			ssize_t n = read(STDIN_FILENO, s.rx, sizeof(s.rx));
			if (n < 0 && errno != EINTR && errno != EAGAIN)
				goto out;
			if (n == 0) {
				eof = 1;
				monotime_now(&eof_at);
			}
			s.rx_off = 0;
			s.rx_len = n > 0 ? (size_t)n : 0;
		}
		if (forward_client(&s) != 0 || check_worker(&s) != 0)
			goto out;
		if (eof && !blocked(&s)) {
			if (send_up(&s, RELAY_BYE, "", 0) == ZMTP_OK &&
			    zmtp_flush(&s.z, BYE_LINGER_MS) == ZMTP_OK)
				rc = 0;
			goto out;
		}
	}
out:
	zmtp_close(&s.z);  /* every way here passed zmtp_init */
	inflight_free(&s.inflight);
	buf_free(&s.in);
	config_free(&cfg);
	return rc;
}
