/* db_int.h - the insides of db.h's connection and statement, shared by
 * db.c (the SQLite side and the dispatch) and db_pg.c (PostgreSQL). */
#ifndef LC_DB_INT_H
#define LC_DB_INT_H

#include <sqlite3.h>

#include "pq.h"

#include "db.h"

struct db {
	sqlite3 *lite;           /* one of the two is set */
	PGconn *pg;
	char *url;               /* PostgreSQL: to connect again */
	int lost;                /* PostgreSQL: the connection was lost (logged) */
	int tx;                  /* PostgreSQL: a transaction is open */
	long long changes;       /* PostgreSQL: the last statement's */
	long long last_id;
	char err[256];           /* PostgreSQL: the last error */
};

/* A PostgreSQL statement: its SQL, the values bound (binary format), the
 * whole result of its run and the row read. */
struct pg_stmt {
	char *sql;
	int nparams;
	int returns_id;          /* its SQL ends "RETURNING id": a write */
	const char *val[DB_PARAMS_MAX];
	int len[DB_PARAMS_MAX];
	int fmt[DB_PARAMS_MAX];
	unsigned int type[DB_PARAMS_MAX];
	unsigned char num[DB_PARAMS_MAX][8];   /* int8 values, big-endian */
	PGresult *res;
	int row;                 /* -1 before the first step */
	int done;                /* the run is over: DB_DONE from now on */
	int stream;              /* DB_STREAM: read through a cursor */
	int cursor_open;
	int own_tx;              /* the cursor's transaction is its own */
	char cursor[24];
	unsigned char *blob[DB_PARAMS_MAX];    /* decoded bytea columns */
	size_t blob_len[DB_PARAMS_MAX];
};

/* One of lite and pg is set: a SQLite statement costs no PostgreSQL
 * state (1.5 KB each, ~90 statements per connection). */
struct db_stmt {
	struct db *db;
	sqlite3_stmt *lite;
	struct pg_stmt *pg;
};

/* db_pg.c's side of db.c's calls (st and d on PostgreSQL). */
int pg_open(struct db *d, const char *url, char *err, size_t errcap);
void pg_close(struct db *d);
int pg_connected(struct db *d);
int pg_prepare(struct db *d, const char *sql, const char *pg_sql, int flags,
    struct db_stmt *st);
void pg_finalize(struct db_stmt *st);
int pg_step(struct db_stmt *st);
void pg_reset(struct db_stmt *st);
int pg_column_type(struct db_stmt *st, int i);
/* Column i's value as text, or NULL (a NULL, or no such column or row);
 * its length in bytes; the number of columns. */
const char *pg_value(struct db_stmt *st, int i);
int pg_column_length(struct db_stmt *st, int i);
int pg_column_count(struct db_stmt *st);
const void *pg_column_blob(struct db_stmt *st, int i, int *len);
int pg_in_transaction(struct db *d);
int pg_exec(struct db *d, const char *sql);
int pg_busy_timeout(struct db *d, int ms);

#endif
