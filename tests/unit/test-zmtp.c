/* test-zmtp.c - unit tests of ws/zmtp.c, the session's own ZMTP 3.0
 * DEALER, against libzmq's real ROUTER (what the worker binds), and against
 * a raw socket that sends crafted bytes (what libzmq never would). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <zmq.h>

#include "monotime.h"
#include "zmtp.h"
#include "unit.h"

static char dir[] = "/tmp/lc-zmtp-XXXXXX";
static char endpoint[220], path[100];

/* Runs the peer's loop for up to ms, until done(arg) is true. Returns the
 * last zmtp_service/zmtp_recv error (0 if none); received messages are
 * counted into *got and the last kept in last/last_n. */
static struct zmtp_part last[ZMTP_MAX_PARTS];
static int last_n, got;
static char last_copy[2][100000];

static int
pump(struct zmtp *z, int ms, int (*done)(void *), void *arg)
{
	struct timespec t0;

	monotime_now(&t0);
	while (monotime_ms_since(&t0) < ms) {
		if (done != NULL && done(arg))
			return 0;
		struct pollfd pfd = { zmtp_fd(z), zmtp_events(z), 0 };
		int t = zmtp_timeout_ms(z);
		if (t < 0 || t > 10)
			t = 10;
		(void)poll(&pfd, pfd.fd >= 0 ? 1 : 0, t);
		if (zmtp_service(z, pfd.revents) != ZMTP_OK)
			return ZMTP_ERR;
		int r;
		while ((r = zmtp_recv(z, last, &last_n)) == 1) {
			got++;
			for (int i = 0; i < 2 && i < last_n; i++) {
				size_t n = last[i].len < sizeof(last_copy[i]) - 1 ?
				    last[i].len : sizeof(last_copy[i]) - 1;
				memcpy(last_copy[i], last[i].data, n);
				last_copy[i][n] = '\0';
			}
		}
		if (r != 0)
			return ZMTP_ERR;
	}
	return done == NULL ? 0 : (done(arg) ? 0 : -2);
}

/* A libzmq ROUTER message: up to 12 frames, the first the peer's id. */
struct zmsg {
	int n;
	size_t len[12];
	char data[12][4096];
	int truncated;
};

static int
router_recv(void *router, struct zmsg *m)
{
	int more = 1;

	m->n = 0;
	m->truncated = 0;
	while (more) {
		if (m->n == 12)
			return -1;
		int r = zmq_recv(router, m->data[m->n], sizeof(m->data[0]),
		    m->n == 0 ? ZMQ_DONTWAIT : 0);
		if (r < 0)
			return -1;
		if ((size_t)r > sizeof(m->data[0]))
			m->truncated = 1;
		m->len[m->n++] = (size_t)r;
		size_t sz = sizeof(more);
		zmq_getsockopt(router, ZMQ_RCVMORE, &more, &sz);
	}
	return 0;
}

struct router_wait {
	void *router;
	struct zmsg msg;
	int have;
};

static int
router_has(void *arg)
{
	struct router_wait *w = arg;

	if (!w->have && router_recv(w->router, &w->msg) == 0)
		w->have = 1;
	return w->have;
}

static int
got_at_least(void *arg)
{
	return got >= *(int *)arg;
}

static void *
new_router(void *ctx)
{
	void *r = zmq_socket(ctx, ZMQ_ROUTER);
	int zero = 0;

	zmq_setsockopt(r, ZMQ_LINGER, &zero, sizeof(zero));
	if (zmq_bind(r, endpoint) != 0) {
		printf("# bind %s: %s\n", endpoint, zmq_strerror(errno));
		zmq_close(r);
		return NULL;
	}
	return r;
}

static void
test_endpoints(void)
{
	struct zmtp z;
	char err[200];
	char longp[300];

	memset(longp, 'a', sizeof(longp));
	memcpy(longp, "ipc:///", 7);
	longp[sizeof(longp) - 1] = '\0';
	const char *bad[] = { "http://x", "tcp://nohostport", "ipc://",
	    "tcp://127.0.0.1:", "tcp://127.0.0.1:12ab", "tcp://:5555",
	    "tcp://127.0.0.1:0", "tcp://127.0.0.1:65536",
	    "tcp://worker.example:5555", "tcp://[::1:5555", longp };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		int r = zmtp_init(&z, bad[i], 1024, 1024, err, sizeof(err));
		char label[120];
		snprintf(label, sizeof(label), "endpoint refused: %.40s",
		    bad[i]);
		CHECK(r == ZMTP_ERR && err[0] != '\0', label);
		zmtp_close(&z);
	}
	const char *good[] = { "ipc:///tmp/x.sock", "ipc://@abstract",
	    "tcp://127.0.0.1:5555", "tcp://[::1]:5555", "tcp://localhost:1" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int r = zmtp_init(&z, good[i], 1024, 1024, err, sizeof(err));
		char label[120];
		snprintf(label, sizeof(label), "endpoint accepted: %s", good[i]);
		CHECK(r == ZMTP_OK && zmtp_fd(&z) == -1, label);
		zmtp_close(&z);
	}
}

static void
test_with_router(void)
{
	struct zmtp z;
	char err[200], big[300], huge[70000];
	void *ctx = zmq_ctx_new(), *router = NULL;
	struct router_wait w = { 0 };
	int want;

	memset(big, 'b', sizeof(big));
	memset(huge, 'h', sizeof(huge));
	CHECK(zmtp_init(&z, endpoint, 100000, 4096, err, sizeof(err)) ==
	    ZMTP_OK, "router: init");

	/* Sent before the worker is there: queued, delivered once it binds. */
	struct zmtp_part parts[3] = {
		{ "kind", 4 }, { big, sizeof(big) }, { "", 0 },
	};
	CHECK(zmtp_send(&z, parts, 3) == ZMTP_OK, "queued while nobody listens");
	CHECK(pump(&z, 250, NULL, NULL) == 0 && zmtp_fd(&z) == -1,
	    "no endpoint yet: retries, no error");
	router = new_router(ctx);
	w.router = router;
	CHECK(router != NULL, "router bound");
	CHECK(pump(&z, 3000, router_has, &w) == 0, "queued message arrives");
	CHECK(w.have && w.msg.n == 4, "router sees id + 3 frames");
	CHECK(w.msg.len[1] == 4 && memcmp(w.msg.data[1], "kind", 4) == 0,
	    "frame 1 intact");
	CHECK(w.msg.len[2] == sizeof(big) && memcmp(w.msg.data[2], big,
	    sizeof(big)) == 0, "long frame (over 255 bytes) intact");
	CHECK(w.msg.len[3] == 0, "empty last frame intact");

	/* Router -> peer: two frames, one of 70000 bytes. */
	size_t idlen = w.msg.len[0];
	char id[256];
	memcpy(id, w.msg.data[0], idlen);
	got = 0;
	want = 1;
	zmq_send(router, id, idlen, ZMQ_SNDMORE);
	zmq_send(router, "line", 4, ZMQ_SNDMORE);
	zmq_send(router, huge, sizeof(huge), 0);
	CHECK(pump(&z, 3000, got_at_least, &want) == 0 && last_n == 2,
	    "peer receives a two-frame message");
	CHECK(last[1].len == sizeof(huge) && strcmp(last_copy[0], "line") == 0 &&
	    last_copy[1][0] == 'h' && last_copy[1][sizeof(huge) - 1] == 'h',
	    "70000-byte frame intact");

	/* Ten frames: all counted, the first ZMTP_MAX_PARTS handed out. */
	got = 0;
	zmq_send(router, id, idlen, ZMQ_SNDMORE);
	for (int i = 0; i < 10; i++) {
		char f[2] = { (char)('0' + i), '\0' };
		zmq_send(router, f, 1, i < 9 ? ZMQ_SNDMORE : 0);
	}
	CHECK(pump(&z, 3000, got_at_least, &want) == 0 && last_n == 10 &&
	    strcmp(last_copy[1], "1") == 0, "ten frames counted");

	/* Many small messages in one burst arrive whole and in order. */
	got = 0;
	want = 500;
	for (int i = 0; i < 500; i++) {
		char f[16];
		int n = snprintf(f, sizeof(f), "%d", i);
		zmq_send(router, id, idlen, ZMQ_SNDMORE);
		zmq_send(router, "line", 4, ZMQ_SNDMORE);
		zmq_send(router, f, (size_t)n, 0);
	}
	CHECK(pump(&z, 5000, got_at_least, &want) == 0 && got == 500 &&
	    strcmp(last_copy[1], "499") == 0, "500 messages, in order");

	/* The queue is bounded: ZMTP_FULL, nothing half queued. */
	struct zmtp_part fat = { huge, 5000 };
	CHECK(zmtp_send(&z, &fat, 1) == ZMTP_FULL, "over the queue: FULL");

	/* The worker restarts: the peer reconnects and what it sends after
	 * reaches the new one. */
	zmq_close(router);
	router = NULL;
	CHECK(pump(&z, 300, NULL, NULL) == 0, "worker gone: no error");
	router = new_router(ctx);
	w.router = router;
	w.have = 0;
	struct zmtp_part again[2] = { { "msg", 3 }, { "after", 5 } };
	CHECK(zmtp_send(&z, again, 2) == ZMTP_OK, "send after the restart");
	CHECK(pump(&z, 3000, router_has, &w) == 0 && w.msg.n == 3 &&
	    memcmp(w.msg.data[2], "after", 5) == 0,
	    "new worker receives it");
	CHECK(z.state == ZMTP_READY, "peer ready again");
	CHECK(zmtp_flush(&z, 1000) == ZMTP_OK, "flush with nothing queued");

	zmq_close(router);
	zmq_ctx_term(ctx);
	zmtp_close(&z);
}

/* ---- a raw server: bytes libzmq would never send ---- */

static const unsigned char greeting[64] = {
	0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'N', 'U', 'L', 'L',
};

/* Appends a READY command with the given Socket-Type to b. */
static size_t
ready_cmd(unsigned char *b, const char *type)
{
	size_t n = 0, tl = strlen(type);

	b[n++] = 0x04;
	b[n++] = (unsigned char)(6 + 1 + 11 + 4 + tl);
	b[n++] = 5;
	memcpy(b + n, "READY", 5);
	n += 5;
	b[n++] = 11;
	memcpy(b + n, "socket-type", 11);  /* names are case-insensitive */
	n += 11;
	b[n++] = 0;
	b[n++] = 0;
	b[n++] = 0;
	b[n++] = (unsigned char)tl;
	memcpy(b + n, type, tl);
	return n + tl;
}

/* Listens on path2, lets a peer connect, checks its handshake, sends the
 * crafted bytes and pumps. Returns the pump result; *reconnected tells
 * whether the peer connected a second time. */
static int
raw_case(const unsigned char *bytes, size_t len, int *reconnected,
    int *messages)
{
	char ep[120], p2[100], err[200];
	struct sockaddr_un sa;
	struct zmtp z;
	unsigned char hs[128];
	int ls = socket(AF_UNIX, SOCK_STREAM, 0), cs = -1, rc;

	snprintf(p2, sizeof(p2), "%s/raw.sock", dir);
	snprintf(ep, sizeof(ep), "ipc://%s", p2);
	unlink(p2);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p2);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(ls, 4) != 0)
		return -9;
	zmtp_init(&z, ep, 1000, 4096, err, sizeof(err));
	pump(&z, 50, NULL, NULL);
	cs = accept(ls, NULL, NULL);
	ssize_t n = cs >= 0 ? read(cs, hs, sizeof(hs)) : -1;
	rc = n >= 64 + 43 && hs[0] == 0xff && hs[9] == 0x7f && hs[10] == 3 &&
	    memcmp(hs + 12, "NULL", 5) == 0 && hs[64] == 0x04 &&
	    memcmp(hs + 67, "READY", 5) == 0 &&
	    memcmp(hs + 64 + 43 - 19, "DEALER", 6) == 0 ? 0 : -8;
	if (rc == 0 && write(cs, bytes, len) != (ssize_t)len)
		rc = -7;
	got = 0;
	if (rc == 0)
		rc = pump(&z, 300, NULL, NULL);
	*messages = got;
	*reconnected = 0;
	struct pollfd pfd = { ls, POLLIN, 0 };
	if (poll(&pfd, 1, 0) == 1) {
		int c2 = accept(ls, NULL, NULL);
		*reconnected = c2 >= 0;
		if (c2 >= 0)
			close(c2);
	}
	zmtp_close(&z);
	if (cs >= 0)
		close(cs);
	close(ls);
	unlink(p2);
	return rc;
}

static void
test_raw(void)
{
	unsigned char b[4096];
	size_t n;
	int rec, msgs;

	memset(b, 0, sizeof(b));
	memcpy(b, "HTTP/1.0 200 OK\r\n", 17);
	CHECK(raw_case(b, 64, &rec, &msgs) == ZMTP_ERR,
	    "a peer that is not ZMTP: error");

	memcpy(b, greeting, 64);
	n = 64 + ready_cmd(b + 64, "PUB");
	CHECK(raw_case(b, n, &rec, &msgs) == ZMTP_ERR,
	    "a peer that is not a ROUTER: error");

	n = 64 + ready_cmd(b + 64, "ROUTER");
	size_t base = n;
	b[n++] = 0x00;
	b[n++] = 2;
	b[n++] = 'h';
	b[n++] = 'i';
	CHECK(raw_case(b, n, &rec, &msgs) == 0 && msgs == 1,
	    "ROUTER with a lower-case property name: one message");

	n = base;
	b[n++] = 0x80;
	b[n++] = 0;
	CHECK(raw_case(b, n, &rec, &msgs) == ZMTP_ERR, "reserved flag bits: error");

	n = base;
	b[n++] = 0x02;
	memcpy(b + n, "\0\0\1\0\0\0\0\0", 8);  /* 2^40 bytes announced */
	n += 8;
	CHECK(raw_case(b, n, &rec, &msgs) == ZMTP_ERR,
	    "frame over max_msg: error before its body");

	n = base;
	b[n++] = 0x01;
	b[n++] = 0;
	b[n++] = 0x04;
	b[n++] = 5;
	memcpy(b + n, "\4PING", 5);
	n += 5;
	CHECK(raw_case(b, n, &rec, &msgs) == ZMTP_ERR,
	    "command inside a message: error");

	n = 64;
	memcpy(b, greeting, 64);
	b[n++] = 0x00;
	b[n++] = 0;
	CHECK(raw_case(b, n, &rec, &msgs) == ZMTP_ERR,
	    "message before READY: error");

	memcpy(b, greeting, 64);
	n = 64 + ready_cmd(b + 64, "ROUTER");
	b[n++] = 0x04;
	b[n++] = 7;
	memcpy(b + n, "\5ERROR\0", 7);
	n += 7;
	CHECK(raw_case(b, n, &rec, &msgs) == 0 && rec,
	    "ERROR command: dropped and reconnected, no error");

	n = base;
	b[n++] = 0x04;
	b[n++] = 7;
	memcpy(b + n, "\4PING\0\0", 7);
	n += 7;
	b[n++] = 0x00;
	b[n++] = 1;
	b[n++] = 'x';
	CHECK(raw_case(b, n, &rec, &msgs) == 0 && msgs == 1 && !rec,
	    "unknown command ignored, message after it delivered");

	n = base;
	for (int i = 0; i < 1100; i++) {
		b[n++] = 0x01;
		b[n++] = 0;
	}
	b[n++] = 0;
	b[n++] = 0;
	CHECK(raw_case(b, n, &rec, &msgs) == ZMTP_ERR,
	    "over 1024 frames in one message: error");

	n = 64;
	memcpy(b, greeting, 64);
	b[n++] = 0x04;
	b[n++] = 3;
	memcpy(b + n, "\7RE", 3);  /* name longer than the command */
	n += 3;
	CHECK(raw_case(b, n, &rec, &msgs) == ZMTP_ERR,
	    "malformed command: error");
}

/* Accepts on ls within 2 s while pumping the peer. Returns the socket. */
static int
accept_pumping(int ls, struct zmtp *z)
{
	for (int i = 0; i < 200; i++) {
		struct pollfd pfd = { ls, POLLIN, 0 };
		if (poll(&pfd, 1, 0) == 1)
			return accept(ls, NULL, NULL);
		pump(z, 10, NULL, NULL);
	}
	return -1;
}

/* The worker stops reading, the queue fills and is compacted, then the
 * connection breaks: the next worker receives only whole messages, in
 * order, each intact. */
static void
test_queue_across_a_break(void)
{
	char ep[120], p2[100], err[200], msg[20000];
	unsigned char hello[128], *got_bytes = NULL;
	struct sockaddr_un sa;
	struct zmtp z;
	int ls = socket(AF_UNIX, SOCK_STREAM, 0), cs, sent = 0, full = 0;
	size_t n = 64 + ready_cmd(hello + 64, "ROUTER"), have = 0;

	memcpy(hello, greeting, 64);
	snprintf(p2, sizeof(p2), "%s/q.sock", dir);
	snprintf(ep, sizeof(ep), "ipc://%s", p2);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", p2);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
	    listen(ls, 4) != 0) {
		CHECK(0, "queue test: listen");
		return;
	}
	/* With a small socket buffer the first 20000-byte message is written
	 * in part; three more fit a 76000-byte queue only once the written
	 * part is reclaimed, which leaves the queue starting mid-message unless
	 * the reclaim stops at a message edge. */
	zmtp_init(&z, ep, 1000, 76000, err, sizeof(err));
	cs = accept_pumping(ls, &z);
	CHECK(cs >= 0 && write(cs, hello, n) == (ssize_t)n, "queue test: ready");
	pump(&z, 100, NULL, NULL);
	/* A small socket buffer: writes stop in the middle of a message. */
	int small = 3000;
	setsockopt(zmtp_fd(&z), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	/* The worker reads nothing: the socket buffer fills, then the queue. */
	for (int i = 0; i < 5000 && full < 50; i++) {
		memset(msg, 'a' + i % 26, sizeof(msg));
		snprintf(msg, sizeof(msg), "%08d", i);
		struct zmtp_part part = { msg, sizeof(msg) };
		int r = zmtp_send(&z, &part, 1);
		if (r == ZMTP_OK)
			sent = i + 1;
		else
			full++;
		pump(&z, 1, NULL, NULL);
	}
	CHECK(full > 0, "queue test: the queue fills (FULL)");
	close(cs);  /* the worker dies with bytes unread */
	cs = accept_pumping(ls, &z);
	CHECK(cs >= 0 && write(cs, hello, n) == (ssize_t)n, "queue test: reconnected");
	got_bytes = malloc(1 << 20);
	for (int i = 0; i < 100 && cs >= 0 && got_bytes != NULL; i++) {
		pump(&z, 10, NULL, NULL);
		struct pollfd pfd = { cs, POLLIN, 0 };
		while (poll(&pfd, 1, 0) == 1) {
			ssize_t r = read(cs, got_bytes + have, (1 << 20) - have);
			if (r <= 0)
				break;
			have += (size_t)r;
		}
	}
	/* Their handshake, then whole 20000-byte messages in rising order. */
	size_t pos = 107;
	int frames = 0, ok = have >= pos, prev = -1;
	while (ok && pos < have) {
		ok = have - pos >= 9 && got_bytes[pos] == 0x02;
		uint64_t len = 0;
		for (int i = 0; ok && i < 8; i++)
			len = len << 8 | got_bytes[pos + 1 + i];
		ok = ok && len == sizeof(msg) && have - pos - 9 >= sizeof(msg);
		if (!ok)
			break;
		char num[9];
		memcpy(num, got_bytes + pos + 9, 8);
		num[8] = '\0';
		int k = atoi(num);
		ok = k > prev && k < sent && got_bytes[pos + 9 + sizeof(msg) - 1] ==
		    (unsigned char)('a' + k % 26);
		prev = k;
		pos += 9 + sizeof(msg);
		frames++;
	}
	CHECK(ok && frames > 0, "queue test: the new worker gets whole messages, in order");
	printf("# %d sent, %d received after the break, prev %d\n", sent,
	    frames, prev);
	CHECK(prev == sent - 1, "queue test: the last message queued arrives");
	free(got_bytes);
	zmtp_close(&z);
	if (cs >= 0)
		close(cs);
	close(ls);
	unlink(p2);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/w.sock", dir);
	snprintf(endpoint, sizeof(endpoint), "ipc://%s", path);
	test_endpoints();
	test_with_router();
	test_raw();
	test_queue_across_a_break();
	unlink(path);
	rmdir(dir);
	UNIT_EXIT();
}
