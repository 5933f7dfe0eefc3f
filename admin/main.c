/* main.c - lightchat-admin: set up the state directory, manage users, and
 * print the effective configuration.
 *
 *   lightchat-admin init [--key-only]     state dir, token key, first user
 *   lightchat-admin user add NAME [--random]
 *   lightchat-admin user passwd NAME [--random]
 *   lightchat-admin user del [--keep-data] NAME
 *   lightchat-admin user revoke NAME      end all of NAME's sessions
 *   lightchat-admin user list
 *   lightchat-admin user quota NAME BYTES|default   NAME's storage quota
 *   lightchat-admin user limit NAME [--day LIMIT] [--month LIMIT] | default
 *                                          NAME's own budget limits (usage.c)
 *   lightchat-admin user limits           the users with limits of their own
 *   lightchat-admin storage               each user's stored data and quota
 *   lightchat-admin usage [--since DATE] [--until DATE] [--by user|model|day]
 *       [--csv]                           tokens and cost (usage.c)
 *   lightchat-admin sessions [NAME]       the active sessions
 *   lightchat-admin rotate-key            end every session at once
 *   lightchat-admin purge [NAME]          data kept apart by del --keep-data
 *   lightchat-admin config [KEY | --file | --template]
 *   lightchat-admin backup [--force] FILE    an online copy (backup.c)
 *   lightchat-admin restore [--yes] FILE     the database from a backup
 *   lightchat-admin migrate-store SQLITE_FILE POSTGRES_URL
 *                                          the database moved to PostgreSQL
 *                                          and verified (migrate.c)
 *   lightchat-admin check [--url URL] [--user NAME] [--timeout S]
 *                                          a smoke test of the site (check.c)
 *
 * A password change or a deletion ends the user's sessions (their tokens
 * carry the fingerprint of the old hash; the sessions are revoked in the
 * database too). A deleted user's conversations are deleted with the user,
 * so that a new user of the same name does not inherit them; --keep-data
 * keeps them apart, under an owner no login can have, until purge.
 *
 * Run as root on a state directory another user owns (the package's
 * lightchat), it works as that user (perms_become_owner).
 *
 * Passwords are read from the terminal (twice, without echo) or, when stdin
 * is not a terminal, as one line from stdin; --random makes one and prints
 * it once. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <time.h>

#include "admin.h"
#include "config.h"
#include "config_doc.h"
#include "log.h"
#include "perms.h"
#include "store.h"
#include "token.h"
#include "users.h"

#define RANDOM_PASSWORD_LEN 20

static int
usage(void)
{
	fprintf(stderr,
	    "usage: lightchat-admin init [--key-only]\n"
	    "       lightchat-admin user add|passwd NAME [--random]\n"
	    "       lightchat-admin user del [--keep-data] NAME\n"
	    "       lightchat-admin user revoke NAME\n"
	    "       lightchat-admin user list\n"
	    "       lightchat-admin user quota NAME BYTES[K|M|G]|default\n"
	    "       lightchat-admin user limit NAME [--day LIMIT] "
	    "[--month LIMIT] | default\n"
	    "       lightchat-admin user limits\n"
	    "       lightchat-admin storage\n"
	    "       lightchat-admin usage [--since YYYY-MM-DD] [--until "
	    "YYYY-MM-DD] [--by user|model|day] [--csv]\n"
	    "       lightchat-admin sessions [NAME]\n"
	    "       lightchat-admin rotate-key\n"
	    "       lightchat-admin purge [NAME]\n"
	    "       lightchat-admin config [KEY | --file | --template]\n"
	    "       lightchat-admin backup [--force] FILE\n"
	    "       lightchat-admin restore [--yes] FILE\n"
	    "       lightchat-admin migrate-store SQLITE_FILE POSTGRES_URL\n"
	    "       lightchat-admin check [--url URL] [--user NAME] "
	    "[--timeout SECONDS]\n");
	return 2;
}

/* Makes a random password from an unambiguous alphabet. */
static int
random_password(char *out, size_t len)
{
	static const char alphabet[] =
	    "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
	unsigned char bytes[64];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);

	if (fd < 0 || len >= sizeof(bytes) ||
	    read(fd, bytes, len) != (ssize_t)len) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	for (size_t i = 0; i < len; i++)
		out[i] = alphabet[bytes[i] % (sizeof(alphabet) - 1)];
	out[len] = '\0';
	explicit_bzero(bytes, sizeof(bytes));
	return 0;
}

/* Reads a line without echo when stdin is a terminal. */
static int
read_line(const char *prompt, char *out, size_t cap)
{
	struct termios old, quiet;
	int tty = isatty(STDIN_FILENO);

	if (tty) {
		fprintf(stderr, "%s", prompt);
		if (tcgetattr(STDIN_FILENO, &old) != 0)
			return -1;
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	}
	char *got = fgets(out, (int)cap, stdin);
	if (tty) {
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
		fputc('\n', stderr);
	}
	if (got == NULL)
		return -1;
	size_t n = strlen(out);
	if (n > 0 && out[n - 1] == '\n')
		out[--n] = '\0';
	else if (n == cap - 1)
		return -1;  /* too long */
	return 0;
}

static int
get_password(int random, char *pw, size_t cap)
{
	char again[LC_PASSWORD_MAX + 2];

	if (random) {
		if (random_password(pw, RANDOM_PASSWORD_LEN) != 0) {
			fprintf(stderr, "cannot read /dev/urandom\n");
			return -1;
		}
		return 0;
	}
	if (read_line("Password: ", pw, cap) != 0 || pw[0] == '\0') {
		fprintf(stderr, "no password given (or longer than %d bytes)\n",
		    LC_PASSWORD_MAX);
		return -1;
	}
	if (isatty(STDIN_FILENO)) {
		if (read_line("Again: ", again, sizeof(again)) != 0 ||
		    strcmp(pw, again) != 0) {
			fprintf(stderr, "the passwords differ\n");
			explicit_bzero(again, sizeof(again));
			return -1;
		}
		explicit_bzero(again, sizeof(again));
	}
	return 0;
}

static int
user_set(const struct lc_config *cfg, const char *name, int random, int add)
{
	char pw[LC_PASSWORD_MAX + 2], hash[512];
	int rc = 1;

	if (!username_valid(name)) {
		fprintf(stderr, "invalid user name: use 1-%d letters, digits "
		    "and . _ @ -\n", LC_USER_MAX);
		return 1;
	}
	if (get_password(random, pw, sizeof(pw)) != 0)
		goto out;
	int e = users_hash_cost(pw, (int)cfg->password_cost, hash,
	    sizeof(hash));
	if (e == LC_USERS_OK)
		e = users_set(cfg->users_file, name, hash, add, !add);
	if (e != LC_USERS_OK) {
		fprintf(stderr, "%s: %s\n", name, users_strerror(e));
		goto out;
	}
	if (random)
		printf("%s\n", pw);
	fprintf(stderr, "%s %s in %s\n", add ? "added" : "changed password of",
	    name, cfg->users_file);
	rc = 0;
out:
	explicit_bzero(pw, sizeof(pw));
	return rc;
}

struct store *
admin_open_store(const struct lc_config *cfg)
{
	struct store *st = NULL;
	char err[512];

	if (store_open(&st, cfg->database, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "%s\n", err);
		return NULL;
	}
	return st;
}

/* Ends every session of name in the database. Returns 0 or 1. */
static int
revoke_user(const struct lc_config *cfg, const char *name, int quiet)
{
	struct store *st = admin_open_store(cfg);
	int n = 0, rc = 1;

	if (st == NULL)
		return 1;
	if (store_session_revoke_user(st, name, NULL, (long long)time(NULL),
	    &n) != STORE_OK) {
		fprintf(stderr, "%s: could not end the sessions\n", name);
		goto out;
	}
	if (!quiet || n > 0)
		fprintf(stderr, "ended %d session%s of %s\n", n, n == 1 ? "" :
		    "s", name);
	rc = 0;
out:
	store_close(st);
	return rc;
}

/* user del [--keep-data] NAME: the line, the sessions, the data. */
static int
user_del(const struct lc_config *cfg, const char *name, int keep)
{
	struct store *st = NULL;
	int n = 0, rc = 1;
	int e = users_delete(cfg->users_file, name);

	if (e != LC_USERS_OK) {
		fprintf(stderr, "%s: %s\n", name, users_strerror(e));
		return 1;
	}
	fprintf(stderr, "deleted %s\n", name);
	st = admin_open_store(cfg);
	if (st == NULL)
		goto out;
	if (store_session_revoke_user(st, name, NULL, (long long)time(NULL),
	    NULL) != STORE_OK)
		fprintf(stderr, "%s: could not end the sessions\n", name);
	/* A new user of the same name starts with the default quota and
	 * budget limits (the usage ledger keeps the old one's replies). */
	if (store_quota_set(st, name, -1) != STORE_OK)
		fprintf(stderr, "%s: could not remove the quota\n", name);
	if (store_limits_set(st, name, &(const struct budget_limits){ {
	    { BUDGET_DEFAULT, BUDGET_DEFAULT },
	    { BUDGET_DEFAULT, BUDGET_DEFAULT } } }) != STORE_OK)
		fprintf(stderr, "%s: could not remove the budget limits\n", name);
	if (keep ? store_user_keep_apart(st, name, (long long)time(NULL), &n) :
	    store_user_delete(st, name, &n)) {
		fprintf(stderr, "%s: could not %s the conversations\n", name,
		    keep ? "keep apart" : "delete");
		goto out;
	}
	fprintf(stderr, keep ? "kept %d conversation%s of %s apart "
	    "(lightchat-admin purge %s removes them)\n" :
	    "deleted %d conversation%s of %s\n", n, n == 1 ? "" : "s", name,
	    name);
	rc = 0;
out:
	store_close(st);
	return rc;
}

/* Reads "BYTES[K|M|G]" (powers of 1024) into *out. Returns 0 or -1. */
static int
parse_bytes(const char *v, long long *out)
{
	char *end = NULL;
	long long n, mul = 1;

	errno = 0;
	n = strtoll(v, &end, 10);
	if (errno != 0 || end == v || n < 0)
		return -1;
	if (*end == 'K' || *end == 'k')
		mul = 1024;
	else if (*end == 'M' || *end == 'm')
		mul = 1024 * 1024;
	else if (*end == 'G' || *end == 'g')
		mul = 1024 * 1024 * 1024;
	if (mul > 1)
		end++;
	if (*end != '\0' || n > (1LL << 42) / mul)
		return -1;
	*out = n * mul;
	return 0;
}

/* user quota NAME BYTES|default: NAME's own storage quota (0: no limit),
 * or the configured one again. */
static int
user_quota(const struct lc_config *cfg, const char *name, const char *value)
{
	struct store *st = NULL;
	long long bytes = -1;
	int rc = 1;

	if (!username_valid(name)) {
		fprintf(stderr, "invalid user name: %s\n", name);
		return 1;
	}
	if (strcmp(value, "default") != 0 && parse_bytes(value, &bytes) != 0) {
		fprintf(stderr, "quota: a number of bytes (K, M, G allowed; 0: "
		    "no limit) or default, not %s\n", value);
		return 2;
	}
	if ((st = admin_open_store(cfg)) == NULL)
		return 1;
	if (store_quota_set(st, name, bytes) != STORE_OK) {
		fprintf(stderr, "%s: could not set the quota\n", name);
		goto out;
	}
	if (bytes < 0)
		fprintf(stderr, "%s has the default quota (user_storage_quota, "
		    "%ld bytes)\n", name, cfg->user_storage_quota);
	else
		fprintf(stderr, "%s may store %lld bytes%s\n", name, bytes,
		    bytes == 0 ? " (no limit)" : "");
	rc = 0;
out:
	store_close(st);
	return rc;
}

static void
print_user(const char *user, void *arg)
{
	(void)arg;
	printf("%s\n", user);
}

static int
cmd_user(const struct lc_config *cfg, int argc, char **argv)
{
	int random = argc > 3 && strcmp(argv[argc - 1], "--random") == 0;

	if (argc >= 3 && strcmp(argv[2], "limit") == 0)
		return admin_limit(cfg, argc - 2, argv + 2);
	if (argc == 3 && strcmp(argv[2], "limits") == 0)
		return admin_limits(cfg);
	if (argc >= 3 && strcmp(argv[2], "list") == 0) {
		int n = users_each(cfg->users_file, print_user, NULL);
		if (n < 0) {
			fprintf(stderr, "%s: %s\n", cfg->users_file,
			    users_strerror(n));
			return 1;
		}
		return 0;
	}
	if (argc < 4)
		return usage();
	if (strcmp(argv[2], "add") == 0)
		return user_set(cfg, argv[3], random, 1);
	if (strcmp(argv[2], "passwd") == 0) {
		if (user_set(cfg, argv[3], random, 0) != 0)
			return 1;
		return revoke_user(cfg, argv[3], 1);
	}
	if (strcmp(argv[2], "del") == 0) {
		int keep = strcmp(argv[3], "--keep-data") == 0;
		if (keep && argc < 5)
			return usage();
		return user_del(cfg, argv[keep ? 4 : 3], keep);
	}
	if (strcmp(argv[2], "quota") == 0) {
		if (argc != 5)
			return usage();
		return user_quota(cfg, argv[3], argv[4]);
	}
	if (strcmp(argv[2], "revoke") == 0) {
		if (!username_valid(argv[3])) {
			fprintf(stderr, "invalid user name: %s\n", argv[3]);
			return 1;
		}
		return revoke_user(cfg, argv[3], 0);
	}
	return usage();
}

/* Formats a time for the sessions table. */
static void
fmt_time(double t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (localtime_r(&tt, &tm) == NULL ||
	    strftime(out, 32, "%Y-%m-%d %H:%M", &tm) == 0)
		snprintf(out, 32, "%.0f", t);
}

/* sessions [NAME]: the active sessions as a table. */
static int
cmd_sessions(const struct lc_config *cfg, const char *name)
{
	struct store *st = admin_open_store(cfg);
	cJSON *list = NULL, *e;
	int rc = 1;

	if (st == NULL)
		return 1;
	if (store_session_list(st, name, (long long)time(NULL),
	    cfg->session_idle_timeout, &list) != STORE_OK) {
		fprintf(stderr, "could not list the sessions\n");
		goto out;
	}
	printf("%-20s %-8s %-16s %-16s %-15s %-8s %s\n", "USER", "SESSION",
	    "STARTED", "LAST SEEN", "ADDRESS", "REMEMBER", "CLIENT");
	cJSON_ArrayForEach(e, list) {
		char started[32], seen[32];
		fmt_time(cJSON_GetNumberValue(cJSON_GetObjectItem(e,
		    "created_at")), started);
		fmt_time(cJSON_GetNumberValue(cJSON_GetObjectItem(e,
		    "last_seen")), seen);
		printf("%-20s %.8s %-16s %-16s %-15s %-8s %.60s\n",
		    cJSON_GetStringValue(cJSON_GetObjectItem(e, "user")),
		    cJSON_GetStringValue(cJSON_GetObjectItem(e, "sid")),
		    started, seen,
		    cJSON_GetStringValue(cJSON_GetObjectItem(e, "addr")),
		    cJSON_IsTrue(cJSON_GetObjectItem(e, "remember")) ? "yes" :
		    "no", cJSON_GetStringValue(cJSON_GetObjectItem(e, "client")));
	}
	rc = 0;
out:
	cJSON_Delete(list);
	store_close(st);
	return rc;
}

/* storage: each user's conversations, messages, bytes and quota as a
 * table (users with nothing stored appear when they have a quota of their
 * own). */
static int
cmd_storage(const struct lc_config *cfg)
{
	struct store *st = admin_open_store(cfg);
	cJSON *list = NULL, *e;
	int rc = 1, own = 0;

	if (st == NULL)
		return 1;
	if (store_quota_list(st, &list) != STORE_OK) {
		fprintf(stderr, "could not read the usage\n");
		goto out;
	}
	printf("%-20s %13s %10s %14s %14s %s\n", "USER", "CONVERSATIONS",
	    "MESSAGES", "BYTES", "QUOTA", "USED");
	cJSON_ArrayForEach(e, list) {
		const cJSON *q = cJSON_GetObjectItem(e, "quota");
		double bytes = cJSON_GetNumberValue(cJSON_GetObjectItem(e,
		    "bytes"));
		double quota = cJSON_IsNull(q) ? (double)cfg->user_storage_quota :
		    cJSON_GetNumberValue(q);
		char qs[32], used[16];
		own |= !cJSON_IsNull(q);
		if (quota > 0) {
			snprintf(qs, sizeof(qs), "%.0f%s", quota,
			    cJSON_IsNull(q) ? "" : "*");
			snprintf(used, sizeof(used), "%.0f%%",
			    bytes * 100 / quota);
		} else {
			snprintf(qs, sizeof(qs), "none%s", cJSON_IsNull(q) ? "" :
			    "*");
			snprintf(used, sizeof(used), "-");
		}
		printf("%-20s %13.0f %10.0f %14.0f %14s %s\n",
		    cJSON_GetStringValue(cJSON_GetObjectItem(e, "user")),
		    cJSON_GetNumberValue(cJSON_GetObjectItem(e, "conversations")),
		    cJSON_GetNumberValue(cJSON_GetObjectItem(e, "messages")),
		    bytes, qs, used);
	}
	if (own)
		printf("(* a quota of the user's own: lightchat-admin user "
		    "quota)\n");
	rc = 0;
out:
	cJSON_Delete(list);
	store_close(st);
	return rc;
}

/* rotate-key: a new key file; the running programs load it within a
 * second, and every token made with the old one fails. */
static int
cmd_rotate_key(const struct lc_config *cfg)
{
	char err[512];
	struct store *st = NULL;

	if (token_key_rotate(cfg->token_key_file, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	/* The rows too, so that sessions lists no login that cannot work. */
	st = admin_open_store(cfg);
	if (st == NULL || store_session_revoke_user(st, NULL, NULL,
	    (long long)time(NULL), NULL) != STORE_OK)
		fprintf(stderr, "(the sessions table could not be updated: "
		    "the old tokens fail anyway)\n");
	store_close(st);
	fprintf(stderr, "new token key in %s: every session has ended\n",
	    cfg->token_key_file);
	return 0;
}

/* purge [NAME]: deletes what user del --keep-data kept apart. */
static int
cmd_purge(const struct lc_config *cfg, const char *name)
{
	struct store *st = NULL;
	int n = 0, rc = 1;

	if (name != NULL && !username_valid(name)) {
		fprintf(stderr, "invalid user name: %s\n", name);
		return 1;
	}
	st = admin_open_store(cfg);
	if (st == NULL)
		return 1;
	if (store_user_purge(st, name, &n) != STORE_OK) {
		fprintf(stderr, "could not purge\n");
		goto out;
	}
	fprintf(stderr, "purged %d conversation%s\n", n, n == 1 ? "" : "s");
	rc = 0;
out:
	store_close(st);
	return rc;
}

/* Creates the token key and, when there is no user at all and not
 * key_only (the package's postinst), a first user "admin" with a random
 * password printed once. */
static int
cmd_init(const struct lc_config *cfg, int key_only)
{
	char err[256], pw[RANDOM_PASSWORD_LEN + 1], hash[512];
	int made;

	if (mkdir(cfg->state, 0700) != 0 && errno != EEXIST) {
		fprintf(stderr, "%s: %s\n", cfg->state, strerror(errno));
		return 1;
	}
	made = token_key_create(cfg->token_key_file, err, sizeof(err));
	if (made < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (made)
		fprintf(stderr, "created token key %s\n", cfg->token_key_file);
	if (key_only)
		return 0;
	int n = users_each(cfg->users_file, NULL, NULL);
	if (n < 0) {
		fprintf(stderr, "%s: %s\n", cfg->users_file, users_strerror(n));
		return 1;
	}
	if (n > 0)
		return 0;
	if (random_password(pw, RANDOM_PASSWORD_LEN) != 0 ||
	    users_hash_cost(pw, (int)cfg->password_cost, hash, sizeof(hash)) !=
	    LC_USERS_OK ||
	    users_set(cfg->users_file, "admin", hash, 1, 0) != LC_USERS_OK) {
		fprintf(stderr, "cannot create the first user in %s\n",
		    cfg->users_file);
		return 1;
	}
	printf("\n  First user created:  admin / %s\n"
	    "  (shown once; change it with: lightchat-admin user passwd admin)"
	    "\n\n", pw);
	explicit_bzero(pw, sizeof(pw));
	return 0;
}

static void
print_key(const char *key, bool secret, const struct lc_config *cfg)
{
	char value[4096];

	if (config_get(cfg, key, value, sizeof(value)) != 0)
		snprintf(value, sizeof(value), "(too long)");
	if (secret)
		printf("%s\n", value[0] ? "(set)" : "");
	else
		printf("%s\n", value);
	explicit_bzero(value, sizeof(value));
}

static void
print_entry(const char *key, bool secret, void *arg)
{
	printf("%s = ", key);
	print_key(key, secret, arg);
}

static int
cmd_config(const struct lc_config *cfg, int argc, char **argv)
{
	char value[4096];

	if (argc < 3) {
		config_each_key(print_entry, (void *)cfg);
		return 0;
	}
	if (strcmp(argv[2], "--file") == 0)
		return admin_config_file(cfg);
	if (config_get(cfg, argv[2], value, sizeof(value)) != 0) {
		fprintf(stderr, "unknown key: %s\n", argv[2]);
		return 1;
	}
	explicit_bzero(value, sizeof(value));
	print_key(argv[2], strcmp(argv[2], "upstream_api_key") == 0, cfg);
	return 0;
}

int
main(int argc, char **argv)
{
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX];
	int rc;

	log_init("admin", NULL);
	if (argc < 2)
		return usage();
	/* The commented file of every setting with its default: the table's,
	 * whatever this host's file and environment say. */
	if (argc == 3 && strcmp(argv[1], "config") == 0 &&
	    strcmp(argv[2], "--template") == 0)
		return config_write_template(stdout) == 0 ? 0 : 1;
	if (config_load(&cfg, err) != 0) {
		fprintf(stderr, "configuration: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	/* What this tool creates (the state directory, the key, the users
	 * file) is private; printing the settings needs no private state. */
	perms_private_umask();
	if (perms_become_owner(cfg.state, err, sizeof(err)) != 0 ||
	    (strcmp(argv[1], "config") != 0 &&
	    perms_check_state(&cfg, err, sizeof(err)) != 0)) {
		fprintf(stderr, "%s\n", err);
		config_free(&cfg);
		return 1;
	}
	if (strcmp(argv[1], "init") == 0)
		rc = cmd_init(&cfg, argc >= 3 &&
		    strcmp(argv[2], "--key-only") == 0);
	else if (strcmp(argv[1], "user") == 0 && argc >= 3)
		rc = cmd_user(&cfg, argc, argv);
	else if (strcmp(argv[1], "config") == 0)
		rc = cmd_config(&cfg, argc, argv);
	else if (strcmp(argv[1], "sessions") == 0)
		rc = cmd_sessions(&cfg, argc >= 3 ? argv[2] : NULL);
	else if (strcmp(argv[1], "storage") == 0)
		rc = cmd_storage(&cfg);
	else if (strcmp(argv[1], "usage") == 0)
		rc = admin_usage(&cfg, argc - 1, argv + 1);
	else if (strcmp(argv[1], "rotate-key") == 0)
		rc = cmd_rotate_key(&cfg);
	else if (strcmp(argv[1], "purge") == 0)
		rc = cmd_purge(&cfg, argc >= 3 ? argv[2] : NULL);
	else if (strcmp(argv[1], "backup") == 0)
		rc = admin_backup(&cfg, argc - 1, argv + 1);
	else if (strcmp(argv[1], "restore") == 0)
		rc = admin_restore(&cfg, argc - 1, argv + 1);
	else if (strcmp(argv[1], "migrate-store") == 0)
		rc = admin_migrate_store(&cfg, argc - 1, argv + 1);
	else if (strcmp(argv[1], "check") == 0)
		rc = admin_check(&cfg, argc - 1, argv + 1);
	else
		rc = usage();
	config_free(&cfg);
	return rc;
}
