/* usage.c - GET /api/usage: what the logged-in user used this local day
 * and month (the usage ledger's sums, store_usage_used) against the limits
 * that apply to them (their own over the configured defaults), how close
 * they are (the highest share of any limit, the site's monthly cap's
 * included: the site's total itself is not theirs to see) and whether the
 * page should warn (budget_warn_percent). Money in units of currency. */
#include <time.h>

#include "budget.h"
#include "log.h"
#include "pages.h"
#include "store.h"

static const char *const period_names[BUDGET__PERIODS] = { "day", "month" };

/* v (> 0) as a JSON number, or null for no limit; money in units. */
static cJSON *
limit_json(long long v, enum budget_unit u)
{
	if (v <= 0)
		return cJSON_CreateNull();
	return cJSON_CreateNumber(u == BUDGET_COST ?
	    (double)v / (double)BUDGET_MICROS : (double)v);
}

/* Adds {"since","resets_at","tokens","cost","limit_tokens","limit_cost"}
 * of period p under its name. Returns 0 or -1 (out of memory). */
static int
add_period(cJSON *root, int p, const struct budget_periods *per,
    const struct budget_used *used, const struct budget_limits *lim)
{
	char iso[BUDGET_ISO_MAX];
	cJSON *o = cJSON_AddObjectToObject(root, period_names[p]);

	return o != NULL && budget_iso_time(per->end[p], iso) == 0 &&
	    cJSON_AddStringToObject(o, "since", p == BUDGET_DAY ? per->day :
	    per->month_first) != NULL &&
	    cJSON_AddStringToObject(o, "resets_at", iso) != NULL &&
	    cJSON_AddNumberToObject(o, "tokens",
	    (double)used->v[p][BUDGET_TOKENS]) != NULL &&
	    cJSON_AddNumberToObject(o, "cost", (double)used->v[p][BUDGET_COST] /
	    (double)BUDGET_MICROS) != NULL &&
	    cJSON_AddItemToObject(o, "limit_tokens",
	    limit_json(lim->v[p][BUDGET_TOKENS], BUDGET_TOKENS)) &&
	    cJSON_AddItemToObject(o, "limit_cost",
	    limit_json(lim->v[p][BUDGET_COST], BUDGET_COST)) ? 0 : -1;
}

/* The site's cap: only how close it is, and when it resets. */
static int
add_site(cJSON *root, const struct budget_limits *site,
    const struct budget_used *site_used, const struct budget_periods *per)
{
	struct budget_verdict v;
	char iso[BUDGET_ISO_MAX];
	cJSON *o = cJSON_AddObjectToObject(root, "site");

	budget_check(NULL, NULL, site, site_used, per, &v);
	return o != NULL && budget_iso_time(per->end[BUDGET_MONTH], iso) == 0 &&
	    cJSON_AddNumberToObject(o, "percent", v.percent) != NULL &&
	    cJSON_AddStringToObject(o, "resets_at", iso) != NULL ? 0 : -1;
}

int
page_usage(struct http_req *r, const struct route_ctx *ctx)
{
	const struct lc_config *cfg = r->cfg;
	struct budget_limits defaults, site, own, lim;
	struct budget_used used, site_used = { { { 0 } } };
	struct budget_periods per;
	struct budget_verdict v;
	cJSON *root = NULL;
	int has_site, rc;

	config_budget_limits(cfg, &defaults, &site);
	has_site = budget_any(&site);
	if (budget_periods(time(NULL), &per) != 0 ||
	    store_limits_get(r->store, ctx->user, &own) != STORE_OK ||
	    store_usage_used(r->store, ctx->user, &per, &used) != STORE_OK ||
	    (has_site && store_usage_used(r->store, NULL, &per, &site_used) !=
	    STORE_OK)) {
		log_err("usage: could not read user=%s's", ctx->user);
		return http_send_error(r, 503, "storage_error",
		    "the usage could not be read; try again");
	}
	budget_effective(&defaults, &own, &lim);
	budget_check(&lim, &used, has_site ? &site : NULL,
	    has_site ? &site_used : NULL, &per, &v);
	root = cJSON_CreateObject();
	rc = root != NULL &&
	    cJSON_AddStringToObject(root, "currency", cfg->currency) != NULL &&
	    cJSON_AddNumberToObject(root, "warn_percent",
	    (double)cfg->budget_warn_percent) != NULL &&
	    cJSON_AddNumberToObject(root, "percent", v.percent) != NULL &&
	    cJSON_AddBoolToObject(root, "warn", v.percent > 0 &&
	    v.percent >= cfg->budget_warn_percent) != NULL &&
	    cJSON_AddBoolToObject(root, "exceeded", v.exceeded) != NULL &&
	    add_period(root, BUDGET_DAY, &per, &used, &lim) == 0 &&
	    add_period(root, BUDGET_MONTH, &per, &used, &lim) == 0 &&
	    (!has_site || add_site(root, &site, &site_used, &per) == 0);
	if (!rc) {
		cJSON_Delete(root);
		return http_send_json(r, 500, NULL);
	}
	rc = http_send_json(r, 200, root);
	cJSON_Delete(root);
	return rc;
}
