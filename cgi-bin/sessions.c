/* sessions.c - a user's own sessions: GET /api/sessions (the active ones,
 * by their public ids; never a sid), DELETE /api/sessions/ID (ends one of
 * the user's own) and POST /api/sessions/others (log out everywhere
 * else). */
#include <string.h>
#include <time.h>

#include "log.h"
#include "pages.h"
#include "store.h"

int
page_sessions_list(struct http_req *r, const struct route_ctx *ctx)
{
	cJSON *list = NULL, *root = NULL, *out, *e;
	int rc;

	if (store_session_list(r->store, ctx->user, (long long)time(NULL),
	    r->cfg->session_idle_timeout, &list) != STORE_OK)
		return http_send_error(r, 500, "storage_error",
		    "The database failed");
	root = cJSON_CreateObject();
	out = cJSON_AddArrayToObject(root, "sessions");
	if (out == NULL)
		goto fail;
	cJSON_ArrayForEach(e, list) {
		const char *sid = cJSON_GetStringValue(cJSON_GetObjectItem(e,
		    "sid"));
		cJSON *o = cJSON_CreateObject();
		if (o == NULL || !cJSON_AddItemToArray(out, o)) {
			cJSON_Delete(o);
			goto fail;
		}
		if (cJSON_AddStringToObject(o, "id", cJSON_GetStringValue(
		    cJSON_GetObjectItem(e, "id"))) == NULL ||
		    cJSON_AddNumberToObject(o, "started", cJSON_GetNumberValue(
		    cJSON_GetObjectItem(e, "created_at"))) == NULL ||
		    cJSON_AddNumberToObject(o, "last_seen", cJSON_GetNumberValue(
		    cJSON_GetObjectItem(e, "last_seen"))) == NULL ||
		    cJSON_AddStringToObject(o, "addr", cJSON_GetStringValue(
		    cJSON_GetObjectItem(e, "addr"))) == NULL ||
		    cJSON_AddStringToObject(o, "client", cJSON_GetStringValue(
		    cJSON_GetObjectItem(e, "client"))) == NULL ||
		    cJSON_AddBoolToObject(o, "remember", cJSON_IsTrue(
		    cJSON_GetObjectItem(e, "remember"))) == NULL ||
		    cJSON_AddBoolToObject(o, "current", sid != NULL &&
		    strcmp(sid, ctx->sid) == 0) == NULL)
			goto fail;
	}
	cJSON_Delete(list);
	rc = http_send_json(r, 200, root);
	cJSON_Delete(root);
	return rc;
fail:
	cJSON_Delete(list);
	cJSON_Delete(root);
	return http_send_json(r, 500, NULL);
}

int
page_session_delete(struct http_req *r, const struct route_ctx *ctx)
{
	int e = store_session_revoke_pub(r->store, ctx->id, ctx->user,
	    (long long)time(NULL));

	if (e == STORE_NOT_FOUND)
		return http_send_error(r, 404, "not_found", "No such session");
	if (e != STORE_OK)
		return http_send_error(r, 500, "storage_error",
		    "The database failed");
	log_info("session ended by its user user=%s", ctx->user);
	return http_send_json(r, 204, NULL);
}

int
page_sessions_others(struct http_req *r, const struct route_ctx *ctx)
{
	cJSON *root;
	int n = 0, rc;

	if (store_session_revoke_user(r->store, ctx->user, ctx->sid,
	    (long long)time(NULL), &n) != STORE_OK)
		return http_send_error(r, 500, "storage_error",
		    "The database failed");
	log_info("other sessions ended user=%s n=%d", ctx->user, n);
	root = cJSON_CreateObject();
	if (cJSON_AddNumberToObject(root, "ended", n) == NULL) {
		cJSON_Delete(root);
		return http_send_json(r, 500, NULL);
	}
	rc = http_send_json(r, 200, root);
	cJSON_Delete(root);
	return rc;
}
