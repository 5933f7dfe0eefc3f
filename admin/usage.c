/* usage.c - lightchat-admin's usage commands (issue 16): the report of
 * the usage ledger (tokens and cost by user, model or day, as a table or
 * CSV) and each user's own budget limits (user limit, user limits). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "budget.h"
#include "store.h"
#include "username.h"
#include "users.h"

/* The report's columns after the key, as store_usage_report names them,
 * with their table headings. */
static const struct {
	const char *name, *heading;
} counts[] = {
	{ "replies", "REPLIES" },
	{ "prompt_tokens", "PROMPT" },
	{ "completion_tokens", "COMPLETION" },
	{ "reasoning_tokens", "REASONING" },
	{ "total_tokens", "TOTAL" },
};
#define NCOUNTS (sizeof(counts) / sizeof(counts[0]))

struct report_opts {
	const char *since, *until, *by;
	int csv;
};

static long long
num(const cJSON *row, const char *name)
{
	return (long long)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(
	    row, name));
}

/* Parses usage's options into *o. Returns 0, or 2 after saying why. */
static int
report_args(int argc, char **argv, struct report_opts *o)
{
	for (int i = 1; i < argc; i++) {
		const char **dst = strcmp(argv[i], "--since") == 0 ? &o->since :
		    strcmp(argv[i], "--until") == 0 ? &o->until :
		    strcmp(argv[i], "--by") == 0 ? &o->by : NULL;
		if (strcmp(argv[i], "--csv") == 0) {
			o->csv = 1;
			continue;
		}
		if (dst == NULL || i + 1 >= argc) {
			fprintf(stderr, "usage: lightchat-admin usage [--since "
			    "YYYY-MM-DD] [--until YYYY-MM-DD] [--by "
			    "user|model|day] [--csv]\n");
			return 2;
		}
		*dst = argv[++i];
	}
	if (strcmp(o->by, "user") != 0 && strcmp(o->by, "model") != 0 &&
	    strcmp(o->by, "day") != 0) {
		fprintf(stderr, "--by: user, model or day, not %.40s\n", o->by);
		return 2;
	}
	if (!budget_date_ok(o->since) ||
	    (o->until != NULL && !budget_date_ok(o->until))) {
		fprintf(stderr, "a date is YYYY-MM-DD, a day that exists: %.40s\n",
		    budget_date_ok(o->since) ? o->until : o->since);
		return 2;
	}
	return 0;
}

/* A CSV field: quoted when it holds a comma, a quote or a line break
 * (RFC 4180). */
static void
csv_field(const char *s)
{
	if (strpbrk(s, ",\"\r\n") == NULL) {
		fputs(s, stdout);
		return;
	}
	putchar('"');
	for (; *s; s++) {
		if (*s == '"')
			putchar('"');
		putchar(*s);
	}
	putchar('"');
}

/* Row's cost as text: the money, "" (csv) or "-" when no reply of it had
 * a price, with a '*' in the table when only some had. */
static void
cost_text(const cJSON *row, int csv, char *out, size_t cap)
{
	long long priced = num(row, "priced"), replies = num(row, "replies");
	size_t n;

	if (priced == 0) {
		snprintf(out, cap, "%s", csv ? "" : "-");
		return;
	}
	budget_format_money(num(row, "cost_micros"), out, cap);
	n = strlen(out);
	if (!csv && priced < replies && n + 1 < cap)
		snprintf(out + n, cap - n, "*");
}

static void
print_csv(const struct report_opts *o, const cJSON *list, const char *cur)
{
	const cJSON *row;
	char cost[48];

	printf("%s", o->by);
	for (size_t i = 0; i < NCOUNTS; i++)
		printf(",%s", counts[i].name);
	printf(",cost,currency,estimated_replies\n");
	cJSON_ArrayForEach(row, list) {
		csv_field(cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		    row, "key")));
		for (size_t i = 0; i < NCOUNTS; i++)
			printf(",%lld", num(row, counts[i].name));
		cost_text(row, 1, cost, sizeof(cost));
		printf(",%s,", cost);
		csv_field(cur);
		printf(",%lld\n", num(row, "estimated"));
	}
}

static void
print_table(const struct report_opts *o, const cJSON *list, const char *cur)
{
	const cJSON *row;
	long long total[NCOUNTS] = { 0 }, cost = 0, priced = 0, est = 0;
	int w = 5, partial = 0;
	char c[48], heading[8];

	cJSON_ArrayForEach(row, list) {
		int n = (int)strlen(cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(row, "key")));
		w = n > w ? (n > 60 ? 60 : n) : w;
	}
	for (size_t i = 0; i < sizeof(heading) - 1 && o->by[i]; i++)
		heading[i] = (char)(o->by[i] - 'a' + 'A');
	heading[strlen(o->by) < sizeof(heading) ? strlen(o->by) :
	    sizeof(heading) - 1] = '\0';
	printf("usage %s .. %s, by %s\n", o->since, o->until != NULL ?
	    o->until : "today", o->by);
	if (cJSON_GetArraySize(list) == 0) {
		printf("no usage in this period\n");
		return;
	}
	printf("%-*s", w, heading);
	for (size_t i = 0; i < NCOUNTS; i++)
		printf(" %12s", counts[i].heading);
	printf(" %14s %8s\n", cur[0] ? cur : "COST", "EST");
	cJSON_ArrayForEach(row, list) {
		printf("%-*.60s", w, cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(row, "key")));
		for (size_t i = 0; i < NCOUNTS; i++) {
			total[i] += num(row, counts[i].name);
			printf(" %12lld", num(row, counts[i].name));
		}
		cost_text(row, 0, c, sizeof(c));
		partial |= strchr(c, '*') != NULL;
		cost += num(row, "cost_micros");
		priced += num(row, "priced");
		est += num(row, "estimated");
		printf(" %14s %8lld\n", c, num(row, "estimated"));
	}
	printf("%-*s", w, "TOTAL");
	for (size_t i = 0; i < NCOUNTS; i++)
		printf(" %12lld", total[i]);
	if (priced > 0)
		budget_format_money(cost, c, sizeof(c));
	printf(" %14s %8lld\n", priced > 0 ? c : "-", est);
	if (partial)
		printf("(* some of these replies' models have no price: their "
		    "cost is not counted)\n");
	if (est > 0)
		printf("(EST: replies counted from their text, the upstream "
		    "reported no usage)\n");
}

int
admin_usage(const struct lc_config *cfg, int argc, char **argv)
{
	struct budget_periods p;
	struct report_opts o = { NULL, NULL, "user", 0 };
	struct store *st = NULL;
	cJSON *list = NULL;
	int rc;

	if (budget_periods(time(NULL), &p) != 0) {
		fprintf(stderr, "the local time is unknown\n");
		return 1;
	}
	o.since = p.month_first;
	if ((rc = report_args(argc, argv, &o)) != 0)
		return rc;
	rc = 1;
	if ((st = admin_open_store(cfg)) == NULL)
		return 1;
	if (store_usage_report(st, o.by, o.since, o.until, &list) !=
	    STORE_OK) {
		fprintf(stderr, "could not read the usage ledger\n");
		goto out;
	}
	if (o.csv)
		print_csv(&o, list, cfg->currency);
	else
		print_table(&o, list, cfg->currency);
	rc = 0;
out:
	cJSON_Delete(list);
	store_close(st);
	return rc;
}

/* --- limits --- */

static const char *const period_names[BUDGET__PERIODS] = { "day", "month" };

struct find {
	const char *name;
	int found;
};

static void
find_user(const char *user, void *arg)
{
	struct find *f = arg;

	f->found |= strcmp(user, f->name) == 0;
}

/* 0 when name is a user of the users file, else 1 after saying so. */
static int
known_user(const struct lc_config *cfg, const char *name)
{
	struct find f = { name, 0 };
	int n;

	if (!username_valid(name)) {
		fprintf(stderr, "invalid user name: %.64s\n", name);
		return 1;
	}
	n = users_each(cfg->users_file, find_user, &f);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", cfg->users_file, users_strerror(n));
		return 1;
	}
	if (!f.found)
		fprintf(stderr, "no such user: %s\n", name);
	return f.found ? 0 : 1;
}

/* One limit as people read it into out: "2M tokens", "5.00 USD", "none". */
static void
limit_text(long long v, enum budget_unit u, const char *cur, char *out,
    size_t cap)
{
	char n[48];

	if (v <= 0) {
		snprintf(out, cap, "none");
		return;
	}
	if (u == BUDGET_TOKENS) {
		budget_format_tokens(v, n, sizeof(n));
		snprintf(out, cap, "%s tokens", n);
	} else {
		budget_format_money(v, n, sizeof(n));
		snprintf(out, cap, "%s%s%s", n, cur[0] ? " " : "", cur);
	}
}

/* Prints name's limits that apply, each marked own or default. */
static void
show_limits(const struct lc_config *cfg, const char *name,
    const struct budget_limits *own)
{
	struct budget_limits defaults, lim;
	char t[64];

	config_budget_limits(cfg, &defaults, NULL);
	budget_effective(&defaults, own, &lim);
	for (int p = 0; p < BUDGET__PERIODS; p++)
		for (int u = 0; u < BUDGET__UNITS; u++) {
			limit_text(lim.v[p][u], (enum budget_unit)u,
			    cfg->currency, t, sizeof(t));
			printf("%s %s %s: %s (%s)\n", name, period_names[p],
			    u == BUDGET_TOKENS ? "tokens" : "cost", t,
			    own->v[p][u] == BUDGET_DEFAULT ? "default" : "own");
		}
}

/* Applies "--day LIMIT" / "--month LIMIT" pairs (or "default") from
 * argv[i..] to *own. Returns 0, or 2 after saying why. */
static int
limit_args(int argc, char **argv, int i, struct budget_limits *own)
{
	if (i == argc - 1 && strcmp(argv[i], "default") == 0) {
		for (int p = 0; p < BUDGET__PERIODS; p++)
			for (int u = 0; u < BUDGET__UNITS; u++)
				own->v[p][u] = BUDGET_DEFAULT;
		return 0;
	}
	for (; i < argc; i += 2) {
		int p = strcmp(argv[i], "--day") == 0 ? BUDGET_DAY :
		    strcmp(argv[i], "--month") == 0 ? BUDGET_MONTH : -1;
		enum budget_unit unit;
		long long v;
		if (p < 0 || i + 1 >= argc) {
			fprintf(stderr, "usage: lightchat-admin user limit NAME "
			    "[--day LIMIT] [--month LIMIT] | default\n");
			return 2;
		}
		if (budget_parse_limit(argv[i + 1], &unit, &v) != 0) {
			fprintf(stderr, "%s: a limit is tokens (2M-tokens, "
			    "500k-tokens), money (5.00), none or default, not "
			    "%.40s\n", argv[i], argv[i + 1]);
			return 2;
		}
		for (int u = 0; u < BUDGET__UNITS; u++)
			if (unit == BUDGET__UNITS || (int)unit == u)
				own->v[p][u] = v;
	}
	return 0;
}

int
admin_limit(const struct lc_config *cfg, int argc, char **argv)
{
	struct budget_limits own;
	struct store *st = NULL;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: lightchat-admin user limit NAME "
		    "[--day LIMIT] [--month LIMIT] | default\n");
		return 2;
	}
	if (known_user(cfg, argv[1]) != 0)
		return 1;
	if ((st = admin_open_store(cfg)) == NULL)
		return 1;
	rc = 1;
	if (store_limits_get(st, argv[1], &own) != STORE_OK) {
		fprintf(stderr, "%s: could not read the limits\n", argv[1]);
		goto out;
	}
	if (argc > 2) {
		if ((rc = limit_args(argc, argv, 2, &own)) != 0)
			goto out;
		rc = 1;
		if (store_limits_set(st, argv[1], &own) != STORE_OK) {
			fprintf(stderr, "%s: could not set the limits\n",
			    argv[1]);
			goto out;
		}
	}
	show_limits(cfg, argv[1], &own);
	rc = 0;
out:
	store_close(st);
	return rc;
}

int
admin_limits(const struct lc_config *cfg)
{
	static const char *const cols[] = { "day_tokens", "day_cost_micros",
	    "month_tokens", "month_cost_micros" };
	struct store *st = admin_open_store(cfg);
	cJSON *list = NULL;
	const cJSON *row;
	int rc = 1;

	if (st == NULL)
		return 1;
	if (store_limits_list(st, &list) != STORE_OK) {
		fprintf(stderr, "could not read the limits\n");
		goto out;
	}
	printf("%-20s %14s %14s %14s %14s\n", "USER", "DAY TOKENS", "DAY COST",
	    "MONTH TOKENS", "MONTH COST");
	cJSON_ArrayForEach(row, list) {
		printf("%-20s", cJSON_GetStringValue(
		    cJSON_GetObjectItemCaseSensitive(row, "user")));
		for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
			const cJSON *v = cJSON_GetObjectItemCaseSensitive(row,
			    cols[i]);
			char t[64];
			if (cJSON_IsNull(v))
				snprintf(t, sizeof(t), "default");
			else
				limit_text((long long)cJSON_GetNumberValue(v),
				    i % 2 ? BUDGET_COST : BUDGET_TOKENS, "", t,
				    sizeof(t));
			printf(" %14s", t);
		}
		printf("\n");
	}
	rc = 0;
out:
	cJSON_Delete(list);
	store_close(st);
	return rc;
}
