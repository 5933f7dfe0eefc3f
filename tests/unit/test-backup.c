/* test-backup.c - lib/store_backup.c: a backup is a private, checked, one
 * file copy with the data; existing files and the database itself are
 * refused; what a restore accepts (not a file that is no SQLite database,
 * another program's database, a newer schema, a damaged file) and what it
 * does (the data back, replies that were streaming in the copy ended as
 * interrupted, no scratch file left, refused while a reply is written);
 * the NULL store. */
#include <fcntl.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "store.h"
#include "unit.h"

static char dir[] = "/tmp/lightchat-test-backup.XXXXXX";

/* dir/name into out. */
static const char *
path(char out[512], const char *name)
{
	snprintf(out, 512, "%s/%s", dir, name);
	return out;
}

/* Runs sql on the file at p through a connection of its own. */
static int
raw_exec(const char *p, const char *sql)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open(p, &db) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;

	sqlite3_close(db);
	return rc;
}

static void
write_file(const char *p, const char *data, size_t n)
{
	FILE *f = fopen(p, "wb");

	if (f != NULL) {
		fwrite(data, 1, n, f);
		fclose(f);
	}
}

/* The state of conversation id's last message ("" when none). */
static const char *
last_state(struct store *s, const char *id, const char *user, char out[32])
{
	cJSON *c = NULL, *msgs, *last;

	out[0] = '\0';
	if (store_conv_get(s, id, user, &c) != STORE_OK)
		return out;
	msgs = cJSON_GetObjectItem(c, "messages");
	last = cJSON_GetArrayItem(msgs, cJSON_GetArraySize(msgs) - 1);
	if (cJSON_IsString(cJSON_GetObjectItem(last, "state")))
		snprintf(out, 32, "%s", cJSON_GetObjectItem(last,
		    "state")->valuestring);
	cJSON_Delete(c);
	return out;
}

int
main(void)
{
	char db[512], b[512], b2[512], p[512], work[512], err[1024], st[32];
	char id1[ID_LEN + 1], id2[ID_LEN + 1];
	struct store_file_info info, saved;
	struct store *s = NULL;
	struct stat sb;
	long long msg = 0, n = -1;

	if (mkdtemp(dir) == NULL)
		return 1;
	umask(077);
	path(db, "lightchat.db");
	path(b, "backup.db");
	path(work, "lightchat.db.restore-tmp");
	CHECK(store_open(&s, db, err, sizeof(err)) == STORE_OK, "open");
	CHECK(store_conv_create(s, "alice", "one", "m", "", id1) == STORE_OK &&
	    store_msg_add(s, id1, "user", "hi", 2, STORE_COMPLETE, "m",
	    NULL) == STORE_OK && store_msg_add(s, id1, "assistant", "hello",
	    5, STORE_COMPLETE, "m", NULL) == STORE_OK, "a conversation");

	/* backup */
	CHECK(store_backup(s, b, 0, &info, err, sizeof(err)) == STORE_OK,
	    "backup: made");
	CHECK(info.conversations == 1 && info.messages == 2 &&
	    info.schema == 11 && info.bytes > 0, "backup: its counts");
	CHECK(stat(b, &sb) == 0 && (sb.st_mode & 0777) == 0600,
	    "backup: mode 0600");
	CHECK(access(path(p, "backup.db.tmp"), F_OK) != 0 &&
	    access(path(p, "backup.db-journal"), F_OK) != 0 &&
	    access(path(p, "backup.db-wal"), F_OK) != 0,
	    "backup: one file, no .tmp left");
	CHECK(store_backup(s, b, 0, NULL, err, sizeof(err)) == STORE_INVALID &&
	    strstr(err, "--force") != NULL, "backup: an existing file refused");
	CHECK(store_backup(s, b, 1, NULL, err, sizeof(err)) == STORE_OK,
	    "backup: --force replaces it");
	CHECK(store_backup(s, db, 1, NULL, err, sizeof(err)) == STORE_INVALID &&
	    strstr(err, "database itself") != NULL,
	    "backup: never over the database itself");
	path(b2, "b2.db");
	write_file(path(p, "b2.db.tmp"), "", 0);
	CHECK(store_backup(s, b2, 0, NULL, err, sizeof(err)) == STORE_INVALID &&
	    strstr(err, "another backup") != NULL &&
	    access(b2, F_OK) != 0, "backup: an existing FILE.tmp refused");
	unlink(p);
	CHECK(store_backup(NULL, b2, 0, NULL, err, sizeof(err)) == STORE_ERR,
	    "backup: NULL store");

	/* what a restore accepts */
	CHECK(store_backup_verify(b, &info, err, sizeof(err)) == STORE_OK &&
	    info.conversations == 1, "verify: a backup");
	write_file(path(p, "junk"), "this is not a database\n", 23);
	CHECK(store_backup_verify(p, NULL, err, sizeof(err)) == STORE_INVALID &&
	    strstr(err, "not a SQLite database") != NULL, "verify: junk");
	write_file(path(p, "empty"), "", 0);
	CHECK(store_backup_verify(p, NULL, err, sizeof(err)) == STORE_INVALID,
	    "verify: an empty file");
	CHECK(store_backup_verify(path(p, "missing"), NULL, err, sizeof(err)) ==
	    STORE_ERR, "verify: a missing file");
	path(p, "other.db");
	raw_exec(p, "CREATE TABLE t (x); PRAGMA user_version = 3");
	CHECK(store_backup_verify(p, NULL, err, sizeof(err)) == STORE_INVALID &&
	    strstr(err, "not a lightchat database") != NULL,
	    "verify: another program's database");
	CHECK(store_backup(s, path(p, "newer.db"), 0, NULL, err, sizeof(err)) ==
	    STORE_OK && raw_exec(p, "PRAGMA user_version = 99") == 0,
	    "a copy with a newer schema");
	CHECK(store_backup_verify(p, NULL, err, sizeof(err)) == STORE_INVALID &&
	    strstr(err, "newer") != NULL, "verify: a newer schema");
	CHECK(store_restore(s, p, work, NULL, NULL, NULL, err, sizeof(err)) ==
	    STORE_INVALID && store_conv_owned(s, id1, "alice") == STORE_OK,
	    "restore: a newer schema refused, nothing changed");
	/* A damaged copy: a page of the messages' table overwritten. */
	CHECK(store_backup(s, path(p, "bad.db"), 0, NULL, err, sizeof(err)) ==
	    STORE_OK, "a copy to damage");
	{
		int fd = open(p, O_WRONLY);
		char junk[4096];
		memset(junk, 0x5a, sizeof(junk));
		for (off_t off = 4096; fd >= 0 && off < 4096 * 6; off += 4096)
			if (pwrite(fd, junk, sizeof(junk), off) < 0)
				break;
		if (fd >= 0)
			close(fd);
	}
	CHECK(store_backup_verify(p, NULL, err, sizeof(err)) != STORE_OK,
	    "verify: a damaged file");

	/* restore */
	CHECK(store_conv_delete(s, id1, "alice") == STORE_OK &&
	    store_conv_owned(s, id1, "alice") == STORE_NOT_FOUND,
	    "the conversation deleted");
	CHECK(store_restore(s, b, work, NULL, &info, NULL, err, sizeof(err)) == STORE_OK,
	    "restore: done");
	CHECK(store_conv_owned(s, id1, "alice") == STORE_OK,
	    "restore: the conversation is back");
	CHECK(access(work, F_OK) != 0 && access(path(p,
	    "lightchat.db.restore-tmp-wal"), F_OK) != 0,
	    "restore: no scratch file left");
	struct store_usage u;
	CHECK(store_quota_usage(s, "alice", &u) == STORE_OK &&
	    u.conversations == 1 && u.messages == 2,
	    "restore: the counters are the copy's");

	/* Undoing a restore: the file restored is where the current
	 * database is saved first. */
	char before[512];
	path(before, "lightchat.db.before-restore");
	CHECK(store_backup(s, before, 0, NULL, err, sizeof(err)) == STORE_OK &&
	    store_conv_delete(s, id1, "alice") == STORE_OK,
	    "a state saved, then changed");
	CHECK(store_restore(s, before, work, before, &info, &saved, err,
	    sizeof(err)) == STORE_OK && saved.conversations == 0 &&
	    info.conversations == 1, "restore from before-restore itself");
	CHECK(store_conv_owned(s, id1, "alice") == STORE_OK,
	    "restore from before-restore: its content restored");
	CHECK(store_backup_verify(before, &info, err, sizeof(err)) ==
	    STORE_OK && info.conversations == 0,
	    "restore from before-restore: it now holds what was replaced");
	unlink(before);

	/* An older schema is migrated on the way in: a copy taken back to
	 * v4 (no counters, no quotas, no health row) comes back as the
	 * current schema with its counters. */
	char old4[512];
	path(old4, "v4.db");
	CHECK(store_backup(s, old4, 0, NULL, err, sizeof(err)) == STORE_OK &&
	    raw_exec(old4, UNDO_V11 " DROP TABLE attachments;"
	    " DROP TABLE usage; DROP TABLE usage_totals;"
	    " DROP TABLE user_limits;"
	    " DROP TRIGGER messages_added;"
	    " DROP TRIGGER messages_changed; DROP TRIGGER messages_deleted;"
	    " DROP TRIGGER conversations_added;"
	    " DROP TRIGGER conversations_deleted;"
	    " DROP TRIGGER conversations_grown;"
	    " DROP TRIGGER conversations_moved; DROP TABLE user_usage;"
	    " DROP TABLE user_quotas; DROP TABLE health; DROP TABLE counters;"
	    " ALTER TABLE conversations DROP COLUMN messages;"
	    " ALTER TABLE conversations DROP COLUMN bytes;"
	    " ALTER TABLE messages DROP COLUMN reasoning;"
	    " ALTER TABLE messages DROP COLUMN reasoning_ms;"
	    " DROP INDEX messages_by_parent;"
	    " ALTER TABLE messages DROP COLUMN parent_id;"
	    " ALTER TABLE conversations DROP COLUMN current_leaf;"
	    " PRAGMA user_version = 4") == 0, "a copy of schema v4");
	CHECK(store_backup_verify(old4, &info, err, sizeof(err)) == STORE_OK &&
	    info.schema == 4, "verify: an older schema is accepted");
	CHECK(store_conv_delete(s, id1, "alice") == STORE_OK &&
	    store_restore(s, old4, work, NULL, &info, NULL, err,
	    sizeof(err)) == STORE_OK, "restore: the v4 copy");
	CHECK(store_quota_usage(s, "alice", &u) == STORE_OK &&
	    u.conversations == 1 && u.messages == 2 && u.bytes == 7,
	    "restore: migrated, its counters computed");
	CHECK(store_quota_set(s, "alice", 1000) == STORE_OK,
	    "restore: the migrated database is usable (quotas)");
	unlink(old4);

	/* replies being written */
	CHECK(store_conv_create(s, "bob", "two", "m", "", id2) == STORE_OK &&
	    store_msg_add(s, id2, "assistant", "part", 4, STORE_STREAMING, "m",
	    &msg) == STORE_OK, "a reply streaming");
	CHECK(store_streaming(s, &n) == STORE_OK && n == 1,
	    "store_streaming counts it");
	CHECK(store_restore(s, b, work, NULL, NULL, NULL, err, sizeof(err)) ==
	    STORE_INVALID && strstr(err, "being written") != NULL &&
	    store_conv_owned(s, id2, "bob") == STORE_OK,
	    "restore: refused while a reply is written");
	CHECK(store_backup(s, b2, 0, NULL, err, sizeof(err)) == STORE_OK,
	    "backup: while a reply streams");
	CHECK(store_msg_update(s, msg, "part and end", 12, NULL, STORE_COMPLETE,
	    NULL, NULL) == STORE_OK, "the reply ends");
	CHECK(store_restore(s, b2, work, NULL, NULL, NULL, err, sizeof(err)) == STORE_OK,
	    "restore: the copy made while it streamed");
	CHECK_STR(last_state(s, id2, "bob", st), STORE_INTERRUPTED,
	    "restore: a reply streaming in the copy is interrupted");
	CHECK(store_streaming(s, &n) == STORE_OK && n == 0,
	    "restore: nothing left streaming");
	CHECK(store_streaming(NULL, &n) == STORE_ERR && n == 0,
	    "store_streaming: NULL store");
	CHECK(store_restore(NULL, b, work, NULL, NULL, NULL, err, sizeof(err)) ==
	    STORE_ERR, "restore: NULL store");

	/* A backup while another program keeps writing: each write restarts
	 * SQLite's copy, and after a few restarts the rest goes in one step;
	 * the copy completes and is whole. A restart leaves as many pages as
	 * the step before: missed, the copy would not end while the writes go
	 * on. 5 MiB: five steps of pages. */
	size_t big_n = (size_t)5 << 20;
	char *big = malloc(big_n + 1);
	CHECK(big != NULL, "5 MiB");
	if (big != NULL) {
		memset(big, 'w', big_n);
		big[big_n] = '\0';
		CHECK(store_msg_add(s, id1, "assistant", big, big_n,
		    STORE_COMPLETE, "m", NULL) == STORE_OK, "a 5 MiB message");
		free(big);
	}
	pid_t writer = fork();
	if (writer == 0) {
		sqlite3 *w = NULL;
		if (sqlite3_open(db, &w) != SQLITE_OK)
			_exit(1);
		sqlite3_busy_timeout(w, 5000);
		for (int i = 0; i < 3000; i++) {
			if (sqlite3_exec(w, "INSERT INTO login_failures (key, at)"
			    " VALUES ('writer', 1)", NULL, NULL, NULL) != SQLITE_OK)
				_exit(2);
			usleep(2000);
		}
		_exit(0);
	}
	usleep(50000);
	path(p, "busy.db");
	CHECK(writer > 0 && store_backup(s, p, 0, &info, err, sizeof(err)) ==
	    STORE_OK && info.messages == 4 && info.bytes > (5 << 20),
	    "backup while another program writes: done, with the data");
	CHECK(store_backup_verify(p, NULL, err, sizeof(err)) == STORE_OK,
	    "backup while another program writes: it passes the check");
	if (writer > 0) {
		int ws = 0;
		kill(writer, SIGTERM);
		waitpid(writer, &ws, 0);
		CHECK(WIFSIGNALED(ws), "the writer was writing all along");
	}
	unlink(p);

	store_close(s);
	const char *names[] = { "lightchat.db", "lightchat.db-wal",
	    "lightchat.db-shm", "backup.db", "b2.db", "junk", "empty",
	    "other.db", "newer.db", "bad.db" };
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		unlink(path(p, names[i]));
	rmdir(dir);
	UNIT_EXIT();
}
