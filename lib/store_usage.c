/* store_usage.c - the usage ledger and budget limits (store.h, "Usage
 * accounting"; schema v10 in store.c): a reply's row appended, the sums a
 * budget is checked against, the admin's report grouped by user, model or
 * day, the per-user-and-model totals /metrics shows, and each user's own
 * limits. The ledger is append-only; its SQL is store.c's table. */
#include "store_int.h"

#include <string.h>

/* Binds v to parameter i, NULL for NULL or "". 0 or -1. */
static int
bind_text_or_null(struct db_stmt *st, int i, const char *v)
{
	if (v == NULL || v[0] == '\0')
		return db_bind_null(st, i) == DB_OK ? 0 : -1;
	return store_bind_text(st, i, v);
}

/* Binds v to parameter i, NULL when v is below min. 0 or -1. */
static int
bind_int_or_null(struct db_stmt *st, int i, long long v, long long min)
{
	if (v < min)
		return db_bind_null(st, i) == DB_OK ? 0 : -1;
	return db_bind_int64(st, i, v) == DB_OK ? 0 : -1;
}

static int
nonempty(const char *s)
{
	return s != NULL && s[0] != '\0';
}

/* Whether r is a row the ledger takes (the CHECK constraints are not
 * enforced on this connection: store.c). */
static int
row_ok(const struct store_usage_row *r)
{
	static const char *const outcomes[] = { STORE_COMPLETE,
	    STORE_STOPPED, STORE_ERROR, STORE_INTERRUPTED };
	int known = 0;

	if (!nonempty(r->user) || !nonempty(r->model) ||
	    !nonempty(r->outcome) || !budget_date_ok(r->day) ||
	    r->prompt_tokens < 0 || r->completion_tokens < 0 ||
	    r->reasoning_tokens < 0 || r->message_id < 0)
		return 0;
	for (size_t i = 0; i < sizeof(outcomes) / sizeof(outcomes[0]); i++)
		known |= strcmp(r->outcome, outcomes[i]) == 0;
	return known;
}

int
store_usage_add(struct store *s, const struct store_usage_row *r)
{
	struct db_stmt *st = NULL;

	if (r == NULL || !row_ok(r))
		return STORE_INVALID;
	if (store_prep(s, ST_USAGE_ADD, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, r->at) != DB_OK ||
	    store_bind_text(st, 2, r->day) ||
	    store_bind_text(st, 3, r->user) ||
	    store_bind_text(st, 4, r->model) ||
	    store_bind_text(st, 5, r->upstream != NULL ? r->upstream : "") ||
	    store_bind_text(st, 6, r->outcome) ||
	    bind_text_or_null(st, 7, r->conversation_id) ||
	    bind_int_or_null(st, 8, r->message_id, 1) ||
	    db_bind_int64(st, 9, r->prompt_tokens) != DB_OK ||
	    db_bind_int64(st, 10, r->completion_tokens) != DB_OK ||
	    db_bind_int64(st, 11, r->reasoning_tokens) != DB_OK ||
	    db_bind_int(st, 12, r->estimated != 0) != DB_OK ||
	    bind_int_or_null(st, 13, r->cost_micros, 0))
		return store_bind_fail(s, st);
	return store_run_done(s, st, "usage add");
}

int
store_usage_sum(struct store *s, const char *user, const char *since_day,
    long long *tokens, long long *cost_micros)
{
	struct db_stmt *st = NULL;
	int step, day_param = user != NULL ? 2 : 1;

	*tokens = 0;
	*cost_micros = 0;
	if (store_prep(s, user != NULL ? ST_USAGE_SUM_USER : ST_USAGE_SUM_ALL,
	    &st) != STORE_OK)
		return STORE_ERR;
	if ((user != NULL && store_bind_text(st, 1, user)) ||
	    store_bind_text(st, day_param, since_day != NULL ? since_day : ""))
		return store_bind_fail(s, st);
	step = db_step(st);
	if (step == DB_ROW) {
		*tokens = db_column_int64(st, 0);
		*cost_micros = db_column_int64(st, 1);
	}
	store_release(st);
	if (step == DB_ROW)
		return STORE_OK;
	*tokens = 0;
	*cost_micros = 0;
	return store_db_fail(s, "usage sum");
}

int
store_usage_used(struct store *s, const char *user,
    const struct budget_periods *p, struct budget_used *out)
{
	memset(out, 0, sizeof(*out));
	if (store_usage_sum(s, user, p->day,
	    &out->v[BUDGET_DAY][BUDGET_TOKENS],
	    &out->v[BUDGET_DAY][BUDGET_COST]) != STORE_OK ||
	    store_usage_sum(s, user, p->month_first,
	    &out->v[BUDGET_MONTH][BUDGET_TOKENS],
	    &out->v[BUDGET_MONTH][BUDGET_COST]) != STORE_OK) {
		memset(out, 0, sizeof(*out));
		return STORE_ERR;
	}
	return STORE_OK;
}

/* The report's statement for a grouping, and its columns' names after the
 * key. */
static const struct {
	const char *by;
	enum stmt id;
} report_by[] = {
	{ "user", ST_USAGE_REPORT_USER },
	{ "model", ST_USAGE_REPORT_MODEL },
	{ "day", ST_USAGE_REPORT_DAY },
};

static const char *const report_cols[] = {
	"replies", "prompt_tokens", "completion_tokens", "reasoning_tokens",
	"total_tokens", "cost_micros", "priced", "estimated",
};

/* One row of the report's statement as an object appended to list. */
static int
report_row(cJSON *list, struct db_stmt *st)
{
	const char *key = db_column_text(st, 0);
	cJSON *e = cJSON_CreateObject();

	if (e == NULL || !cJSON_AddItemToArray(list, e) || key == NULL ||
	    cJSON_AddStringToObject(e, "key", key) == NULL)
		return -1;
	for (size_t i = 0; i < sizeof(report_cols) / sizeof(report_cols[0]);
	    i++)
		if (cJSON_AddNumberToObject(e, report_cols[i],
		    (double)db_column_int64(st, (int)i + 1)) == NULL)
			return -1;
	return 0;
}

int
store_usage_report(struct store *s, const char *by, const char *since_day,
    const char *until_day, cJSON **out)
{
	struct db_stmt *st = NULL;
	int found = -1;

	*out = NULL;
	for (size_t i = 0; by != NULL && i < sizeof(report_by) /
	    sizeof(report_by[0]); i++)
		if (strcmp(by, report_by[i].by) == 0)
			found = (int)i;
	if (found < 0)
		return STORE_INVALID;
	if (store_prep(s, report_by[found].id, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text_or_null(st, 1, since_day) ||
	    bind_text_or_null(st, 2, until_day))
		return store_bind_fail(s, st);
	return store_rows_json(s, st, report_row, "usage report", out);
}

int
store_usage_totals(struct store *s, store_usage_total_fn fn, void *arg)
{
	struct db_stmt *st = NULL;
	int step, rc = STORE_OK;

	if (store_prep(s, ST_USAGE_TOTALS, &st) != STORE_OK)
		return STORE_ERR;
	while ((step = db_step(st)) == DB_ROW) {
		const char *user = db_column_text(st, 0);
		const char *model = db_column_text(st, 1);
		if (user == NULL || model == NULL)
			continue;
		rc = fn(arg, user, model, db_column_int64(st, 2),
		    db_column_int64(st, 3), db_column_int64(st, 4),
		    db_column_int64(st, 5), db_column_int64(st, 6));
		if (rc != 0)
			break;
	}
	if (rc == 0 && step != DB_DONE)
		rc = store_db_fail(s, "usage totals");
	store_release(st);
	return rc;
}

/* user_limits' columns in order, as places in struct budget_limits. */
static const struct {
	enum budget_period period;
	enum budget_unit unit;
	const char *name;             /* store_limits_list's */
	long long max;
} limit_cols[] = {
	{ BUDGET_DAY, BUDGET_TOKENS, "day_tokens", BUDGET_TOKENS_MAX },
	{ BUDGET_DAY, BUDGET_COST, "day_cost_micros", BUDGET_COST_MAX },
	{ BUDGET_MONTH, BUDGET_TOKENS, "month_tokens", BUDGET_TOKENS_MAX },
	{ BUDGET_MONTH, BUDGET_COST, "month_cost_micros", BUDGET_COST_MAX },
};
#define LIMIT_COLS (sizeof(limit_cols) / sizeof(limit_cols[0]))

static void
limits_default(struct budget_limits *own)
{
	for (int p = 0; p < BUDGET__PERIODS; p++)
		for (int u = 0; u < BUDGET__UNITS; u++)
			own->v[p][u] = BUDGET_DEFAULT;
}

int
store_limits_get(struct store *s, const char *user,
    struct budget_limits *own)
{
	struct db_stmt *st = NULL;
	int step;

	limits_default(own);
	if (store_prep(s, ST_LIMITS_GET, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, user != NULL ? user : ""))
		return store_bind_fail(s, st);
	step = db_step(st);
	for (size_t i = 0; step == DB_ROW && i < LIMIT_COLS; i++)
		if (db_column_type(st, (int)i) != DB_NULL)
			own->v[limit_cols[i].period][limit_cols[i].unit] =
			    db_column_int64(st, (int)i);
	store_release(st);
	if (step == DB_ROW || step == DB_DONE)
		return STORE_OK;
	limits_default(own);
	return store_db_fail(s, "limits");
}

int
store_limits_set(struct store *s, const char *user,
    const struct budget_limits *own)
{
	struct db_stmt *st = NULL;
	int all_default = 1;

	if (!nonempty(user) || own == NULL)
		return STORE_INVALID;
	for (size_t i = 0; i < LIMIT_COLS; i++) {
		long long v = own->v[limit_cols[i].period][limit_cols[i].unit];
		if (v < BUDGET_DEFAULT || v > limit_cols[i].max)
			return STORE_INVALID;
		all_default &= v == BUDGET_DEFAULT;
	}
	if (store_prep(s, all_default ? ST_LIMITS_CLEAR : ST_LIMITS_SET,
	    &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, user))
		return store_bind_fail(s, st);
	for (size_t i = 0; !all_default && i < LIMIT_COLS; i++)
		if (bind_int_or_null(st, (int)i + 2, own->v[limit_cols[i].period]
		    [limit_cols[i].unit], BUDGET_NONE))
			return store_bind_fail(s, st);
	return store_run_done(s, st, "set limits");
}

/* One row of user_limits as an object appended to list. */
static int
limits_row(cJSON *list, struct db_stmt *st)
{
	const char *user = db_column_text(st, 0);
	cJSON *e = cJSON_CreateObject();

	if (e == NULL || !cJSON_AddItemToArray(list, e) || user == NULL ||
	    cJSON_AddStringToObject(e, "user", user) == NULL)
		return -1;
	for (size_t i = 0; i < LIMIT_COLS; i++) {
		int col = (int)i + 1;
		if ((db_column_type(st, col) == DB_NULL ?
		    cJSON_AddNullToObject(e, limit_cols[i].name) :
		    cJSON_AddNumberToObject(e, limit_cols[i].name,
		    (double)db_column_int64(st, col))) == NULL)
			return -1;
	}
	return 0;
}

int
store_limits_list(struct store *s, cJSON **out)
{
	struct db_stmt *st = NULL;

	*out = NULL;
	if (store_prep(s, ST_LIMITS_LIST, &st) != STORE_OK)
		return STORE_ERR;
	return store_rows_json(s, st, limits_row, "limits list", out);
}
