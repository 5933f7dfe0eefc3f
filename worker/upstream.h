/* upstream.h - one streamed call to {base}/chat/completions with libcurl:
 * its request body and the HTTP call.
 *
 * The caller builds the body (upstream_body), creates the call, adds its
 * easy handle to a multi handle, and when libcurl reports the transfer
 * done, asks upstream_outcome how it ended. Content arrives through
 * on_delta as it is parsed, already valid UTF-8, and accumulates in
 * call->content; the model's reasoning (delta.reasoning_content,
 * delta.reasoning, or <think> tags in the content: worker/think.h) arrives
 * through on_reasoning and accumulates in call->reasoning. Both together
 * are bounded by max_reply (reply_too_large past it).
 *
 * Stream shapes (docs/PROTOCOL.md "Upstream streams"): an error event in a
 * 200 stream (an "error" object, vLLM's error_type/error_message or
 * object "error", OpenRouter's finish_reason "error") ends the call as
 * upstream_error with the API's message, the text so far kept; chunks with
 * empty choices (usage, Azure's prompt_filter_results), content null,
 * comments and unknown fields are skipped; a stream that ends with [DONE]
 * but no finish_reason is complete ("stop"); one that ends cleanly after a
 * finish_reason but without [DONE] is complete too (the model said it was
 * done; llama.cpp and gateways drop [DONE]); one with neither is
 * upstream_truncated. */
#ifndef LC_UPSTREAM_H
#define LC_UPSTREAM_H

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "buf.h"
#include "config.h"
#include "models.h"
#include "sse.h"
#include "think.h"
#include "usage.h"

#define UPSTREAM_ERRBODY_MAX 65536  /* bytes of an error body kept */
#define UPSTREAM_EVENT_SLACK 65536 /* an SSE event may exceed max_reply by this */

typedef void (*upstream_delta_fn)(void *owner, const char *text);

struct upstream_call {
	CURL *easy;
	struct curl_slist *headers;
	char *body;                   /* request JSON, owned */
	struct sse_parser sse;
	struct lc_buf content;        /* the reply so far */
	struct lc_buf raw;            /* a body that is not an event stream */
	struct lc_buf delta;          /* scratch for one sanitized delta */
	struct lc_buf reasoning;      /* the reasoning so far (upstream_reasoning
	                               * or the first reasoning sets it up) */
	struct lc_buf piece;          /* raw text of one kind, not yet handed */
	int piece_kind;               /* enum think_kind of piece */
	struct think think;           /* <think> in the content */
	int reasoning_field;          /* a delta.reasoning(_content) came */
	int stray;                    /* a closing tag with no opening one made
	                               * the answer so far the reasoning */
	size_t stray_at;              /* the answer's bytes before it: moved
	                               * into reasoning by upstream_text_end */
	int text_ended;               /* upstream_text_end ran */
	int kind;                     /* 0 unknown, 1 event stream, 2 other */
	int done;                     /* [DONE] seen */
	char finish_reason[32];
	struct lc_usage usage;
	const struct lc_upstream *up; /* where it goes (the table's) */
	const char *fail_code;        /* set when the worker aborts the call */
	char fail_msg[256];
	char errbuf[CURL_ERROR_SIZE];
	upstream_delta_fn on_delta;
	upstream_delta_fn on_reasoning;  /* NULL: reasoning only kept */
	void *owner;
};

/* The end of a call, for the client. */
struct upstream_outcome {
	const char *code;             /* NULL: success */
	char message[300];
	long status;                  /* HTTP status, 0 if none */
	long retry_after;             /* -1 unknown */
	bool stream_options_refused;  /* a 400 or 422 before any content whose
	                               * body names stream_options */
};

/* Builds the /chat/completions request body (worker/upstream_body.c):
 * model, messages (a cJSON array of {role,content}: the seed's transcript
 * or the stored context; only role and content are sent, never a
 * message's reasoning), the checked parameters in params (request.h's: may
 * be NULL) mapped by the model's quirks mi (NULL: sent as they are):
 * omitted ones dropped, max_tokens lowered to mi->max_tokens_limit and
 * sent as max_completion_tokens where the model wants it, the system role
 * renamed, reasoning_effort mapped to the nearest effort the model takes
 * (models_effort_map) or dropped; stream, and stream_options with usage
 * when stream_options is true. Returns a malloc'd string the caller frees
 * (or hands to upstream_init), or NULL when out of memory. */
char *upstream_body(const char *model, const cJSON *messages,
    const cJSON *params, const struct lc_model_info *mi,
    bool stream_options);

/* Prepares call to POST body (ownership taken, freed by upstream_free even on
 * failure) to upstream up's /chat/completions for model (the URL of an
 * Azure deployment holds it: uphttp_url), with up's auth header and
 * timeouts; cfg gives the reply's bounds (max_reply). up must outlive the
 * call. Returns 0, or -1 when out of memory or the URL is too long. */
int upstream_init(struct upstream_call *call, const struct lc_config *cfg,
    const struct lc_upstream *up, const char *model, char *body,
    upstream_delta_fn on_delta, void *owner);

/* A copy of body (an upstream_body) without its stream_options: for the
 * call made again to an upstream that refused them. Returns a malloc'd
 * string the caller frees, or NULL when out of memory or not JSON. */
char *upstream_body_without_stream_options(const char *body);

/* Sets how call (after upstream_init) reads reasoning: on_reasoning gets
 * each piece of it (NULL: kept only), think how <think> tags in the
 * content are read. Without it: kept only, think auto. */
void upstream_reasoning(struct upstream_call *call,
    upstream_delta_fn on_reasoning, enum think_mode think);

/* Parses n more bytes of an event stream (HTTP 200, text/event-stream):
 * what libcurl's write callback does with them. Returns 0, or -1 when the
 * call must stop (call->fail_code says why). For tests too. */
int upstream_stream_feed(struct upstream_call *call, const char *bytes,
    size_t n);

/* The event stream of call ended (clean: the transfer completed, not cut);
 * out gets the outcome, as upstream_outcome's for an HTTP 200 stream. */
void upstream_stream_end(struct upstream_call *call, int clean,
    struct upstream_outcome *out);

/* The text is over (the stream ended, or the reply is stopped): hands
 * the bytes the <think> splitter held back, and applies the two rules
 * the end decides: auto mode's stray closing tag (the answer before it
 * moves into call->reasoning), and open mode's reply with no closing tag
 * and no reasoning field, the answer after all (call->reasoning moves
 * into call->content). Idempotent;
 * upstream_outcome calls it. */
void upstream_text_end(struct upstream_call *call);

/* Interprets a finished transfer (result from libcurl) into out. */
void upstream_outcome(struct upstream_call *call, CURLcode result,
    struct upstream_outcome *out);

/* Frees everything call holds; the easy handle must be out of any multi. */
void upstream_free(struct upstream_call *call);

#endif
