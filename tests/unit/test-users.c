/* test-users.c - unit tests of lib/users.c: the htpasswd-format users file. */
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "users.h"
#include "unit.h"

static char dir[64];
static char path[128];

static void
write_file(const char *p, const char *text)
{
	FILE *fp = fopen(p, "w");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0) {
		perror(p);
		exit(2);
	}
}

/* Reads the whole file into a static buffer ("" when missing). */
static const char *
read_file(const char *p)
{
	static char text[16384];
	FILE *fp = fopen(p, "r");
	size_t n = 0;

	text[0] = '\0';
	if (fp == NULL)
		return text;
	n = fread(text, 1, sizeof(text) - 1, fp);
	text[n] = '\0';
	fclose(fp);
	return text;
}

struct names {
	int count;
	char list[512];
	int bad;   /* a name that looks like a fragment of a long line */
};

static void
collect(const char *user, void *arg)
{
	struct names *n = arg;

	n->count++;
	if (user[0] == 'x')
		n->bad++;
	if (strlen(n->list) + strlen(user) + 2 < sizeof(n->list)) {
		strcat(n->list, user);
		strcat(n->list, ",");
	}
}

/* A last line that starts with a NUL byte and has no newline: run
 * users_verify and users_each in a child, so that a memory error caught by
 * the sanitizers fails this check instead of ending the whole program. */
static int
nul_last_line_safe(const char *p)
{
	static const char text[] = "alice:$6$x\n\0tail";
	int status = 0;
	FILE *fp = fopen(p, "w");

	if (fp == NULL)
		return 0;
	fwrite(text, 1, sizeof(text) - 1, fp);
	fclose(fp);
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		int a = users_verify(p, "bob", "x");
		int b = users_each(p, NULL, NULL);
		_exit(a == LC_USERS_DENIED && b >= 1 ? 0 : 3);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid)
		return 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		printf("#   child status 0x%x\n", (unsigned)status);
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void
test_hash_and_set(void)
{
	char h1[256], h2[256], big[LC_PASSWORD_MAX + 2];
	struct stat st;

	CHECK(users_hash("s3cret pass", h1, sizeof(h1)) == LC_USERS_OK,
	    "hash: ok");
	CHECK(strncmp(h1, "$y$", 3) == 0, "hash: yescrypt prefix");
	CHECK(users_hash_kind_ok(h1), "hash: kind ok");
	CHECK(users_hash("s3cret pass", h2, sizeof(h2)) == LC_USERS_OK &&
	    strcmp(h1, h2) != 0, "hash: salted, two hashes differ");
	CHECK(users_hash("", h2, sizeof(h2)) == LC_USERS_BAD_INPUT,
	    "hash: empty password refused");
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(users_hash(big, h2, sizeof(h2)) == LC_USERS_BAD_INPUT,
	    "hash: password over LC_PASSWORD_MAX refused");
	/* Every password users_hash accepts must hash (libxcrypt refuses
	 * passphrases of 512 bytes or more). */
	big[LC_PASSWORD_MAX] = '\0';
	CHECK(users_hash(big, h2, sizeof(h2)) == LC_USERS_OK,
	    "hash: password of LC_PASSWORD_MAX ok");
	CHECK(LC_PASSWORD_MAX < CRYPT_MAX_PASSPHRASE_SIZE,
	    "LC_PASSWORD_MAX within libxcrypt's limit");
	memset(big, 'p', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(users_verify(path, "nobody", big) == LC_USERS_IO,
	    "verify: over-long password, missing file -> IO");
	CHECK(users_hash("x", h2, 10) != LC_USERS_OK,
	    "hash: output buffer too small refused");

	CHECK(users_set(path, "alice", h1, 1, 0) == LC_USERS_OK,
	    "set: add alice");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "set: file mode 0600");
	CHECK(users_verify(path, "alice", "s3cret pass") == LC_USERS_OK,
	    "verify: right password");
	CHECK(users_verify(path, "alice", "s3cret pas") == LC_USERS_DENIED,
	    "verify: wrong password denied");
	CHECK(users_verify(path, "alice", "") == LC_USERS_DENIED,
	    "verify: empty password denied");
	CHECK(users_verify(path, "nobody", "s3cret pass") == LC_USERS_DENIED,
	    "verify: unknown user denied");
	CHECK(users_verify(path, "alic", "s3cret pass") == LC_USERS_DENIED,
	    "verify: prefix of a user denied");
	CHECK(users_verify(path, "alice:", "s3cret pass") == LC_USERS_DENIED,
	    "verify: invalid name denied");
	CHECK(users_set(path, "alice", h1, 1, 0) == LC_USERS_EXISTS,
	    "set: duplicate add -> EXISTS");
	CHECK(users_set(path, "bob", h1, 0, 1) == LC_USERS_NOT_FOUND,
	    "set: passwd of missing user -> NOT_FOUND");
	CHECK(users_set(path, "bad name", h1, 1, 0) == LC_USERS_BAD_INPUT,
	    "set: invalid user name refused");
	CHECK(users_set(path, "-bob", h1, 1, 0) == LC_USERS_BAD_INPUT,
	    "set: leading dash refused");
	CHECK(users_set(path, "bob", "plaintext", 1, 0) == LC_USERS_BAD_INPUT,
	    "set: plain-text hash refused");
	CHECK(users_set(path, "bob", "$y$a:b", 1, 0) == LC_USERS_BAD_INPUT,
	    "set: hash with a colon refused");
	CHECK(users_set(path, "bob", "$y$a\nmallory:$y$x", 1, 0) ==
	    LC_USERS_BAD_INPUT, "set: hash with a newline refused");

	CHECK(users_hash("bob pw", h2, sizeof(h2)) == LC_USERS_OK &&
	    users_set(path, "bob", h2, 1, 0) == LC_USERS_OK &&
	    users_set(path, "carol", h2, 0, 0) == LC_USERS_OK,
	    "set: add bob and carol");
	CHECK(users_hash("new alice", h2, sizeof(h2)) == LC_USERS_OK &&
	    users_set(path, "alice", h2, 0, 1) == LC_USERS_OK,
	    "set: passwd alice");
	CHECK(users_verify(path, "alice", "new alice") == LC_USERS_OK &&
	    users_verify(path, "alice", "s3cret pass") == LC_USERS_DENIED,
	    "verify: new password only");
	CHECK(users_verify(path, "bob", "bob pw") == LC_USERS_OK,
	    "verify: bob unaffected");

	struct names n = { 0, "", 0 };
	CHECK(users_each(path, collect, &n) == 3 && n.count == 3,
	    "each: three users");
	CHECK_STR(n.list, "alice,bob,carol,", "each: file order kept on passwd");

	CHECK(users_delete(path, "bob") == LC_USERS_OK, "delete: bob");
	CHECK(users_delete(path, "bob") == LC_USERS_NOT_FOUND,
	    "delete: again -> NOT_FOUND");
	CHECK(users_delete(path, "b b") == LC_USERS_BAD_INPUT,
	    "delete: invalid name");
	CHECK(users_verify(path, "bob", "bob pw") == LC_USERS_DENIED,
	    "verify: deleted user denied");
	memset(&n, 0, sizeof(n));
	CHECK(users_each(path, collect, &n) == 2, "each: two after delete");
	CHECK_STR(n.list, "alice,carol,", "each: order after delete");
	CHECK(users_each(path, NULL, NULL) == 2, "each: NULL callback counts");
	CHECK(access(path, F_OK) == 0 && stat(path, &st) == 0 &&
	    (st.st_mode & 0777) == 0600, "delete: mode still 0600");
}

static void
test_foreign_hashes(void)
{
	char line[512], salt[CRYPT_GENSALT_OUTPUT_SIZE], text[2048];
	struct crypt_data cd;
	FILE *fp;

	/* bcrypt made by htpasswd itself. */
	fp = popen("htpasswd -nbB dave 'dave pw' 2>/dev/null", "r");
	line[0] = '\0';
	if (fp != NULL) {
		if (fgets(line, sizeof(line), fp) == NULL)
			line[0] = '\0';
		pclose(fp);
	}
	CHECK(strncmp(line, "dave:$2y$", 9) == 0, "htpasswd -nbB made a line");
	memset(&cd, 0, sizeof(cd));
	CHECK(crypt_gensalt_rn("$6$", 0, NULL, 0, salt, sizeof(salt)) != NULL,
	    "sha512 salt");
	const char *h6 = crypt_r("erin pw", salt, &cd);
	CHECK(h6 != NULL && strncmp(h6, "$6$", 3) == 0, "sha512-crypt hash");
	snprintf(text, sizeof(text),
	    "# a comment:with colon\n"
	    "\n"
	    "%s"
	    "erin:%s\n"
	    "des:abJnggxhB/yWI\n"
	    "md5:$1$saltsalt$qjXMvbEw8oaL.CzflDugX/\n"
	    "sha256:$5$saltsalt$Gcm6FsVtF/Qa77ZKD.iwsJlCVPY0XSMgLJL0Hnww/c1\n"
	    "plain:hunter2\n"
	    "empty:\n"
	    "crlf:%s\r\n",
	    line, h6 != NULL ? h6 : "", h6 != NULL ? h6 : "");
	write_file(path, text);
	CHECK(users_verify(path, "dave", "dave pw") == LC_USERS_OK,
	    "bcrypt from htpasswd verifies");
	CHECK(users_verify(path, "dave", "dave pW") == LC_USERS_DENIED,
	    "bcrypt wrong password denied");
	CHECK(users_verify(path, "erin", "erin pw") == LC_USERS_OK,
	    "sha512-crypt verifies");
	CHECK(users_verify(path, "erin", "erin") == LC_USERS_DENIED,
	    "sha512-crypt wrong password denied");
	CHECK(users_verify(path, "des", "test") == LC_USERS_BAD_HASH,
	    "DES hash refused");
	CHECK(users_verify(path, "md5", "password") == LC_USERS_BAD_HASH,
	    "$1$ md5 hash refused");
	CHECK(users_verify(path, "sha256", "password") == LC_USERS_BAD_HASH,
	    "$5$ sha256 hash refused");
	CHECK(users_verify(path, "plain", "hunter2") == LC_USERS_BAD_HASH,
	    "plain-text password refused");
	CHECK(users_verify(path, "empty", "") != LC_USERS_OK,
	    "empty hash refused");
	CHECK(users_verify(path, "crlf", "erin pw") == LC_USERS_OK,
	    "CRLF line verifies");
	CHECK(users_hash_kind_ok("$2a$x") && users_hash_kind_ok("$2b$x") &&
	    users_hash_kind_ok("$2y$x") && users_hash_kind_ok("$6$x") &&
	    !users_hash_kind_ok("$2x$x") && !users_hash_kind_ok("$1$x") &&
	    !users_hash_kind_ok("$5$x") && !users_hash_kind_ok("") &&
	    !users_hash_kind_ok("y$"), "hash kinds");
	struct names n = { 0, "", 0 };
	CHECK(users_each(path, collect, &n) == 8, "each: skips comment/blank");
	CHECK_STR(n.list, "dave,erin,des,md5,sha256,plain,empty,crlf,",
	    "each: names in file order");

	/* A rewrite keeps comments and CRLF neighbours, fixes a last line
	 * without a newline. */
	write_file(path, "# keep me\r\nerin:$6$x\r\nlast:$6$y");
	CHECK(users_set(path, "new", "$6$z", 1, 0) == LC_USERS_OK,
	    "set: add to a file without final newline");
	CHECK_STR(read_file(path), "# keep me\r\nerin:$6$x\r\nlast:$6$y\nnew:$6$z\n",
	    "set: other lines kept byte for byte");
	CHECK(users_set(path, "erin", "$6$w", 0, 1) == LC_USERS_OK,
	    "set: replace a CRLF line");
	CHECK_STR(read_file(path), "# keep me\r\nerin:$6$w\nlast:$6$y\nnew:$6$z\n",
	    "set: CRLF line replaced");
}

static void
test_long_and_missing(void)
{
	char text[4096], missing[160];
	size_t n;

	/* An over-long line: 1500 x, a colon, 600 y. */
	n = (size_t)snprintf(text, sizeof(text), "long:");
	memset(text + n, 'x', 1500);
	n += 1500;
	text[n++] = ':';
	memset(text + n, 'y', 600);
	n += 600;
	char ah[256];
	if (users_hash("alice pw", ah, sizeof(ah)) != LC_USERS_OK)
		ah[0] = '\0';
	snprintf(text + n, sizeof(text) - n, "\nalice:%s\n", ah);
	write_file(path, text);
	CHECK(users_verify(path, "long", "x") != LC_USERS_OK,
	    "long line: user on it not accepted");
	CHECK(users_verify(path, "alice", "alice pw") == LC_USERS_OK,
	    "long line: skipped, the next user verifies");
	CHECK(users_verify(path, "alice", "x") == LC_USERS_DENIED,
	    "long line: the next user's wrong password denied");
	struct names nm = { 0, "", 0 };
	int count = users_each(path, collect, &nm);
	CHECK(count == 1 && nm.bad == 0 && strcmp(nm.list, "alice,") == 0,
	    "long line: skipped by each, no fragment reported as a user");
	if (nm.bad != 0)
		printf("#   users_each returned %d, names %.60s...\n", count,
		    nm.list);
	CHECK(users_set(path, "bob", "$6$b", 1, 0) == LC_USERS_OK,
	    "long line: a rewrite goes on");
	{
		/* The long line is kept byte for byte, still ignored. */
		char want[8192];
		snprintf(want, sizeof(want), "%sbob:$6$b\n", text);
		CHECK_STR(read_file(path), want,
		    "long line: kept whole, the new user appended");
		CHECK(users_each(path, NULL, NULL) == 2,
		    "long line: still not a user after the rewrite");
	}

	CHECK(nul_last_line_safe(path), "NUL last line: verify and each safe");
	{
		/* A NUL line stays ignored through a rewrite (it used to be
		 * written back cut at the NUL, becoming a live entry). */
		static const char nul_text[] = "mallory:$6$x\0junk";
		FILE *fp = fopen(path, "w");
		if (fp != NULL) {
			fwrite(nul_text, 1, sizeof(nul_text) - 1, fp);
			fclose(fp);
		}
		CHECK(users_set(path, "carol", "$6$c", 1, 0) == LC_USERS_OK &&
		    users_each(path, NULL, NULL) == 1,
		    "NUL line: rewrite keeps it out of the users");
	}

	snprintf(missing, sizeof(missing), "%s/none/users", dir);
	CHECK(users_verify(missing, "alice", "x") == LC_USERS_IO,
	    "missing file: verify -> IO");
	CHECK(users_each(missing, collect, &nm) == 0, "missing file: each -> 0");
	CHECK(users_set(missing, "alice", "$6$x", 1, 0) == LC_USERS_IO,
	    "missing directory: set -> IO");
	CHECK(users_verify(dir, "alice", "x") == LC_USERS_IO,
	    "directory: verify -> IO");
	CHECK(users_each(dir, NULL, NULL) == LC_USERS_IO,
	    "directory: each -> IO");
	snprintf(missing, sizeof(missing), "%s/fresh", dir);
	CHECK(users_delete(missing, "alice") == LC_USERS_NOT_FOUND,
	    "missing file: delete -> NOT_FOUND");
	CHECK(users_set(missing, "alice", "$6$x", 0, 1) == LC_USERS_NOT_FOUND,
	    "missing file: passwd -> NOT_FOUND");
	CHECK(users_set(missing, "alice", "$6$x", 1, 0) == LC_USERS_OK,
	    "missing file: add creates it");
	CHECK_STR(read_file(missing), "alice:$6$x\n", "created file content");
	CHECK(strcmp(users_strerror(LC_USERS_EXISTS), "user already exists") ==
	    0 && users_strerror(999) != NULL, "users_strerror");
}

static void
test_rehash(void)
{
	char low[256], def[256], high[256], text[2048], line[512];
	FILE *fp;

	CHECK(users_hash_cost("pw", 3, low, sizeof(low)) == LC_USERS_OK &&
	    strncmp(low, "$y$j7T$", 7) == 0, "hash at cost 3");
	CHECK(users_hash_cost("pw", 0, def, sizeof(def)) == LC_USERS_OK &&
	    strncmp(def, "$y$j9T$", 7) == 0, "hash at the default cost");
	CHECK(users_hash_cost("pw", 7, high, sizeof(high)) == LC_USERS_OK &&
	    strncmp(high, "$y$jBT$", 7) == 0, "hash at cost 7");
	CHECK(users_hash_cost("pw", 12, high, sizeof(high)) ==
	    LC_USERS_BAD_INPUT, "cost over the maximum refused");
	CHECK(users_hash_weaker("$2y$05$rKfa/3bCpxf9q26FXbdmdet8PuApF/48LoYVS2q"
	    "dYGKuLpCeTgUZ2", 5), "rehash: bcrypt is weaker");
	CHECK(users_hash_weaker("$6$salt$hash", 5), "rehash: sha512 is weaker");
	CHECK(users_hash_weaker(low, 5), "rehash: yescrypt cost 3 < 5");
	CHECK(!users_hash_weaker(def, 5), "rehash: yescrypt at the cost is not");
	CHECK(!users_hash_weaker(def, 0), "rehash: cost 0 is the default");
	CHECK(!users_hash_weaker(high, 5), "rehash: a stronger one is kept");
	CHECK(users_hash_weaker(def, 7), "rehash: default < configured 7");
	CHECK(!users_hash_weaker("$y$zzz$salt$hash", 5),
	    "rehash: unknown yescrypt parameters left alone");
	CHECK(!users_hash_weaker("abJnggxhB/yWI", 5), "rehash: DES never");

	fp = popen("htpasswd -nbB dave 'dave pw' 2>/dev/null", "r");
	line[0] = '\0';
	if (fp != NULL) {
		if (fgets(line, sizeof(line), fp) == NULL)
			line[0] = '\0';
		pclose(fp);
	}
	snprintf(text, sizeof(text), "# users: keep me\nalice:%s\n%s# end\n",
	    def, line);
	write_file(path, text);
	CHECK(users_upgrade(path, "dave", "wrong", 5) == LC_USERS_CHANGED,
	    "upgrade: a wrong password writes nothing");
	CHECK_STR(read_file(path), text, "upgrade: file untouched");
	CHECK(users_upgrade(path, "alice", "pw", 5) == 0,
	    "upgrade: nothing to do at the cost");
	CHECK(users_upgrade(path, "dave", "dave pw", 5) == 1,
	    "upgrade: bcrypt rehashed");
	const char *now = read_file(path);
	char want[2048];
	snprintf(want, sizeof(want), "# users: keep me\nalice:%s\ndave:$y$j9T$",
	    def);
	CHECK(strncmp(now, want, strlen(want)) == 0 &&
	    strstr(now, "\n# end\n") != NULL && strstr(now, "$2y$") == NULL,
	    "upgrade: only that line changed, comments kept");
	CHECK(users_verify(path, "dave", "dave pw") == LC_USERS_OK,
	    "upgrade: the password still works");
	CHECK(users_upgrade(path, "dave", "dave pw", 5) == 0,
	    "upgrade: once only");
	CHECK(users_upgrade(path, "nobody", "x", 5) == LC_USERS_NOT_FOUND,
	    "upgrade: unknown user");
	long long ns = users_check_ns(5);
	CHECK(ns > 100000 && ns < 5000000000LL, "check_ns: a plausible time");
	CHECK(users_check_ns(99) == -1, "check_ns: bad cost");
}

int
main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/lc-users-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(path, sizeof(path), "%s/users", dir);
	test_hash_and_set();
	test_foreign_hashes();
	test_long_and_missing();
	test_rehash();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	UNIT_EXIT();
}
