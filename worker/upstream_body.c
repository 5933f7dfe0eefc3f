/* upstream_body.c - the /chat/completions request body: the client's
 * checked parameters mapped by the model table (lib/models.h), so that a
 * parameter the model refuses is dropped or renamed here, never forwarded
 * into a 400 (upstream.h). */
#include "upstream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

static const char *const role_names[] = { "system", "developer", "user" };

/* The content of a message with images (context.h): the text part, then
 * one image_url part a data URL each. Returns a new array, or NULL when
 * out of memory. */
static cJSON *
content_parts(const cJSON *content, const cJSON *images)
{
	cJSON *parts = cJSON_CreateArray(), *p;
	const cJSON *im;
	char *url = NULL;

	if (parts == NULL || (p = cJSON_CreateObject()) == NULL ||
	    !cJSON_AddItemToArray(parts, p) ||
	    cJSON_AddStringToObject(p, "type", "text") == NULL ||
	    cJSON_AddStringToObject(p, "text", cJSON_IsString(content) ?
	    content->valuestring : "") == NULL)
		goto fail;
	cJSON_ArrayForEach(im, images) {
		const cJSON *mime = cJSON_GetObjectItemCaseSensitive(im, "mime");
		const cJSON *data = cJSON_GetObjectItemCaseSensitive(im, "data");
		cJSON *iu;
		size_t n;
		if (!cJSON_IsString(mime) || !cJSON_IsString(data))
			continue;
		n = strlen(mime->valuestring) + strlen(data->valuestring) + 16;
		if ((url = malloc(n)) == NULL)
			goto fail;
		snprintf(url, n, "data:%s;base64,%s", mime->valuestring,
		    data->valuestring);
		if ((p = cJSON_CreateObject()) == NULL ||
		    !cJSON_AddItemToArray(parts, p) ||
		    cJSON_AddStringToObject(p, "type", "image_url") == NULL ||
		    (iu = cJSON_AddObjectToObject(p, "image_url")) == NULL ||
		    cJSON_AddStringToObject(iu, "url", url) == NULL)
			goto fail;
		free(url);
		url = NULL;
	}
	return parts;
fail:
	free(url);
	cJSON_Delete(parts);
	return NULL;
}

/* The messages, role and content only (a stored message's reasoning never
 * goes upstream: DeepSeek answers 400 to it), the system role renamed as
 * the model wants ("developer" for the o-series and gpt-5, "user" for
 * o1-mini, which takes neither); a message with "images" (context.h) gets
 * its content as an array of parts. */
static cJSON *
map_messages(const cJSON *messages, const struct lc_model_info *mi)
{
	cJSON *out = cJSON_CreateArray();
	const cJSON *m;

	if (out == NULL)
		return NULL;
	cJSON_ArrayForEach(m, messages) {
		const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(m,
		    "content");
		const char *r = cJSON_IsString(role) ? role->valuestring : "user";
		cJSON *o = cJSON_CreateObject(), *c;
		if (o == NULL || !cJSON_AddItemToArray(out, o))
			goto fail;
		if (mi != NULL && strcmp(r, "system") == 0)
			r = role_names[mi->system_role];
		if (cJSON_AddStringToObject(o, "role", r) == NULL)
			goto fail;
		const cJSON *images = cJSON_GetObjectItemCaseSensitive(m,
		    "images");
		if (cJSON_GetArraySize(images) > 0)
			c = content_parts(content, images);
		else
			c = content != NULL ? cJSON_Duplicate(content, 1) :
			    cJSON_CreateString("");
		if (c == NULL || !cJSON_AddItemToObject(o, "content", c)) {
			cJSON_Delete(c);
			goto fail;
		}
	}
	return out;
fail:
	cJSON_Delete(out);
	return NULL;
}

/* The index of name among the sampling parameters, or -1. */
static int
param_index(const char *name)
{
	for (int i = 0; models_param_name((enum models_param)i) != NULL; i++)
		if (strcmp(models_param_name((enum models_param)i), name) == 0)
			return i;
	return -1;
}

/* Adds parameter p of params to body as the model takes it. Returns 0,
 * or -1 when out of memory. */
static int
map_param(cJSON *body, const cJSON *p, const struct lc_model_info *mi)
{
	int i;

	if (cJSON_IsString(p)) {
		/* reasoning_effort: the nearest effort the model takes */
		if (strcmp(p->string, "reasoning_effort") != 0)
			return 0;
		if (mi == NULL)
			return cJSON_AddStringToObject(body, p->string,
			    p->valuestring) != NULL ? 0 : -1;
		int e;
		for (e = 0; models_effort_name((enum models_effort)e) != NULL;
		    e++)
			if (strcmp(models_effort_name((enum models_effort)e),
			    p->valuestring) == 0)
				break;
		int to = models_effort_map(mi->efforts, e);
		if (to < 0)
			return 0;
		return cJSON_AddStringToObject(body, "reasoning_effort",
		    models_effort_name((enum models_effort)to)) != NULL ? 0 : -1;
	}
	if (!cJSON_IsNumber(p) || (i = param_index(p->string)) < 0)
		return 0;
	double v = p->valuedouble;
	const char *name = p->string;
	if (mi != NULL) {
		if (mi->omit & (1u << i))
			return 0;
		if (i == MODELS_P_MAX_TOKENS) {
			if (mi->max_tokens_limit > 0 &&
			    v > (double)mi->max_tokens_limit)
				v = (double)mi->max_tokens_limit;
			if (mi->max_completion_tokens)
				name = "max_completion_tokens";
		}
	}
	return cJSON_AddNumberToObject(body, name, v) != NULL ? 0 : -1;
}

char *
upstream_body(const char *model, const cJSON *messages, const cJSON *params,
    const struct lc_model_info *mi, bool stream_options)
{
	cJSON *body = cJSON_CreateObject(), *opts, *msgs;
	const cJSON *p;
	char *out = NULL;

	if (body == NULL || cJSON_AddStringToObject(body, "model", model) == NULL)
		goto out;
	msgs = map_messages(messages, mi);
	if (msgs == NULL || !cJSON_AddItemToObject(body, "messages", msgs)) {
		cJSON_Delete(msgs);
		goto out;
	}
	cJSON_ArrayForEach(p, params) {
		if (map_param(body, p, mi) != 0)
			goto out;
	}
	if (cJSON_AddBoolToObject(body, "stream", 1) == NULL)
		goto out;
	if (stream_options &&
	    ((opts = cJSON_AddObjectToObject(body, "stream_options")) == NULL ||
	    cJSON_AddBoolToObject(opts, "include_usage", 1) == NULL))
		goto out;
	out = cJSON_PrintUnformatted(body);
out:
	cJSON_Delete(body);
	return out;
}
