/* api.c - GET /api/me (the logged-in user) and GET /api/models (the
 * configured models and the default one). */
#include <string.h>

#include "config.h"
#include "log.h"
#include "pages.h"

int
page_me(struct http_req *r, const struct route_ctx *ctx)
{
	cJSON *root = cJSON_CreateObject();
	int rc;

	if (cJSON_AddStringToObject(root, "username", ctx->user) == NULL ||
	    cJSON_AddNumberToObject(root, "expires", (double)ctx->exp) ==
	    NULL ||
	    cJSON_AddBoolToObject(root, "demo", r->cfg->demo) == NULL) {
		cJSON_Delete(root);
		return http_send_json(r, 500, NULL);
	}
	rc = http_send_json(r, 200, root);
	cJSON_Delete(root);
	return rc;
}

int
page_models(struct http_req *r, const struct route_ctx *ctx)
{
	char item[256];
	int rc;

	(void)ctx;
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
