/* store_lat.c - what one store call costs on each engine (make bench-pg):
 * the calls a prompt and its reply make, timed through the store's API
 * (lib/store.h) on the database named by argv[1] (a SQLite file, or a
 * postgresql:// URL: then every call is at least one round trip to the
 * server). It fills the database with one user's conversation of
 * CONV_MSGS messages, a login session and a month of usage rows
 * (USAGE_ROWS), then times RUNS calls of each:
 *   conv_get       store_conv_get of that conversation (its current path)
 *   reply_write    store_begin, store_msg_add (a streaming reply),
 *                  store_msg_update (complete, with usage), store_commit:
 *                  one reply's rows in one transaction
 *   session_check  store_session_check (every REST call and /ws's
 *                  authorizer, unless cached)
 *   usage_sum      store_usage_sum of the user's month (a budget check)
 *   lease_renew    store_lease_renew (a worker's lease, every 2 s)
 * and prints one line per call: "store_lat ENGINE CALL p50 p99 mean" in
 * microseconds, for bench/pg.sh to read. Figures, never asserted. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "budget.h"
#include "monotime.h"
#include "store.h"

#define CONV_MSGS 20
#define USAGE_ROWS 3000
#define RUNS_DEFAULT 1000

static int
cmp_ll(const void *a, const void *b)
{
	long long x = *(const long long *)a, y = *(const long long *)b;

	return (x > y) - (x < y);
}

static long long
ns_since(const struct timespec *a)
{
	struct timespec b;

	monotime_now(&b);
	return (b.tv_sec - a->tv_sec) * 1000000000LL + (b.tv_nsec - a->tv_nsec);
}

static void
report(const char *engine, const char *call, long long *ns, int n)
{
	double sum = 0;

	qsort(ns, (size_t)n, sizeof(ns[0]), cmp_ll);
	for (int i = 0; i < n; i++)
		sum += (double)ns[i];
	printf("store_lat %s %s %.1f %.1f %.1f\n", engine, call,
	    ns[n / 2] / 1000.0, ns[(n * 99) / 100] / 1000.0, sum / n / 1000.0);
	fflush(stdout);
}

/* The user's conversation, session and month of usage. */
static int
fill(struct store *s, char conv[ID_LEN + 1], const char *sid, long long now)
{
	char day[BUDGET_DATE_LEN + 1];
	struct store_usage_row r = {
		.user = "benchuser", .model = "gpt-4o", .upstream = "openai",
		.outcome = STORE_COMPLETE, .prompt_tokens = 1200,
		.completion_tokens = 400, .cost_micros = 7000, .day = day,
	};
	long long id;

	if (store_begin(s) != STORE_OK)
		return -1;
	if (store_conv_create(s, "benchuser", "a benchmark", "gpt-4o", "",
	    conv) != STORE_OK)
		goto fail;
	for (int i = 0; i < CONV_MSGS; i++) {
		const char *role = i % 2 ? "assistant" : "user";
		char text[512];
		memset(text, 'a' + i % 26, sizeof(text) - 1);
		text[sizeof(text) - 1] = '\0';
		if (store_msg_add(s, conv, role, text, strlen(text),
		    STORE_COMPLETE, "gpt-4o", &id) != STORE_OK)
			goto fail;
	}
	if (store_session_create(s, sid, "benchuser", now, now + 86400,
	    "127.0.0.1", "bench", 1) != STORE_OK)
		goto fail;
	for (int i = 0; i < USAGE_ROWS; i++) {
		snprintf(day, sizeof(day), "2026-12-%02d", 1 + i % 28);
		r.at = 1764547200 + i;
		if (store_usage_add(s, &r) != STORE_OK)
			goto fail;
	}
	return store_commit(s) == STORE_OK ? 0 : -1;
fail:
	store_rollback(s);
	return -1;
}

int
main(int argc, char **argv)
{
	char err[256], conv[ID_LEN + 1];
	const char *sid = "0123456789abcdef0123456789abcdef";
	const char *engine;
	struct store *s = NULL;
	struct timespec a;
	long long *ns, now = (long long)time(NULL), tok, cost, id;
	int runs = argc > 2 ? atoi(argv[2]) : RUNS_DEFAULT, rc = 1;
	struct lc_usage usage;

	if (argc < 2 || runs < 10) {
		fprintf(stderr, "usage: %s DATABASE [RUNS]\n", argv[0]);
		return 2;
	}
	engine = strncmp(argv[1], "postgres", 8) == 0 ? "postgresql" : "sqlite";
	ns = calloc((size_t)runs, sizeof(*ns));
	if (ns == NULL)
		return 1;
	memset(&usage, 0, sizeof(usage));
	if (store_open(&s, argv[1], err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "store_lat: %s\n", err);
		goto out;
	}
	if (fill(s, conv, sid, now) != 0) {
		fprintf(stderr, "store_lat: cannot fill the database\n");
		goto out;
	}
	for (int i = 0; i < runs; i++) {
		cJSON *j = NULL;
		monotime_now(&a);
		if (store_conv_get(s, conv, "benchuser", &j) != STORE_OK)
			goto fail;
		ns[i] = ns_since(&a);
		cJSON_Delete(j);
	}
	report(engine, "conv_get", ns, runs);
	for (int i = 0; i < runs; i++) {
		static const char reply[] = "w1 w2 w3 w4 w5 w6 w7 w8 w9 w10";
		monotime_now(&a);
		if (store_begin(s) != STORE_OK ||
		    store_msg_add(s, conv, "assistant", "", 0, STORE_STREAMING,
		    "gpt-4o", &id) != STORE_OK ||
		    store_msg_update(s, id, reply, sizeof(reply) - 1, NULL,
		    STORE_COMPLETE, &usage, NULL) != STORE_OK ||
		    store_commit(s) != STORE_OK)
			goto fail;
		ns[i] = ns_since(&a);
	}
	report(engine, "reply_write", ns, runs);
	for (int i = 0; i < runs; i++) {
		enum store_session_state st;
		monotime_now(&a);
		if (store_session_check(s, sid, "benchuser", now, 3600, &st,
		    NULL) != STORE_OK || st != STORE_SESSION_ACTIVE)
			goto fail;
		ns[i] = ns_since(&a);
	}
	report(engine, "session_check", ns, runs);
	for (int i = 0; i < runs; i++) {
		monotime_now(&a);
		if (store_usage_sum(s, "benchuser", "2026-12-01", &tok,
		    &cost) != STORE_OK)
			goto fail;
		ns[i] = ns_since(&a);
	}
	report(engine, "usage_sum", ns, runs);
	for (int i = 0; i < runs; i++) {
		long long t = now * 1000 + i;
		monotime_now(&a);
		if (store_lease_renew(s, "benchhost", t, t + 6000) != STORE_OK)
			goto fail;
		ns[i] = ns_since(&a);
	}
	report(engine, "lease_renew", ns, runs);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "store_lat: a call failed on %s\n", engine);
out:
	store_close(s);
	free(ns);
	return rc;
}
