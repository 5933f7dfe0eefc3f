/* store_int.h - what the store's files share and nobody else sees: the
 * connection, the one table of statements, and the helpers that prepare,
 * bind, run and release them. Included only by lib/store*.c. */
#ifndef LC_STORE_INT_H
#define LC_STORE_INT_H

#include "db.h"
#include "store.h"

/* Every statement the store runs, by the file that runs it; their SQL is
 * one table in store.c. */
enum stmt {
	/* store.c: transactions */
	ST_BEGIN,
	ST_COMMIT,
	ST_ROLLBACK,
	/* store_conv.c: conversations and messages */
	ST_CONV_CREATE,
	ST_CONV_OWNED,
	ST_CONV_RENAME,
	ST_CONV_DELETE,
	ST_CONV_TOUCH,
	ST_CONV_LIST,
	ST_CONV_MESSAGES,
	ST_CONV_PAGE,
	ST_CONV_GET,
	ST_CONV_SYSTEM,
	ST_CONV_TURNS,
	ST_CONV_RECENT,
	ST_MSG_ADD,
	ST_MSG_UPDATE,
	ST_CONV_LEAF,
	ST_CONV_SET_LEAF,
	ST_MSG_GET,
	ST_MSG_NEWEST_CHILD,
	ST_MSG_SIBLINGS,
	ST_CONV_TREE,
	ST_PATH_BELOW,
	ST_MARK_INTERRUPTED,
	ST_USER_DELETE,
	ST_USER_MOVE,
	ST_USER_PURGE,
	/* store_login.c: failed logins */
	ST_LOGIN_CHECK,
	ST_LOGIN_FAIL,
	ST_LOGIN_PRUNE,
	ST_LOGIN_CLEAR,
	ST_LOGIN_TRUST,
	ST_LOGIN_TRUST_PRUNE,
	ST_LOGIN_TRUSTED,
	/* store_session.c: login sessions */
	ST_SESS_CREATE,
	ST_SESS_GET,
	ST_SESS_TOUCH,
	ST_SESS_REVOKE,
	ST_SESS_REVOKE_PUB,
	ST_SESS_REVOKE_USER,
	ST_SESS_LIST,
	ST_SESS_PURGE,
	/* store_quota.c: storage quotas */
	ST_QUOTA_USAGE,
	ST_QUOTA_CONV,
	ST_QUOTA_GET,
	ST_QUOTA_SET,
	ST_QUOTA_CLEAR,
	ST_QUOTA_LIST,
	/* store_backup.c: copies and checks of whole databases */
	ST_INTEGRITY,
	ST_SCHEMA_VERSION,
	ST_TABLES,
	ST_COUNTS,
	ST_JOURNAL_DELETE,
	ST_STREAMING,
	/* store_health.c: /health's write, the FastCGI programs' counters */
	ST_HEALTH_WRITE,
	ST_COUNTER_ADD,
	ST_COUNTER_LIST,
	/* store_attach.c: attachments (and store_conv.c's user deletion) */
	ST_ATT_ADD,
	ST_ATT_GET,
	ST_ATT_DELETE,
	ST_ATT_BIND,
	ST_ATT_COPY,
	ST_ATT_OF_MESSAGE,
	ST_ATT_PURGE,
	ST_ATT_USER_DELETE,
	ST_ATT_USER_MOVE,
	ST_ATT_USER_PURGE,
	/* store_usage.c: the usage ledger and budget limits (and
	 * store_conv.c's interrupted replies) */
	ST_USAGE_ADD,
	ST_USAGE_SUM_USER,
	ST_USAGE_SUM_ALL,
	ST_USAGE_REPORT_USER,
	ST_USAGE_REPORT_MODEL,
	ST_USAGE_REPORT_DAY,
	ST_USAGE_TOTALS,
	ST_USAGE_INTERRUPTED,
	ST_LIMITS_GET,
	ST_LIMITS_SET,
	ST_LIMITS_CLEAR,
	ST_LIMITS_LIST,
	/* store_lease.c: the workers' leases, the replies nobody writes */
	ST_LEASE_RENEW,
	ST_LEASE_DROP,
	ST_ORPHANS,
	ST_ORPHAN_MARK,
	ST_USAGE_ORPHAN,
	ST_LEASES_PRUNE,
	ST__MAX
};

/* How long a statement waits for another connection's lock. */
#define STORE_BUSY_MS 10000

struct store {
	struct db *db;                 /* SQLite or PostgreSQL (db.h) */
	struct db_stmt *st[ST__MAX];   /* prepared on first use, kept */
	char worker[STORE_WORKER_MAX + 1];   /* store_set_worker's id */
	int ready;                     /* its schema checked (migrate) */
	long long tried_ms;            /* not ready: the last attempt */
	long long said_ms;             /* not ready: the last log line */
};

/* Opens the database file at path as it is: no migration, no journal
 * mode or pragmas set, only the busy timeout (for copies and checks of
 * whole files: store_backup.c). readonly: SQLITE_OPEN_READONLY, else
 * read-write, creating the file. Returns STORE_OK with *out set (close with
 * store_close), or STORE_ERR with a message in err. */
int store_open_plain(struct store **out, const char *path, int readonly,
    char *err, size_t errcap);

/* The version this build's schema has (SQLite: PRAGMA user_version;
 * PostgreSQL: table lightchat_schema). */
#define STORE_SCHEMA_VERSION 11

/* Milliseconds since the epoch: ordering by update time needs more than
 * seconds. */
long long store_now_ms(void);

/* Logs what failed with the database's message; returns STORE_ERR. */
int store_db_fail(struct store *s, const char *what);

/* Gets statement id of s into *st, prepared on first use. Returns STORE_OK,
 * or STORE_ERR (logged; *st NULL) for a NULL store or a failed prepare.
 * The caller hands *st back with store_release on every path, so that no
 * statement keeps a read snapshot open or bindings of a previous call. */
int store_prep(struct store *s, enum stmt id, struct db_stmt **st);

/* Makes a statement from store_prep ready for its next use; NULL is
 * allowed. */
void store_release(struct db_stmt *st);

/* For a bind that failed: releases st, logs, returns STORE_ERR. */
int store_bind_fail(struct store *s, struct db_stmt *st);

/* Binds v (NUL-terminated) to parameter i without copying it: every
 * statement is stepped and released before the function that bound it
 * returns. Returns 0 or -1. */
int store_bind_text(struct db_stmt *st, int i, const char *v);

/* Appends one row of st to list as an object; 0, or -1 (no memory, a NULL
 * column that may not be). */
typedef int (*store_row_json_fn)(cJSON *list, struct db_stmt *st);

/* Steps st (prepared and bound) to its end, row(list, st) for each row, and
 * releases it: *out gets the array, which the caller deletes. Returns
 * STORE_OK, or STORE_ERR (*out NULL; a failed step logged with what). */
int store_rows_json(struct store *s, struct db_stmt *st, store_row_json_fn row,
    const char *what, cJSON **out);

/* Steps st, which returns no rows, and releases it. Returns STORE_OK or
 * STORE_ERR (logged with what). */
int store_run_done(struct store *s, struct db_stmt *st, const char *what);

#endif
