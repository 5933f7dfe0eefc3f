/* store_quota.c - storage use and quotas: the per-user and
 * per-conversation counters the schema's triggers keep (store.c, schema
 * v5), read for a prompt's check and the admin's table, and the admin's
 * per-user quotas. */
#include "store_int.h"

#include <string.h>

int
store_quota_usage(struct store *s, const char *user, struct store_usage *u)
{
	struct db_stmt *st = NULL;
	int step;

	memset(u, 0, sizeof(*u));
	if (store_prep(s, ST_QUOTA_USAGE, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, user))
		return store_bind_fail(s, st);
	step = db_step(st);
	if (step == DB_ROW) {
		u->conversations = db_column_int64(st, 0);
		u->messages = db_column_int64(st, 1);
		u->bytes = db_column_int64(st, 2);
	}
	store_release(st);
	if (step == DB_ROW || step == DB_DONE)
		return STORE_OK;
	return store_db_fail(s, "usage");
}

int
store_quota_conv(struct store *s, const char *conv_id, long long *messages,
    long long *bytes)
{
	struct db_stmt *st = NULL;
	int step;

	*messages = 0;
	*bytes = 0;
	if (store_prep(s, ST_QUOTA_CONV, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, conv_id))
		return store_bind_fail(s, st);
	step = db_step(st);
	if (step == DB_ROW) {
		*messages = db_column_int64(st, 0);
		*bytes = db_column_int64(st, 1);
	}
	store_release(st);
	if (step == DB_ROW)
		return STORE_OK;
	return step == DB_DONE ? STORE_NOT_FOUND :
	    store_db_fail(s, "conversation usage");
}

int
store_quota_get(struct store *s, const char *user, long long *bytes)
{
	struct db_stmt *st = NULL;
	int step;

	*bytes = -1;
	if (store_prep(s, ST_QUOTA_GET, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, user))
		return store_bind_fail(s, st);
	step = db_step(st);
	if (step == DB_ROW)
		*bytes = db_column_int64(st, 0);
	store_release(st);
	if (step == DB_ROW)
		return STORE_OK;
	return step == DB_DONE ? STORE_NOT_FOUND :
	    store_db_fail(s, "quota");
}

int
store_quota_set(struct store *s, const char *user, long long bytes)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, bytes < 0 ? ST_QUOTA_CLEAR : ST_QUOTA_SET, &st) !=
	    STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, user) || (bytes >= 0 &&
	    db_bind_int64(st, 2, bytes) != DB_OK))
		return store_bind_fail(s, st);
	return store_run_done(s, st, "set quota");
}

/* Adds column i, an integer, to obj as name. */
static int
add_int_col(cJSON *obj, const char *name, struct db_stmt *st, int i)
{
	return cJSON_AddNumberToObject(obj, name,
	    (double)db_column_int64(st, i)) != NULL;
}

/* One row of ST_QUOTA_LIST as an object appended to list. */
static int
quota_row(cJSON *list, struct db_stmt *st)
{
	const char *user = db_column_text(st, 0);
	cJSON *e = cJSON_CreateObject();

	if (e == NULL || !cJSON_AddItemToArray(list, e) || user == NULL ||
	    cJSON_AddStringToObject(e, "user", user) == NULL ||
	    !add_int_col(e, "conversations", st, 1) ||
	    !add_int_col(e, "messages", st, 2) ||
	    !add_int_col(e, "bytes", st, 3) ||
	    (db_column_type(st, 4) == DB_NULL ?
	    cJSON_AddNullToObject(e, "quota") == NULL :
	    !add_int_col(e, "quota", st, 4)))
		return -1;
	return 0;
}

int
store_quota_list(struct store *s, cJSON **out)
{
	struct db_stmt *st = NULL;

	*out = NULL;
	if (store_prep(s, ST_QUOTA_LIST, &st) != STORE_OK)
		return STORE_ERR;
	return store_rows_json(s, st, quota_row, "usage list", out);
}
