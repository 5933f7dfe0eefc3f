/* api.c - GET /api/me (the logged-in user) and GET /api/models (the models
 * offered, the default one, each model's upstream and what it takes, and
 * each upstream's state). */
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "config.h"
#include "log.h"
#include "models.h"
#include "pages.h"

int
page_me(struct http_req *r, const struct route_ctx *ctx)
{
	const struct lc_config *c = r->cfg;
	cJSON *root = cJSON_CreateObject();
	cJSON *att = cJSON_AddObjectToObject(root, "attachments");
	int rc;

	/* The attachment limits, for the page to state and to downscale
	 * images before upload. */
	if (cJSON_AddStringToObject(root, "username", ctx->user) == NULL ||
	    cJSON_AddNumberToObject(root, "expires", (double)ctx->exp) ==
	    NULL ||
	    cJSON_AddBoolToObject(root, "demo", r->cfg->demo) == NULL ||
	    att == NULL ||
	    cJSON_AddNumberToObject(att, "max_bytes",
	    (double)c->attachment_max_bytes) == NULL ||
	    cJSON_AddNumberToObject(att, "text_max",
	    (double)c->attachment_text_max) == NULL ||
	    cJSON_AddNumberToObject(att, "per_prompt",
	    (double)c->prompt_attachments_max) == NULL ||
	    cJSON_AddNumberToObject(att, "prompt_bytes",
	    (double)c->prompt_attachments_bytes) == NULL ||
	    cJSON_AddNumberToObject(att, "image_max_side",
	    (double)c->image_max_side) == NULL ||
	    cJSON_AddBoolToObject(att, "pdf", c->pdftotext[0] != '\0' &&
	    access(c->pdftotext, X_OK) == 0) == NULL) {
		cJSON_Delete(root);
		return http_send_json(r, 500, NULL);
	}
	rc = http_send_json(r, 200, root);
	cJSON_Delete(root);
	return rc;
}

/* What page_models builds while models_each walks the offered models. */
struct models_doc {
	const struct lc_models *mt;
	const struct models_live *live;
	const char *currency;     /* the prices' */
	cJSON *models;            /* the names (old clients read only these) */
	cJSON *details;
};

/* Adds the names of the bits set in mask to a new array key of obj.
 * Returns 0 or -1 (no memory). */
static int
add_names(cJSON *obj, const char *key, unsigned mask,
    const char *(*name)(int), int count)
{
	cJSON *arr = cJSON_AddArrayToObject(obj, key);

	if (arr == NULL)
		return -1;
	for (int i = 0; i < count; i++) {
		if (!(mask & (1u << i)))
			continue;
		cJSON *s = cJSON_CreateString(name(i));
		if (s == NULL || !cJSON_AddItemToArray(arr, s)) {
			cJSON_Delete(s);
			return -1;
		}
	}
	return 0;
}

static const char *
param_name(int i)
{
	return models_param_name((enum models_param)i);
}

static const char *
effort_name(int i)
{
	return models_effort_name((enum models_effort)i);
}

/* A model's price, when it has one: "price": {"input": 2.5, "output": 10,
 * "currency": "USD"}, money per million tokens. Returns 0 or -1 (no
 * memory). */
static int
add_price(cJSON *d, const struct lc_model_info *info, const char *currency)
{
	cJSON *p;

	if (info->price_in < 0 || info->price_out < 0)
		return 0;
	if ((p = cJSON_AddObjectToObject(d, "price")) == NULL ||
	    cJSON_AddNumberToObject(p, "input", (double)info->price_in /
	    BUDGET_MICROS) == NULL ||
	    cJSON_AddNumberToObject(p, "output", (double)info->price_out /
	    BUDGET_MICROS) == NULL ||
	    cJSON_AddStringToObject(p, "currency", currency) == NULL)
		return -1;
	return 0;
}

/* models_each's callback: one model's name and details. */
static int
add_model(void *arg, const char *name, int u)
{
	struct models_doc *doc = arg;
	const struct lc_upstream *up = models_upstream(doc->mt, (size_t)u);
	struct lc_model_info info;
	bool ok = true;
	cJSON *d = NULL, *s = NULL;

	models_info(doc->mt, name, u, &info);
	models_live_state(doc->live, (size_t)u, &ok, NULL, NULL);
	if ((s = cJSON_CreateString(name)) == NULL ||
	    !cJSON_AddItemToArray(doc->models, s))
		goto fail;
	s = NULL;
	if ((d = cJSON_CreateObject()) == NULL ||
	    cJSON_AddStringToObject(d, "id", name) == NULL ||
	    cJSON_AddStringToObject(d, "upstream", up->name) == NULL ||
	    cJSON_AddStringToObject(d, "label", up->label) == NULL ||
	    cJSON_AddBoolToObject(d, "available", ok) == NULL ||
	    add_names(d, "params", ~info.omit & ((1u << MODELS_P__COUNT) - 1),
	    param_name, MODELS_P__COUNT) == -1 ||
	    add_names(d, "reasoning_effort", info.efforts, effort_name,
	    MODELS_E__COUNT) == -1 ||
	    cJSON_AddBoolToObject(d, "images", info.images) == NULL ||
	    add_price(d, &info, doc->currency) == -1 ||
	    !cJSON_AddItemToArray(doc->details, d))
		goto fail;
	return 0;
fail:
	cJSON_Delete(s);
	cJSON_Delete(d);
	return -1;
}

/* Each upstream: its name, label, whether it discovers, the state of its
 * last listing. Returns 0 or -1 (no memory). */
static int
add_upstreams(cJSON *root, const struct lc_models *mt,
    const struct models_live *live)
{
	cJSON *arr = cJSON_AddArrayToObject(root, "upstreams");

	if (arr == NULL)
		return -1;
	for (size_t i = 0; i < models_upstream_count(mt); i++) {
		const struct lc_upstream *up = models_upstream(mt, i);
		const char *error = "";
		time_t checked = 0;
		bool ok = true;
		cJSON *o = cJSON_CreateObject();

		models_live_state(live, i, &ok, &error, &checked);
		if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			return -1;
		}
		if (cJSON_AddStringToObject(o, "name", up->name) == NULL ||
		    cJSON_AddStringToObject(o, "label", up->label) == NULL ||
		    cJSON_AddBoolToObject(o, "discover", up->discover) ==
		    NULL ||
		    cJSON_AddStringToObject(o, "status", ok ? "ok" : "error") ==
		    NULL)
			return -1;
		if (!up->discover)
			continue;
		if (!ok && cJSON_AddStringToObject(o, "error", error) == NULL)
			return -1;
		if (checked > 0 && cJSON_AddNumberToObject(o, "checked",
		    (double)checked) == NULL)
			return -1;
	}
	return 0;
}

/* What discovery saw, read from worker_models_file at each request (the
 * worker rewrites it whole after each listing). A missing file is an empty
 * record; a bad one is logged and changes nothing (models_live_read checks
 * it whole first): the static models are still offered. Returns NULL only
 * when out of memory. */
static struct models_live *
live_load(const struct lc_config *cfg)
{
	struct models_live *live = models_live_new(cfg->mt);

	if (live != NULL && models_live_read(live, cfg->worker_models_file) ==
	    -1)
		log_warn("api: models file %s unreadable, ignored",
		    cfg->worker_models_file);
	return live;
}

/* The document of GET /api/models (docs/PROTOCOL.md). Returns it (the
 * caller deletes it), or NULL when out of memory. */
static cJSON *
models_doc_build(const struct lc_config *cfg)
{
	struct models_doc doc = { .mt = cfg->mt, .currency = cfg->currency };
	struct models_live *live = NULL;
	cJSON *root = NULL;
	int ok = 0;

	if ((live = live_load(cfg)) == NULL ||
	    (root = cJSON_CreateObject()) == NULL ||
	    (doc.models = cJSON_AddArrayToObject(root, "models")) == NULL ||
	    cJSON_AddStringToObject(root, "default", cfg->default_model) ==
	    NULL ||
	    (doc.details = cJSON_AddArrayToObject(root, "details")) == NULL)
		goto out;
	doc.live = live;
	if (models_each(doc.mt, live, add_model, &doc) != 0 ||
	    add_upstreams(root, doc.mt, live) == -1)
		goto out;
	ok = 1;
out:
	models_live_free(live);
	if (!ok) {
		cJSON_Delete(root);
		root = NULL;
	}
	return root;
}

int
page_models(struct http_req *r, const struct route_ctx *ctx)
{
	cJSON *root = models_doc_build(r->cfg);
	int rc;

	(void)ctx;
	rc = http_send_json(r, root != NULL ? 200 : 500, root);
	cJSON_Delete(root);
	return rc;
}
