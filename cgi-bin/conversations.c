/* conversations.c - the REST API over stored conversations:
 *   GET    /api/conversations?q=&limit=&cursor=   list, newest first
 *   GET    /api/conversations/ID?limit=&before=   one, with a page of its
 *                                                  messages, newest page first
 *   PATCH  /api/conversations/ID {"title"}        rename
 *   DELETE /api/conversations/ID                  delete
 *   GET    /api/conversations/ID/export?format=md|json   streamed, one
 *                                                  message in memory at a time
 * Another user's conversation is a 404, as is one that does not exist.
 * route.c has checked the user, the id's shape and the database first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "pages.h"
#include "store.h"
#include "utf8.h"

#define QUERY_MAX 200
/* A message id is a JSON number in answers: exact up to 2^53. */
#define MESSAGE_ID_MAX (1LL << 53)

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
	size_t tlen = strlen(title->valuestring);
	if (utf8_ctl_find(title->valuestring, tlen, "") != tlen) {
		rc = http_send_error(r, 400, "invalid_request",
		    "The title holds a control character (tab, U+0000 to "
		    "U+001F or U+007F): send plain text");
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

/* Writes the string s of the response body. */
static int
put(struct http_req *r, const char *s)
{
	return http_write(r, s, strlen(s));
}

/* Returns message m's attachments (store_attach_list, with their data
 * with_data) in a new array, or NULL when it has none (only user messages
 * have them) or on failure (*failed set then). */
static cJSON *
attachments_of(struct http_req *r, const cJSON *m, int with_data,
    int *failed)
{
	const cJSON *id = cJSON_GetObjectItem(m, "id");
	const cJSON *role = cJSON_GetObjectItem(m, "role");
	cJSON *arr = NULL;

	*failed = 0;
	if (!cJSON_IsNumber(id) || !cJSON_IsString(role) ||
	    strcmp(role->valuestring, "user") != 0)
		return NULL;
	if (store_attach_list(r->store, (long long)id->valuedouble, with_data,
	    &arr) != STORE_OK) {
		*failed = 1;
		return NULL;
	}
	if (cJSON_GetArraySize(arr) == 0) {
		cJSON_Delete(arr);
		return NULL;
	}
	return arr;
}

/* Adds "attachments" (their metadata) to each user message of conv's
 * "messages" that has some. Returns 0 or -1. */
static int
add_attachments(struct http_req *r, cJSON *conv)
{
	cJSON *m;
	int failed = 0;

	cJSON_ArrayForEach(m, cJSON_GetObjectItem(conv, "messages")) {
		cJSON *arr = attachments_of(r, m, 0, &failed);
		if (failed)
			return -1;
		if (arr != NULL && !cJSON_AddItemToObject(m, "attachments", arr)) {
			cJSON_Delete(arr);
			return -1;
		}
	}
	return 0;
}

/* Writes "📎 name (kind, size)" lines for the Markdown export. */
static int
put_attachment_names(struct http_req *r, const cJSON *arr)
{
	const cJSON *a;
	char line[STORE_ATTACH_NAME_MAX + 64];

	cJSON_ArrayForEach(a, arr) {
		double b = cJSON_GetObjectItem(a, "bytes")->valuedouble;
		char size[32];
		if (b < 1024)
			snprintf(size, sizeof(size), "%.0f B", b);
		else if (b < 1024 * 1024)
			snprintf(size, sizeof(size), "%.0f KB", b / 1024);
		else
			snprintf(size, sizeof(size), "%.1f MB", b / 1048576);
		snprintf(line, sizeof(line), "\xf0\x9f\x93\x8e %s (%s, %s)\n",
		    cJSON_GetObjectItem(a, "name")->valuestring,
		    cJSON_GetObjectItem(a, "kind")->valuestring, size);
		if (put(r, line))
			return -1;
	}
	return put(r, "\n");
}

/* store_conv_each's function for the Markdown export: a heading naming who
 * speaks, an assistant's reasoning (when it has some) folded in a
 * <details> block as the page shows it, then the content as it is (it is
 * Markdown already). */
static int
export_md_message(void *arg, const cJSON *m)
{
	struct http_req *r = arg;
	const char *role = cJSON_GetObjectItem(m, "role")->valuestring;
	const char *state = cJSON_GetObjectItem(m, "state")->valuestring;
	const cJSON *model = cJSON_GetObjectItem(m, "model");
	const char *who = strcmp(role, "user") == 0 ? "User" :
	    strcmp(role, "assistant") == 0 ? "Assistant" : "System";

	if (put(r, "## ") || put(r, who))
		return -1;
	if (cJSON_IsString(model) && model->valuestring[0] != '\0' &&
	    (put(r, " (") || put(r, model->valuestring) || put(r, ")")))
		return -1;
	if (strcmp(state, "complete") != 0 && (put(r, " [") ||
	    put(r, state) || put(r, "]")))
		return -1;
	if (put(r, "\n\n"))
		return -1;
	int failed;
	cJSON *att = attachments_of(r, m, 0, &failed);
	int bad = failed || (att != NULL && put_attachment_names(r, att));
	cJSON_Delete(att);
	if (bad)
		return -1;
	const cJSON *reasoning = cJSON_GetObjectItem(m, "reasoning");
	if (cJSON_IsString(reasoning) && (put(r, "<details><summary>Thinking"
	    "</summary>\n\n") || put(r, reasoning->valuestring) ||
	    put(r, "\n\n</details>\n\n")))
		return -1;
	return put(r, cJSON_GetObjectItem(m, "content")->valuestring) ||
	    put(r, "\n\n") ? -1 : 0;
}

/* The JSON export's state: whether a message was written (for commas). */
struct json_export {
	struct http_req *r;
	int n;
};

/* store_conv_each's function for the JSON export: one element of the
 * "messages" array, printed by cJSON alone; a user message's attachments
 * embedded, each with its data in base64. */
static int
export_json_message(void *arg, const cJSON *m)
{
	struct json_export *x = arg;
	int failed;
	cJSON *att = attachments_of(x->r, m, 1, &failed), *copy = NULL;
	char *text;
	int rc = -1;

	if (failed)
		return -1;
	if (att != NULL) {
		if ((copy = cJSON_Duplicate(m, 1)) == NULL ||
		    !cJSON_AddItemToObject(copy, "attachments", att)) {
			cJSON_Delete(att);
			cJSON_Delete(copy);
			return -1;
		}
	}
	text = cJSON_PrintUnformatted(copy != NULL ? copy : m);
	cJSON_Delete(copy);

	if (text == NULL) {
		log_err("out of memory printing an exported message");
		return -1;
	}
	if ((x->n == 0 || put(x->r, ",") == 0) && put(x->r, text) == 0) {
		x->n++;
		rc = 0;
	}
	free(text);
	return rc;
}

/* Streams the export of conv (its head, from store_conv_head): the JSON of
 * GET with every message, or Markdown. The status is sent first, so a
 * failure after it cuts the body short (logged; the client sees a
 * truncated download). Returns 0, or -1 if that happened. */
static int
export_stream(struct http_req *r, const struct route_ctx *ctx,
    const cJSON *conv, int json)
{
	char *head = NULL;
	int rc = -1;

	if (json) {
		/* The head object without its closing brace, then the
		 * messages: the same text cJSON prints for the whole tree. */
		struct json_export x = { r, 0 };
		size_t n;
		if ((head = cJSON_PrintUnformatted(conv)) == NULL ||
		    (n = strlen(head)) < 2 || head[n - 1] != '}') {
			log_err("out of memory printing an export");
			rc = http_send_error(r, 500, "export_failed",
			    "The export failed; try again");
			goto out;
		}
		head[n - 1] = '\0';
		if (http_send_head(r, 200, "application/json") ||
		    put(r, head) || put(r, ",\"messages\":[") ||
		    store_conv_each(r->store, ctx->id, export_json_message,
		    &x) != STORE_OK || put(r, "]}"))
			goto out;
	} else {
		const char *sys = cJSON_GetObjectItem(conv,
		    "system_prompt")->valuestring;
		if (http_send_head(r, 200, "text/markdown; charset=utf-8") ||
		    put(r, "# ") ||
		    put(r, cJSON_GetObjectItem(conv, "title")->valuestring) ||
		    put(r, "\n\n") ||
		    (sys[0] != '\0' && (put(r, "## System\n\n") ||
		    put(r, sys) || put(r, "\n\n"))) ||
		    store_conv_each(r->store, ctx->id, export_md_message,
		    r) != STORE_OK)
			goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		log_warn("export cut short user=%s id=%s", ctx->user, ctx->id);
	free(head);
	return rc;
}

int
page_conv_export(struct http_req *r, const struct route_ctx *ctx)
{
	char format[8] = "md";
	cJSON *conv = NULL;
	int rc;

	if (http_query(r, "format", format, sizeof(format)) < 0 ||
	    (strcmp(format, "md") != 0 && strcmp(format, "json") != 0))
		return http_send_error(r, 400, "invalid_request",
		    "format must be md or json");
	rc = store_conv_head(r->store, ctx->id, ctx->user, &conv);
	if (rc != STORE_OK)
		return store_error(r, rc);
	http_add_header(r, "Content-Disposition: attachment; "
	    "filename=\"conversation-%s.%s\"", ctx->id, format);
	rc = export_stream(r, ctx, conv, strcmp(format, "json") == 0);
	cJSON_Delete(conv);
	return rc;
}

/* Reads the optional positive integer query parameter name (at most max)
 * into *out. Returns 0 (absent: *out unchanged), or -1 when malformed. */
static int
query_count(struct http_req *r, const char *name, long long max,
    long long *out)
{
	char v[24] = "";
	char *end = NULL;
	long long n;
	int got = http_query(r, name, v, sizeof(v));

	if (got == 0)
		return 0;
	if (got < 0 || v[0] < '0' || v[0] > '9')
		return -1;
	n = strtoll(v, &end, 10);
	if (*end != '\0' || n < 1 || n > max)
		return -1;
	*out = n;
	return 0;
}

int
page_conv_get(struct http_req *r, const struct route_ctx *ctx)
{
	cJSON *conv = NULL;
	long long limit = STORE_PAGE_DEFAULT, before = 0;
	int rc;

	if (query_count(r, "limit", STORE_PAGE_MAX, &limit) != 0 ||
	    query_count(r, "before", MESSAGE_ID_MAX, &before) != 0) {
		char msg[96];
		snprintf(msg, sizeof(msg), "limit must be from 1 to %d, and "
		    "before a message id", STORE_PAGE_MAX);
		return http_send_error(r, 400, "invalid_request", msg);
	}
	rc = store_conv_page(r->store, ctx->id, ctx->user, before, (int)limit,
	    &conv);
	if (rc != STORE_OK)
		return store_error(r, rc);
	if (add_attachments(r, conv) != 0) {
		cJSON_Delete(conv);
		return store_error(r, STORE_ERR);
	}
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
