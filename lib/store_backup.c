/* store_backup.c - copies of the whole database: a backup made with
 * SQLite's online backup API while the other programs read and write it,
 * the check that a file is a lightchat database this build can use, and a
 * restore that copies a backup back into the live database, which the
 * programs that have it open then read. Only the admin tool links it. */
#include "store_int.h"

#include <errno.h>
#include <sqlite3.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

#define BACKUP_PAGES 256       /* pages a step: 1 MiB at 4 KiB pages */
#define BACKUP_PAUSE_MS 10     /* between steps: the writers get a turn */
#define BACKUP_BUSY_MS 60000   /* busy or locked steps retried this long */
#define BACKUP_BUSY_PAUSE_MS 50
/* A write by another program between two steps restarts the copy. After
 * this many restarts the rest is copied in one step: in WAL mode its read
 * snapshot does not stop the writers. */
#define BACKUP_RESTARTS 3

static const char sqlite_magic[16] = "SQLite format 3";   /* and its NUL */

/* Copies the main database of src into dst, pages at a time (-1: all in
 * one step), pausing between steps, retrying busy or locked ones. Returns
 * STORE_OK or STORE_ERR with err set. */
static int
copy_db(sqlite3 *dst, sqlite3 *src, int pages, char *err, size_t errcap)
{
	sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
	int rc = SQLITE_ERROR, fin, busy_ms = 0, restarts = 0, left = -1;

	if (b == NULL) {
		snprintf(err, errcap, "cannot start the copy: %s",
		    sqlite3_errmsg(dst));
		return STORE_ERR;
	}
	for (;;) {
		rc = sqlite3_backup_step(b, restarts >= BACKUP_RESTARTS ? -1 :
		    pages);
		if (rc == SQLITE_DONE)
			break;
		if (rc == SQLITE_OK) {
			int now_left = sqlite3_backup_remaining(b);
			if (left >= 0 && now_left >= left)
				restarts++;   /* a writer changed the source */
			left = now_left;
			sqlite3_sleep(BACKUP_PAUSE_MS);
			continue;
		}
		if (((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) &&
		    busy_ms < BACKUP_BUSY_MS) {
			sqlite3_sleep(BACKUP_BUSY_PAUSE_MS);
			busy_ms += BACKUP_BUSY_PAUSE_MS;
			continue;
		}
		break;
	}
	fin = sqlite3_backup_finish(b);
	if (rc != SQLITE_DONE || fin != SQLITE_OK) {
		snprintf(err, errcap, "copy failed: %s%s",
		    sqlite3_errstr(rc != SQLITE_DONE ? rc : fin),
		    busy_ms >= BACKUP_BUSY_MS ? " (busy for a minute)" : "");
		return STORE_ERR;
	}
	return STORE_OK;
}

/* A PostgreSQL store's copies are PostgreSQL's: STORE_INVALID and why. */
static int
pg_refused(char *err, size_t errcap)
{
	snprintf(err, errcap, "the database is PostgreSQL: back it up with "
	    "pg_dump (or a base backup) and restore with pg_restore; see "
	    "docs/SCALING.md");
	return STORE_INVALID;
}

/* Checks the open file c (at path): integrity, lightchat's tables, its
 * schema; fills *info (may be NULL). Returns STORE_OK, STORE_INVALID or
 * STORE_ERR with err set. */
static int
check_file(struct store *c, const char *path, struct store_file_info *info,
    char *err, size_t errcap)
{
	struct store_file_info got = { 0, 0, 0, 0 };
	struct db_stmt *st = NULL;
	struct stat sb;
	int step, tables = 0;

	if (store_prep(c, ST_INTEGRITY, &st) != STORE_OK) {
		snprintf(err, errcap, "%s: cannot be read: %s", path,
		    db_errmsg(c->db));
		return STORE_INVALID;
	}
	step = db_step(st);
	if (step != DB_ROW || db_column_text(st, 0) == NULL ||
	    strcmp(db_column_text(st, 0), "ok") != 0) {
		snprintf(err, errcap, "%s: integrity check failed: %.200s", path,
		    step == DB_ROW && db_column_text(st, 0) != NULL ?
		    db_column_text(st, 0) :
		    db_errmsg(c->db));
		store_release(st);
		return STORE_INVALID;
	}
	store_release(st);
	if (store_prep(c, ST_TABLES, &st) != STORE_OK)
		goto fail;
	if (db_step(st) == DB_ROW)
		tables = db_column_int(st, 0);
	store_release(st);
	if (store_prep(c, ST_SCHEMA_VERSION, &st) != STORE_OK)
		goto fail;
	got.schema = db_step(st) == DB_ROW ?
	    db_column_int(st, 0) : -1;
	store_release(st);
	if (tables != 2 || got.schema < 1) {
		snprintf(err, errcap, "%s: not a lightchat database", path);
		return STORE_INVALID;
	}
	if (got.schema > STORE_SCHEMA_VERSION) {
		snprintf(err, errcap, "%s: its schema (%d) is newer than this "
		    "build's (%d): use a newer lightchat", path, got.schema,
		    STORE_SCHEMA_VERSION);
		return STORE_INVALID;
	}
	if (store_prep(c, ST_COUNTS, &st) != STORE_OK)
		goto fail;
	step = db_step(st);
	if (step == DB_ROW) {
		got.conversations = db_column_int64(st, 0);
		got.messages = db_column_int64(st, 1);
	}
	store_release(st);
	if (step != DB_ROW)
		goto fail;
	if (stat(path, &sb) == 0)
		got.bytes = (long long)sb.st_size;
	if (info != NULL)
		*info = got;
	return STORE_OK;
fail:
	snprintf(err, errcap, "%s: cannot be read: %s", path,
	    db_errmsg(c->db));
	return STORE_ERR;
}

/* Creates path empty with mode 0600, failing if it exists. Returns 0, or
 * -1 with errno set. */
static int
create_private(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600);

	if (fd < 0)
		return -1;
	if (fchmod(fd, 0600) != 0) {
		int e = errno;
		close(fd);
		unlink(path);
		errno = e;
		return -1;
	}
	return close(fd);
}

/* fsyncs path (a file or, with dir, a directory). Returns 0 or -1. */
static int
sync_path(const char *path, int dir)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | (dir ? O_DIRECTORY : 0));
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	if (close(fd) != 0)
		rc = -1;
	return rc;
}

/* fsyncs the directory that holds path. Returns 0 or -1. */
static int
sync_dir_of(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return sync_path(".", 1);
	if (slash == path)
		return sync_path("/", 1);
	if ((size_t)(slash - path) >= sizeof(dir))
		return -1;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return sync_path(dir, 1);
}

/* Renames from to to; without force, fails with EEXIST when to exists
 * (atomically where the file system can). Returns 0 or -1. */
static int
rename_to(const char *from, const char *to, int force)
{
	if (force)
		return rename(from, to);
	if (renameat2(AT_FDCWD, from, AT_FDCWD, to, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -1;
	if (link(from, to) != 0)
		return -1;
	return unlink(from);
}

/* Removes path's SQLite side files (-journal, -wal, -shm), and path itself
 * with self. */
static void
remove_db_files(const char *path, int self)
{
	static const char *const side[] = { "-journal", "-wal", "-shm" };
	char p[PATH_MAX];

	if (self)
		unlink(path);
	for (size_t i = 0; i < sizeof(side) / sizeof(side[0]); i++)
		if (snprintf(p, sizeof(p), "%s%s", path, side[i]) <
		    (int)sizeof(p))
			unlink(p);
}

int
store_backup(struct store *s, const char *path, int force,
    struct store_file_info *info, char *err, size_t errcap)
{
	char tmp[PATH_MAX];
	struct store *c = NULL;
	struct stat pst, dbst;
	struct db_stmt *st = NULL;
	const char *db;
	int rc = STORE_ERR, made = 0;

	if (s == NULL) {
		snprintf(err, errcap, "no database");
		return STORE_ERR;
	}
	if (db_is_pg(s->db))
		return pg_refused(err, errcap);
	db = sqlite3_db_filename(db_sqlite(s->db), "main");
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errcap, "%.100s...: path too long", path);
		return STORE_INVALID;
	}
	if (lstat(path, &pst) == 0) {
		if (db != NULL && stat(db, &dbst) == 0 &&
		    pst.st_dev == dbst.st_dev && pst.st_ino == dbst.st_ino) {
			snprintf(err, errcap, "%s is the database itself", path);
			return STORE_INVALID;
		}
		if (!force) {
			snprintf(err, errcap, "%s exists (--force replaces it)",
			    path);
			return STORE_INVALID;
		}
	}
	if (create_private(tmp) != 0) {
		if (errno == EEXIST)
			snprintf(err, errcap, "%s exists: another backup is "
			    "running, or one failed (remove it)", tmp);
		else
			snprintf(err, errcap, "%s: %s", tmp, strerror(errno));
		return errno == EEXIST ? STORE_INVALID : STORE_ERR;
	}
	made = 1;
	if (store_open_plain(&c, tmp, 0, err, errcap) != STORE_OK ||
	    copy_db(db_sqlite(c->db), db_sqlite(s->db), BACKUP_PAGES, err, errcap) != STORE_OK)
		goto out;
	/* The copy's header says WAL, as the database's does: one file is
	 * what a backup should be. */
	if (store_prep(c, ST_JOURNAL_DELETE, &st) != STORE_OK ||
	    db_step(st) != DB_ROW) {
		snprintf(err, errcap, "%s: journal mode: %s", tmp,
		    db_errmsg(c->db));
		store_release(st);
		goto out;
	}
	store_release(st);
	store_close(c);
	c = NULL;
	if (sync_path(tmp, 0) != 0) {
		snprintf(err, errcap, "%s: fsync: %s", tmp, strerror(errno));
		goto out;
	}
	if (store_open_plain(&c, tmp, 1, err, errcap) != STORE_OK)
		goto out;
	if ((rc = check_file(c, tmp, info, err, errcap)) != STORE_OK) {
		if (rc == STORE_INVALID)
			rc = STORE_ERR;   /* the copy, not the database */
		goto out;
	}
	rc = STORE_ERR;
	store_close(c);
	c = NULL;
	if (rename_to(tmp, path, force) != 0) {
		snprintf(err, errcap, "%s: %s", path, errno == EEXIST ?
		    "exists (--force replaces it)" : strerror(errno));
		if (errno == EEXIST)
			rc = STORE_INVALID;
		goto out;
	}
	made = 0;
	if (sync_dir_of(path) != 0) {
		snprintf(err, errcap, "%s: fsync of its directory: %s", path,
		    strerror(errno));
		goto out;
	}
	rc = STORE_OK;
out:
	store_close(c);
	if (made)
		remove_db_files(tmp, 1);
	return rc;
}

int
store_backup_verify(const char *path, struct store_file_info *info,
    char *err, size_t errcap)
{
	char head[sizeof(sqlite_magic)];
	struct store *c = NULL;
	int fd, rc;
	ssize_t n;

	/* SQLite opens any file and fails at the first statement: the
	 * header says first, in one line. */
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(errno));
		return STORE_ERR;
	}
	n = read(fd, head, sizeof(head));
	close(fd);
	if (n != (ssize_t)sizeof(head) ||
	    memcmp(head, sqlite_magic, sizeof(head)) != 0) {
		snprintf(err, errcap, "%s: not a SQLite database", path);
		return STORE_INVALID;
	}
	if (store_open_plain(&c, path, 1, err, errcap) != STORE_OK)
		return STORE_ERR;
	rc = check_file(c, path, info, err, errcap);
	store_close(c);
	return rc;
}

int
store_streaming(struct store *s, long long *n)
{
	struct db_stmt *st = NULL;
	int step;

	*n = 0;
	if (store_prep(s, ST_STREAMING, &st) != STORE_OK)
		return STORE_ERR;
	step = db_step(st);
	if (step == DB_ROW)
		*n = db_column_int64(st, 0);
	store_release(st);
	return step == DB_ROW ? STORE_OK : store_db_fail(s, "streaming");
}

/* Fails the restore when replies are being written in s. */
static int
none_streaming(struct store *s, char *err, size_t errcap)
{
	long long n = 0;

	if (store_streaming(s, &n) != STORE_OK) {
		snprintf(err, errcap, "cannot read the database: %s",
		    db_errmsg(s->db));
		return STORE_ERR;
	}
	if (n > 0) {
		snprintf(err, errcap, "%lld repl%s being written now: try "
		    "again when %s", n, n == 1 ? "y is" : "ies are",
		    n == 1 ? "it ends" : "they end");
		return STORE_INVALID;
	}
	return STORE_OK;
}

int
store_restore(struct store *s, const char *path, const char *work,
    const char *before, struct store_file_info *info,
    struct store_file_info *saved, char *err, size_t errcap)
{
	struct store_file_info got;
	struct store *src = NULL, *w = NULL;
	int rc;

	if ((rc = store_backup_verify(path, &got, err, errcap)) != STORE_OK)
		return rc;
	if (s == NULL) {
		snprintf(err, errcap, "no database");
		return STORE_ERR;
	}
	if (db_is_pg(s->db))
		return pg_refused(err, errcap);
	if ((rc = none_streaming(s, err, errcap)) != STORE_OK)
		return rc;
	rc = STORE_ERR;
	/* The scratch copy is ours (next to the database): one left by a
	 * restore that failed goes. */
	remove_db_files(work, 1);
	if (create_private(work) != 0) {
		snprintf(err, errcap, "%s: %s", work, strerror(errno));
		goto out;
	}
	if (store_open_plain(&src, path, 1, err, errcap) != STORE_OK ||
	    store_open_plain(&w, work, 0, err, errcap) != STORE_OK ||
	    copy_db(db_sqlite(w->db), db_sqlite(src->db), -1, err, errcap) != STORE_OK)
		goto out;
	store_close(src);
	src = NULL;
	store_close(w);
	w = NULL;
	/* Migrated here, so that the programs never see an older schema; a
	 * backup made while a reply streamed holds it as "streaming", which
	 * no worker would ever end. */
	if (store_open(&w, work, err, errcap) != STORE_OK)
		goto out;
	if (store_mark_interrupted(w) < 0) {
		snprintf(err, errcap, "%s: cannot mark its unfinished replies",
		    work);
		goto out;
	}
	/* Saved only now: path may be before itself (undoing a restore). */
	if (before != NULL && (rc = store_backup(s, before, 1, saved, err,
	    errcap)) != STORE_OK) {
		char why[512];
		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errcap, "saving the current database first: %s",
		    why);
		goto out;
	}
	if ((rc = none_streaming(s, err, errcap)) != STORE_OK)
		goto out;
	rc = STORE_ERR;
	if (copy_db(db_sqlite(s->db), db_sqlite(w->db), -1, err, errcap) != STORE_OK)
		goto out;
	if (info != NULL)
		*info = got;
	rc = STORE_OK;
out:
	store_close(src);
	store_close(w);
	remove_db_files(work, 1);
	return rc;
}
