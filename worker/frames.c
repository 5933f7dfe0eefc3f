/* frames.c - builds client frames with cJSON. */
#include "frames.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

/* Prints root and deletes it; NULL if anything failed (ok == 0). */
static char *
finish(cJSON *root, int ok)
{
	char *s = ok ? cJSON_PrintUnformatted(root) : NULL;

	cJSON_Delete(root);
	return s;
}

static int
add_msgid(cJSON *root, const char *msgid)
{
	if (msgid == NULL)
		return cJSON_AddNullToObject(root, "msgid") != NULL;
	return cJSON_AddStringToObject(root, "msgid", msgid) != NULL;
}

static int
add_conv(cJSON *root, const char *conversation_id)
{
	if (conversation_id == NULL || conversation_id[0] == '\0')
		return 1;
	return cJSON_AddStringToObject(root, "conversation_id",
	    conversation_id) != NULL;
}

char *
frame_delta(const char *msgid, const char *conversation_id, const char *delta)
{
	cJSON *root = cJSON_CreateObject();
	int ok = root != NULL && add_msgid(root, msgid) &&
	    add_conv(root, conversation_id) &&
	    cJSON_AddStringToObject(root, "type", "delta") != NULL &&
	    cJSON_AddStringToObject(root, "delta", delta) != NULL;

	return finish(root, ok);
}

char *
frame_reasoning(const char *msgid, const char *conversation_id,
    const char *delta)
{
	cJSON *root = cJSON_CreateObject();
	int ok = root != NULL && add_msgid(root, msgid) &&
	    add_conv(root, conversation_id) &&
	    cJSON_AddStringToObject(root, "type", "reasoning") != NULL &&
	    cJSON_AddStringToObject(root, "delta", delta) != NULL;

	return finish(root, ok);
}

/* Adds reasoning (when there is some): its text, reasoning_ms when over,
 * and for a snapshot "thinking" while no answer has come. */
static int
add_reasoning(cJSON *root, const struct frame_reasoning *r, int snapshot,
    const char *content)
{
	if (r == NULL || r->text == NULL || r->text[0] == '\0')
		return 1;
	if (cJSON_AddStringToObject(root, "reasoning", r->text) == NULL)
		return 0;
	if (snapshot && content[0] == '\0' &&
	    cJSON_AddTrueToObject(root, "thinking") == NULL)
		return 0;
	return r->ms < 0 || cJSON_AddNumberToObject(root, "reasoning_ms",
	    (double)r->ms) != NULL;
}

char *
frame_reply(const char *msgid, const char *conversation_id,
    const char *content, const char *model, const char *finish_reason,
    const struct lc_usage *usage, const struct frame_reasoning *reasoning)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *text = NULL, *u = NULL;
	int ok = root != NULL && add_msgid(root, msgid) &&
	    add_conv(root, conversation_id) &&
	    cJSON_AddStringToObject(root, "type", "reply") != NULL &&
	    (text = cJSON_AddObjectToObject(root, "text")) != NULL &&
	    cJSON_AddStringToObject(text, "role", "assistant") != NULL &&
	    cJSON_AddStringToObject(text, "content", content) != NULL &&
	    cJSON_AddStringToObject(root, "model", model) != NULL &&
	    cJSON_AddStringToObject(root, "finish_reason",
	    finish_reason != NULL ? finish_reason : "stop") != NULL;

	if (ok && usage != NULL && usage->present) {
		ok = (u = cJSON_AddObjectToObject(root, "usage")) != NULL &&
		    cJSON_AddNumberToObject(u, "prompt_tokens",
		    usage->prompt_tokens) != NULL &&
		    cJSON_AddNumberToObject(u, "completion_tokens",
		    usage->completion_tokens) != NULL &&
		    cJSON_AddNumberToObject(u, "total_tokens",
		    usage->total_tokens) != NULL;
	}
	ok = ok && add_reasoning(root, reasoning, 0, content);
	return finish(root, ok);
}

/* An amount of a limit for a frame: tokens as they are, money (micro-units)
 * as a number of units. */
static double
budget_amount(enum budget_unit unit, long long v)
{
	return unit == BUDGET_COST ? (double)v / (double)BUDGET_MICROS :
	    (double)v;
}

/* Adds the "budget" member of a budget_exceeded error (frames.h) to err. */
static int
add_budget(cJSON *err, const struct budget_verdict *v, const char *currency)
{
	char at[BUDGET_ISO_MAX];
	cJSON *b;

	if (v == NULL || !v->exceeded)
		return 1;
	if (budget_iso_time(v->resets_at, at) != 0)
		at[0] = '\0';
	return (b = cJSON_AddObjectToObject(err, "budget")) != NULL &&
	    cJSON_AddStringToObject(b, "scope", v->site ? "site" : "user") !=
	    NULL && cJSON_AddStringToObject(b, "period",
	    v->period == BUDGET_DAY ? "day" : "month") != NULL &&
	    cJSON_AddStringToObject(b, "unit",
	    v->unit == BUDGET_COST ? "cost" : "tokens") != NULL &&
	    cJSON_AddNumberToObject(b, "limit",
	    budget_amount(v->unit, v->limit)) != NULL &&
	    cJSON_AddNumberToObject(b, "used",
	    budget_amount(v->unit, v->used)) != NULL &&
	    cJSON_AddStringToObject(b, "resets_at", at) != NULL &&
	    cJSON_AddStringToObject(b, "currency",
	    currency != NULL ? currency : "") != NULL;
}

char *
frame_error(const struct frame_error *e)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *err = NULL, *text = NULL;
	size_t clen = strlen(e->message) + sizeof("Error: ");
	char *content = malloc(clen);
	int ok;

	if (content != NULL)
		snprintf(content, clen, "Error: %s", e->message);
	ok = root != NULL && content != NULL && add_msgid(root, e->msgid) &&
	    add_conv(root, e->conversation_id) &&
	    cJSON_AddStringToObject(root, "type", "error") != NULL &&
	    (err = cJSON_AddObjectToObject(root, "error")) != NULL &&
	    cJSON_AddStringToObject(err, "code", e->code) != NULL &&
	    cJSON_AddStringToObject(err, "message", e->message) != NULL &&
	    (text = cJSON_AddObjectToObject(root, "text")) != NULL &&
	    cJSON_AddStringToObject(text, "content", content) != NULL;
	if (ok && e->field != NULL && e->field[0] != '\0')
		ok = cJSON_AddStringToObject(err, "field", e->field) != NULL;
	if (ok && e->status > 0)
		ok = cJSON_AddNumberToObject(err, "status",
		    (double)e->status) != NULL;
	if (ok && e->retry_after >= 0)
		ok = cJSON_AddNumberToObject(err, "retry_after",
		    (double)e->retry_after) != NULL;
	if (ok && e->partial != NULL)
		ok = cJSON_AddStringToObject(err, "partial", e->partial) != NULL;
	ok = ok && add_budget(err, e->budget, e->currency);
	free(content);
	return finish(root, ok);
}

char *
frame_start(const char *msgid, const char *conversation_id, const char *title,
    const char *model, const char *prompt, int replaced,
    const cJSON *attachments, long long parent_id, long long prompt_id)
{
	cJSON *root = cJSON_CreateObject();
	int ok = root != NULL &&
	    cJSON_AddStringToObject(root, "type", "start") != NULL &&
	    add_msgid(root, msgid) && add_conv(root, conversation_id) &&
	    cJSON_AddStringToObject(root, "title", title) != NULL &&
	    cJSON_AddStringToObject(root, "model", model) != NULL &&
	    cJSON_AddNumberToObject(root, "replaced", replaced) != NULL &&
	    (parent_id > 0 ? cJSON_AddNumberToObject(root, "parent_id",
	    (double)parent_id) : cJSON_AddNullToObject(root, "parent_id")) !=
	    NULL;

	if (ok && prompt != NULL)
		ok = cJSON_AddStringToObject(root, "prompt", prompt) != NULL;
	if (ok && cJSON_GetArraySize(attachments) > 0) {
		cJSON *a = cJSON_Duplicate(attachments, 1);
		ok = a != NULL && cJSON_AddItemToObject(root, "attachments", a);
		if (!ok)
			cJSON_Delete(a);
	}
	if (ok && prompt_id > 0)
		ok = cJSON_AddNumberToObject(root, "prompt_id",
		    (double)prompt_id) != NULL;
	return finish(root, ok);
}

char *
frame_switched(const char *conversation_id, long long leaf)
{
	cJSON *root = cJSON_CreateObject();
	int ok = root != NULL &&
	    cJSON_AddStringToObject(root, "type", "switched") != NULL &&
	    add_conv(root, conversation_id) &&
	    cJSON_AddNumberToObject(root, "message_id", (double)leaf) != NULL;

	return finish(root, ok);
}

char *
frame_snapshot(const char *msgid, const char *conversation_id,
    const char *model, const char *content,
    const struct frame_reasoning *reasoning)
{
	cJSON *root = cJSON_CreateObject();
	int ok = root != NULL &&
	    cJSON_AddStringToObject(root, "type", "snapshot") != NULL &&
	    add_msgid(root, msgid) && add_conv(root, conversation_id) &&
	    cJSON_AddStringToObject(root, "model", model) != NULL &&
	    cJSON_AddStringToObject(root, "content", content) != NULL &&
	    add_reasoning(root, reasoning, 1, content);

	return finish(root, ok);
}

char *
frame_idle(const char *conversation_id)
{
	cJSON *root = cJSON_CreateObject();
	int ok = root != NULL &&
	    cJSON_AddStringToObject(root, "type", "idle") != NULL &&
	    add_conv(root, conversation_id);

	return finish(root, ok);
}

char *
frame_pong(void)
{
	cJSON *root = cJSON_CreateObject();
	int ok = root != NULL &&
	    cJSON_AddStringToObject(root, "type", "pong") != NULL;

	return finish(root, ok);
}
