/* store.c - SQLite storage of conversations and messages. */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "log.h"

#define STORE_SCHEMA_VERSION 2
#define STORE_BUSY_MS 10000

/* The statements, prepared once on first use and kept: parsing and
 * planning SQL costs more than running these small statements. */
enum stmt {
	ST_CONV_CREATE,
	ST_CONV_OWNED,
	ST_CONV_RENAME,
	ST_CONV_DELETE,
	ST_CONV_TOUCH,
	ST_CONV_LIST,
	ST_CONV_MESSAGES,
	ST_CONV_GET,
	ST_MSG_ADD,
	ST_MSG_UPDATE,
	ST_CONTEXT_SYSTEM,
	ST_CONTEXT_TURNS,
	ST_LAST_MESSAGE,
	ST_DROP_TURN,
	ST_HISTORY_TAIL,
	ST_HISTORY_CANDIDATES,
	ST_MARK_INTERRUPTED,
	ST_LOGIN_CHECK,
	ST_LOGIN_FAIL,
	ST_LOGIN_PRUNE,
	ST_LOGIN_CLEAR,
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	ST__MAX
};

static const char *const stmt_sql[ST__MAX] = {
	[ST_CONV_CREATE] =
	    "INSERT INTO conversations (id, user, title, model,"
	    " system_prompt, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
	[ST_CONV_OWNED] =
	    "SELECT 1 FROM conversations WHERE id = ? AND user = ?",
	[ST_CONV_RENAME] =
	    "UPDATE conversations SET title = ?, updated_at = ?"
	    " WHERE id = ? AND user = ?",
	[ST_CONV_DELETE] =
	    "DELETE FROM conversations WHERE id = ? AND user = ?",
	[ST_CONV_TOUCH] =
	    "UPDATE conversations SET model = ?,"
	    " system_prompt = COALESCE(?, system_prompt), updated_at = ?"
	    " WHERE id = ?",
	[ST_CONV_LIST] =
	    "SELECT id, title, model, created_at, updated_at"
	    " FROM conversations c WHERE user = ?1"
	    " AND (?2 < 0 OR updated_at < ?2 OR (updated_at = ?2 AND id < ?3))"
	    " AND (?4 IS NULL OR title LIKE ?4 ESCAPE '\\' OR EXISTS"
	    "  (SELECT 1 FROM messages m WHERE m.conversation_id = c.id"
	    "   AND m.content LIKE ?4 ESCAPE '\\'))"
	    " ORDER BY updated_at DESC, id DESC LIMIT ?5",
	[ST_CONV_MESSAGES] =
	    "SELECT id, role, content, state, model, created_at,"
	    " updated_at, prompt_tokens, completion_tokens, total_tokens,"
	    " error_code FROM messages WHERE conversation_id = ? ORDER BY id",
	[ST_CONV_GET] =
	    "SELECT id, title, model, system_prompt, created_at,"
	    " updated_at FROM conversations WHERE id = ? AND user = ?",
	[ST_MSG_ADD] =
	    "INSERT INTO messages (conversation_id, role, content,"
	    " state, model, created_at, updated_at) VALUES (?,?,?,?,?,?,?)",
	[ST_MSG_UPDATE] =
	    "UPDATE messages SET content = ?, state = ?,"
	    " updated_at = ?, prompt_tokens = ?, completion_tokens = ?,"
	    " total_tokens = ?, error_code = ? WHERE id = ?",
	[ST_CONTEXT_SYSTEM] =
	    "SELECT system_prompt FROM conversations WHERE id = ?",
	[ST_CONTEXT_TURNS] =
	    "SELECT role, content FROM messages WHERE conversation_id = ?"
	    " AND role IN ('user','assistant') AND (state IN"
	    " ('complete','stopped') OR role = 'user') ORDER BY id DESC",
	[ST_LAST_MESSAGE] =
	    "SELECT id, role FROM messages WHERE conversation_id = ?"
	    " ORDER BY id DESC LIMIT 1 OFFSET ?",
	[ST_DROP_TURN] =
	    "DELETE FROM messages WHERE conversation_id = ? AND id >= ?",
	[ST_HISTORY_TAIL] =
	    "SELECT role, content FROM messages WHERE conversation_id = ?"
	    " AND (role = 'user' OR (role = 'assistant' AND state IN"
	    " ('complete','stopped'))) ORDER BY id DESC LIMIT ?",
	[ST_HISTORY_CANDIDATES] =
	    "SELECT id FROM conversations WHERE user = ?"
	    " ORDER BY updated_at DESC LIMIT 20",
	[ST_MARK_INTERRUPTED] =
	    "UPDATE messages SET state = 'interrupted', updated_at = ?"
	    " WHERE state = 'streaming'",
	[ST_LOGIN_CHECK] =
	    "SELECT count(*), min(at) FROM login_failures"
	    " WHERE key = ? AND at > ?",
	[ST_LOGIN_FAIL] =
	    "INSERT INTO login_failures (key, at) VALUES (?, ?)",
	[ST_LOGIN_PRUNE] =
	    "DELETE FROM login_failures WHERE at < ?",
	[ST_LOGIN_CLEAR] =
	    "DELETE FROM login_failures WHERE key = ?",
	[ST_BEGIN] = "BEGIN IMMEDIATE",
	[ST_COMMIT] = "COMMIT",
	[ST_ROLLBACK] = "ROLLBACK",
};

struct store {
	sqlite3 *db;
	sqlite3_stmt *st[ST__MAX];
};

static const char schema_v1[] =
    "CREATE TABLE conversations ("
    " id TEXT PRIMARY KEY,"
    " user TEXT NOT NULL,"
    " title TEXT NOT NULL,"
    " model TEXT NOT NULL DEFAULT '',"
    " system_prompt TEXT NOT NULL DEFAULT '',"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX conversations_by_user ON conversations"
    " (user, updated_at DESC, id DESC);"
    "CREATE TABLE messages ("
    " id INTEGER PRIMARY KEY,"
    " conversation_id TEXT NOT NULL"
    "  REFERENCES conversations(id) ON DELETE CASCADE,"
    " role TEXT NOT NULL CHECK (role IN ('user','assistant','system')),"
    " content TEXT NOT NULL,"
    " state TEXT NOT NULL CHECK (state IN"
    "  ('complete','streaming','stopped','error','interrupted')),"
    " model TEXT NOT NULL DEFAULT '',"
    " prompt_tokens INTEGER, completion_tokens INTEGER, total_tokens INTEGER,"
    " error_code TEXT,"
    " created_at INTEGER NOT NULL,"
    " updated_at INTEGER NOT NULL);"
    "CREATE INDEX messages_by_conversation ON messages (conversation_id, id);";

/* v2: failed logins, for rate limiting shared by every FastCGI process. */
static const char schema_v2[] =
    "CREATE TABLE login_failures ("
    " key TEXT NOT NULL,"
    " at INTEGER NOT NULL);"
    "CREATE INDEX login_failures_by_key ON login_failures (key, at);";

/* Milliseconds since the epoch: ordering by update time needs more than
 * seconds. */
static long long
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_REALTIME, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static int
db_fail(struct store *s, const char *what)
{
	log_err("store: %s: %s", what, sqlite3_errmsg(s->db));
	return STORE_ERR;
}

/* Gets statement id of s, prepared on first use. The caller hands it
 * back with release() on every path, so that no statement keeps a read
 * snapshot open or bindings of a previous call. */
static int
prep(struct store *s, enum stmt id, sqlite3_stmt **st)
{
	*st = NULL;
	if (s == NULL) {
		/* The database could not be opened: every call fails cleanly. */
		log_err("store: no database");
		return STORE_ERR;
	}
	/* PERSISTENT: these live as long as the connection. */
	if (s->st[id] == NULL && sqlite3_prepare_v3(s->db, stmt_sql[id], -1,
	    SQLITE_PREPARE_PERSISTENT, &s->st[id], NULL) != SQLITE_OK) {
		s->st[id] = NULL;
		return db_fail(s, "prepare");
	}
	*st = s->st[id];
	return STORE_OK;
}

/* Makes a statement from prep() ready for its next use; NULL is allowed. */
static void
release(sqlite3_stmt *st)
{
	if (st == NULL)
		return;
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* For a bind that failed: releases st and reports. */
static int
bind_fail(struct store *s, sqlite3_stmt *st)
{
	release(st);
	return db_fail(s, "bind");
}

/* STATIC, not a copy: every statement is stepped and released (its
 * bindings cleared) before the function that bound it returns. */
static int
bind_text(sqlite3_stmt *st, int i, const char *v)
{
	return sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) == SQLITE_OK ?
	    0 : -1;
}

/* Returns 1 if v is one of the NULL-terminated list, else 0. */
static int
one_of(const char *v, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcmp(v, *list) == 0)
			return 1;
	return 0;
}

/* The values the schema's CHECK constraints allow, checked here instead:
 * see store_open. */
static const char *const msg_roles[] = { "user", "assistant", "system",
    NULL };
static const char *const msg_states[] = { STORE_COMPLETE, STORE_STREAMING,
    STORE_STOPPED, STORE_ERROR, STORE_INTERRUPTED, NULL };

/* Runs a statement that returns no rows. Returns STORE_OK or STORE_ERR;
 * releases st. */
static int
run_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st) == SQLITE_DONE ? STORE_OK : db_fail(s, what);

	release(st);
	return rc;
}

static int
exec(struct store *s, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_err("store: %.80s: %s", sql, msg ? msg : "?");
		sqlite3_free(msg);
		return STORE_ERR;
	}
	return STORE_OK;
}

static int
migrate(struct store *s, char *err, size_t errcap)
{
	sqlite3_stmt *st = NULL;
	int version = -1;

	/* IMMEDIATE: two programs opening a new database at once must not
	 * both create the schema. */
	if (exec(s, "BEGIN IMMEDIATE") != STORE_OK)
		goto fail;
	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st,
	    NULL) != SQLITE_OK)
		goto fail;
	if (sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (version < 0)
		goto fail;
	if (version > STORE_SCHEMA_VERSION) {
		snprintf(err, errcap, "database schema %d is newer than this "
		    "program (%d)", version, STORE_SCHEMA_VERSION);
		exec(s, "ROLLBACK");
		return STORE_ERR;
	}
	if (version < 1 && (exec(s, schema_v1) != STORE_OK ||
	    exec(s, "PRAGMA user_version = 1") != STORE_OK))
		goto fail;
	if (version < 2 && (exec(s, schema_v2) != STORE_OK ||
	    exec(s, "PRAGMA user_version = 2") != STORE_OK))
		goto fail;
	if (exec(s, "COMMIT") != STORE_OK)
		goto fail;
	return STORE_OK;
fail:
	snprintf(err, errcap, "database migration failed: %s",
	    sqlite3_errmsg(s->db));
	exec(s, "ROLLBACK");
	return STORE_ERR;
}

int
store_open(struct store **out, const char *path, char *err, size_t errcap)
{
	struct store *s = calloc(1, sizeof(*s));

	*out = NULL;
	if (s == NULL) {
		snprintf(err, errcap, "out of memory");
		return STORE_ERR;
	}
	if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errcap, "database %s: %s", path,
		    s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, STORE_BUSY_MS);
	if (exec(s, "PRAGMA journal_mode = WAL") != STORE_OK ||
	    exec(s, "PRAGMA synchronous = NORMAL") != STORE_OK ||
	    exec(s, "PRAGMA foreign_keys = ON") != STORE_OK ||
	    /* SQLite evaluates "x IN (a, b, c)" CHECKs by building a temporary
	     * table on every insert or update: a third of a prompt's store
	     * cost. Only store_msg_add and store_msg_update write the checked
	     * columns, and they check the values themselves. */
	    exec(s, "PRAGMA ignore_check_constraints = ON") != STORE_OK) {
		snprintf(err, errcap, "database %s: %s", path,
		    sqlite3_errmsg(s->db));
		goto fail;
	}
	if (migrate(s, err, errcap) != STORE_OK)
		goto fail;
	*out = s;
	return STORE_OK;
fail:
	store_close(s);
	return STORE_ERR;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	for (int i = 0; i < ST__MAX; i++)
		sqlite3_finalize(s->st[i]);
	sqlite3_close(s->db);
	free(s);
}

/* Runs one of the transaction statements. */
static int
run_tx(struct store *s, enum stmt id, const char *what)
{
	sqlite3_stmt *st = NULL;

	if (prep(s, id, &st) != STORE_OK)
		return STORE_ERR;
	return run_done(s, st, what);
}

int
store_begin(struct store *s)
{
	return run_tx(s, ST_BEGIN, "begin");
}

int
store_commit(struct store *s)
{
	if (run_tx(s, ST_COMMIT, "commit") == STORE_OK)
		return STORE_OK;
	store_rollback(s);
	return STORE_ERR;
}

void
store_rollback(struct store *s)
{
	/* SQLite may have rolled back already (after an I/O error). */
	if (s != NULL && !sqlite3_get_autocommit(s->db))
		run_tx(s, ST_ROLLBACK, "rollback");
}

int
store_id_valid(const char *id)
{
	size_t n = 0;

	if (id == NULL)
		return 0;
	for (; id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') ||
		    (id[n] >= 'a' && id[n] <= 'f')))
			return 0;
	return n == STORE_ID_LEN;
}

int
store_conv_create(struct store *s, const char *user, const char *title,
    const char *model, const char *system_prompt, char id[STORE_ID_LEN + 1])
{
	unsigned char rnd[STORE_ID_LEN / 2];
	sqlite3_stmt *st = NULL;
	long long now = now_ms();

	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
		log_err("store: getrandom failed");
		return STORE_ERR;
	}
	for (size_t i = 0; i < sizeof(rnd); i++) {
		id[2 * i] = "0123456789abcdef"[rnd[i] >> 4];
		id[2 * i + 1] = "0123456789abcdef"[rnd[i] & 15];
	}
	id[STORE_ID_LEN] = '\0';
	if (prep(s, ST_CONV_CREATE, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, id) || bind_text(st, 2, user) ||
	    bind_text(st, 3, title) || bind_text(st, 4, model) ||
	    bind_text(st, 5, system_prompt) ||
	    sqlite3_bind_int64(st, 6, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 7, now) != SQLITE_OK)
		return bind_fail(s, st);
	return run_done(s, st, "create conversation");
}

int
store_conv_owned(struct store *s, const char *id, const char *user)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (!store_id_valid(id))
		return STORE_NOT_FOUND;
	if (prep(s, ST_CONV_OWNED, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, id) || bind_text(st, 2, user))
		return bind_fail(s, st);
	rc = sqlite3_step(st);
	release(st);
	if (rc == SQLITE_ROW)
		return STORE_OK;
	return rc == SQLITE_DONE ? STORE_NOT_FOUND : db_fail(s, "owned");
}

/* Runs an UPDATE/DELETE bound to (…, id, user); NOT_FOUND if no row. */
static int
run_owned(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	release(st);
	if (rc != SQLITE_DONE)
		return db_fail(s, what);
	return sqlite3_changes(s->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

int
store_conv_rename(struct store *s, const char *id, const char *user,
    const char *title)
{
	sqlite3_stmt *st = NULL;
	size_t n = strlen(title);

	if (!store_id_valid(id))
		return STORE_NOT_FOUND;
	if (n == 0 || n > STORE_TITLE_MAX)
		return STORE_INVALID;
	if (prep(s, ST_CONV_RENAME, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, title) ||
	    sqlite3_bind_int64(st, 2, now_ms()) != SQLITE_OK ||
	    bind_text(st, 3, id) || bind_text(st, 4, user))
		return bind_fail(s, st);
	return run_owned(s, st, "rename");
}

int
store_conv_delete(struct store *s, const char *id, const char *user)
{
	sqlite3_stmt *st = NULL;

	if (!store_id_valid(id))
		return STORE_NOT_FOUND;
	if (prep(s, ST_CONV_DELETE, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, id) || bind_text(st, 2, user))
		return bind_fail(s, st);
	return run_owned(s, st, "delete");
}

int
store_conv_touch(struct store *s, const char *id, const char *model,
    const char *system_prompt)
{
	sqlite3_stmt *st = NULL;

	if (prep(s, ST_CONV_TOUCH, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, model) || (system_prompt != NULL ?
	    bind_text(st, 2, system_prompt) :
	    sqlite3_bind_null(st, 2) != SQLITE_OK) ||
	    sqlite3_bind_int64(st, 3, now_ms()) != SQLITE_OK ||
	    bind_text(st, 4, id))
		return bind_fail(s, st);
	return run_owned(s, st, "touch");
}

/* Adds the text of column i (with its length: contents may hold any
 * bytes but NUL) to obj as name. */
static int
add_text_col(cJSON *obj, const char *name, sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	int n = sqlite3_column_bytes(st, i);
	cJSON *v;

	if (t == NULL)
		return cJSON_AddNullToObject(obj, name) != NULL;
	if ((size_t)n != strlen((const char *)t))
		return 0;  /* an embedded NUL: cannot be a JSON string here */
	v = cJSON_CreateString((const char *)t);
	return v != NULL && cJSON_AddItemToObject(obj, name, v);
}

/* Adds created_at and updated_at from columns i and i + 1. */
static int
add_times(cJSON *obj, sqlite3_stmt *st, int i)
{
	return cJSON_AddNumberToObject(obj, "created_at",
	    (double)sqlite3_column_int64(st, i)) != NULL &&
	    cJSON_AddNumberToObject(obj, "updated_at",
	    (double)sqlite3_column_int64(st, i + 1)) != NULL;
}

/* Turns "%q_\" into a LIKE pattern "%\%q\_\\%" matching it anywhere. */
static char *
like_pattern(const char *q)
{
	size_t n = strlen(q);
	char *p = malloc(2 * n + 3), *o = p;

	if (p == NULL)
		return NULL;
	*o++ = '%';
	for (; *q; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			*o++ = '\\';
		*o++ = *q;
	}
	*o++ = '%';
	*o = '\0';
	return p;
}

int
store_conv_list(struct store *s, const char *user, const char *query,
    int limit, const char *cursor, cJSON **out)
{
	sqlite3_stmt *st = NULL;
	long long c_time = -1;
	char c_id[STORE_ID_LEN + 1] = "";
	char *pattern = NULL;
	cJSON *root = NULL, *list;
	int rc = STORE_ERR, n = 0, step;

	*out = NULL;
	if (limit < 1 || limit > 100)
		return STORE_INVALID;
	if (cursor != NULL && cursor[0] != '\0') {
		/* "<updated_at>-<id>" from the previous page */
		char *end = NULL;
		c_time = strtoll(cursor, &end, 10);
		if (end == cursor || *end != '-' || c_time < 0 ||
		    !store_id_valid(end + 1))
			return STORE_INVALID;
		memcpy(c_id, end + 1, STORE_ID_LEN + 1);
	}
	if (query != NULL && query[0] != '\0' &&
	    (pattern = like_pattern(query)) == NULL)
		return STORE_ERR;
	if (prep(s, ST_CONV_LIST, &st) != STORE_OK)
		goto out;
	if (bind_text(st, 1, user) ||
	    sqlite3_bind_int64(st, 2, c_time) != SQLITE_OK ||
	    bind_text(st, 3, c_id) ||
	    (pattern != NULL ? bind_text(st, 4, pattern) :
	    sqlite3_bind_null(st, 4) != SQLITE_OK) ||
	    sqlite3_bind_int(st, 5, limit + 1) != SQLITE_OK) {
		db_fail(s, "bind");
		goto out;
	}
	root = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(root, "conversations");
	if (list == NULL)
		goto out;
	char next[64] = "";
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == limit) {
			/* One more row exists: the cursor is the last one kept. */
			cJSON *last = cJSON_GetArrayItem(list, n - 1);
			snprintf(next, sizeof(next), "%.0f-%s",
			    cJSON_GetObjectItem(last, "updated_at")->valuedouble,
			    cJSON_GetObjectItem(last, "id")->valuestring);
			break;
		}
		cJSON *c = cJSON_CreateObject();
		if (c == NULL || !cJSON_AddItemToArray(list, c) ||
		    !add_text_col(c, "id", st, 0) ||
		    !add_text_col(c, "title", st, 1) ||
		    !add_text_col(c, "model", st, 2) ||
		    !add_times(c, st, 3))
			goto out;
		n++;
	}
	if (step != SQLITE_ROW && step != SQLITE_DONE) {
		db_fail(s, "list");
		goto out;
	}
	if ((next[0] ? cJSON_AddStringToObject(root, "next", next) :
	    cJSON_AddNullToObject(root, "next")) == NULL)
		goto out;
	*out = root;
	root = NULL;
	rc = STORE_OK;
out:
	release(st);
	cJSON_Delete(root);
	free(pattern);
	return rc;
}

/* Adds the messages of conversation id to the array arr. */
static int
add_messages(struct store *s, const char *id, cJSON *arr)
{
	sqlite3_stmt *st = NULL;
	int step, rc = STORE_ERR;

	if (prep(s, ST_CONV_MESSAGES, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, id)) {
		db_fail(s, "bind");
		goto out;
	}
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		cJSON *m = cJSON_CreateObject();
		if (m == NULL || !cJSON_AddItemToArray(arr, m) ||
		    cJSON_AddNumberToObject(m, "id",
		    (double)sqlite3_column_int64(st, 0)) == NULL ||
		    !add_text_col(m, "role", st, 1) ||
		    !add_text_col(m, "content", st, 2) ||
		    !add_text_col(m, "state", st, 3) ||
		    !add_text_col(m, "model", st, 4) ||
		    !add_times(m, st, 5))
			goto out;
		if (sqlite3_column_type(st, 9) != SQLITE_NULL) {
			cJSON *u = cJSON_AddObjectToObject(m, "usage");
			if (u == NULL ||
			    cJSON_AddNumberToObject(u, "prompt_tokens",
			    (double)sqlite3_column_int64(st, 7)) == NULL ||
			    cJSON_AddNumberToObject(u, "completion_tokens",
			    (double)sqlite3_column_int64(st, 8)) == NULL ||
			    cJSON_AddNumberToObject(u, "total_tokens",
			    (double)sqlite3_column_int64(st, 9)) == NULL)
				goto out;
		}
		if (sqlite3_column_type(st, 10) != SQLITE_NULL &&
		    !add_text_col(m, "error", st, 10))
			goto out;
	}
	if (step != SQLITE_DONE) {
		db_fail(s, "messages");
		goto out;
	}
	rc = STORE_OK;
out:
	release(st);
	return rc;
}

int
store_conv_get(struct store *s, const char *id, const char *user, cJSON **out)
{
	sqlite3_stmt *st = NULL;
	cJSON *root = NULL, *msgs;
	int rc = STORE_ERR, step;

	*out = NULL;
	if (!store_id_valid(id))
		return STORE_NOT_FOUND;
	if (prep(s, ST_CONV_GET, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, id) || bind_text(st, 2, user)) {
		db_fail(s, "bind");
		goto out;
	}
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = STORE_NOT_FOUND;
		goto out;
	}
	if (step != SQLITE_ROW) {
		db_fail(s, "get");
		goto out;
	}
	root = cJSON_CreateObject();
	if (root == NULL || !add_text_col(root, "id", st, 0) ||
	    !add_text_col(root, "title", st, 1) ||
	    !add_text_col(root, "model", st, 2) ||
	    !add_text_col(root, "system_prompt", st, 3) ||
	    !add_times(root, st, 4) ||
	    (msgs = cJSON_AddArrayToObject(root, "messages")) == NULL ||
	    add_messages(s, id, msgs) != STORE_OK)
		goto out;
	*out = root;
	root = NULL;
	rc = STORE_OK;
out:
	release(st);
	cJSON_Delete(root);
	return rc;
}

int
store_msg_add(struct store *s, const char *conv_id, const char *role,
    const char *content, size_t len, const char *state, const char *model,
    long long *msg_id)
{
	sqlite3_stmt *st = NULL;
	long long now = now_ms();

	if (prep(s, ST_MSG_ADD, &st) != STORE_OK)
		return STORE_ERR;
	if (!one_of(role, msg_roles) || !one_of(state, msg_states)) {
		release(st);
		return STORE_INVALID;
	}
	if (bind_text(st, 1, conv_id) || bind_text(st, 2, role) ||
	    sqlite3_bind_text(st, 3, content, (int)len, SQLITE_STATIC) !=
	    SQLITE_OK || bind_text(st, 4, state) || bind_text(st, 5, model) ||
	    sqlite3_bind_int64(st, 6, now) != SQLITE_OK ||
	    sqlite3_bind_int64(st, 7, now) != SQLITE_OK)
		return bind_fail(s, st);
	int rc = run_done(s, st, "add message");
	if (rc == STORE_OK && msg_id != NULL)
		*msg_id = sqlite3_last_insert_rowid(s->db);
	return rc;
}

int
store_msg_update(struct store *s, long long msg_id, const char *content,
    size_t len, const char *state, const struct lc_usage *usage,
    const char *error_code)
{
	sqlite3_stmt *st = NULL;
	int ok;

	if (prep(s, ST_MSG_UPDATE, &st) != STORE_OK)
		return STORE_ERR;
	if (!one_of(state, msg_states)) {
		release(st);
		return STORE_INVALID;
	}
	ok = sqlite3_bind_text(st, 1, content, (int)len, SQLITE_STATIC) ==
	    SQLITE_OK && !bind_text(st, 2, state) &&
	    sqlite3_bind_int64(st, 3, now_ms()) == SQLITE_OK &&
	    sqlite3_bind_int64(st, 8, msg_id) == SQLITE_OK;
	if (ok && usage != NULL && usage->present)
		ok = sqlite3_bind_int64(st, 4, (long long)usage->prompt_tokens) ==
		    SQLITE_OK && sqlite3_bind_int64(st, 5,
		    (long long)usage->completion_tokens) == SQLITE_OK &&
		    sqlite3_bind_int64(st, 6, (long long)usage->total_tokens) ==
		    SQLITE_OK;
	if (ok && error_code != NULL)
		ok = !bind_text(st, 7, error_code);
	if (!ok)
		return bind_fail(s, st);
	return run_done(s, st, "update message");
}

int
store_context(struct store *s, const char *conv_id, size_t budget,
    int max_messages, cJSON **out)
{
	sqlite3_stmt *st = NULL;
	cJSON *arr = cJSON_CreateArray(), *rev = cJSON_CreateArray();
	size_t used = 0;
	int rc = STORE_ERR, step, n = 0;

	*out = NULL;
	if (arr == NULL || rev == NULL)
		goto out;
	/* The system prompt first, if any. */
	if (prep(s, ST_CONTEXT_SYSTEM, &st) != STORE_OK ||
	    bind_text(st, 1, conv_id))
		goto out;
	step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = STORE_NOT_FOUND;
		goto out;
	}
	if (step != SQLITE_ROW)
		goto out;
	const char *sys = (const char *)sqlite3_column_text(st, 0);
	if (sys != NULL && sys[0] != '\0') {
		cJSON *m = cJSON_CreateObject();
		if (m == NULL || !cJSON_AddItemToArray(arr, m) ||
		    cJSON_AddStringToObject(m, "role", "system") == NULL ||
		    cJSON_AddStringToObject(m, "content", sys) == NULL)
			goto out;
		used += strlen(sys);
	}
	release(st);
	st = NULL;
	/* Then the newest turns that fit, collected newest first. */
	if (prep(s, ST_CONTEXT_TURNS, &st) != STORE_OK ||
	    bind_text(st, 1, conv_id))
		goto out;
	while (n < max_messages && (step = sqlite3_step(st)) == SQLITE_ROW) {
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		if (used + len > budget && n > 0)
			break;  /* the newest message always goes, whatever size */
		cJSON *m = cJSON_CreateObject();
		if (m == NULL || !cJSON_AddItemToArray(rev, m) ||
		    !add_text_col(m, "role", st, 0) ||
		    !add_text_col(m, "content", st, 1))
			goto out;
		used += len;
		n++;
	}
	for (int i = cJSON_GetArraySize(rev) - 1; i >= 0; i--) {
		cJSON *m = cJSON_DetachItemFromArray(rev, i);
		if (!cJSON_AddItemToArray(arr, m)) {
			cJSON_Delete(m);
			goto out;
		}
	}
	*out = arr;
	arr = NULL;
	rc = STORE_OK;
out:
	if (rc == STORE_ERR && s != NULL)
		db_fail(s, "context");
	release(st);
	cJSON_Delete(arr);
	cJSON_Delete(rev);
	return rc;
}

/* Returns the id and role of the last message of conv_id, skipping
 * skip messages; 0 with role "" when there is none. */
static int
last_message(struct store *s, const char *conv_id, int skip, long long *id,
    char role[16])
{
	sqlite3_stmt *st = NULL;
	int step;

	role[0] = '\0';
	*id = 0;
	if (prep(s, ST_LAST_MESSAGE, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, conv_id) ||
	    sqlite3_bind_int(st, 2, skip) != SQLITE_OK)
		return bind_fail(s, st);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*id = sqlite3_column_int64(st, 0);
		snprintf(role, 16, "%s", (const char *)sqlite3_column_text(st, 1));
	}
	release(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? STORE_OK :
	    db_fail(s, "last message");
}

int
store_drop_last_turn(struct store *s, const char *conv_id, int and_prompt)
{
	sqlite3_stmt *st = NULL;
	long long reply_id, prompt_id;
	char role[16], prole[16];

	if (last_message(s, conv_id, 0, &reply_id, role) != STORE_OK ||
	    last_message(s, conv_id, 1, &prompt_id, prole) != STORE_OK)
		return STORE_ERR;
	if (strcmp(role, "assistant") != 0 || strcmp(prole, "user") != 0)
		return STORE_NOT_FOUND;
	if (prep(s, ST_DROP_TURN, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, conv_id) || sqlite3_bind_int64(st, 2,
	    and_prompt ? prompt_id : reply_id) != SQLITE_OK)
		return bind_fail(s, st);
	return run_done(s, st, "drop last turn");
}

/* Returns 1 if the conversation's last user/assistant messages equal
 * history's (system messages ignored), 0 if not, STORE_ERR on failure. */
static int
history_matches(struct store *s, const char *conv_id, const cJSON *history)
{
	sqlite3_stmt *st = NULL;
	int n = 0, step, match = 1;
	const cJSON *h;

	cJSON_ArrayForEach(h, history) {
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(h, "role");
		n += cJSON_IsString(r) && strcmp(r->valuestring, "system") != 0;
	}
	if (n == 0)
		return 0;
	/* Failed replies never reached the client's transcript. */
	if (prep(s, ST_HISTORY_TAIL, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, conv_id) || sqlite3_bind_int(st, 2, n) != SQLITE_OK)
		return bind_fail(s, st);
	/* Walk history backwards against the newest stored messages. */
	int i = cJSON_GetArraySize(history) - 1, seen = 0;
	while (match && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const cJSON *m = NULL, *r = NULL, *c = NULL;
		for (; i >= 0; i--) {
			m = cJSON_GetArrayItem(history, i);
			r = cJSON_GetObjectItemCaseSensitive(m, "role");
			if (cJSON_IsString(r) && strcmp(r->valuestring, "system"))
				break;
		}
		if (i < 0)
			break;
		c = cJSON_GetObjectItemCaseSensitive(m, "content");
		const char *role = (const char *)sqlite3_column_text(st, 0);
		const char *content = (const char *)sqlite3_column_text(st, 1);
		match = cJSON_IsString(c) && role != NULL && content != NULL &&
		    strcmp(role, r->valuestring) == 0 &&
		    strcmp(content, c->valuestring) == 0;
		seen++;
		i--;
	}
	release(st);
	return match && seen == n;
}

int
store_find_by_history(struct store *s, const char *user,
    const cJSON *history, char id[STORE_ID_LEN + 1])
{
	sqlite3_stmt *st = NULL;
	int step, rc = STORE_NOT_FOUND;

	/* The user's few most recent conversations are the candidates. */
	if (prep(s, ST_HISTORY_CANDIDATES, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, user))
		return bind_fail(s, st);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *cid = (const char *)sqlite3_column_text(st, 0);
		int m = history_matches(s, cid, history);
		if (m == STORE_ERR) {
			rc = STORE_ERR;
			break;
		}
		if (m == 1) {
			snprintf(id, STORE_ID_LEN + 1, "%s", cid);
			rc = STORE_OK;
			break;
		}
	}
	release(st);
	return rc;
}

int
store_mark_interrupted(struct store *s)
{
	sqlite3_stmt *st = NULL;

	if (prep(s, ST_MARK_INTERRUPTED, &st) != STORE_OK)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, now_ms()) != SQLITE_OK)
		return bind_fail(s, st);
	if (run_done(s, st, "mark interrupted") != STORE_OK)
		return STORE_ERR;
	return sqlite3_changes(s->db);
}

int
store_login_check(struct store *s, const char *key, int max, long window_s,
    long *retry_after)
{
	sqlite3_stmt *st = NULL;
	long long now = now_ms(), since = now - (long long)window_s * 1000;
	int step, count = 0;
	long long oldest = 0;

	*retry_after = 0;
	if (prep(s, ST_LOGIN_CHECK, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, key) || sqlite3_bind_int64(st, 2, since) !=
	    SQLITE_OK)
		return bind_fail(s, st);
	step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		count = sqlite3_column_int(st, 0);
		oldest = sqlite3_column_int64(st, 1);
	}
	release(st);
	if (step != SQLITE_ROW)
		return db_fail(s, "login check");
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
	long long now = now_ms();

	if (prep(s, ST_LOGIN_FAIL, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, key) || sqlite3_bind_int64(st, 2, now) !=
	    SQLITE_OK)
		return bind_fail(s, st);
	if (run_done(s, st, "login failure") != STORE_OK)
		return STORE_ERR;
	/* Forget what has left every window: the table stays small. */
	if (prep(s, ST_LOGIN_PRUNE, &st) != STORE_OK)
		return STORE_ERR;
	if (sqlite3_bind_int64(st, 1, now - (long long)window_s * 1000) !=
	    SQLITE_OK)
		return bind_fail(s, st);
	return run_done(s, st, "prune login failures");
}

int
store_login_clear(struct store *s, const char *key)
{
	sqlite3_stmt *st = NULL;

	if (prep(s, ST_LOGIN_CLEAR, &st) != STORE_OK)
		return STORE_ERR;
	if (bind_text(st, 1, key))
		return bind_fail(s, st);
	return run_done(s, st, "clear login failures");
}

const char *
store_strerror(int err)
{
	switch (err) {
	case STORE_OK: return "ok";
	case STORE_NOT_FOUND: return "not found";
	case STORE_ERR: return "database error";
	case STORE_INVALID: return "invalid argument";
	case STORE_LIMITED: return "too many attempts";
	}
	return "unknown error";
}
