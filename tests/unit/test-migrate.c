/* test-migrate.c - store_migrate (lightchat-admin migrate-store): a SQLite
 * store filled through the store API (conversations with versions,
 * reasoning and usage, attachments of binary bytes, sessions, login rows,
 * quotas, limits, counters, /health's row, ledger rows, a deleted user's
 * data kept apart, non-ASCII text) moved into PostgreSQL
 * (LC_TEST_DATABASE, an empty database of its own: tests/run.sh's
 * PostgreSQL block; skipped without it), then read back through the store
 * API on both engines and compared; what it refuses (a missing file, a
 * file that is not lightchat's, replies still streaming, a target that is
 * not empty); and the sequences: rows added after the move get new ids.
 * Without PostgreSQL only the refusals about the source run. */
#include <sqlite3.h>
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

#define NOW 1764676800LL   /* 2025-12-02, seconds */

/* What the test made in the SQLite store, to look up on both. */
struct made {
	char conv[ID_LEN + 1];     /* alice's, with versions */
	char conv2[ID_LEN + 1];    /* alice's, with an attachment */
	char att[ID_LEN + 1];      /* bound to a message of conv2 */
	char loose[ID_LEN + 1];    /* alice's, bound to nothing */
	long long streaming;       /* a reply left streaming, then ended */
	long long max_id;          /* the largest message id */
};

static unsigned char bytes256[256];
static const char text_u[] = "héllo wörld ✓ 日本語 🎉 «quotes» 'single' \\n";

static long long
msg_add(struct store *s, const char *conv, const char *role, const char *text,
    const char *state)
{
	long long id = 0;

	return store_msg_add(s, conv, role, text, strlen(text), state, "m1",
	    &id) == STORE_OK ? id : -1;
}

static void
fill(struct store *s, struct made *m)
{
	struct store_reasoning r = { "thinking… ünïcode", strlen(
	    "thinking… ünïcode"), 1234 };
	struct lc_usage use = { 0 };
	struct store_attach a;
	struct budget_limits own;
	char bobc[ID_LEN + 1];
	long long u1 = -1, a1 = -1, a2 = -1, q = -1, leaf = 0;
	int n = 0;

	for (int i = 0; i < 256; i++)
		bytes256[i] = (unsigned char)i;
	use.prompt_tokens = 11;
	use.completion_tokens = 22;
	use.total_tokens = 33;
	CHECK(store_conv_create(s, "alice", "Ünïcode title ✓", "m1",
	    "be brief, ünïcode", m->conv) == STORE_OK &&
	    store_conv_create(s, "alice", "files", "m2", "", m->conv2) ==
	    STORE_OK, "source: two conversations");
	u1 = msg_add(s, m->conv, "user", text_u, STORE_COMPLETE);
	a1 = msg_add(s, m->conv, "assistant", "", STORE_STREAMING);
	CHECK(u1 > 0 && a1 > u1 && store_msg_update(s, a1, "first answer", 12,
	    &r, STORE_COMPLETE, &use, NULL) == STORE_OK,
	    "source: a reply with reasoning and usage");
	CHECK(store_conv_set_leaf(s, m->conv, u1) == STORE_OK &&
	    (a2 = msg_add(s, m->conv, "assistant", "", STORE_STREAMING)) > a1 &&
	    store_msg_update(s, a2, "half", 4, NULL, STORE_ERROR, NULL,
	    "upstream_error") == STORE_OK,
	    "source: a second version, failed, with an error code");
	CHECK(store_conv_switch(s, m->conv, "alice", a1, &leaf) == STORE_OK,
	    "source: the first version shown");
	memset(&a, 0, sizeof(a));
	snprintf(a.kind, sizeof(a.kind), "image");
	snprintf(a.mime, sizeof(a.mime), "image/png");
	snprintf(a.name, sizeof(a.name), "bÿtes.png");
	a.width = 16;
	a.height = 16;
	CHECK(store_attach_add(s, "alice", &a, bytes256, sizeof(bytes256)) ==
	    STORE_OK && (q = msg_add(s, m->conv2, "user", "see this",
	    STORE_COMPLETE)) > 0 && store_attach_bind(s, a.id, "alice",
	    m->conv2, q, 0) == STORE_OK,
	    "source: an attachment of every byte value, bound");
	snprintf(m->att, sizeof(m->att), "%s", a.id);
	snprintf(a.kind, sizeof(a.kind), "text");
	snprintf(a.mime, sizeof(a.mime), "text/plain");
	snprintf(a.name, sizeof(a.name), "notes.txt");
	a.width = a.height = 0;
	CHECK(store_attach_add(s, "alice", &a, "", 0) == STORE_OK,
	    "source: an empty attachment bound to nothing");
	snprintf(m->loose, sizeof(m->loose), "%s", a.id);
	m->streaming = msg_add(s, m->conv2, "assistant", "still writ",
	    STORE_STREAMING);
	CHECK(m->streaming > q, "source: a reply left streaming");
	m->max_id = m->streaming;
	CHECK(store_session_create(s, "sid-a", "alice", NOW, NOW + 86400,
	    "192.0.2.1", "curl/8 ✓", 1) == STORE_OK &&
	    store_session_create(s, "sid-b", "alice", NOW, NOW + 86400,
	    "192.0.2.2", NULL, 0) == STORE_OK &&
	    store_session_revoke(s, "sid-b", "alice", NOW + 1) == STORE_OK,
	    "source: two sessions, one revoked");
	CHECK(store_login_fail(s, "user:alice", 600) == STORE_OK &&
	    store_login_fail(s, "user:alice", 600) == STORE_OK &&
	    store_login_trust(s, "ok:alice|192.0.2.1", 600) == STORE_OK,
	    "source: failed logins (two equal rows possible) and a trust");
	CHECK(store_quota_set(s, "alice", 5000000) == STORE_OK,
	    "source: a quota");
	for (int p = 0; p < BUDGET__PERIODS; p++)
		for (int u = 0; u < BUDGET__UNITS; u++)
			own.v[p][u] = BUDGET_DEFAULT;
	own.v[0][0] = 1000;
	CHECK(store_limits_set(s, "alice", &own) == STORE_OK,
	    "source: a limit");
	CHECK(store_counter_add(s, "logins_ok", 7) == STORE_OK &&
	    store_health_write(s, 1000) == STORE_OK,
	    "source: a counter and the health row");
	struct store_usage_row ur = {
		.user = "alice", .model = "m1", .upstream = "up",
		.outcome = STORE_COMPLETE, .conversation_id = m->conv,
		.message_id = a1, .at = NOW, .day = "2025-12-02",
		.prompt_tokens = 11, .completion_tokens = 22,
		.cost_micros = 1500,
	};
	CHECK(store_usage_add(s, &ur) == STORE_OK, "source: a ledger row");
	ur.outcome = STORE_ERROR;
	ur.cost_micros = -1;
	ur.estimated = 1;
	ur.model = "m2";
	CHECK(store_usage_add(s, &ur) == STORE_OK,
	    "source: an unpriced, estimated one");
	CHECK(store_conv_create(s, "bob", "bob's", "m1", "", bobc) ==
	    STORE_OK && msg_add(s, bobc, "user", "bye", STORE_COMPLETE) > 0 &&
	    store_user_keep_apart(s, "bob", NOW, &n) == STORE_OK && n == 1,
	    "source: a deleted user's data kept apart");
}

/* The JSON of one store call, printed (NULL when it failed). */
static char *
json_of(int rc, cJSON *v)
{
	char *s = rc == STORE_OK && v != NULL ? cJSON_PrintUnformatted(v) :
	    NULL;

	cJSON_Delete(v);
	return s;
}

/* The same answer on both stores: JSON compared as text. */
static void
same(const char *name, char *a, char *b)
{
	int eq = a != NULL && b != NULL && strcmp(a, b) == 0;

	CHECK(eq, name);
	if (!eq)
		printf("#   sqlite %.300s\n#   pg     %.300s\n", a ? a : "(null)",
		    b ? b : "(null)");
	free(a);
	free(b);
}

static int
counter_line(void *arg, const char *name, long long v)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 512 - n, "%s=%lld;", name, v);
	return 0;
}

static int
total_line(void *arg, const char *user, const char *model, long long replies,
    long long p, long long c, long long r, long long cost)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 512 - n, "%s/%s:%lld,%lld,%lld,%lld,%lld;", user,
	    model, replies, p, c, r, cost);
	return 0;
}

/* Reads the same things through the API of both stores. */
static void
compare(struct store *a, struct store *b, const struct made *m)
{
	cJSON *x = NULL, *y = NULL;
	struct store_attach ga, gb;
	int rb;
	struct store_usage ua, ub;
	char ca[512] = "", cb[512] = "";
	long long qa = -2, qb = -3;
	int rc;

	rc = store_conv_get(a, m->conv, "alice", &x);
	rb = store_conv_get(b, m->conv, "alice", &y);
	same("a conversation with versions, reasoning, usage, non-ASCII",
	    json_of(rc, x), json_of(rb, y));
	rc = store_conv_page(a, m->conv, "alice", 0, 50, &x);
	rb = store_conv_page(b, m->conv, "alice", 0, 50, &y);
	same("its page: siblings and tree", json_of(rc, x), json_of(rb, y));
	rc = store_conv_get(a, m->conv2, "alice", &x);
	rb = store_conv_get(b, m->conv2, "alice", &y);
	same("the conversation with an attachment", json_of(rc, x),
	    json_of(rb, y));
	rc = store_conv_list(a, "alice", NULL, 10, NULL, &x);
	rb = store_conv_list(b, "alice", NULL, 10, NULL, &y);
	same("the list of conversations", json_of(rc, x), json_of(rb, y));
	memset(&ga, 0, sizeof(ga));
	memset(&gb, 0, sizeof(gb));
	CHECK(store_attach_get(a, m->att, "alice", 1, &ga) == STORE_OK &&
	    store_attach_get(b, m->att, "alice", 1, &gb) == STORE_OK &&
	    gb.bytes == 256 && memcmp(gb.data, bytes256, 256) == 0 &&
	    strcmp(ga.name, gb.name) == 0 && gb.msg_id == ga.msg_id &&
	    strcmp(gb.conv, m->conv2) == 0,
	    "the attachment's bytes exact, still bound to its message");
	free(ga.data);
	free(gb.data);
	memset(&gb, 0, sizeof(gb));
	CHECK(store_attach_get(b, m->loose, "alice", 1, &gb) == STORE_OK &&
	    gb.bytes == 0 && gb.msg_id == 0, "the empty, unbound one");
	free(gb.data);
	CHECK(store_quota_usage(a, "alice", &ua) == STORE_OK &&
	    store_quota_usage(b, "alice", &ub) == STORE_OK &&
	    ua.conversations == ub.conversations &&
	    ua.messages == ub.messages && ua.bytes == ub.bytes &&
	    ub.messages == 5, "the storage counters the triggers rebuilt");
	rc = store_quota_list(a, &x);
	rb = store_quota_list(b, &y);
	same("storage of every user (the kept-apart owner too)",
	    json_of(rc, x), json_of(rb, y));
	CHECK(store_quota_get(b, "alice", &qb) == STORE_OK &&
	    store_quota_get(a, "alice", &qa) == STORE_OK && qa == qb,
	    "the quota");
	rc = store_session_list(a, NULL, NOW + 10, 3600, &x);
	rb = store_session_list(b, NULL, NOW + 10, 3600, &y);
	same("the active sessions", json_of(rc, x), json_of(rb, y));
	enum store_session_state st = STORE_SESSION_ACTIVE;
	CHECK(store_session_check(b, "sid-b", "alice", NOW + 10, 3600, &st,
	    NULL) == STORE_OK && st == STORE_SESSION_REVOKED,
	    "the revoked session stays revoked");
	int fa = -1, fb = -2;
	long long la = 0, lb = 0;
	CHECK(store_login_count(a, "user:alice", 600, &fa, &la) == STORE_OK &&
	    store_login_count(b, "user:alice", 600, &fb, &lb) == STORE_OK &&
	    fa == fb && fb == 2 && la == lb, "the failed logins");
	CHECK(store_login_trusted(b, "ok:alice|192.0.2.1", 600) == STORE_OK,
	    "the trusted login");
	rc = store_limits_list(a, &x);
	rb = store_limits_list(b, &y);
	same("the limits", json_of(rc, x), json_of(rb, y));
	rc = store_usage_report(a, "model", NULL, NULL, &x);
	rb = store_usage_report(b, "model", NULL, NULL, &y);
	same("the usage report", json_of(rc, x), json_of(rb, y));
	CHECK(store_usage_totals(a, total_line, ca) == STORE_OK &&
	    store_usage_totals(b, total_line, cb) == STORE_OK &&
	    strcmp(ca, cb) == 0 && ca[0] != '\0', "the usage totals");
	ca[0] = cb[0] = '\0';
	CHECK(store_counters_each(a, counter_line, ca) == STORE_OK &&
	    store_counters_each(b, counter_line, cb) == STORE_OK &&
	    strcmp(ca, cb) == 0 && strcmp(cb, "logins_ok=7;") == 0,
	    "the counters");
}

/* The verification finds a difference: the source's storage counters
 * made wrong by hand (what the target's triggers rebuild cannot match),
 * moved into the emptied target: refused after the commit, the table
 * named. */
static void
test_drift(const char *path, const char *url)
{
	struct store_migrate_report rep;
	char err[1024];
	const struct pq_api *pq = pq_load(err, sizeof(err));
	PGconn *c = pq != NULL ? pq->connectdbParams((const char *[]){
	    "dbname", NULL }, (const char *[]){ url, NULL }, 1) : NULL;
	PGresult *r = NULL;
	sqlite3 *db = NULL;
	int rc;

	if (c != NULL)
		r = pq->exec(c, "SET client_min_messages = warning;"
		    " DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	CHECK(r != NULL && pq->resultStatus(r) == PGRES_COMMAND_OK,
	    "the target emptied (its schema dropped)");
	if (pq != NULL) {
		pq->clear(r);
		pq->finish(c);
	}
	CHECK(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db,
	    "UPDATE user_usage SET bytes = bytes + 1 WHERE user = 'alice'",
	    NULL, NULL, NULL) == SQLITE_OK, "the source's counters made wrong");
	sqlite3_close(db);
	rc = store_migrate(path, url, &rep, err, sizeof(err));
	CHECK(rc == STORE_ERR && rep.committed && !rep.verified &&
	    strstr(err, "table user_usage differs") != NULL,
	    "the verification names the table that differs");
	printf("# %s\n", err);
}

/* A SQLite file with a table of someone else's. */
static void
foreign_db(const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open(path, &db) == SQLITE_OK)
		sqlite3_exec(db, "CREATE TABLE accounts (id INTEGER PRIMARY KEY)",
		    NULL, NULL, NULL);
	sqlite3_close(db);
}

static void
remove_db(const char *path)
{
	char f[512];

	unlink(path);
	snprintf(f, sizeof(f), "%s-wal", path);
	unlink(f);
	snprintf(f, sizeof(f), "%s-shm", path);
	unlink(f);
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-migrate.XXXXXX", path[256], other[256];
	char err[1024];
	const char *url = getenv("LC_TEST_DATABASE");
	struct store_migrate_report rep;
	struct store *s = NULL, *p = NULL;
	struct made m;
	int rc;

	if (mkdtemp(dir) == NULL)
		return 1;
	setenv("TZ", "UTC", 1);
	memset(&m, 0, sizeof(m));
	snprintf(path, sizeof(path), "%s/lightchat.db", dir);
	snprintf(other, sizeof(other), "%s/other.db", dir);

	/* What is refused before PostgreSQL is reached. */
	rc = store_migrate(path, "postgresql:///none", &rep, err, sizeof(err));
	CHECK(rc == STORE_ERR && strstr(err, "No such file") != NULL &&
	    access(path, F_OK) != 0, "a missing file: refused, not created");
	foreign_db(other);
	rc = store_migrate(other, "postgresql:///none", &rep, err, sizeof(err));
	CHECK(rc == STORE_INVALID, "a SQLite file that is not lightchat's");
	printf("# %s\n", err);
	rc = store_migrate("postgresql:///a", "postgresql:///b", &rep, err,
	    sizeof(err));
	CHECK(rc == STORE_INVALID, "a URL as the source");
	rc = store_migrate(other, "/tmp/x.db", &rep, err, sizeof(err));
	CHECK(rc == STORE_INVALID, "a file as the target");

	if (url == NULL || url[0] == '\0') {
		printf("skip - the move into PostgreSQL # skip LC_TEST_DATABASE "
		    "is not set\n");
		goto out;
	}
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK,
	    "a SQLite store");
	if (s == NULL)
		goto out;
	fill(s, &m);

	rc = store_migrate(path, url, &rep, err, sizeof(err));
	CHECK(rc == STORE_INVALID && strstr(err, "stop lightchat first") !=
	    NULL && !rep.committed, "a reply still streaming: refused");
	printf("# %s\n", err);
	CHECK(store_msg_update(s, m.streaming, "still written", 13, NULL,
	    STORE_STOPPED, NULL, NULL) == STORE_OK, "the reply ends");

	rc = store_migrate(path, url, &rep, err, sizeof(err));
	CHECK(rc == STORE_OK && rep.committed && rep.verified,
	    "moved and verified");
	if (rc != STORE_OK)
		printf("# %s\n", err);
	for (int i = 0; i < STORE_MIGRATE_TABLES; i++)
		printf("# %s: %lld rows, sha256 %s\n", rep.table[i].name,
		    rep.table[i].rows, rep.table[i].sha256);
	CHECK(store_migrate_rows(&rep, "conversations") == 3 &&
	    store_migrate_rows(&rep, "messages") == 6 &&
	    store_migrate_rows(&rep, "attachments") == 2 &&
	    store_migrate_rows(&rep, "sessions") == 2 &&
	    store_migrate_rows(&rep, "login_failures") == 2 &&
	    store_migrate_rows(&rep, "usage") == 2 &&
	    store_migrate_rows(&rep, "health") == 1 &&
	    store_migrate_rows(&rep, "user_usage") == 2 &&
	    store_migrate_rows(&rep, "usage_totals") == 2 &&
	    store_migrate_rows(&rep, "nothing") == -1, "the counts");
	CHECK(strlen(rep.table[0].sha256) == 64, "a digest per table");
	CHECK(store_open(&p, url, err, sizeof(err)) == STORE_OK,
	    "the PostgreSQL store opens");
	if (p == NULL)
		goto out;
	compare(s, p, &m);

	rc = store_migrate(path, url, &rep, err, sizeof(err));
	CHECK(rc == STORE_INVALID && strstr(err, "already holds data") != NULL,
	    "a second move into the now full database: refused");
	printf("# %s\n", err);

	long long id = msg_add(p, m.conv, "user", "after the move",
	    STORE_COMPLETE);
	CHECK(id > m.max_id, "a message added after the move: a new id");
	struct store_usage_row ur = {
		.user = "alice", .model = "m1", .upstream = "",
		.outcome = STORE_COMPLETE, .at = NOW, .day = "2025-12-02",
	};
	CHECK(store_usage_add(p, &ur) == STORE_OK,
	    "a ledger row added after the move (its id past the copied)");
	int n = 0;
	CHECK(store_user_purge(p, "bob", &n) == STORE_OK && n == 1,
	    "the kept-apart data is purged on PostgreSQL");
	CHECK(store_session_revoke_user(p, NULL, NULL, NOW + 20, &n) ==
	    STORE_OK && n == 1, "every session revoked (rotate-key)");
	store_close(p);
	p = NULL;
	test_drift(path, url);
out:
	store_close(p);
	store_close(s);
	remove_db(path);
	remove_db(other);
	rmdir(dir);
	UNIT_EXIT();
}
