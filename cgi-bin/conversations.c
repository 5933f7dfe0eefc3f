/* conversations.c - the REST API over stored conversations:
 *   GET    /api/conversations?q=&limit=&cursor=   list, newest first
 *   GET    /api/conversations/ID                  one, with its messages
 *   PATCH  /api/conversations/ID {"title"}        rename
 *   DELETE /api/conversations/ID                  delete
 *   GET    /api/conversations/ID/export?format=md|json
 * Another user's conversation is a 404, as is one that does not exist. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "pages.h"
#include "store.h"

#define PREFIX "/api/conversations"
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

static int
list(struct http_req *r, const char *user)
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
	rc = store_conv_list(r->store, user, q, (int)limit, cursor, &out);
	if (rc != STORE_OK)
		return store_error(r, rc);
	rc = http_send_json(r, 200, out);
	cJSON_Delete(out);
	return rc;
}

static int
rename_conv(struct http_req *r, const char *user, const char *id)
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
	rc = store_conv_rename(r->store, id, user, title->valuestring);
	if (rc != STORE_OK) {
		rc = store_error(r, rc);
		goto out;
	}
	cJSON *ok = cJSON_CreateObject();
	if (cJSON_AddStringToObject(ok, "id", id) == NULL ||
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

static int
export_conv(struct http_req *r, const char *user, const char *id)
{
	char format[8] = "md";
	cJSON *conv = NULL, *m;
	struct lc_buf b;
	int rc;

	if (http_query(r, "format", format, sizeof(format)) < 0 ||
	    (strcmp(format, "md") != 0 && strcmp(format, "json") != 0))
		return http_send_error(r, 400, "invalid_request",
		    "format must be md or json");
	rc = store_conv_get(r->store, id, user, &conv);
	if (rc != STORE_OK)
		return store_error(r, rc);
	http_add_header(r, "Content-Disposition: attachment; "
	    "filename=\"conversation-%s.%s\"", id, format);
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
page_conversations(struct http_req *r)
{
	char user[LC_USER_MAX + 1], id[ID_LEN + 1];
	const char *rest = r->path + strlen(PREFIX);
	const char *m = r->method;
	int t, rc;

	if (!r->origin_allowed)
		return http_send_error(r, 403, "origin_not_allowed",
		    "This origin is not allowed");
	t = http_authenticate(r, user, NULL);
	if (t != LC_TOKEN_OK)
		return http_send_error(r, 401, "unauthorized",
		    t == LC_TOKEN_EXPIRED ? "Your session has expired" :
		    "Log in first");
	if (r->store == NULL)
		return http_send_error(r, 503, "storage_error",
		    "The database is not available");
	if (rest[0] == '\0' || strcmp(rest, "/") == 0) {
		if (strcmp(m, "GET") != 0) {
			http_add_header(r, "Allow: GET");
			return http_send_error(r, 405, "method_not_allowed",
			    "Use GET");
		}
		return list(r, user);
	}
	/* "/<id>" or "/<id>/export" */
	if (rest[0] != '/' || strlen(rest + 1) < ID_LEN)
		return http_send_error(r, 404, "not_found", "No such conversation");
	memcpy(id, rest + 1, ID_LEN);
	id[ID_LEN] = '\0';
	rest += 1 + ID_LEN;
	if (!id_valid(id))
		return http_send_error(r, 404, "not_found", "No such conversation");
	if (strcmp(rest, "/export") == 0) {
		if (strcmp(m, "GET") != 0) {
			http_add_header(r, "Allow: GET");
			return http_send_error(r, 405, "method_not_allowed",
			    "Use GET");
		}
		return export_conv(r, user, id);
	}
	if (rest[0] != '\0')
		return http_send_error(r, 404, "not_found", "No such page");
	if (strcmp(m, "GET") == 0) {
		cJSON *conv = NULL;
		rc = store_conv_get(r->store, id, user, &conv);
		if (rc != STORE_OK)
			return store_error(r, rc);
		rc = http_send_json(r, 200, conv);
		cJSON_Delete(conv);
		return rc;
	}
	if (strcmp(m, "PATCH") == 0)
		return rename_conv(r, user, id);
	if (strcmp(m, "DELETE") == 0) {
		rc = store_conv_delete(r->store, id, user);
		if (rc != STORE_OK)
			return store_error(r, rc);
		log_info("conversation deleted user=%s id=%s", user, id);
		return http_send(r, 204, NULL, NULL, 0);
	}
	http_add_header(r, "Allow: GET, PATCH, DELETE");
	return http_send_error(r, 405, "method_not_allowed",
	    "Use GET, PATCH or DELETE");
}
