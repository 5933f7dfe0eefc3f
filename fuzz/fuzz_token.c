/* fuzz_token.c - lib/token.h: session tokens (HS256 JWTs), with libjwt as the other side.
 *
 * Three things per input, at a fixed time and with a fixed key:
 *  - the input as a token: token_verify must not crash, and succeeds only
 *    with a valid user name and an expiry in the future;
 *  - when the input starts with '{', the input as a JWT's claims, signed by
 *    libjwt with the key as HS256, and as HS384/HS512: the claim checks run
 *    on attacker-chosen claims; HS384/HS512 tokens are never accepted, nor
 *    HS256 ones with a bad sub, purpose, exp, iat or nbf;
 *  - a round trip: a token issued for a name taken from the input verifies
 *    to that name and expiry, not with another key, not once expired, and
 *    not after a byte of its payload changed. */
#include "fuzz.h"

#include <jwt.h>

#include "b64url.h"
#include "token.h"

#define NOW ((time_t)1700000000)

static struct lc_token_key key, other_key;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	key.len = 48;
	for (size_t i = 0; i < key.len; i++)
		key.bytes[i] = (unsigned char)(i * 7 + 3);
	other_key = key;
	other_key.bytes[5] ^= 1;
	return 0;
}

static void
check_verified(int rc, const char *user, long exp)
{
	FUZZ_CHECK(rc <= LC_TOKEN_OK && rc >= LC_TOKEN_NOMEM);
	FUZZ_CHECK(token_strerror(rc) != NULL);
	FUZZ_CHECK(memchr(user, '\0', LC_USER_MAX + 1) != NULL);
	if (rc == LC_TOKEN_OK) {
		FUZZ_CHECK(username_valid(user));
		FUZZ_CHECK(exp > (long)NOW);
	} else {
		FUZZ_CHECK(user[0] == '\0');
	}
}

/* Signs the claims with libjwt and checks what token_verify makes of it. */
static void
check_claims(const char *json)
{
	const jwt_alg_t algs[] = { JWT_ALG_HS256, JWT_ALG_HS384, JWT_ALG_HS512 };

	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		jwt_t *jwt = NULL;
		FUZZ_CHECK(jwt_new(&jwt) == 0);
		if (jwt_add_grants_json(jwt, json) != 0 ||
		    jwt_set_alg(jwt, algs[i], key.bytes, (int)key.len) != 0) {
			jwt_free(jwt);
			return;
		}
		char *token = jwt_encode_str(jwt);
		jwt_free(jwt);
		if (token == NULL)
			return;
		char user[LC_USER_MAX + 1];
		long exp = 0;
		int rc = token_verify(&key, token, NOW, user, &exp, NULL, NULL);
		check_verified(rc, user, exp);
		if (algs[i] != JWT_ALG_HS256)
			FUZZ_CHECK(rc != LC_TOKEN_OK);
		if (rc == LC_TOKEN_OK) {
			/* What libjwt decoded is what we checked. */
			jwt_t *d = NULL;
			FUZZ_CHECK(jwt_decode(&d, token, key.bytes, (int)key.len) == 0);
			const char *purpose = jwt_get_grant(d, "purpose");
			FUZZ_CHECK(purpose != NULL &&
			    strcmp(purpose, "lightchat-session") == 0);
			FUZZ_CHECK(strcmp(jwt_get_grant(d, "sub"), user) == 0);
			FUZZ_CHECK(jwt_get_grant_int(d, "iat") > 0);
			FUZZ_CHECK(jwt_get_grant_int(d, "iat") <= (long)NOW + 60);
			FUZZ_CHECK(jwt_get_grant_int(d, "nbf") <= (long)NOW + 60);
			jwt_free(d);
			FUZZ_CHECK(token_verify(&other_key, token, NOW, user,
			    NULL, NULL, NULL) != LC_TOKEN_OK);
		}
		free(token);
	}
}

static const char b64chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static void
round_trip(const uint8_t *data, size_t size)
{
	char name[LC_USER_MAX + 1] = "alice";
	char user[LC_USER_MAX + 1];
	long exp = 0;

	/* A name from the input: its first bytes, when they make one. */
	size_t n = size < LC_USER_MAX ? size : LC_USER_MAX;
	while (n > 0) {
		memcpy(name, data, n);
		name[n] = '\0';
		if (username_valid(name))
			break;
		n--;
	}
	if (n == 0)
		strcpy(name, "alice");
	long lifetime = 60 + (long)(size * 977 % 2592000);

	char *token = token_issue(&key, name,
	    "0123456789abcdef0123456789abcdef", "0011223344556677", lifetime,
	    NOW);
	FUZZ_CHECK(token != NULL);
	int rc = token_verify(&key, token, NOW, user, &exp, NULL, NULL);
	FUZZ_CHECK(rc == LC_TOKEN_OK);
	FUZZ_CHECK(strcmp(user, name) == 0);
	FUZZ_CHECK(exp == (long)NOW + lifetime);
	FUZZ_CHECK(token_verify(&key, token, NOW + lifetime - 1, user, NULL, NULL, NULL) ==
	    LC_TOKEN_OK);
	FUZZ_CHECK(token_verify(&key, token, NOW + lifetime, user, NULL, NULL, NULL) ==
	    LC_TOKEN_EXPIRED);
	FUZZ_CHECK(token_verify(&other_key, token, NOW, user, NULL, NULL, NULL) ==
	    LC_TOKEN_BAD_SIGNATURE);
	/* Issued in the future (a clock far behind): refused. */
	FUZZ_CHECK(token_verify(&key, token, NOW - 3600, user, NULL, NULL, NULL) ==
	    LC_TOKEN_BAD_CLAIMS);

	/* One payload character changed (its top bit, so the decoded bytes
	 * change): never accepted. */
	char *dot1 = strchr(token, '.');
	char *dot2 = dot1 != NULL ? strchr(dot1 + 1, '.') : NULL;
	FUZZ_CHECK(dot1 != NULL && dot2 != NULL && dot2 - dot1 > 2);
	size_t plen = (size_t)(dot2 - dot1 - 1);
	/* Not the last character, whose low bits may be padding. */
	size_t at = (size > 0 ? data[size - 1] : 0) % (plen - 1);
	char *c = dot1 + 1 + at;
	*c = b64chars[b64url_value((unsigned char)*c) ^ 32];
	FUZZ_CHECK(token_verify(&key, token, NOW, user, NULL, NULL, NULL) != LC_TOKEN_OK);
	free(token);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = fuzz_strndup(data, size);
	char user[LC_USER_MAX + 1];
	long exp = 0;

	int rc = token_verify(&key, s, NOW, user, &exp, NULL, NULL);
	check_verified(rc, user, exp);
	if (strlen(s) > LC_TOKEN_MAX)
		FUZZ_CHECK(rc == LC_TOKEN_MALFORMED);
	if (size > 0 && data[0] == '{')
		check_claims(s);
	round_trip(data, size);
	free(s);
	return 0;
}
