/* db.c - db.h's dispatch between the two engines, and the SQLite side of
 * it (a thin pass-through: SQLite's own calls, its result codes kept). The
 * PostgreSQL side is db_pg.c. */
#include "db_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
db_open_sqlite(struct db **out, const char *path, int flags, int busy_ms,
    char *err, size_t errcap)
{
	struct db *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (d == NULL) {
		snprintf(err, errcap, "out of memory");
		return DB_ERR;
	}
	if (sqlite3_open_v2(path, &d->lite, flags, NULL) != SQLITE_OK) {
		snprintf(err, errcap, "%s", d->lite ? sqlite3_errmsg(d->lite) :
		    "cannot open");
		db_close(d);
		return DB_ERR;
	}
	sqlite3_busy_timeout(d->lite, busy_ms);
	*out = d;
	return DB_OK;
}

int
db_open_pg(struct db **out, const char *url, int lazy, char *err,
    size_t errcap)
{
	struct db *d = calloc(1, sizeof(*d));

	*out = NULL;
	if (d == NULL) {
		snprintf(err, errcap, "out of memory");
		return DB_ERR;
	}
	err[0] = '\0';
	if (pg_open(d, url, err, errcap) != DB_OK &&
	    !(lazy && d->pg != NULL)) {
		db_close(d);
		return DB_ERR;
	}
	*out = d;
	return DB_OK;
}

int
db_connected(struct db *d)
{
	return d->lite != NULL || pg_connected(d);
}

void
db_close(struct db *d)
{
	if (d == NULL)
		return;
	if (d->lite != NULL)
		sqlite3_close(d->lite);
	pg_close(d);
	free(d);
}

int
db_is_pg(const struct db *d)
{
	return d != NULL && d->lite == NULL;
}

struct sqlite3 *
db_sqlite(struct db *d)
{
	return d != NULL ? d->lite : NULL;
}

int
db_prepare(struct db *d, const char *sql, const char *pg_sql, int flags,
    struct db_stmt **out)
{
	struct db_stmt *st = calloc(1, sizeof(*st));

	*out = NULL;
	if (st == NULL)
		return DB_ERR;
	st->db = d;
	if (d->lite != NULL) {
		if (sqlite3_prepare_v3(d->lite, sql, -1, (flags & DB_PERSISTENT) ?
		    SQLITE_PREPARE_PERSISTENT : 0, &st->lite, NULL) !=
		    SQLITE_OK) {
			free(st);
			return DB_ERR;
		}
	} else if (pg_prepare(d, sql, pg_sql, flags, st) != DB_OK) {
		free(st);
		return DB_ERR;
	}
	*out = st;
	return DB_OK;
}

void
db_finalize(struct db_stmt *st)
{
	if (st == NULL)
		return;
	if (st->lite != NULL)
		sqlite3_finalize(st->lite);
	pg_finalize(st);
	free(st);
}

/* A PostgreSQL parameter slot i (from 1), or NULL past the statement's. */
static struct pg_stmt *
slot(struct db_stmt *st, int i)
{
	struct pg_stmt *p = st->pg;

	return i >= 1 && i <= p->nparams ? p : NULL;
}

int
db_bind_int64(struct db_stmt *st, int i, long long v)
{
	struct pg_stmt *p;
	unsigned long long u = (unsigned long long)v;

	if (st->lite != NULL)
		return sqlite3_bind_int64(st->lite, i, v) == SQLITE_OK ?
		    DB_OK : DB_ERR;
	if ((p = slot(st, i)) == NULL)
		return DB_ERR;
	i--;
	for (int b = 7; b >= 0; b--, u >>= 8)
		p->num[i][b] = (unsigned char)(u & 0xff);
	p->val[i] = (const char *)p->num[i];
	p->len[i] = 8;
	p->fmt[i] = 1;
	p->type[i] = 20;         /* int8 */
	return DB_OK;
}

int
db_bind_int(struct db_stmt *st, int i, int v)
{
	return db_bind_int64(st, i, v);
}

int
db_bind_null(struct db_stmt *st, int i)
{
	struct pg_stmt *p;

	if (st->lite != NULL)
		return sqlite3_bind_null(st->lite, i) == SQLITE_OK ? DB_OK :
		    DB_ERR;
	if ((p = slot(st, i)) == NULL)
		return DB_ERR;
	i--;
	p->val[i] = NULL;
	p->len[i] = 0;
	p->fmt[i] = 0;
	p->type[i] = 0;          /* the server infers it */
	return DB_OK;
}

int
db_bind_text(struct db_stmt *st, int i, const char *v, int len)
{
	struct pg_stmt *p;

	if (st->lite != NULL)
		return sqlite3_bind_text(st->lite, i, v, len, SQLITE_STATIC) ==
		    SQLITE_OK ? DB_OK : DB_ERR;
	if ((p = slot(st, i)) == NULL || v == NULL)
		return DB_ERR;
	i--;
	/* Binary format: text's is its bytes, so no NUL is needed. */
	p->val[i] = v;
	p->len[i] = len < 0 ? (int)strlen(v) : len;
	p->fmt[i] = 1;
	p->type[i] = 25;         /* text */
	return DB_OK;
}

int
db_bind_blob(struct db_stmt *st, int i, const void *v, size_t len)
{
	struct pg_stmt *p;

	if (st->lite != NULL)
		return sqlite3_bind_blob64(st->lite, i, v, len,
		    SQLITE_STATIC) == SQLITE_OK ? DB_OK : DB_ERR;
	if ((p = slot(st, i)) == NULL || len > 0x7fffffff)
		return DB_ERR;
	i--;
	p->val[i] = len > 0 ? v : "";
	p->len[i] = (int)len;
	p->fmt[i] = 1;
	p->type[i] = 17;         /* bytea */
	return DB_OK;
}

int
db_step(struct db_stmt *st)
{
	if (st->lite != NULL) {
		int rc = sqlite3_step(st->lite);
		return rc == SQLITE_ROW || rc == SQLITE_DONE ? rc : DB_ERR;
	}
	return pg_step(st);
}

void
db_reset(struct db_stmt *st)
{
	if (st == NULL)
		return;
	if (st->lite != NULL) {
		sqlite3_reset(st->lite);
		sqlite3_clear_bindings(st->lite);
		return;
	}
	pg_reset(st);
}

long long
db_column_int64(struct db_stmt *st, int i)
{
	const char *v;

	if (st->lite != NULL)
		return sqlite3_column_int64(st->lite, i);
	v = pg_value(st, i);
	/* Integers and numeric sums arrive as decimal text; "t"/"f" are
	 * booleans. */
	if (v == NULL)
		return 0;
	if (v[0] == 't' && v[1] == '\0')
		return 1;
	return strtoll(v, NULL, 10);
}

int
db_column_int(struct db_stmt *st, int i)
{
	long long v = db_column_int64(st, i);

	return v > 0x7fffffff ? 0x7fffffff : v < -0x7fffffff ? -0x7fffffff :
	    (int)v;
}

const char *
db_column_text(struct db_stmt *st, int i)
{
	if (st->lite != NULL)
		return (const char *)sqlite3_column_text(st->lite, i);
	return pg_value(st, i);
}

const void *
db_column_blob(struct db_stmt *st, int i)
{
	int len;

	if (st->lite != NULL)
		return sqlite3_column_blob(st->lite, i);
	return pg_column_blob(st, i, &len);
}

int
db_column_bytes(struct db_stmt *st, int i)
{
	int len = 0;

	if (st->lite != NULL)
		return sqlite3_column_bytes(st->lite, i);
	if (pg_column_type(st, i) == DB_BLOB) {
		pg_column_blob(st, i, &len);
		return len;
	}
	return pg_column_length(st, i);
}

int
db_column_type(struct db_stmt *st, int i)
{
	if (st->lite != NULL)
		return sqlite3_column_type(st->lite, i);
	return pg_column_type(st, i);
}

int
db_column_count(struct db_stmt *st)
{
	if (st->lite != NULL)
		return sqlite3_column_count(st->lite);
	return pg_column_count(st);
}

long long
db_changes(struct db *d)
{
	return d->lite != NULL ? sqlite3_changes(d->lite) : d->changes;
}

long long
db_last_insert_id(struct db *d)
{
	return d->lite != NULL ? sqlite3_last_insert_rowid(d->lite) :
	    d->last_id;
}

const char *
db_errmsg(struct db *d)
{
	if (d == NULL)
		return "no database";
	return d->lite != NULL ? sqlite3_errmsg(d->lite) : d->err;
}

int
db_in_transaction(struct db *d)
{
	return d->lite != NULL ? !sqlite3_get_autocommit(d->lite) :
	    pg_in_transaction(d);
}

int
db_exec(struct db *d, const char *sql)
{
	char *msg = NULL;

	if (d->lite == NULL)
		return pg_exec(d, sql);
	if (sqlite3_exec(d->lite, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sqlite3_free(msg);
		return DB_ERR;
	}
	return DB_OK;
}

int
db_busy_timeout(struct db *d, int ms)
{
	if (d->lite != NULL)
		return sqlite3_busy_timeout(d->lite, ms) == SQLITE_OK ? DB_OK :
		    DB_ERR;
	return pg_busy_timeout(d, ms);
}
