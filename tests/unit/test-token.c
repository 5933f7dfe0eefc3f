/* test-token.c - unit tests of lib/token.c: key files, HS256 tokens. */
#include <errno.h>
#include <fcntl.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "b64url.h"
#include "token.h"
#include "unit.h"

static char dir[64];

#define TSID "0123456789abcdef0123456789abcdef"
#define TPWV "00112233aabbccdd"

/* Writes n bytes of value c into dir/name with the given mode. */
static void
write_key(const char *path, size_t n, int c, mode_t mode)
{
	unsigned char bytes[1024];
	int fd;

	unlink(path);
	memset(bytes, c, sizeof(bytes));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, bytes, n) != (ssize_t)n) {
		perror(path);
		exit(2);
	}
	close(fd);
	chmod(path, mode);
}

/* b64url(TEXT) into out (a test's buffer, big enough). */
static void
b64url(const char *text, char *out, size_t cap)
{
	if (b64url_encode(text, strlen(text), out, cap) < 0) {
		fprintf(stderr, "b64url: %zu bytes of room are too few\n", cap);
		exit(2);
	}
}

/* A token signed by libjwt with alg over the grants in json (malloc'd). */
static char *
make_jwt(const struct lc_token_key *key, jwt_alg_t alg, const char *json)
{
	jwt_t *jwt = NULL;
	char *s = NULL;

	if (jwt_new(&jwt) != 0)
		return NULL;
	if (jwt_add_grants_json(jwt, json) == 0 &&
	    jwt_set_alg(jwt, alg, key->bytes, (int)key->len) == 0)
		s = jwt_encode_str(jwt);
	jwt_free(jwt);
	return s;
}

static int
verify(const struct lc_token_key *key, const char *tok, time_t now)
{
	char user[LC_USER_MAX + 1];
	return token_verify(key, tok, now, user, NULL, NULL, NULL);
}

static void
test_keys(struct lc_token_key *key, struct lc_token_key *other)
{
	char path[128], err[256];
	struct stat st;

	snprintf(path, sizeof(path), "%s/missing.key", dir);
	err[0] = '\0';
	CHECK(token_key_load(path, key, err, sizeof(err)) == -1,
	    "key load: missing file refused");
	CHECK(err[0] != '\0', "key load: missing file sets err");

	snprintf(path, sizeof(path), "%s/k644", dir);
	write_key(path, 64, 'a', 0644);
	err[0] = '\0';
	CHECK(token_key_load(path, key, err, sizeof(err)) == -1,
	    "key load: mode 0644 refused");
	CHECK(strstr(err, "mode") != NULL, "key load: 0644 error names mode");
	chmod(path, 0640);
	CHECK(token_key_load(path, key, err, sizeof(err)) == -1,
	    "key load: mode 0640 refused");

	snprintf(path, sizeof(path), "%s/k31", dir);
	write_key(path, LC_TOKEN_KEY_MIN - 1, 'b', 0600);
	CHECK(token_key_load(path, key, err, sizeof(err)) == -1,
	    "key load: 31 bytes refused");
	write_key(path, 0, 'b', 0600);
	CHECK(token_key_load(path, key, err, sizeof(err)) == -1,
	    "key load: empty file refused");
	CHECK(key->len == 0, "key load: failed load leaves len 0");
	CHECK(token_key_load(dir, key, err, sizeof(err)) == -1,
	    "key load: directory refused");

	snprintf(path, sizeof(path), "%s/k32", dir);
	write_key(path, LC_TOKEN_KEY_MIN, 'c', 0600);
	CHECK(token_key_load(path, key, err, sizeof(err)) == 0 &&
	    key->len == LC_TOKEN_KEY_MIN, "key load: exactly 32 bytes accepted");

	snprintf(path, sizeof(path), "%s/other", dir);
	write_key(path, 64, 'z', 0400);
	CHECK(token_key_load(path, other, err, sizeof(err)) == 0 &&
	    other->len == 64, "key load: mode 0400 64 bytes accepted");

	snprintf(path, sizeof(path), "%s/k600", dir);
	write_key(path, 64, 'd', 0600);
	CHECK(token_key_load(path, key, err, sizeof(err)) == 0,
	    "key load: 0600 64 bytes accepted");
	CHECK(key->len == 64 && key->bytes[0] == 'd' && key->bytes[63] == 'd',
	    "key load: bytes and len");

	snprintf(path, sizeof(path), "%s/created.key", dir);
	CHECK(token_key_create(path, err, sizeof(err)) == 1,
	    "key create: returns 1 when created");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	    st.st_size == 64, "key create: 0600, 64 bytes");
	CHECK(token_key_create(path, err, sizeof(err)) == 0,
	    "key create: returns 0 the second time");
	CHECK(stat(path, &st) == 0 && st.st_size == 64,
	    "key create: second call leaves the file");
	snprintf(path, sizeof(path), "%s/nodir/x.key", dir);
	err[0] = '\0';
	CHECK(token_key_create(path, err, sizeof(err)) == -1 && err[0] != '\0',
	    "key create: missing directory is -1 with err");
}

static void
test_round_trip(const struct lc_token_key *key,
    const struct lc_token_key *other)
{
	time_t now = 1700000000;
	char user[LC_USER_MAX + 1];
	long exp = 0;
	char *tok = token_issue(key, "alice@example.org", TSID, TPWV, 3600, now);

	CHECK(tok != NULL, "issue: token made");
	if (tok == NULL)
		return;
	CHECK(token_verify(key, tok, now, user, &exp, NULL, NULL) == LC_TOKEN_OK,
	    "verify: round trip ok");
	CHECK_STR(user, "alice@example.org", "verify: user copied");
	char sid[LC_SID_LEN + 1], pwv[LC_PWV_LEN + 1];
	CHECK(token_verify(key, tok, now, user, NULL, sid, pwv) == LC_TOKEN_OK,
	    "verify: with sid and pwv out");
	CHECK_STR(sid, TSID, "verify: sid returned");
	CHECK_STR(pwv, TPWV, "verify: pwv returned");
	CHECK(token_issue(key, "alice", "xyz", TPWV, 60, now) == NULL,
	    "issue: a sid of the wrong shape refused");
	CHECK(token_issue(key, "alice", TSID, "0011", 60, now) == NULL,
	    "issue: a pwv of the wrong shape refused");
	CHECK(exp == now + 3600, "verify: exp returned");
	/* The other side: libjwt reads ours as the HS256 JWT it is. */
	jwt_t *jwt = NULL;
	int dec = jwt_decode(&jwt, tok, key->bytes, (int)key->len);
	CHECK(dec == 0 && jwt_get_alg(jwt) == JWT_ALG_HS256,
	    "libjwt verifies an issued token as HS256");
	CHECK(dec == 0 && jwt_get_grant(jwt, "sub") != NULL &&
	    strcmp(jwt_get_grant(jwt, "sub"), "alice@example.org") == 0 &&
	    jwt_get_grant_int(jwt, "exp") == now + 3600 &&
	    jwt_get_grant_int(jwt, "iat") == now &&
	    strcmp(jwt_get_grant(jwt, "sid"), TSID) == 0 &&
	    strcmp(jwt_get_grant(jwt, "purpose"), "lightchat-session") == 0,
	    "libjwt reads the issued token's claims");
	jwt_free(jwt);
	jwt = NULL;
	CHECK(jwt_decode(&jwt, tok, other->bytes, (int)other->len) != 0,
	    "libjwt refuses the issued token under another key");
	jwt_free(jwt);
	CHECK(token_verify(key, tok, now + 10, user, NULL, NULL, NULL) == LC_TOKEN_OK,
	    "verify: exp pointer may be NULL");
	CHECK(verify(key, tok, now + 3599) == LC_TOKEN_OK,
	    "verify: one second before exp ok");
	CHECK(verify(key, tok, now + 3600) == LC_TOKEN_EXPIRED,
	    "verify: at exp expired");
	CHECK(token_verify(key, tok, now + 100000000, user, &exp, NULL, NULL) ==
	    LC_TOKEN_EXPIRED, "verify: far future expired");
	CHECK(user[0] == '\0', "verify: expired leaves user empty");
	CHECK(verify(key, tok, now - 3600) == LC_TOKEN_BAD_CLAIMS,
	    "verify: issued an hour in the future refused");
	CHECK(verify(other, tok, now) == LC_TOKEN_BAD_SIGNATURE,
	    "verify: another key is bad signature");

	/* Replace the payload with one naming another user. */
	char forged[4096], payload[512];
	const char *claims = "{\"sid\":\"" TSID "\",\"pwv\":\"" TPWV "\","
	    "\"sub\":\"admin\",\"purpose\":\"lightchat-session\","
	    "\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700003600}";
	const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
	b64url(claims, payload, sizeof(payload));
	snprintf(forged, sizeof(forged), "%.*s.%s%s", (int)(d1 - tok), tok,
	    payload, d2);
	CHECK(verify(key, forged, now) == LC_TOKEN_BAD_SIGNATURE,
	    "verify: swapped payload refused");
	snprintf(forged, sizeof(forged), "%s", tok);
	size_t mid = (size_t)(d1 - tok) + 3;
	forged[mid] = forged[mid] == 'A' ? 'B' : 'A';
	CHECK(verify(key, forged, now) != LC_TOKEN_OK,
	    "verify: flipped payload character refused");
	snprintf(forged, sizeof(forged), "%s", tok);
	mid = (size_t)(d2 - tok) + 5;
	forged[mid] = forged[mid] == 'A' ? 'B' : 'A';
	CHECK(verify(key, forged, now) == LC_TOKEN_BAD_SIGNATURE,
	    "verify: flipped signature character refused");
	snprintf(forged, sizeof(forged), "%.*s.", (int)(d2 - tok), tok);
	CHECK(verify(key, forged, now) != LC_TOKEN_OK,
	    "verify: stripped signature refused");
	free(tok);
}

static void
test_forged(const struct lc_token_key *key)
{
	time_t now = 1700000000;
	const char *good = "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\",\"purpose\":\"lightchat-session\","
	    "\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700003600}";
	struct { const char *json; const char *name; } bad[] = {
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"purpose\":\"lightchat-session\",\"iat\":1700000000,"
		  "\"nbf\":1700000000,\"exp\":1700003600}", "missing sub" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\",\"iat\":1700000000,\"nbf\":1700000000,"
		  "\"exp\":1700003600}", "missing purpose" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\",\"purpose\":\"other\",\"iat\":1700000000,"
		  "\"nbf\":1700000000,\"exp\":1700003600}", "wrong purpose" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\",\"purpose\":\"lightchat-session\","
		  "\"iat\":1700000000,\"nbf\":1700000000}", "missing exp" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\",\"purpose\":\"lightchat-session\","
		  "\"nbf\":1700000000,\"exp\":1700003600}", "missing iat" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"../etc\",\"purpose\":\"lightchat-session\","
		  "\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700003600}",
		  "invalid sub" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		  "aaaaaaaaaaaa\",\"purpose\":\"lightchat-session\","
		  "\"iat\":1700000000,\"nbf\":1700000000,\"exp\":1700003600}",
		  "65-byte sub" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\",\"purpose\":\"lightchat-session\","
		  "\"iat\":1700000000,\"nbf\":1700001000,\"exp\":1700003600}",
		  "nbf in the future" },
		{ "{\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\","
		  "\"purpose\":\"lightchat-session\",\"iat\":1700000000,"
		  "\"nbf\":1700000000,\"exp\":1700003600}", "missing sid" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"sub\":\"bob\","
		  "\"purpose\":\"lightchat-session\",\"iat\":1700000000,"
		  "\"nbf\":1700000000,\"exp\":1700003600}", "missing pwv" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdeX\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\","
		  "\"purpose\":\"lightchat-session\",\"iat\":1700000000,"
		  "\"nbf\":1700000000,\"exp\":1700003600}", "sid not hex" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\","
		  "\"purpose\":\"lightchat-session\",\"iat\":1700000000,"
		  "\"nbf\":1700000000,\"exp\":\"1700003600\"}", "exp a string" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\","
		  "\"purpose\":\"lightchat-session\",\"iat\":1700000000,"
		  "\"nbf\":1700000000,\"exp\":1700003600.5}", "exp not whole" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\","
		  "\"purpose\":\"lightchat-session\",\"iat\":1700000000,"
		  "\"nbf\":\"soon\",\"exp\":1700003600}", "nbf a string" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":\"bob\","
		  "\"purpose\":\"lightchat-session\",\"iat\":1700000000,"
		  "\"nbf\":1700000000,\"exp\":1e300}", "exp out of range" },
		{ "{\"sid\":\"0123456789abcdef0123456789abcdef\",\"pwv\":\"00112233aabbccdd\",\"sub\":[\"bob\"],"
		  "\"purpose\":\"lightchat-session\",\"iat\":1700000000,"
		  "\"nbf\":1700000000,\"exp\":1700003600}", "sub an array" },
	};
	char name[128], *tok;

	tok = make_jwt(key, JWT_ALG_HS256, good);
	CHECK(tok != NULL && verify(key, tok, now) == LC_TOKEN_OK,
	    "libjwt-made HS256 token with all claims accepted");
	free(tok);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		tok = make_jwt(key, JWT_ALG_HS256, bad[i].json);
		snprintf(name, sizeof(name), "claims: %s -> BAD_CLAIMS",
		    bad[i].name);
		CHECK(tok != NULL && verify(key, tok, now) == LC_TOKEN_BAD_CLAIMS,
		    name);
		free(tok);
	}
	tok = make_jwt(key, JWT_ALG_HS512, good);
	CHECK(tok != NULL && verify(key, tok, now) == LC_TOKEN_BAD_ALG,
	    "HS512 token with the same key -> BAD_ALG");
	free(tok);
	tok = make_jwt(key, JWT_ALG_HS384, good);
	CHECK(tok != NULL && verify(key, tok, now) == LC_TOKEN_BAD_ALG,
	    "HS384 token with the same key -> BAD_ALG");
	free(tok);

	/* Tokens no key signed: a header, good's claims, a signature. */
	enum { REFUSED = 1 };   /* the token errors are 0 and below */
	static const struct {
		const char *hdr, *sig;
		int want;             /* REFUSED: anything but LC_TOKEN_OK */
		const char *name;
	} unsigned_tokens[] = {
		{ "{\"alg\":\"none\",\"typ\":\"JWT\"}", "", REFUSED,
		  "alg none token refused" },
		{ "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", "", LC_TOKEN_BAD_SIGNATURE,
		  "HS256 header with empty signature -> BAD_SIGNATURE" },
		{ "{\"typ\":\"JWT\"}", "AAAA", LC_TOKEN_BAD_ALG,
		  "a header without alg -> BAD_ALG" },
		{ "[\"HS256\"]", "AAAA", LC_TOKEN_MALFORMED,
		  "a header that is not an object -> MALFORMED" },
		{ "{\"alg\":\"HS256\"} x", "AAAA", LC_TOKEN_MALFORMED,
		  "a header with text after its JSON -> MALFORMED" },
	};
	char h[128], p[512], t[1024];
	b64url(good, p, sizeof(p));
	for (size_t i = 0; i < sizeof(unsigned_tokens) / sizeof(unsigned_tokens[0]);
	    i++) {
		b64url(unsigned_tokens[i].hdr, h, sizeof(h));
		snprintf(t, sizeof(t), "%s.%s.%s", h, p, unsigned_tokens[i].sig);
		int rc = verify(key, t, now);
		printf("# %s: %s\n", unsigned_tokens[i].hdr, token_strerror(rc));
		CHECK(unsigned_tokens[i].want == REFUSED ? rc != LC_TOKEN_OK :
		    rc == unsigned_tokens[i].want, unsigned_tokens[i].name);
	}
}

static void
test_malformed(const struct lc_token_key *key)
{
	char user[LC_USER_MAX + 1];
	char *big;
	size_t n;

	big = malloc(LC_TOKEN_MAX + 2);
	memset(big, 'a', LC_TOKEN_MAX + 1);
	big[10] = '.';
	big[20] = '.';
	big[LC_TOKEN_MAX + 1] = '\0';
	CHECK(verify(key, big, 1700000000) == LC_TOKEN_MALFORMED,
	    "LC_TOKEN_MAX+1 chars -> MALFORMED");
	big[LC_TOKEN_MAX] = '\0';
	/* It passes the shape check, and libjwt then finds it is no JWT. */
	CHECK(verify(key, big, 1700000000) == LC_TOKEN_MALFORMED,
	    "LC_TOKEN_MAX chars of junk: refused as malformed, no crash");
	free(big);

	n = 9u * 1024 * 1024;
	big = malloc(n + 1);
	memset(big, 'A', n);
	big[100] = '.';
	big[n - 100] = '.';
	big[n] = '\0';
	strcpy(user, "junk");
	CHECK(token_verify(key, big, 1700000000, user, NULL, NULL, NULL) ==
	    LC_TOKEN_MALFORMED, "9 MB token -> MALFORMED, no crash");
	CHECK(user[0] == '\0', "9 MB token: user emptied");
	free(big);

	const char *shapes[] = {
		"", "abc", "a.b", "a.b.c.d", "a.b.c=", "a b.c.d", "a.b.c\n",
		"a+b.c.d", "a/b.c.d", "\xc3\xa9.b.c", "a.b.c%00", "..x.",
	};
	for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		char name[96];
		snprintf(name, sizeof(name), "shape #%zu -> MALFORMED", i);
		CHECK(verify(key, shapes[i], 1700000000) == LC_TOKEN_MALFORMED,
		    name);
	}
	CHECK(token_verify(key, NULL, 1700000000, user, NULL, NULL, NULL) ==
	    LC_TOKEN_MALFORMED, "NULL token -> MALFORMED");
	/* Right alphabet and shape, but not a JWT at all. */
	CHECK(verify(key, "abc.def.ghi", 1700000000) == LC_TOKEN_MALFORMED,
	    "three base64url words that are not a JWT -> MALFORMED");
	CHECK(strcmp(token_strerror(LC_TOKEN_EXPIRED), "token expired") == 0 &&
	    token_strerror(12345) != NULL, "token_strerror");
}

static void
test_names(void)
{
	char n64[LC_USER_MAX + 2];

	CHECK(username_valid("alice"), "name: alice");
	CHECK(username_valid("a"), "name: one letter");
	CHECK(username_valid("A.b_c@d-e9"), "name: all allowed classes");
	CHECK(username_valid("bob-"), "name: trailing dash");
	memset(n64, 'x', LC_USER_MAX);
	n64[LC_USER_MAX] = '\0';
	CHECK(username_valid(n64), "name: 64 bytes");
	n64[LC_USER_MAX] = 'x';
	n64[LC_USER_MAX + 1] = '\0';
	CHECK(!username_valid(n64), "name: 65 bytes refused");
	CHECK(!username_valid(""), "name: empty refused");
	CHECK(!username_valid(NULL), "name: NULL refused");
	CHECK(!username_valid("-bob"), "name: leading dash refused");
	CHECK(!username_valid("a b"), "name: space refused");
	CHECK(!username_valid("a:b"), "name: colon refused");
	CHECK(!username_valid("a/b"), "name: slash refused");
	CHECK(!username_valid("a\nb"), "name: newline refused");
	CHECK(!username_valid("caf\xc3\xa9"), "name: non-ASCII refused");
}

int
main(void)
{
	struct lc_token_key key, other;
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/lc-token-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	test_keys(&key, &other);
	test_round_trip(&key, &other);
	test_forged(&key);
	test_malformed(&key);
	test_names();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	UNIT_EXIT();
}
