/* api.c - GET /api/me and GET /api/models. */
#include <string.h>

#include "config.h"
#include "log.h"
#include "pages.h"

/* Checks method and credentials common to every /api page. Returns 0 with
 * user set, or -2 after having answered the request itself (its send result
 * is in *rc). */
static int
api_begin(struct http_req *r, char user[LC_USER_MAX + 1], long *exp, int *rc)
{
	if (strcmp(r->method, "GET") != 0) {
		http_add_header(r, "Allow: GET");
		*rc = http_send_error(r, 405, "method_not_allowed", "Use GET");
		return -2;
	}
	if (!r->origin_allowed) {
		*rc = http_send_error(r, 403, "origin_not_allowed",
		    "This origin is not allowed");
		return -2;
	}
	int t = http_authenticate(r, user, exp);
	if (t != LC_TOKEN_OK) {
		*rc = http_send_error(r, 401, "unauthorized",
		    t == LC_TOKEN_EXPIRED ? "Your session has expired" :
		    "Log in first");
		return -2;
	}
	return 0;
}

int
page_me(struct http_req *r)
{
	char user[LC_USER_MAX + 1];
	long exp = 0;
	int rc;

	if (api_begin(r, user, &exp, &rc) != 0)
		return rc;
	cJSON *root = cJSON_CreateObject();
	if (cJSON_AddStringToObject(root, "username", user) == NULL ||
	    cJSON_AddNumberToObject(root, "expires", (double)exp) == NULL ||
	    cJSON_AddBoolToObject(root, "demo", r->cfg->demo) == NULL) {
		cJSON_Delete(root);
		return http_send_json(r, 500, NULL);
	}
	rc = http_send_json(r, 200, root);
	cJSON_Delete(root);
	return rc;
}

int
page_models(struct http_req *r)
{
	char user[LC_USER_MAX + 1];
	char item[256];
	int rc;

	if (api_begin(r, user, NULL, &rc) != 0)
		return rc;
	cJSON *root = cJSON_CreateObject();
	cJSON *models = cJSON_AddArrayToObject(root, "models");
	if (models == NULL)
		goto fail;
	for (const char *p = r->cfg->models; *p;) {
		while (*p == ',' || *p == ' ')
			p++;
		size_t n = strcspn(p, ",");
		while (n > 0 && p[n - 1] == ' ')
			n--;
		if (n > 0 && n < sizeof(item)) {
			memcpy(item, p, n);
			item[n] = '\0';
			cJSON *s = cJSON_CreateString(item);
			if (s == NULL || !cJSON_AddItemToArray(models, s)) {
				cJSON_Delete(s);
				goto fail;
			}
		}
		p += strcspn(p, ",");
	}
	if (cJSON_AddStringToObject(root, "default", r->cfg->default_model) ==
	    NULL)
		goto fail;
	rc = http_send_json(r, 200, root);
	cJSON_Delete(root);
	return rc;
fail:
	cJSON_Delete(root);
	return http_send_json(r, 500, NULL);
}
