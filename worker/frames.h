/* frames.h - the JSON frames the worker sends to clients (docs/PROTOCOL.md).
 * Every function returns a malloc'd NUL-terminated JSON text without a
 * newline, which the caller frees, or NULL when out of memory. */
#ifndef LC_FRAMES_H
#define LC_FRAMES_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "budget.h"
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
	/* budget_exceeded: the limit reached (NULL or not exceeded: no
	 * "budget" member); currency beside its money. The member, in the
	 * frame's "error" object beside "code" and "message", is
	 * {"scope":"user"|"site","period":"day"|"month","unit":"tokens"|
	 * "cost","limit","used" (tokens, or money as a number of units),
	 * "resets_at":"ISO 8601 local with offset","currency"} */
	const struct budget_verdict *budget;
	const char *currency;
};

/* A reply's reasoning, for the reply and snapshot frames: text (NULL or
 * "": none, and no reasoning field at all), ms from its first delta to the
 * answer's first (or to the end; -1: not over yet, left out). */
struct frame_reasoning {
	const char *text;
	long long ms;
};

/* In every function, a NULL or empty conversation_id is left out. */

/* {"msgid","conversation_id"?,"type":"delta","delta"} */
char *frame_delta(const char *msgid, const char *conversation_id,
    const char *delta);

/* {"msgid","conversation_id"?,"type":"reasoning","delta"}: a piece of the
 * model's reasoning, apart from the answer's deltas. */
char *frame_reasoning(const char *msgid, const char *conversation_id,
    const char *delta);

/* The seed's final shape: {"msgid","conversation_id"?,"type":"reply",
 * "text":{"role":"assistant","content"},"model","finish_reason","usage"?,
 * "reasoning"?,"reasoning_ms"?}; reasoning NULL (a seed-shape origin) or
 * empty: no reasoning fields. */
char *frame_reply(const char *msgid, const char *conversation_id,
    const char *content, const char *model, const char *finish_reason,
    const struct lc_usage *usage, const struct frame_reasoning *reasoning);

/* A reply began: {"type":"start","msgid","conversation_id","title","model",
 * "prompt"?,"replaced","attachments"?,"parent_id","prompt_id"?} where prompt
 * is the new user message (NULL when regenerating), replaced the number of
 * trailing messages of the shown path the new version takes out of view
 * (they are kept as other versions), attachments (NULL or empty: none;
 * copied) the metadata of the user message's attachments, parent_id the
 * message the new one hangs under (the prompt's parent, or the regenerated
 * reply's prompt; 0: null, a first prompt) and prompt_id the stored
 * prompt's id (0: none, left out). */
char *frame_start(const char *msgid, const char *conversation_id,
    const char *title, const char *model, const char *prompt, int replaced,
    const cJSON *attachments, long long parent_id, long long prompt_id);

/* A switch took effect: {"type":"switched","conversation_id","message_id"}
 * with the new current leaf. */
char *frame_switched(const char *conversation_id, long long leaf);

/* The text so far of a reply in flight, for a client that starts watching:
 * {"type":"snapshot","msgid","conversation_id","model","content",
 * "reasoning"?,"thinking"?,"reasoning_ms"?}: with reasoning (NULL or empty:
 * none) its text so far, "thinking":true while content is still empty,
 * reasoning_ms once the reasoning is over. */
char *frame_snapshot(const char *msgid, const char *conversation_id,
    const char *model, const char *content,
    const struct frame_reasoning *reasoning);

/* No reply in flight: {"type":"idle","conversation_id"}. */
char *frame_idle(const char *conversation_id);

/* {"msgid","type":"error","error":{...},"text":{"content":"Error: ..."}} */
char *frame_error(const struct frame_error *e);

/* {"type":"pong"} */
char *frame_pong(void);

#endif
