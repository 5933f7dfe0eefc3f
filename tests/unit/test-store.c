/* test-store.c - the store's statements (prepared once, reused), its
 * transactions, the role/state checks done in C, and the NULL store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"
#include "unit.h"

/* Returns the number of messages of conversation id, or -1. */
static int
count_messages(struct store *s, const char *id, const char *user)
{
	cJSON *c = NULL;
	int n = -1;

	if (store_conv_get(s, id, user, &c) == STORE_OK)
		n = cJSON_GetArraySize(cJSON_GetObjectItem(c, "messages"));
	cJSON_Delete(c);
	return n;
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-store.XXXXXX", path[256], err[256];
	char id[STORE_ID_LEN + 1], id2[STORE_ID_LEN + 1];
	struct store *s = NULL;
	long long row = 0;
	cJSON *ctx = NULL;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/db", dir);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK, "open");

	/* The same statements, many times: reset and rebound each time. */
	int ok = 1;
	for (int i = 0; i < 50 && ok; i++) {
		char prompt[32];
		snprintf(prompt, sizeof(prompt), "prompt %d", i);
		ok = store_conv_create(s, "alice", "t", "m", "", id) == STORE_OK &&
		    store_id_valid(id) &&
		    store_msg_add(s, id, "user", prompt, strlen(prompt),
		    STORE_COMPLETE, "", NULL) == STORE_OK &&
		    store_msg_add(s, id, "assistant", "", 0, STORE_STREAMING, "m",
		    &row) == STORE_OK && row > 0 &&
		    store_msg_update(s, row, "answer", 6, STORE_COMPLETE, NULL,
		    NULL) == STORE_OK &&
		    store_conv_owned(s, id, "alice") == STORE_OK &&
		    store_conv_owned(s, id, "bob") == STORE_NOT_FOUND;
	}
	CHECK(ok, "50 conversations through the reused statements");
	CHECK(count_messages(s, id, "alice") == 2, "two messages stored");
	CHECK(store_context(s, id, 1000, 10, &ctx) == STORE_OK &&
	    cJSON_GetArraySize(ctx) == 2, "context has both messages");
	CHECK_STR(cJSON_GetObjectItem(cJSON_GetArrayItem(ctx, 1),
	    "content")->valuestring, "answer", "context: the updated reply");
	cJSON_Delete(ctx);
	ctx = NULL;
	/* The updated usage columns are unbound again for the next update. */
	struct lc_usage u = { 1, 3, 4, 7 };
	CHECK(store_msg_update(s, row, "a", 1, STORE_COMPLETE, &u, "x") ==
	    STORE_OK && store_msg_update(s, row, "b", 1, STORE_STOPPED, NULL,
	    NULL) == STORE_OK, "updates with and without usage");
	cJSON *c = NULL;
	CHECK(store_conv_get(s, id, "alice", &c) == STORE_OK, "get");
	cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "messages"), 1);
	CHECK(cJSON_GetObjectItem(m, "usage") == NULL &&
	    cJSON_GetObjectItem(m, "error") == NULL,
	    "an update without usage leaves none from the previous one");
	cJSON_Delete(c);

	/* The CHECK constraints' values, checked in C. */
	CHECK(store_msg_add(s, id, "robot", "x", 1, STORE_COMPLETE, "", NULL) ==
	    STORE_INVALID, "bad role refused");
	CHECK(store_msg_add(s, id, "user", "x", 1, "done", "", NULL) ==
	    STORE_INVALID, "bad state refused");
	CHECK(store_msg_update(s, row, "x", 1, "done", NULL, NULL) ==
	    STORE_INVALID, "bad state refused on update");
	CHECK(count_messages(s, id, "alice") == 2, "nothing stored by them");

	/* Transactions: rolled back, then committed. */
	CHECK(store_begin(s) == STORE_OK, "begin");
	CHECK(store_conv_create(s, "alice", "t", "m", "", id2) == STORE_OK &&
	    store_msg_add(s, id2, "user", "p", 1, STORE_COMPLETE, "", NULL) ==
	    STORE_OK, "writes in a transaction");
	store_rollback(s);
	CHECK(store_conv_owned(s, id2, "alice") == STORE_NOT_FOUND,
	    "rollback undoes them");
	store_rollback(s);  /* outside a transaction: nothing happens */
	CHECK(store_begin(s) == STORE_OK &&
	    store_conv_create(s, "alice", "t", "m", "", id2) == STORE_OK &&
	    store_commit(s) == STORE_OK, "commit");
	CHECK(store_conv_owned(s, id2, "alice") == STORE_OK, "commit keeps them");
	CHECK(store_commit(s) == STORE_ERR, "commit without begin fails");

	/* A second connection (the FastCGI program) sees committed rows only
	 * and is not blocked by a statement left open: every one is reset. */
	struct store *s2 = NULL;
	CHECK(store_open(&s2, path, err, sizeof(err)) == STORE_OK, "open again");
	CHECK(store_conv_rename(s2, id2, "alice", "renamed") == STORE_OK,
	    "the other connection writes");
	CHECK(store_conv_get(s, id2, "alice", &c) == STORE_OK &&
	    strcmp(cJSON_GetObjectItem(c, "title")->valuestring, "renamed") ==
	    0, "and this one reads it");
	cJSON_Delete(c);
	store_close(s2);

	/* Without a database every call fails cleanly. */
	CHECK(store_begin(NULL) == STORE_ERR, "NULL store: begin");
	CHECK(store_commit(NULL) == STORE_ERR, "NULL store: commit");
	store_rollback(NULL);
	CHECK(store_conv_create(NULL, "a", "t", "m", "", id) == STORE_ERR,
	    "NULL store: create");
	CHECK(store_msg_add(NULL, id, "user", "x", 1, STORE_COMPLETE, "",
	    NULL) == STORE_ERR, "NULL store: add");
	CHECK(store_context(NULL, id, 10, 10, &ctx) == STORE_ERR && ctx == NULL,
	    "NULL store: context");

	store_close(s);
	char side[300];
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	unlink(path);
	rmdir(dir);
	UNIT_EXIT();
}
