/* store_health.c - what /health and /metrics need of the store: a real
 * write in a short transaction that waits little for a lock, and the
 * counters every FastCGI process adds to (logins by result, database
 * errors), one row each. */
#include "store_int.h"

#include <time.h>

int
store_health_write(struct store *s, int busy_ms)
{
	struct db_stmt *st = NULL;
	int rc = STORE_ERR;

	if (s == NULL)
		return STORE_ERR;
	db_busy_timeout(s->db, busy_ms);
	if (store_begin(s) != STORE_OK)
		goto out;
	if (store_prep(s, ST_HEALTH_WRITE, &st) != STORE_OK)
		goto out;
	if (db_bind_int64(st, 1, (long long)time(NULL)) !=
	    DB_OK) {
		store_bind_fail(s, st);
		goto out;
	}
	if (store_run_done(s, st, "health write") != STORE_OK)
		goto out;
	rc = store_commit(s);
out:
	store_rollback(s);
	db_busy_timeout(s->db, STORE_BUSY_MS);
	return rc;
}

int
store_counter_add(struct store *s, const char *name, long long n)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, ST_COUNTER_ADD, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, name) ||
	    db_bind_int64(st, 2, n) != DB_OK)
		return store_bind_fail(s, st);
	return store_run_done(s, st, "counter");
}

int
store_counters_each(struct store *s,
    int (*fn)(void *arg, const char *name, long long value), void *arg)
{
	struct db_stmt *st = NULL;
	int step;

	if (store_prep(s, ST_COUNTER_LIST, &st) != STORE_OK)
		return STORE_ERR;
	while ((step = db_step(st)) == DB_ROW) {
		const char *name = db_column_text(st, 0);
		if (name != NULL && fn(arg, name, db_column_int64(st, 1)))
			break;
	}
	store_release(st);
	if (step != DB_ROW && step != DB_DONE)
		return store_db_fail(s, "counters");
	return STORE_OK;
}
