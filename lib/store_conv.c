/* store_conv.c - conversations and their messages: created, listed,
 * read, renamed, deleted, written as replies stream, and read back for the
 * worker's next reply (system prompt, turns, recent conversations). */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "username.h"

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
 * see store_open in store.c. */
static const char *const msg_roles[] = { "user", "assistant", "system",
    NULL };
static const char *const msg_states[] = { STORE_COMPLETE, STORE_STREAMING,
    STORE_STOPPED, STORE_ERROR, STORE_INTERRUPTED, NULL };

int
store_conv_create(struct store *s, const char *user, const char *title,
    const char *model, const char *system_prompt, char id[ID_LEN + 1])
{
	struct db_stmt *st = NULL;
	long long now = store_now_ms();

	if (id_new(id) != 0)
		return STORE_ERR;
	if (store_prep(s, ST_CONV_CREATE, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, id) || store_bind_text(st, 2, user) ||
	    store_bind_text(st, 3, title) || store_bind_text(st, 4, model) ||
	    store_bind_text(st, 5, system_prompt) ||
	    db_bind_int64(st, 6, now) != DB_OK ||
	    db_bind_int64(st, 7, now) != DB_OK)
		return store_bind_fail(s, st);
	return store_run_done(s, st, "create conversation");
}

int
store_conv_owned(struct store *s, const char *id, const char *user)
{
	struct db_stmt *st = NULL;
	int rc;

	if (!id_valid(id))
		return STORE_NOT_FOUND;
	if (store_prep(s, ST_CONV_OWNED, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, id) || store_bind_text(st, 2, user))
		return store_bind_fail(s, st);
	rc = db_step(st);
	store_release(st);
	if (rc == DB_ROW)
		return STORE_OK;
	return rc == DB_DONE ? STORE_NOT_FOUND : store_db_fail(s, "owned");
}

/* Runs an UPDATE/DELETE bound to (…, id, user); NOT_FOUND if no row. */
static int
run_owned(struct store *s, struct db_stmt *st, const char *what)
{
	int rc = db_step(st);

	store_release(st);
	if (rc != DB_DONE)
		return store_db_fail(s, what);
	return db_changes(s->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

int
store_conv_rename(struct store *s, const char *id, const char *user,
    const char *title)
{
	struct db_stmt *st = NULL;
	size_t n = strlen(title);

	if (!id_valid(id))
		return STORE_NOT_FOUND;
	if (n == 0 || n > STORE_TITLE_MAX)
		return STORE_INVALID;
	if (store_prep(s, ST_CONV_RENAME, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, title) ||
	    db_bind_int64(st, 2, store_now_ms()) != DB_OK ||
	    store_bind_text(st, 3, id) || store_bind_text(st, 4, user))
		return store_bind_fail(s, st);
	return run_owned(s, st, "rename");
}

int
store_conv_delete(struct store *s, const char *id, const char *user)
{
	struct db_stmt *st = NULL;

	if (!id_valid(id))
		return STORE_NOT_FOUND;
	if (store_prep(s, ST_CONV_DELETE, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, id) || store_bind_text(st, 2, user))
		return store_bind_fail(s, st);
	return run_owned(s, st, "delete");
}

int
store_conv_touch(struct store *s, const char *id, const char *model,
    const char *system_prompt)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, ST_CONV_TOUCH, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, model) || (system_prompt != NULL ?
	    store_bind_text(st, 2, system_prompt) :
	    db_bind_null(st, 2) != DB_OK) ||
	    db_bind_int64(st, 3, store_now_ms()) != DB_OK ||
	    store_bind_text(st, 4, id))
		return store_bind_fail(s, st);
	return run_owned(s, st, "touch");
}

/* Adds the integer of column i to obj as name, null when it is NULL (a
 * first message's parent_id). Returns 1, or 0 when out of memory. */
static int
add_id_col(cJSON *obj, const char *name, struct db_stmt *st, int i)
{
	return (db_column_type(st, i) == DB_NULL ?
	    cJSON_AddNullToObject(obj, name) : cJSON_AddNumberToObject(obj,
	    name, (double)db_column_int64(st, i))) != NULL;
}

/* Adds the text of column i (with its length: contents may hold any
 * bytes but NUL) to obj as name. */
static int
add_text_col(cJSON *obj, const char *name, struct db_stmt *st, int i)
{
	const char *t = db_column_text(st, i);
	int n = db_column_bytes(st, i);
	cJSON *v;

	if (t == NULL)
		return cJSON_AddNullToObject(obj, name) != NULL;
	if ((size_t)n != strlen(t))
		return 0;  /* an embedded NUL: cannot be a JSON string here */
	v = cJSON_CreateString(t);
	return v != NULL && cJSON_AddItemToObject(obj, name, v);
}

/* Adds created_at and updated_at from columns i and i + 1. */
static int
add_times(cJSON *obj, struct db_stmt *st, int i)
{
	return cJSON_AddNumberToObject(obj, "created_at",
	    (double)db_column_int64(st, i)) != NULL &&
	    cJSON_AddNumberToObject(obj, "updated_at",
	    (double)db_column_int64(st, i + 1)) != NULL;
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
	struct db_stmt *st = NULL;
	long long c_time = -1;
	char c_id[ID_LEN + 1] = "";
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
		    !id_valid(end + 1))
			return STORE_INVALID;
		memcpy(c_id, end + 1, ID_LEN + 1);
	}
	if (query != NULL && query[0] != '\0' &&
	    (pattern = like_pattern(query)) == NULL)
		return STORE_ERR;
	if (store_prep(s, ST_CONV_LIST, &st) != STORE_OK)
		goto out;
	if (store_bind_text(st, 1, user) ||
	    db_bind_int64(st, 2, c_time) != DB_OK ||
	    store_bind_text(st, 3, c_id) ||
	    (pattern != NULL ? store_bind_text(st, 4, pattern) :
	    db_bind_null(st, 4) != DB_OK) ||
	    db_bind_int(st, 5, limit + 1) != DB_OK) {
		store_db_fail(s, "bind");
		goto out;
	}
	root = cJSON_CreateObject();
	list = cJSON_AddArrayToObject(root, "conversations");
	if (list == NULL)
		goto out;
	char next[64] = "";
	while ((step = db_step(st)) == DB_ROW) {
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
	if (step != DB_ROW && step != DB_DONE) {
		store_db_fail(s, "list");
		goto out;
	}
	if ((next[0] ? cJSON_AddStringToObject(root, "next", next) :
	    cJSON_AddNullToObject(root, "next")) == NULL)
		goto out;
	*out = root;
	root = NULL;
	rc = STORE_OK;
out:
	store_release(st);
	cJSON_Delete(root);
	free(pattern);
	return rc;
}

/* Makes a message object from a row of ST_CONV_MESSAGES or ST_CONV_PAGE.
 * Returns it (the caller deletes it), or NULL when out of memory. */
static cJSON *
message_of_row(struct db_stmt *st)
{
	cJSON *m = cJSON_CreateObject();

	if (m == NULL || cJSON_AddNumberToObject(m, "id",
	    (double)db_column_int64(st, 0)) == NULL ||
	    !add_text_col(m, "role", st, 1) ||
	    !add_text_col(m, "content", st, 2) ||
	    !add_text_col(m, "state", st, 3) ||
	    !add_text_col(m, "model", st, 4) ||
	    !add_times(m, st, 5))
		goto fail;
	if (db_column_type(st, 9) != DB_NULL) {
		cJSON *u = cJSON_AddObjectToObject(m, "usage");
		if (u == NULL ||
		    cJSON_AddNumberToObject(u, "prompt_tokens",
		    (double)db_column_int64(st, 7)) == NULL ||
		    cJSON_AddNumberToObject(u, "completion_tokens",
		    (double)db_column_int64(st, 8)) == NULL ||
		    cJSON_AddNumberToObject(u, "total_tokens",
		    (double)db_column_int64(st, 9)) == NULL)
			goto fail;
	}
	if (db_column_type(st, 10) != DB_NULL &&
	    !add_text_col(m, "error", st, 10))
		goto fail;
	/* Its parent (schema v9): null for a conversation's first. */
	if (!add_id_col(m, "parent_id", st, 13))
		goto fail;
	/* Only a message with reasoning has the fields (schema v7). */
	if (db_column_bytes(st, 11) > 0 &&
	    (!add_text_col(m, "reasoning", st, 11) ||
	    (db_column_type(st, 12) != DB_NULL &&
	    cJSON_AddNumberToObject(m, "reasoning_ms",
	    (double)db_column_int64(st, 12)) == NULL)))
		goto fail;
	return m;
fail:
	cJSON_Delete(m);
	return NULL;
}

int
store_conv_head(struct store *s, const char *id, const char *user,
    cJSON **out)
{
	struct db_stmt *st = NULL;
	cJSON *root = NULL;
	int rc = STORE_ERR, step;

	*out = NULL;
	if (!id_valid(id))
		return STORE_NOT_FOUND;
	if (store_prep(s, ST_CONV_GET, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, id) || store_bind_text(st, 2, user)) {
		store_db_fail(s, "bind");
		goto out;
	}
	step = db_step(st);
	if (step == DB_DONE) {
		rc = STORE_NOT_FOUND;
		goto out;
	}
	if (step != DB_ROW) {
		store_db_fail(s, "get");
		goto out;
	}
	root = cJSON_CreateObject();
	if (root == NULL || !add_text_col(root, "id", st, 0) ||
	    !add_text_col(root, "title", st, 1) ||
	    !add_text_col(root, "model", st, 2) ||
	    !add_text_col(root, "system_prompt", st, 3) ||
	    !add_times(root, st, 4))
		goto out;
	*out = root;
	root = NULL;
	rc = STORE_OK;
out:
	store_release(st);
	cJSON_Delete(root);
	return rc;
}

int
store_conv_each(struct store *s, const char *conv_id, store_msg_fn fn,
    void *arg)
{
	struct db_stmt *st = NULL;
	cJSON *m = NULL;
	int step, rc = STORE_ERR;

	if (store_prep(s, ST_CONV_MESSAGES, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, conv_id))
		return store_bind_fail(s, st);
	while ((step = db_step(st)) == DB_ROW) {
		if ((m = message_of_row(st)) == NULL) {
			log_err("store: out of memory reading a message");
			goto out;
		}
		int r = fn(arg, m);
		cJSON_Delete(m);
		m = NULL;
		if (r < 0)
			goto out;
		if (r > 0)
			break;
	}
	if (step != DB_ROW && step != DB_DONE) {
		store_db_fail(s, "messages");
		goto out;
	}
	rc = STORE_OK;
out:
	cJSON_Delete(m);
	store_release(st);
	return rc;
}

/* store_conv_each's function for store_conv_get: appends to the array. */
static int
append_message(void *arg, const cJSON *m)
{
	cJSON *copy = cJSON_Duplicate(m, 1);

	if (copy == NULL || !cJSON_AddItemToArray(arg, copy)) {
		cJSON_Delete(copy);
		return -1;
	}
	return 0;
}

int
store_conv_get(struct store *s, const char *id, const char *user, cJSON **out)
{
	cJSON *root = NULL, *msgs;
	int rc;

	*out = NULL;
	rc = store_conv_head(s, id, user, &root);
	if (rc != STORE_OK)
		return rc;
	if ((msgs = cJSON_AddArrayToObject(root, "messages")) == NULL ||
	    store_conv_each(s, id, append_message, msgs) != STORE_OK) {
		cJSON_Delete(root);
		return STORE_ERR;
	}
	*out = root;
	return STORE_OK;
}

/* Adds to message m (id msg_id, of parent parent; 0: none) its
 * "siblings":{"index","count","ids"}: the versions it is one of, oldest
 * first, itself included. */
static int
add_siblings(struct store *s, cJSON *m, const char *conv, long long parent,
    long long msg_id)
{
	struct db_stmt *st = NULL;
	cJSON *sib, *ids;
	int step, rc = STORE_ERR, n = 0, index = 0;

	if ((sib = cJSON_AddObjectToObject(m, "siblings")) == NULL ||
	    (ids = cJSON_AddArrayToObject(sib, "ids")) == NULL)
		return STORE_ERR;
	if (store_prep(s, ST_MSG_SIBLINGS, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, conv) || (parent > 0 ?
	    db_bind_int64(st, 2, parent) : db_bind_null(st, 2)) !=
	    DB_OK)
		return store_bind_fail(s, st);
	while ((step = db_step(st)) == DB_ROW) {
		long long sid = db_column_int64(st, 0);
		cJSON *v = cJSON_CreateNumber((double)sid);
		if (v == NULL || !cJSON_AddItemToArray(ids, v)) {
			cJSON_Delete(v);
			goto out;
		}
		if (sid == msg_id)
			index = n;
		n++;
	}
	if (step != DB_DONE) {
		store_db_fail(s, "siblings");
		goto out;
	}
	if (cJSON_AddNumberToObject(sib, "index", index) == NULL ||
	    cJSON_AddNumberToObject(sib, "count", n) == NULL)
		goto out;
	rc = STORE_OK;
out:
	store_release(st);
	return rc;
}

/* Adds to root "tree": [{id,parent_id,role}] of every message of conv,
 * oldest first. */
static int
add_tree(struct store *s, cJSON *root, const char *conv)
{
	struct db_stmt *st = NULL;
	cJSON *tree;
	int step, rc = STORE_ERR;

	if ((tree = cJSON_AddArrayToObject(root, "tree")) == NULL)
		return STORE_ERR;
	if (store_prep(s, ST_CONV_TREE, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, conv))
		return store_bind_fail(s, st);
	while ((step = db_step(st)) == DB_ROW) {
		cJSON *t = cJSON_CreateObject();
		if (t == NULL || !cJSON_AddItemToArray(tree, t) ||
		    cJSON_AddNumberToObject(t, "id",
		    (double)db_column_int64(st, 0)) == NULL ||
		    !add_id_col(t, "parent_id", st, 1) ||
		    !add_text_col(t, "role", st, 2))
			goto out;
	}
	if (step != DB_DONE) {
		store_db_fail(s, "tree");
		goto out;
	}
	rc = STORE_OK;
out:
	store_release(st);
	return rc;
}

/* Adds to root the page of conversation id's messages described at
 * store_conv_page, with "has_more" and "before". */
static int
add_page(struct store *s, cJSON *root, const char *id, long long before,
    int limit)
{
	struct db_stmt *st = NULL;
	cJSON *msgs, *m = NULL;
	long long oldest = 0;
	size_t bytes = 0;
	int step, rc = STORE_ERR, n = 0, more = 0;

	if ((msgs = cJSON_AddArrayToObject(root, "messages")) == NULL)
		return STORE_ERR;
	if (store_prep(s, ST_CONV_PAGE, &st) != STORE_OK)
		return STORE_ERR;
	/* One row more than the page: whether older ones exist. */
	if (store_bind_text(st, 1, id) ||
	    db_bind_int64(st, 2, before) != DB_OK ||
	    db_bind_int(st, 3, limit + 1) != DB_OK)
		return store_bind_fail(s, st);
	while ((step = db_step(st)) == DB_ROW) {
		size_t len = (size_t)db_column_bytes(st, 2) +
		    (size_t)db_column_bytes(st, 11);
		if (n == limit || (n > 0 && len > STORE_PAGE_BYTES - bytes)) {
			more = 1;
			break;
		}
		if ((m = message_of_row(st)) == NULL) {
			log_err("store: out of memory reading a message");
			goto out;
		}
		if (add_siblings(s, m, id, db_column_type(st, 13) ==
		    DB_NULL ? 0 : db_column_int64(st, 13),
		    db_column_int64(st, 0)) != STORE_OK)
			goto out;
		/* Newest first from SQLite, oldest first in the page. */
		if (!cJSON_InsertItemInArray(msgs, 0, m))
			goto out;
		m = NULL;
		oldest = db_column_int64(st, 0);
		bytes = len > STORE_PAGE_BYTES - bytes ? STORE_PAGE_BYTES :
		    bytes + len;
		n++;
	}
	if (step != DB_ROW && step != DB_DONE) {
		store_db_fail(s, "messages");
		goto out;
	}
	if (cJSON_AddBoolToObject(root, "has_more", more) == NULL ||
	    (more ? cJSON_AddNumberToObject(root, "before", (double)oldest) :
	    cJSON_AddNullToObject(root, "before")) == NULL)
		goto out;
	rc = STORE_OK;
out:
	cJSON_Delete(m);
	store_release(st);
	return rc;
}

int
store_conv_page(struct store *s, const char *id, const char *user,
    long long before, int limit, cJSON **out)
{
	cJSON *root = NULL;
	int rc;

	*out = NULL;
	if (limit < 1 || limit > STORE_PAGE_MAX)
		return STORE_INVALID;
	rc = store_conv_head(s, id, user, &root);
	if (rc != STORE_OK)
		return rc;
	if (add_page(s, root, id, before, limit) != STORE_OK ||
	    add_tree(s, root, id) != STORE_OK) {
		cJSON_Delete(root);
		return STORE_ERR;
	}
	*out = root;
	return STORE_OK;
}

int
store_msg_add(struct store *s, const char *conv_id, const char *role,
    const char *content, size_t len, const char *state, const char *model,
    long long *msg_id)
{
	struct db_stmt *st = NULL;
	long long now = store_now_ms();

	if (store_prep(s, ST_MSG_ADD, &st) != STORE_OK)
		return STORE_ERR;
	if (!one_of(role, msg_roles) || !one_of(state, msg_states)) {
		store_release(st);
		return STORE_INVALID;
	}
	/* A streaming reply is its worker's (store_set_worker): the one a
	 * surviving worker ends when that worker's lease runs out. */
	if (store_bind_text(st, 1, conv_id) || store_bind_text(st, 2, role) ||
	    db_bind_text(st, 3, content, (int)len) != DB_OK ||
	    store_bind_text(st, 4, state) || store_bind_text(st, 5, model) ||
	    db_bind_int64(st, 6, now) != DB_OK ||
	    db_bind_int64(st, 7, now) != DB_OK ||
	    (s->worker[0] != '\0' && strcmp(state, STORE_STREAMING) == 0 ?
	    store_bind_text(st, 8, s->worker) : db_bind_null(st, 8) != DB_OK))
		return store_bind_fail(s, st);
	int rc = store_run_done(s, st, "add message");
	long long row = db_last_insert_id(s->db);
	if (rc == STORE_OK)
		rc = store_conv_set_leaf(s, conv_id, row);
	if (rc == STORE_OK && msg_id != NULL)
		*msg_id = row;
	return rc;
}

int
store_msg_update(struct store *s, long long msg_id, const char *content,
    size_t len, const struct store_reasoning *reasoning, const char *state,
    const struct lc_usage *usage, const char *error_code)
{
	struct db_stmt *st = NULL;
	int ok;

	if (store_prep(s, ST_MSG_UPDATE, &st) != STORE_OK)
		return STORE_ERR;
	if (!one_of(state, msg_states)) {
		store_release(st);
		return STORE_INVALID;
	}
	ok = db_bind_text(st, 1, content, (int)len) == DB_OK &&
	    !store_bind_text(st, 2, state) &&
	    db_bind_int64(st, 3, store_now_ms()) == DB_OK &&
	    db_bind_text(st, 8, reasoning != NULL ? reasoning->text : "",
	    reasoning != NULL ? (int)reasoning->len : 0) == DB_OK &&
	    db_bind_int64(st, 10, msg_id) == DB_OK;
	if (ok && reasoning != NULL && reasoning->ms >= 0)
		ok = db_bind_int64(st, 9, reasoning->ms) == DB_OK;
	if (ok && usage != NULL && usage->present)
		ok = db_bind_int64(st, 4, (long long)usage->prompt_tokens) ==
		    DB_OK && db_bind_int64(st, 5,
		    (long long)usage->completion_tokens) == DB_OK &&
		    db_bind_int64(st, 6, (long long)usage->total_tokens) ==
		    DB_OK;
	if (ok && error_code != NULL)
		ok = !store_bind_text(st, 7, error_code);
	if (!ok)
		return store_bind_fail(s, st);
	return store_run_done(s, st, "update message");
}

int
store_conv_system(struct store *s, const char *conv_id, char **out)
{
	struct db_stmt *st = NULL;
	int step, rc = STORE_ERR;

	*out = NULL;
	if (store_prep(s, ST_CONV_SYSTEM, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, conv_id))
		return store_bind_fail(s, st);
	step = db_step(st);
	if (step == DB_DONE) {
		rc = STORE_NOT_FOUND;
		goto out;
	}
	if (step != DB_ROW) {
		store_db_fail(s, "system prompt");
		goto out;
	}
	const char *sys = db_column_text(st, 0);
	if ((*out = strdup(sys != NULL ? sys : "")) == NULL) {
		log_err("store: out of memory");
		goto out;
	}
	rc = STORE_OK;
out:
	store_release(st);
	return rc;
}

int
store_conv_turns(struct store *s, const char *conv_id, int limit,
    store_turn_fn fn, void *arg)
{
	struct db_stmt *st = NULL;
	int step, rc = STORE_ERR;

	if (store_prep(s, ST_CONV_TURNS, &st) != STORE_OK)
		return STORE_ERR;
	/* LIMIT -1 would mean no limit. */
	if (store_bind_text(st, 1, conv_id) ||
	    db_bind_int(st, 2, limit > 0 ? limit : 0) != DB_OK)
		return store_bind_fail(s, st);
	while ((step = db_step(st)) == DB_ROW) {
		const char *role = db_column_text(st, 0);
		const char *content = db_column_text(st, 1);
		int len = db_column_bytes(st, 1);
		if (role == NULL || content == NULL) {
			/* NOT NULL columns: SQLite ran out of memory. */
			store_db_fail(s, "turns");
			goto out;
		}
		int r = fn(arg, db_column_int64(st, 2), role, content,
		    (size_t)len);
		if (r < 0)
			goto out;
		if (r > 0)
			break;
	}
	if (step != DB_ROW && step != DB_DONE) {
		store_db_fail(s, "turns");
		goto out;
	}
	rc = STORE_OK;
out:
	store_release(st);
	return rc;
}

int
store_conv_recent(struct store *s, const char *user, int max,
    char (*ids)[ID_LEN + 1], int *n)
{
	struct db_stmt *st = NULL;
	int step = DB_DONE, rc = STORE_ERR;

	*n = 0;
	if (store_prep(s, ST_CONV_RECENT, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, user) ||
	    db_bind_int(st, 2, max > 0 ? max : 0) != DB_OK)
		return store_bind_fail(s, st);
	while (*n < max && (step = db_step(st)) == DB_ROW) {
		const char *id = db_column_text(st, 0);
		if (id == NULL) {
			store_db_fail(s, "recent");
			goto out;
		}
		snprintf(ids[*n], ID_LEN + 1, "%s", id);
		(*n)++;
	}
	if (*n < max && step != DB_DONE) {
		store_db_fail(s, "recent");
		goto out;
	}
	rc = STORE_OK;
out:
	store_release(st);
	return rc;
}

/* Steps st (bound, returning one integer or NULL) and releases it: *v
 * gets the integer, 0 for NULL or no row. */
static int
one_int(struct store *s, struct db_stmt *st, long long *v, const char *what)
{
	int step = db_step(st);

	*v = step == DB_ROW ? db_column_int64(st, 0) : 0;
	store_release(st);
	return step == DB_ROW || step == DB_DONE ? STORE_OK :
	    store_db_fail(s, what);
}

int
store_conv_leaf(struct store *s, const char *conv_id, long long *leaf)
{
	struct db_stmt *st = NULL;

	*leaf = 0;
	if (store_prep(s, ST_CONV_LEAF, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, conv_id))
		return store_bind_fail(s, st);
	return one_int(s, st, leaf, "current leaf");
}

int
store_conv_set_leaf(struct store *s, const char *conv_id, long long leaf)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, ST_CONV_SET_LEAF, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, conv_id) || (leaf > 0 ?
	    db_bind_int64(st, 2, leaf) : db_bind_null(st, 2)) !=
	    DB_OK)
		return store_bind_fail(s, st);
	return store_run_done(s, st, "set leaf");
}

int
store_msg_get(struct store *s, const char *conv_id, long long msg_id,
    char role[16], long long *parent)
{
	struct db_stmt *st = NULL;
	int step;

	role[0] = '\0';
	*parent = 0;
	if (store_prep(s, ST_MSG_GET, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, conv_id) ||
	    db_bind_int64(st, 2, msg_id) != DB_OK)
		return store_bind_fail(s, st);
	step = db_step(st);
	if (step == DB_ROW) {
		const char *r = db_column_text(st, 0);
		snprintf(role, 16, "%s", r != NULL ? r : "");
		*parent = db_column_int64(st, 1);
	}
	store_release(st);
	if (step == DB_DONE)
		return STORE_NOT_FOUND;
	return step == DB_ROW ? STORE_OK : store_db_fail(s, "message");
}

int
store_conv_switch(struct store *s, const char *conv_id, const char *user,
    long long msg_id, long long *leaf)
{
	long long at = msg_id, child, parent;
	char role[16];
	int rc;

	*leaf = 0;
	rc = store_conv_owned(s, conv_id, user);
	if (rc == STORE_OK)
		rc = store_msg_get(s, conv_id, msg_id, role, &parent);
	if (rc != STORE_OK)
		return rc;
	/* Down its newest children: each is newer than its parent, so the
	 * walk ends. */
	for (;;) {
		struct db_stmt *st = NULL;
		if (store_prep(s, ST_MSG_NEWEST_CHILD, &st) != STORE_OK)
			return STORE_ERR;
		if (store_bind_text(st, 1, conv_id) ||
		    db_bind_int64(st, 2, at) != DB_OK)
			return store_bind_fail(s, st);
		if (one_int(s, st, &child, "newest child") != STORE_OK)
			return STORE_ERR;
		if (child <= at)
			break;
		at = child;
	}
	rc = store_conv_set_leaf(s, conv_id, at);
	if (rc == STORE_OK)
		*leaf = at;
	return rc;
}

int
store_path_below(struct store *s, const char *conv_id, long long ancestor,
    int *n)
{
	struct db_stmt *st = NULL;
	long long v = 0;
	int rc;

	*n = 0;
	if (store_prep(s, ST_PATH_BELOW, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, conv_id) ||
	    db_bind_int64(st, 2, ancestor) != DB_OK)
		return store_bind_fail(s, st);
	rc = one_int(s, st, &v, "path");
	*n = (int)v;
	return rc;
}

/* Adds the replies still streaming to the usage ledger, at now_ms's
 * second and local day (ST_USAGE_INTERRUPTED). */
static int
ledger_interrupted(struct store *s, long long now_ms)
{
	struct db_stmt *st = NULL;
	char day[BUDGET_DATE_LEN + 1];

	if (budget_date((time_t)(now_ms / 1000), day) != 0) {
		log_err("store: no local date for the usage ledger");
		return STORE_ERR;
	}
	if (store_prep(s, ST_USAGE_INTERRUPTED, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, now_ms / 1000) != DB_OK ||
	    store_bind_text(st, 2, day))
		return store_bind_fail(s, st);
	return store_run_done(s, st, "ledger interrupted");
}

int
store_mark_interrupted(struct store *s)
{
	struct db_stmt *st = NULL;
	long long now = store_now_ms();
	int n;

	if (store_begin(s) != STORE_OK)
		return STORE_ERR;
	if (ledger_interrupted(s, now) != STORE_OK ||
	    store_prep(s, ST_MARK_INTERRUPTED, &st) != STORE_OK)
		goto fail;
	if (db_bind_int64(st, 1, now) != DB_OK) {
		store_bind_fail(s, st);
		goto fail;
	}
	if (store_run_done(s, st, "mark interrupted") != STORE_OK)
		goto fail;
	n = db_changes(s->db);
	if (store_commit(s) != STORE_OK)
		return STORE_ERR;
	return n;
fail:
	store_rollback(s);
	return STORE_ERR;
}

/* Runs a statement binding text a (and b when not NULL) and sets *n to the
 * rows it changed. */
static int
run_user(struct store *s, enum stmt id, const char *a, const char *b,
    int *n, const char *what)
{
	struct db_stmt *st = NULL;

	if (n != NULL)
		*n = 0;
	if (store_prep(s, id, &st) != STORE_OK)
		return STORE_ERR;
	if ((a != NULL ? store_bind_text(st, 1, a) :
	    db_bind_null(st, 1) != DB_OK) ||
	    (b != NULL && store_bind_text(st, 2, b)))
		return store_bind_fail(s, st);
	if (store_run_done(s, st, what) != STORE_OK)
		return STORE_ERR;
	if (n != NULL)
		*n = db_changes(s->db);
	return STORE_OK;
}

int
store_user_delete(struct store *s, const char *user, int *n)
{
	if (run_user(s, ST_USER_DELETE, user, NULL, n, "delete user data") !=
	    STORE_OK)
		return STORE_ERR;
	/* and the ones no conversation used (the rest went with theirs) */
	return run_user(s, ST_ATT_USER_DELETE, user, NULL, NULL,
	    "delete user attachments");
}

int
store_user_keep_apart(struct store *s, const char *user, long long now,
    int *n)
{
	char owner[LC_USER_MAX + 64];

	snprintf(owner, sizeof(owner), "~deleted~%lld~%s", now, user);
	if (run_user(s, ST_USER_MOVE, owner, user, n, "keep user data apart") !=
	    STORE_OK)
		return STORE_ERR;
	return run_user(s, ST_ATT_USER_MOVE, owner, user, NULL,
	    "keep user attachments apart");
}

int
store_user_purge(struct store *s, const char *user, int *n)
{
	if (run_user(s, ST_USER_PURGE, user, NULL, n, "purge user data") !=
	    STORE_OK)
		return STORE_ERR;
	return run_user(s, ST_ATT_USER_PURGE, user, NULL, NULL,
	    "purge user attachments");
}
