/* test-router.c - unit tests of worker/router.c, the worker's own ZMTP 3.0
 * ROUTER: against libzmq's real DEALER (what a libzmq client would be),
 * against the session's own DEALER (ws/zmtp.c, what lightchat-ws is), and
 * against a raw socket that sends crafted bytes (what neither ever would). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <zmq.h>

#include "monotime.h"
#include "router.h"
#include "zmtp.h"
#include "unit.h"

static char dir[] = "/tmp/lc-router-XXXXXX";
static char endpoint[220], path[100];
static const struct router_limits lim = { 1 << 20, 8, 64, 4 << 20 };

/* Services r for ms milliseconds, or until done(arg). Received messages
 * are copied into got_* (their data last pointed at is gone after the
 * router_recv that returned 0). */
static struct router_msg last;
static int got;
static char got_body[8][310000];
static char got_kind[8][64];
static size_t got_kindlen[8];
static int got_n[8];
static size_t got_len[8];
static unsigned char got_id[8][256];
static size_t got_idlen[8];

static void
take(struct router *r)
{
	while (router_recv(r, &last) == 1) {
		int k = got % 8;
		int f = last.n < ZMTP_MAX_PARTS ? last.n : ZMTP_MAX_PARTS;
		size_t n = f > 0 ? last.parts[f - 1].len : 0;
		if (n > sizeof(got_body[0]))
			n = sizeof(got_body[0]);
		memcpy(got_body[k], n > 0 ? last.parts[f - 1].data : "", n);
		got_len[k] = n;
		got_n[k] = last.n;
		got_kindlen[k] = last.parts[0].len < 64 ? last.parts[0].len : 64;
		memcpy(got_kind[k], last.parts[0].data, got_kindlen[k]);
		memcpy(got_id[k], last.id, last.idlen);
		got_idlen[k] = last.idlen;
		got++;
	}
}

static int
pump(struct router *r, struct zmtp *z, int ms, int (*done)(void *),
    void *arg)
{
	struct timespec t0;

	monotime_now(&t0);
	while (monotime_ms_since(&t0) < ms) {
		if (done != NULL && done(arg))
			return 1;
		struct pollfd pfd[2] = { { router_fd(r), POLLIN, 0 },
		    { z != NULL ? zmtp_fd(z) : -1, z != NULL ? zmtp_events(z) :
		    0, 0 } };
		router_flush(r);
		(void)poll(pfd, 2, router_pending(r) ? 0 : 5);
		if (pfd[0].revents)
			router_service(r);
		take(r);
		if (z != NULL) {
			struct zmtp_part parts[ZMTP_MAX_PARTS];
			int n;
			if (zmtp_service(z, pfd[1].revents) != ZMTP_OK)
				return -1;
			while (zmtp_recv(z, parts, &n) == 1) {
				int k = got % 8;
				size_t len = parts[n - 1].len < sizeof(got_body[0]) ?
				    parts[n - 1].len : sizeof(got_body[0]);
				memcpy(got_body[k], parts[n - 1].data, len);
				got_len[k] = len;
				got_idlen[k] = 0;
				got++;
			}
		}
	}
	return done == NULL ? 1 : done(arg);
}

static int
got_at_least(void *arg)
{
	return got >= *(int *)arg;
}

static int
peers_are(void *arg)
{
	struct { struct router *r; size_t n; } *w = arg;

	return router_peers(w->r) == w->n;
}

static void *
new_dealer(void *ctx, const char *id)
{
	void *d = zmq_socket(ctx, ZMQ_DEALER);
	int zero = 0;

	zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof(zero));
	if (id != NULL)
		zmq_setsockopt(d, ZMQ_ROUTING_ID, id, strlen(id));
	if (zmq_connect(d, endpoint) != 0) {
		printf("# connect %s: %s\n", endpoint, zmq_strerror(errno));
		zmq_close(d);
		return NULL;
	}
	return d;
}

/* Waits (servicing r) for a libzmq DEALER's message: its frames into
 * frames/lens. Returns the frame count, or -1. */
static int
dealer_recv(struct router *r, void *d, char frames[4][256], size_t lens[4])
{
	struct timespec t0;

	monotime_now(&t0);
	while (monotime_ms_since(&t0) < 3000) {
		int n = 0, more = 1;
		int k = zmq_recv(d, frames[0], 255, ZMQ_DONTWAIT);
		if (k < 0) {
			pump(r, NULL, 5, NULL, NULL);
			continue;
		}
		lens[n++] = (size_t)k;
		for (;;) {
			size_t sz = sizeof(more);
			zmq_getsockopt(d, ZMQ_RCVMORE, &more, &sz);
			if (!more || n == 4)
				break;
			k = zmq_recv(d, frames[n], 255, 0);
			lens[n++] = k < 0 ? 0 : (size_t)k;
		}
		return n;
	}
	return -1;
}

static void
test_endpoints(void)
{
	char err[200];
	const char *bad[] = { "http://x", "tcp://nohostport", "ipc://",
	    "tcp://127.0.0.1:0", "tcp://example.org:5555", NULL };

	for (int i = 0; bad[i] != NULL; i++) {
		err[0] = '\0';
		struct router *r = router_new(bad[i], &lim, err, sizeof(err));
		char name[120];
		snprintf(name, sizeof(name), "bad endpoint refused: %s", bad[i]);
		CHECK(r == NULL && err[0] != '\0', name);
		router_free(r);
	}
	struct router *r = router_new("ipc:///nonexistent-dir/x.sock", &lim,
	    err, sizeof(err));
	CHECK(r == NULL && strstr(err, "bind") != NULL,
	    "an ipc path that cannot be bound: a sentence naming bind");
	router_free(r);
	router_free(NULL);
}

/* libzmq's DEALER: a generated identity, multipart both ways, done. */
static size_t done_bytes;
static int done_calls;

static void
on_done(void *arg, size_t n)
{
	(void)arg;
	done_bytes += n;
	done_calls++;
}

static void
test_libzmq_dealer(void)
{
	char err[200];
	struct router *r = router_new(endpoint, &lim, err, sizeof(err));
	void *ctx = zmq_ctx_new();

	CHECK(r != NULL, "router binds ipc");
	if (r == NULL)
		return;
	struct stat st;
	CHECK(stat(path, &st) == 0 && S_ISSOCK(st.st_mode),
	    "the ipc socket file exists");
	void *d = new_dealer(ctx, NULL);
	zmq_send(d, "hello", 5, ZMQ_SNDMORE);
	zmq_send(d, "", 0, ZMQ_SNDMORE);
	zmq_send(d, "body", 4, 0);
	int want = 1;
	got = 0;
	pump(r, NULL, 3000, got_at_least, &want);
	CHECK(got == 1, "libzmq DEALER: its message arrives");
	CHECK(got_n[0] == 3 && got_kindlen[0] == 5 &&
	    memcmp(got_kind[0], "hello", 5) == 0 && got_len[0] == 4 &&
	    memcmp(got_body[0], "body", 4) == 0,
	    "... whole: its three frames");
	CHECK(got_idlen[0] == 5 && got_id[0][0] == 0,
	    "... with a generated 5-byte identity starting with a zero byte");
	CHECK(last.fd >= 0, "... and its connection's descriptor");

	unsigned char id[256];
	size_t idlen = got_idlen[0];
	memcpy(id, got_id[0], idlen);
	struct zmtp_part parts[2] = { { "line", 4 }, { "{\"a\":1}", 7 } };
	struct router_done done = { on_done, NULL, 123 };
	done_bytes = 0;
	done_calls = 0;
	CHECK(router_send(r, id, idlen, parts, 2, &done) == ROUTER_SENT,
	    "a reply to that identity is queued");
	CHECK(done_calls == 0, "... its done is not told from router_send");
	char frames[4][256];
	size_t lens[4];
	int n = dealer_recv(r, d, frames, lens);
	CHECK(n == 2 && lens[0] == 4 && memcmp(frames[0], "line", 4) == 0 &&
	    lens[1] == 7 && memcmp(frames[1], "{\"a\":1}", 7) == 0,
	    "... and the DEALER gets its two frames");
	CHECK(done_calls == 1 && done_bytes == 123,
	    "... its done told once, with its n, once written");

	unsigned char other[5] = { 0, 1, 2, 3, 4 };
	CHECK(router_send(r, other, 5, parts, 2, NULL) == ROUTER_GONE,
	    "an identity not connected: ROUTER_GONE (as ROUTER_MANDATORY)");

	/* A PING (ZMTP 3.1 heartbeat) from libzmq is answered: its
	 * connection stays up past a timeout of 300 ms. */
	void *hb = zmq_socket(ctx, ZMQ_DEALER);
	int ivl = 50, tmo = 300, zero = 0;
	zmq_setsockopt(hb, ZMQ_LINGER, &zero, sizeof(zero));
	zmq_setsockopt(hb, ZMQ_HEARTBEAT_IVL, &ivl, sizeof(ivl));
	zmq_setsockopt(hb, ZMQ_HEARTBEAT_TIMEOUT, &tmo, sizeof(tmo));
	zmq_connect(hb, endpoint);
	zmq_send(hb, "one", 3, 0);
	got = 0;
	pump(r, NULL, 1200, NULL, NULL);
	zmq_send(hb, "two", 3, 0);
	pump(r, NULL, 500, NULL, NULL);
	CHECK(got == 2 && got_idlen[0] == got_idlen[1] &&
	    memcmp(got_id[0], got_id[1], got_idlen[0]) == 0,
	    "libzmq heartbeats (PING) are answered: one connection for 1.7 s");
	zmq_close(hb);

	/* The DEALER goes: its identity is gone. */
	zmq_close(d);
	struct { struct router *r; size_t n; } w = { r, 0 };
	pump(r, NULL, 3000, peers_are, &w);
	CHECK(router_peers(r) == 0, "closed DEALERs: their connections go");
	CHECK(router_send(r, id, idlen, parts, 2, NULL) == ROUTER_GONE,
	    "... and sending to one is ROUTER_GONE");

	/* An identity of its own: kept; a second DEALER with the same is
	 * refused. */
	void *a = new_dealer(ctx, "alice");
	zmq_send(a, "x", 1, 0);
	want = 1;
	got = 0;
	pump(r, NULL, 3000, got_at_least, &want);
	void *b = new_dealer(ctx, "alice");   /* after a's handshake */
	pump(r, NULL, 300, NULL, NULL);
	CHECK(got >= 1 && got_idlen[0] == 5 && memcmp(got_id[0], "alice",
	    5) == 0, "a DEALER's own identity is kept");
	CHECK(router_peers(r) == 1, "... and a second DEALER naming it is "
	    "closed");
	zmq_close(a);
	zmq_close(b);
	zmq_ctx_term(ctx);
	router_free(r);
	CHECK(stat(path, &st) != 0 && errno == ENOENT,
	    "router_free removes the ipc file");
}

/* The session's own DEALER: both ends ours; order, size, fairness. */
static void
test_own_dealer(void)
{
	char err[200];
	struct router *r = router_new(endpoint, &lim, err, sizeof(err));
	struct zmtp z, z2;

	CHECK(r != NULL, "router binds again (the file was removed)");
	if (r == NULL)
		return;
	CHECK(zmtp_init(&z, endpoint, 1 << 20, 1 << 22, err, sizeof(err)) ==
	    ZMTP_OK && zmtp_init(&z2, endpoint, 1 << 20, 1 << 22, err,
	    sizeof(err)) == ZMTP_OK, "two session DEALERs");
	for (int i = 0; i < 3; i++) {
		char b[16];
		snprintf(b, sizeof(b), "a%d", i);
		struct zmtp_part p[2] = { { "msg", 3 }, { b, strlen(b) } };
		zmtp_send(&z, p, 2);
		snprintf(b, sizeof(b), "b%d", i);
		p[1].len = strlen(b);
		zmtp_send(&z2, p, 2);
	}
	/* Both connect, handshake and write all (the router reads and
	 * queues, taking nothing); then a few turns more, then it is read. */
	struct timespec t0;
	int settled = 0;
	monotime_now(&t0);
	while (settled < 20 && monotime_ms_since(&t0) < 5000) {
		if (z.state == ZMTP_READY && z2.state == ZMTP_READY &&
		    z.out.len == 0 && z2.out.len == 0)
			settled++;
		struct pollfd pfd[3] = { { router_fd(r), POLLIN, 0 },
		    { zmtp_fd(&z), zmtp_events(&z), 0 },
		    { zmtp_fd(&z2), zmtp_events(&z2), 0 } };
		router_flush(r);
		(void)poll(pfd, 3, 5);
		if (pfd[0].revents)
			router_service(r);
		zmtp_service(&z, pfd[1].revents);
		zmtp_service(&z2, pfd[2].revents);
	}
	got = 0;
	take(r);
	CHECK(got == 6, "six messages from two DEALERs");
	int fair = got == 6;
	char other = got_body[0][0] == 'a' ? 'b' : 'a';
	for (int i = 0; i < got && i < 6; i++)
		fair = fair && got_body[i][0] == (i % 2 ? other : got_body[0][0]);
	CHECK(fair, "... read fairly: a message from each in turn");

	/* A large message each way, bytes exact. */
	static char big[300000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	struct zmtp_part bp[2] = { { "msg", 3 }, { big, sizeof(big) } };
	CHECK(zmtp_send(&z, bp, 2) == ZMTP_OK, "a 300 kB message queued");
	int want = 1;
	got = 0;
	pump(r, &z, 3000, got_at_least, &want);
	CHECK(got == 1 && got_n[0] == 2 && got_len[0] == sizeof(big) &&
	    memcmp(got_body[0], big, sizeof(big)) == 0,
	    "... arrives whole at the router");
	unsigned char id[256];
	size_t idlen = last.idlen;
	memcpy(id, last.id, idlen);
	struct zmtp_part rp[2] = { { "line", 4 }, { big, sizeof(big) } };
	CHECK(router_send(r, id, idlen, rp, 2, NULL) == ROUTER_SENT,
	    "... and one sent back");
	got = 0;
	pump(r, &z, 3000, got_at_least, &want);
	CHECK(got == 1 && got_len[0] == sizeof(big) &&
	    memcmp(got_body[0], big, sizeof(big)) == 0,
	    "... arrives whole at the DEALER");

	/* A message and a close at once: the message is still read. */
	struct zmtp_part bye[2] = { { "bye", 3 }, { "", 0 } };
	zmtp_send(&z2, bye, 2);
	zmtp_flush(&z2, 1000);
	zmtp_close(&z2);
	got = 0;
	pump(r, &z, 1000, got_at_least, &want);
	CHECK(got == 1 && got_kindlen[0] == 3 &&
	    memcmp(got_kind[0], "bye", 3) == 0,
	    "a message written just before its peer closed is read");
	struct { struct router *r; size_t n; } w = { r, 1 };
	pump(r, &z, 2000, peers_are, &w);
	CHECK(router_peers(r) == 1, "... and then its connection goes");

	/* The queue bound: queue_msgs messages, then ROUTER_FULL until the
	 * socket took them. */
	int full = 0, sent = 0;
	done_calls = 0;
	struct router_done done = { on_done, NULL, 1 };
	for (int i = 0; i < 100 && !full; i++) {
		enum router_sent s = router_send(r, id, idlen, rp, 1, &done);
		full = s == ROUTER_FULL;
		sent += s == ROUTER_SENT;
	}
	CHECK(full && sent == (int)lim.queue_msgs,
	    "queue_msgs messages queued, then ROUTER_FULL");
	pump(r, &z, 500, NULL, NULL);
	CHECK(done_calls == sent, "... each told done once written");
	CHECK(router_send(r, id, idlen, rp, 1, NULL) == ROUTER_SENT,
	    "... and there is room again");

	/* The byte bound: a message over queue_bytes is refused. */
	struct router_limits small = lim;
	small.queue_bytes = 1000;
	router_free(r);
	zmtp_close(&z);
	r = router_new(endpoint, &small, err, sizeof(err));
	zmtp_init(&z, endpoint, 1 << 20, 1 << 22, err, sizeof(err));
	struct zmtp_part hello[1] = { { "hello", 5 } };
	zmtp_send(&z, hello, 1);
	got = 0;
	pump(r, &z, 3000, got_at_least, &want);
	CHECK(got == 1, "a DEALER connects to the router of a small queue");
	idlen = last.idlen;
	memcpy(id, last.id, idlen);
	struct zmtp_part five[1] = { { big, 600 } };
	CHECK(router_send(r, id, idlen, five, 1, NULL) == ROUTER_SENT &&
	    router_send(r, id, idlen, five, 1, NULL) == ROUTER_FULL,
	    "queue_bytes: a second 600-byte message over 1000 is ROUTER_FULL");

	/* A peer that does not read, then goes: what was queued for it is
	 * dropped and told done. */
	done_calls = 0;
	router_flush(r);
	zmtp_close(&z);
	CHECK(router_send(r, id, idlen, five, 1, &done) == ROUTER_SENT,
	    "queued for a peer whose socket just closed");
	w.n = 0;
	w.r = r;
	pump(r, NULL, 2000, peers_are, &w);
	CHECK(done_calls == 1 && router_peers(r) == 0,
	    "... its connection goes and the message is told done");
	router_free(r);
}

/* Raw bytes: each mistake closes the connection, logged, never a crash. */
static int
raw_connect(void)
{
	struct sockaddr_un un;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&un, 0, sizeof(un));
	un.sun_family = AF_UNIX;
	snprintf(un.sun_path, sizeof(un.sun_path), "%s", path);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&un, sizeof(un)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static const unsigned char greeting[64] = { 0xff, 0, 0, 0, 0, 0, 0, 0, 1,
    0x7f, 3, 0, 'N', 'U', 'L', 'L' };
static const unsigned char ready_dealer[] = { 0x04, 28, 5, 'R', 'E', 'A',
    'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e', 0,
    0, 0, 6, 'D', 'E', 'A', 'L', 'E', 'R' };

/* Sends the bytes on a raw connection; returns 1 if the router then closed
 * it (EOF read within 2 s, its handshake skipped), else 0. */
static int
raw_closed(struct router *r, const void *pre, size_t pn, const void *p,
    size_t n)
{
	int fd = raw_connect(), closed = 0;
	char buf[4096];

	if (fd < 0)
		return 0;
	if (pre != NULL)
		(void)write(fd, pre, pn);
	(void)write(fd, p, n);
	struct timespec t0;
	monotime_now(&t0);
	while (!closed && monotime_ms_since(&t0) < 2000) {
		pump(r, NULL, 10, NULL, NULL);
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, 0) == 1) {
			ssize_t k = read(fd, buf, sizeof(buf));
			closed = k == 0 || (k < 0 && errno == ECONNRESET);
		}
	}
	close(fd);
	return closed;
}

static void
test_raw(void)
{
	char err[200];
	struct router_limits l = lim;
	l.max_msg = 1000;
	l.max_peers = 3;
	struct router *r = router_new(endpoint, &l, err, sizeof(err));
	unsigned char hs[sizeof(greeting) + sizeof(ready_dealer)];

	CHECK(r != NULL, "router for raw bytes");
	if (r == NULL)
		return;
	memcpy(hs, greeting, sizeof(greeting));
	memcpy(hs + sizeof(greeting), ready_dealer, sizeof(ready_dealer));

	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n"
	    "0123456789012345678901234567890123456789";
	CHECK(raw_closed(r, NULL, 0, http, sizeof(http)),
	    "not ZMTP (an HTTP request): closed");
	unsigned char curve[64];
	memcpy(curve, greeting, 64);
	memcpy(curve + 12, "CURVE", 5);
	CHECK(raw_closed(r, NULL, 0, curve, sizeof(curve)),
	    "another mechanism (CURVE): closed");
	static const unsigned char ready_req[] = { 0x04, 25, 5, 'R', 'E', 'A',
	    'D', 'Y', 11, 'S', 'o', 'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e',
	    0, 0, 0, 3, 'R', 'E', 'Q' };
	CHECK(raw_closed(r, greeting, 64, ready_req, sizeof(ready_req)),
	    "a REQ socket, not a DEALER: closed");
	static const unsigned char ready_bad[] = { 0x04, 12, 5, 'R', 'E', 'A',
	    'D', 'Y', 3, 'a', 'b', 'c', 0, 0, 0, 200 };
	CHECK(raw_closed(r, greeting, 64, ready_bad, sizeof(ready_bad)),
	    "a READY whose property runs past its end: closed");
	static const unsigned char early[] = { 0x00, 1, 'x' };
	CHECK(raw_closed(r, greeting, 64, early, sizeof(early)),
	    "a message before READY: closed");
	static const unsigned char big[] = { 0x02, 0, 0, 0, 0, 0, 0, 0x10, 0 };
	CHECK(raw_closed(r, hs, sizeof(hs), big, sizeof(big)),
	    "a frame over max_msg (declared, not sent): closed");
	static const unsigned char huge[] = { 0x02, 0xff, 0xff, 0xff, 0xff,
	    0xff, 0xff, 0xff, 0xff };
	CHECK(raw_closed(r, hs, sizeof(hs), huge, sizeof(huge)),
	    "a 2^64-1 byte frame: closed");
	static const unsigned char flags[] = { 0x40, 1, 'x' };
	CHECK(raw_closed(r, hs, sizeof(hs), flags, sizeof(flags)),
	    "unknown frame flags: closed");
	static const unsigned char inside[] = { 0x01, 1, 'x', 0x04, 5, 4, 'P',
	    'I', 'N', 'G' };
	CHECK(raw_closed(r, hs, sizeof(hs), inside, sizeof(inside)),
	    "a command inside a message: closed");
	CHECK(raw_closed(r, hs, sizeof(hs), ready_dealer, sizeof(ready_dealer)),
	    "a second READY: closed");
	unsigned char many[2 * 1100];
	for (size_t i = 0; i < 1100; i++) {
		many[2 * i] = 0x01;
		many[2 * i + 1] = 0;
	}
	CHECK(raw_closed(r, hs, sizeof(hs), many, sizeof(many)),
	    "a message of over 1024 empty frames: closed");

	/* PING is answered with its context, on a connection that stays. */
	int fd = raw_connect();
	static const unsigned char ping[] = { 0x04, 9, 4, 'P', 'I', 'N', 'G',
	    0, 10, 'c', 'x' };
	(void)write(fd, hs, sizeof(hs));
	(void)write(fd, ping, sizeof(ping));
	unsigned char in[512];
	size_t have = 0;
	struct timespec t0;
	monotime_now(&t0);
	while (monotime_ms_since(&t0) < 2000 && have < 64 + 43 + 9) {
		pump(r, NULL, 10, NULL, NULL);
		struct pollfd pfd = { fd, POLLIN, 0 };
		if (poll(&pfd, 1, 0) == 1) {
			ssize_t k = read(fd, in + have, sizeof(in) - have);
			if (k <= 0)
				break;
			have += (size_t)k;
		}
	}
	static const unsigned char pong[] = { 0x04, 7, 4, 'P', 'O', 'N', 'G',
	    'c', 'x' };
	CHECK(have >= 64 && memcmp(in + have - sizeof(pong), pong,
	    sizeof(pong)) == 0, "a PING is answered with a PONG echoing its "
	    "context");
	CHECK(in[0] == 0xff && in[9] == 0x7f && in[10] == 3 &&
	    memcmp(in + 12, "NULL", 4) == 0 && memmem(in, have, "ROUTER", 6)
	    != NULL, "... after the router's greeting and READY (ROUTER)");

	/* max_peers: 3 at once; a fourth is closed at once. */
	int f2 = raw_connect(), f3 = raw_connect(), f4 = raw_connect();
	pump(r, NULL, 200, NULL, NULL);
	CHECK(router_peers(r) == 3, "max_peers connections are kept");
	struct pollfd pfd = { f4, POLLIN, 0 };
	char c;
	CHECK(poll(&pfd, 1, 1000) == 1 && read(f4, &c, 1) <= 0,
	    "... one more is closed");
	close(fd);
	close(f2);
	close(f3);
	close(f4);
	router_free(r);
}

int
main(void)
{
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/w.sock", dir);
	snprintf(endpoint, sizeof(endpoint), "ipc://%s", path);
	test_endpoints();
	test_libzmq_dealer();
	test_own_dealer();
	test_raw();
	unlink(path);
	rmdir(dir);
	UNIT_EXIT();
}
