/* test-sessions.c - login sessions: lib/store_session.c's rows (create,
 * check, touch, revoke, list, purge), lib/users_fp.c's fingerprint and its
 * cache, and lib/session_check.c's one verdict, and a deleted user's data
 * (store_user_delete, _keep_apart, _purge). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "session_check.h"
#include "store.h"
#include "unit.h"
#include "users_fp.h"

#define SID1 "00000000000000000000000000000001"
#define SID2 "00000000000000000000000000000002"
#define SID3 "00000000000000000000000000000003"

static void
write_file(const char *path, const char *text)
{
	char tmp[300];
	FILE *fp;

	snprintf(tmp, sizeof(tmp), "%s.new", path);
	fp = fopen(tmp, "w");
	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0 ||
	    rename(tmp, path) != 0) {
		perror(path);
		exit(2);
	}
}

static enum store_session_state
state_of(struct store *s, const char *sid, const char *user, long long now,
    long idle)
{
	enum store_session_state st = STORE_SESSION_ACTIVE;

	if (store_session_check(s, sid, user, now, idle, &st, NULL) != STORE_OK)
		return (enum store_session_state)-1;
	return st;
}

static void
test_rows(struct store *s)
{
	long long now = 1700000000, seen = 0;
	enum store_session_state st;
	cJSON *list = NULL;
	char client[400];
	int n = -1;

	memset(client, 'x', sizeof(client) - 1);
	client[sizeof(client) - 1] = '\0';
	client[3] = '\n';
	CHECK(store_session_create(s, SID1, "alice", now, now + 100, "192.0.2.1",
	    client, 0) == STORE_OK, "create: alice's first");
	CHECK(store_session_create(s, SID2, "alice", now, now + 1000, NULL,
	    NULL, 1) == STORE_OK, "create: alice's remember-me, no addr/client");
	CHECK(store_session_create(s, SID3, "bob", now, now + 100, "::1",
	    "curl", 0) == STORE_OK, "create: bob's");
	CHECK(store_session_create(s, SID3, "bob", now, now + 100, "::1",
	    "curl", 0) == STORE_ERR, "create: a sid is unique");
	CHECK(state_of(s, SID1, "alice", now + 10, 60) == STORE_SESSION_ACTIVE,
	    "check: active");
	CHECK(state_of(s, SID1, "bob", now + 10, 60) == STORE_SESSION_UNKNOWN,
	    "check: another user's sid is unknown");
	CHECK(state_of(s, "ffffffffffffffffffffffffffffffff", "alice", now, 60)
	    == STORE_SESSION_UNKNOWN, "check: no such sid");
	CHECK(state_of(s, SID1, "alice", now + 60, 60) == STORE_SESSION_IDLE,
	    "check: idle after idle_s without use");
	CHECK(state_of(s, SID2, "alice", now + 600, 60) == STORE_SESSION_ACTIVE,
	    "check: remember-me has no idle limit");
	CHECK(store_session_touch(s, SID1, now + 50) == STORE_OK &&
	    state_of(s, SID1, "alice", now + 60, 60) == STORE_SESSION_ACTIVE,
	    "touch: use moves the idle limit");
	CHECK(store_session_touch(s, SID1, now + 5) == STORE_OK &&
	    store_session_check(s, SID1, "alice", now + 60, 60, &st, &seen) ==
	    STORE_OK && seen == now + 50, "touch: never backwards");
	CHECK(state_of(s, SID1, "alice", now + 100, 1000) ==
	    STORE_SESSION_EXPIRED, "check: expired at expires_at");
	CHECK(state_of(s, SID2, "alice", now + 1000, 60) ==
	    STORE_SESSION_EXPIRED, "check: remember-me expires too");

	CHECK(store_session_list(s, NULL, now + 10, 60, &list) == STORE_OK &&
	    cJSON_GetArraySize(list) == 3, "list: everyone's three");
	cJSON *first = cJSON_GetArrayItem(list, 0);
	const char *c = cJSON_GetStringValue(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(list, 0), "client"));
	if (strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(first, "sid")),
	    SID1) != 0)
		c = cJSON_GetStringValue(cJSON_GetObjectItem(
		    cJSON_GetArrayItem(list, 1), "client"));
	CHECK(c != NULL && strlen(c) == STORE_CLIENT_MAX && c[3] == '?',
	    "create: client cut to STORE_CLIENT_MAX, controls replaced");
	cJSON_Delete(list);
	CHECK(store_session_list(s, "bob", now + 10, 60, &list) == STORE_OK &&
	    cJSON_GetArraySize(list) == 1, "list: one user's");
	cJSON_Delete(list);

	CHECK(store_session_revoke(s, SID3, "alice", now) == STORE_NOT_FOUND,
	    "revoke: not another user's");
	CHECK(store_session_revoke(s, SID3, "bob", now) == STORE_OK &&
	    state_of(s, SID3, "bob", now + 1, 60) == STORE_SESSION_REVOKED,
	    "revoke: revoked");
	CHECK(store_session_revoke(s, SID3, NULL, now) == STORE_NOT_FOUND,
	    "revoke: twice is not found");
	CHECK(store_session_revoke_user(s, "alice", SID2, now, &n) == STORE_OK &&
	    n == 1 && state_of(s, SID1, "alice", now + 1, 60) ==
	    STORE_SESSION_REVOKED && state_of(s, SID2, "alice", now + 1, 60) ==
	    STORE_SESSION_ACTIVE, "revoke_user: all but the one kept");
	CHECK(store_session_revoke_user(s, "alice", NULL, now, &n) == STORE_OK &&
	    n == 1 && state_of(s, SID2, "alice", now + 1, 60) ==
	    STORE_SESSION_REVOKED, "revoke_user: all");
	CHECK(store_session_list(s, NULL, now + 10, 60, &list) == STORE_OK &&
	    cJSON_GetArraySize(list) == 0, "list: active ones only");
	cJSON_Delete(list);
	CHECK(store_session_create(s, "0000000000000000000000000000000a",
	    "erin", now, now + 100, "", "", 0) == STORE_OK &&
	    store_session_revoke_user(s, NULL, NULL, now, &n) == STORE_OK &&
	    n == 1 && store_session_list(s, NULL, now + 10, 60, &list) ==
	    STORE_OK && cJSON_GetArraySize(list) == 0,
	    "revoke_user: NULL is everyone's");
	cJSON_Delete(list);
	CHECK(store_session_purge(s, now + 1000, 60) == 0,
	    "purge: ended rows are kept a day");
	CHECK(store_session_purge(s, now + 90000, 60) == 4,
	    "purge: then deleted");
	CHECK(store_session_check(NULL, SID1, "alice", now, 60, &st, NULL) ==
	    STORE_ERR && st == STORE_SESSION_UNKNOWN, "check: NULL store fails");
}

static void
test_fingerprint(const char *dir)
{
	char path[256], a[LC_USERS_FP_LEN + 1], b[LC_USERS_FP_LEN + 1];
	char c[LC_USERS_FP_LEN + 1];

	snprintf(path, sizeof(path), "%s/users", dir);
	CHECK(users_fingerprint(path, "alice", a) == 0 && a[0] == '\0',
	    "fingerprint: no file is no user");
	write_file(path, "# comment\nalice:$y$j9T$aaa$bbb\nbob:$2y$05$xyz\n");
	CHECK(users_fingerprint(path, "alice", a) == 1 &&
	    strlen(a) == LC_USERS_FP_LEN, "fingerprint: 16 hex digits");
	CHECK(users_fingerprint(path, "alice", b) == 1 && strcmp(a, b) == 0,
	    "fingerprint: the same again (cached)");
	CHECK(users_fingerprint(path, "bob", c) == 1 && strcmp(a, c) != 0,
	    "fingerprint: another hash, another fingerprint");
	CHECK(users_fingerprint(path, "carol", c) == 0,
	    "fingerprint: unknown user");
	CHECK(users_fingerprint(path, "../x", c) == 0,
	    "fingerprint: invalid name");
	/* The same size, another hash: the modification time tells. */
	write_file(path, "# comment\nalice:$y$j9T$aaa$bbc\nbob:$2y$05$xyz\n");
	CHECK(users_fingerprint(path, "alice", b) == 1 && strcmp(a, b) != 0,
	    "fingerprint: a changed hash is seen at once");
	write_file(path, "bob:$2y$05$xyz\r\n");
	CHECK(users_fingerprint(path, "alice", b) == 0,
	    "fingerprint: a deleted line is no user");
	CHECK(users_fingerprint(path, "bob", b) == 1,
	    "fingerprint: CRLF lines read");
	write_file(path, "bob:$2y$05$xyz\n");
	CHECK(users_fingerprint(path, "bob", c) == 1 && strcmp(b, c) == 0,
	    "fingerprint: the line ending is not part of it");
}

static void
test_check(struct store *s, const char *dir)
{
	struct lc_config cfg;
	char path[256], fp[LC_USERS_FP_LEN + 1];
	time_t now = time(NULL);
	const char *why = NULL;

	memset(&cfg, 0, sizeof(cfg));
	snprintf(path, sizeof(path), "%s/users2", dir);
	cfg.users_file = path;
	cfg.session_idle_timeout = 60;
	write_file(path, "alice:$y$j9T$one$two\n");
	users_fingerprint(path, "alice", fp);
	CHECK(store_session_create(s, SID1, "alice", now, now + 100, "", "",
	    0) == STORE_OK, "check: a session");
	CHECK(session_check(s, &cfg, "alice", SID1, fp, now, 0, &why) ==
	    SESSION_VALID, "check: valid");
	CHECK(session_check(s, &cfg, "alice", SID2, fp, now, 0, &why) ==
	    SESSION_ENDED, "check: no row");
	CHECK(session_check(s, &cfg, "alice", SID1, "0000000000000000", now, 0,
	    &why) == SESSION_ENDED && strcmp(why, "password changed") == 0,
	    "check: another fingerprint");
	CHECK(session_check(NULL, &cfg, "alice", SID2, fp, now, 0, &why) ==
	    SESSION_VALID, "check: without a database, key and fingerprint");
	CHECK(session_check(s, &cfg, "alice", SID1, fp, now + 30, 1, &why) ==
	    SESSION_VALID && session_check(s, &cfg, "alice", SID1, fp, now + 80,
	    0, &why) == SESSION_VALID, "check: touch moves the idle limit");
	CHECK(session_check(s, &cfg, "alice", SID1, fp, now + 91, 0, &why) ==
	    SESSION_ENDED && strcmp(why, "session idle too long") == 0,
	    "check: idle limit from the last touch");
	cfg.session_idle_timeout = 1000;
	CHECK(session_check(s, &cfg, "alice", SID1, fp, now + 99, 0, &why) ==
	    SESSION_VALID && session_check(s, &cfg, "alice", SID1, fp,
	    now + 100, 0, &why) == SESSION_ENDED &&
	    strcmp(why, "session expired") == 0, "check: expiry");
	write_file(path, "bob:$y$j9T$one$two\n");
	CHECK(session_check(s, &cfg, "alice", SID1, fp, now, 0, &why) ==
	    SESSION_NO_USER, "check: a deleted user");
	store_session_revoke(s, SID1, NULL, now);
}

static void
test_user_data(struct store *s)
{
	char id[ID_LEN + 1], id2[ID_LEN + 1];
	int n = -1;

	CHECK(store_conv_create(s, "carol", "t", "m", "", id) == STORE_OK &&
	    store_msg_add(s, id, "user", "hi", 2, STORE_COMPLETE, "", NULL) ==
	    STORE_OK && store_conv_create(s, "dave", "t", "m", "", id2) ==
	    STORE_OK, "data: conversations of carol and dave");
	CHECK(store_user_keep_apart(s, "carol", 1700000000, &n) == STORE_OK &&
	    n == 1 && store_conv_owned(s, id, "carol") == STORE_NOT_FOUND &&
	    store_conv_owned(s, id, "~deleted~1700000000~carol") == STORE_OK,
	    "data: kept apart under an owner no login has");
	CHECK(store_user_purge(s, "dave", &n) == STORE_OK && n == 0,
	    "purge: nothing of dave's kept apart");
	CHECK(store_user_purge(s, "carol", &n) == STORE_OK && n == 1 &&
	    store_conv_owned(s, id, "~deleted~1700000000~carol") ==
	    STORE_NOT_FOUND, "purge: carol's kept data gone");
	CHECK(store_user_delete(s, "dave", &n) == STORE_OK && n == 1 &&
	    store_conv_owned(s, id2, "dave") == STORE_NOT_FOUND,
	    "delete: dave's data gone");
}

int
main(void)
{
	char dir[] = "/tmp/lightchat-sessions.XXXXXX", path[256], err[256];
	struct store *s = NULL;

	if (mkdtemp(dir) == NULL)
		return 1;
	snprintf(path, sizeof(path), "%s/db", dir);
	CHECK(store_open(&s, path, err, sizeof(err)) == STORE_OK, "open");
	test_rows(s);
	test_fingerprint(dir);
	test_check(s, dir);
	test_user_data(s);
	store_close(s);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return 1;
	UNIT_EXIT();
}
