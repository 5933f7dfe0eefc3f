/* test-wsclient.c - admin/wsclient.c: URL parsing (prefixes, [v6] hosts,
 * what is refused: TLS, user info, bad ports), the accept key and a masked
 * frame against RFC 6455's own examples, server frame heads (lengths of
 * each size, what a server may not send), and a whole exchange with a
 * forked server on the loopback: a GET, a refused upgrade, an accepted
 * one with a fragmented message, a ping answered with a pong, a message
 * over the bound, the server's close. */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "monotime.h"
#include "unit.h"
#include "wsclient.h"

static void
test_url(void)
{
	struct wsc_url u;
	char err[256];

	CHECK(wsc_url_parse("http://127.0.0.1:8080", &u, err, sizeof(err)) ==
	    0 && strcmp(u.host, "127.0.0.1") == 0 &&
	    strcmp(u.port, "8080") == 0 && u.prefix[0] == '\0' &&
	    strcmp(u.hostport, "127.0.0.1:8080") == 0, "url: host and port");
	CHECK(wsc_url_parse("http://example.org/chat/", &u, err, sizeof(err)) ==
	    0 && strcmp(u.port, "80") == 0 && strcmp(u.prefix, "/chat") == 0,
	    "url: a prefix, port 80");
	CHECK(wsc_url_parse("ws://[::1]:9/a/b", &u, err, sizeof(err)) == 0 &&
	    strcmp(u.host, "::1") == 0 && strcmp(u.hostport, "[::1]:9") == 0 &&
	    strcmp(u.prefix, "/a/b") == 0, "url: an IPv6 host");
	CHECK(wsc_url_parse("https://example.org", &u, err, sizeof(err)) ==
	    -1 && strstr(err, "TLS") != NULL, "url: https refused, says why");
	CHECK(wsc_url_parse("wss://example.org", &u, err, sizeof(err)) == -1,
	    "url: wss refused");
	CHECK(wsc_url_parse("ftp://example.org", &u, err, sizeof(err)) == -1,
	    "url: another scheme refused");
	CHECK(wsc_url_parse("http://h:99999", &u, err, sizeof(err)) == -1 &&
	    wsc_url_parse("http://h:0", &u, err, sizeof(err)) == -1 &&
	    wsc_url_parse("http://h:", &u, err, sizeof(err)) == -1,
	    "url: bad ports refused");
	CHECK(wsc_url_parse("http://user@h", &u, err, sizeof(err)) == -1 &&
	    wsc_url_parse("http://h/?q", &u, err, sizeof(err)) == -1 &&
	    wsc_url_parse("http://", &u, err, sizeof(err)) == -1,
	    "url: user info, a query, no host refused");
}

static void
test_frames(void)
{
	static const unsigned char mask[4] = { 0x37, 0xfa, 0x21, 0x3d };
	static const unsigned char hello[] = { 0x81, 0x85, 0x37, 0xfa, 0x21,
	    0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58 };
	char acc[WSC_ACCEPT_LEN + 1];
	struct wsc_frame f;
	struct lc_buf b;
	unsigned char h[16];

	CHECK(wsc_accept_of("dGhlIHNhbXBsZSBub25jZQ==", acc) == 0 &&
	    strcmp(acc, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == 0,
	    "accept key: RFC 6455's example");
	buf_init(&b, 1 << 20);
	CHECK(wsc_frame_build(&b, 1, "Hello", 5, mask) == 0 &&
	    b.len == sizeof(hello) && memcmp(b.data, hello, b.len) == 0,
	    "frame: RFC 6455's masked \"Hello\"");
	buf_reset(&b);
	char *big = calloc(1, 70000);
	CHECK(big != NULL && wsc_frame_build(&b, 1, big, 300, mask) == 0 &&
	    (unsigned char)b.data[1] == (0x80 | 126) &&
	    (unsigned char)b.data[2] == 1 && (unsigned char)b.data[3] == 44 &&
	    b.len == 4 + 4 + 300, "frame: a 16-bit length");
	buf_reset(&b);
	CHECK(big != NULL && wsc_frame_build(&b, 1, big, 70000, mask) == 0 &&
	    (unsigned char)b.data[1] == (0x80 | 127) &&
	    b.len == 10 + 4 + 70000, "frame: a 64-bit length");
	free(big);
	buf_free(&b);
	buf_init(&b, 8);
	CHECK(wsc_frame_build(&b, 1, "Hello", 5, mask) == -1,
	    "frame: past the buffer's bound, an error");
	buf_free(&b);

	memcpy(h, "\x81\x05Hello", 7);
	CHECK(wsc_frame_parse(h, 7, &f) == 1 && f.fin && f.opcode == 1 &&
	    f.len == 5 && f.head == 2, "parse: a text frame");
	CHECK(wsc_frame_parse(h, 1, &f) == 0, "parse: more bytes needed");
	memcpy(h, "\x02\x7e\x01\x00", 4);
	CHECK(wsc_frame_parse(h, 3, &f) == 0 && wsc_frame_parse(h, 4, &f) ==
	    1 && !f.fin && f.opcode == 2 && f.len == 256 && f.head == 4,
	    "parse: a 16-bit length, not final");
	memcpy(h, "\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10);
	CHECK(wsc_frame_parse(h, 10, &f) == 1 && f.len == 65536 &&
	    f.head == 10, "parse: a 64-bit length");
	h[2] = 0x80;
	CHECK(wsc_frame_parse(h, 10, &f) == -1, "parse: a length over 2^63");
	memcpy(h, "\x81\x85", 2);
	CHECK(wsc_frame_parse(h, 2, &f) == -1, "parse: a masked server frame");
	memcpy(h, "\xc1\x00", 2);
	CHECK(wsc_frame_parse(h, 2, &f) == -1, "parse: a reserved bit");
	memcpy(h, "\x83\x00", 2);
	CHECK(wsc_frame_parse(h, 2, &f) == -1, "parse: an unknown opcode");
	memcpy(h, "\x09\x00", 2);
	CHECK(wsc_frame_parse(h, 2, &f) == -1, "parse: a fragmented ping");
	memcpy(h, "\x89\x7e\x00\x80", 4);
	CHECK(wsc_frame_parse(h, 4, &f) == -1, "parse: a ping over 125 bytes");
}

/* The forked server's side: reads a request head, returns its length. */
static size_t
read_req(int c, char *buf, size_t cap)
{
	size_t n = 0;

	while (n < cap - 1) {
		ssize_t r = read(c, buf + n, cap - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (strstr(buf, "\r\n\r\n") != NULL)
			break;
	}
	buf[n] = '\0';
	return n;
}

static void
put(int c, const void *p, size_t n)
{
	if (write(c, p, n) != (ssize_t)n)
		_exit(3);
}

/* Serves four connections: a GET, a refused upgrade, an accepted one
 * (a message in two fragments, a ping whose pong it checks, a message
 * with a 16-bit length, a close), and one sending a frame too large. */
static void
serve(int ls)
{
	char req[8192], acc[WSC_ACCEPT_LEN + 1], head[512];
	int c;

	/* 1: GET /p/health */
	c = accept(ls, NULL, NULL);
	read_req(c, req, sizeof(req));
	if (strncmp(req, "GET /p/health HTTP/1.0\r\n", 24) != 0)
		_exit(4);
	static const char ok[] = "HTTP/1.1 503 Service Unavailable\r\n"
	    "Content-Type: application/json\r\n\r\n{\"worker\":\"down\"}";
	put(c, ok, sizeof(ok) - 1);
	close(c);
	/* 2: a refused upgrade */
	c = accept(ls, NULL, NULL);
	read_req(c, req, sizeof(req));
	static const char no[] = "HTTP/1.1 403 Forbidden\r\n"
	    "Content-Length: 0\r\n\r\n";
	put(c, no, sizeof(no) - 1);
	close(c);
	/* 3: accepted */
	c = accept(ls, NULL, NULL);
	read_req(c, req, sizeof(req));
	char *k = strstr(req, "Sec-WebSocket-Key: ");
	if (k == NULL || strstr(req, "Cookie: secret=1\r\n") == NULL)
		_exit(5);
	k += 19;
	k[strcspn(k, "\r")] = '\0';
	wsc_accept_of(k, acc);
	int n = snprintf(head, sizeof(head), "HTTP/1.1 101 Switching "
	    "Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
	put(c, head, (size_t)n);
	put(c, "\x01\x03" "abc" "\x89\x02" "hi" "\x80\x03" "def", 14);
	/* the pong: masked, "hi" */
	unsigned char pong[8];
	size_t got = 0;
	while (got < sizeof(pong)) {
		ssize_t r = read(c, pong + got, sizeof(pong) - got);
		if (r <= 0)
			_exit(6);
		got += (size_t)r;
	}
	if (pong[0] != 0x8a || pong[1] != 0x82 ||
	    (pong[6] ^ pong[2]) != 'h' || (pong[7] ^ pong[3]) != 'i')
		_exit(7);
	char big[4 + 200];
	memcpy(big, "\x81\x7e\x00\xc8", 4);
	memset(big + 4, 'x', 200);
	put(c, big, sizeof(big));
	put(c, "\x88\x02\x03\xe8", 4);
	sleep(1);
	close(c);
	/* 4: a frame over the client's bound */
	c = accept(ls, NULL, NULL);
	read_req(c, req, sizeof(req));
	k = strstr(req, "Sec-WebSocket-Key: ") + 19;
	k[strcspn(k, "\r")] = '\0';
	wsc_accept_of(k, acc);
	n = snprintf(head, sizeof(head), "HTTP/1.1 101 Switching "
	    "Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: %s\r\n\r\n", acc);
	put(c, head, (size_t)n);
	big[3] = (char)0xff;
	put(c, big, 4);
	sleep(1);
	close(c);
	_exit(0);
}

static void
test_exchange(void)
{
	struct sockaddr_in a;
	socklen_t al = sizeof(a);
	struct wsc_url u;
	struct wsc ws;
	struct lc_buf body, msg;
	char url[64], err[256];
	int ls = socket(AF_INET, SOCK_STREAM, 0), status = 0, r;
	pid_t pid;

	memset(&a, 0, sizeof(a));
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(ls, 4) != 0 || getsockname(ls, (struct sockaddr *)&a,
	    &al) != 0) {
		CHECK(0, "a loopback server");
		return;
	}
	pid = fork();
	if (pid == 0)
		serve(ls);
	close(ls);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/p/",
	    ntohs(a.sin_port));
	CHECK(wsc_url_parse(url, &u, err, sizeof(err)) == 0, "url of it");
	long long deadline = monotime_ms() + 5000;

	buf_init(&body, 8);
	CHECK(wsc_http_get(&u, "/health", deadline, &status, &body, err,
	    sizeof(err)) == 0 && status == 503 &&
	    strcmp(buf_str(&body), "{\"worker") == 0,
	    "get: the status, the body cut at its bound");
	buf_free(&body);

	wsc_init(&ws, 100);
	CHECK(wsc_open(&ws, &u, "/ws", "Cookie: secret=1", deadline, &status,
	    err, sizeof(err)) == -1 && status == 403 &&
	    strstr(err, "secret") == NULL, "open: refused, its status");
	wsc_close(&ws);

	wsc_init(&ws, 300);
	buf_init(&msg, 300);
	CHECK(wsc_open(&ws, &u, "/ws", "Cookie: secret=1", deadline, &status,
	    err, sizeof(err)) == 0 && status == 101, "open: accepted");
	r = wsc_recv(&ws, &msg, deadline, err, sizeof(err));
	CHECK(r == 1 && strcmp(buf_str(&msg), "abcdef") == 0,
	    "recv: fragments joined, a ping between them answered");
	r = wsc_recv(&ws, &msg, deadline, err, sizeof(err));
	CHECK(r == 1 && msg.len == 200, "recv: a 16-bit length");
	r = wsc_recv(&ws, &msg, deadline, err, sizeof(err));
	CHECK(r == 0, "recv: the server's close");
	wsc_close(&ws);
	buf_free(&msg);

	wsc_init(&ws, 100);
	buf_init(&msg, 100);
	CHECK(wsc_open(&ws, &u, "/ws", NULL, deadline, &status, err,
	    sizeof(err)) == 0, "open: again");
	r = wsc_recv(&ws, &msg, deadline, err, sizeof(err));
	CHECK(r == -1 && strstr(err, "over") != NULL,
	    "recv: a frame over the bound is an error");
	wsc_close(&ws);
	buf_free(&msg);

	int ws_status = -1;
	waitpid(pid, &ws_status, 0);
	CHECK(WIFEXITED(ws_status) && WEXITSTATUS(ws_status) == 0,
	    "the server saw the requests and the pong it wanted");

	/* Nobody listening any more: a reason, not a hang. */
	deadline = monotime_ms() + 2000;
	buf_init(&body, 8);
	CHECK(wsc_http_get(&u, "/health", deadline, &status, &body, err,
	    sizeof(err)) == -1 && strstr(err, "cannot connect") != NULL,
	    "get: nothing listening, says so");
	buf_free(&body);
}

int
main(void)
{
	signal(SIGPIPE, SIG_IGN);
	test_url();
	test_frames();
	test_exchange();
	UNIT_EXIT();
}
