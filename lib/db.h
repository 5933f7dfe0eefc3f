/* db.h - the store's two database engines behind one statement API: SQLite
 * (a file, the embedded default) and PostgreSQL (libpq, a URL: the shared
 * store of several hosts). The store's files prepare, bind, step and read
 * statements through it and never see which engine runs them; the SQL of
 * each statement is SQLite's, translated once for PostgreSQL (db_pg.c) or
 * given in a PostgreSQL form of its own. Included only by lib/store*.c and
 * lib/db*.c. */
#ifndef LC_DB_H
#define LC_DB_H

#include <stddef.h>

struct db;
struct db_stmt;

/* Results of db_step and the binds (SQLite's numbers, so that a SQLite
 * result passes through unchanged). */
#define DB_OK 0
#define DB_ERR 1
#define DB_ROW 100
#define DB_DONE 101

/* Column types (db_column_type), SQLite's numbers. */
#define DB_INTEGER 1
#define DB_FLOAT 2
#define DB_TEXT 3
#define DB_BLOB 4
#define DB_NULL 5

/* db_prepare's flags. DB_PERSISTENT: kept as long as the connection
 * (SQLite's hint). DB_STREAM: its rows may be many and big (a whole
 * conversation's export): PostgreSQL reads them through a cursor,
 * DB_STREAM_ROWS at a time, instead of the whole result at once; inside a
 * transaction of its own when none is open (no other statement may begin
 * or end one between its steps). SQLite steps rows one by one anyway. */
#define DB_PERSISTENT 1
#define DB_STREAM 2
#define DB_STREAM_ROWS 8

/* At most this many parameters in one statement. */
#define DB_PARAMS_MAX 32

/* Opens the SQLite file path (flags: SQLite's open flags) with a busy
 * timeout of busy_ms. Returns DB_OK with *out set (close with db_close), or
 * DB_ERR with a message in err; *out is NULL then. */
int db_open_sqlite(struct db **out, const char *path, int flags,
    int busy_ms, char *err, size_t errcap);

/* Connects to the PostgreSQL database at url (a libpq connection URI).
 * Returns DB_OK with *out set, or DB_ERR with a message in err (libpq's,
 * which never holds the password); *out is NULL then. lazy: a server that
 * does not answer is not an error: DB_OK, *out set, why in err, and the
 * first statement connects again (db_step's rule). */
int db_open_pg(struct db **out, const char *url, int lazy, char *err,
    size_t errcap);

/* 1 while the connection works (SQLite: always). */
int db_connected(struct db *d);

/* Closes the connection and frees it; NULL is allowed. Statements must be
 * finalized first. */
void db_close(struct db *d);

/* 1 for a PostgreSQL connection, 0 for SQLite. */
int db_is_pg(const struct db *d);

/* The SQLite handle (store_backup.c's whole-file copies), or NULL for
 * PostgreSQL. */
struct sqlite3 *db_sqlite(struct db *d);

/* Prepares sql (SQLite's dialect) or, on PostgreSQL, pg_sql when not NULL
 * (its own dialect), else sql, translated (db_pg.c: ?N and ? to $N, the
 * column user quoted; a $N or "user" already written stays). flags:
 * DB_PERSISTENT, DB_STREAM (above). Returns DB_OK with *out set (free with
 * db_finalize), or DB_ERR (db_errmsg says why). */
int db_prepare(struct db *d, const char *sql, const char *pg_sql, int flags,
    struct db_stmt **out);

/* Frees st; NULL is allowed. */
void db_finalize(struct db_stmt *st);

/* Binds parameter i (from 1). Text and blobs are not copied: they must stay
 * until the statement is reset. len < 0: v is NUL-terminated. Return DB_OK
 * or DB_ERR. */
int db_bind_int64(struct db_stmt *st, int i, long long v);
int db_bind_int(struct db_stmt *st, int i, int v);
int db_bind_null(struct db_stmt *st, int i);
int db_bind_text(struct db_stmt *st, int i, const char *v, int len);
int db_bind_blob(struct db_stmt *st, int i, const void *v, size_t len);

/* Runs st (its first call) and moves to its next row: DB_ROW, DB_DONE, or
 * DB_ERR (db_errmsg says why). On PostgreSQL the whole result arrives at
 * the first call; a connection found lost is reconnected and the
 * statement run again, once, when no transaction was open. */
int db_step(struct db_stmt *st);

/* Makes st ready to run again: its result and bindings dropped. NULL is
 * allowed. */
void db_reset(struct db_stmt *st);

/* The current row's column i (from 0). Text and blobs stay valid until the
 * next db_step or db_reset. A NULL reads as 0, NULL text, 0 bytes. */
long long db_column_int64(struct db_stmt *st, int i);
int db_column_int(struct db_stmt *st, int i);
const char *db_column_text(struct db_stmt *st, int i);
const void *db_column_blob(struct db_stmt *st, int i);
int db_column_bytes(struct db_stmt *st, int i);
int db_column_type(struct db_stmt *st, int i);
int db_column_count(struct db_stmt *st);

/* Rows the last finished INSERT, UPDATE or DELETE changed. */
long long db_changes(struct db *d);

/* The row id the last INSERT made (on PostgreSQL, of a statement whose
 * pg_sql ends "RETURNING id"). */
long long db_last_insert_id(struct db *d);

/* The last error's message (never NULL). */
const char *db_errmsg(struct db *d);

/* 1 while a transaction is open. */
int db_in_transaction(struct db *d);

/* Runs a script of statements without parameters. Returns DB_OK or DB_ERR
 * (db_errmsg says why). */
int db_exec(struct db *d, const char *sql);

/* How long a statement waits for another connection's lock, in ms
 * (PostgreSQL: lock_timeout). Returns DB_OK or DB_ERR. */
int db_busy_timeout(struct db *d, int ms);

/* Translates SQLite's sql for PostgreSQL into out (cap bytes): ?N and ? to
 * $N, the identifier user to "user", string literals untouched. Returns
 * the number of parameters, or -1 when out is too small or a parameter is
 * past DB_PARAMS_MAX. Pure (tests/unit/test-db.c). */
int db_pg_translate(const char *sql, char *out, size_t cap);

#endif
