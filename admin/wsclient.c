/* wsclient.c - a small HTTP/1.1 and WebSocket client for lightchat-admin
 * check: URL parsing, a connection with a deadline, one GET, the Upgrade
 * and its checked accept key, masked client frames, bounded reads of the
 * server's frames. */
#include "wsclient.h"

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "monotime.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define READ_CHUNK 65536
#define OP_CONT 0x0
#define OP_TEXT 0x1
#define OP_BINARY 0x2
#define OP_CLOSE 0x8
#define OP_PING 0x9
#define OP_PONG 0xa

int
wsc_url_parse(const char *url, struct wsc_url *u, char *err, size_t errcap)
{
	const char *p, *host, *host_end, *port = NULL, *path;
	size_t hn, pn;

	memset(u, 0, sizeof(*u));
	if (strncmp(url, "https://", 8) == 0 || strncmp(url, "wss://", 6) == 0) {
		snprintf(err, errcap, "%.16s... is not supported (no TLS in "
		    "this client): use the site's plain local address, e.g. "
		    "--url http://127.0.0.1:PORT", url);
		return -1;
	}
	if (strncmp(url, "http://", 7) == 0)
		p = url + 7;
	else if (strncmp(url, "ws://", 5) == 0)
		p = url + 5;
	else {
		snprintf(err, errcap, "not an http:// URL: %.200s", url);
		return -1;
	}
	if (*p == '[') {
		host = p + 1;
		host_end = strchr(host, ']');
		if (host_end == NULL)
			goto bad;
		p = host_end + 1;
	} else {
		host = p;
		p += strcspn(p, ":/?#@");
		host_end = p;
	}
	if (*p == ':') {
		port = ++p;
		p += strspn(p, "0123456789");
	}
	if (*p != '\0' && *p != '/')
		goto bad;   /* a query, a fragment, user info */
	path = p;
	hn = (size_t)(host_end - host);
	pn = port != NULL ? (size_t)(p - port) : 0;
	long pv = port != NULL && pn > 0 && pn <= 5 ? strtol(port, NULL, 10) : 0;
	if (hn == 0 || hn > WSC_HOST_MAX || memchr(host, '@', hn) != NULL ||
	    (port != NULL && (pv < 1 || pv > 65535)))
		goto bad;
	memcpy(u->host, host, hn);
	if (port != NULL)
		memcpy(u->port, port, pn);
	else
		memcpy(u->port, "80", 3);
	pn = strlen(path);
	while (pn > 0 && path[pn - 1] == '/')
		pn--;
	if (pn > WSC_PREFIX_MAX || strcspn(path, "?# \t\r\n") < pn)
		goto bad;
	memcpy(u->prefix, path, pn);
	snprintf(u->hostport, sizeof(u->hostport), strchr(u->host, ':') ?
	    "[%s]:%s" : "%s:%s", u->host, u->port);
	return 0;
bad:
	snprintf(err, errcap, "not a URL of the form http://host[:port]"
	    "[/prefix]: %.200s", url);
	return -1;
}

/* Waits until fd is ready for ev or deadline. Returns 1 ready, 0 timeout,
 * -1 error. */
static int
wait_fd(int fd, short ev, long long deadline)
{
	for (;;) {
		long long left = deadline - monotime_ms();
		struct pollfd p = { fd, ev, 0 };
		if (left <= 0)
			return 0;
		int n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 1;
		if (n < 0 && errno != EINTR)
			return -1;
	}
}

/* Connects to u by deadline. Returns a non-blocking socket, or -1 with
 * err set. */
static int
conn_open(const struct wsc_url *u, long long deadline, char *err,
    size_t errcap)
{
	struct addrinfo hints, *res = NULL, *ai;
	int fd = -1, e, soerr = ECONNREFUSED;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	e = getaddrinfo(u->host, u->port, &hints, &res);
	if (e != 0) {
		snprintf(err, errcap, "%s: %s", u->host, gai_strerror(e));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		socklen_t sl = sizeof(soerr);
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
		    SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			soerr = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno == EINPROGRESS) {
			int w = wait_fd(fd, POLLOUT, deadline);
			if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR,
			    &soerr, &sl) == 0 && soerr == 0)
				break;
			if (w == 0)
				soerr = ETIMEDOUT;
		} else {
			soerr = errno;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		snprintf(err, errcap, "cannot connect to %s: %s", u->hostport,
		    strerror(soerr));
	return fd;
}

/* Writes n bytes by deadline. Returns 0, or -1 with errno set (ETIMEDOUT
 * for the deadline). */
static int
send_all(int fd, const void *p, size_t n, long long deadline)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w > 0) {
			c += w;
			n -= (size_t)w;
			continue;
		}
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		int r = wait_fd(fd, POLLOUT, deadline);
		if (r <= 0) {
			if (r == 0)
				errno = ETIMEDOUT;
			return -1;
		}
	}
	return 0;
}

/* Reads what is there (at most READ_CHUNK bytes, and no more than b has
 * room for) into b by deadline. Returns the bytes read, 0 at the end, -1
 * with errno (ETIMEDOUT, EMSGSIZE: b is full). */
static ssize_t
read_some(int fd, struct lc_buf *b, long long deadline)
{
	char chunk[READ_CHUNK];
	size_t room = b->max - b->len;

	if (room == 0) {
		errno = EMSGSIZE;
		return -1;
	}
	for (;;) {
		ssize_t n = recv(fd, chunk, room < sizeof(chunk) ? room :
		    sizeof(chunk), 0);
		if (n > 0) {
			if (buf_append(b, chunk, (size_t)n) != LC_BUF_OK) {
				errno = ENOMEM;
				return -1;
			}
			return n;
		}
		if (n == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -1;
		int r = wait_fd(fd, POLLIN, deadline);
		if (r <= 0) {
			if (r == 0)
				errno = ETIMEDOUT;
			return -1;
		}
	}
}

/* Reads into b until it holds a response head (CRLF CRLF). Returns the
 * head's length (through the blank line), or -1 with err set. */
static ssize_t
read_head(int fd, struct lc_buf *b, long long deadline, char *err,
    size_t errcap)
{
	for (;;) {
		const char *end = b->len > 0 ? strstr(b->data, "\r\n\r\n") :
		    NULL;
		if (end != NULL)
			return end + 4 - b->data;
		if (b->len >= WSC_HEAD_MAX) {
			snprintf(err, errcap, "response head over %d bytes",
			    WSC_HEAD_MAX);
			return -1;
		}
		ssize_t n = read_some(fd, b, deadline);
		if (n == 0) {
			snprintf(err, errcap, "the server closed the connection "
			    "without an answer");
			return -1;
		}
		if (n < 0) {
			snprintf(err, errcap, "%s", errno == ETIMEDOUT ?
			    "timeout" : strerror(errno));
			return -1;
		}
	}
}

/* The status of a response head, or -1 when it is not HTTP. */
static int
head_status(const char *head)
{
	int st = 0;

	if (strncmp(head, "HTTP/1.", 7) != 0 || head[8] != ' ')
		return -1;
	for (int i = 9; i < 12; i++) {
		if (head[i] < '0' || head[i] > '9')
			return -1;
		st = st * 10 + (head[i] - '0');
	}
	return st;
}

/* Copies the value of header name in head (len bytes) into out (cap
 * bytes, trimmed). Returns 1 found, 0 not. */
static int
head_value(const char *head, size_t len, const char *name, char *out,
    size_t cap)
{
	size_t nl = strlen(name);
	const char *p = memchr(head, '\n', len), *end = head + len;

	while (p != NULL && p + 1 < end) {
		const char *line = p + 1;
		const char *eol = memchr(line, '\n', (size_t)(end - line));
		if (eol == NULL)
			break;
		if ((size_t)(eol - line) > nl && line[nl] == ':' &&
		    strncasecmp(line, name, nl) == 0) {
			const char *v = line + nl + 1;
			const char *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == '\r' || ve[-1] == ' ' ||
			    ve[-1] == '\t'))
				ve--;
			size_t n = (size_t)(ve - v);
			if (n >= cap)
				n = cap - 1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 1;
		}
		p = eol;
	}
	return 0;
}

int
wsc_http_get(const struct wsc_url *u, const char *path, long long deadline,
    int *status, struct lc_buf *body, char *err, size_t errcap)
{
	struct lc_buf in;
	char req[WSC_PREFIX_MAX + WSC_HOST_MAX + 256];
	int fd = -1, rc = -1, n;
	ssize_t head;

	*status = 0;
	buf_init(&in, WSC_HEAD_MAX + READ_CHUNK);
	buf_reset(body);
	n = snprintf(req, sizeof(req), "GET %s%s HTTP/1.0\r\nHost: %s\r\n"
	    "User-Agent: lightchat-admin\r\nAccept: */*\r\n\r\n", u->prefix,
	    path, u->hostport);
	if (n < 0 || (size_t)n >= sizeof(req)) {
		snprintf(err, errcap, "path too long");
		goto out;
	}
	if ((fd = conn_open(u, deadline, err, errcap)) < 0)
		goto out;
	if (send_all(fd, req, (size_t)n, deadline) != 0) {
		snprintf(err, errcap, "%s: %s", u->hostport, strerror(errno));
		goto out;
	}
	if ((head = read_head(fd, &in, deadline, err, errcap)) < 0)
		goto out;
	if ((*status = head_status(in.data)) < 0) {
		*status = 0;
		snprintf(err, errcap, "%s does not answer HTTP", u->hostport);
		goto out;
	}
	/* The body, as much as body holds; the rest is read and dropped. */
	if (buf_append(body, in.data + head, in.len - (size_t)head) !=
	    LC_BUF_OK)
		buf_append(body, in.data + head, body->max - body->len);
	for (;;) {
		buf_reset(&in);
		ssize_t r = read_some(fd, &in, deadline);
		if (r == 0)
			break;
		if (r < 0) {
			snprintf(err, errcap, "reading the answer: %s",
			    errno == ETIMEDOUT ? "timeout" : strerror(errno));
			goto out;
		}
		if (buf_append(body, in.data, in.len) != LC_BUF_OK)
			buf_append(body, in.data, body->max - body->len);
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	buf_free(&in);
	return rc;
}

void
wsc_init(struct wsc *c, size_t max)
{
	c->fd = -1;
	buf_init(&c->in, max + READ_CHUNK);
	buf_init(&c->msg, max);
	c->msg_op = 0;
}

/* base64 of n bytes at p into out (4 * ((n + 2) / 3) + 1 bytes). */
static void
base64(const unsigned char *p, size_t n, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
}

int
wsc_accept_of(const char *key, char out[WSC_ACCEPT_LEN + 1])
{
	char in[128];
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	int n = snprintf(in, sizeof(in), "%s%s", key, WS_GUID);

	if (n < 0 || (size_t)n >= sizeof(in) ||
	    EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL) != 1 ||
	    mdlen != 20)
		return -1;
	base64(md, mdlen, out);
	return 0;
}

int
wsc_open(struct wsc *c, const struct wsc_url *u, const char *path,
    const char *extra, long long deadline, int *status, char *err,
    size_t errcap)
{
	unsigned char raw[16];
	char key[25], want[WSC_ACCEPT_LEN + 1], got[128], up[64];
	struct lc_buf req;
	ssize_t head;
	int rc = -1;

	*status = 0;
	buf_init(&req, WSC_HEAD_MAX);
	if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
		snprintf(err, errcap, "no random bytes: %s", strerror(errno));
		goto out;
	}
	base64(raw, sizeof(raw), key);
	if (wsc_accept_of(key, want) != 0) {
		snprintf(err, errcap, "cannot compute the accept key");
		goto out;
	}
	if (buf_append_str(&req, "GET ") || buf_append_str(&req, u->prefix) ||
	    buf_append_str(&req, path) ||
	    buf_append_str(&req, " HTTP/1.1\r\nHost: ") ||
	    buf_append_str(&req, u->hostport) ||
	    buf_append_str(&req, "\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
	    "User-Agent: lightchat-admin\r\nSec-WebSocket-Key: ") ||
	    buf_append_str(&req, key) || buf_append_str(&req, "\r\n") ||
	    (extra != NULL && (buf_append_str(&req, extra) ||
	    buf_append_str(&req, "\r\n"))) || buf_append_str(&req, "\r\n")) {
		snprintf(err, errcap, "request too long");
		goto out;
	}
	if ((c->fd = conn_open(u, deadline, err, errcap)) < 0)
		goto out;
	if (send_all(c->fd, req.data, req.len, deadline) != 0) {
		snprintf(err, errcap, "%s: %s", u->hostport, strerror(errno));
		goto out;
	}
	if ((head = read_head(c->fd, &c->in, deadline, err, errcap)) < 0)
		goto out;
	*status = head_status(c->in.data);
	if (*status != 101) {
		snprintf(err, errcap, *status < 0 ? "not an HTTP answer" :
		    "refused: %d", *status);
		if (*status < 0)
			*status = 0;
		goto out;
	}
	if (!head_value(c->in.data, (size_t)head, "Upgrade", up, sizeof(up)) ||
	    strcasecmp(up, "websocket") != 0 ||
	    !head_value(c->in.data, (size_t)head, "Sec-WebSocket-Accept", got,
	    sizeof(got)) || strcmp(got, want) != 0) {
		snprintf(err, errcap, "bad upgrade answer (Upgrade or "
		    "Sec-WebSocket-Accept)");
		goto out;
	}
	buf_consume(&c->in, (size_t)head);
	rc = 0;
out:
	if (rc != 0 && c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	if (req.data != NULL)
		explicit_bzero(req.data, req.len);   /* extra: a cookie */
	buf_free(&req);
	return rc;
}

int
wsc_frame_parse(const unsigned char *p, size_t n, struct wsc_frame *f)
{
	unsigned long long len;
	size_t head = 2;

	if (n < 2)
		return 0;
	f->fin = (p[0] & 0x80) != 0;
	f->opcode = p[0] & 0x0f;
	if ((p[0] & 0x70) != 0 || (p[1] & 0x80) != 0)
		return -1;   /* reserved bits; servers do not mask */
	if (f->opcode > OP_BINARY && (f->opcode < OP_CLOSE ||
	    f->opcode > OP_PONG))
		return -1;
	len = p[1] & 0x7f;
	if (len == 126) {
		if (n < 4)
			return 0;
		len = (unsigned long long)p[2] << 8 | p[3];
		head = 4;
	} else if (len == 127) {
		if (n < 10)
			return 0;
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | p[i];
		if (len >> 63)
			return -1;
		head = 10;
	}
	if (f->opcode >= OP_CLOSE && (!f->fin || len > 125))
		return -1;
	f->len = len;
	f->head = head;
	return 1;
}

int
wsc_frame_build(struct lc_buf *out, int opcode, const void *p, size_t n,
    const unsigned char mask[4])
{
	unsigned char head[14], chunk[256];
	const unsigned char *in = p;
	size_t h = 0;

	head[h++] = (unsigned char)(0x80 | (opcode & 0x0f));
	if (n < 126) {
		head[h++] = (unsigned char)(0x80 | n);
	} else if (n <= 0xffff) {
		head[h++] = 0x80 | 126;
		head[h++] = (unsigned char)(n >> 8);
		head[h++] = (unsigned char)n;
	} else {
		head[h++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			head[h++] = (unsigned char)((unsigned long long)n >>
			    (8 * i));
	}
	memcpy(head + h, mask, 4);
	h += 4;
	if (buf_append(out, head, h) != LC_BUF_OK)
		return -1;
	for (size_t off = 0; off < n; off += sizeof(chunk)) {
		size_t k = n - off < sizeof(chunk) ? n - off : sizeof(chunk);
		for (size_t i = 0; i < k; i++)
			chunk[i] = in[off + i] ^ mask[(off + i) & 3];
		if (buf_append(out, chunk, k) != LC_BUF_OK)
			return -1;
	}
	return 0;
}

/* Sends one masked frame. Returns 0 or -1 with err. */
static int
send_frame(struct wsc *c, int opcode, const void *p, size_t n,
    long long deadline, char *err, size_t errcap)
{
	unsigned char mask[4];
	struct lc_buf f;
	int rc = -1;

	buf_init(&f, n + 14);
	if (getrandom(mask, sizeof(mask), 0) != (ssize_t)sizeof(mask) ||
	    wsc_frame_build(&f, opcode, p, n, mask) != 0) {
		snprintf(err, errcap, "cannot build a frame");
		goto out;
	}
	if (send_all(c->fd, f.data, f.len, deadline) != 0) {
		snprintf(err, errcap, "sending: %s", errno == ETIMEDOUT ?
		    "timeout" : strerror(errno));
		goto out;
	}
	rc = 0;
out:
	buf_free(&f);
	return rc;
}

int
wsc_send_text(struct wsc *c, const char *text, size_t len,
    long long deadline, char *err, size_t errcap)
{
	if (c->fd < 0) {
		snprintf(err, errcap, "not connected");
		return -1;
	}
	return send_frame(c, OP_TEXT, text, len, deadline, err, errcap);
}

int
wsc_recv(struct wsc *c, struct lc_buf *out, long long deadline, char *err,
    size_t errcap)
{
	buf_reset(out);
	if (c->fd < 0) {
		snprintf(err, errcap, "not connected");
		return -1;
	}
	for (;;) {
		struct wsc_frame f;
		int r = wsc_frame_parse((const unsigned char *)c->in.data,
		    c->in.len, &f);
		if (r < 0) {
			snprintf(err, errcap, "protocol error: a bad frame");
			return -1;
		}
		if (r == 1 && f.len > c->msg.max) {
			snprintf(err, errcap, "a frame of %llu bytes, over %zu",
			    f.len, c->msg.max);
			return -1;
		}
		if (r == 1 && c->in.len - f.head >= f.len) {
			const char *pl = c->in.data + f.head;
			size_t n = (size_t)f.len;
			int done = 0;

			switch (f.opcode) {
			case OP_PING:
				if (send_frame(c, OP_PONG, pl, n, deadline, err,
				    errcap) != 0)
					return -1;
				break;
			case OP_PONG:
				break;
			case OP_CLOSE:
				buf_consume(&c->in, f.head + n);
				return 0;
			case OP_CONT:
			case OP_TEXT:
			case OP_BINARY:
				if ((f.opcode == OP_CONT) != (c->msg_op != 0)) {
					snprintf(err, errcap, "protocol error: "
					    "bad fragments");
					return -1;
				}
				if (f.opcode != OP_CONT)
					c->msg_op = f.opcode;
				if (buf_append(&c->msg, pl, n) != LC_BUF_OK) {
					snprintf(err, errcap, "a message over "
					    "%zu bytes", c->msg.max);
					return -1;
				}
				done = f.fin;
				break;
			}
			buf_consume(&c->in, f.head + n);
			if (done) {
				c->msg_op = 0;
				int a = buf_append(out, c->msg.data, c->msg.len);
				buf_reset(&c->msg);
				if (a != LC_BUF_OK) {
					snprintf(err, errcap, "a message over "
					    "%zu bytes", out->max);
					return -1;
				}
				return 1;
			}
			continue;
		}
		ssize_t n = read_some(c->fd, &c->in, deadline);
		if (n == 0)
			return 0;
		if (n < 0) {
			snprintf(err, errcap, "%s", errno == ETIMEDOUT ?
			    "timeout" : strerror(errno));
			return -1;
		}
	}
}

void
wsc_close(struct wsc *c)
{
	char err[64];

	if (c == NULL)
		return;
	if (c->fd >= 0) {
		/* 1000, normal closure; not waited for. */
		static const unsigned char normal[2] = { 0x03, 0xe8 };
		send_frame(c, OP_CLOSE, normal, sizeof(normal),
		    monotime_ms() + 1000, err, sizeof(err));
		close(c->fd);
		c->fd = -1;
	}
	buf_free(&c->in);
	buf_free(&c->msg);
}
