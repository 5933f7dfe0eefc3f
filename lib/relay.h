/* relay.h - the frames exchanged between a WebSocket session (ws/) and the
 * worker over ZeroMQ. Shared by both sides so they cannot disagree.
 *
 * session -> worker, always RELAY_UP_FRAMES frames:
 *   kind, cookie, query, origin, host, peer, body
 * kind is "hello" (connection opened), "msg" (body = one client line),
 * "toolong" (a client line was over max_message and dropped) or "bye" (the
 * client went away). The credentials ride on every message so the worker
 * keeps no session table and survives a restart unnoticed.
 *
 * worker -> session, two frames: kind, body
 * kind "line" (body = one JSON text for the client), "close" (body = a
 * reason; the session exits and websocketd closes the WebSocket) or
 * "inflight" (sent once the worker admitted a prompt; body = the final
 * frame the session gives its client if the connection to the worker breaks
 * before the reply's own final frame went by: a worker_unavailable error;
 * see ws/inflight.h for how the session recognises the reply's frames). */
#ifndef LC_RELAY_H
#define LC_RELAY_H

enum relay_up_frame {
	RELAY_KIND = 0, RELAY_COOKIE, RELAY_QUERY, RELAY_ORIGIN, RELAY_HOST,
	RELAY_PEER, RELAY_BODY, RELAY_UP_FRAMES
};

#define RELAY_HELLO "hello"
#define RELAY_MSG "msg"
#define RELAY_TOOLONG "toolong"
#define RELAY_BYE "bye"
#define RELAY_LINE "line"
#define RELAY_CLOSE "close"
#define RELAY_INFLIGHT "inflight"

/* The longest "line" the worker sends, for a max_reply: a reply's whole
 * text JSON-escaped (at most two bytes per byte: its control characters
 * were replaced, lib/utf8.h utf8_append_text; prompts and titles refuse
 * them) plus 64 KiB for the rest of the frame. It bounds what the session
 * reads of one frame and what the worker holds for one. */
#define RELAY_LINE_MAX(max_reply) ((size_t)(max_reply) * 2 + 65536)

/* The longest message a session sends, for a max_message: a client line
 * and the other fields, each at most RELAY_FIELD_MAX (the session drops a
 * longer one), with their frame headers. The worker refuses a longer one. */
#define RELAY_UP_MAX(max_message) ((size_t)(max_message) + \
	RELAY_UP_FRAMES * ((size_t)RELAY_FIELD_MAX + 9))

/* Longest credential field forwarded (cookie header, query, ...). */
#define RELAY_FIELD_MAX 8192

#endif
