/* fuzz_users.c - lib/users.h: the htpasswd-format users file.
 *
 * Input: a user name line, a password line, then the users file. The file
 * is written to a temporary path (once per input) and checked with
 * users_each and users_verify; then, for a valid name, users_set and
 * users_delete rewrite it and the reader must agree with the writer:
 *  - users_each counts only named lines, names without ':' or newlines;
 *  - after users_set(name, H) users_verify(name, "secret") succeeds (H is
 *    a hash of "secret"), users_each lists the name, and the other users
 *    are the same (as many as before, plus the new one);
 *  - after users_delete(name) users_verify denies and users_each does not
 *    list it; adding it anew then fails as it should (EXISTS, NOT_FOUND).
 *
 * Password hashing is slow on purpose (yescrypt costs about 15 ms here, and
 * users_verify hashes even for unknown users), so the harness is linked with
 * -Wl,--wrap=crypt_r: __wrap_crypt_r below passes cheap settings (sha512-crypt
 * with rounds <= 1000, bcrypt cost 04, yescrypt "j75") to libxcrypt and
 * answers "*0" - what libxcrypt answers for a setting it refuses - for all
 * others, the dummy hash included. What is fuzzed is lightchat's parsing
 * and rewriting of the file, not libxcrypt. */
#include "fuzz.h"

#include <crypt.h>
#include <stdbool.h>

#include "users.h"

#define PASSWORD "secret"
/* mkpasswd -m sha-512 -R 1000 secret */
static const char hash_secret[] = "$6$rounds=1000$2PnQP2j.lYZFPNZB$S0ZSNh4N"
    "hNW1OR6423xq85mQ/I7QC1cd2fvFJTzK0xhN5X0LZf4m.LyOzI0eHxcPVCcAOgSJCx6GVH"
    "9GI.FSg.";

char *__real_crypt_r(const char *phrase, const char *setting,
    struct crypt_data *data);
char *__wrap_crypt_r(const char *phrase, const char *setting,
    struct crypt_data *data);

static unsigned long real_calls, cheap_refusals;

static bool
cheap_setting(const char *s)
{
	if (strncmp(s, "$6$rounds=", 10) == 0) {
		size_t i = 10, n = 0;
		unsigned long r = 0;
		while (s[i] >= '0' && s[i] <= '9' && n < 5) {
			r = r * 10 + (unsigned long)(s[i] - '0');
			i++;
			n++;
		}
		return n > 0 && s[i] == '$' && r <= 1000;
	}
	if (strncmp(s, "$2a$04$", 7) == 0 || strncmp(s, "$2b$04$", 7) == 0 ||
	    strncmp(s, "$2y$04$", 7) == 0)
		return true;
	return strncmp(s, "$y$j75$", 7) == 0;
}

char *
__wrap_crypt_r(const char *phrase, const char *setting,
    struct crypt_data *data)
{
	if (cheap_setting(setting)) {
		real_calls++;
		return __real_crypt_r(phrase, setting, data);
	}
	cheap_refusals++;
	strcpy(data->output, "*0");
	return data->output;
}

static char path[512];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/users", fuzz_dir());
	return 0;
}

struct names {
	int count;
	const char *want;  /* a name to look for */
	int seen;          /* times want was listed */
};

static void
on_user(const char *user, void *arg)
{
	struct names *n = arg;

	FUZZ_CHECK(user[0] != '\0' && user[0] != '#');
	FUZZ_CHECK(strchr(user, ':') == NULL && strchr(user, '\n') == NULL);
	FUZZ_CHECK(strlen(user) <= LC_USERS_LINE_MAX);
	n->count++;
	if (n->want != NULL && strcmp(user, n->want) == 0)
		n->seen++;
}

static int
each(const char *want, int *seen)
{
	struct names n = { .want = want };
	int rc = users_each(path, on_user, &n);

	FUZZ_CHECK(rc == n.count);
	if (seen != NULL)
		*seen = n.seen;
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *parts[3] = { NULL };
	char *copy;
	size_t n = fuzz_split(data, size, '\n', parts, 3, &copy);
	const char *user = parts[0];
	const char *password = n > 1 ? parts[1] : "";
	size_t off = 0;
	int seen;

	/* The file is what follows the second newline, as given (NULs too). */
	for (size_t i = 0, nl = 0; i < size && nl < 2; i++)
		if (data[i] == '\n' && ++nl == 2)
			off = i + 1;
	if (n < 3)
		off = size;
	fuzz_write_file(path, data + off, size - off);

	int count = each(user, &seen);
	FUZZ_CHECK(count >= 0);

	int rc = users_verify(path, user, password);
	FUZZ_CHECK(rc == LC_USERS_OK || rc == LC_USERS_DENIED ||
	    rc == LC_USERS_BAD_HASH);
	FUZZ_CHECK(users_strerror(rc) != NULL);
	if (!username_valid(user))
		FUZZ_CHECK(rc == LC_USERS_DENIED);
	if (rc == LC_USERS_OK || rc == LC_USERS_BAD_HASH)
		FUZZ_CHECK(seen > 0);
	users_verify(path, "alice", PASSWORD);
	users_hash_kind_ok(password);

	if (username_valid(user)) {
		int before = count;
		/* Replace (or add) the user: the reader finds the new hash. */
		rc = users_set(path, user, hash_secret, 0, 0);
		FUZZ_CHECK(rc == LC_USERS_OK || rc == LC_USERS_IO);
		if (rc == LC_USERS_OK) {
			FUZZ_CHECK(users_verify(path, user, PASSWORD) == LC_USERS_OK);
			int after = each(user, &seen);
			FUZZ_CHECK(seen >= 1);
			/* Other users' lines are kept as they were: none appears
			 * or goes away. */
			FUZZ_CHECK(after >= before && after <= before + 1);
			/* Adding again must fail: the user exists. */
			FUZZ_CHECK(users_set(path, user, hash_secret, 1, 0) ==
			    LC_USERS_EXISTS);
			/* Remove it: gone for the reader too. */
			FUZZ_CHECK(users_delete(path, user) == LC_USERS_OK);
			FUZZ_CHECK(users_verify(path, user, PASSWORD) ==
			    LC_USERS_DENIED);
			each(user, &seen);
			FUZZ_CHECK(seen == 0);
			FUZZ_CHECK(users_delete(path, user) == LC_USERS_NOT_FOUND);
			FUZZ_CHECK(users_set(path, user, hash_secret, 0, 1) ==
			    LC_USERS_NOT_FOUND);
		}
	}
	/* Refused input for the writer. */
	FUZZ_CHECK(users_set(path, "bad:name", hash_secret, 0, 0) ==
	    LC_USERS_BAD_INPUT);
	if (n > 1 && (!users_hash_kind_ok(password) || strchr(password, ':')))
		FUZZ_CHECK(users_set(path, "alice", password, 0, 0) ==
		    LC_USERS_BAD_INPUT);

	free(copy);
	return 0;
}
