/* store_session.c - login sessions: one row a login, so that logout, an
 * admin's revocation and idle time end a token on the server. Whether a
 * token's session is still valid is lib/session_check.c's question. */
#include "store_int.h"

#include <string.h>

#define SESSION_KEEP_S 86400   /* ended rows kept this long, then purged */

/* Copies at most max bytes of in (NULL: "") into out (max + 1 bytes), with
 * control characters replaced by '?', and never a cut UTF-8 sequence at
 * the end. */
static void
clean_copy(char *out, const char *in, size_t max)
{
	size_t n = 0;

	if (in != NULL) {
		for (; in[n] != '\0' && n < max; n++) {
			unsigned char c = (unsigned char)in[n];
			out[n] = c < 0x20 || c == 0x7f ? '?' : (char)c;
		}
		if (in[n] != '\0')   /* cut: drop a partial sequence */
			while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
				n--;
		if (in[n] != '\0' && n > 0 &&
		    ((unsigned char)out[n - 1] & 0xc0) == 0xc0)
			n--;
	}
	out[n] = '\0';
}

int
store_session_create(struct store *s, const char *sid, const char *user,
    long long now, long long expires_at, const char *addr,
    const char *client, int remember)
{
	char a[STORE_ADDR_MAX + 1], c[STORE_CLIENT_MAX + 1], pub[ID_LEN + 1];
	struct db_stmt *st = NULL;

	/* Its public id: another random one, so that listing sessions to
	 * their user never shows a sid (a sid is half a token's worth). */
	if (id_new(pub) != 0)
		return STORE_ERR;
	clean_copy(a, addr, STORE_ADDR_MAX);
	clean_copy(c, client, STORE_CLIENT_MAX);
	if (store_prep(s, ST_SESS_CREATE, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, sid) || store_bind_text(st, 2, user) ||
	    db_bind_int64(st, 3, now) != DB_OK ||
	    db_bind_int64(st, 4, now) != DB_OK ||
	    db_bind_int64(st, 5, expires_at) != DB_OK ||
	    store_bind_text(st, 6, a) || store_bind_text(st, 7, c) ||
	    db_bind_int(st, 8, remember != 0) != DB_OK ||
	    store_bind_text(st, 9, pub))
		return store_bind_fail(s, st);
	return store_run_done(s, st, "create session");
}

int
store_session_check(struct store *s, const char *sid, const char *user,
    long long now, long idle_s, enum store_session_state *state,
    long long *last_seen)
{
	struct db_stmt *st = NULL;
	int step;

	*state = STORE_SESSION_UNKNOWN;
	if (last_seen != NULL)
		*last_seen = 0;
	if (store_prep(s, ST_SESS_GET, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, sid))
		return store_bind_fail(s, st);
	step = db_step(st);
	if (step == DB_ROW) {
		const char *u = db_column_text(st, 0);
		long long seen = db_column_int64(st, 1);
		long long exp = db_column_int64(st, 2);
		int remember = db_column_int(st, 3);
		int revoked = db_column_type(st, 4) != DB_NULL;

		if (last_seen != NULL)
			*last_seen = seen;
		if (u == NULL || strcmp(u, user) != 0)
			*state = STORE_SESSION_UNKNOWN;
		else if (revoked)
			*state = STORE_SESSION_REVOKED;
		else if (exp <= now)
			*state = STORE_SESSION_EXPIRED;
		else if (!remember && seen + idle_s <= now)
			*state = STORE_SESSION_IDLE;
		else
			*state = STORE_SESSION_ACTIVE;
	}
	store_release(st);
	if (step != DB_ROW && step != DB_DONE)
		return store_db_fail(s, "check session");
	return STORE_OK;
}

int
store_session_touch(struct store *s, const char *sid, long long now)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, ST_SESS_TOUCH, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, now) != DB_OK ||
	    store_bind_text(st, 2, sid))
		return store_bind_fail(s, st);
	return store_run_done(s, st, "touch session");
}

int
store_session_revoke(struct store *s, const char *sid, const char *user,
    long long now)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, ST_SESS_REVOKE, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, now) != DB_OK ||
	    store_bind_text(st, 2, sid) ||
	    (user != NULL ? store_bind_text(st, 3, user) :
	    db_bind_null(st, 3) != DB_OK))
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "revoke session") != STORE_OK)
		return STORE_ERR;
	return db_changes(s->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

int
store_session_revoke_pub(struct store *s, const char *pub, const char *user,
    long long now)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, ST_SESS_REVOKE_PUB, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, now) != DB_OK ||
	    store_bind_text(st, 2, pub) || store_bind_text(st, 3, user))
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "revoke session") != STORE_OK)
		return STORE_ERR;
	return db_changes(s->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

int
store_session_revoke_user(struct store *s, const char *user,
    const char *except_sid, long long now, int *n)
{
	struct db_stmt *st = NULL;

	if (n != NULL)
		*n = 0;
	if (store_prep(s, ST_SESS_REVOKE_USER, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, now) != DB_OK ||
	    (user != NULL ? store_bind_text(st, 2, user) :
	    db_bind_null(st, 2) != DB_OK) ||
	    (except_sid != NULL ? store_bind_text(st, 3, except_sid) :
	    db_bind_null(st, 3) != DB_OK))
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "revoke sessions") != STORE_OK)
		return STORE_ERR;
	if (n != NULL)
		*n = db_changes(s->db);
	return STORE_OK;
}

/* Adds column i of st as a string to obj under name. */
static int
add_text(cJSON *obj, const char *name, struct db_stmt *st, int i)
{
	const char *v = db_column_text(st, i);

	return cJSON_AddStringToObject(obj, name, v != NULL ? v : "") != NULL ?
	    0 : -1;
}

int
store_session_list(struct store *s, const char *user, long long now,
    long idle_s, cJSON **out)
{
	struct db_stmt *st = NULL;
	cJSON *arr = NULL;
	int step, rc = STORE_ERR;

	*out = NULL;
	if (store_prep(s, ST_SESS_LIST, &st) != STORE_OK)
		return STORE_ERR;
	if ((user != NULL ? store_bind_text(st, 1, user) :
	    db_bind_null(st, 1) != DB_OK) ||
	    db_bind_int64(st, 2, now) != DB_OK ||
	    db_bind_int64(st, 3, idle_s) != DB_OK)
		return store_bind_fail(s, st);
	arr = cJSON_CreateArray();
	if (arr == NULL)
		goto out;
	while ((step = db_step(st)) == DB_ROW) {
		cJSON *o = cJSON_CreateObject();
		if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto out;
		}
		if (add_text(o, "sid", st, 0) || add_text(o, "user", st, 1) ||
		    cJSON_AddNumberToObject(o, "created_at",
		    (double)db_column_int64(st, 2)) == NULL ||
		    cJSON_AddNumberToObject(o, "last_seen",
		    (double)db_column_int64(st, 3)) == NULL ||
		    cJSON_AddNumberToObject(o, "expires_at",
		    (double)db_column_int64(st, 4)) == NULL ||
		    add_text(o, "addr", st, 5) || add_text(o, "client", st, 6) ||
		    cJSON_AddBoolToObject(o, "remember",
		    db_column_int(st, 7)) == NULL ||
		    add_text(o, "id", st, 8))
			goto out;   /* o is arr's: deleted with it */
	}
	if (step != DB_DONE) {
		store_db_fail(s, "list sessions");
		goto out;
	}
	*out = arr;
	arr = NULL;
	rc = STORE_OK;
out:
	store_release(st);
	cJSON_Delete(arr);
	return rc;
}

int
store_session_purge(struct store *s, long long now, long idle_s)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, ST_SESS_PURGE, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, now - SESSION_KEEP_S) != DB_OK ||
	    db_bind_int64(st, 2, idle_s) != DB_OK)
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "purge sessions") != STORE_OK)
		return STORE_ERR;
	return db_changes(s->db);
}
