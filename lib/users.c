/* users.c - htpasswd-format users file and password hashing (libxcrypt). */
#include "users.h"

#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* A valid yescrypt hash of a random password nobody knows: verifying an
 * unknown user against it costs what a real check costs. */
static const char dummy_hash[] =
    "$y$j9T$CJ0iJG9M1Le2kFof.GVoc1$yvBsjIMvKB8xOTcP0s9dRNFOZHXe4tiPEkyB/UsfBv7";

int
users_hash_kind_ok(const char *hash)
{
	return strncmp(hash, "$y$", 3) == 0 || strncmp(hash, "$2a$", 4) == 0 ||
	    strncmp(hash, "$2b$", 4) == 0 || strncmp(hash, "$2y$", 4) == 0 ||
	    strncmp(hash, "$6$", 3) == 0;
}

/* Constant-time comparison of two NUL-terminated strings. */
static int
equal_ct(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	unsigned char diff = (unsigned char)(la != lb);

	for (size_t i = 0; i < la && i < lb; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* Returns 1 if password matches hash, 0 if not, -1 when out of memory. */
static int
hash_check(const char *password, const char *hash)
{
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	int ok;

	if (cd == NULL)
		return -1;
	const char *res = crypt_r(password, hash, cd);
	/* libxcrypt returns "*0"/"*1" (or NULL) on failure. */
	ok = res != NULL && res[0] != '*' && equal_ct(res, hash);
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return ok;
}

/* Reads the next line of fp into *line (getline's buffer, NUL bytes kept
 * out by the caller's checks) without its line ending. Returns its length,
 * or -1 at the end. Lines longer than LC_USERS_LINE_MAX and lines holding a
 * NUL byte are returned as "" so that no fragment of them is taken for a
 * user. */
static ssize_t
next_line(FILE *fp, char **line, size_t *cap)
{
	ssize_t n = getline(line, cap, fp);

	if (n < 0)
		return -1;
	if (n > 0 && (*line)[n - 1] == '\n')
		(*line)[--n] = '\0';
	if (n > 0 && (*line)[n - 1] == '\r')
		(*line)[--n] = '\0';
	if (n > LC_USERS_LINE_MAX || strlen(*line) != (size_t)n) {
		(*line)[0] = '\0';
		n = 0;
	}
	return n;
}

/* Finds user in an open file: copies its hash into hash (cap bytes).
 * Returns 1 found, 0 not found, -1 if its hash does not fit. */
static int
find_user(FILE *fp, const char *user, char *hash, size_t cap)
{
	char *line = NULL;
	size_t lcap = 0, ulen = strlen(user);
	int rc = 0;

	while (next_line(fp, &line, &lcap) >= 0) {
		if (strncmp(line, user, ulen) == 0 && line[ulen] == ':') {
			const char *h = line + ulen + 1;
			rc = strlen(h) < cap ? 1 : -1;
			if (rc == 1)
				memcpy(hash, h, strlen(h) + 1);
			break;
		}
	}
	if (line != NULL)
		explicit_bzero(line, lcap);
	free(line);
	return rc;
}

/* Reads user's hash from the users file at path into hash (cap bytes).
 * Returns 1 found, 0 not there (or an invalid name), or LC_USERS_IO. */
static int
read_hash(const char *path, const char *user, char *hash, size_t cap)
{
	FILE *fp = fopen(path, "r");
	int found = 0;

	if (fp == NULL)
		return LC_USERS_IO;
	if (username_valid(user))
		found = find_user(fp, user, hash, cap);
	if (ferror(fp))
		found = -2;
	fclose(fp);
	return found == -2 ? LC_USERS_IO : found;
}

int
users_verify(const char *path, const char *user, const char *password)
{
	char hash[LC_USERS_LINE_MAX];
	int found = 0, rc;

	found = read_hash(path, user, hash, sizeof(hash));
	if (found == LC_USERS_IO)
		return LC_USERS_IO;
	if (found == 1 && !users_hash_kind_ok(hash)) {
		hash_check(password, dummy_hash);
		return LC_USERS_BAD_HASH;
	}
	if (found != 1) {
		hash_check(password, dummy_hash);
		return LC_USERS_DENIED;
	}
	rc = hash_check(password, hash);
	explicit_bzero(hash, sizeof(hash));
	if (rc < 0)
		return LC_USERS_NOMEM;
	return rc == 1 ? LC_USERS_OK : LC_USERS_DENIED;
}

int
users_hash(const char *password, char *out, size_t outcap)
{
	return users_hash_cost(password, 0, out, outcap);
}

int
users_hash_cost(const char *password, int cost, char *out, size_t outcap)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = NULL;
	int rc = LC_USERS_NOMEM;

	if (password[0] == '\0' || strlen(password) > LC_PASSWORD_MAX)
		return LC_USERS_BAD_INPUT;
	if (cost < 0 || cost > LC_USERS_COST_MAX)
		return LC_USERS_BAD_INPUT;
	if (crypt_gensalt_rn("$y$", (unsigned long)cost, NULL, 0, salt,
	    sizeof(salt)) == NULL)
		return LC_USERS_NOMEM;
	cd = calloc(1, sizeof(*cd));
	if (cd == NULL)
		goto out;
	const char *res = crypt_r(password, salt, cd);
	if (res == NULL || res[0] == '*' || strlen(res) >= outcap) {
		rc = LC_USERS_BAD_HASH;
		goto out;
	}
	memcpy(out, res, strlen(res) + 1);
	rc = LC_USERS_OK;
out:
	if (cd != NULL)
		explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return rc;
}

/* Returns 1 if the rest of a line (after "user:", line end included) is
 * exactly hash. */
static int
line_has_hash(const char *rest, const char *hash)
{
	size_t n = strcspn(rest, "\r\n");

	return n == strlen(hash) && memcmp(rest, hash, n) == 0;
}

/* Rewrites the file with user's line replaced (hash != NULL), added, or
 * removed (hash == NULL), under an exclusive lock on path.lock. With expect,
 * the line is replaced only while its hash is still expect (else
 * LC_USERS_CHANGED, the file untouched). */
static int
users_rewrite(const char *path, const char *user, const char *hash,
    int must_be_new, int must_exist, const char *expect)
{
	char tmp[4096], lockpath[4096], *line = NULL;
	FILE *in = NULL, *out = NULL;
	int lockfd = -1, outfd = -1, rc = LC_USERS_IO, found = 0;
	size_t ulen = strlen(user), lcap = 0;
	ssize_t n;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp) ||
	    (size_t)snprintf(lockpath, sizeof(lockpath), "%s.lock", path) >=
	    sizeof(lockpath))
		return LC_USERS_BAD_INPUT;
	lockfd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (lockfd < 0 || flock(lockfd, LOCK_EX) != 0)
		goto out;
	in = fopen(path, "r");
	if (in == NULL && errno != ENOENT)
		goto out;
	outfd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (outfd < 0 || (out = fdopen(outfd, "w")) == NULL)
		goto out;
	outfd = -1;
	while (in != NULL && (n = getline(&line, &lcap, in)) >= 0) {
		/* A line the readers ignore (too long, or holding a NUL) is
		 * copied byte for byte and never taken for a user. */
		int opaque = n > LC_USERS_LINE_MAX ||
		    memchr(line, '\0', (size_t)n) != NULL;
		if (!opaque && (size_t)n > ulen &&
		    strncmp(line, user, ulen) == 0 && line[ulen] == ':') {
			found = 1;
			if (expect != NULL && !line_has_hash(line + ulen + 1,
			    expect)) {
				rc = LC_USERS_CHANGED;
				goto out;
			}
			if (hash != NULL && !must_be_new)
				fprintf(out, "%s:%s\n", user, hash);
			if (hash == NULL || !must_be_new)
				continue;
		}
		if (fwrite(line, 1, (size_t)n, out) != (size_t)n ||
		    (line[n - 1] != '\n' && fputc('\n', out) == EOF))
			goto out;
	}
	if (in != NULL && ferror(in))
		goto out;
	if (found && must_be_new) {
		rc = LC_USERS_EXISTS;
		goto out;
	}
	if (!found && (must_exist || hash == NULL)) {
		rc = LC_USERS_NOT_FOUND;
		goto out;
	}
	if (!found)
		fprintf(out, "%s:%s\n", user, hash);
	if (fflush(out) != 0 || fsync(fileno(out)) != 0)
		goto out;
	if (fclose(out) != 0) {
		out = NULL;
		goto out;
	}
	out = NULL;
	if (rename(tmp, path) != 0)
		goto out;
	rc = LC_USERS_OK;
out:
	if (out != NULL)
		fclose(out);
	if (outfd >= 0)
		close(outfd);
	if (rc != LC_USERS_OK)
		unlink(tmp);
	if (in != NULL)
		fclose(in);
	if (line != NULL)
		explicit_bzero(line, lcap);
	free(line);
	if (lockfd >= 0)
		close(lockfd);
	return rc;
}

int
users_set(const char *path, const char *user, const char *hash,
    int must_be_new, int must_exist)
{
	if (!username_valid(user) || !users_hash_kind_ok(hash) ||
	    strchr(hash, '\n') != NULL || strchr(hash, ':') != NULL)
		return LC_USERS_BAD_INPUT;
	return users_rewrite(path, user, hash, must_be_new, must_exist, NULL);
}

int
users_delete(const char *path, const char *user)
{
	if (!username_valid(user))
		return LC_USERS_BAD_INPUT;
	return users_rewrite(path, user, NULL, 0, 1, NULL);
}

int
users_each(const char *path, void (*fn)(const char *user, void *arg), void *arg)
{
	char *line = NULL;
	size_t lcap = 0;
	int count = 0;
	FILE *fp = fopen(path, "r");

	if (fp == NULL)
		return errno == ENOENT ? 0 : LC_USERS_IO;
	while (next_line(fp, &line, &lcap) >= 0) {
		char *colon = strchr(line, ':');
		if (colon == NULL || line[0] == '#' || colon == line)
			continue;
		*colon = '\0';
		if (fn != NULL)
			fn(line, arg);
		count++;
	}
	if (ferror(fp))
		count = LC_USERS_IO;
	free(line);
	fclose(fp);
	return count;
}

/* The cost (1..LC_USERS_COST_MAX) whose yescrypt parameters a hash has, 0
 * for the default cost's, -1 for another kind or unknown parameters. */
static int
yescrypt_cost(const char *hash)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];

	if (strncmp(hash, "$y$", 3) != 0)
		return -1;
	const char *p = hash + 3, *end = strchr(p, '$');
	if (end == NULL)
		return -1;
	for (int c = 1; c <= LC_USERS_COST_MAX; c++) {
		if (crypt_gensalt_rn("$y$", (unsigned long)c, NULL, 0, salt,
		    sizeof(salt)) == NULL)
			return -1;
		size_t n = strcspn(salt + 3, "$");
		if (n == (size_t)(end - p) && memcmp(salt + 3, p, n) == 0)
			return c;
	}
	return -1;
}

int
users_hash_weaker(const char *hash, int cost)
{
	if (cost == 0)
		cost = LC_USERS_COST_DEFAULT;
	if (!users_hash_kind_ok(hash))
		return 0;
	if (strncmp(hash, "$y$", 3) != 0)
		return 1;
	int have = yescrypt_cost(hash);
	return have > 0 && have < cost;
}

int
users_upgrade(const char *path, const char *user, const char *password,
    int cost)
{
	char hash[LC_USERS_LINE_MAX], fresh[LC_USERS_LINE_MAX];
	int found = 0, rc;

	if (!username_valid(user))
		return LC_USERS_BAD_INPUT;
	found = read_hash(path, user, hash, sizeof(hash));
	if (found == LC_USERS_IO)
		return LC_USERS_IO;
	if (found != 1)
		return LC_USERS_NOT_FOUND;
	if (!users_hash_weaker(hash, cost)) {
		rc = 0;
		goto out;
	}
	/* The password is checked again against what the file holds now:
	 * never write a hash of a password that is no longer the user's. */
	rc = hash_check(password, hash);
	if (rc != 1) {
		rc = rc < 0 ? LC_USERS_NOMEM : LC_USERS_CHANGED;
		goto out;
	}
	rc = users_hash_cost(password, cost, fresh, sizeof(fresh));
	if (rc == LC_USERS_OK)
		rc = users_rewrite(path, user, fresh, 0, 1, hash);
	if (rc == LC_USERS_OK)
		rc = 1;
out:
	explicit_bzero(hash, sizeof(hash));
	explicit_bzero(fresh, sizeof(fresh));
	return rc;
}

/* Nanoseconds one crypt_r of a throwaway password with setting takes. */
static long long
time_crypt(const char *setting, struct crypt_data *cd)
{
	struct timespec a, b;

	clock_gettime(CLOCK_MONOTONIC, &a);
	const char *res = crypt_r("lightchat timing probe", setting, cd);
	clock_gettime(CLOCK_MONOTONIC, &b);
	if (res == NULL || res[0] == '*')
		return -1;
	return (long long)(b.tv_sec - a.tv_sec) * 1000000000LL +
	    (b.tv_nsec - a.tv_nsec);
}

long long
users_check_ns(int cost)
{
	char salt[CRYPT_GENSALT_OUTPUT_SIZE];
	struct crypt_data *cd = calloc(1, sizeof(*cd));
	long long most = -1;

	if (cd == NULL)
		return -1;
	if (cost < 0 || cost > LC_USERS_COST_MAX || crypt_gensalt_rn("$y$",
	    (unsigned long)cost, NULL, 0, salt, sizeof(salt)) == NULL)
		goto out;
	for (int i = 0; i < 3; i++) {
		long long a = time_crypt(salt, cd), b = time_crypt(dummy_hash, cd);
		if (a < 0 || b < 0) {
			most = -1;
			goto out;
		}
		if (a > most)
			most = a;
		if (b > most)
			most = b;
	}
out:
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	return most;
}

const char *
users_strerror(int err)
{
	switch (err) {
	case LC_USERS_OK: return "ok";
	case LC_USERS_DENIED: return "unknown user or wrong password";
	case LC_USERS_IO: return "users file cannot be read or written";
	case LC_USERS_BAD_HASH: return "stored hash is not yescrypt, bcrypt or sha512-crypt";
	case LC_USERS_NOMEM: return "out of memory";
	case LC_USERS_EXISTS: return "user already exists";
	case LC_USERS_NOT_FOUND: return "no such user";
	case LC_USERS_BAD_INPUT: return "invalid user name or password";
	case LC_USERS_CHANGED: return "the user's hash changed meanwhile";
	}
	return "unknown error";
}
