/* test-engines.c - the store's behaviour through its API only, so that the
 * same checks run on both engines: SQLite (a temporary file, always) and
 * PostgreSQL (LC_TEST_DATABASE, a database of its own made for this run by
 * tests/run.sh unit-pg). Conversations and the tree of versions, search,
 * the storage counters (the schema's triggers, the cascade, a user moved),
 * attachments, sessions, login limits, the usage ledger (append-only, its
 * totals), limits, counters, the workers' leases and the replies ended
 * when one dies, and on PostgreSQL a connection lost and made again. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "budget.h"
#include "id.h"
#include "pq.h"
#include "store.h"
#include "unit.h"

/* The number of conversations in a store_conv_list answer (deleted). */
static int
count_items(cJSON *a)
{
	int n = cJSON_GetArraySize(cJSON_GetObjectItem(a, "conversations"));

	cJSON_Delete(a);
	return n;
}

static long long
msg_add(struct store *s, const char *conv, const char *role, const char *text,
    const char *state)
{
	long long id = 0;

	return store_msg_add(s, conv, role, text, strlen(text), state, "m",
	    &id) == STORE_OK ? id : -1;
}

static void
test_conversations(struct store *s)
{
	char c1[ID_LEN + 1], c2[ID_LEN + 1];
	long long u1, a1, a2 = -1, leaf = 0;
	cJSON *out = NULL;
	struct store_usage u;

	CHECK(store_conv_create(s, "alice", "Trip to Rome", "m", "be brief",
	    c1) == STORE_OK && store_conv_create(s, "alice", "other", "m", "",
	    c2) == STORE_OK, "two conversations");
	u1 = msg_add(s, c1, "user", "héllo wörld", STORE_COMPLETE);
	a1 = msg_add(s, c1, "assistant", "first answer", STORE_COMPLETE);
	CHECK(u1 > 0 && a1 > u1, "messages get growing ids");
	/* A regenerated reply: a sibling of a1 under u1. */
	CHECK(store_conv_set_leaf(s, c1, u1) == STORE_OK &&
	    (a2 = msg_add(s, c1, "assistant", "second answer",
	    STORE_COMPLETE)) > a1, "a second version");
	CHECK(store_conv_leaf(s, c1, &leaf) == STORE_OK && leaf == a2,
	    "the new version is the leaf");
	CHECK(store_conv_get(s, c1, "alice", &out) == STORE_OK &&
	    cJSON_GetArraySize(cJSON_GetObjectItem(out, "messages")) == 2,
	    "the current path has two messages");
	cJSON_Delete(out);
	CHECK(store_conv_switch(s, c1, "alice", a1, &leaf) == STORE_OK &&
	    leaf == a1, "switch to the first version");
	CHECK(store_conv_list(s, "alice", NULL, 10, NULL, &out) == STORE_OK &&
	    count_items(out) == 2, "alice has two conversations");
	/* SQLite's LIKE ignores ASCII case; so must PostgreSQL's search. */
	CHECK(store_conv_list(s, "alice", "ROME", 10, NULL, &out) == STORE_OK &&
	    count_items(out) == 1, "search by title, any case");
	CHECK(store_conv_list(s, "alice", "second ANSWER", 10, NULL, &out) ==
	    STORE_OK && count_items(out) == 1, "search in the messages");
	CHECK(store_conv_list(s, "bob", NULL, 10, NULL, &out) == STORE_OK &&
	    count_items(out) == 0, "bob sees none of them");
	CHECK(store_conv_owned(s, c1, "bob") == STORE_NOT_FOUND,
	    "owner in every query");
	CHECK(store_quota_usage(s, "alice", &u) == STORE_OK &&
	    u.conversations == 2 && u.messages == 3 &&
	    u.bytes == (long long)(strlen("héllo wörld") +
	    strlen("first answer") + strlen("second answer")),
	    "the counters: 2 conversations, 3 messages, their bytes");
	CHECK(store_conv_delete(s, c1, "alice") == STORE_OK &&
	    store_quota_usage(s, "alice", &u) == STORE_OK &&
	    u.conversations == 1 && u.messages == 0 && u.bytes == 0,
	    "a deleted conversation's messages counted down (the cascade)");
	CHECK(store_conv_delete(s, c2, "alice") == STORE_OK &&
	    store_quota_usage(s, "alice", &u) == STORE_OK &&
	    u.conversations == 0, "and the last one");
}

/* A conversation longer than one batch of rows (PostgreSQL reads it
 * through a cursor, 8 rows at a time: db.h, DB_STREAM), alone and inside
 * a transaction, its versions read between its rows. */
static void
test_long(struct store *s)
{
	char c[ID_LEN + 1], text[32];
	cJSON *out = NULL;
	int n = 0, ordered = 1;
	long long prev = 0;

	CHECK(store_conv_create(s, "ivan", "long", "m", "", c) == STORE_OK,
	    "a long conversation");
	for (int i = 0; i < 150; i++) {
		snprintf(text, sizeof(text), "message %d", i);
		if (msg_add(s, c, i % 2 ? "assistant" : "user", text,
		    STORE_COMPLETE) > 0)
			n++;
	}
	CHECK(n == 150, "150 messages");
	for (int tx = 0; tx < 2; tx++) {
		CHECK(!tx || store_begin(s) == STORE_OK, "(in a transaction)");
		CHECK(store_conv_get(s, c, "ivan", &out) == STORE_OK &&
		    cJSON_GetArraySize(cJSON_GetObjectItem(out, "messages")) ==
		    150, tx ? "read whole in a transaction" : "read whole");
		cJSON *m;
		prev = 0;
		ordered = 1;
		cJSON_ArrayForEach(m, cJSON_GetObjectItem(out, "messages")) {
			long long id = (long long)cJSON_GetNumberValue(
			    cJSON_GetObjectItem(m, "id"));
			ordered &= id > prev;
			prev = id;
		}
		CHECK(ordered, "in order");
		CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(
		    cJSON_GetArrayItem(cJSON_GetObjectItem(out, "messages"), 149),
		    "content")), "message 149", "the last one last");
		cJSON_Delete(out);
		out = NULL;
		CHECK(!tx || store_commit(s) == STORE_OK, "(committed)");
	}
	CHECK(store_conv_delete(s, c, "ivan") == STORE_OK, "deleted");
}

static void
test_versions_text(struct store *s)
{
	char c[ID_LEN + 1];
	long long a = -1, q = -1;
	struct store_reasoning r = { "thinking…", strlen("thinking…"), 1200 };
	struct lc_usage use = { 0 };
	long long msgs = 0, bytes = 0;
	cJSON *out = NULL;

	use.prompt_tokens = 5;
	use.completion_tokens = 7;
	CHECK(store_conv_create(s, "carol", "t", "m", "", c) == STORE_OK &&
	    (q = msg_add(s, c, "user", "q", STORE_COMPLETE)) > 0 &&
	    (a = msg_add(s, c, "assistant", "", STORE_STREAMING)) > q,
	    "a streaming reply");
	CHECK(store_msg_update(s, a, "the answer", 10, &r, STORE_COMPLETE,
	    &use, NULL) == STORE_OK, "its end, with reasoning and usage");
	CHECK(store_quota_conv(s, c, &msgs, &bytes) == STORE_OK && msgs == 2 &&
	    bytes == (long long)(1 + 10 + strlen("thinking…")),
	    "reasoning bytes count in the conversation's counter");
	CHECK(store_conv_get(s, c, "carol", &out) == STORE_OK, "read back");
	cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(out, "messages"), 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "content")),
	    "the answer", "content");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "reasoning")),
	    "thinking…", "reasoning");
	cJSON_Delete(out);
	/* The user moved away (a deleted user kept apart), then purged. */
	int n = 0;
	struct store_usage u;
	CHECK(store_user_keep_apart(s, "carol", 1000, &n) == STORE_OK &&
	    n == 1 && store_quota_usage(s, "carol", &u) == STORE_OK &&
	    u.conversations == 0, "kept apart: carol's counters move");
	CHECK(store_user_purge(s, "carol_x", &n) == STORE_OK && n == 0,
	    "a purge names the whole user (carol_x is not carol)");
	CHECK(store_user_purge(s, "carol", &n) == STORE_OK && n == 1,
	    "purged");
}

static void
test_attachments(struct store *s)
{
	char c[ID_LEN + 1];
	struct store_attach a, got;
	static const unsigned char png[] = { 0x89, 'P', 'N', 'G', 0, 1, 2, 0xff };
	struct store_usage u;
	long long q = -1;

	memset(&a, 0, sizeof(a));
	snprintf(a.kind, sizeof(a.kind), "image");
	snprintf(a.mime, sizeof(a.mime), "image/png");
	snprintf(a.name, sizeof(a.name), "x.png");
	a.width = 1;
	a.height = 1;
	CHECK(store_attach_add(s, "dave", &a, png, sizeof(png)) == STORE_OK,
	    "an attachment of binary bytes (a NUL, 0xff)");
	memset(&got, 0, sizeof(got));
	CHECK(store_attach_get(s, a.id, "dave", 1, &got) == STORE_OK &&
	    got.bytes == (long long)sizeof(png) && got.data != NULL &&
	    memcmp(got.data, png, sizeof(png)) == 0, "its bytes come back");
	free(got.data);
	CHECK(store_quota_usage(s, "dave", &u) == STORE_OK &&
	    u.bytes == (long long)sizeof(png), "its bytes counted");
	CHECK(store_conv_create(s, "dave", "t", "m", "", c) == STORE_OK &&
	    (q = msg_add(s, c, "user", "see", STORE_COMPLETE)) > 0 &&
	    store_attach_bind(s, a.id, "dave", c, q, 0) == STORE_OK,
	    "bound to a message");
	CHECK(store_conv_delete(s, c, "dave") == STORE_OK &&
	    store_quota_usage(s, "dave", &u) == STORE_OK &&
	    u.conversations == 0 && u.messages == 0 && u.bytes == 0,
	    "gone with its conversation, every counter back to 0");
}

static void
test_sessions_logins(struct store *s)
{
	enum store_session_state st = STORE_SESSION_UNKNOWN;
	int count = -1;
	long long last = 0;

	CHECK(store_session_create(s, "sid1", "erin", 100, 100000, "192.0.2.1",
	    "curl", 0) == STORE_OK, "a session");
	CHECK(store_session_check(s, "sid1", "erin", 200, 3600, &st, &last) ==
	    STORE_OK && st == STORE_SESSION_ACTIVE, "active");
	CHECK(store_session_revoke(s, "sid1", "erin", 300) == STORE_OK &&
	    store_session_check(s, "sid1", "erin", 400, 3600, &st, &last) ==
	    STORE_OK && st == STORE_SESSION_REVOKED, "revoked");
	CHECK(store_login_fail(s, "u:erin", 60) == STORE_OK &&
	    store_login_fail(s, "u:erin", 60) == STORE_OK &&
	    store_login_count(s, "u:erin", 60, &count, &last) == STORE_OK &&
	    count == 2, "failed logins counted");
	CHECK(store_login_trust(s, "ok:erin", 60) == STORE_OK &&
	    store_login_trust(s, "ok:erin", 60) == STORE_OK &&
	    store_login_trusted(s, "ok:erin", 60) == STORE_OK,
	    "a trusted login (its upsert twice)");
	CHECK(store_login_clear(s, "u:erin") == STORE_OK &&
	    store_login_count(s, "u:erin", 60, &count, &last) == STORE_OK &&
	    count == 0, "cleared");
}

static int
total_of(void *arg, const char *user, const char *model, long long replies,
    long long p, long long c, long long r, long long cost)
{
	long long *out = arg;

	(void)model;
	(void)r;
	(void)cost;
	if (strcmp(user, "frank") == 0) {
		out[0] += replies;
		out[1] += p + c;
	}
	return 0;
}

static void
test_usage(struct store *s)
{
	struct store_usage_row r = {
		.user = "frank", .model = "m", .upstream = "", .outcome =
		STORE_COMPLETE, .day = "2026-12-02", .at = 1, .prompt_tokens = 3,
		.completion_tokens = 4, .cost_micros = 1500,
	};
	long long tok = -1, cost = -1, tot[2] = { 0, 0 };
	struct budget_limits own, back;
	cJSON *out = NULL;

	CHECK(store_usage_add(s, &r) == STORE_OK && store_usage_add(s, &r) ==
	    STORE_OK, "two ledger rows");
	CHECK(store_usage_sum(s, "frank", "2026-12-01", &tok, &cost) ==
	    STORE_OK && tok == 14 && cost == 3000, "summed: 14 tokens, 3000");
	CHECK(store_usage_sum(s, "frank", "2026-12-03", &tok, &cost) ==
	    STORE_OK && tok == 0 && cost == 0, "a later period: nothing");
	CHECK(store_usage_totals(s, total_of, tot) == STORE_OK &&
	    tot[0] == 2 && tot[1] == 14, "the totals the trigger keeps");
	CHECK(store_usage_report(s, "user", NULL, NULL, &out) == STORE_OK &&
	    cJSON_GetArraySize(out) >= 1, "a report by user");
	cJSON_Delete(out);
	memset(&own, 0, sizeof(own));
	for (int p = 0; p < BUDGET__PERIODS; p++)
		for (int u = 0; u < BUDGET__UNITS; u++)
			own.v[p][u] = -1;
	own.v[0][0] = 1000;
	CHECK(store_limits_set(s, "frank", &own) == STORE_OK &&
	    store_limits_get(s, "frank", &back) == STORE_OK &&
	    back.v[0][0] == 1000, "a user's own limit");
	CHECK(store_counter_add(s, "logins_ok", 2) == STORE_OK &&
	    store_counter_add(s, "logins_ok", 3) == STORE_OK,
	    "a counter added to twice");
	CHECK(store_health_write(s, 1000) == STORE_OK, "the health write");
}

struct ended {
	int n;
	char conv[ID_LEN + 1];
	char user[32];
};

static void
on_orphan(void *arg, const char *user, const char *conv, long long id)
{
	struct ended *e = arg;

	(void)id;
	e->n++;
	snprintf(e->conv, sizeof(e->conv), "%s", conv);
	snprintf(e->user, sizeof(e->user), "%s", user);
}

/* Two workers (two connections) on one database: host1 writes a reply,
 * dies; host2's sweep ends it once its lease ran out. */
static void
test_leases(struct store *w1, struct store *w2)
{
	char c[ID_LEN + 1];
	long long a = -1, b = -1, tok = -1, cost = -1;
	struct ended e = { 0 };
	cJSON *out = NULL;
	/* Times from now: a restarted worker's own replies are those made
	 * before its start. */
	long long t = (long long)time(NULL) * 1000;

	CHECK(store_set_worker(w1, "host1") == STORE_OK &&
	    store_set_worker(w2, "host2") == STORE_OK, "two workers");
	CHECK(store_lease_renew(w1, "host1", t + 1000, t + 7000) == STORE_OK &&
	    store_lease_renew(w1, "host1", t + 2000, t + 8000) == STORE_OK &&
	    store_lease_renew(w2, "host2", t + 1000, t + 7000) == STORE_OK,
	    "leases taken and renewed");
	CHECK(store_conv_create(w1, "gina", "t", "m", "", c) == STORE_OK &&
	    msg_add(w1, c, "user", "q", STORE_COMPLETE) > 0 &&
	    (a = msg_add(w1, c, "assistant", "half an answ",
	    STORE_STREAMING)) > 0, "host1 streams a reply");
	CHECK(store_interrupt_orphans(w2, NULL, t + 7500, on_orphan, &e) == 0 &&
	    e.n == 0, "within host1's lease nothing is ended");
	CHECK(store_interrupt_orphans(w2, NULL, t + 9000, on_orphan, &e) == 1 &&
	    e.n == 1 && strcmp(e.conv, c) == 0 && strcmp(e.user, "gina") == 0,
	    "past it, host2 ends host1's reply and says whose");
	CHECK(store_interrupt_orphans(w2, NULL, t + 9000, on_orphan, &e) == 0 &&
	    e.n == 1, "once only");
	CHECK(store_conv_get(w2, c, "gina", &out) == STORE_OK, "read it");
	cJSON *m = cJSON_GetArrayItem(cJSON_GetObjectItem(out, "messages"), 1);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(m, "state")),
	    STORE_INTERRUPTED, "it is interrupted");
	cJSON_Delete(out);
	CHECK(store_usage_sum(w2, "gina", "1970-01-01", &tok, &cost) ==
	    STORE_OK && tok == 3, "its ledger row: 12 bytes, 3 tokens");
	/* host2's own reply, host2 restarting: its start ends it at once. */
	CHECK((b = msg_add(w2, c, "assistant", "x", STORE_STREAMING)) > a &&
	    store_lease_renew(w2, "host2", t + 9000, t + 15000) == STORE_OK &&
	    store_interrupt_orphans(w1, NULL, t + 9500, NULL, NULL) == 0,
	    "a live lease keeps host2's reply");
	CHECK(store_interrupt_orphans(w2, "host2", t - 1000, NULL, NULL) == 0,
	    "a worker's own reply made after its start is not its past");
	CHECK(store_interrupt_orphans(w2, "host2", t + 9500, NULL, NULL) == 1,
	    "host2 restarted: its start ends what it wrote before");
	CHECK(store_lease_drop(w2, "host2") == STORE_OK, "a lease dropped");
}

/* PostgreSQL: every other connection to the database ended by the server
 * (as a restart does); the store connects again at its next call. */
static void
test_connection_lost(struct store *s, const char *url)
{
	char err[256], id[ID_LEN + 1];
	const struct pq_api *pq = pq_load(err, sizeof(err));
	PGconn *admin = pq != NULL ? pq->connectdbParams((const char *[]){
	    "dbname", NULL }, (const char *[]){ url, NULL }, 1) : NULL;
	PGresult *r = NULL;
	cJSON *list = NULL;

	CHECK(admin != NULL && pq->status(admin) == CONNECTION_OK,
	    "a connection of the test's own");
	if (admin == NULL)
		return;
	CHECK(store_conv_create(s, "hank", "t", "m", "", id) == STORE_OK,
	    "the store works");
	r = pq->exec(admin, "SELECT count(pg_terminate_backend(pid)) FROM"
	    " pg_stat_activity WHERE datname = current_database()"
	    " AND pid <> pg_backend_pid()");
	CHECK(r != NULL && pq->resultStatus(r) == PGRES_TUPLES_OK &&
	    atoi(pq->getvalue(r, 0, 0)) >= 1, "the server ends its connection");
	pq->clear(r);
	CHECK(store_conv_list(s, "hank", NULL, 10, NULL, &list) == STORE_OK &&
	    cJSON_GetArraySize(cJSON_GetObjectItem(list, "conversations")) ==
	    1, "the next call connects again and answers");
	cJSON_Delete(list);
	r = pq->exec(admin, "SELECT count(pg_terminate_backend(pid)) FROM"
	    " pg_stat_activity WHERE datname = current_database()"
	    " AND pid <> pg_backend_pid()");
	pq->clear(r);
	CHECK(store_begin(s) == STORE_ERR || store_commit(s) == STORE_OK,
	    "a transaction begun on a lost connection: begun anew or refused");
	CHECK(store_conv_owned(s, id, "hank") == STORE_OK, "and works after");
	pq->finish(admin);
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-engines.XXXXXX", path[256], err[256];
	const char *url = getenv("LC_TEST_DATABASE");
	struct store *s = NULL, *s2 = NULL;
	int pg = url != NULL && url[0] != '\0';

	if (mkdtemp(dir) == NULL)
		return 1;
	setenv("TZ", "UTC", 1);
	snprintf(path, sizeof(path), "%s", pg ? url : "");
	if (!pg)
		snprintf(path, sizeof(path), "%s/db", dir);
	printf("# engine: %s\n", pg ? "PostgreSQL" : "SQLite");
	CHECK(store_path_is_pg(path) == pg, "the path names its engine");
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK &&
	    store_open(&s2, path, err, sizeof(err)) == STORE_OK,
	    "two connections (the second finds the schema made)");
	if (s == NULL || s2 == NULL) {
		printf("# %s\n", err);
		return 1;
	}
	CHECK(store_is_shared(s) == pg, "shared only on PostgreSQL");
	test_conversations(s);
	test_versions_text(s);
	test_long(s);
	test_attachments(s);
	test_sessions_logins(s);
	test_usage(s);
	test_leases(s, s2);
	if (pg) {
		test_connection_lost(s, url);
		/* A server that is not there: refused, or (the programs that
		 * serve) made, not ready, each use failing cleanly. */
		struct store *lazy = NULL;
		const char *none = "postgresql:///x?host=/nonexistent&port=1";
		CHECK(store_open(&lazy, none, err, sizeof(err)) == STORE_ERR &&
		    lazy == NULL && strstr(err, "nonexistent") != NULL,
		    "store_open: a server not there refused, saying where");
		CHECK(store_open_retrying(&lazy, none, err, sizeof(err)) ==
		    STORE_OK && lazy != NULL && err[0] != '\0',
		    "store_open_retrying: made, saying why it is not ready");
		CHECK(store_conv_owned(lazy, "0123456789abcdef0123456789abcdef", "x") == STORE_ERR &&
		    store_conv_owned(lazy, "0123456789abcdef0123456789abcdef", "x") == STORE_ERR,
		    "its uses fail cleanly until the server answers");
		store_close(lazy);
	}
	store_close(s2);
	store_close(s);
	cJSON *list = NULL;
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK &&
	    store_conv_list(s, "alice", NULL, 10, NULL, &list) == STORE_OK,
	    "opened again: no migration to do");
	cJSON_Delete(list);
	store_close(s);
	if (!pg) {
		unlink(path);
		for (const char *x = "-wal"; x != NULL; x = x[1] == 'w' ?
		    "-shm" : NULL) {
			char f[300];
			snprintf(f, sizeof(f), "%s%s", path, x);
			unlink(f);
		}
	}
	rmdir(dir);
	UNIT_EXIT();
}
