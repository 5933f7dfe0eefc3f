/* store.h - conversations and their messages in SQLite.
 *
 * The worker writes (new conversations, prompts, replies as they stream);
 * the FastCGI program reads, renames, deletes and exports. WAL mode and a
 * busy timeout let both work at once; the schema is versioned with
 * PRAGMA user_version and migrated by whoever opens the database first.
 * Every statement binds its parameters. Results meant for clients are
 * returned as cJSON values the caller deletes. Every function but
 * store_open accepts a NULL store (a database that could not be opened)
 * and then fails with STORE_ERR. */
#ifndef LC_STORE_H
#define LC_STORE_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "usage.h"

#define STORE_ID_LEN 32          /* conversation ids: 32 hex digits */
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

/* Opens (creating and migrating) the database at path. Returns STORE_OK with
 * *out set (close with store_close), or STORE_ERR with a message in err. */
int store_open(struct store **out, const char *path, char *err,
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

/* Returns 1 if id has the shape of a conversation id, else 0. */
int store_id_valid(const char *id);

/* Creates a conversation for user. id gets its new id. */
int store_conv_create(struct store *s, const char *user, const char *title,
    const char *model, const char *system_prompt,
    char id[STORE_ID_LEN + 1]);

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
 * model,created_at,updated_at,usage?,error?}]}. */
int store_conv_get(struct store *s, const char *id, const char *user,
    cJSON **out);

/* Adds a message; *msg_id gets its row id (may be NULL). Returns STORE_OK,
 * STORE_INVALID for a role or state the schema does not allow, or
 * STORE_ERR. */
int store_msg_add(struct store *s, const char *conv_id, const char *role,
    const char *content, size_t len, const char *state, const char *model,
    long long *msg_id);

/* Updates a message's content and state, with usage and error code when
 * known (NULL otherwise). Returns STORE_OK, STORE_INVALID for a state the
 * schema does not allow, or STORE_ERR. */
int store_msg_update(struct store *s, long long msg_id, const char *content,
    size_t len, const char *state, const struct lc_usage *usage,
    const char *error_code);

/* Builds the context for the next reply: the conversation's system prompt,
 * then its newest user/assistant messages (complete or stopped, oldest
 * first) whose contents add up to at most budget bytes, at most
 * max_messages of them. *out gets a cJSON array of {role,content}. */
int store_context(struct store *s, const char *conv_id, size_t budget,
    int max_messages, cJSON **out);

/* Removes the conversation's last assistant message (for regenerate) and,
 * with and_prompt, the user message before it too (for edit). Returns
 * STORE_NOT_FOUND when the conversation does not end that way. */
int store_drop_last_turn(struct store *s, const char *conv_id,
    int and_prompt);

/* Finds user's most recent conversation whose stored user/assistant
 * messages end with history (a cJSON array of {role,content}, system
 * messages ignored), so that a client re-sending the whole transcript on
 * each prompt continues one conversation. id gets it; STORE_NOT_FOUND if
 * none. */
int store_find_by_history(struct store *s, const char *user,
    const cJSON *history, char id[STORE_ID_LEN + 1]);

/* Marks every message still "streaming" as "interrupted" (at worker start).
 * Returns the number marked, or STORE_ERR. */
int store_mark_interrupted(struct store *s);

/* Login rate limiting, shared by every FastCGI process through the
 * database. key names what is limited ("user:alice", "addr:192.0.2.1").
 * store_login_check returns STORE_OK, or STORE_LIMITED with *retry_after
 * set to the seconds until one more attempt is allowed, when key has max
 * failures within the last window_s seconds. */
int store_login_check(struct store *s, const char *key, int max,
    long window_s, long *retry_after);

/* Records a failed login for key (and forgets failures older than
 * window_s). */
int store_login_fail(struct store *s, const char *key, long window_s);

/* Forgets key's failures (after a successful login). */
int store_login_clear(struct store *s, const char *key);

/* Returns a short description of an error code. */
const char *store_strerror(int err);

#endif
