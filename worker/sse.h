/* sse.h - an incremental parser for server-sent events (text/event-stream).
 *
 * Bytes may arrive in any pieces: a line, a CRLF or a UTF-8 sequence split
 * across reads is reassembled. Lines end in LF, CRLF or CR; lines starting
 * with ':' are comments; "data" fields of one event are joined with LF; other
 * fields are ignored; a blank line dispatches the event. An event larger
 * than the parser's maximum is an error, never unbounded growth. */
#ifndef LC_SSE_H
#define LC_SSE_H

#include <stddef.h>

#include "buf.h"

enum sse_err { SSE_OK = 0, SSE_TOO_BIG = -1, SSE_NOMEM = -2 };

/* Called for each event with its data (NUL-terminated, len bytes). Returns 0
 * to go on; any other value stops sse_feed, which returns it. */
typedef int (*sse_event_fn)(void *arg, const char *data, size_t len);

struct sse_parser {
	struct lc_buf line;   /* the current, unfinished line */
	struct lc_buf data;   /* the data of the current event */
	int has_data;         /* a data field was seen in this event */
	int after_cr;         /* the last byte was CR: skip a following LF */
};

/* Initialises p for events of at most max_event bytes of data. */
void sse_init(struct sse_parser *p, size_t max_event);

/* Parses n more bytes, calling fn for each complete event. Returns SSE_OK,
 * SSE_TOO_BIG, SSE_NOMEM, or the first non-zero value fn returned. */
int sse_feed(struct sse_parser *p, const char *bytes, size_t n,
    sse_event_fn fn, void *arg);

/* At the end of the stream: handles an unterminated last line and
 * dispatches a pending event. Same returns as sse_feed. */
int sse_finish(struct sse_parser *p, sse_event_fn fn, void *arg);

/* Frees the buffers of p. */
void sse_free(struct sse_parser *p);

#endif
