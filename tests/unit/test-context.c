/* test-context.c - worker/context.c, the policy over the store: the
 * context's byte budget (system prompt counted, the newest turn always
 * sent, max_messages, oldest first, failed replies left out, an error
 * partway is an error) and which conversation a re-sent transcript
 * continues (system messages ignored, failed replies skipped, the newest
 * of the user's recent conversations, no match). */
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
/* White-box, for one check only: the connection, to make SQLite fail
 * partway through reading the turns. */
#include "store_int.h"
#include "unit.h"

static struct store *s;

/* Adds messages "role:content[:state]" ... NULL to conv. Returns 1 if all
 * were stored. */
static int
add(const char *conv, ...)
{
	va_list ap;
	const char *spec;
	int ok = 1;

	va_start(ap, conv);
	while (ok && (spec = va_arg(ap, const char *)) != NULL) {
		char role[16], content[256], state[16] = STORE_COMPLETE;
		if (sscanf(spec, "%15[^:]:%255[^:]:%15s", role, content,
		    state) < 2)
			ok = 0;
		else
			ok = store_msg_add(s, conv, role, content,
			    strlen(content), state, "", NULL) == STORE_OK;
	}
	va_end(ap);
	return ok;
}

/* The context as "role:content|...", or the error code in brackets. */
static const char *
context(const char *conv, size_t budget, int max)
{
	static char out[1024];
	cJSON *arr = NULL, *m;
	int rc = context_build(s, conv, budget, max, 1, &arr);

	out[0] = '\0';
	if (rc != STORE_OK) {
		snprintf(out, sizeof(out), "[%s%s]", store_strerror(rc),
		    arr != NULL ? ", out set" : "");
		return out;
	}
	cJSON_ArrayForEach(m, arr) {
		size_t n = strlen(out);
		snprintf(out + n, sizeof(out) - n, "%s%s:%s", n ? "|" : "",
		    cJSON_GetObjectItem(m, "role")->valuestring,
		    cJSON_GetObjectItem(m, "content")->valuestring);
		cJSON *im = cJSON_GetObjectItem(m, "images");
		n = strlen(out);
		if (im != NULL)
			snprintf(out + n, sizeof(out) - n, "+%d img",
			    cJSON_GetArraySize(im));
	}
	cJSON_Delete(arr);
	return out;
}

/* Adds an attachment of kind ("image"/"text") with data to message msg of
 * conv (user carol). Returns 1 if stored and bound. */
static int
attach(const char *conv, long long msg, int pos, const char *kind,
    const char *name, const char *data)
{
	struct store_attach a;

	memset(&a, 0, sizeof(a));
	snprintf(a.kind, sizeof(a.kind), "%s", kind);
	snprintf(a.mime, sizeof(a.mime), "%s", kind[0] == 'i' ? "image/png" :
	    "text/plain");
	snprintf(a.name, sizeof(a.name), "%s", name);
	a.width = a.height = kind[0] == 'i' ? 1 : 0;
	return store_attach_add(s, "carol", &a, data, strlen(data)) ==
	    STORE_OK && store_attach_bind(s, a.id, "carol", conv, msg, pos) ==
	    STORE_OK;
}

/* The attachments' context rule (context.h). */
static void
attachments(void)
{
	char c[ID_LEN + 1];
	long long m1 = 0, m2 = 0;
	cJSON *arr = NULL;

	CHECK(store_conv_create(s, "carol", "t", "m", "", c) == STORE_OK &&
	    store_msg_add(s, c, "user", "look", 4, STORE_COMPLETE, "", &m1) ==
	    STORE_OK && attach(c, m1, 0, "image", "a.png", "PNGDATA123") &&
	    attach(c, m1, 1, "text", "n.md", "# hi") &&
	    add(c, "assistant:seen", NULL), "a message with an image and a file");
	CHECK_STR(context(c, 1000, 10), "user:look\n\n```n.md\n# hi\n```+1 img|"
	    "assistant:seen", "the newest: its file fenced, its image sent");
	CHECK(context_build(s, c, 1000, 10, 0, &arr) == STORE_OK &&
	    cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "images") == NULL &&
	    cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "msg_id") == NULL,
	    "a model without images: none sent");
	cJSON_Delete(arr);
	CHECK(store_msg_add(s, c, "user", "more", 4, STORE_COMPLETE, "", &m2) ==
	    STORE_OK, "a later prompt");
	/* texts: 22 + 4 + 4 = 30 bytes; the image's base64 is 16 */
	CHECK_STR(context(c, 46, 10), "user:look\n\n```n.md\n# hi\n```+1 img|"
	    "assistant:seen|user:more", "an earlier image re-sent while it fits");
	CHECK_STR(context(c, 45, 10), "user:look\n\n```n.md\n# hi\n```|"
	    "assistant:seen|user:more", "not once it does not");
	CHECK_STR(context(c, 29, 10), "assistant:seen|user:more",
	    "a text file counts with its message");
	CHECK(context_build(s, c, 1000, 10, 1, &arr) == STORE_OK &&
	    strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "images"), 0),
	    "data")), "UE5HREFUQTEyMw==") == 0, "the image's data in base64");
	cJSON_Delete(arr);
	CHECK(store_conv_delete(s, c, "carol") == STORE_OK, "deleted");
}

/* A transcript from "role:content" ... NULL. */
static cJSON *
transcript(const char *first, ...)
{
	cJSON *arr = cJSON_CreateArray();
	va_list ap;

	va_start(ap, first);
	for (const char *spec = first; spec != NULL;
	    spec = va_arg(ap, const char *)) {
		const char *colon = strchr(spec, ':');
		char role[16];
		snprintf(role, sizeof(role), "%.*s", (int)(colon - spec), spec);
		cJSON *m = cJSON_CreateObject();
		cJSON_AddStringToObject(m, "role", role);
		cJSON_AddStringToObject(m, "content", colon + 1);
		cJSON_AddItemToArray(arr, m);
	}
	va_end(ap);
	return arr;
}

/* Which conversation history continues for user: its id, "none", or
 * the error. Deletes history. */
static const char *
find(const char *user, cJSON *history)
{
	static char out[64];
	char id[ID_LEN + 1] = "";
	int rc = context_find_transcript(s, user, history, id);

	cJSON_Delete(history);
	if (rc == STORE_OK)
		snprintf(out, sizeof(out), "%s", id);
	else
		snprintf(out, sizeof(out), "%s", rc == STORE_NOT_FOUND ?
		    "none" : store_strerror(rc));
	return out;
}

static long progress_calls, progress_fail_at;

static int
progress(void *arg)
{
	(void)arg;
	return ++progress_calls >= progress_fail_at && progress_fail_at > 0;
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-context.XXXXXX", path[256], err[256];
	char a[ID_LEN + 1], b[ID_LEN + 1], c[ID_LEN + 1], d[ID_LEN + 1];

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/db", dir);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK, "open");

	/* The budget: a 3-byte system prompt, then turns of 4, 4, 2 bytes. */
	CHECK(store_conv_create(s, "alice", "t", "m", "SYS", a) == STORE_OK &&
	    add(a, "user:aaaa", "assistant:bbbb", "user:cc", NULL),
	    "a conversation");
	CHECK_STR(context(a, 1000, 10), "system:SYS|user:aaaa|assistant:bbbb|"
	    "user:cc", "all fits: system prompt first, then oldest first");
	CHECK_STR(context(a, 9, 10), "system:SYS|assistant:bbbb|user:cc",
	    "exactly the budget (3 + 2 + 4) fits");
	CHECK_STR(context(a, 8, 10), "system:SYS|user:cc",
	    "the system prompt counts against the budget");
	CHECK_STR(context(a, 0, 10), "system:SYS|user:cc",
	    "the newest turn goes even over the budget");
	CHECK_STR(context(a, 1000, 2), "system:SYS|assistant:bbbb|user:cc",
	    "at most max_messages turns, the newest");
	CHECK_STR(context(a, 1000, 1), "system:SYS|user:cc",
	    "max_messages 1: the newest only");
	CHECK_STR(context(a, 1000, 0), "system:SYS",
	    "max_messages 0: the system prompt only");

	/* Without a system prompt nothing is counted for it; the newest goes
	 * alone when it is bigger than the whole budget. */
	CHECK(store_conv_create(s, "alice", "t", "m", "", b) == STORE_OK &&
	    add(b, "user:aaaa", "assistant:bbbb", "user:cccccccc", NULL),
	    "a conversation without a system prompt");
	CHECK_STR(context(b, 4, 10), "user:cccccccc",
	    "a newest turn bigger than the budget goes alone");
	CHECK_STR(context(b, 12, 10), "assistant:bbbb|user:cccccccc",
	    "no system prompt: 8 + 4 fit in 12");

	/* Failed, cut and unfinished replies are not sent again; stopped
	 * ones are; stored system messages are not turns. */
	CHECK(store_conv_create(s, "alice", "t", "m", "", c) == STORE_OK &&
	    add(c, "system:ignored", "user:u1", "assistant:a1:stopped",
	    "user:u2", "assistant:bad:error", "assistant:cut:interrupted",
	    "user:u3", "assistant:now:streaming", NULL),
	    "a conversation with every state");
	CHECK_STR(context(c, 1000, 10),
	    "user:u1|assistant:a1|user:u2|user:u3",
	    "only prompts and complete/stopped replies");
	CHECK_STR(context(c, 1000, 2), "user:u2|user:u3",
	    "max_messages counts the turns kept, not the rows skipped");

	CHECK_STR(context("0123456789abcdef0123456789abcdef", 100, 10),
	    "[not found]", "no such conversation");
	cJSON *out = (cJSON *)1;
	CHECK(context_build(NULL, a, 100, 10, 1, &out) == STORE_ERR &&
	    out == NULL, "NULL store: an error, *out NULL");

	/* A reply's reasoning (schema v7) never goes upstream: the context
	 * is content only (DeepSeek answers 400 to reasoning_content). */
	char rc[ID_LEN + 1];
	long long row = 0;
	struct store_reasoning rsn = { "secret thoughts", 15, 10 };
	CHECK(store_conv_create(s, "alice", "t", "m", "", rc) == STORE_OK &&
	    add(rc, "user:q1", NULL) && store_msg_add(s, rc, "assistant", "",
	    0, STORE_STREAMING, "m", &row) == STORE_OK &&
	    store_msg_update(s, row, "a1", 2, &rsn, STORE_COMPLETE, NULL,
	    NULL) == STORE_OK && add(rc, "user:q2", NULL),
	    "a conversation with a reply that reasoned");
	CHECK_STR(context(rc, 1000, 10), "user:q1|assistant:a1|user:q2",
	    "context: the answer only, never the reasoning");
	cJSON *arr = NULL;
	CHECK(context_build(s, rc, 1000, 10, 1, &arr) == STORE_OK &&
	    cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "reasoning") ==
	    NULL && cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1),
	    "reasoning_content") == NULL && cJSON_GetArraySize(
	    cJSON_GetArrayItem(arr, 1)) == 2,
	    "context: each turn is role and content, nothing else");
	cJSON_Delete(arr);

	/* A content holding a NUL byte cannot be sent: an error, not a
	 * context without it. */
	CHECK(store_conv_create(s, "alice", "t", "m", "", d) == STORE_OK &&
	    store_msg_add(s, d, "user", "x\0y", 3, STORE_COMPLETE, "",
	    NULL) == STORE_OK, "a message with a NUL byte");
	CHECK_STR(context(d, 100, 10), "[database error]",
	    "a NUL byte in a turn: STORE_ERR");

	/* SQLite failing partway through the turns is an error too (it was
	 * taken for the end of the rows). Count the VM steps of reading the
	 * system prompt and of the whole context, then fail in between. */
	char many[ID_LEN + 1];
	int ok = store_conv_create(s, "alice", "t", "m", "SYS", many) ==
	    STORE_OK;
	for (int i = 0; ok && i < 40; i++)
		ok = add(many, i % 2 ? "assistant:reply" : "user:prompt", NULL);
	CHECK(ok, "a long conversation");
	CHECK(strncmp(context(many, 100000, 100), "system:SYS|user:prompt", 22)
	    == 0, "its context (statements prepared)");
	char *sys = NULL;
	sqlite3_progress_handler(db_sqlite(s->db), 1, progress, NULL);
	progress_calls = 0;
	progress_fail_at = 0;
	CHECK(store_conv_system(s, many, &sys) == STORE_OK, "counted: system");
	free(sys);
	long sys_steps = progress_calls;
	progress_calls = 0;
	CHECK(strncmp(context(many, 100000, 100), "system:SYS|", 11) == 0,
	    "counted: the whole context");
	long all_steps = progress_calls;
	CHECK(all_steps > sys_steps + 10, "the turns take VM steps");
	progress_calls = 0;
	progress_fail_at = sys_steps + (all_steps - sys_steps) / 2;
	CHECK_STR(context(many, 100000, 100), "[database error]",
	    "SQLite failing partway through the turns: STORE_ERR");
	progress_calls = 0;
	progress_fail_at = 0;
	CHECK_STR(find("alice", transcript("user:prompt", NULL)), "none",
	    "counted: matching a transcript against every candidate");
	long find_steps = progress_calls;
	progress_calls = 0;
	progress_fail_at = find_steps / 2;
	CHECK_STR(find("alice", transcript("user:prompt", NULL)),
	    "database error", "and SQLite failing while matching one: STORE_ERR");
	sqlite3_progress_handler(db_sqlite(s->db), 0, NULL, NULL);

	/* Transcripts: bob's conversation ends with a failed reply the
	 * client never saw. */
	char t1[ID_LEN + 1], t2[ID_LEN + 1], t3[ID_LEN + 1];
	CHECK(store_conv_create(s, "bob", "t", "m", "", t1) == STORE_OK &&
	    add(t1, "user:hi", "assistant:hello", "user:how?",
	    "assistant:oops:error", NULL), "bob's conversation");
	CHECK_STR(find("bob", transcript("user:hi", "assistant:hello",
	    "user:how?", NULL)), t1, "the transcript, the failed reply skipped");
	CHECK_STR(find("bob", transcript("system:be kind", "user:hi",
	    "system:again", "assistant:hello", "user:how?", NULL)), t1,
	    "system messages in the transcript ignored");
	CHECK_STR(find("bob", transcript("user:how?", NULL)), t1,
	    "the stored conversation ends with the transcript");
	CHECK_STR(find("bob", transcript("user:hi", "assistant:HELLO",
	    "user:how?", NULL)), "none", "a different reply: no match");
	CHECK_STR(find("bob", transcript("assistant:hi", "assistant:hello",
	    "user:how?", NULL)), "none", "a different role: no match");
	CHECK_STR(find("bob", transcript("user:first", "assistant:x",
	    "user:hi", "assistant:hello", "user:how?", NULL)), "none",
	    "a transcript longer than the stored one: no match");
	CHECK_STR(find("bob", transcript("system:only", NULL)), "none",
	    "only system messages: no match");
	CHECK_STR(find("carol", transcript("user:hi", "assistant:hello",
	    "user:how?", NULL)), "none", "another user's conversation: no match");

	/* Two that match: the most recently updated wins. */
	usleep(2000);
	CHECK(store_conv_create(s, "bob", "t", "m", "", t2) == STORE_OK &&
	    add(t2, "user:how?", NULL), "a newer conversation ending alike");
	CHECK_STR(find("bob", transcript("user:how?", NULL)), t2,
	    "the newest match");
	CHECK_STR(find("bob", transcript("user:hi", "assistant:hello",
	    "user:how?", NULL)), t1, "the only full match");

	/* Only the CONTEXT_CANDIDATES most recent are looked at. */
	ok = 1;
	for (int i = 0; ok && i < CONTEXT_CANDIDATES; i++) {
		usleep(1000);
		ok = store_conv_create(s, "bob", "t", "m", "", t3) == STORE_OK;
	}
	CHECK(ok, "CONTEXT_CANDIDATES newer conversations");
	CHECK_STR(find("bob", transcript("user:hi", "assistant:hello",
	    "user:how?", NULL)), "none", "too old to be a candidate");
	usleep(2000);
	CHECK(store_conv_touch(s, t1, "m", NULL) == STORE_OK, "touched");
	CHECK_STR(find("bob", transcript("user:hi", "assistant:hello",
	    "user:how?", NULL)), t1, "a candidate again once updated");
	CHECK(context_find_transcript(NULL, "bob", NULL, t3) == STORE_ERR,
	    "NULL store: an error");
	attachments();

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
