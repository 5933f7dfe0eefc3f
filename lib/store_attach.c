/* store_attach.c - attachments in the store (schema v8): a user's uploaded
 * files, bound to the message that sent them, their metadata as JSON, and
 * the purge of unused ones. Storage counting is the schema's triggers'. */
#include "store_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

size_t
store_base64(const void *data, size_t len, char *out)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	const unsigned char *p = data;
	size_t o = 0, i = 0;

	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 |
		    p[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = tab[v >> 6 & 63];
		out[o++] = tab[v & 63];
	}
	if (i < len) {
		unsigned v = (unsigned)p[i] << 16 |
		    (i + 1 < len ? (unsigned)p[i + 1] << 8 : 0);
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < len ? tab[v >> 6 & 63] : '=';
		out[o++] = '=';
	}
	out[o] = '\0';
	return o;
}

/* Copies column i's text into out (cap bytes, cut). */
static void
col_text(struct db_stmt *st, int i, char *out, size_t cap)
{
	const char *t = db_column_text(st, i);

	snprintf(out, cap, "%s", t != NULL ? t : "");
}

/* Fills a from a row of ST_ATT_GET or ST_ATT_OF_MESSAGE (the same first
 * eight columns); data is pointed at, not copied. */
static void
from_row(struct db_stmt *st, struct store_attach *a)
{
	memset(a, 0, sizeof(*a));
	col_text(st, 0, a->id, sizeof(a->id));
	col_text(st, 1, a->kind, sizeof(a->kind));
	col_text(st, 2, a->mime, sizeof(a->mime));
	col_text(st, 3, a->name, sizeof(a->name));
	a->bytes = db_column_int64(st, 4);
	a->width = db_column_int(st, 5);
	a->height = db_column_int(st, 6);
}

int
store_attach_add(struct store *s, const char *user, struct store_attach *a,
    const void *data, size_t len)
{
	struct db_stmt *st = NULL;

	if (a->name[0] == '\0' || a->kind[0] == '\0' || a->mime[0] == '\0' ||
	    strlen(a->name) > STORE_ATTACH_NAME_MAX)
		return STORE_INVALID;
	if (id_new(a->id) != 0)
		return STORE_ERR;
	if (store_prep(s, ST_ATT_ADD, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, a->id) || store_bind_text(st, 2, user) ||
	    store_bind_text(st, 3, a->kind) || store_bind_text(st, 4, a->mime) ||
	    store_bind_text(st, 5, a->name) ||
	    (a->width > 0 ? db_bind_int(st, 6, a->width) :
	    db_bind_null(st, 6)) != DB_OK ||
	    (a->height > 0 ? db_bind_int(st, 7, a->height) :
	    db_bind_null(st, 7)) != DB_OK ||
	    db_bind_blob(st, 8, data, len) != DB_OK ||
	    db_bind_int64(st, 9, store_now_ms()) != DB_OK)
		return store_bind_fail(s, st);
	a->bytes = (long long)len;
	return store_run_done(s, st, "add attachment");
}

int
store_attach_get(struct store *s, const char *id, const char *user,
    int with_data, struct store_attach *a)
{
	struct db_stmt *st = NULL;
	int step, rc = STORE_ERR;

	memset(a, 0, sizeof(*a));
	if (store_prep(s, ST_ATT_GET, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, id) || store_bind_text(st, 2, user))
		return store_bind_fail(s, st);
	step = db_step(st);
	if (step == DB_DONE) {
		rc = STORE_NOT_FOUND;
		goto out;
	}
	if (step != DB_ROW) {
		store_db_fail(s, "get attachment");
		goto out;
	}
	from_row(st, a);
	col_text(st, 8, a->conv, sizeof(a->conv));
	a->msg_id = db_column_int64(st, 9);
	if (with_data) {
		const void *d = db_column_blob(st, 7);
		size_t n = (size_t)db_column_bytes(st, 7);
		if ((a->data = malloc(n + 1)) == NULL) {
			log_err("store: out of memory for an attachment");
			goto out;
		}
		if (n > 0)
			memcpy(a->data, d, n);
		a->data[n] = '\0';
		a->bytes = (long long)n;
	}
	rc = STORE_OK;
out:
	store_release(st);
	return rc;
}

int
store_attach_delete(struct store *s, const char *id, const char *user)
{
	struct db_stmt *st = NULL;
	struct store_attach a;
	int rc;

	if (store_prep(s, ST_ATT_DELETE, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, id) || store_bind_text(st, 2, user))
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "delete attachment") != STORE_OK)
		return STORE_ERR;
	if (db_changes(s->db) > 0)
		return STORE_OK;
	/* Not deleted: none such, or one in use. */
	rc = store_attach_get(s, id, user, 0, &a);
	return rc == STORE_OK ? STORE_INVALID : rc;
}

int
store_attach_bind(struct store *s, const char *id, const char *user,
    const char *conv_id, long long msg_id, int pos)
{
	struct db_stmt *st = NULL;
	char copy[ID_LEN + 1];

	if (id_new(copy) != 0 || store_prep(s, ST_ATT_COPY, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, id) || store_bind_text(st, 2, copy) ||
	    store_bind_text(st, 3, user) || store_bind_text(st, 4, conv_id) ||
	    db_bind_int64(st, 5, msg_id) != DB_OK)
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "copy attachment") != STORE_OK)
		return STORE_ERR;
	if (store_prep(s, ST_ATT_BIND, &st) != STORE_OK)
		return STORE_ERR;
	if (store_bind_text(st, 1, id) || store_bind_text(st, 2, user) ||
	    store_bind_text(st, 3, conv_id) ||
	    db_bind_int64(st, 4, msg_id) != DB_OK ||
	    db_bind_int(st, 5, pos) != DB_OK)
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "bind attachment") != STORE_OK)
		return STORE_ERR;
	return db_changes(s->db) > 0 ? STORE_OK : STORE_NOT_FOUND;
}

int
store_attach_each(struct store *s, long long msg_id, int with_data,
    store_attach_fn fn, void *arg)
{
	struct db_stmt *st = NULL;
	int step, rc = STORE_OK;

	if (store_prep(s, ST_ATT_OF_MESSAGE, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, msg_id) != DB_OK)
		return store_bind_fail(s, st);
	while ((step = db_step(st)) == DB_ROW) {
		struct store_attach a;
		int r;

		from_row(st, &a);
		if (with_data == STORE_ATTACH_DATA ||
		    (with_data == STORE_ATTACH_TEXT &&
		    strcmp(a.kind, "text") == 0))
			a.data = (char *)db_column_blob(st, 7);
		r = fn(arg, &a);
		if (r < 0) {
			rc = STORE_ERR;
			break;
		}
		if (r > 0)
			break;
	}
	if (rc == STORE_OK && step != DB_ROW && step != DB_DONE)
		rc = store_db_fail(s, "message attachments");
	store_release(st);
	return rc;
}

cJSON *
store_attach_json(const struct store_attach *a, int with_data)
{
	cJSON *o = cJSON_CreateObject();

	if (o == NULL ||
	    cJSON_AddStringToObject(o, "id", a->id) == NULL ||
	    cJSON_AddStringToObject(o, "kind", a->kind) == NULL ||
	    cJSON_AddStringToObject(o, "mime", a->mime) == NULL ||
	    cJSON_AddStringToObject(o, "name", a->name) == NULL ||
	    cJSON_AddNumberToObject(o, "bytes", (double)a->bytes) == NULL)
		goto fail;
	if (strcmp(a->kind, "image") == 0 &&
	    (cJSON_AddNumberToObject(o, "width", a->width) == NULL ||
	    cJSON_AddNumberToObject(o, "height", a->height) == NULL))
		goto fail;
	if (with_data && a->data != NULL) {
		size_t n = (size_t)a->bytes;
		char *b64 = malloc(4 * ((n + 2) / 3) + 1);
		cJSON *v;
		if (b64 == NULL)
			goto fail;
		store_base64(a->data, n, b64);
		v = cJSON_AddStringToObject(o, "data", b64);
		free(b64);
		if (v == NULL)
			goto fail;
	}
	return o;
fail:
	cJSON_Delete(o);
	return NULL;
}

struct list_ctx {
	cJSON *arr;
	int with_data;
};

static int
list_one(void *arg, const struct store_attach *a)
{
	struct list_ctx *c = arg;
	cJSON *o = store_attach_json(a, c->with_data);

	if (o == NULL || !cJSON_AddItemToArray(c->arr, o)) {
		cJSON_Delete(o);
		return -1;
	}
	return 0;
}

int
store_attach_list(struct store *s, long long msg_id, int with_data,
    cJSON **out)
{
	struct list_ctx c = { cJSON_CreateArray(), with_data };

	*out = NULL;
	if (c.arr == NULL)
		return STORE_ERR;
	if (store_attach_each(s, msg_id, with_data, list_one, &c) != STORE_OK) {
		cJSON_Delete(c.arr);
		return STORE_ERR;
	}
	*out = c.arr;
	return STORE_OK;
}

int
store_attach_purge(struct store *s, long long keep_ms)
{
	struct db_stmt *st = NULL;

	if (store_prep(s, ST_ATT_PURGE, &st) != STORE_OK)
		return STORE_ERR;
	if (db_bind_int64(st, 1, store_now_ms() - keep_ms) != DB_OK)
		return store_bind_fail(s, st);
	if (store_run_done(s, st, "purge attachments") != STORE_OK)
		return STORE_ERR;
	return db_changes(s->db);
}
