/* usage_sum.c - what a budget check costs (make bench-usage): the usage
 * ledger's sums through its covering indexes (lib/store_usage.c), timed on
 * this machine. It fills a temporary database through store_usage_add with
 * SITE_USERS users of USER_ROWS replies each in the month summed and as
 * many in the month before (which a month's sum must skip), then times
 * store_usage_sum for one user's month and day and for the site's month,
 * each the median of RUNS calls, and prints one line per figure
 * (docs/ARCHITECTURE.md, "Usage and budgets", quotes them). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "monotime.h"
#include "store.h"

#define SITE_USERS 50
#define USER_ROWS 3000            /* a month of 100 replies a day */
#define RUNS 201

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

/* Adds USER_ROWS rows for each user over the 30 days of month (1-based)
 * of 2026, in one transaction. Returns 0 or -1. */
static int
fill_month(struct store *s, int month)
{
	char user[16], day[BUDGET_DATE_LEN + 1];
	struct store_usage_row r = {
		.model = "gpt-4o", .upstream = "openai",
		.outcome = STORE_COMPLETE, .prompt_tokens = 1200,
		.completion_tokens = 400, .cost_micros = 7000, .user = user,
		.day = day,
	};

	if (store_begin(s) != STORE_OK)
		return -1;
	for (int u = 0; u < SITE_USERS; u++) {
		snprintf(user, sizeof(user), "user%02d", u);
		for (int i = 0; i < USER_ROWS; i++) {
			snprintf(day, sizeof(day), "2026-%02d-%02d", month,
			    1 + i % 30);
			r.at = 1764547200 + i;
			if (store_usage_add(s, &r) != STORE_OK) {
				store_rollback(s);
				return -1;
			}
		}
	}
	return store_commit(s) == STORE_OK ? 0 : -1;
}

/* The median microseconds of RUNS store_usage_sum(user, since). */
static double
time_sum(struct store *s, const char *user, const char *since,
    long long *tokens)
{
	long long ns[RUNS], cost;
	struct timespec a, b;

	for (int i = 0; i < RUNS; i++) {
		monotime_now(&a);
		if (store_usage_sum(s, user, since, tokens, &cost) != STORE_OK)
			return -1;
		monotime_now(&b);
		ns[i] = (b.tv_sec - a.tv_sec) * 1000000000LL +
		    (b.tv_nsec - a.tv_nsec);
	}
	qsort(ns, RUNS, sizeof(ns[0]), cmp_ll);
	return ns[RUNS / 2] / 1000.0;
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-bench-usage.XXXXXX", path[256], err[256];
	struct store *s = NULL;
	long long tok = 0;
	double us;
	int rc = 1;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/db", dir);
	if (store_open(&s, path, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "usage_sum: %s\n", err);
		goto out;
	}
	if (fill_month(s, 11) != 0 || fill_month(s, 12) != 0) {
		fprintf(stderr, "usage_sum: cannot fill the ledger\n");
		goto out;
	}
	printf("ledger: %d rows (%d users x %d replies in each of 2 months)\n",
	    2 * SITE_USERS * USER_ROWS, SITE_USERS, USER_ROWS);
	us = time_sum(s, "user07", "2026-12-01", &tok);
	printf("one user's month (%d rows, %lld tokens): %.1f us (median of "
	    "%d)\n", USER_ROWS, tok, us, RUNS);
	us = time_sum(s, "user07", "2026-12-30", &tok);
	printf("one user's day (%d rows): %.1f us\n", USER_ROWS / 30, us);
	us = time_sum(s, NULL, "2026-12-01", &tok);
	printf("the site's month (%d rows, %lld tokens): %.1f us\n",
	    SITE_USERS * USER_ROWS, tok, us);
	rc = 0;
out:
	store_close(s);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		rc = 1;
	return rc;
}
