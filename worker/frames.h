/* frames.h - the JSON frames the worker sends to clients (docs/PROTOCOL.md).
 * Every function returns a malloc'd NUL-terminated JSON text without a
 * newline, which the caller frees, or NULL when out of memory. */
#ifndef LC_FRAMES_H
#define LC_FRAMES_H

#include <stddef.h>

struct frame_usage {
	int present;
	double prompt_tokens, completion_tokens, total_tokens;
};

struct frame_error {
	const char *msgid;       /* NULL: "msgid": null */
	const char *code;
	const char *message;     /* for people; becomes text.content too */
	const char *field;       /* NULL or "" when not about a field */
	long status;             /* upstream HTTP status, 0 when none */
	long retry_after;        /* seconds, -1 when unknown */
	const char *partial;     /* text received before the failure, or NULL */
};

/* {"msgid","type":"delta","delta"} */
char *frame_delta(const char *msgid, const char *delta);

/* The seed's final shape: {"msgid","type":"reply","text":{"role":
 * "assistant","content"},"model","finish_reason","usage"?}. */
char *frame_reply(const char *msgid, const char *content, const char *model,
    const char *finish_reason, const struct frame_usage *usage);

/* {"msgid","type":"error","error":{...},"text":{"content":"Error: ..."}} */
char *frame_error(const struct frame_error *e);

/* {"type":"pong"} */
char *frame_pong(void);

#endif
