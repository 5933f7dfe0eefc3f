/* backup.c - lightchat-admin backup and restore: the command lines, the
 * confirmation and the one-line reports around lib/store_backup.c's online
 * copies.
 *
 *   lightchat-admin backup [--force] FILE
 *   lightchat-admin restore [--yes] FILE
 *
 * Both are safe while the stack runs. A restore first saves the database
 * to <database>.before-restore, and is refused while a reply is being
 * written. */
#include "admin.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

/* A size for people: "812 KB", "3.4 MB". */
static void
fmt_size(long long b, char out[32])
{
	if (b < 1024)
		snprintf(out, 32, "%lld bytes", b);
	else if (b < 1024 * 1024)
		snprintf(out, 32, "%.0f KB", (double)b / 1024);
	else if (b < 1024LL * 1024 * 1024)
		snprintf(out, 32, "%.1f MB", (double)b / (1024 * 1024));
	else
		snprintf(out, 32, "%.2f GB", (double)b / (1024 * 1024 * 1024));
}

/* Parses "[FLAG] FILE" (the flag in any place). Returns 0 with *file set,
 * or -1. */
static int
file_args(int argc, char **argv, const char *flag, int *set,
    const char **file)
{
	*set = 0;
	*file = NULL;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], flag) == 0)
			*set = 1;
		else if (argv[i][0] == '-' || *file != NULL)
			return -1;
		else
			*file = argv[i];
	}
	return *file != NULL && (*file)[0] != '\0' ? 0 : -1;
}

/* Opens the live database. Returns NULL after printing why. */
static struct store *
open_live(const struct lc_config *cfg, const char *cmd)
{
	struct store *st = NULL;
	char err[512];

	if (store_open(&st, cfg->database, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "%s: %s\n", cmd, err);
		return NULL;
	}
	return st;
}

int
admin_backup(const struct lc_config *cfg, int argc, char **argv)
{
	struct store_file_info info;
	struct store *st = NULL;
	const char *file;
	char err[1024], size[32];
	int force, rc = 1;

	if (file_args(argc, argv, "--force", &force, &file) != 0) {
		fprintf(stderr, "usage: lightchat-admin backup [--force] FILE\n");
		return 2;
	}
	if ((st = open_live(cfg, "backup")) == NULL)
		return 1;
	if (store_backup(st, file, force, &info, err, sizeof(err)) !=
	    STORE_OK) {
		fprintf(stderr, "backup: %s\n", err);
		goto out;
	}
	fmt_size(info.bytes, size);
	printf("backup: %s: %s, %lld conversation%s, %lld message%s\n", file,
	    size, info.conversations, info.conversations == 1 ? "" : "s",
	    info.messages, info.messages == 1 ? "" : "s");
	rc = 0;
out:
	store_close(st);
	return rc;
}

/* Asks on the terminal (or reads a line from stdin). Returns 1 for yes. */
static int
confirmed(const char *file, const char *db)
{
	char line[16];

	fprintf(stderr, "Replace everything in %s with %s? [y/N] ", db, file);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL) {
		fputc('\n', stderr);
		return 0;
	}
	if (!isatty(STDIN_FILENO))
		fputc('\n', stderr);
	line[strcspn(line, "\r\n")] = '\0';
	return strcmp(line, "y") == 0 || strcmp(line, "Y") == 0 ||
	    strcmp(line, "yes") == 0;
}

int
admin_restore(const struct lc_config *cfg, int argc, char **argv)
{
	struct store_file_info info, old;
	struct store *st = NULL;
	const char *file;
	char err[1024], size[32], before[PATH_MAX], work[PATH_MAX];
	long long busy = 0;
	int yes, rc = 1;

	if (file_args(argc, argv, "--yes", &yes, &file) != 0) {
		fprintf(stderr, "usage: lightchat-admin restore [--yes] FILE\n");
		return 2;
	}
	if (snprintf(before, sizeof(before), "%s.before-restore",
	    cfg->database) >= (int)sizeof(before) ||
	    snprintf(work, sizeof(work), "%s.restore-tmp", cfg->database) >=
	    (int)sizeof(work)) {
		fprintf(stderr, "restore: the database's path is too long\n");
		return 1;
	}
	/* Checked before anything is asked or changed. */
	if (store_backup_verify(file, &info, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "restore: %s\n", err);
		return 1;
	}
	if ((st = open_live(cfg, "restore")) == NULL)
		return 1;
	if (store_streaming(st, &busy) != STORE_OK || busy > 0) {
		fprintf(stderr, "restore: %s\n", busy > 0 ? "replies are being "
		    "written now: try again when they end" :
		    "cannot read the database");
		goto out;
	}
	fmt_size(info.bytes, size);
	fprintf(stderr, "restore: %s: %s, %lld conversation%s, %lld message%s, "
	    "schema %d\n", file, size, info.conversations,
	    info.conversations == 1 ? "" : "s", info.messages,
	    info.messages == 1 ? "" : "s", info.schema);
	if (!yes && !confirmed(file, cfg->database)) {
		fprintf(stderr, "restore: not confirmed; nothing changed "
		    "(--yes skips the question)\n");
		goto out;
	}
	if (store_restore(st, file, work, before, &info, &old, err,
	    sizeof(err)) != STORE_OK) {
		fprintf(stderr, "restore: %s; nothing changed\n", err);
		goto out;
	}
	printf("restore: the database as it was (%lld conversation%s, %lld "
	    "message%s) saved to %s\n", old.conversations,
	    old.conversations == 1 ? "" : "s", old.messages,
	    old.messages == 1 ? "" : "s", before);
	printf("restore: restored %lld conversation%s, %lld message%s from "
	    "%s%s\n", info.conversations, info.conversations == 1 ? "" : "s",
	    info.messages, info.messages == 1 ? "" : "s", file,
	    info.schema < old.schema ? " (its schema migrated)" : "");
	/* The sessions table is restored with the rest. */
	printf("restore: sessions are those of %s: logins made since it was "
	    "taken have ended; its sessions that had not ended are valid "
	    "again (same token key and passwords)\n", file);
	rc = 0;
out:
	store_close(st);
	return rc;
}
