/* main.c - lightchat-ws: one process per WebSocket connection, started by
 * websocketd. It relays client lines (stdin) to the worker and the worker's
 * lines to the client (stdout) over a ZeroMQ DEALER socket. It links libzmq
 * only and verifies nothing itself: it forwards the connection's credentials
 * and the worker decides. stdin and ZeroMQ are polled together (websocketd
 * deadlocks otherwise); every line out is flushed at once; stdin EOF ends the
 * process within a second. */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "buf.h"
#include "config.h"
#include "log.h"
#include "relay.h"

#define READ_CHUNK 65536
#define BYE_LINGER_MS 500

struct session {
	void *sock;
	const char *fields[RELAY_UP_FRAMES];  /* credentials, from websocketd */
	struct lc_buf in;                     /* partial client line */
	int discarding;                       /* inside an over-long line */
};

static const char *
env_field(const char *name)
{
	const char *v = getenv(name);

	if (v == NULL || strlen(v) > RELAY_FIELD_MAX)
		return "";
	return v;
}

/* Sends kind, the credentials and body as one multipart message. */
static int
send_up(struct session *s, const char *kind, const char *body, size_t len)
{
	s->fields[RELAY_KIND] = kind;
	for (int i = 0; i < RELAY_UP_FRAMES; i++) {
		const char *p = i == RELAY_BODY ? body : s->fields[i];
		size_t n = i == RELAY_BODY ? len : strlen(p);
		int more = i + 1 < RELAY_UP_FRAMES ? ZMQ_SNDMORE : 0;
		while (zmq_send(s->sock, p, n, more) < 0) {
			if (errno == EINTR)
				continue;
			log_err("send to worker: %s", zmq_strerror(errno));
			return -1;
		}
	}
	return 0;
}

/* Writes all of p then a newline to stdout. Returns 0 or -1 if it is gone. */
static int
write_line(const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(STDOUT_FILENO, p, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	while (write(STDOUT_FILENO, "\n", 1) != 1)
		if (errno != EINTR)
			return -1;
	return 0;
}

/* Handles one message from the worker. Returns 0 to go on, 1 to exit. */
static int
from_worker(struct session *s)
{
	zmq_msg_t kind, body;
	int rc = 1;

	zmq_msg_init(&kind);
	zmq_msg_init(&body);
	if (zmq_msg_recv(&kind, s->sock, ZMQ_DONTWAIT) < 0) {
		rc = (errno == EAGAIN || errno == EINTR) ? 0 : 1;
		goto out;
	}
	if (!zmq_msg_more(&kind) || zmq_msg_recv(&body, s->sock, 0) < 0) {
		log_err("malformed message from the worker");
		goto out;
	}
	while (zmq_msg_more(&body)) {  /* drop unexpected extra frames */
		zmq_msg_close(&body);
		zmq_msg_init(&body);
		if (zmq_msg_recv(&body, s->sock, 0) < 0)
			goto out;
	}
	if (zmq_msg_size(&kind) == strlen(RELAY_LINE) &&
	    memcmp(zmq_msg_data(&kind), RELAY_LINE, strlen(RELAY_LINE)) == 0) {
		if (write_line(zmq_msg_data(&body), zmq_msg_size(&body)) == 0)
			rc = 0;
	}
	/* RELAY_CLOSE, or anything unknown: end the connection. */
out:
	zmq_msg_close(&kind);
	zmq_msg_close(&body);
	return rc;
}

/* Reads what stdin has and forwards every complete line. Returns 0 to go on,
 * 1 at EOF, -1 on error. */
static int
from_client(struct session *s)
{
	char chunk[READ_CHUNK];
	ssize_t n = read(STDIN_FILENO, chunk, sizeof(chunk));

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		return 1;
	const char *p = chunk, *end = chunk + n;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = (size_t)((nl != NULL ? nl : end) - p);
		if (s->discarding) {
			if (nl != NULL)
				s->discarding = 0;
		} else if (buf_append(&s->in, p, len) != LC_BUF_OK) {
			/* Over max_message: drop it and tell the worker, which
			 * answers the client with an error frame. */
			buf_reset(&s->in);
			s->discarding = nl == NULL;
			if (send_up(s, RELAY_TOOLONG, "", 0) != 0)
				return -1;
		} else if (nl != NULL) {
			if (send_up(s, RELAY_MSG, s->in.data != NULL ? s->in.data :
			    "", s->in.len) != 0)
				return -1;
			buf_reset(&s->in);
		}
		p += len + (nl != NULL ? 1 : 0);
	}
	return 0;
}

int
main(void)
{
	struct lc_config cfg;
	struct session s;
	char err[LC_CONFIG_ERR_MAX];
	void *ctx = NULL;
	int rc = 1, linger = BYE_LINGER_MS;

	memset(&s, 0, sizeof(s));
	log_init("ws", getenv("LIGHTCHAT_LOG_LEVEL"));
	signal(SIGPIPE, SIG_IGN);
	if (config_load(&cfg, err) != 0) {
		log_err("configuration: %s", err);
		goto out;
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

	ctx = zmq_ctx_new();
	if (ctx == NULL || (s.sock = zmq_socket(ctx, ZMQ_DEALER)) == NULL ||
	    zmq_setsockopt(s.sock, ZMQ_LINGER, &linger, sizeof(linger)) != 0 ||
	    zmq_connect(s.sock, cfg.worker_endpoint) != 0) {
		log_err("connect %s: %s", cfg.worker_endpoint,
		    zmq_strerror(errno));
		goto out;
	}
	if (send_up(&s, RELAY_HELLO, "", 0) != 0)
		goto out;
	for (;;) {
		zmq_pollitem_t items[2] = {
			{ s.sock, 0, ZMQ_POLLIN, 0 },
			{ NULL, STDIN_FILENO, ZMQ_POLLIN, 0 },
		};
		if (zmq_poll(items, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", zmq_strerror(errno));
			goto out;
		}
		if (items[0].revents & ZMQ_POLLIN) {
			int r;
			while ((r = from_worker(&s)) == 0) {
				int events = 0;
				size_t sz = sizeof(events);
				if (zmq_getsockopt(s.sock, ZMQ_EVENTS, &events,
				    &sz) != 0 || !(events & ZMQ_POLLIN))
					break;
			}
			if (r != 0) {
				rc = 0;
				goto out;
			}
		}
		if (items[1].revents & (ZMQ_POLLIN | ZMQ_POLLERR)) {
			int r = from_client(&s);
			if (r != 0) {
				if (send_up(&s, RELAY_BYE, "", 0) == 0 && r == 1)
					rc = 0;
				goto out;
			}
		}
	}
out:
	if (s.sock != NULL)
		zmq_close(s.sock);
	if (ctx != NULL)
		zmq_ctx_term(ctx);
	buf_free(&s.in);
	config_free(&cfg);
	return rc;
}
