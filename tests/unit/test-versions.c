/* test-versions.c - a conversation's versions (schema v9): the tree of
 * messages by their parent, the current path every reader follows (page,
 * export, turns, the context), siblings, switching, branching from any
 * message, the owner kept, and the migration making a v7 history one
 * branch. */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "store.h"
#include "unit.h"

/* The contents of conversation id's current path (store_conv_each: what
 * exports write) joined by ",". */
static int
path_each(void *arg, const cJSON *m)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 256 - n, "%s%s", n > 0 ? "," : "",
	    cJSON_GetObjectItem(m, "content")->valuestring);
	return 0;
}

static const char *
path_of(struct store *s, const char *id, char out[256])
{
	out[0] = '\0';
	if (store_conv_each(s, id, path_each, out) != STORE_OK)
		snprintf(out, 256, "(failed)");
	return out;
}

/* What the context of the next reply holds: contents joined by ",". */
static const char *
context_of(struct store *s, const char *id, char out[256])
{
	cJSON *ctx = NULL, *m;
	size_t n = 0;

	out[0] = '\0';
	if (context_build(s, id, 1 << 20, 100, 0, &ctx) != STORE_OK) {
		snprintf(out, 256, "(failed)");
		return out;
	}
	cJSON_ArrayForEach(m, ctx) {
		n = strlen(out);
		snprintf(out + n, 256 - n, "%s%s", n > 0 ? "," : "",
		    cJSON_GetObjectItem(m, "content")->valuestring);
	}
	cJSON_Delete(ctx);
	return out;
}

/* Page message i's "siblings" as "index/count" ("" when none). */
static const char *
siblings_of(const cJSON *page, int i, char out[32])
{
	const cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(page,
	    "messages"), i);
	const cJSON *sib = cJSON_GetObjectItem(m, "siblings");

	out[0] = '\0';
	if (sib != NULL)
		snprintf(out, 32, "%d/%d",
		    cJSON_GetObjectItem(sib, "index")->valueint,
		    cJSON_GetObjectItem(sib, "count")->valueint);
	return out;
}

static long long
add(struct store *s, const char *id, const char *role, const char *text)
{
	long long row = 0;

	if (store_msg_add(s, id, role, text, strlen(text), STORE_COMPLETE, "m",
	    &row) != STORE_OK)
		return -1;
	return row;
}

static void
test_tree(struct store *s)
{
	char id[ID_LEN + 1], other[ID_LEN + 1], buf[256], sib[32], role[16];
	long long u1, a1, a2 = -1, a3 = -1, u2, a4, u1b = -1, b1 = -1;
	long long leaf = 0, parent = -1;
	cJSON *page = NULL;
	int n = -1;

	CHECK(store_conv_create(s, "alice", "t", "m", "", id) == STORE_OK,
	    "a conversation");
	u1 = add(s, id, "user", "q1");
	a1 = add(s, id, "assistant", "v1");
	CHECK(u1 > 0 && a1 > u1 && store_msg_get(s, id, a1, role, &parent) ==
	    STORE_OK && parent == u1 && strcmp(role, "assistant") == 0 &&
	    store_msg_get(s, id, u1, role, &parent) == STORE_OK && parent == 0,
	    "a message's parent is the one it follows; the first has none");
	CHECK(store_conv_leaf(s, id, &leaf) == STORE_OK && leaf == a1,
	    "the newest message is the current leaf");

	/* Regenerate twice: siblings under the same prompt. */
	CHECK(store_conv_set_leaf(s, id, u1) == STORE_OK &&
	    (a2 = add(s, id, "assistant", "v2")) > 0 &&
	    store_conv_set_leaf(s, id, u1) == STORE_OK &&
	    (a3 = add(s, id, "assistant", "v3")) > 0, "two more versions");
	CHECK_STR(path_of(s, id, buf), "q1,v3", "the path ends at the newest");
	CHECK(store_conv_page(s, id, "alice", 0, 50, &page) == STORE_OK,
	    "a page");
	CHECK_STR(siblings_of(page, 1, sib), "2/3", "the reply is 3rd of 3");
	CHECK_STR(siblings_of(page, 0, sib), "0/1", "the prompt has one version");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(page, "tree")) == 4,
	    "the tree holds every message");
	cJSON_Delete(page);
	page = NULL;

	/* Switch to version 1 and continue from it. */
	CHECK(store_conv_switch(s, id, "alice", a1, &leaf) == STORE_OK &&
	    leaf == a1, "switched to version 1");
	CHECK_STR(path_of(s, id, buf), "q1,v1", "the path goes through it");
	CHECK_STR(context_of(s, id, buf), "q1,v1",
	    "the context is built from the current path only");
	u2 = add(s, id, "user", "q2");
	a4 = add(s, id, "assistant", "r2");
	CHECK(store_msg_get(s, id, u2, role, &parent) == STORE_OK &&
	    parent == a1, "the next prompt continues from version 1");
	CHECK(store_path_below(s, id, u1, &n) == STORE_OK && n == 3,
	    "3 messages of the path below the first prompt");
	CHECK(store_path_below(s, id, 0, &n) == STORE_OK && n == 4,
	    "4 in the whole path");

	/* Switching to a message goes down its newest children. */
	CHECK(store_conv_switch(s, id, "alice", a2, &leaf) == STORE_OK &&
	    leaf == a2, "version 2 has no children: it is the leaf");
	CHECK(store_conv_switch(s, id, "alice", u1, &leaf) == STORE_OK &&
	    leaf == a3, "the first prompt: down its newest reply");
	CHECK(store_conv_switch(s, id, "alice", a1, &leaf) == STORE_OK &&
	    leaf == a4, "version 1: down to its continuation");
	CHECK_STR(path_of(s, id, buf), "q1,v1,q2,r2", "the whole branch back");

	/* Edit the first prompt: a new branch from before it. */
	CHECK(store_conv_set_leaf(s, id, 0) == STORE_OK &&
	    (u1b = add(s, id, "user", "q1 edited")) > 0 &&
	    (b1 = add(s, id, "assistant", "w1")) > 0, "an edit of the first");
	CHECK(store_msg_get(s, id, u1b, role, &parent) == STORE_OK &&
	    parent == 0, "the edited first prompt has no parent");
	CHECK_STR(path_of(s, id, buf), "q1 edited,w1", "the new branch shown");
	CHECK(store_conv_page(s, id, "alice", 0, 50, &page) == STORE_OK,
	    "a page of the new branch");
	CHECK_STR(siblings_of(page, 0, sib), "1/2",
	    "the first prompt: 2nd of 2 versions");
	CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(page, "messages")) == 2 &&
	    cJSON_GetArraySize(cJSON_GetObjectItem(page, "tree")) == 8,
	    "2 messages shown, 8 in the tree");
	const cJSON *ids = cJSON_GetObjectItem(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(cJSON_GetObjectItem(page, "messages"), 0),
	    "siblings"), "ids");
	CHECK(cJSON_GetArraySize(ids) == 2 &&
	    (long long)cJSON_GetArrayItem(ids, 0)->valuedouble == u1 &&
	    (long long)cJSON_GetArrayItem(ids, 1)->valuedouble == u1b,
	    "the siblings' ids, oldest first");
	cJSON_Delete(page);
	page = NULL;
	CHECK(store_conv_switch(s, id, "alice", u1, &leaf) == STORE_OK &&
	    leaf == a3, "back to the first version of the prompt");
	CHECK_STR(path_of(s, id, buf), "q1,v3", "nothing was lost");

	/* The owner is kept; a message of another conversation is no one's
	 * here. */
	CHECK(store_conv_switch(s, id, "bob", a1, &leaf) == STORE_NOT_FOUND,
	    "another user cannot switch it");
	CHECK(store_conv_create(s, "alice", "t", "m", "", other) == STORE_OK &&
	    add(s, other, "user", "elsewhere") > 0 &&
	    store_conv_switch(s, other, "alice", a1, &leaf) == STORE_NOT_FOUND &&
	    store_msg_get(s, other, a1, role, &parent) == STORE_NOT_FOUND,
	    "a message of another conversation is not found in this one");
	CHECK(store_conv_switch(s, id, "alice", 999999, &leaf) ==
	    STORE_NOT_FOUND, "no such message");
	CHECK(store_conv_switch(NULL, id, "alice", a1, &leaf) == STORE_ERR,
	    "the NULL store");
	CHECK(store_conv_delete(s, id, "alice") == STORE_OK &&
	    store_conv_leaf(s, id, &leaf) == STORE_OK && leaf == 0,
	    "deleted with every version");
	(void)b1;
}

/* A v7 database of two conversations whose messages interleave: the
 * migration makes each one branch. */
static void
test_migration(const char *dir)
{
	char path[256], err[256], c1[ID_LEN + 1], c2[ID_LEN + 1], buf[256];
	char role[16];
	struct store *s = NULL;
	sqlite3 *db = NULL;
	long long r[4] = { -1, -1, -1, -1 }, leaf = 0, parent = -1;

	snprintf(path, sizeof(path), "%s/v7.db", dir);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK &&
	    store_conv_create(s, "erin", "t", "m", "", c1) == STORE_OK &&
	    store_conv_create(s, "erin", "t", "m", "", c2) == STORE_OK &&
	    (r[0] = add(s, c1, "user", "a")) > 0 &&
	    (r[1] = add(s, c2, "user", "x")) > 0 &&
	    (r[2] = add(s, c1, "assistant", "b")) > 0 &&
	    (r[3] = add(s, c2, "assistant", "y")) > 0, "v8: data");
	store_close(s);
	s = NULL;
	CHECK(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db,
	    UNDO_V11 "DROP TABLE usage; DROP TABLE usage_totals;"  /* v10's */
	    "DROP TABLE user_limits;"
	    "DROP INDEX messages_by_parent;"
	    "ALTER TABLE messages DROP COLUMN parent_id;"
	    "ALTER TABLE conversations DROP COLUMN current_leaf;"
	    "PRAGMA user_version = 8;", NULL, NULL, NULL) == SQLITE_OK,
	    "v8: the database taken back to schema 8 (v9 is the versions')");
	sqlite3_close(db);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK,
	    "v8: opened, migrated to 9");
	CHECK(store_msg_get(s, c1, r[2], role, &parent) == STORE_OK &&
	    parent == r[0] && store_msg_get(s, c2, r[3], role, &parent) ==
	    STORE_OK && parent == r[1] && store_msg_get(s, c1, r[0], role,
	    &parent) == STORE_OK && parent == 0,
	    "v9: each message's parent is the one before it in its own "
	    "conversation");
	CHECK(store_conv_leaf(s, c1, &leaf) == STORE_OK && leaf == r[2] &&
	    store_conv_leaf(s, c2, &leaf) == STORE_OK && leaf == r[3],
	    "v9: the last message is the current leaf");
	CHECK_STR(path_of(s, c1, buf), "a,b", "v9: the history is one branch");
	CHECK(add(s, c1, "user", "c") > 0, "v9: the conversation continues");
	CHECK_STR(path_of(s, c1, buf), "a,b,c", "v9: from its end");
	store_close(s);
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-versions.XXXXXX", path[256], err[256];
	struct store *s = NULL;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/db", dir);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK, "open");
	test_tree(s);
	store_close(s);
	test_migration(dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/v7.db", dir);
	unlink(path);
	snprintf(err, sizeof(err), "rm -rf %s", dir);
	if (system(err) != 0)
		return 1;
	UNIT_EXIT();
}
