/* users_fp.c - the fingerprint of a user's password hash, cached per state
 * of the users file. */
#include "users_fp.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The answers for one state of one file, thrown away when the file's
 * identity, size or modification time changes. */
#define FP_SLOTS 64
static struct {
	char path[4096];
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	int n, next;
	struct {
		char user[LC_USER_MAX + 1];
		int found;
		char fp[LC_USERS_FP_LEN + 1];
	} e[FP_SLOTS];
} cache;

/* The 64-bit FNV-1a of the n bytes at s as 16 hex digits. */
static void
fingerprint_of(const char *s, size_t n, char out[LC_USERS_FP_LEN + 1])
{
	uint64_t h = 14695981039346656037ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
	snprintf(out, LC_USERS_FP_LEN + 1, "%016llx", (unsigned long long)h);
}

/* Finds user's line in fp as users.c reads it (line ending stripped; lines
 * longer than LC_USERS_LINE_MAX or holding a NUL never name a user) and
 * makes the fingerprint of its hash. Returns 1 found, 0 not, -1 read
 * error. */
static int
find_fp(FILE *fp, const char *user, char out[LC_USERS_FP_LEN + 1])
{
	char *line = NULL;
	size_t cap = 0, ulen = strlen(user);
	ssize_t n;
	int rc = 0;

	while ((n = getline(&line, &cap, fp)) >= 0) {
		if (n > 0 && line[n - 1] == '\n')
			line[--n] = '\0';
		if (n > 0 && line[n - 1] == '\r')
			line[--n] = '\0';
		if (n > LC_USERS_LINE_MAX || strlen(line) != (size_t)n)
			continue;
		if ((size_t)n > ulen && strncmp(line, user, ulen) == 0 &&
		    line[ulen] == ':') {
			fingerprint_of(line + ulen + 1, (size_t)n - ulen - 1, out);
			rc = 1;
			break;
		}
	}
	if (rc == 0 && ferror(fp))
		rc = -1;
	if (line != NULL)
		explicit_bzero(line, cap);
	free(line);
	return rc;
}

static int
same_state(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
	    a->st_size == b->st_size &&
	    a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	    a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

int
users_fingerprint(const char *path, const char *user,
    char out[LC_USERS_FP_LEN + 1])
{
	struct stat st, st2;
	FILE *fp = NULL;
	int found, i;

	out[0] = '\0';
	if (!username_valid(user))
		return 0;
	if (stat(path, &st) != 0)
		return errno == ENOENT ? 0 : LC_USERS_IO;
	if (strcmp(cache.path, path) != 0 || cache.dev != st.st_dev ||
	    cache.ino != st.st_ino || cache.size != st.st_size ||
	    cache.mtime.tv_sec != st.st_mtim.tv_sec ||
	    cache.mtime.tv_nsec != st.st_mtim.tv_nsec) {
		if (strlen(path) >= sizeof(cache.path))
			return LC_USERS_IO;
		memset(&cache, 0, sizeof(cache));
		memcpy(cache.path, path, strlen(path) + 1);
		cache.dev = st.st_dev;
		cache.ino = st.st_ino;
		cache.size = st.st_size;
		cache.mtime = st.st_mtim;
	}
	for (i = 0; i < cache.n; i++) {
		if (strcmp(cache.e[i].user, user) == 0) {
			memcpy(out, cache.e[i].fp, LC_USERS_FP_LEN + 1);
			return cache.e[i].found;
		}
	}
	fp = fopen(path, "r");
	if (fp == NULL)
		return errno == ENOENT ? 0 : LC_USERS_IO;
	found = find_fp(fp, user, out);
	fclose(fp);
	if (found < 0) {
		out[0] = '\0';
		return LC_USERS_IO;
	}
	/* Remembered unless the file changed while it was read (the next
	 * call then reads it again). */
	if (stat(path, &st2) == 0 && same_state(&st, &st2)) {
		i = cache.n < FP_SLOTS ? cache.n++ : cache.next++ % FP_SLOTS;
		memcpy(cache.e[i].user, user, strlen(user) + 1);
		cache.e[i].found = found;
		memcpy(cache.e[i].fp, out, LC_USERS_FP_LEN + 1);
	}
	return found;
}
