/* upstream.c - the upstream side of a chat reply: the libcurl call, the
 * event stream interpretation, and the classification of how a call ended
 * (its request body: upstream_body.c). */
#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cjson/cJSON.h>

#include "upstream_http.h"
#include "utf8.h"

/* Records the worker's own reason to abort; libcurl then ends the transfer
 * with CURLE_WRITE_ERROR and upstream_outcome reports this instead. */
static void
call_fail(struct upstream_call *c, const char *code, const char *msg)
{
	if (c->fail_code != NULL)
		return;
	c->fail_code = code;
	snprintf(c->fail_msg, sizeof(c->fail_msg), "%s", msg);
}

/* Hands the text held in c->piece to the owner: invalid UTF-8 and control
 * characters (but tab and newlines) replaced, so that a frame is at most
 * RELAY_LINE_MAX (lib/relay.h); appended to content or reasoning, both
 * together within max_reply (content.max). Returns 0 or -1 (too large). */
static int
flush_piece(struct upstream_call *c)
{
	int reasoning = c->piece_kind == THINK_REASONING;
	struct lc_buf *to = reasoning ? &c->reasoning : &c->content;
	upstream_delta_fn fn = reasoning ? c->on_reasoning : c->on_delta;

	if (c->piece.len == 0)
		return 0;
	if (c->reasoning.max == 0)
		buf_init(&c->reasoning, c->content.max);
	buf_reset(&c->delta);
	if (utf8_append_text(&c->delta, c->piece.data, c->piece.len) !=
	    LC_BUF_OK || c->content.len + c->reasoning.len + c->delta.len >
	    c->content.max || buf_append(to, c->delta.data, c->delta.len) !=
	    LC_BUF_OK) {
		buf_reset(&c->piece);
		call_fail(c, "reply_too_large",
		    "the reply is larger than this server allows");
		return -1;
	}
	buf_reset(&c->piece);
	if (fn != NULL && c->delta.len > 0)
		fn(c->owner, c->delta.data);
	return 0;
}

/* Collects n bytes of kind into c->piece (handing what it held first when
 * the kind changes). */
static int
add_piece(struct upstream_call *c, int kind, const char *text, size_t n)
{
	if (c->fail_code != NULL)
		return -1;
	if (kind != c->piece_kind && flush_piece(c) != 0)
		return -1;
	c->piece_kind = kind;
	if (c->piece.max == 0)
		buf_init(&c->piece, c->content.max + 64);
	if (buf_append(&c->piece, text, n) != LC_BUF_OK) {
		call_fail(c, "reply_too_large",
		    "the reply is larger than this server allows");
		return -1;
	}
	return 0;
}

/* The model's reasoning so far becomes the start of its answer (open
 * mode's stream that never closed its reasoning). */
static void
reasoning_to_answer(struct upstream_call *c)
{
	struct lc_buf *from = &c->reasoning, *to = &c->content;

	if (c->reasoning.max == 0)
		buf_init(&c->reasoning, c->content.max);
	if (from->len == 0)
		return;
	if (to->len == 0) {
		struct lc_buf t = *to;  /* same maximum: swap */
		*to = *from;
		*from = t;
		return;
	}
	if (buf_append(to, from->data, from->len) == LC_BUF_OK)
		buf_reset(from);
}

/* The splitter's output (worker/think.h). */
static void
on_think(void *arg, enum think_kind kind, const char *text, size_t n)
{
	struct upstream_call *c = arg;

	if (kind != THINK_STRAY) {
		add_piece(c, kind, text, n);
		return;
	}
	/* A closing tag with no opening one: what came as answer was the
	 * reasoning. Its deltas are out already; the final frame and the
	 * store carry the split, made at the end (upstream_text_end) so that
	 * the content's offsets, which a session behind is owed from
	 * (reply_missed), stay the same while it streams. */
	if (flush_piece(c) == 0 && !c->stray) {
		c->stray = 1;
		c->stray_at = c->content.len;
	}
}

/* The answer's first stray_at bytes become the reasoning's end. */
static void
split_stray(struct upstream_call *c)
{
	size_t n = c->stray_at;

	if (n == 0 || n > c->content.len)
		return;
	if (c->reasoning.max == 0)
		buf_init(&c->reasoning, c->content.max);
	/* Within max_reply: the two together do not grow. */
	if (buf_append(&c->reasoning, c->content.data, n) != LC_BUF_OK)
		return;
	buf_consume(&c->content, n);
}

/* A piece of content: through the <think> splitter. */
static int
add_content(struct upstream_call *c, const char *text, size_t n)
{
	think_feed(&c->think, text, n, on_think, c);
	return c->fail_code != NULL ? -1 : 0;
}

void
upstream_reasoning(struct upstream_call *c, upstream_delta_fn on_reasoning,
    enum think_mode think)
{
	c->on_reasoning = on_reasoning;
	think_init(&c->think, think);
}

void
upstream_text_end(struct upstream_call *c)
{
	if (c->text_ended)
		return;
	c->text_ended = 1;
	think_finish(&c->think, on_think, c);
	flush_piece(c);
	if (c->stray)
		split_stray(c);
	if (think_unclosed(&c->think) && !c->reasoning_field)
		reasoning_to_answer(c);
}

static void
read_usage(struct upstream_call *c, const cJSON *usage)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(usage,
	    "completion_tokens");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(usage, "total_tokens");
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetObjectItemCaseSensitive(usage, "completion_tokens_details"),
	    "reasoning_tokens");

	if (!cJSON_IsNumber(p) || !cJSON_IsNumber(k))
		return;
	c->usage.present = 1;
	c->usage.prompt_tokens = p->valuedouble;
	c->usage.completion_tokens = k->valuedouble;
	c->usage.total_tokens = cJSON_IsNumber(t) ? t->valuedouble :
	    p->valuedouble + k->valuedouble;
	/* Part of completion_tokens (OpenAI, DeepSeek, OpenRouter): a number
	 * from 0 to the completion's, else none. */
	c->usage.reasoning_tokens = cJSON_IsNumber(r) && r->valuedouble >= 0 &&
	    r->valuedouble <= k->valuedouble ? r->valuedouble : 0;
}

/* Takes the message of an OpenAI error object, bounded, into msg. */
static void
error_message(const cJSON *error, char *msg, size_t cap)
{
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(error, "message");
	char clean[200];
	struct lc_buf b;

	if (cJSON_IsString(error))
		m = error;
	if (!cJSON_IsString(m)) {
		snprintf(msg, cap, "the model's API reported an error");
		return;
	}
	buf_init(&b, sizeof(clean) - 4);
	size_t n = strlen(m->valuestring);
	if (n > sizeof(clean) - 8)
		n = utf8_valid_prefix(m->valuestring, sizeof(clean) - 8);
	if (utf8_append_sanitized(&b, m->valuestring, n) == LC_BUF_OK)
		snprintf(msg, cap, "%s", buf_str(&b));
	else
		snprintf(msg, cap, "the model's API reported an error");
	buf_free(&b);
}

/* Takes choices[0].<member> (member "delta" in a stream chunk, "message"
 * in a whole completion): its reasoning (reasoning_content: DeepSeek,
 * llama.cpp, older vLLM; reasoning: OpenRouter, vLLM >= 0.11, Ollama; one
 * that sends both with the same text, as vLLM did in between, is read
 * once: reasoning_content first), its content, its finish_reason and any usage.
 * A chunk with no choices (usage, Azure's prompt_filter_results) or with
 * content null is no text. Returns 1 if there was text, 0 if not, -1 if
 * it could not be kept. */
static int
take_choice(struct upstream_call *c, const cJSON *json, const char *member)
{
	const cJSON *choice = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(json, "choices"), 0);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(choice, member);
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
	const cJSON *reason = cJSON_GetObjectItemCaseSensitive(m,
	    "reasoning_content");
	const cJSON *finish = cJSON_GetObjectItemCaseSensitive(choice,
	    "finish_reason");
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(json, "usage");
	int text = 0;

	if (!cJSON_IsString(reason))
		reason = cJSON_GetObjectItemCaseSensitive(m, "reasoning");
	if (cJSON_IsObject(usage))
		read_usage(c, usage);
	if (cJSON_IsString(finish))
		snprintf(c->finish_reason, sizeof(c->finish_reason), "%s",
		    finish->valuestring);
	if (cJSON_IsString(reason) && reason->valuestring[0] != '\0') {
		c->reasoning_field = 1;
		think_separated(&c->think);
		if (add_piece(c, THINK_REASONING, reason->valuestring,
		    strlen(reason->valuestring)) != 0)
			return -1;
		text = 1;
	}
	if (cJSON_IsString(content) && content->valuestring[0] != '\0') {
		if (add_content(c, content->valuestring,
		    strlen(content->valuestring)) != 0)
			return -1;
		text = 1;
	}
	/* Each chunk's text goes out as it came: one delta of each kind. */
	return flush_piece(c) != 0 ? -1 : text;
}

/* An error reported inside a 200 stream, in any of the shapes servers use:
 * {"error":{…}} or {"error":"…"} (OpenAI, vLLM, OpenRouter, which may add
 * finish_reason "error"), {"object":"error","message"} (vLLM's
 * ErrorResponse), {"error_type","error_message"} (some vLLM deployments).
 * Returns 1 (c failed) or 0. */
static int
stream_error(struct upstream_call *c, const cJSON *json)
{
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(json, "error");
	const cJSON *object = cJSON_GetObjectItemCaseSensitive(json, "object");
	const cJSON *emsg = cJSON_GetObjectItemCaseSensitive(json,
	    "error_message");
	const cJSON *finish = cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(json,
	    "choices"), 0), "finish_reason");
	char msg[256];

	if (error != NULL && !cJSON_IsNull(error))
		error_message(error, msg, sizeof(msg));
	else if (cJSON_IsString(emsg))
		error_message(emsg, msg, sizeof(msg));
	else if (cJSON_IsString(object) &&
	    strcmp(object->valuestring, "error") == 0)
		error_message(json, msg, sizeof(msg));
	else if (cJSON_IsString(finish) &&
	    strcmp(finish->valuestring, "error") == 0)
		snprintf(msg, sizeof(msg), "the model's API reported an error");
	else
		return 0;
	call_fail(c, "upstream_error", msg);
	return 1;
}

/* One event of the stream: [DONE], a chunk, or an error object. */
static int
on_event(void *arg, const char *data, size_t len)
{
	struct upstream_call *c = arg;
	cJSON *json = NULL;
	int rc = -1;

	if (c->done)
		return 0;  /* ignore anything after [DONE] */
	if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
		c->done = 1;
		return 0;
	}
	json = cJSON_ParseWithLength(data, len);
	if (!cJSON_IsObject(json)) {
		call_fail(c, "upstream_bad_response",
		    "the model's API sent an event that is not JSON");
		goto out;
	}
	/* Text in the same chunk as an error (OpenRouter) is kept first. */
	if (take_choice(c, json, "delta") < 0 || stream_error(c, json))
		goto out;
	rc = 0;
out:
	cJSON_Delete(json);
	return rc;
}

int
upstream_stream_feed(struct upstream_call *c, const char *bytes, size_t n)
{
	int rc = sse_feed(&c->sse, bytes, n, on_event, c);

	if (rc == SSE_TOO_BIG)
		call_fail(c, "upstream_bad_response",
		    "the model's API sent an event larger than allowed");
	return rc == SSE_OK ? 0 : -1;
}

static size_t
on_write(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct upstream_call *c = arg;
	size_t n = size * nmemb;

	if (c->kind == 0) {
		long status = 0;
		char *ctype = NULL;
		curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
		curl_easy_getinfo(c->easy, CURLINFO_CONTENT_TYPE, &ctype);
		c->kind = status == 200 && ctype != NULL &&
		    strncasecmp(ctype, "text/event-stream", 17) == 0 ? 1 : 2;
	}
	if (c->kind == 2) {
		/* An error body or a non-stream reply: keep its head only. */
		size_t room = c->raw.max - c->raw.len;
		if (buf_append(&c->raw, ptr, n < room ? n : room) == LC_BUF_NOMEM)
			return 0;
		return n;
	}
	return upstream_stream_feed(c, ptr, n) == 0 ? n : 0;
}

int
upstream_init(struct upstream_call *c, const struct lc_config *cfg,
    const struct lc_upstream *up, const char *model, char *body,
    upstream_delta_fn on_delta, void *owner)
{
	char url[UPHTTP_URL_MAX];

	memset(c, 0, sizeof(*c));
	c->body = body;
	c->on_delta = on_delta;
	c->owner = owner;
	c->up = up;
	/* One event may carry the whole reply (a server that does not chunk). */
	sse_init(&c->sse, (size_t)cfg->max_reply + UPSTREAM_EVENT_SLACK);
	buf_init(&c->content, (size_t)cfg->max_reply);
	/* Room for a whole reply from a server that ignores "stream". */
	buf_init(&c->raw, (size_t)cfg->max_reply + UPSTREAM_ERRBODY_MAX);
	buf_init(&c->delta, (size_t)cfg->max_reply + 16);
	if (body == NULL || up == NULL ||
	    uphttp_url(up, model, "chat/completions", url, sizeof(url)) != 0)
		return -1;
	c->easy = curl_easy_init();
	if (c->easy == NULL)
		return -1;
	c->headers = curl_slist_append(NULL, "Content-Type: application/json");
	if (c->headers != NULL)
		c->headers = curl_slist_append(c->headers,
		    "Accept: text/event-stream");
	if (c->headers == NULL || uphttp_auth(up, &c->headers) != 0)
		return -1;
	if (uphttp_setup(c->easy, up, url, c->headers, c->errbuf, 0) != 0 ||
	    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, c->body) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE,
	    (long)strlen(c->body)) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_WRITEFUNCTION, on_write) !=
	    CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_WRITEDATA, c) != CURLE_OK ||
	    curl_easy_setopt(c->easy, CURLOPT_PRIVATE, owner) != CURLE_OK)
		return -1;
	return 0;
}

char *
upstream_body_without_stream_options(const char *body)
{
	cJSON *json = cJSON_Parse(body);
	char *out = NULL;

	if (cJSON_IsObject(json)) {
		cJSON_DeleteItemFromObjectCaseSensitive(json, "stream_options");
		out = cJSON_PrintUnformatted(json);
	}
	cJSON_Delete(json);
	return out;
}

/* Whether an error body names stream_options: Mistral's 422
 * {"message":{"detail":[{"type":"extra_forbidden","loc":["body",
 * "stream_options"]…}]}}, or a 400 whose error's param or message names it
 * (OpenAI-style servers, Azure AI Foundry, Fireworks). A plain search of
 * the kept body: the shapes differ, the name does not. */
static int
names_stream_options(const struct lc_buf *raw)
{
	return raw->len > 0 && strstr(buf_str(raw), "stream_options") != NULL;
}

/* A reply that was not an event stream: maybe a plain chat.completion from
 * a server that ignores "stream", else an unexpected page. */
static void
outcome_plain(struct upstream_call *c, struct upstream_outcome *out)
{
	cJSON *json = cJSON_ParseWithLength(buf_str(&c->raw), c->raw.len);

	int text = take_choice(c, json, "message");

	upstream_text_end(c);
	if (text == 1 && c->fail_code == NULL) {
		c->done = 1;
	} else if (c->fail_code != NULL) {
		out->code = c->fail_code;
		snprintf(out->message, sizeof(out->message), "%s", c->fail_msg);
	} else {
		out->code = "upstream_bad_response";
		/* The flat keys are the upstream "default". */
		const char *name = c->up != NULL ? c->up->name : "default";
		if (strcmp(name, "default") == 0)
			snprintf(out->message, sizeof(out->message),
			    "the model's API answered with something that is "
			    "not a chat completion (is upstream_base_url "
			    "right?)");
		else
			snprintf(out->message, sizeof(out->message),
			    "the model's API answered with something that is "
			    "not a chat completion (is the base_url of "
			    "[upstream %s] right?)", name);
	}
	cJSON_Delete(json);
}

/* An HTTP error status: the API's own message when it gave one. */
static void
outcome_status(struct upstream_call *c, long status,
    struct upstream_outcome *out)
{
	char msg[256] = "";
	cJSON *json = cJSON_ParseWithLength(buf_str(&c->raw), c->raw.len);
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(json, "error");

	if (error != NULL)
		error_message(error, msg, sizeof(msg));
	cJSON_Delete(json);
	if (status == 429) {
		out->code = "upstream_rate_limited";
		if (out->retry_after >= 0)
			snprintf(out->message, sizeof(out->message),
			    "the model is rate limited; try again in %ld s",
			    out->retry_after);
		else
			snprintf(out->message, sizeof(out->message),
			    "the model is rate limited; try again later");
	} else if (status == 401 || status == 403) {
		out->code = "upstream_auth";
		snprintf(out->message, sizeof(out->message),
		    "the model's API refused this server's API key (HTTP %ld)",
		    status);
	} else {
		out->code = "upstream_error";
		snprintf(out->message, sizeof(out->message),
		    "the model's API answered HTTP %ld%s%s", status,
		    msg[0] ? ": " : "", msg);
	}
}

void
upstream_outcome(struct upstream_call *c, CURLcode result,
    struct upstream_outcome *out)
{
	long status = 0;
	curl_off_t retry = -1;

	memset(out, 0, sizeof(*out));
	out->retry_after = -1;
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status);
	if (curl_easy_getinfo(c->easy, CURLINFO_RETRY_AFTER, &retry) ==
	    CURLE_OK && retry > 0)
		out->retry_after = (long)retry;
	out->status = status;
	if (c->fail_code != NULL) {
		out->code = c->fail_code;
		snprintf(out->message, sizeof(out->message), "%s", c->fail_msg);
		return;
	}
	if (result == CURLE_OPERATION_TIMEDOUT) {
		out->code = "upstream_timeout";
		snprintf(out->message, sizeof(out->message), "%s",
		    status == 0 ? "the model's API did not answer in time" :
		    "the model's API stopped sending in the middle of the reply");
		return;
	}
	if (status == 0) {
		out->code = "upstream_unreachable";
		snprintf(out->message, sizeof(out->message),
		    "the model's API cannot be reached: %s",
		    c->errbuf[0] ? c->errbuf : curl_easy_strerror(result));
		return;
	}
	if (status != 200) {
		out->stream_options_refused = (status == 400 || status == 422) &&
		    c->content.len == 0 && names_stream_options(&c->raw);
		outcome_status(c, status, out);
		return;
	}
	if (c->kind == 2 && result == CURLE_OK) {
		outcome_plain(c, out);
		return;
	}
	upstream_stream_end(c, result == CURLE_OK, out);
}

void
upstream_stream_end(struct upstream_call *c, int clean,
    struct upstream_outcome *out)
{
	if (!c->done && clean && c->fail_code == NULL)
		sse_finish(&c->sse, on_event, c);  /* a last unterminated event */
	upstream_text_end(c);
	if (c->fail_code != NULL) {
		out->code = c->fail_code;
		snprintf(out->message, sizeof(out->message), "%s", c->fail_msg);
		return;
	}
	/* No [DONE] after a finish_reason and a clean end: complete. */
	if (!c->done && !(clean && c->finish_reason[0] != '\0')) {
		out->code = "upstream_truncated";
		snprintf(out->message, sizeof(out->message),
		    "the model's reply was cut off before its end");
	}
}

void
upstream_free(struct upstream_call *c)
{
	if (c->easy != NULL)
		curl_easy_cleanup(c->easy);
	curl_slist_free_all(c->headers);
	free(c->body);
	sse_free(&c->sse);
	buf_free(&c->content);
	buf_free(&c->raw);
	buf_free(&c->delta);
	buf_free(&c->reasoning);
	buf_free(&c->piece);
	memset(c, 0, sizeof(*c));
}
