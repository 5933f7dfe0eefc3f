/* fuzz.h - shared by the libFuzzer harnesses in fuzz/: the entry points'
 * prototypes, an invariant check that aborts (so libFuzzer saves the input),
 * and temporary files for the harnesses whose code under test reads files. */
#ifndef LC_FUZZ_H
#define LC_FUZZ_H

#include <dirent.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

/* An invariant of the code under test: a failure is a finding. */
#define FUZZ_CHECK(cond)                                                     \
	do {                                                                 \
		if (!(cond)) {                                               \
			fprintf(stderr, "%s:%d: invariant failed: %s\n",     \
			    __FILE__, __LINE__, #cond);                      \
			abort();                                             \
		}                                                            \
	} while (0)

/* A seed made from the whole input (never 0), for fuzz_piece_len. */
static inline uint64_t
fuzz_seed(const uint8_t *data, size_t size)
{
	uint64_t seed = 0x9e3779b97f4a7c15ULL;

	for (size_t i = 0; i < size; i++)
		seed = (seed ^ data[i]) * 0x100000001b3ULL;
	return seed != 0 ? seed : 1;
}

/* The length of the next piece to feed an incremental parser, at most left:
 * mostly short pieces, sometimes empty or long ones (xorshift on *seed). */
static inline size_t
fuzz_piece_len(uint64_t *seed, size_t left)
{
	uint64_t r = *seed;
	size_t n;

	r ^= r << 13;
	r ^= r >> 7;
	r ^= r << 17;
	*seed = r;
	n = (r & 7) == 0 ? (size_t)(r >> 8) % 512 : (size_t)(r >> 8) % 9;
	return n < left ? n : left;
}

/* Two runs' logs (what a parser produced) must be the same bytes. */
#define FUZZ_CHECK_SAME(a, alen, b, blen)                                    \
	do {                                                                 \
		FUZZ_CHECK((alen) == (blen));                                \
		FUZZ_CHECK((alen) == 0 || memcmp((a), (b), (alen)) == 0);    \
	} while (0)

/* A heap copy of data with a NUL after it (the sanitizer sees any read
 * past it). The harness frees it. */
static inline char *
fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s == NULL)
		abort();
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Splits a copy of data at each sep byte into at most max parts (the last
 * part keeps any further separators). Returns the number of parts; parts[i]
 * point into *copy, which the caller frees. */
static inline size_t
fuzz_split(const uint8_t *data, size_t size, char sep, char **parts,
    size_t max, char **copy)
{
	char *s = fuzz_strndup(data, size);
	size_t n = 0;

	*copy = s;
	if (max == 0)
		return 0;
	parts[n++] = s;
	for (size_t i = 0; i < size && n < max; i++) {
		if (s[i] == sep) {
			s[i] = '\0';
			parts[n++] = s + i + 1;
		}
	}
	return n;
}

/* A private directory for the run's temporary files: under
 * $LIGHTCHAT_FUZZ_TMP, else in /dev/shm when there is one (users_set
 * fsyncs), removed with its files at a normal exit. */
static char fuzz_dir_path[256];

static inline void
fuzz_dir_cleanup(void)
{
	char path[512];
	struct dirent *e;
	DIR *d;

	if (fuzz_dir_path[0] == '\0' || (d = opendir(fuzz_dir_path)) == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", fuzz_dir_path, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(fuzz_dir_path);
}

static inline const char *
fuzz_dir(void)
{
	if (fuzz_dir_path[0] != '\0')
		return fuzz_dir_path;
	/* fuzz/run.sh names one it removes afterwards, crash or not. */
	const char *base = getenv("LIGHTCHAT_FUZZ_TMP");
	if (base == NULL || base[0] == '\0')
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_dir_path, sizeof(fuzz_dir_path), "%s/lightchat-fuzz.XXXXXX",
	    base);
	if (mkdtemp(fuzz_dir_path) == NULL) {
		perror("mkdtemp");
		abort();
	}
	atexit(fuzz_dir_cleanup);
	return fuzz_dir_path;
}

/* Replaces the contents of path with data. */
static inline void
fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || (size > 0 && fwrite(data, 1, size, fp) != size) ||
	    fclose(fp) != 0) {
		perror(path);
		abort();
	}
}

/* Removes every LIGHTCHAT_* and OPENAI_* variable, so that only what a
 * harness sets reaches config_load. */
extern char **environ;
static inline void
fuzz_clear_settings_env(void)
{
	for (char **e = environ; *e != NULL;) {
		if (strncmp(*e, "LIGHTCHAT_", 10) == 0 ||
		    strncmp(*e, "OPENAI_", 7) == 0) {
			char name[128];
			size_t n = strcspn(*e, "=");
			snprintf(name, sizeof(name), "%.*s", (int)n, *e);
			unsetenv(name);
			e = environ;  /* unsetenv moved the entries */
			continue;
		}
		e++;
	}
}

#endif
