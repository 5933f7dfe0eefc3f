/* store_login.c - login rate limiting: failed logins counted per key in
 * the database, so every FastCGI process sees the same counts. */
#include "store_int.h"

int
store_login_check(struct store *s, const char *key, int max, long window_s,
    long *retry_after)
{
	sqlite3_stmt *st = NULL;
	long long now = store_now_ms(), since = now - (long long)window_s * 1000;
	int step, count = 0;
	long long oldest = 0;

	*retry_after = 0;
	if (store_prep(s, ST_LOGIN_CHECK, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, key) || sqlite3_bind_int64(st, 2, since) !=
	    SQLITE_OK)
		return store_bind_fail(s, st);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		count = sqlite3_column_int(st, 0);
		oldest = sqlite3_column_int64(st, 1);
	}
	store_release(st);
	if (step != SQLITE_ROW)
		return store_db_fail(s, "login check");
	if (count < max)
		return STORE_OK;
	/* Allowed again when the oldest failure leaves the window. */
	*retry_after = (long)((oldest + (long long)window_s * 1000 - now) /
	    1000) + 1;
	return STORE_LIMITED;
}

int
store_login_fail(struct store *s, const char *key, long window_s)
{
	sqlite3_stmt *st = NULL;
	long long now = store_now_ms();

	if (store_prep(s, ST_LOGIN_FAIL, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, key) || sqlite3_bind_int64(st, 2, now) !=
	    SQLITE_OK)
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "login failure") != STORE_OK)
		return STORE_ERR;
	/* Forget what has left every window: the table stays small. */
	if (store_prep(s, ST_LOGIN_PRUNE, &st) != STORE_OK)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, now - (long long)window_s * 1000) !=
	    SQLITE_OK)
		return store_bind_fail(s, st);
	return store_run_done(s, st, "prune login failures");
}

int
store_login_clear(struct store *s, const char *key)
{
	sqlite3_stmt *st = NULL;

	if (store_prep(s, ST_LOGIN_CLEAR, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, key))
		return store_bind_fail(s, st);
	return store_run_done(s, st, "clear login failures");
}
