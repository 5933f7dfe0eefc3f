/* request.c - sendprompt validation: every field type- and range-checked
 * before anything is sent upstream. */
#include "request.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

/* The control characters a prompt may hold: tab, newline, and carriage
 * return (text pasted or sent with CRLF line ends; cJSON writes it as two
 * bytes, "\r"). The others are refused, never stored: cJSON would write
 * each as six bytes in every answer that carries the text. */
#define REQUEST_CTL_ALLOWED "\t\n\r"

static int
fail(struct request_error *err, const char *code, const char *field,
    const char *message)
{
	err->code = code;
	snprintf(err->field, sizeof(err->field), "%s", field != NULL ? field : "");
	snprintf(err->message, sizeof(err->message), "%s", message);
	return -1;
}

/* Refuses text (field's value) holding a control character other than
 * REQUEST_CTL_ALLOWED, naming it and where it is. */
static int
check_text(const char *text, const char *field, struct request_error *err)
{
	size_t n = strlen(text), at = utf8_ctl_find(text, n,
	    REQUEST_CTL_ALLOWED);
	char msg[160];

	if (at == n)
		return 0;
	snprintf(msg, sizeof(msg), "%s holds the control character U+%04X at "
	    "byte %zu: only tab, newline and carriage return are allowed",
	    field, (unsigned)(unsigned char)text[at], at);
	return fail(err, "invalid_request", field, msg);
}

int
request_resolve_model(const struct lc_config *cfg,
    const struct models_live *live, const char *name, char *out)
{
	size_t nlen = strlen(name);
	int u;

	if (nlen == 0 || nlen > REQUEST_MODEL_MAX)
		return -1;
	if ((u = models_route(cfg->mt, live, name)) >= 0) {
		memcpy(out, name, nlen + 1);
		return u;
	}
	/* Aliases: "alias=model,alias=model"; the target must be offered. */
	for (const char *p = cfg->model_aliases; *p;) {
		while (*p == ',' || *p == ' ')
			p++;
		size_t len = strcspn(p, ",");
		const char *eq = memchr(p, '=', len);
		size_t alen = eq != NULL ? (size_t)(eq - p) : 0;
		while (alen > 0 && p[alen - 1] == ' ')
			alen--;
		if (eq != NULL && alen == nlen && memcmp(p, name, nlen) == 0) {
			const char *t = eq + 1;
			while (*t == ' ')
				t++;
			size_t tlen = (size_t)(p + len - t);
			while (tlen > 0 && t[tlen - 1] == ' ')
				tlen--;
			if (tlen == 0 || tlen > REQUEST_MODEL_MAX)
				return -1;
			memcpy(out, t, tlen);
			out[tlen] = '\0';
			return models_route(cfg->mt, live, out);
		}
		p += len;
	}
	return -1;
}

/* models_each's first model, for a request without a model when no
 * default_model is configured. */
static int
first_model(void *arg, const char *name, int upstream)
{
	(void)upstream;
	snprintf(arg, REQUEST_MODEL_MAX + 1, "%s", name);
	return 1;
}

/* Reads an optional number (a JSON number or a numeric string, as the seed's
 * form fields may send) in [min, max]. Returns 0 absent, 1 present, -1 bad. */
static int
get_number(const cJSON *params, const char *name, double min, double max,
    double *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params, name);
	double d;

	if (v == NULL || cJSON_IsNull(v))
		return 0;
	if (cJSON_IsNumber(v)) {
		d = v->valuedouble;
	} else if (cJSON_IsString(v) && v->valuestring[0] != '\0' &&
	    strspn(v->valuestring, "0123456789.eE+-") ==
	    strlen(v->valuestring)) {
		/* Plain decimal only: strtod would also take hex, "inf" and
		 * leading blanks. */
		char *end = NULL;
		d = strtod(v->valuestring, &end);
		if (*end != '\0')
			return -1;
	} else {
		return -1;
	}
	if (!isfinite(d) || d < min || d > max)
		return -1;
	*out = d;
	return 1;
}

/* Checks a seed-shaped messages array and keeps a copy of role+content. */
static int
check_messages(const cJSON *messages, const struct lc_config *cfg,
    cJSON **out, struct request_error *err)
{
	int n = cJSON_GetArraySize(messages);
	const cJSON *m;

	if (!cJSON_IsArray(messages) || n < 1)
		return fail(err, "invalid_request", "messages",
		    "messages must be a non-empty array");
	if (n > cfg->max_messages) {
		char msg[96];
		snprintf(msg, sizeof(msg), "at most %ld messages",
		    cfg->max_messages);
		return fail(err, "invalid_request", "messages", msg);
	}
	*out = cJSON_CreateArray();
	if (*out == NULL)
		return fail(err, "server_error", NULL, "out of memory");
	cJSON_ArrayForEach(m, messages) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m,
		    "content");
		if (!cJSON_IsObject(m) || !cJSON_IsString(role) ||
		    (strcmp(role->valuestring, "user") != 0 &&
		    strcmp(role->valuestring, "assistant") != 0 &&
		    strcmp(role->valuestring, "system") != 0))
			return fail(err, "invalid_request", "messages.role",
			    "each message needs a role: user, assistant or "
			    "system");
		if (!cJSON_IsString(content))
			return fail(err, "invalid_request", "messages.content",
			    "each message needs a string content");
		/* Assistant turns too: a transcript the store does not know
		 * yet is stored whole (worker/prompt.c). */
		if (check_text(content->valuestring, "messages.content",
		    err) != 0)
			return -1;
		cJSON *o = cJSON_CreateObject();
		if (o == NULL || !cJSON_AddItemToArray(*out, o) ||
		    cJSON_AddStringToObject(o, "role", role->valuestring) == NULL ||
		    cJSON_AddStringToObject(o, "content",
		    content->valuestring) == NULL)
			return fail(err, "server_error", NULL, "out of memory");
	}
	return 0;
}

struct num_param {
	const char *name;
	double min, max;
	int integer;
};

/* Checks params.reasoning_effort (absent, null or "": none) into
 * out->params as the string the client sent. */
static int
check_effort(const cJSON *params, struct chat_request *out,
    struct request_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(params,
	    "reasoning_effort");
	int e;

	if (v == NULL || cJSON_IsNull(v) ||
	    (cJSON_IsString(v) && v->valuestring[0] == '\0'))
		return 0;
	for (e = 0; models_effort_name((enum models_effort)e) != NULL; e++)
		if (cJSON_IsString(v) && strcmp(v->valuestring,
		    models_effort_name((enum models_effort)e)) == 0)
			break;
	if (models_effort_name((enum models_effort)e) == NULL)
		return fail(err, "invalid_request", "params.reasoning_effort",
		    "reasoning_effort must be one of none, minimal, low, "
		    "medium, high, xhigh");
	if (cJSON_AddStringToObject(out->params, "reasoning_effort",
	    v->valuestring) == NULL)
		return fail(err, "server_error", NULL, "out of memory");
	return 0;
}

/* Checks params into out->model (routed: out->upstream, out->info) and
 * out->params. */
static int
check_params(const cJSON *params, const struct lc_config *cfg,
    const struct models_live *live, struct chat_request *out,
    struct request_error *err)
{
	const struct num_param nums[] = {
		{ "max_tokens", 1, (double)cfg->max_tokens_limit, 1 },
		{ "temperature", 0, 2, 0 },
		{ "top_p", 0, 1, 0 },
		{ "frequency_penalty", -2, 2, 0 },
		{ "presence_penalty", -2, 2, 0 },
	};
	const cJSON *model;

	if (params != NULL && !cJSON_IsNull(params) && !cJSON_IsObject(params))
		return fail(err, "invalid_request", "params",
		    "params must be an object");
	model = cJSON_GetObjectItemCaseSensitive(params, "model_name");
	if (model == NULL || cJSON_IsNull(model) ||
	    (cJSON_IsString(model) && model->valuestring[0] == '\0')) {
		char name[REQUEST_MODEL_MAX + 1] = "";
		if (cfg->default_model[0] != '\0')
			snprintf(name, sizeof(name), "%s", cfg->default_model);
		else
			models_each(cfg->mt, live, first_model, name);
		out->upstream = name[0] != '\0' ?
		    request_resolve_model(cfg, live, name, out->model) : -1;
		if (out->upstream < 0)
			return fail(err, "model_not_allowed", "params.model_name",
			    name[0] != '\0' ? "the default model is not "
			    "available now" : "no model is available now");
	} else if (!cJSON_IsString(model)) {
		return fail(err, "invalid_request", "params.model_name",
		    "model_name must be a string");
	} else if ((out->upstream = request_resolve_model(cfg, live,
	    model->valuestring, out->model)) < 0) {
		char msg[200];
		snprintf(msg, sizeof(msg), "model '%.64s' is not available here",
		    model->valuestring);
		return fail(err, "model_not_allowed", "params.model_name", msg);
	}
	models_info(cfg->mt, out->model, out->upstream, &out->info);
	out->params = cJSON_CreateObject();
	if (out->params == NULL)
		return fail(err, "server_error", NULL, "out of memory");
	for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
		double d = 0;
		int got = get_number(params, nums[i].name, nums[i].min,
		    nums[i].max, &d);
		if (got == 1 && nums[i].integer && d != floor(d))
			got = -1;
		if (got < 0) {
			char msg[128], field[64];
			snprintf(msg, sizeof(msg),
			    "%s must be a number from %g to %g", nums[i].name,
			    nums[i].min, nums[i].max);
			snprintf(field, sizeof(field), "params.%s", nums[i].name);
			return fail(err, "invalid_request", field, msg);
		}
		if (got == 1 &&
		    cJSON_AddNumberToObject(out->params, nums[i].name, d) == NULL)
			return fail(err, "server_error", NULL, "out of memory");
	}
	return check_effort(params, out, err);
}

/* Copies an optional string member into *out (NULL when absent). */
static int
get_string(const cJSON *payload, const char *name, size_t max, char **out,
    struct request_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(payload, name);
	char msg[96];

	*out = NULL;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	snprintf(msg, sizeof(msg), "%s must be a string of at most %zu bytes",
	    name, max);
	if (!cJSON_IsString(v) || strlen(v->valuestring) > max)
		return fail(err, "invalid_request", name, msg);
	*out = strdup(v->valuestring);
	if (*out == NULL)
		return fail(err, "server_error", NULL, "out of memory");
	return 0;
}

/* Checks "attachments" (NULL: none): an array of at most
 * prompt_attachments_max distinct ids, copied into out. Returns 0, or -1
 * with err set. */
static int
check_attachments(const cJSON *arr, const struct lc_config *cfg,
    struct chat_request *out, struct request_error *err)
{
	const cJSON *e;
	char m[128];

	if (arr == NULL || cJSON_IsNull(arr))
		return 0;
	if (!cJSON_IsArray(arr))
		return fail(err, "invalid_request", "attachments",
		    "attachments must be an array of attachment ids");
	if (cJSON_GetArraySize(arr) > cfg->prompt_attachments_max) {
		snprintf(m, sizeof(m), "at most %ld attachments per prompt "
		    "(prompt_attachments_max)", cfg->prompt_attachments_max);
		return fail(err, "invalid_request", "attachments", m);
	}
	cJSON_ArrayForEach(e, arr) {
		if (!cJSON_IsString(e) || !id_valid(e->valuestring))
			return fail(err, "invalid_request", "attachments",
			    "attachments must be ids from POST /api/attachments");
		for (int i = 0; i < out->n_attachments; i++)
			if (strcmp(out->attachments[i], e->valuestring) == 0)
				return fail(err, "invalid_request",
				    "attachments", "an attachment is named twice");
		memcpy(out->attachments[out->n_attachments++], e->valuestring,
		    ID_LEN + 1);
	}
	return 0;
}

int
request_parse(const cJSON *payload, enum request_kind kind,
    const struct lc_config *cfg, const struct models_live *live,
    struct chat_request *out, struct request_error *err)
{
	const cJSON *msgid, *stream, *conv, *messages, *edit;
	size_t max_text = (size_t)cfg->max_message;

	memset(out, 0, sizeof(*out));
	memset(err, 0, sizeof(*err));
	out->upstream = -1;
	if (!cJSON_IsObject(payload))
		return fail(err, "invalid_request", "payload",
		    "payload must be an object");
	msgid = cJSON_GetObjectItemCaseSensitive(payload, "msgid");
	if (!cJSON_IsString(msgid) || msgid->valuestring[0] == '\0' ||
	    strlen(msgid->valuestring) > REQUEST_MSGID_MAX)
		return fail(err, "invalid_request", "msgid",
		    "msgid must be a string of 1 to 128 bytes");
	memcpy(out->msgid, msgid->valuestring, strlen(msgid->valuestring) + 1);

	stream = cJSON_GetObjectItemCaseSensitive(payload, "stream");
	if (stream != NULL && !cJSON_IsBool(stream))
		return fail(err, "invalid_request", "stream",
		    "stream must be true or false");
	out->stream = cJSON_IsTrue(stream);

	conv = cJSON_GetObjectItemCaseSensitive(payload, "conversation_id");
	if (conv != NULL && !cJSON_IsNull(conv)) {
		if (!cJSON_IsString(conv) || !id_valid(conv->valuestring))
			return fail(err, "invalid_request", "conversation_id",
			    "conversation_id must be an id from this server");
		memcpy(out->conversation_id, conv->valuestring, ID_LEN + 1);
	}
	if (check_params(cJSON_GetObjectItemCaseSensitive(payload, "params"),
	    cfg, live, out, err) != 0)
		return -1;

	if (request_get_id(payload, "parent_id", &out->parent_id, err) != 0)
		return -1;
	if (kind == REQUEST_REGENERATE) {
		if (out->conversation_id[0] == '\0')
			return fail(err, "invalid_request", "conversation_id",
			    "regenerate needs a conversation_id");
		return 0;
	}
	messages = cJSON_GetObjectItemCaseSensitive(payload, "messages");
	if (messages != NULL && cJSON_GetObjectItemCaseSensitive(payload,
	    "attachments") != NULL)
		return fail(err, "invalid_request", "attachments",
		    "attachments need the conversation shape (\"prompt\")");
	if (messages != NULL) {
		/* The seed's shape: the client's own transcript goes upstream. */
		out->seed = 1;
		return check_messages(messages, cfg, &out->messages, err);
	}
	if (get_string(payload, "prompt", max_text, &out->prompt, err) != 0 ||
	    get_string(payload, "system", max_text, &out->system, err) != 0 ||
	    check_attachments(cJSON_GetObjectItemCaseSensitive(payload,
	    "attachments"), cfg, out, err) != 0)
		return -1;
	/* With attachments, the prompt's text may be empty. */
	if (out->prompt == NULL || (out->prompt[0] == '\0' &&
	    out->n_attachments == 0))
		return fail(err, "invalid_request", "prompt",
		    "send a non-empty \"prompt\" (or the seed's \"messages\")");
	if (check_text(out->prompt, "prompt", err) != 0 ||
	    (out->system != NULL && check_text(out->system, "system",
	    err) != 0))
		return -1;
	edit = cJSON_GetObjectItemCaseSensitive(payload, "edit_last");
	if (edit != NULL && !cJSON_IsBool(edit))
		return fail(err, "invalid_request", "edit_last",
		    "edit_last must be true or false");
	out->edit_last = cJSON_IsTrue(edit);
	edit = cJSON_GetObjectItemCaseSensitive(payload, "edit");
	if (edit != NULL && !cJSON_IsNull(edit)) {
		if (!cJSON_IsObject(edit) || request_get_id(edit, "message_id",
		    &out->edit_id, err) != 0 || out->edit_id == 0)
			return fail(err, "invalid_request", "edit",
			    "edit must be {\"message_id\": the id of a prompt}");
	}
	if ((out->edit_last || out->edit_id > 0) &&
	    out->conversation_id[0] == '\0')
		return fail(err, "invalid_request", "conversation_id",
		    "edit needs a conversation_id");
	if ((out->edit_last || out->edit_id > 0) && out->parent_id > 0)
		return fail(err, "invalid_request", "parent_id",
		    "an edit branches from the edited prompt's parent: send "
		    "edit or parent_id, not both");
	if (out->parent_id > 0 && out->conversation_id[0] == '\0')
		return fail(err, "invalid_request", "conversation_id",
		    "parent_id needs a conversation_id");
	return 0;
}

int
request_get_id(const cJSON *obj, const char *name, long long *out,
    struct request_error *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);

	*out = 0;
	if (v == NULL || cJSON_IsNull(v))
		return 0;
	/* Row ids: positive integers a double holds exactly. */
	if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
	    v->valuedouble > 9007199254740991.0 ||
	    v->valuedouble != (double)(long long)v->valuedouble) {
		char m[96];
		snprintf(m, sizeof(m), "%s must be a message id (a positive "
		    "integer)", name);
		return fail(err, "invalid_request", name, m);
	}
	*out = (long long)v->valuedouble;
	return 0;
}

void
request_free(struct chat_request *req)
{
	cJSON_Delete(req->params);
	cJSON_Delete(req->messages);
	free(req->prompt);
	free(req->system);
	req->params = req->messages = NULL;
	req->prompt = req->system = NULL;
}
