/* test-quota.c - the storage counters schema v5's triggers keep (every
 * write path: messages added, updated, dropped; conversations created,
 * deleted, moved apart and purged; the migration of existing data), the
 * per-user quotas, the usage list, and the NULL store. The counters are
 * compared with sums computed from the rows through a second connection. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "unit.h"

static sqlite3 *raw;   /* the same file, to count the rows themselves */

/* Returns 1 if user's counters equal what the rows say. */
static int
counted_right(struct store *s, const char *user)
{
	sqlite3_stmt *st = NULL;
	struct store_usage u;
	long long c = -1, m = -1, b = -1;

	if (sqlite3_prepare_v2(raw, "SELECT count(DISTINCT c.id), count(m.id),"
	    " coalesce(sum(length(CAST(m.content AS BLOB))"
	    " + length(CAST(m.reasoning AS BLOB))), 0)"
	    " FROM conversations c LEFT JOIN messages m"
	    " ON m.conversation_id = c.id WHERE c.user = ?", -1, &st, NULL) !=
	    SQLITE_OK)
		return 0;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW) {
		c = sqlite3_column_int64(st, 0);
		m = sqlite3_column_int64(st, 1);
		b = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	if (store_quota_usage(s, user, &u) != STORE_OK)
		return 0;
	if (u.conversations != c || u.messages != m || u.bytes != b)
		printf("#   %s: counted %lld/%lld/%lld, rows %lld/%lld/%lld\n",
		    user, u.conversations, u.messages, u.bytes, c, m, b);
	return u.conversations == c && u.messages == m && u.bytes == b;
}

/* Makes a version 4 database at path with one conversation of alice's
 * holding two messages (9 bytes: "é" is two). */
static int
make_v4(const char *path)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db,
	    "CREATE TABLE conversations (id TEXT PRIMARY KEY, user TEXT NOT"
	    " NULL, title TEXT NOT NULL, model TEXT NOT NULL DEFAULT '',"
	    " system_prompt TEXT NOT NULL DEFAULT '', created_at INTEGER NOT"
	    " NULL, updated_at INTEGER NOT NULL);"
	    "CREATE TABLE messages (id INTEGER PRIMARY KEY, conversation_id"
	    " TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,"
	    " role TEXT NOT NULL, content TEXT NOT NULL, state TEXT NOT NULL,"
	    " model TEXT NOT NULL DEFAULT '', prompt_tokens INTEGER,"
	    " completion_tokens INTEGER, total_tokens INTEGER, error_code TEXT,"
	    " created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL);"
	    "INSERT INTO conversations VALUES ('00000000000000000000000000000001',"
	    " 'alice', 't', '', '', 0, 0);"
	    "INSERT INTO messages (conversation_id, role, content, state,"
	    " created_at, updated_at) VALUES"
	    " ('00000000000000000000000000000001', 'user', 'héllo', 'complete',"
	    " 0, 0), ('00000000000000000000000000000001', 'assistant', 'hey',"
	    " 'complete', 0, 0);"
	    "PRAGMA user_version = 4;", NULL, NULL, NULL) == SQLITE_OK;

	sqlite3_close(db);
	return rc;
}

/* A schema v6 database (made from a v7 one, its reasoning columns and
 * triggers taken back) with a reply: v7's migration keeps its data and
 * counters, and from then on counts reasoning. */
static void
test_v6(const char *dir)
{
	char path[256], err[256], conv[ID_LEN + 1];
	struct store *s = NULL;
	sqlite3 *db = NULL;
	long long row = 0, msgs = -1, bytes = -1;
	cJSON *c = NULL;

	snprintf(path, sizeof(path), "%s/v6.db", dir);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK &&
	    store_conv_create(s, "erin", "t", "m", "", conv) == STORE_OK &&
	    store_msg_add(s, conv, "user", "q", 1, STORE_COMPLETE, "", NULL) ==
	    STORE_OK && store_msg_add(s, conv, "assistant", "old answer", 10,
	    STORE_COMPLETE, "m", &row) == STORE_OK, "v6: a database with data");
	store_close(s);
	s = NULL;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db,
	    UNDO_V11 "DROP TABLE usage; DROP TABLE usage_totals;"  /* v10's */
	    "DROP TABLE user_limits;"
	    "DROP TABLE attachments;"   /* v8's, with its triggers */
	    "DROP TRIGGER messages_added; DROP TRIGGER messages_changed;"
	    "DROP TRIGGER messages_deleted;"
	    "ALTER TABLE messages DROP COLUMN reasoning;"
	    "ALTER TABLE messages DROP COLUMN reasoning_ms;"
	    "DROP INDEX messages_by_parent;"
	    "ALTER TABLE messages DROP COLUMN parent_id;"
	    "ALTER TABLE conversations DROP COLUMN current_leaf;"
	    "CREATE TRIGGER messages_added AFTER INSERT ON messages BEGIN"
	    " UPDATE conversations SET messages = messages + 1,"
	    "  bytes = bytes + length(CAST(NEW.content AS BLOB))"
	    "  WHERE id = NEW.conversation_id; END;"
	    "CREATE TRIGGER messages_changed AFTER UPDATE OF content ON messages"
	    " BEGIN UPDATE conversations SET"
	    "  bytes = bytes + length(CAST(NEW.content AS BLOB))"
	    "  - length(CAST(OLD.content AS BLOB))"
	    "  WHERE id = NEW.conversation_id; END;"
	    "CREATE TRIGGER messages_deleted AFTER DELETE ON messages BEGIN"
	    " UPDATE conversations SET messages = messages - 1,"
	    "  bytes = bytes - length(CAST(OLD.content AS BLOB))"
	    "  WHERE id = OLD.conversation_id; END;"
	    "PRAGMA user_version = 6;", NULL, NULL, NULL) == SQLITE_OK,
	    "v6: the database taken back to schema 6");
	sqlite3_close(db);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK,
	    "v6: opened, migrated to 9");
	raw = NULL;
	CHECK(sqlite3_open(path, &raw) == SQLITE_OK && counted_right(s, "erin") &&
	    store_quota_conv(s, conv, &msgs, &bytes) == STORE_OK && msgs == 2 &&
	    bytes == 11, "v7: the counters of v6's data kept (2 messages, 11 "
	    "bytes)");
	CHECK(store_conv_get(s, conv, "erin", &c) == STORE_OK &&
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c,
	    "messages"), 1), "reasoning") == NULL,
	    "v7: an old message has no reasoning field");
	cJSON_Delete(c);
	struct store_reasoning rsn = { "because", 7, 42 };
	CHECK(store_msg_update(s, row, "old answer", 10, &rsn, STORE_COMPLETE,
	    NULL, NULL) == STORE_OK && store_quota_conv(s, conv, &msgs,
	    &bytes) == STORE_OK && bytes == 18 && counted_right(s, "erin"),
	    "v7: the migrated triggers count reasoning");
	CHECK(store_conv_delete(s, conv, "erin") == STORE_OK &&
	    counted_right(s, "erin"), "v7: deleted, counted down");
	sqlite3_close(raw);
	raw = NULL;
	store_close(s);
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-quota.XXXXXX", path[256], err[256];
	char a1[ID_LEN + 1], a2[ID_LEN + 1], b1[ID_LEN + 1];
	struct store *s = NULL;
	struct store_usage u;
	long long row = 0, msgs = -1, bytes = -1, q = 0;
	cJSON *list = NULL;
	int n = 0;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/db", dir);
	CHECK(make_v4(path), "a version 4 database with data");
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK,
	    "open migrates it to version 5");
	CHECK(sqlite3_open(path, &raw) == SQLITE_OK, "second connection");
	CHECK(store_quota_usage(s, "alice", &u) == STORE_OK &&
	    u.conversations == 1 && u.messages == 2 && u.bytes == 9,
	    "the migration counts existing data (1 conversation, 2 messages, "
	    "9 bytes)");
	CHECK(store_quota_conv(s, "00000000000000000000000000000001", &msgs,
	    &bytes) == STORE_OK && msgs == 2 && bytes == 9,
	    "and the conversation's");
	CHECK(store_quota_usage(s, "nobody", &u) == STORE_OK &&
	    u.conversations == 0 && u.messages == 0 && u.bytes == 0,
	    "a user with nothing stored uses nothing");

	/* Every write path of the store keeps the counters. */
	CHECK(store_conv_create(s, "alice", "t", "m", "", a1) == STORE_OK &&
	    store_msg_add(s, a1, "user", "0123456789", 10, STORE_COMPLETE, "",
	    NULL) == STORE_OK &&
	    store_msg_add(s, a1, "assistant", "", 0, STORE_STREAMING, "m",
	    &row) == STORE_OK, "a prompt and its reply's row");
	CHECK(counted_right(s, "alice"), "counted: prompt added");
	CHECK(store_msg_update(s, row, "twenty bytes of text", 20, NULL,
	    STORE_STREAMING, NULL, NULL) == STORE_OK &&
	    store_msg_update(s, row, "a longer reply, complete now", 28, NULL,
	    STORE_COMPLETE, NULL, NULL) == STORE_OK, "the reply saved twice");
	CHECK(counted_right(s, "alice"), "counted: reply updated");
	CHECK(store_quota_conv(s, a1, &msgs, &bytes) == STORE_OK &&
	    msgs == 2 && bytes == 38, "the conversation: 2 messages, 38 bytes");
	/* Reasoning (schema v7) counts like content. */
	struct store_reasoning rsn = { "twelve bytes", 12, 1500 };
	CHECK(store_msg_update(s, row, "a longer reply, complete now", 28, &rsn,
	    STORE_COMPLETE, NULL, NULL) == STORE_OK &&
	    store_quota_conv(s, a1, &msgs, &bytes) == STORE_OK && bytes == 50 &&
	    counted_right(s, "alice"), "counted: reasoning bytes too (50)");
	rsn.text = "six b!";
	rsn.len = 6;
	CHECK(store_msg_update(s, row, "short", 5, &rsn, STORE_COMPLETE, NULL,
	    NULL) == STORE_OK && store_quota_conv(s, a1, &msgs, &bytes) ==
	    STORE_OK && bytes == 21 && counted_right(s, "alice"),
	    "counted: reasoning shrunk with the content (21)");
	/* An edit (schema v9) keeps what it replaces: a new first prompt is
	 * a sibling of the old one, which stays counted. */
	CHECK(store_conv_set_leaf(s, a1, 0) == STORE_OK &&
	    store_msg_add(s, a1, "user", "edited", 6, STORE_COMPLETE, "",
	    NULL) == STORE_OK &&
	    store_quota_conv(s, a1, &msgs, &bytes) == STORE_OK && msgs == 3 &&
	    bytes == 27, "an edit keeps the old version: 3 messages, 27 bytes");
	CHECK(counted_right(s, "alice"), "counted: a version added");

	CHECK(store_begin(s) == STORE_OK &&
	    store_conv_create(s, "alice", "t", "m", "", a2) == STORE_OK &&
	    store_msg_add(s, a2, "user", "rolled back", 11, STORE_COMPLETE, "",
	    NULL) == STORE_OK, "a prompt in a transaction");
	store_rollback(s);
	CHECK(counted_right(s, "alice") && store_quota_conv(s, a2, &msgs,
	    &bytes) == STORE_NOT_FOUND, "counted: rolled back with it");

	CHECK(store_conv_create(s, "alice", "t", "m", "", a2) == STORE_OK &&
	    store_msg_add(s, a2, "user", "abc", 3, STORE_COMPLETE, "", NULL) ==
	    STORE_OK && store_conv_create(s, "bob", "t", "m", "", b1) ==
	    STORE_OK && store_msg_add(s, b1, "user", "bobs", 4, STORE_COMPLETE,
	    "", NULL) == STORE_OK, "more conversations, alice's and bob's");
	CHECK(store_conv_delete(s, a2, "alice") == STORE_OK,
	    "a conversation deleted");
	CHECK(counted_right(s, "alice") && counted_right(s, "bob"),
	    "counted: the cascade and the conversation");
	CHECK(store_quota_usage(s, "alice", &u) == STORE_OK &&
	    u.conversations == 2 && u.messages == 5 && u.bytes == 36,
	    "alice: 2 conversations, 5 messages, 36 bytes");

	CHECK(store_user_keep_apart(s, "bob", 1, &n) == STORE_OK && n == 1,
	    "bob's data kept apart");
	CHECK(store_quota_usage(s, "bob", &u) == STORE_OK && u.bytes == 0 &&
	    u.conversations == 0 && counted_right(s, "~deleted~1~bob"),
	    "counted: moved to the kept-apart owner");
	CHECK(store_user_purge(s, "bob", &n) == STORE_OK && n == 1 &&
	    counted_right(s, "~deleted~1~bob"), "counted: purged");
	CHECK(store_user_delete(s, "alice", &n) == STORE_OK && n == 2 &&
	    counted_right(s, "alice"), "counted: a user's data deleted");

	/* Quotas of their own. */
	CHECK(store_quota_get(s, "carol", &q) == STORE_NOT_FOUND && q == -1,
	    "no quota of her own: the default");
	CHECK(store_quota_set(s, "carol", 5000) == STORE_OK &&
	    store_quota_get(s, "carol", &q) == STORE_OK && q == 5000,
	    "a quota set");
	CHECK(store_quota_set(s, "carol", 0) == STORE_OK &&
	    store_quota_get(s, "carol", &q) == STORE_OK && q == 0,
	    "and changed");
	CHECK(store_conv_create(s, "dave", "t", "m", "", a1) == STORE_OK &&
	    store_msg_add(s, a1, "user", "hello", 5, STORE_COMPLETE, "", NULL) ==
	    STORE_OK, "dave stores something");
	CHECK(store_quota_list(s, &list) == STORE_OK &&
	    cJSON_GetArraySize(list) == 2, "the usage list: carol and dave");
	cJSON *c0 = cJSON_GetArrayItem(list, 0), *c1 = cJSON_GetArrayItem(list, 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(c0, "user")), "carol",
	    "by name: carol first");
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(c0, "quota")) == 0 &&
	    cJSON_GetNumberValue(cJSON_GetObjectItem(c0, "bytes")) == 0,
	    "carol: quota 0, nothing stored");
	CHECK(cJSON_IsNull(cJSON_GetObjectItem(c1, "quota")) &&
	    cJSON_GetNumberValue(cJSON_GetObjectItem(c1, "bytes")) == 5 &&
	    cJSON_GetNumberValue(cJSON_GetObjectItem(c1, "conversations")) == 1 &&
	    cJSON_GetNumberValue(cJSON_GetObjectItem(c1, "messages")) == 1,
	    "dave: the default quota, 1 conversation, 1 message, 5 bytes");
	cJSON_Delete(list);
	list = NULL;
	CHECK(store_quota_set(s, "carol", -1) == STORE_OK &&
	    store_quota_get(s, "carol", &q) == STORE_NOT_FOUND,
	    "back to the default");

	/* The NULL store fails cleanly. */
	CHECK(store_quota_usage(NULL, "x", &u) == STORE_ERR && u.bytes == 0,
	    "NULL store: usage");
	CHECK(store_quota_conv(NULL, a1, &msgs, &bytes) == STORE_ERR,
	    "NULL store: conversation");
	CHECK(store_quota_get(NULL, "x", &q) == STORE_ERR && q == -1,
	    "NULL store: quota");
	CHECK(store_quota_set(NULL, "x", 1) == STORE_ERR, "NULL store: set");
	CHECK(store_quota_list(NULL, &list) == STORE_ERR && list == NULL,
	    "NULL store: list");

	sqlite3_close(raw);
	store_close(s);
	s = NULL;
	test_v6(dir);
	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	if (system(path) != 0)
		return 1;
	UNIT_EXIT();
}
