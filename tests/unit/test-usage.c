/* test-usage.c - the usage ledger (lib/store_usage.c, schema v10) against
 * a temporary database: rows added and refused, budget sums by user and
 * since a day, the report by user, model and day (its totals equal the
 * sums, bounds, cost NULL), the trigger's totals, the ledger kept when
 * conversations and users go, per-user limits, store_mark_interrupted's
 * rows, the migration of a schema 9 database, and the covering indexes.
 * Every expected figure is computed from the rows the test adds, through
 * a second connection where it can be. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "budget.h"
#include "store.h"
#include "unit.h"

static sqlite3 *raw;   /* the same file, to read the rows themselves */

/* One fixture reply. */
struct fix {
	const char *user, *model, *outcome, *day;
	long long prompt, completion, reasoning, cost;  /* cost -1: none */
	int estimated;
};

static const struct fix fixture[] = {
	{ "alice", "gpt-4o", STORE_COMPLETE, "2026-11-30", 100, 50, 0, 750, 0 },
	{ "alice", "gpt-4o", STORE_COMPLETE, "2026-12-01", 200, 80, 0, 1300, 0 },
	{ "alice", "llama", STORE_STOPPED, "2026-12-01", 30, 12, 0, -1, 1 },
	{ "alice", "o3", STORE_COMPLETE, "2026-12-02", 400, 900, 600, 9000, 0 },
	{ "bob", "gpt-4o", STORE_ERROR, "2026-12-01", 0, 0, 0, 0, 0 },
	{ "bob", "gpt-4o", STORE_COMPLETE, "2026-12-02", 1000, 2000, 0, 22500,
	  0 },
	{ "bob", "llama", STORE_COMPLETE, "2026-12-02", 70, 20, 0, -1, 1 },
	{ "carol", "o3", STORE_INTERRUPTED, "2026-12-02", 0, 333, 111, -1, 1 },
};
#define NFIX (sizeof(fixture) / sizeof(fixture[0]))

static int
add_fix(struct store *s, const struct fix *f, long long i)
{
	struct store_usage_row r = {
		.user = f->user, .model = f->model, .upstream = "up",
		.outcome = f->outcome, .conversation_id = NULL,
		.message_id = i, .at = 1764633600 + i, .day = f->day,
		.prompt_tokens = f->prompt, .completion_tokens = f->completion,
		.reasoning_tokens = f->reasoning, .estimated = f->estimated,
		.cost_micros = f->cost,
	};
	return store_usage_add(s, &r);
}

/* The fixture's sums over rows matching user (NULL: any), model (NULL:
 * any) and since <= day <= until (NULL: unbounded). */
struct sums {
	long long replies, prompt, completion, reasoning, cost, priced, est;
};

static struct sums
fix_sum(const char *user, const char *model, const char *day,
    const char *since, const char *until)
{
	struct sums t = { 0, 0, 0, 0, 0, 0, 0 };

	for (size_t i = 0; i < NFIX; i++) {
		const struct fix *f = &fixture[i];
		if ((user && strcmp(f->user, user)) ||
		    (model && strcmp(f->model, model)) ||
		    (day && strcmp(f->day, day)) ||
		    (since && strcmp(f->day, since) < 0) ||
		    (until && strcmp(f->day, until) > 0))
			continue;
		t.replies++;
		t.prompt += f->prompt;
		t.completion += f->completion;
		t.reasoning += f->reasoning;
		if (f->cost >= 0) {
			t.cost += f->cost;
			t.priced++;
		}
		t.est += f->estimated;
	}
	return t;
}

static long long
num(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsNumber(v) ? (long long)v->valuedouble : -999;
}

/* Whether report row e equals t. */
static int
row_is(const cJSON *e, struct sums t)
{
	return num(e, "replies") == t.replies &&
	    num(e, "prompt_tokens") == t.prompt &&
	    num(e, "completion_tokens") == t.completion &&
	    num(e, "reasoning_tokens") == t.reasoning &&
	    num(e, "total_tokens") == t.prompt + t.completion &&
	    num(e, "cost_micros") == t.cost && num(e, "priced") == t.priced &&
	    num(e, "estimated") == t.est;
}

/* Checks a report by "by" between since and until against the fixture:
 * its keys in order are keys (comma-separated), each row's figures the
 * fixture's, and the rows together the whole period's. */
static void
check_report(struct store *s, const char *by, const char *since,
    const char *until, const char *keys, const char *name)
{
	cJSON *rep = NULL, *e;
	char got[256] = "";
	int ok = 1;
	struct sums all = { 0, 0, 0, 0, 0, 0, 0 };

	if (store_usage_report(s, by, since, until, &rep) != STORE_OK) {
		CHECK(0, name);
		return;
	}
	cJSON_ArrayForEach(e, rep) {
		const char *key = cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(e, "key"));
		struct sums t;
		if (key == NULL) {
			ok = 0;
			break;
		}
		snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s",
		    got[0] ? "," : "", key);
		t = fix_sum(strcmp(by, "user") == 0 ? key : NULL,
		    strcmp(by, "model") == 0 ? key : NULL,
		    strcmp(by, "day") == 0 ? key : NULL, since, until);
		ok &= row_is(e, t);
		all.replies += num(e, "replies");
		all.prompt += num(e, "prompt_tokens");
		all.completion += num(e, "completion_tokens");
		all.reasoning += num(e, "reasoning_tokens");
		all.cost += num(e, "cost_micros");
		all.priced += num(e, "priced");
		all.est += num(e, "estimated");
	}
	struct sums want = fix_sum(NULL, NULL, NULL, since, until);
	ok &= memcmp(&all, &want, sizeof(all)) == 0;
	CHECK(ok && strcmp(got, keys) == 0, name);
	if (strcmp(got, keys) != 0)
		printf("#   keys \"%s\", want \"%s\"\n", got, keys);
	cJSON_Delete(rep);
}

static void
test_add(struct store *s)
{
	struct store_usage_row r = {
		.user = "alice", .model = "m", .upstream = NULL,
		.outcome = STORE_COMPLETE, .day = "2026-12-02", .at = 1,
		.cost_micros = -1,
	};

	for (size_t i = 0; i < NFIX; i++)
		if (add_fix(s, &fixture[i], (long long)i + 1) != STORE_OK)
			CHECK(0, "add: a fixture row");
	CHECK(1, "add: the fixture's 8 rows");
	r.user = "";
	CHECK(store_usage_add(s, &r) == STORE_INVALID, "add: empty user refused");
	r.user = "alice";
	r.model = NULL;
	CHECK(store_usage_add(s, &r) == STORE_INVALID, "add: no model refused");
	r.model = "m";
	r.outcome = "streaming";
	CHECK(store_usage_add(s, &r) == STORE_INVALID,
	    "add: an outcome the ledger has not refused (CHECKs are off)");
	r.outcome = STORE_COMPLETE;
	r.day = "2026-12-32";
	CHECK(store_usage_add(s, &r) == STORE_INVALID, "add: a bad day refused");
	r.day = "2026-12-02";
	r.completion_tokens = -1;
	CHECK(store_usage_add(s, &r) == STORE_INVALID,
	    "add: a negative count refused");
	CHECK(store_usage_add(s, NULL) == STORE_INVALID, "add: NULL refused");

	sqlite3_stmt *st = NULL;
	int nulls = -1;
	if (sqlite3_prepare_v2(raw, "SELECT count(*) FROM usage WHERE"
	    " cost_micros IS NULL AND conversation_id IS NULL AND"
	    " upstream = 'up'", -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		nulls = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	CHECK(nulls == 3, "add: no price is a NULL cost, no conversation NULL");
}

static void
test_sum(struct store *s)
{
	long long tok = -1, cost = -1;
	struct sums t;

	t = fix_sum("alice", NULL, NULL, "2026-12-01", NULL);
	CHECK(store_usage_sum(s, "alice", "2026-12-01", &tok, &cost) ==
	    STORE_OK && tok == t.prompt + t.completion && cost == t.cost &&
	    tok == 1622 && cost == 10300,
	    "sum: alice since the 1st: tokens and priced cost");
	t = fix_sum("alice", NULL, NULL, "2026-12-02", NULL);
	CHECK(store_usage_sum(s, "alice", "2026-12-02", &tok, &cost) ==
	    STORE_OK && tok == t.prompt + t.completion && cost == t.cost,
	    "sum: alice today");
	t = fix_sum(NULL, NULL, NULL, "2026-12-01", NULL);
	CHECK(store_usage_sum(s, NULL, "2026-12-01", &tok, &cost) == STORE_OK &&
	    tok == t.prompt + t.completion && cost == t.cost,
	    "sum: the site since the 1st");
	CHECK(store_usage_sum(s, "nobody", "2026-01-01", &tok, &cost) ==
	    STORE_OK && tok == 0 && cost == 0, "sum: a user without rows: 0");
	CHECK(store_usage_sum(s, "carol", "2026-12-01", &tok, &cost) ==
	    STORE_OK && tok == 333 && cost == 0,
	    "sum: only unpriced rows: cost 0");
	CHECK(store_usage_sum(s, "alice", "2027-01-01", &tok, &cost) ==
	    STORE_OK && tok == 0, "sum: a day after every row: 0");

	/* The periods' sums, as budget_check takes them. */
	struct budget_periods p = { .day = "2026-12-02",
	    .month_first = "2026-12-01" };
	struct budget_used u;
	struct sums d = fix_sum("alice", NULL, "2026-12-02", NULL, NULL);
	struct sums m = fix_sum("alice", NULL, NULL, "2026-12-01", NULL);
	CHECK(store_usage_used(s, "alice", &p, &u) == STORE_OK &&
	    u.v[BUDGET_DAY][BUDGET_TOKENS] == d.prompt + d.completion &&
	    u.v[BUDGET_DAY][BUDGET_COST] == d.cost &&
	    u.v[BUDGET_MONTH][BUDGET_TOKENS] == m.prompt + m.completion &&
	    u.v[BUDGET_MONTH][BUDGET_COST] == m.cost,
	    "used: alice's day and month, tokens and money");
	d = fix_sum(NULL, NULL, "2026-12-02", NULL, NULL);
	m = fix_sum(NULL, NULL, NULL, "2026-12-01", NULL);
	CHECK(store_usage_used(s, NULL, &p, &u) == STORE_OK &&
	    u.v[BUDGET_DAY][BUDGET_TOKENS] == d.prompt + d.completion &&
	    u.v[BUDGET_MONTH][BUDGET_TOKENS] == m.prompt + m.completion &&
	    u.v[BUDGET_MONTH][BUDGET_COST] == m.cost,
	    "used: the site's");
	CHECK(store_usage_used(NULL, "alice", &p, &u) == STORE_ERR &&
	    u.v[BUDGET_MONTH][BUDGET_TOKENS] == 0, "used: no store: an error, 0");
}

static void
test_report(struct store *s)
{
	cJSON *rep = NULL;

	check_report(s, "user", NULL, NULL, "alice,bob,carol",
	    "report: by user, all time");
	check_report(s, "model", NULL, NULL, "gpt-4o,llama,o3",
	    "report: by model, all time");
	check_report(s, "day", NULL, NULL, "2026-11-30,2026-12-01,2026-12-02",
	    "report: by day, all time");
	check_report(s, "user", "2026-12-01", NULL, "alice,bob,carol",
	    "report: by user since the 1st");
	check_report(s, "model", "2026-12-01", "2026-12-01", "gpt-4o,llama",
	    "report: by model on the 1st alone (both bounds)");
	check_report(s, "day", NULL, "2026-11-30", "2026-11-30",
	    "report: until a day");
	check_report(s, "user", "2027-01-01", NULL, "",
	    "report: after every row: empty");
	CHECK(store_usage_report(s, "conversation", NULL, NULL, &rep) ==
	    STORE_INVALID && rep == NULL, "report: another grouping refused");
	CHECK(store_usage_report(s, NULL, NULL, NULL, &rep) == STORE_INVALID,
	    "report: NULL grouping refused");
}

/* Collects store_usage_totals' rows. */
struct tot {
	char seen[512];
	int stop_after;
	int calls;
};

static int
tot_fn(void *arg, const char *user, const char *model, long long replies,
    long long prompt, long long completion, long long reasoning,
    long long cost)
{
	struct tot *t = arg;
	struct sums want = fix_sum(user, model, NULL, NULL, NULL);
	size_t n = strlen(t->seen);
	int right = replies == want.replies && prompt == want.prompt &&
	    completion == want.completion && reasoning == want.reasoning &&
	    cost == want.cost;

	snprintf(t->seen + n, sizeof(t->seen) - n, "%s%s/%s%s", n ? "," : "",
	    user, model, right ? "" : "(wrong)");
	return ++t->calls == t->stop_after ? 7 : 0;
}

static void
test_totals(struct store *s)
{
	struct tot t = { "", 0, 0 };

	CHECK(store_usage_totals(s, tot_fn, &t) == STORE_OK, "totals: listed");
	CHECK_STR(t.seen, "alice/gpt-4o,alice/llama,alice/o3,bob/gpt-4o,"
	    "bob/llama,carol/o3", "totals: per user and model, the trigger's "
	    "sums equal the rows'");
	memset(&t, 0, sizeof(t));
	t.stop_after = 2;
	CHECK(store_usage_totals(s, tot_fn, &t) == 7 && t.calls == 2,
	    "totals: the callback's non-zero stops and is returned");
}

static void
test_kept(struct store *s)
{
	char c[ID_LEN + 1];
	long long msg = 0, tok = -1, cost = -1, before = -1;
	int n = 0;
	struct store_usage_row r = {
		.user = "dave", .model = "m", .upstream = "u",
		.outcome = STORE_COMPLETE, .day = "2026-12-02", .at = 5,
		.prompt_tokens = 10, .completion_tokens = 5, .cost_micros = 1,
	};

	CHECK(store_conv_create(s, "dave", "t", "m", "", c) == STORE_OK &&
	    store_msg_add(s, c, "assistant", "hi", 2, STORE_COMPLETE, "m",
	    &msg) == STORE_OK, "kept: a conversation");
	r.conversation_id = c;
	r.message_id = msg;
	CHECK(store_usage_add(s, &r) == STORE_OK, "kept: its reply in the "
	    "ledger");
	store_usage_sum(s, "dave", "2026-12-01", &before, &cost);
	CHECK(store_conv_delete(s, c, "dave") == STORE_OK &&
	    store_usage_sum(s, "dave", "2026-12-01", &tok, &cost) == STORE_OK &&
	    tok == 15 && tok == before,
	    "kept: deleting the conversation does not reset the budget");
	CHECK(store_conv_create(s, "dave", "t", "m", "", c) == STORE_OK &&
	    store_user_delete(s, "dave", &n) == STORE_OK && n == 1 &&
	    store_usage_sum(s, "dave", "2026-12-01", &tok, &cost) == STORE_OK &&
	    tok == 15, "kept: nor deleting the user");
	CHECK(sqlite3_exec(raw, "DELETE FROM usage", NULL, NULL, NULL) !=
	    SQLITE_OK, "kept: the ledger refuses a delete");
	CHECK(sqlite3_exec(raw, "UPDATE usage SET prompt_tokens = 0", NULL,
	    NULL, NULL) != SQLITE_OK, "kept: and an update");
	CHECK(store_usage_sum(s, "dave", "2026-12-01", &tok, &cost) ==
	    STORE_OK && tok == 15, "kept: the rows are as they were");
}

static void
test_limits(struct store *s)
{
	struct budget_limits own, got;
	cJSON *list = NULL;
	char *js = NULL;

	CHECK(store_limits_get(s, "alice", &got) == STORE_OK &&
	    got.v[BUDGET_DAY][BUDGET_TOKENS] == BUDGET_DEFAULT &&
	    got.v[BUDGET_MONTH][BUDGET_COST] == BUDGET_DEFAULT,
	    "limits: none of her own: all default");
	for (int p = 0; p < BUDGET__PERIODS; p++)
		for (int u = 0; u < BUDGET__UNITS; u++)
			own.v[p][u] = BUDGET_DEFAULT;
	own.v[BUDGET_MONTH][BUDGET_TOKENS] = 2000000;
	own.v[BUDGET_DAY][BUDGET_COST] = BUDGET_NONE;
	CHECK(store_limits_set(s, "alice", &own) == STORE_OK &&
	    store_limits_get(s, "alice", &got) == STORE_OK &&
	    memcmp(&got, &own, sizeof(got)) == 0,
	    "limits: set and read back (a value, none, defaults)");
	own.v[BUDGET_MONTH][BUDGET_COST] = 5 * BUDGET_MICROS;
	CHECK(store_limits_set(s, "alice", &own) == STORE_OK &&
	    store_limits_get(s, "alice", &got) == STORE_OK &&
	    got.v[BUDGET_MONTH][BUDGET_COST] == 5 * BUDGET_MICROS &&
	    got.v[BUDGET_MONTH][BUDGET_TOKENS] == 2000000,
	    "limits: set again: replaced whole");
	CHECK(store_limits_set(s, "bob", &own) == STORE_OK,
	    "limits: bob's too");
	CHECK(store_limits_list(s, &list) == STORE_OK && list != NULL &&
	    (js = cJSON_PrintUnformatted(list)) != NULL, "limits: listed");
	CHECK_STR(js, "[{\"user\":\"alice\",\"day_tokens\":null,"
	    "\"day_cost_micros\":0,\"month_tokens\":2000000,"
	    "\"month_cost_micros\":5000000},{\"user\":\"bob\","
	    "\"day_tokens\":null,\"day_cost_micros\":0,\"month_tokens\":2000000,"
	    "\"month_cost_micros\":5000000}]",
	    "limits: the list, by name, null for not set, 0 for none");
	free(js);
	js = NULL;
	cJSON_Delete(list);
	own.v[BUDGET_DAY][BUDGET_TOKENS] = BUDGET_TOKENS_MAX + 1;
	CHECK(store_limits_set(s, "alice", &own) == STORE_INVALID,
	    "limits: over the tokens' maximum refused");
	own.v[BUDGET_DAY][BUDGET_TOKENS] = -2;
	CHECK(store_limits_set(s, "alice", &own) == STORE_INVALID,
	    "limits: below default refused");
	own.v[BUDGET_DAY][BUDGET_TOKENS] = BUDGET_DEFAULT;
	own.v[BUDGET_MONTH][BUDGET_COST] = BUDGET_COST_MAX + 1;
	CHECK(store_limits_set(s, "alice", &own) == STORE_INVALID,
	    "limits: over the money's maximum refused");
	CHECK(store_limits_set(s, "", &own) == STORE_INVALID,
	    "limits: no user refused");
	for (int p = 0; p < BUDGET__PERIODS; p++)
		for (int u = 0; u < BUDGET__UNITS; u++)
			own.v[p][u] = BUDGET_DEFAULT;
	CHECK(store_limits_set(s, "alice", &own) == STORE_OK &&
	    store_limits_list(s, &list) == STORE_OK &&
	    cJSON_GetArraySize(list) == 1 &&
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
	    cJSON_GetArrayItem(list, 0), "user")), "bob") == 0,
	    "limits: all default: her row goes");
	cJSON_Delete(list);
}

static void
test_interrupted(struct store *s)
{
	char c[ID_LEN + 1];
	long long m1 = 0, m2 = 0, tok = -1, cost = -1;
	char today[BUDGET_DATE_LEN + 1];
	struct store_reasoning rs = { "thinking hard", 13, 10 };
	sqlite3_stmt *st = NULL;
	int rows = 0, right = 0;

	budget_date(time(NULL), today);
	CHECK(store_conv_create(s, "erin", "t", "conv-model", "", c) ==
	    STORE_OK &&
	    store_msg_add(s, c, "user", "q", 1, STORE_COMPLETE, "", NULL) ==
	    STORE_OK &&
	    store_msg_add(s, c, "assistant", "", 0, "streaming", "o3", &m1) ==
	    STORE_OK &&
	    store_msg_update(s, m1, "héllo wörld", 13, &rs, "streaming", NULL,
	    NULL) == STORE_OK &&
	    store_msg_add(s, c, "assistant", "abcde", 5, "streaming", "", &m2) ==
	    STORE_OK, "interrupted: two replies left streaming");
	CHECK(store_mark_interrupted(s) == 2, "interrupted: both marked");
	if (sqlite3_prepare_v2(raw, "SELECT user, model, upstream, outcome,"
	    " conversation_id, message_id, prompt_tokens, completion_tokens,"
	    " reasoning_tokens, estimated, cost_micros IS NULL, day"
	    " FROM usage WHERE user = 'erin' ORDER BY message_id", -1, &st,
	    NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW) {
			long long id = sqlite3_column_int64(st, 5);
			/* "héllo wörld" 13 bytes + 13 of reasoning: 26 -> 7;
			 * reasoning 13 -> 4; "abcde" 5 -> 2 */
			int first = id == m1;
			rows++;
			right += strcmp((const char *)sqlite3_column_text(st, 1),
			    first ? "o3" : "conv-model") == 0 &&
			    strcmp((const char *)sqlite3_column_text(st, 2), "") ==
			    0 && strcmp((const char *)sqlite3_column_text(st, 3),
			    "interrupted") == 0 &&
			    strcmp((const char *)sqlite3_column_text(st, 4), c) ==
			    0 && sqlite3_column_int64(st, 6) == 0 &&
			    sqlite3_column_int64(st, 7) == (first ? 7 : 2) &&
			    sqlite3_column_int64(st, 8) == (first ? 4 : 0) &&
			    sqlite3_column_int(st, 9) == 1 &&
			    sqlite3_column_int(st, 10) == 1 &&
			    strcmp((const char *)sqlite3_column_text(st, 11),
			    today) == 0;
		}
	}
	sqlite3_finalize(st);
	CHECK(rows == 2 && right == 2, "interrupted: a ledger row each: its "
	    "model (the conversation's when the reply has none), estimated "
	    "text + reasoning, prompt 0, no cost, today");
	CHECK(store_usage_sum(s, "erin", today, &tok, &cost) == STORE_OK &&
	    tok == 9 && cost == 0, "interrupted: they count in the budget");
	CHECK(store_mark_interrupted(s) == 0, "interrupted: none the second "
	    "time");
	CHECK(store_usage_sum(s, "erin", today, &tok, &cost) == STORE_OK &&
	    tok == 9, "interrupted: and no row again");
}

/* The plan of sql (one row per step, details joined). */
static void
plan_of(const char *sql, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	char q[512];

	out[0] = '\0';
	snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s", sql);
	if (sqlite3_prepare_v2(raw, q, -1, &st, NULL) != SQLITE_OK)
		return;
	while (sqlite3_step(st) == SQLITE_ROW) {
		size_t n = strlen(out);
		snprintf(out + n, cap - n, "%s;", sqlite3_column_text(st, 3));
	}
	sqlite3_finalize(st);
}

static void
test_plans(void)
{
	char plan[512];

	/* The statements of store.c's table, as written there. */
	plan_of("SELECT coalesce(sum(prompt_tokens + completion_tokens), 0),"
	    " coalesce(sum(cost_micros), 0) FROM usage"
	    " WHERE user = ?1 AND day >= ?2", plan, sizeof(plan));
	CHECK(strstr(plan, "COVERING INDEX usage_by_user_day") != NULL,
	    "plan: a user's sum reads only usage_by_user_day");
	if (strstr(plan, "COVERING INDEX usage_by_user_day") == NULL)
		printf("#   %s\n", plan);
	plan_of("SELECT coalesce(sum(prompt_tokens + completion_tokens), 0),"
	    " coalesce(sum(cost_micros), 0) FROM usage WHERE day >= ?1", plan,
	    sizeof(plan));
	CHECK(strstr(plan, "COVERING INDEX usage_by_day") != NULL,
	    "plan: the site's sum reads only usage_by_day");
	if (strstr(plan, "COVERING INDEX usage_by_day") == NULL)
		printf("#   %s\n", plan);
}

/* A schema 9 database: made by this build, then v10's tables taken out. */
static void
test_migration(const char *dir)
{
	char path[256], err[256], c[ID_LEN + 1];
	struct store *s = NULL;
	sqlite3 *db = NULL;
	long long tok = -1, cost = -1;
	int version = -1;
	struct store_usage_row r = {
		.user = "frank", .model = "m", .outcome = STORE_COMPLETE,
		.day = "2026-12-02", .at = 1, .prompt_tokens = 3,
		.completion_tokens = 4, .cost_micros = -1,
	};

	snprintf(path, sizeof(path), "%s/v9.db", dir);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK &&
	    store_conv_create(s, "frank", "t", "m", "", c) == STORE_OK,
	    "v9: data");
	store_close(s);
	s = NULL;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db,
	    UNDO_V11 "DROP TABLE usage; DROP TABLE usage_totals; DROP TABLE user_limits;"
	    "PRAGMA user_version = 9;", NULL, NULL, NULL) == SQLITE_OK,
	    "v9: the database taken back to schema 9");
	sqlite3_close(db);
	db = NULL;
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK,
	    "v9: opened, migrated to 10");
	CHECK(store_usage_sum(s, "frank", "2026-01-01", &tok, &cost) ==
	    STORE_OK && tok == 0, "v10: an empty ledger (old replies are not "
	    "backfilled)");
	CHECK(store_usage_add(s, &r) == STORE_OK &&
	    store_usage_sum(s, "frank", "2026-01-01", &tok, &cost) == STORE_OK &&
	    tok == 7, "v10: the ledger takes rows");
	store_close(s);
	sqlite3_stmt *st = NULL;
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	CHECK(version == 11, "v10: user_version is this build's (11)");
	unlink(path);
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-usage.XXXXXX", path[256], err[256];
	struct store *s = NULL;

	if (mkdtemp(dir) == NULL)
		return 1;
	setenv("TZ", "Europe/Berlin", 1);
	snprintf(path, sizeof(path), "%s/db", dir);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK &&
	    sqlite3_open(path, &raw) == SQLITE_OK, "open");
	sqlite3_busy_timeout(raw, 5000);
	test_add(s);
	test_sum(s);
	test_report(s);
	test_totals(s);
	test_kept(s);
	test_limits(s);
	test_interrupted(s);
	test_plans();
	sqlite3_close(raw);
	store_close(s);
	CHECK(store_usage_sum(NULL, "x", "2026-01-01", &(long long){ 0 },
	    &(long long){ 0 }) == STORE_ERR, "no store: an error");
	test_migration(dir);
	snprintf(err, sizeof(err), "rm -rf %s", dir);
	if (system(err) != 0)
		return 1;
	UNIT_EXIT();
}
