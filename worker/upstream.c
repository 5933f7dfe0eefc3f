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

/* Appends a piece of content and hands it to the owner: invalid UTF-8 and
 * control characters (but tab and newlines) replaced, so that a frame is
 * at most RELAY_LINE_MAX (lib/relay.h). */
static int
add_content(struct upstream_call *c, const char *text, size_t n)
{
	buf_reset(&c->delta);
	if (utf8_append_text(&c->delta, text, n) != LC_BUF_OK ||
	    buf_append(&c->content, c->delta.data, c->delta.len) != LC_BUF_OK) {
		call_fail(c, "reply_too_large",
		    "the reply is larger than this server allows");
		return -1;
	}
	if (c->on_delta != NULL && c->delta.len > 0)
		c->on_delta(c->owner, c->delta.data);
	return 0;
}

static void
read_usage(struct upstream_call *c, const cJSON *usage)
{
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(usage, "prompt_tokens");
	const cJSON *k = cJSON_GetObjectItemCaseSensitive(usage,
	    "completion_tokens");
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(usage, "total_tokens");

	if (!cJSON_IsNumber(p) || !cJSON_IsNumber(k))
		return;
	c->usage.present = 1;
	c->usage.prompt_tokens = p->valuedouble;
	c->usage.completion_tokens = k->valuedouble;
	c->usage.total_tokens = cJSON_IsNumber(t) ? t->valuedouble :
	    p->valuedouble + k->valuedouble;
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

/* Takes choices[0].<member>.content (member "delta" in a stream chunk,
 * "message" in a whole completion), its finish_reason and any usage.
 * Returns 1 if there was content, 0 if not, -1 if it could not be kept. */
static int
take_choice(struct upstream_call *c, const cJSON *json, const char *member)
{
	const cJSON *choice = cJSON_GetArrayItem(
	    cJSON_GetObjectItemCaseSensitive(json, "choices"), 0);
	const cJSON *m = cJSON_GetObjectItemCaseSensitive(choice, member);
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
	const cJSON *finish = cJSON_GetObjectItemCaseSensitive(choice,
	    "finish_reason");
	const cJSON *usage = cJSON_GetObjectItemCaseSensitive(json, "usage");

	if (cJSON_IsObject(usage))
		read_usage(c, usage);
	if (cJSON_IsString(finish))
		snprintf(c->finish_reason, sizeof(c->finish_reason), "%s",
		    finish->valuestring);
	if (!cJSON_IsString(content))
		return 0;
	return add_content(c, content->valuestring,
	    strlen(content->valuestring)) == 0 ? 1 : -1;
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
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(json, "error");
	if (error != NULL && !cJSON_IsNull(error)) {
		char msg[256];
		error_message(error, msg, sizeof(msg));
		call_fail(c, "upstream_error", msg);
		goto out;
	}
	if (take_choice(c, json, "delta") < 0)
		goto out;
	rc = 0;
out:
	cJSON_Delete(json);
	return rc;
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
	int rc = sse_feed(&c->sse, ptr, n, on_event, c);
	if (rc == SSE_TOO_BIG)
		call_fail(c, "upstream_bad_response",
		    "the model's API sent an event larger than allowed");
	return rc == SSE_OK ? n : 0;
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

	if (take_choice(c, json, "message") == 1) {
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
	if (c->kind == 1 && !c->done && result == CURLE_OK)
		sse_finish(&c->sse, on_event, c);  /* a last unterminated event */
	if (c->fail_code != NULL) {
		out->code = c->fail_code;
		snprintf(out->message, sizeof(out->message), "%s", c->fail_msg);
		return;
	}
	if (!c->done) {
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
	memset(c, 0, sizeof(*c));
}
