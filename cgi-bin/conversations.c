/* conversations.c - the REST API over stored conversations:
 *   GET    /api/conversations?q=&limit=&cursor=   list, newest first
 *   GET    /api/conversations/ID                  one, with its messages
 *   PATCH  /api/conversations/ID {"title"}        rename
 *   DELETE /api/conversations/ID                  delete
 *   GET    /api/conversations/ID/export?format=md|json
 * Another user's conversation is a 404, as is one that does not exist.
 * route.c has checked the user, the id's shape and the database first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "pages.h"
#include "store.h"

#define QUERY_MAX 200
#define EXPORT_MAX ((size_t)64 << 20)

static int
store_error(struct http_req *r, int rc)
{
	if (rc == STORE_NOT_FOUND)
		return http_send_error(r, 404, "not_found", "No such conversation");
	if (rc == STORE_INVALID)
		return http_send_error(r, 400, "invalid_request",
		    "Invalid parameter");
	return http_send_error(r, 500, "storage_error",
	    "The database failed; try again");
}

int
page_conv_list(struct http_req *r, const struct route_ctx *ctx)
{
	char q[QUERY_MAX + 1] = "", cursor[128] = "", limit_s[16] = "";
	cJSON *out = NULL;
	long limit = 30;
	int rc;

	if (http_query(r, "q", q, sizeof(q)) < 0 ||
	    http_query(r, "cursor", cursor, sizeof(cursor)) < 0 ||
	    http_query(r, "limit", limit_s, sizeof(limit_s)) < 0)
		return http_send_error(r, 400, "invalid_request",
		    "q, cursor or limit is malformed or too long");
	if (limit_s[0] != '\0') {
		char *end = NULL;
		limit = strtol(limit_s, &end, 10);
		if (*end != '\0' || limit < 1 || limit > 100)
			return http_send_error(r, 400, "invalid_request",
			    "limit must be from 1 to 100");
	}
	rc = store_conv_list(r->store, ctx->user, q, (int)limit, cursor, &out);
	if (rc != STORE_OK)
		return store_error(r, rc);
	rc = http_send_json(r, 200, out);
	cJSON_Delete(out);
	return rc;
}

int
page_conv_rename(struct http_req *r, const struct route_ctx *ctx)
{
	struct lc_buf body;
	cJSON *json = NULL;
	int rc, status;

	buf_init(&body, (size_t)r->cfg->max_body);
	status = http_read_body(r, &body);
	if (status != 0) {
		rc = http_send_error(r, status, "invalid_request",
		    http_reason(status));
		goto out;
	}
	const char *why = NULL;
	json = json_parse_strict(buf_str(&body), body.len, &why);
	const cJSON *title = cJSON_GetObjectItemCaseSensitive(json, "title");
	if (!cJSON_IsString(title) || title->valuestring[0] == '\0' ||
	    strlen(title->valuestring) > STORE_TITLE_MAX ||
	    strlen(title->valuestring) != strcspn(title->valuestring,
	    "\r\n")) {
		rc = http_send_error(r, 400, "invalid_request",
		    "Send {\"title\": \"…\"}: 1 to 200 bytes on one line");
		goto out;
	}
	rc = store_conv_rename(r->store, ctx->id, ctx->user,
	    title->valuestring);
	if (rc != STORE_OK) {
		rc = store_error(r, rc);
		goto out;
	}
	cJSON *ok = cJSON_CreateObject();
	if (cJSON_AddStringToObject(ok, "id", ctx->id) == NULL ||
	    cJSON_AddStringToObject(ok, "title", title->valuestring) == NULL) {
		cJSON_Delete(ok);
		rc = http_send_json(r, 500, NULL);
		goto out;
	}
	rc = http_send_json(r, 200, ok);
	cJSON_Delete(ok);
out:
	cJSON_Delete(json);
	buf_free(&body);
	return rc;
}

/* Appends a message as Markdown: a heading naming who speaks, then the
 * content as it is (it is Markdown already). */
static int
export_md_message(struct lc_buf *b, const cJSON *m)
{
	const char *role = cJSON_GetObjectItem(m, "role")->valuestring;
	const char *state = cJSON_GetObjectItem(m, "state")->valuestring;
	const cJSON *model = cJSON_GetObjectItem(m, "model");
	const char *who = strcmp(role, "user") == 0 ? "User" :
	    strcmp(role, "assistant") == 0 ? "Assistant" : "System";

	if (buf_append_str(b, "## ") || buf_append_str(b, who))
		return -1;
	if (cJSON_IsString(model) && model->valuestring[0] != '\0' &&
	    (buf_append_str(b, " (") || buf_append_str(b, model->valuestring) ||
	    buf_append_str(b, ")")))
		return -1;
	if (strcmp(state, "complete") != 0 && (buf_append_str(b, " [") ||
	    buf_append_str(b, state) || buf_append_str(b, "]")))
		return -1;
	return buf_append_str(b, "\n\n") ||
	    buf_append_str(b, cJSON_GetObjectItem(m, "content")->valuestring) ||
	    buf_append_str(b, "\n\n") ? -1 : 0;
}

int
page_conv_export(struct http_req *r, const struct route_ctx *ctx)
{
	char format[8] = "md";
	cJSON *conv = NULL, *m;
	struct lc_buf b;
	int rc;

	if (http_query(r, "format", format, sizeof(format)) < 0 ||
	    (strcmp(format, "md") != 0 && strcmp(format, "json") != 0))
		return http_send_error(r, 400, "invalid_request",
		    "format must be md or json");
	rc = store_conv_get(r->store, ctx->id, ctx->user, &conv);
	if (rc != STORE_OK)
		return store_error(r, rc);
	http_add_header(r, "Content-Disposition: attachment; "
	    "filename=\"conversation-%s.%s\"", ctx->id, format);
	if (strcmp(format, "json") == 0) {
		rc = http_send_json(r, 200, conv);
		cJSON_Delete(conv);
		return rc;
	}
	buf_init(&b, EXPORT_MAX);
	const char *sys = cJSON_GetObjectItem(conv, "system_prompt")->valuestring;
	int bad = buf_append_str(&b, "# ") ||
	    buf_append_str(&b, cJSON_GetObjectItem(conv, "title")->valuestring) ||
	    buf_append_str(&b, "\n\n");
	if (!bad && sys[0] != '\0')
		bad = buf_append_str(&b, "## System\n\n") ||
		    buf_append_str(&b, sys) || buf_append_str(&b, "\n\n");
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(conv, "messages"))
		if (!bad)
			bad = export_md_message(&b, m);
	if (bad)
		rc = http_send_error(r, 500, "export_failed",
		    "The conversation is too large to export");
	else
		rc = http_send(r, 200, "text/markdown; charset=utf-8",
		    buf_str(&b), b.len);
	buf_free(&b);
	cJSON_Delete(conv);
	return rc;
}

int
page_conv_get(struct http_req *r, const struct route_ctx *ctx)
{
	cJSON *conv = NULL;
	int rc = store_conv_get(r->store, ctx->id, ctx->user, &conv);

	if (rc != STORE_OK)
		return store_error(r, rc);
	rc = http_send_json(r, 200, conv);
	cJSON_Delete(conv);
	return rc;
}

int
page_conv_delete(struct http_req *r, const struct route_ctx *ctx)
{
	int rc = store_conv_delete(r->store, ctx->id, ctx->user);

	if (rc != STORE_OK)
		return store_error(r, rc);
	log_info("conversation deleted user=%s id=%s", ctx->user, ctx->id);
	return http_send(r, 204, NULL, NULL, 0);
}
