/* frames.h - the JSON frames the worker sends to clients (docs/PROTOCOL.md).
 * Every function returns a malloc'd NUL-terminated JSON text without a
 * newline, which the caller frees, or NULL when out of memory. */
#ifndef LC_FRAMES_H
#define LC_FRAMES_H

#include <stddef.h>

#include "usage.h"

struct frame_error {
	const char *msgid;       /* NULL: "msgid": null */
	const char *conversation_id; /* NULL or "": left out */
	const char *code;
	const char *message;     /* for people; becomes text.content too */
	const char *field;       /* NULL or "" when not about a field */
	long status;             /* upstream HTTP status, 0 when none */
	long retry_after;        /* seconds, -1 when unknown */
	const char *partial;     /* text received before the failure, or NULL */
};

/* In every function, a NULL or empty conversation_id is left out. */

/* {"msgid","conversation_id"?,"type":"delta","delta"} */
char *frame_delta(const char *msgid, const char *conversation_id,
    const char *delta);

/* The seed's final shape: {"msgid","conversation_id"?,"type":"reply",
 * "text":{"role":"assistant","content"},"model","finish_reason","usage"?}. */
char *frame_reply(const char *msgid, const char *conversation_id,
    const char *content, const char *model, const char *finish_reason,
    const struct lc_usage *usage);

/* A reply began: {"type":"start","msgid","conversation_id","title","model",
 * "prompt"?,"replaced"} where prompt is the new user message (NULL when
 * regenerating) and replaced the number of trailing messages it replaces. */
char *frame_start(const char *msgid, const char *conversation_id,
    const char *title, const char *model, const char *prompt, int replaced);

/* The text so far of a reply in flight, for a client that starts watching:
 * {"type":"snapshot","msgid","conversation_id","model","content"}. */
char *frame_snapshot(const char *msgid, const char *conversation_id,
    const char *model, const char *content);

/* No reply in flight: {"type":"idle","conversation_id"}. */
char *frame_idle(const char *conversation_id);

/* {"msgid","type":"error","error":{...},"text":{"content":"Error: ..."}} */
char *frame_error(const struct frame_error *e);

/* {"type":"pong"} */
char *frame_pong(void);

#endif
