/* store_login.c - login rate limiting: failed logins counted per key in
 * the database, so every FastCGI process sees the same counts; successful
 * logins per user and address, which are trusted for the window. */
#include "store_int.h"

int
store_login_count(struct store *s, const char *key, long window_s,
    int *count, long long *last_ms)
{
	struct db_stmt *st = NULL;
	long long since = store_now_ms() - (long long)window_s * 1000;
	int step;

	*count = 0;
	*last_ms = 0;
	if (store_prep(s, ST_LOGIN_CHECK, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, key) || db_bind_int64(st, 2, since) !=
	    DB_OK)
		return store_bind_fail(s, st);
	step = db_step(st);
	if (step == DB_ROW) {
		*count = db_column_int(st, 0);
		*last_ms = db_column_int64(st, 1);
	}
	store_release(st);
	if (step != DB_ROW)
		return store_db_fail(s, "login check");
	return STORE_OK;
}

int
store_login_fail(struct store *s, const char *key, long window_s)
{
	struct db_stmt *st = NULL;
	long long now = store_now_ms();

	if (store_prep(s, ST_LOGIN_FAIL, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, key) || db_bind_int64(st, 2, now) !=
	    DB_OK)
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "login failure") != STORE_OK)
		return STORE_ERR;
	/* Forget what has left every window: the table stays small. */
	if (store_prep(s, ST_LOGIN_PRUNE, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, now - (long long)window_s * 1000) !=
	    DB_OK)
		return store_bind_fail(s, st);
	return store_run_done(s, st, "prune login failures");
}

int
store_login_clear(struct store *s, const char *key)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, ST_LOGIN_CLEAR, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, key))
		return store_bind_fail(s, st);
	return store_run_done(s, st, "clear login failures");
}

int
store_login_trust(struct store *s, const char *key, long window_s)
{
	struct db_stmt *st = NULL;
	long long now = store_now_ms();

	if (store_prep(s, ST_LOGIN_TRUST, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, key) || db_bind_int64(st, 2, now) !=
	    DB_OK)
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "login success") != STORE_OK)
		return STORE_ERR;
	if (store_prep(s, ST_LOGIN_TRUST_PRUNE, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, now - (long long)window_s * 1000) !=
	    DB_OK)
		return store_bind_fail(s, st);
	return store_run_done(s, st, "prune login successes");
}

int
store_login_trusted(struct store *s, const char *key, long window_s)
{
	struct db_stmt *st = NULL;
	long long since = store_now_ms() - (long long)window_s * 1000;
	int step;

	if (store_prep(s, ST_LOGIN_TRUSTED, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, key) || db_bind_int64(st, 2, since) !=
	    DB_OK)
		return store_bind_fail(s, st);
	step = db_step(st);
	store_release(st);
	if (step == DB_ROW)
		return STORE_OK;
	if (step == DB_DONE)
		return STORE_NOT_FOUND;
	return store_db_fail(s, "login trust");
}
