/* test-store.c - the store's statements (prepared once, reused), its
 * transactions, the role/state checks done in C, the primitives a reply's
 * context is read through (system prompt, turns, recent conversations),
 * and the NULL store. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "unit.h"

/* What store_conv_turns gave: roles and contents joined by "|". */
struct turns {
	char seen[512];
	int calls, stop_after, fail_at;
};

static int
collect(void *arg, long long id, const char *role, const char *content,
    size_t len)
{
	struct turns *t = arg;
	size_t n = strlen(t->seen);

	(void)id;
	t->calls++;
	if (t->fail_at > 0 && t->calls == t->fail_at)
		return -1;
	snprintf(t->seen + n, sizeof(t->seen) - n, "%s%s:%.*s",
	    n > 0 ? "|" : "", role, (int)len, content);
	return t->stop_after > 0 && t->calls == t->stop_after ? 1 : 0;
}

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

/* What store_conv_each gave: the contents joined by ",". */
struct each {
	char seen[256];
	int calls, stop_after, fail_at;
};

static int
each_content(void *arg, const cJSON *m)
{
	struct each *e = arg;
	size_t n = strlen(e->seen);

	e->calls++;
	if (e->fail_at > 0 && e->calls == e->fail_at)
		return -1;
	snprintf(e->seen + n, sizeof(e->seen) - n, "%s%s", n > 0 ? "," : "",
	    cJSON_GetObjectItem(m, "content")->valuestring);
	return e->stop_after > 0 && e->calls == e->stop_after ? 1 : 0;
}

/* Returns a page's contents joined by ",", then "|more=<0/1>|before=<id or
 * null>", in buf; "" when store_conv_page failed with rc (see *rc). */
static const char *
page_of(struct store *s, const char *id, long long before, int limit,
    int *rc, char *buf, size_t cap)
{
	cJSON *c = NULL, *m;
	size_t n = 0;

	buf[0] = '\0';
	*rc = store_conv_page(s, id, "alice", before, limit, &c);
	if (*rc != STORE_OK)
		return buf;
	cJSON_ArrayForEach(m, cJSON_GetObjectItem(c, "messages"))
		n += (size_t)snprintf(buf + n, cap - n, "%s%s", n > 0 ? "," : "",
		    cJSON_GetObjectItem(m, "content")->valuestring);
	const cJSON *b = cJSON_GetObjectItem(c, "before");
	snprintf(buf + n, cap - n, "|more=%d|before=%s",
	    cJSON_IsTrue(cJSON_GetObjectItem(c, "has_more")),
	    cJSON_IsNumber(b) ? "id" : cJSON_IsNull(b) ? "null" : "?");
	cJSON_Delete(c);
	return buf;
}

/* Pages, exports and the byte budget of conversation messages. */
static void
test_pages(struct store *s)
{
	char id[ID_LEN + 1], big[ID_LEN + 1], buf[512], text[8];
	long long ids[7];
	int rc;

	CHECK(store_conv_create(s, "alice", "paged", "m", "", id) == STORE_OK,
	    "pages: create");
	for (int i = 0; i < 7; i++) {
		snprintf(text, sizeof(text), "m%d", i);
		CHECK(store_msg_add(s, id, i % 2 ? "assistant" : "user", text,
		    strlen(text), STORE_COMPLETE, "m", &ids[i]) == STORE_OK,
		    "pages: add");
	}
	CHECK(strcmp(page_of(s, id, 0, 3, &rc, buf, sizeof(buf)),
	    "m4,m5,m6|more=1|before=id") == 0, "pages: the newest first page");
	cJSON *c = NULL;
	CHECK(store_conv_page(s, id, "alice", 0, 3, &c) == STORE_OK &&
	    (long long)cJSON_GetObjectItem(c, "before")->valuedouble == ids[4] &&
	    cJSON_GetObjectItem(c, "title") != NULL,
	    "pages: before is the oldest id shown; the head is there");
	cJSON_Delete(c);
	CHECK(strcmp(page_of(s, id, ids[4], 3, &rc, buf, sizeof(buf)),
	    "m1,m2,m3|more=1|before=id") == 0, "pages: the page before");
	CHECK(strcmp(page_of(s, id, ids[1], 3, &rc, buf, sizeof(buf)),
	    "m0|more=0|before=null") == 0, "pages: the last, shorter");
	CHECK(strcmp(page_of(s, id, ids[0], 3, &rc, buf, sizeof(buf)),
	    "|more=0|before=null") == 0, "pages: before the first: empty");
	CHECK(strcmp(page_of(s, id, 0, 7, &rc, buf, sizeof(buf)),
	    "m0,m1,m2,m3,m4,m5,m6|more=0|before=null") == 0,
	    "pages: exactly all: no more");
	page_of(s, id, 0, 0, &rc, buf, sizeof(buf));
	CHECK(rc == STORE_INVALID, "pages: limit 0 refused");
	page_of(s, id, 0, STORE_PAGE_MAX + 1, &rc, buf, sizeof(buf));
	CHECK(rc == STORE_INVALID, "pages: limit past the maximum refused");
	CHECK(store_conv_page(s, id, "bob", 0, 3, &c) == STORE_NOT_FOUND &&
	    c == NULL, "pages: another user's: not found");
	CHECK(store_conv_page(NULL, id, "alice", 0, 3, &c) == STORE_ERR &&
	    c == NULL, "pages: NULL store");

	/* The byte budget: three messages of 3 MiB are two pages of 8 MiB,
	 * and one larger than the budget is a page alone. */
	size_t n = (size_t)3 << 20;
	char *huge = malloc(STORE_PAGE_BYTES + 2);
	CHECK(huge != NULL, "pages: malloc");
	if (huge == NULL)
		return;
	memset(huge, 'h', STORE_PAGE_BYTES + 1);
	huge[STORE_PAGE_BYTES + 1] = '\0';
	CHECK(store_conv_create(s, "alice", "big", "m", "", big) == STORE_OK,
	    "pages: create big");
	for (int i = 0; i < 3; i++)
		store_msg_add(s, big, "user", huge, n, STORE_COMPLETE, "", NULL);
	CHECK(store_conv_page(s, big, "alice", 0, 50, &c) == STORE_OK &&
	    cJSON_GetArraySize(cJSON_GetObjectItem(c, "messages")) == 2 &&
	    cJSON_IsTrue(cJSON_GetObjectItem(c, "has_more")),
	    "pages: 3 x 3 MiB: two fit in the budget, more");
	cJSON_Delete(c);
	store_msg_add(s, big, "user", huge, STORE_PAGE_BYTES + 1,
	    STORE_COMPLETE, "", NULL);
	CHECK(store_conv_page(s, big, "alice", 0, 50, &c) == STORE_OK &&
	    cJSON_GetArraySize(cJSON_GetObjectItem(c, "messages")) == 1 &&
	    strlen(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(c, "messages"), 0), "content")->valuestring) ==
	    STORE_PAGE_BYTES + 1, "pages: one over the budget comes alone");
	cJSON_Delete(c);
	free(huge);

	/* The export's walk: every message in order, one at a time. */
	struct each e;
	memset(&e, 0, sizeof(e));
	CHECK(store_conv_each(s, id, each_content, &e) == STORE_OK &&
	    strcmp(e.seen, "m0,m1,m2,m3,m4,m5,m6") == 0, "each: in order");
	memset(&e, 0, sizeof(e));
	e.stop_after = 2;
	CHECK(store_conv_each(s, id, each_content, &e) == STORE_OK &&
	    strcmp(e.seen, "m0,m1") == 0, "each: stops when told");
	memset(&e, 0, sizeof(e));
	e.fail_at = 3;
	CHECK(store_conv_each(s, id, each_content, &e) == STORE_ERR &&
	    e.calls == 3, "each: a failing callback fails it");
	CHECK(store_conv_each(NULL, id, each_content, &e) == STORE_ERR,
	    "each: NULL store");
	CHECK(store_conv_head(s, id, "alice", &c) == STORE_OK &&
	    cJSON_GetObjectItem(c, "messages") == NULL &&
	    strcmp(cJSON_GetObjectItem(c, "title")->valuestring, "paged") == 0,
	    "head: without messages");
	cJSON_Delete(c);
	CHECK(store_conv_head(s, id, "bob", &c) == STORE_NOT_FOUND && c == NULL,
	    "head: another user's: not found");
}

/* Programs opening one new database at the same moment (the worker and
 * two FastCGI pools at start): every one gets it. Before set_wal retried,
 * one of 12 often got "database is locked" and ran without a database.
 * Returns how many of n failed. */
static int
open_together(const char *path, int n)
{
	pid_t pids[16];
	int failed = 0, started = 0;

	for (int i = 0; i < n && i < 16; i++) {
		pid_t p = fork();
		if (p < 0)
			break;
		if (p == 0) {
			struct store *c = NULL;
			char e[256];
			int rc = store_open(&c, path, e, sizeof(e));
			store_close(c);
			_exit(rc == STORE_OK ? 0 : 1);
		}
		pids[started++] = p;
	}
	failed = n - started;
	for (int i = 0; i < started; i++) {
		int st = 0;
		if (waitpid(pids[i], &st, 0) != pids[i] || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0)
			failed++;
	}
	return failed;
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-store.XXXXXX", path[256], err[256];
	char id[ID_LEN + 1], id2[ID_LEN + 1];
	struct store *s = NULL;
	long long row = 0;

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
		    id_valid(id) &&
		    store_msg_add(s, id, "user", prompt, strlen(prompt),
		    STORE_COMPLETE, "", NULL) == STORE_OK &&
		    store_msg_add(s, id, "assistant", "", 0, STORE_STREAMING, "m",
		    &row) == STORE_OK && row > 0 &&
		    store_msg_update(s, row, "answer", 6, NULL, STORE_COMPLETE, NULL,
		    NULL) == STORE_OK &&
		    store_conv_owned(s, id, "alice") == STORE_OK &&
		    store_conv_owned(s, id, "bob") == STORE_NOT_FOUND;
	}
	CHECK(ok, "50 conversations through the reused statements");
	CHECK(count_messages(s, id, "alice") == 2, "two messages stored");
	struct turns t = { "", 0, 0, 0 };
	CHECK(store_conv_turns(s, id, 10, collect, &t) == STORE_OK,
	    "turns of the last conversation");
	CHECK_STR(t.seen, "assistant:answer|user:prompt 49",
	    "turns: newest first, the updated reply");
	/* The updated usage columns are unbound again for the next update. */
	struct lc_usage u = { 1, 3, 4, 7, 0 };
	CHECK(store_msg_update(s, row, "a", 1, NULL, STORE_COMPLETE, &u, "x") ==
	    STORE_OK && store_msg_update(s, row, "b", 1, NULL, STORE_STOPPED, NULL,
	    NULL) == STORE_OK, "updates with and without usage");
	cJSON *c = NULL;
	CHECK(store_conv_get(s, id, "alice", &c) == STORE_OK, "get");
	cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "messages"), 1);
	CHECK(cJSON_GetObjectItem(m, "usage") == NULL &&
	    cJSON_GetObjectItem(m, "error") == NULL,
	    "an update without usage leaves none from the previous one");
	cJSON_Delete(c);

	/* Reasoning (schema v7): stored apart, returned with its time; an
	 * update without it (NULL) leaves none; unknown time: no field. */
	struct store_reasoning rsn = { "why\nso", 6, 1234 };
	CHECK(store_msg_update(s, row, "b", 1, &rsn, STORE_COMPLETE, NULL,
	    NULL) == STORE_OK && store_conv_get(s, id, "alice", &c) ==
	    STORE_OK, "update with reasoning");
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "messages"), 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "reasoning")),
	    "why\nso", "reasoning: round trip");
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(m, "reasoning_ms")) ==
	    1234 && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(m,
	    "content")), "b") == 0, "reasoning_ms: round trip, content apart");
	cJSON_Delete(c);
	c = NULL;
	CHECK(store_conv_page(s, id, "alice", 0, 5, &c) == STORE_OK &&
	    cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(c,
	    "messages"), 1), "reasoning") != NULL, "reasoning: in a page too");
	cJSON_Delete(c);
	c = NULL;
	rsn.ms = -1;
	CHECK(store_msg_update(s, row, "b", 1, &rsn, STORE_COMPLETE, NULL,
	    NULL) == STORE_OK && store_conv_get(s, id, "alice", &c) ==
	    STORE_OK, "update with reasoning, no time");
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "messages"), 1);
	CHECK(cJSON_GetObjectItem(m, "reasoning") != NULL &&
	    cJSON_GetObjectItem(m, "reasoning_ms") == NULL,
	    "reasoning without a time: no reasoning_ms");
	cJSON_Delete(c);
	c = NULL;
	CHECK(store_msg_update(s, row, "b", 1, NULL, STORE_COMPLETE, NULL,
	    NULL) == STORE_OK && store_conv_get(s, id, "alice", &c) ==
	    STORE_OK, "update without reasoning");
	m = cJSON_GetArrayItem(cJSON_GetObjectItem(c, "messages"), 1);
	CHECK(cJSON_GetObjectItem(m, "reasoning") == NULL &&
	    cJSON_GetObjectItem(m, "reasoning_ms") == NULL,
	    "no reasoning: neither field");
	cJSON_Delete(c);
	c = NULL;
	memset(&t, 0, sizeof(t));
	CHECK(store_msg_update(s, row, "b", 1, &rsn, STORE_COMPLETE, NULL,
	    NULL) == STORE_OK && store_conv_turns(s, id, 10, collect, &t) ==
	    STORE_OK && strstr(t.seen, "assistant:b") != NULL &&
	    strstr(t.seen, "why") == NULL, "turns (the context) never hold "
	    "reasoning");

	/* The CHECK constraints' values, checked in C. */
	CHECK(store_msg_add(s, id, "robot", "x", 1, STORE_COMPLETE, "", NULL) ==
	    STORE_INVALID, "bad role refused");
	CHECK(store_msg_add(s, id, "user", "x", 1, "done", "", NULL) ==
	    STORE_INVALID, "bad state refused");
	CHECK(store_msg_update(s, row, "x", 1, NULL, "done", NULL, NULL) ==
	    STORE_INVALID, "bad state refused on update");
	CHECK(count_messages(s, id, "alice") == 2, "nothing stored by them");

	/* The primitives a reply's context is read through. */
	char conv[ID_LEN + 1], *sys = NULL;
	CHECK(store_conv_create(s, "carol", "t", "m", "be brief", conv) ==
	    STORE_OK, "a conversation with a system prompt");
	CHECK(store_conv_system(s, conv, &sys) == STORE_OK && sys != NULL &&
	    strcmp(sys, "be brief") == 0, "its system prompt");
	free(sys);
	sys = NULL;
	CHECK(store_conv_system(s, id, &sys) == STORE_OK && sys != NULL &&
	    sys[0] == '\0', "no system prompt: \"\"");
	free(sys);
	sys = (char *)"x";
	CHECK(store_conv_system(s, "0123456789abcdef0123456789abcdef", &sys) ==
	    STORE_NOT_FOUND && sys == NULL, "system prompt of no conversation");
	sys = NULL;
	static const struct {
		const char *role, *content, *state;
	} rows[] = {
		{ "system", "sys", STORE_COMPLETE },
		{ "user", "u1", STORE_COMPLETE },
		{ "assistant", "a1", STORE_COMPLETE },
		{ "user", "u2", STORE_COMPLETE },
		{ "assistant", "failed", STORE_ERROR },
		{ "assistant", "cut", STORE_INTERRUPTED },
		{ "assistant", "a2", STORE_STOPPED },
		{ "user", "u3", STORE_COMPLETE },
		{ "assistant", "live", STORE_STREAMING },
	};
	ok = 1;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		ok = ok && store_msg_add(s, conv, rows[i].role, rows[i].content,
		    strlen(rows[i].content), rows[i].state, "", NULL) == STORE_OK;
	CHECK(ok, "a conversation with every kind of message");
	memset(&t, 0, sizeof(t));
	CHECK(store_conv_turns(s, conv, 100, collect, &t) == STORE_OK,
	    "all its turns");
	CHECK_STR(t.seen, "user:u3|assistant:a2|user:u2|assistant:a1|user:u1",
	    "turns: prompts and complete/stopped replies, newest first");
	memset(&t, 0, sizeof(t));
	CHECK(store_conv_turns(s, conv, 2, collect, &t) == STORE_OK &&
	    strcmp(t.seen, "user:u3|assistant:a2") == 0, "turns: the limit");
	memset(&t, 0, sizeof(t));
	CHECK(store_conv_turns(s, conv, 0, collect, &t) == STORE_OK &&
	    t.calls == 0, "turns: limit 0 is none, not all");
	memset(&t, 0, sizeof(t));
	t.stop_after = 3;
	CHECK(store_conv_turns(s, conv, 100, collect, &t) == STORE_OK &&
	    t.calls == 3, "turns: the callback stops the walk");
	memset(&t, 0, sizeof(t));
	t.fail_at = 2;
	CHECK(store_conv_turns(s, conv, 100, collect, &t) == STORE_ERR &&
	    t.calls == 2, "turns: a failing callback is STORE_ERR");
	memset(&t, 0, sizeof(t));
	CHECK(store_conv_turns(s, "0123456789abcdef0123456789abcdef", 10,
	    collect, &t) == STORE_OK && t.calls == 0,
	    "turns of no conversation: none");

	char recent[3][ID_LEN + 1], c1[ID_LEN + 1], c2[ID_LEN + 1];
	int nrecent = -1;
	CHECK(store_conv_recent(s, "dave", 3, recent, &nrecent) == STORE_OK &&
	    nrecent == 0, "recent: none yet");
	CHECK(store_conv_create(s, "dave", "t", "m", "", c1) == STORE_OK &&
	    store_conv_create(s, "dave", "t", "m", "", c2) == STORE_OK,
	    "two conversations");
	usleep(2000);  /* updated_at is in milliseconds */
	CHECK(store_conv_touch(s, c1, "m", NULL) == STORE_OK, "the first touched");
	CHECK(store_conv_recent(s, "dave", 3, recent, &nrecent) == STORE_OK &&
	    nrecent == 2 && strcmp(recent[0], c1) == 0 &&
	    strcmp(recent[1], c2) == 0, "recent: most recently updated first");
	CHECK(store_conv_recent(s, "dave", 1, recent, &nrecent) == STORE_OK &&
	    nrecent == 1 && strcmp(recent[0], c1) == 0, "recent: at most max");

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

	test_pages(s);

	/* Without a database every call fails cleanly. */
	CHECK(store_begin(NULL) == STORE_ERR, "NULL store: begin");
	CHECK(store_commit(NULL) == STORE_ERR, "NULL store: commit");
	store_rollback(NULL);
	CHECK(store_conv_create(NULL, "a", "t", "m", "", id) == STORE_ERR,
	    "NULL store: create");
	CHECK(store_msg_add(NULL, id, "user", "x", 1, STORE_COMPLETE, "",
	    NULL) == STORE_ERR, "NULL store: add");
	CHECK(store_conv_system(NULL, id, &sys) == STORE_ERR && sys == NULL,
	    "NULL store: system prompt");
	memset(&t, 0, sizeof(t));
	CHECK(store_conv_turns(NULL, id, 10, collect, &t) == STORE_ERR &&
	    t.calls == 0, "NULL store: turns");
	CHECK(store_conv_recent(NULL, "a", 3, recent, &nrecent) == STORE_ERR &&
	    nrecent == 0, "NULL store: recent");

	store_close(s);
	char side[300];
	/* Twelve programs opening a new database at once, five times. */
	int together = 0;
	for (int round = 0; round < 5; round++) {
		char fresh[280];
		snprintf(fresh, sizeof(fresh), "%s/new%d", dir, round);
		together += open_together(fresh, 12);
		for (const char *suffix = ""; ; suffix = suffix[0] == '\0' ?
		    "-wal" : "-shm") {
			snprintf(side, sizeof(side), "%s%s", fresh, suffix);
			unlink(side);
			if (strcmp(suffix, "-shm") == 0)
				break;
		}
	}
	CHECK(together == 0, "a new database opened by 12 programs at once: "
	    "every one gets it");
	snprintf(side, sizeof(side), "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof(side), "%s-shm", path);
	unlink(side);
	unlink(path);
	rmdir(dir);
	UNIT_EXIT();
}
