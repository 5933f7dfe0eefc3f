/* store.h - conversations, their messages and failed logins in SQLite.
 *
 * The worker writes (new conversations, prompts, replies as they stream);
 * the FastCGI program reads, renames, deletes and exports. WAL mode and a
 * busy timeout let both work at once; the schema is versioned with
 * PRAGMA user_version and migrated by whoever opens the database first.
 * Every statement binds its parameters. Results meant for clients are
 * returned as cJSON values the caller deletes. Every function but
 * store_open accepts a NULL store (a database that could not be opened)
 * and then fails with STORE_ERR. Storage only: what goes into a reply's
 * context is the worker's policy (worker/context.c). Implemented in
 * store.c (connection, schema, statements, transactions), store_conv.c
 * (conversations and messages), store_login.c (failed logins) and
 * store_session.c (login sessions), store_quota.c (storage use and
 * quotas), store_backup.c (copies of the whole database) and
 * store_health.c (/health's write, the /metrics counters),
 * store_attach.c (attachments), store_usage.c (the usage ledger and
 * budget limits), store_migrate.c (a SQLite database moved to
 * PostgreSQL). */
#ifndef LC_STORE_H
#define LC_STORE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "budget.h"
#include "id.h"
#include "usage.h"

#define STORE_TITLE_MAX 200      /* bytes of a title */

enum store_err {
	STORE_OK = 0,
	STORE_NOT_FOUND = -1,   /* no such row, or not this user's */
	STORE_ERR = -2,         /* SQLite failed (logged) */
	STORE_INVALID = -3,     /* an argument out of range */
	STORE_LIMITED = -4,     /* too many failed logins */
};

/* A message's state. */
#define STORE_COMPLETE "complete"
#define STORE_STREAMING "streaming"
#define STORE_STOPPED "stopped"
#define STORE_ERROR "error"
#define STORE_INTERRUPTED "interrupted"

struct store;

/* Opens (creating and migrating) the database at path: a file (SQLite, the
 * embedded default), or a URL "postgresql://..." or "postgres://..."
 * (PostgreSQL through libpq: the shared store of several hosts, issue 17;
 * the same tables, statements and migrations). Returns STORE_OK with *out
 * set (close with store_close), or STORE_ERR with a message in err (never
 * the URL's password). */
int store_open(struct store **out, const char *path, char *err,
    size_t errcap);

/* As store_open, for the programs that serve (the worker, the FastCGI
 * program): a PostgreSQL server that does not answer yet is not an error.
 * Returns STORE_OK with *out set and err saying why it is not ready (err[0]
 * is '\0' when it is): each use of the store tries again, at most once a
 * second, and fails cleanly (STORE_ERR) until the server answers and the
 * schema is checked. STORE_ERR otherwise, as store_open. */
int store_open_retrying(struct store **out, const char *path, char *err,
    size_t errcap);

/* Closes the database; NULL is allowed. */
void store_close(struct store *s);

/* Transactions, so that the several writes of one step (a prompt's start,
 * a reply's end, a periodic save) cost one commit. store_begin takes the
 * write lock at once (BEGIN IMMEDIATE) and returns STORE_OK or STORE_ERR;
 * store_commit returns STORE_OK, or STORE_ERR after rolling back;
 * store_rollback undoes everything since store_begin (no-op outside a
 * transaction). */
int store_begin(struct store *s);
int store_commit(struct store *s);
void store_rollback(struct store *s);

/* Creates a conversation for user. id gets its new id (id.h). */
int store_conv_create(struct store *s, const char *user, const char *title,
    const char *model, const char *system_prompt, char id[ID_LEN + 1]);

/* Returns STORE_OK if conversation id exists and belongs to user. */
int store_conv_owned(struct store *s, const char *id, const char *user);

/* Renames user's conversation id (title: 1..STORE_TITLE_MAX bytes). */
int store_conv_rename(struct store *s, const char *id, const char *user,
    const char *title);

/* Deletes user's conversation id and its messages. */
int store_conv_delete(struct store *s, const char *id, const char *user);

/* Sets the conversation's model, its system prompt (NULL keeps it) and its
 * update time. */
int store_conv_touch(struct store *s, const char *id, const char *model,
    const char *system_prompt);

/* Lists user's conversations, most recently updated first: at most limit
 * (1..100) after the cursor (NULL or "" for the first page), whose title or
 * any message contains query (NULL or "" for all). *out gets
 * {"conversations":[{id,title,model,created_at,updated_at}],"next":cursor|null}. */
int store_conv_list(struct store *s, const char *user, const char *query,
    int limit, const char *cursor, cJSON **out);

/* Gets user's conversation with all its messages: {id,title,model,
 * system_prompt,created_at,updated_at,messages:[{id,role,content,state,
 * model,created_at,updated_at,usage?,error?,parent_id}]} (the current
 * path only, see Versions below). The whole conversation in
 * memory: for tests and small ones; clients get store_conv_page, exports
 * store_conv_head and store_conv_each. */
int store_conv_get(struct store *s, const char *id, const char *user,
    cJSON **out);

/* A page of messages: at most STORE_PAGE_MAX of them (a client's REST
 * default is STORE_PAGE_DEFAULT), and no more than STORE_PAGE_BYTES of
 * contents unless one message alone is larger (a page holds at least one):
 * so that a response is a few MiB, whatever the conversation's size. */
#define STORE_PAGE_DEFAULT 50
#define STORE_PAGE_MAX 200
#define STORE_PAGE_BYTES ((size_t)8 << 20)

/* Gets user's conversation with a page of its messages: the newest limit
 * (1..STORE_PAGE_MAX; fewer past STORE_PAGE_BYTES) of those whose id is
 * below before (before <= 0: the newest of all), oldest first, as in
 * store_conv_get (the current path's), each with "siblings":{"index",
 * "count","ids"} (its versions, oldest first, itself included), "tree":
 * [{id,parent_id,role}] of every message, and "has_more" (true when older
 * messages of the path exist) and
 * "before" (then the oldest id of the page, the next call's before; null
 * otherwise). Returns STORE_OK with *out set (the caller deletes it),
 * STORE_NOT_FOUND, STORE_INVALID (limit out of range) or STORE_ERR (*out
 * NULL then). */
int store_conv_page(struct store *s, const char *id, const char *user,
    long long before, int limit, cJSON **out);

/* Gets user's conversation without its messages: {id,title,model,
 * system_prompt,created_at,updated_at}. Returns STORE_OK with *out set
 * (the caller deletes it), STORE_NOT_FOUND or STORE_ERR. */
int store_conv_head(struct store *s, const char *id, const char *user,
    cJSON **out);

/* Called by store_conv_each with one message, shaped as in
 * store_conv_get; it is valid only during the call (the caller keeps a
 * copy if it needs one). Returns 0 for the next message, 1 to stop, -1 to
 * fail. */
typedef int (*store_msg_fn)(void *arg, const cJSON *msg);

/* Calls fn(arg, msg) for each message of conversation conv_id's current
 * path (its owner checked by the caller, e.g. with store_conv_head), oldest
 * first, one
 * message in memory at a time. Returns STORE_OK (also when fn stopped, or
 * there is no such conversation), or STORE_ERR when SQLite or memory
 * failed (logged) or fn returned -1. */
int store_conv_each(struct store *s, const char *conv_id, store_msg_fn fn,
    void *arg);

/* Adds a message; *msg_id gets its row id (may be NULL). Returns STORE_OK,
 * STORE_INVALID for a role or state the schema does not allow, or
 * STORE_ERR. */
int store_msg_add(struct store *s, const char *conv_id, const char *role,
    const char *content, size_t len, const char *state, const char *model,
    long long *msg_id);

/* A message's reasoning (schema v7), for store_msg_update: text of len
 * bytes ("" with 0: none), and ms from its first byte to the answer's
 * first (-1: unknown, stored NULL). */
struct store_reasoning {
	const char *text;
	size_t len;
	long long ms;
};

/* Updates a message's content and state, with its reasoning (NULL: none,
 * stored ""), usage and error code when known (NULL otherwise). The
 * reasoning's bytes count in the storage counters like the content's.
 * Returns STORE_OK, STORE_INVALID for a state the schema does not allow,
 * or STORE_ERR. */
int store_msg_update(struct store *s, long long msg_id, const char *content,
    size_t len, const struct store_reasoning *reasoning, const char *state,
    const struct lc_usage *usage, const char *error_code);

/* Gets conversation conv_id's system prompt: *out gets a malloc'd copy
 * ("" when it has none) that the caller frees. Returns STORE_OK,
 * STORE_NOT_FOUND (no such conversation; *out NULL) or STORE_ERR (*out
 * NULL). */
int store_conv_system(struct store *s, const char *conv_id, char **out);

/* Called by store_conv_turns with one message: its row id, its role and
 * its content, len bytes followed by a NUL (content may hold a NUL before
 * len: the column allows any bytes). Both are valid only during the call.
 * Returns 0 for the next message, 1 to stop, -1 to fail. */
typedef int (*store_turn_fn)(void *arg, long long id, const char *role,
    const char *content, size_t len);

/* The turns a reply is built on: calls fn(arg, ...) for the user messages
 * (any state) of conversation conv_id's current path (its versions shown;
 * never the other versions) and its assistant messages in state
 * complete or stopped, newest first, at most limit of them (limit < 1:
 * none). System messages and failed, streaming or interrupted replies are
 * left out. Returns STORE_OK (also when fn stopped, or there is no such
 * message or conversation), or STORE_ERR when SQLite failed (logged) or
 * fn returned -1. */
int store_conv_turns(struct store *s, const char *conv_id, int limit,
    store_turn_fn fn, void *arg);

/* Gets the ids of user's most recently updated conversations, newest
 * first, at most max of them, into ids (max elements); *n gets how many.
 * Returns STORE_OK or STORE_ERR (*n 0 then). */
int store_conv_recent(struct store *s, const char *user, int max,
    char (*ids)[ID_LEN + 1], int *n);

/* Versions (schema v9): a conversation's messages form a tree by their
 * parent; the conversation's current leaf is where the path it shows, and
 * continues from, ends. store_msg_add adds under the current leaf and
 * makes the new message the leaf; to branch, the caller first moves the
 * leaf (store_conv_set_leaf) to the parent the new message should have.
 * store_conv_page, store_conv_each, store_conv_get and store_conv_turns
 * read the current path only. */

/* Sets *leaf to conversation conv_id's current leaf (0: no messages, or no
 * such conversation). Returns STORE_OK or STORE_ERR. */
int store_conv_leaf(struct store *s, const char *conv_id, long long *leaf);

/* Makes message leaf (0: none, for a branch before the first message)
 * conversation conv_id's current leaf; the caller checked the owner and
 * that leaf is conv_id's. Returns STORE_OK or STORE_ERR. */
int store_conv_set_leaf(struct store *s, const char *conv_id, long long leaf);

/* Gets message msg_id of conversation conv_id: role gets its role,
 * *parent its parent (0: none). Returns STORE_OK, STORE_NOT_FOUND (no such
 * message in conv_id) or STORE_ERR. */
int store_msg_get(struct store *s, const char *conv_id, long long msg_id,
    char role[16], long long *parent);

/* Makes current the path through message msg_id of user's conversation
 * conv_id, down its newest children: *leaf gets the new leaf. Returns
 * STORE_OK, STORE_NOT_FOUND (not user's conversation, or no such message
 * in it) or STORE_ERR. */
int store_conv_switch(struct store *s, const char *conv_id, const char *user,
    long long msg_id, long long *leaf);

/* Sets *n to the number of messages of conv_id's current path below
 * message ancestor (0: the whole path), i.e. what a branch from ancestor
 * takes out of view. Returns STORE_OK or STORE_ERR. */
int store_path_below(struct store *s, const char *conv_id, long long ancestor,
    int *n);

/* Marks every message still "streaming" as "interrupted" (at worker start)
 * and, in the same transaction, adds each to the usage ledger (a reply the
 * worker did not see end: its stored text and reasoning estimated as the
 * completion, its prompt unknown and counted 0, estimated, no cost, its
 * upstream ""), at the current time and its local day. Returns the number marked, or
 * STORE_ERR. */
int store_mark_interrupted(struct store *s);

/* 1 when path names a PostgreSQL database (a postgresql:// or postgres://
 * URL), else 0 (a SQLite file). */
int store_path_is_pg(const char *path);

/* 1 when s is a PostgreSQL store (shared by several hosts), 0 for SQLite or
 * NULL. */
int store_is_shared(const struct store *s);

/* Several workers on one database (issue 17). Each worker has an id
 * (worker_id, unique among the hosts) and holds a lease: a row in table
 * workers that it renews, until_ms its end. The replies a worker starts
 * are stored with its id (store_set_worker first), so that a surviving
 * worker can end them when the lease runs out. */

/* Makes s store id (copied, at most STORE_WORKER_MAX bytes; "" or NULL:
 * none) as the worker of the streaming replies it adds from now on.
 * Returns STORE_OK, or STORE_INVALID for a too long id. */
#define STORE_WORKER_MAX 64
int store_set_worker(struct store *s, const char *id);

/* Takes or renews worker id's lease until until_ms (now_ms: now). Returns
 * STORE_OK or STORE_ERR. */
int store_lease_renew(struct store *s, const char *id, long long now_ms,
    long long until_ms);

/* Gives up worker id's lease (a clean stop, after its replies ended).
 * Returns STORE_OK or STORE_ERR. */
int store_lease_drop(struct store *s, const char *id);

/* One reply store_interrupt_orphans ended: its owner, conversation and
 * message id (valid during the call only). */
typedef void (*store_orphan_fn)(void *arg, const char *user,
    const char *conversation_id, long long message_id);

/* Ends the replies nobody writes any more: every "streaming" message
 * whose worker is self and that was made before now_ms (at a worker's
 * start: what it wrote before it restarted is lost; self NULL in the
 * periodic sweeps), or whose worker's lease
 * ended before now_ms, or that names no worker (at most 256 a call: the
 * next takes the rest); each is marked interrupted and added to the usage ledger
 * as store_mark_interrupted does, one transaction, and the expired leases
 * are dropped. fn(arg, ...) is called for each after the commit (fn may be
 * NULL). Returns the number ended, or STORE_ERR. */
int store_interrupt_orphans(struct store *s, const char *self,
    long long now_ms, store_orphan_fn fn, void *arg);

/* A deleted user's conversations and their messages. store_user_delete
 * deletes them; store_user_keep_apart moves them under the owner
 * "~deleted~<now>~user", which no login can have (username_valid refuses
 * '~'); store_user_purge deletes what was kept apart of user (NULL: of
 * everyone). Each sets *n (may be NULL) to the number of conversations.
 * Returns STORE_OK or STORE_ERR. */
int store_user_delete(struct store *s, const char *user, int *n);
int store_user_keep_apart(struct store *s, const char *user, long long now,
    int *n);
int store_user_purge(struct store *s, const char *user, int *n);

/* Login rate limiting, shared by every FastCGI process through the
 * database. key names what is limited ("user:alice", "addr:192.0.2.1",
 * "dev:<id>"). store_login_count sets *count to key's failures within the
 * last window_s seconds and *last_ms to the last one's time (ms since the
 * epoch; 0 without failures). Returns STORE_OK or STORE_ERR (then the
 * caller cannot know, and must not assume none). */
int store_login_count(struct store *s, const char *key, long window_s,
    int *count, long long *last_ms);

/* Records a failed login for key (and forgets failures older than
 * window_s). */
int store_login_fail(struct store *s, const char *key, long window_s);

/* Forgets key's failures (after a successful login). */
int store_login_clear(struct store *s, const char *key);

/* Records a successful login for key ("ok:alice|192.0.2.1"), forgetting
 * successes older than window_s. Returns STORE_OK or STORE_ERR. */
int store_login_trust(struct store *s, const char *key, long window_s);

/* Returns STORE_OK if key had a successful login within the last window_s
 * seconds, STORE_NOT_FOUND if not, STORE_ERR. */
int store_login_trusted(struct store *s, const char *key, long window_s);

/* Login sessions: one row a login, named by the sid its token carries
 * (lib/token.h). Times are seconds since the epoch. */
#define STORE_CLIENT_MAX 200     /* bytes of a session's client (User-Agent) */
#define STORE_ADDR_MAX 64        /* bytes of a session's address */

enum store_session_state {
	STORE_SESSION_ACTIVE = 0,
	STORE_SESSION_UNKNOWN,   /* no such sid (or another user's) */
	STORE_SESSION_REVOKED,   /* logged out or revoked */
	STORE_SESSION_EXPIRED,   /* past its expiry */
	STORE_SESSION_IDLE,      /* not "remember me" and unused too long */
};

/* Records a new session sid of user from now until expires_at, from addr
 * and client (NULL allowed; cut to STORE_ADDR_MAX / STORE_CLIENT_MAX bytes,
 * control characters replaced by '?'). Returns STORE_OK or STORE_ERR. */
int store_session_create(struct store *s, const char *sid, const char *user,
    long long now, long long expires_at, const char *addr,
    const char *client, int remember);

/* Looks session sid of user up at time now: *state gets its state (a
 * session not "remember me" is idle when unused for idle_s seconds) and
 * *last_seen (may be NULL) when it was last used. Returns STORE_OK, or
 * STORE_ERR (state STORE_SESSION_UNKNOWN then). */
int store_session_check(struct store *s, const char *sid, const char *user,
    long long now, long idle_s, enum store_session_state *state,
    long long *last_seen);

/* Sets session sid's last use to now (never backwards). Callers write at
 * most once in a while (lib/session_check.c). */
int store_session_touch(struct store *s, const char *sid, long long now);

/* Ends session sid (only if it is user's, when user is not NULL). Returns
 * STORE_OK, STORE_NOT_FOUND (no such active session) or STORE_ERR. */
int store_session_revoke(struct store *s, const char *sid, const char *user,
    long long now);

/* Ends user's session by its public id (the "id" of store_session_list).
 * Returns STORE_OK, STORE_NOT_FOUND (none such of user's active) or
 * STORE_ERR. */
int store_session_revoke_pub(struct store *s, const char *pub,
    const char *user, long long now);

/* Ends every session of user (NULL: everyone's, for a new token key) but
 * except_sid (NULL: all). *n (may be NULL) gets how many ended. Returns STORE_OK or STORE_ERR. */
int store_session_revoke_user(struct store *s, const char *user,
    const char *except_sid, long long now, int *n);

/* Lists the active sessions of user (NULL: everyone's) at time now, by user
 * then most recently used: *out gets [{sid,user,created_at,last_seen,
 * expires_at,addr,client,remember,id}] (a cJSON array the caller deletes;
 * id is the session's public id, made at random with it: show that, never
 * the sid).
 * Returns STORE_OK or STORE_ERR (*out NULL). */
int store_session_list(struct store *s, const char *user, long long now,
    long idle_s, cJSON **out);

/* Deletes the rows of sessions that ended more than a day before now.
 * Returns the number deleted, or STORE_ERR. */
int store_session_purge(struct store *s, long long now, long idle_s);

/* Storage use and quotas. The counters are kept by the schema's triggers
 * in the transaction of every write, so reading them is one row; bytes
 * are those of the messages' contents. */
struct store_usage {
	long long conversations;
	long long messages;
	long long bytes;
};

/* Sets *u to user's use (all zero when user has nothing stored). Returns
 * STORE_OK or STORE_ERR (*u zero then). */
int store_quota_usage(struct store *s, const char *user,
    struct store_usage *u);

/* Sets *messages and *bytes to conversation conv_id's. Returns STORE_OK,
 * STORE_NOT_FOUND (no such conversation) or STORE_ERR; both 0 unless
 * STORE_OK. */
int store_quota_conv(struct store *s, const char *conv_id,
    long long *messages, long long *bytes);

/* Sets *bytes to user's own quota. Returns STORE_OK, STORE_NOT_FOUND (user
 * has the configured default; *bytes -1) or STORE_ERR (*bytes -1). */
int store_quota_get(struct store *s, const char *user, long long *bytes);

/* Gives user a quota of their own of bytes (>= 0), or with bytes < 0 the
 * configured default again. Returns STORE_OK or STORE_ERR. */
int store_quota_set(struct store *s, const char *user, long long bytes);

/* Lists every user with something stored or a quota of their own, by
 * name: *out gets [{user,conversations,messages,bytes,quota}] (quota null
 * for the default), a cJSON array the caller deletes. Returns STORE_OK or
 * STORE_ERR (*out NULL). */
int store_quota_list(struct store *s, cJSON **out);

/* Usage accounting (schema v10, store_usage.c; issue 16). Every reply
 * that reached the upstream leaves one row in the ledger, table usage:
 * who, when (its local day), which model and upstream, how it ended, its
 * tokens (the upstream's usage, or an estimate marked so) and its cost
 * (NULL when the model has no price). The ledger is never changed or
 * deleted (not with a conversation, not with its user: the bill stands),
 * so budgets cannot be reset by deleting chats; a trigger keeps table
 * usage_totals (per user and model, for /metrics) in the same
 * transaction. Budget sums read the ledger through its (user, day) and
 * (day) indexes. */
struct store_usage_row {
	const char *user;
	const char *model;
	const char *upstream;         /* its name in the model table; "" :
	                               * unknown (store_mark_interrupted) */
	const char *outcome;          /* STORE_COMPLETE, _STOPPED, _ERROR or
	                               * _INTERRUPTED */
	const char *conversation_id;  /* NULL or "": not stored (seed shape
	                               * without a database row) */
	long long message_id;         /* the reply's row, 0: none */
	long long at;                 /* unix seconds of its end */
	const char *day;              /* budget_date(at): "YYYY-MM-DD" */
	long long prompt_tokens, completion_tokens, reasoning_tokens;
	int estimated;                /* 1: the upstream reported no usage */
	long long cost_micros;        /* -1: the model has no price */
};

/* Appends r to the ledger (inside the caller's transaction when one is
 * open). Returns STORE_OK, STORE_INVALID (a NULL or empty user, model,
 * outcome or day, a negative count) or STORE_ERR. */
int store_usage_add(struct store *s, const struct store_usage_row *r);

/* Sums the ledger's rows of user (NULL: every user's) whose day is >=
 * since_day ("YYYY-MM-DD"): *tokens gets prompt + completion tokens,
 * *cost_micros the cost of the priced ones. Returns STORE_OK (both 0
 * when none) or STORE_ERR (both 0). */
int store_usage_sum(struct store *s, const char *user, const char *since_day,
    long long *tokens, long long *cost_micros);

/* What user (NULL: the whole site) used in the periods of *p:
 * out->v[BUDGET_DAY] since p->day, out->v[BUDGET_MONTH] since
 * p->month_first, tokens and money (store_usage_sum each), ready for
 * budget_check. Returns STORE_OK or STORE_ERR (*out zeroed). */
int store_usage_used(struct store *s, const char *user,
    const struct budget_periods *p, struct budget_used *out);

/* The ledger grouped by "user", "model" or "day", rows with since_day <=
 * day <= until_day (either NULL: unbounded), by key: *out gets
 * [{key,replies,prompt_tokens,completion_tokens,reasoning_tokens,
 * total_tokens,cost_micros,priced,estimated}] (cost_micros summed over the
 * priced replies, priced and estimated counting replies), a cJSON array
 * the caller deletes. Returns STORE_OK, STORE_INVALID (another by) or
 * STORE_ERR (*out NULL). */
int store_usage_report(struct store *s, const char *by, const char *since_day,
    const char *until_day, cJSON **out);

/* Called by store_usage_totals with one user and model's totals since the
 * ledger began; non-zero stops. */
typedef int (*store_usage_total_fn)(void *arg, const char *user,
    const char *model, long long replies, long long prompt_tokens,
    long long completion_tokens, long long reasoning_tokens,
    long long cost_micros);

/* Calls fn for each row of usage_totals, by user then model. Returns
 * STORE_OK, fn's non-zero value, or STORE_ERR. */
int store_usage_totals(struct store *s, store_usage_total_fn fn, void *arg);

/* A user's own budget limits (table user_limits): *own gets them, each
 * BUDGET_DEFAULT when not set (also for a user without a row). Returns
 * STORE_OK or STORE_ERR (*own all BUDGET_DEFAULT). */
int store_limits_get(struct store *s, const char *user,
    struct budget_limits *own);

/* Sets user's own limits to *own (values BUDGET_DEFAULT, BUDGET_NONE or
 * > 0); a user whose every value is BUDGET_DEFAULT loses their row.
 * Returns STORE_OK, STORE_INVALID (a value out of range) or STORE_ERR. */
int store_limits_set(struct store *s, const char *user,
    const struct budget_limits *own);

/* Lists the users with limits of their own, by name: *out gets
 * [{user,day_tokens,day_cost_micros,month_tokens,month_cost_micros}]
 * (null for a value not set, 0 for "none"), a cJSON array the caller
 * deletes. Returns STORE_OK or STORE_ERR (*out NULL). */
int store_limits_list(struct store *s, cJSON **out);

/* Attachments (schema v8, store_attach.c): a file a user uploaded, kept
 * whole in the database with its owner, counted in the owner's storage
 * use (store_quota_usage's bytes), bound to the user message that sent it
 * and deleted with its conversation; an unused one (bound to no message)
 * is purged after a day. Another user's id is STORE_NOT_FOUND everywhere,
 * like a conversation. */
#define STORE_ATTACH_NAME_MAX 255   /* bytes of a file name */
/* How long an attachment no prompt used is kept (store_attach_purge's
 * keep_ms, at each upload and hourly in the worker). */
#define STORE_ATTACH_KEEP_MS (24LL * 3600 * 1000)

struct store_attach {
	char id[ID_LEN + 1];
	char kind[8];          /* "image" or "text" */
	char mime[64];         /* "image/png", "text/plain" */
	char name[STORE_ATTACH_NAME_MAX + 1];
	long long bytes;       /* of data */
	int width, height;     /* images; 0 for text */
	char *data;            /* store_attach_get: malloc'd, bytes long plus a
	                        * NUL (the caller frees it); NULL elsewhere */
	char conv[ID_LEN + 1]; /* the conversation that used it, or "" */
	long long msg_id;      /* the message that used it, or 0 */
};

/* Stores a new attachment of user: a->kind, mime, name, width, height as
 * given, data of len bytes (a->data and a->bytes are not read). a->id gets
 * its new id. Returns STORE_OK, STORE_INVALID (an empty or over-long name
 * or kind) or STORE_ERR. */
int store_attach_add(struct store *s, const char *user,
    struct store_attach *a, const void *data, size_t len);

/* Gets user's attachment id into *a, its data in a malloc'd copy when
 * with_data (a->data NULL otherwise). Returns STORE_OK (the caller frees
 * a->data), STORE_NOT_FOUND (none such of user's; a->data NULL) or
 * STORE_ERR. */
int store_attach_get(struct store *s, const char *id, const char *user,
    int with_data, struct store_attach *a);

/* Deletes user's attachment id if no message used it. Returns STORE_OK,
 * STORE_NOT_FOUND (none such of user's), STORE_INVALID (a message used
 * it: it goes with its conversation) or STORE_ERR. */
int store_attach_delete(struct store *s, const char *id, const char *user);

/* Binds user's attachment id to message msg_id of conversation conv_id,
 * as the pos'th of it. One already bound to another message of that
 * conversation (sent again with a new version of its prompt) moves to
 * msg_id and leaves that message a copy under a new id, so the old
 * version keeps its files (both count in the user's storage). Returns
 * STORE_OK, STORE_NOT_FOUND (none such of user's, or one another
 * conversation used) or STORE_ERR. */
int store_attach_bind(struct store *s, const char *id, const char *user,
    const char *conv_id, long long msg_id, int pos);

/* Called by store_attach_each with one attachment of a message; a and
 * a->data (with_data only, else NULL) are valid only during the call.
 * Returns 0 for the next, 1 to stop, -1 to fail. */
typedef int (*store_attach_fn)(void *arg, const struct store_attach *a);

/* What store_attach_each hands fn: metadata only, the data of all, or the
 * data of text ones only (images' bytes left unread). */
enum { STORE_ATTACH_META = 0, STORE_ATTACH_DATA = 1, STORE_ATTACH_TEXT = 2 };

/* Calls fn(arg, a) for each attachment of message msg_id in its order,
 * with_data one of the above. Returns STORE_OK (also when fn stopped), or
 * STORE_ERR when SQLite failed (logged) or fn returned -1. */
int store_attach_each(struct store *s, long long msg_id, int with_data,
    store_attach_fn fn, void *arg);

/* Returns a's metadata {"id","kind","mime","name","bytes","width",
 * "height"} (width and height for images only), with "data" (base64)
 * when with_data and a->data is set: a new cJSON object the caller
 * deletes, or NULL when out of memory. */
cJSON *store_attach_json(const struct store_attach *a, int with_data);

/* Sets *out to a new array of message msg_id's attachments as
 * store_attach_json makes them (empty when it has none). Returns STORE_OK
 * or STORE_ERR (*out NULL). */
int store_attach_list(struct store *s, long long msg_id, int with_data,
    cJSON **out);

/* Deletes the attachments no message used that were made more than
 * keep_ms ago. Returns the number deleted, or STORE_ERR. */
int store_attach_purge(struct store *s, long long keep_ms);

/* Writes the base64 of data[0..len) into out (4 * ((len + 2) / 3) + 1
 * bytes, NUL-terminated). Returns the length written. */
size_t store_base64(const void *data, size_t len, char *out);

/* Copies of the whole database (store_backup.c, only the admin tool links
 * it), made with SQLite's online backup API: safe while the other programs
 * read and write it. */
struct store_file_info {
	long long bytes;          /* the file's size */
	long long conversations;
	long long messages;
	int schema;               /* its PRAGMA user_version */
};

/* Copies s's database into a new file at path: written to path.tmp (mode
 * 0600; an existing path.tmp is refused: another backup, or one that
 * failed), a few pages a step with a pause between, retried while busy or
 * locked, made a database of one file (journal mode DELETE), fsync'd,
 * checked with PRAGMA integrity_check, renamed to path, and the directory
 * fsync'd. An existing path (or the database itself) is refused unless
 * force (never the database itself). *info (may be NULL) gets the copy's
 * size and counts. Returns STORE_OK, or STORE_INVALID (path exists or is
 * the database) or STORE_ERR with a one-line reason in err; path.tmp is
 * removed on failure. */
int store_backup(struct store *s, const char *path, int force,
    struct store_file_info *info, char *err, size_t errcap);

/* Checks that the file at path is a database this build can use: a SQLite
 * file passing PRAGMA integrity_check, with lightchat's tables, of schema
 * 1 up to this build's (an older one is migrated when restored). Opened
 * read-only. *info (may be NULL) gets its size, counts and schema.
 * Returns STORE_OK, or STORE_INVALID (not one) or STORE_ERR (cannot be
 * read) with a one-line reason in err. */
int store_backup_verify(const char *path, struct store_file_info *info,
    char *err, size_t errcap);

/* Sets *n to the number of replies being written (messages "streaming").
 * Returns STORE_OK or STORE_ERR (*n 0). */
int store_streaming(struct store *s, long long *n);

/* Replaces s's database with the contents of the file at path, checked
 * with store_backup_verify first: path is copied to work (a scratch file
 * next to the database, replaced if it exists and removed after), migrated
 * there by store_open, its "streaming" replies marked interrupted; then,
 * when before is not NULL, s's database is saved there (store_backup with
 * force; path may be before itself: it was copied first), and the scratch
 * copy is copied into s's database with the backup API, in one step
 * retried while busy: the other programs that have it open see the new
 * contents at their next statement. Refused while a reply is being
 * written in s (the worker saves a reply by its row id, which the restored
 * file may give another message). *info (may be NULL) gets what was
 * restored, *saved (may be NULL) what was saved to before. Returns
 * STORE_OK, or STORE_INVALID (path is no usable database; replies in
 * flight) or STORE_ERR with a one-line reason in err; s's database is
 * unchanged then. */
int store_restore(struct store *s, const char *path, const char *work,
    const char *before, struct store_file_info *info,
    struct store_file_info *saved, char *err, size_t errcap);

/* An installation moved to PostgreSQL (store_migrate.c, only the admin
 * tool links it; lightchat-admin migrate-store). The tables it copies, in
 * foreign-key order, and the two it compares without copying (the
 * target's triggers make them): conversations, messages, attachments,
 * sessions, login_failures, login_trust, user_quotas, user_limits,
 * counters, health, usage; user_usage, usage_totals. */
#define STORE_MIGRATE_TABLES 13
#define STORE_MIGRATE_SHA256 32   /* bytes of a digest */

struct store_migrate_table {
	const char *name;        /* static */
	int copied;              /* 0: rebuilt by the target's triggers */
	long long rows;          /* copied (then verified) */
	char sha256[2 * STORE_MIGRATE_SHA256 + 1];   /* hex; "" until verified */
};

struct store_migrate_report {
	int schema_from;         /* the source's schema before it was opened */
	int committed;           /* 1: the copy is committed in PostgreSQL */
	int verified;            /* 1: every table compared equal */
	struct store_migrate_table table[STORE_MIGRATE_TABLES];
};

/* Copies the lightchat database in the SQLite file sqlite_path into the
 * PostgreSQL database at pg_url (a postgresql:// or postgres:// URL), and
 * proves it. The file is first checked (store_backup_verify: a lightchat
 * database of a schema this build reads), then opened with store_open
 * (migrated to this build's schema) and held under its write lock to the
 * end; the target is opened with store_open (its schema made). Refused
 * (STORE_INVALID) when the file is not such a database, when it holds
 * replies still streaming ("stop lightchat first"), or when any of the
 * target's tables above holds a row (it is never overwritten). The copy
 * is one PostgreSQL transaction: each row's values bound with the types
 * the source holds (text and blobs byte for byte), ids kept, the
 * conversations' counters, user_usage and usage_totals made by the
 * target's triggers as the rows arrive, the identity sequences (messages,
 * usage) set past the largest id. After the commit every table is read
 * back from both engines in primary-key order, and its rows and the
 * SHA-256 of a canonical encoding of its values (each: a type tag, an
 * integer as 8 bytes, or a length and the bytes) compared: *rep gets
 * them. Memory: a batch of rows of one table, never a table. Returns
 * STORE_OK (rep->verified), STORE_INVALID, or STORE_ERR (cannot read or
 * write; or a table that differs, named in err: rep->committed then says
 * the target holds the copy) with a one-line reason in err, which never
 * holds the URL's password. */
int store_migrate(const char *sqlite_path, const char *pg_url,
    struct store_migrate_report *rep, char *err, size_t errcap);

/* The rows of table in rep, or -1 for a table it does not have. */
long long store_migrate_rows(const struct store_migrate_report *rep,
    const char *table);

/* Returns a short description of an error code. */
const char *store_strerror(int err);

/* The SQLite calls that failed in this process since it started (each was
 * logged), for /metrics. */
unsigned long long store_errors(void);

/* GET /health's check that the database takes writes: one short
 * transaction writing the health row, waiting at most busy_ms for another
 * connection's lock (the connection's usual wait is restored after).
 * Returns STORE_OK or STORE_ERR (logged). (store_health.c) */
int store_health_write(struct store *s, int busy_ms);

/* Adds n to the counter name (made at 0 when new), in its own statement:
 * the FastCGI programs' counters for /metrics, shared by every process.
 * Returns STORE_OK or STORE_ERR. */
int store_counter_add(struct store *s, const char *name, long long n);

/* Calls fn(arg, name, value) for every counter, by name. fn returns 0 to go
 * on, non-zero to stop. Returns STORE_OK or STORE_ERR. */
int store_counters_each(struct store *s,
    int (*fn)(void *arg, const char *name, long long value), void *arg);

#endif
