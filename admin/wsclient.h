/* wsclient.h - a small HTTP/1.1 and WebSocket (RFC 6455) client, for
 * lightchat-admin check: plain http:// and ws:// only (no TLS: check a
 * site behind HTTPS through its plain local address), bounded reads, and
 * a deadline (monotime_ms) on every call that waits. */
#ifndef LC_WSCLIENT_H
#define LC_WSCLIENT_H

#include <stddef.h>

#include "buf.h"

#define WSC_HOST_MAX 255
#define WSC_PREFIX_MAX 512
#define WSC_HEAD_MAX 8192          /* bytes of a response's head */
#define WSC_ACCEPT_LEN 28          /* base64 of a SHA-1 */

/* A site: host (no brackets), port, and the path it is mounted under ("",
 * or "/chat": no trailing slash). hostport is for the Host header. */
struct wsc_url {
	char host[WSC_HOST_MAX + 1];
	char port[6];
	char prefix[WSC_PREFIX_MAX + 1];
	char hostport[WSC_HOST_MAX + 8];
};

/* Parses "http://host[:port][/prefix[/]]" (ws:// too; [v6] hosts; the port
 * defaults to 80). Returns 0, or -1 with a one-line reason in err (https://
 * and wss:// are refused: no TLS here). */
int wsc_url_parse(const char *url, struct wsc_url *u, char *err,
    size_t errcap);

/* GETs u's prefix + path (HTTP/1.0, so the body is not chunked) by
 * deadline. *status gets the status; body (its maximum bounds what is
 * kept: the rest is read and dropped) gets the body. Returns 0, or -1 with
 * a one-line reason in err (cannot connect, timeout, not HTTP). */
int wsc_http_get(const struct wsc_url *u, const char *path,
    long long deadline, int *status, struct lc_buf *body, char *err,
    size_t errcap);

/* One WebSocket connection. */
struct wsc {
	int fd;                /* -1: not connected */
	struct lc_buf in;      /* bytes read and not yet used */
	struct lc_buf msg;     /* the message being put together */
	int msg_op;            /* its opcode, 0: none yet */
};

/* Makes c unconnected; max bounds a message (and so each read). */
void wsc_init(struct wsc *c, size_t max);

/* Opens a WebSocket to u's prefix + path with the header line extra
 * ("Name: value", without CRLF; NULL: none) by deadline: the Upgrade with a
 * random Sec-WebSocket-Key, whose Sec-WebSocket-Accept is checked. Returns
 * 0; or -1 with *status the HTTP status when the server refused (0 when
 * it did not answer HTTP) and a one-line reason in err. extra may hold a
 * secret: it is never copied into err. */
int wsc_open(struct wsc *c, const struct wsc_url *u, const char *path,
    const char *extra, long long deadline, int *status, char *err,
    size_t errcap);

/* Sends one text message, masked, by deadline. Returns 0 or -1 with err. */
int wsc_send_text(struct wsc *c, const char *text, size_t len,
    long long deadline, char *err, size_t errcap);

/* Receives the next text or binary message into out (reset first; its
 * maximum must hold the largest message) by deadline, answering pings.
 * Returns 1 (a message), 0 (the server closed), or -1 with err (timeout:
 * err says "timeout"; too large; a protocol error). */
int wsc_recv(struct wsc *c, struct lc_buf *out, long long deadline,
    char *err, size_t errcap);

/* Sends a close frame (best effort) and closes the connection; frees c's
 * buffers. NULL and an unconnected c are allowed. */
void wsc_close(struct wsc *c);

/* The parts below are pure, for the unit test (tests/unit/test-wsclient.c). */

/* A frame's head. */
struct wsc_frame {
	int fin;
	int opcode;
	unsigned long long len;   /* payload bytes */
	size_t head;              /* bytes of the head */
};

/* Parses the head of a server's frame from the n bytes at p. Returns 1
 * with *f set, 0 when more bytes are needed, -1 when it is not a valid
 * server frame (masked, reserved bits, an unknown opcode, a control frame
 * fragmented or over 125 bytes, a length over 2^63). */
int wsc_frame_parse(const unsigned char *p, size_t n, struct wsc_frame *f);

/* Appends a final client frame of opcode with the n bytes at p, masked
 * with mask, to out. Returns 0, or -1 when out is full. */
int wsc_frame_build(struct lc_buf *out, int opcode, const void *p, size_t n,
    const unsigned char mask[4]);

/* The Sec-WebSocket-Accept for key, into out (WSC_ACCEPT_LEN + 1 bytes).
 * Returns 0 or -1. */
int wsc_accept_of(const char *key, char out[WSC_ACCEPT_LEN + 1]);

#endif
