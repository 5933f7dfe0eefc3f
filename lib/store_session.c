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
	sqlite3_stmt *st = NULL;

	/* Its public id: another random one, so that listing sessions to
	 * their user never shows a sid (a sid is half a token's worth). */
	if (id_new(pub) != 0)
		return STORE_ERR;
	clean_copy(a, addr, STORE_ADDR_MAX);
	clean_copy(c, client, STORE_CLIENT_MAX);
	if (store_prep(s, ST_SESS_CREATE, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, sid) || store_bind_text(st, 2, user) ||
	    sqlite3_bind_int64(st, 3, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 4, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 5, expires_at) != SQLITE_OK ||
	    store_bind_text(st, 6, a) || store_bind_text(st, 7, c) ||
	    sqlite3_bind_int(st, 8, remember != 0) != SQLITE_OK ||
	    store_bind_text(st, 9, pub))
		return store_bind_fail(s, st);
	return store_run_done(s, st, "create session");
}

int
store_session_check(struct store *s, const char *sid, const char *user,
    long long now, long idle_s, enum store_session_state *state,
    long long *last_seen)
{
	sqlite3_stmt *st = NULL;
	int step;

	*state = STORE_SESSION_UNKNOWN;
	if (last_seen != NULL)
		*last_seen = 0;
	if (store_prep(s, ST_SESS_GET, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, sid))
		return store_bind_fail(s, st);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		const char *u = (const char *)sqlite3_column_text(st, 0);
		long long seen = sqlite3_column_int64(st, 1);
		long long exp = sqlite3_column_int64(st, 2);
		int remember = sqlite3_column_int(st, 3);
		int revoked = sqlite3_column_type(st, 4) != SQLITE_NULL;

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
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return store_db_fail(s, "check session");
	return STORE_OK;
}

int
store_session_touch(struct store *s, const char *sid, long long now)
{
	sqlite3_stmt *st = NULL;

	if (store_prep(s, ST_SESS_TOUCH, &st) != STORE_OK)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK ||
	    store_bind_text(st, 2, sid))
		return store_bind_fail(s, st);
	return store_run_done(s, st, "touch session");
}

int
store_session_revoke(struct store *s, const char *sid, const char *user,
    long long now)
{
	sqlite3_stmt *st = NULL;

	if (store_prep(s, ST_SESS_REVOKE, &st) != STORE_OK)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK ||
	    store_bind_text(st, 2, sid) ||
	    (user != NULL ? store_bind_text(st, 3, user) :
	    sqlite3_bind_null(st, 3) != SQLITE_OK))
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "revoke session") != STORE_OK)
		return STORE_ERR;
	return sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

int
store_session_revoke_pub(struct store *s, const char *pub, const char *user,
    long long now)
{
	sqlite3_stmt *st = NULL;

	if (store_prep(s, ST_SESS_REVOKE_PUB, &st) != STORE_OK)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK ||
	    store_bind_text(st, 2, pub) || store_bind_text(st, 3, user))
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "revoke session") != STORE_OK)
		return STORE_ERR;
	return sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

int
store_session_revoke_user(struct store *s, const char *user,
    const char *except_sid, long long now, int *n)
{
	sqlite3_stmt *st = NULL;

	if (n != NULL)
		*n = 0;
	if (store_prep(s, ST_SESS_REVOKE_USER, &st) != STORE_OK)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, now) != SQLITE_OK ||
	    (user != NULL ? store_bind_text(st, 2, user) :
	    sqlite3_bind_null(st, 2) != SQLITE_OK) ||
	    (except_sid != NULL ? store_bind_text(st, 3, except_sid) :
	    sqlite3_bind_null(st, 3) != SQLITE_OK))
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "revoke sessions") != STORE_OK)
		return STORE_ERR;
	if (n != NULL)
		*n = sqlite3_changes(s->db);
	return STORE_OK;
}

/* Adds column i of st as a string to obj under name. */
static int
add_text(cJSON *obj, const char *name, sqlite3_stmt *st, int i)
{
	const char *v = (const char *)sqlite3_column_text(st, i);

	return cJSON_AddStringToObject(obj, name, v != NULL ? v : "") != NULL ?
	    0 : -1;
}

int
store_session_list(struct store *s, const char *user, long long now,
    long idle_s, cJSON **out)
{
	sqlite3_stmt *st = NULL;
	cJSON *arr = NULL;
	int step, rc = STORE_ERR;

	*out = NULL;
	if (store_prep(s, ST_SESS_LIST, &st) != STORE_OK)
		return STORE_ERR;
	if ((user != NULL ? store_bind_text(st, 1, user) :
	    sqlite3_bind_null(st, 1) != SQLITE_OK) ||
	    sqlite3_bind_int64(st, 2, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 3, idle_s) != SQLITE_OK)
		return store_bind_fail(s, st);
	arr = cJSON_CreateArray();
	if (arr == NULL)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *o = cJSON_CreateObject();
		if (o == NULL || !cJSON_AddItemToArray(arr, o)) {
			cJSON_Delete(o);
			goto out;
		}
		if (add_text(o, "sid", st, 0) || add_text(o, "user", st, 1) ||
		    cJSON_AddNumberToObject(o, "created_at",
		    (double)sqlite3_column_int64(st, 2)) == NULL ||
		    cJSON_AddNumberToObject(o, "last_seen",
		    (double)sqlite3_column_int64(st, 3)) == NULL ||
		    cJSON_AddNumberToObject(o, "expires_at",
		    (double)sqlite3_column_int64(st, 4)) == NULL ||
		    add_text(o, "addr", st, 5) || add_text(o, "client", st, 6) ||
		    cJSON_AddBoolToObject(o, "remember",
		    sqlite3_column_int(st, 7)) == NULL ||
		    add_text(o, "id", st, 8))
			goto out;   /* o is arr's: deleted with it */
	}
	if (step != SQLITE_DONE) {
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
	sqlite3_stmt *st = NULL;

	if (store_prep(s, ST_SESS_PURGE, &st) != STORE_OK)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, now - SESSION_KEEP_S) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 2, idle_s) != SQLITE_OK)
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "purge sessions") != STORE_OK)
		return STORE_ERR;
	return sqlite3_changes(s->db);
}
