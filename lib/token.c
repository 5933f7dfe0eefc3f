/* token.c - HS256 session tokens. */
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_PURPOSE "lightchat-session"
#define TOKEN_SKEW 60   /* seconds of clock difference tolerated */

int
token_key_load(const char *path, struct lc_token_key *key, char *err,
    size_t errcap)
{
	struct stat st;
	ssize_t n;
	int fd = -1, rc = -1;

	key->len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errcap, "token key %s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errcap, "token key %s: not a regular file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errcap,
		    "token key %s: mode %03o, must be 0600 (chmod 600 it)", path,
		    (unsigned)(st.st_mode & 0777));
		goto out;
	}
	n = read(fd, key->bytes, sizeof(key->bytes));
	if (n < 0) {
		snprintf(err, errcap, "token key %s: %s", path, strerror(errno));
		goto out;
	}
	if ((size_t)n < LC_TOKEN_KEY_MIN) {
		/* An empty HS256 key verifies anything: refuse to start. */
		snprintf(err, errcap,
		    "token key %s: %zd bytes, at least %d needed", path, n,
		    LC_TOKEN_KEY_MIN);
		goto out;
	}
	key->len = (size_t)n;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int
token_key_create(const char *path, char *err, size_t errcap)
{
	unsigned char bytes[64];
	int fd = -1, rnd = -1, rc = -1;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		if (errno == EEXIST)
			return 0;
		snprintf(err, errcap, "token key %s: %s", path, strerror(errno));
		return -1;
	}
	rnd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (rnd < 0 || read(rnd, bytes, sizeof(bytes)) != (ssize_t)sizeof(bytes)) {
		snprintf(err, errcap, "/dev/urandom: %s", strerror(errno));
		goto out;
	}
	if (write(fd, bytes, sizeof(bytes)) != (ssize_t)sizeof(bytes) ||
	    fsync(fd) != 0) {
		snprintf(err, errcap, "token key %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 1;
out:
	explicit_bzero(bytes, sizeof(bytes));
	if (rnd >= 0)
		close(rnd);
	if (fd >= 0)
		close(fd);
	if (rc < 0)
		unlink(path);
	return rc;
}

int
token_key_rotate(const char *path, char *err, size_t errcap)
{
	char tmp[4096];

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= sizeof(tmp)) {
		snprintf(err, errcap, "token key %s: path too long", path);
		return -1;
	}
	unlink(tmp);   /* a leftover of an interrupted rotation */
	if (token_key_create(tmp, err, errcap) != 1)
		return -1;
	if (rename(tmp, path) != 0) {
		snprintf(err, errcap, "token key %s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

int
token_key_refresh(const char *path, struct lc_token_key *key,
    struct lc_token_key_stamp *stamp, time_t now, char *err, size_t errcap)
{
	struct lc_token_key fresh;
	struct stat st;
	int first = !stamp->set;

	if (stamp->set && stamp->checked == now)
		return 0;
	stamp->checked = now;
	if (stat(path, &st) != 0) {
		snprintf(err, errcap, "token key %s: %s", path, strerror(errno));
		return -1;
	}
	if (stamp->set && stamp->dev == st.st_dev && stamp->ino == st.st_ino &&
	    stamp->size == st.st_size &&
	    stamp->mtime.tv_sec == st.st_mtim.tv_sec &&
	    stamp->mtime.tv_nsec == st.st_mtim.tv_nsec)
		return 0;
	stamp->set = 1;
	stamp->dev = st.st_dev;
	stamp->ino = st.st_ino;
	stamp->size = st.st_size;
	stamp->mtime = st.st_mtim;
	if (first)
		return 0;
	if (token_key_load(path, &fresh, err, errcap) != 0) {
		explicit_bzero(&fresh, sizeof(fresh));
		return -1;
	}
	*key = fresh;
	explicit_bzero(&fresh, sizeof(fresh));
	return 1;
}

/* Returns 1 if s is exactly len lowercase hex digits. */
static int
hex_of_len(const char *s, size_t len)
{
	size_t n = 0;

	if (s == NULL)
		return 0;
	for (; s[n] != '\0'; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f')))
			return 0;
	return n == len;
}

char *
token_issue(const struct lc_token_key *key, const char *user, const char *sid,
    const char *pwv, long lifetime, time_t now)
{
	jwt_t *jwt = NULL;
	char *out = NULL;

	if (!hex_of_len(sid, LC_SID_LEN) || !hex_of_len(pwv, LC_PWV_LEN))
		return NULL;
	if (jwt_new(&jwt) != 0)
		return NULL;
	if (jwt_add_grant(jwt, "sub", user) != 0 ||
	    jwt_add_grant(jwt, "sid", sid) != 0 ||
	    jwt_add_grant(jwt, "pwv", pwv) != 0 ||
	    jwt_add_grant(jwt, "purpose", TOKEN_PURPOSE) != 0 ||
	    jwt_add_grant_int(jwt, "iat", (long)now) != 0 ||
	    jwt_add_grant_int(jwt, "nbf", (long)now) != 0 ||
	    jwt_add_grant_int(jwt, "exp", (long)now + lifetime) != 0 ||
	    jwt_set_alg(jwt, JWT_ALG_HS256, key->bytes, (int)key->len) != 0)
		goto out;
	out = jwt_encode_str(jwt);  /* malloc'd by libjwt 1.10: free() it */
out:
	jwt_free(jwt);
	return out;
}

/* Checks length and the base64url/dot alphabet before libjwt sees it. */
static int
token_shape_ok(const char *token)
{
	size_t n = 0, dots = 0;

	for (const char *p = token; *p; p++, n++) {
		char c = *p;
		if (n >= LC_TOKEN_MAX)
			return 0;
		if (c == '.')
			dots++;
		else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return 0;
	}
	return n > 0 && dots == 2;
}

int
token_verify(const struct lc_token_key *key, const char *token, time_t now,
    char user[LC_USER_MAX + 1], long *exp_out, char *sid_out, char *pwv_out)
{
	jwt_t *jwt = NULL;
	int rc;

	user[0] = '\0';
	if (token == NULL || !token_shape_ok(token))
		return LC_TOKEN_MALFORMED;
	errno = 0;
	if (jwt_decode(&jwt, token, key->bytes, (int)key->len) != 0) {
		rc = errno == ENOMEM ? LC_TOKEN_NOMEM : LC_TOKEN_BAD_SIGNATURE;
		/* Tell a forgery from junk, for the log: decoding without a key
		 * (never trusted) fails only when it is not a JWT at all. */
		if (rc == LC_TOKEN_BAD_SIGNATURE &&
		    jwt_decode(&jwt, token, NULL, 0) != 0)
			rc = LC_TOKEN_MALFORMED;
		goto out;
	}
	if (jwt_get_alg(jwt) != JWT_ALG_HS256) {
		rc = LC_TOKEN_BAD_ALG;
		goto out;
	}
	const char *sub = jwt_get_grant(jwt, "sub");
	const char *purpose = jwt_get_grant(jwt, "purpose");
	long exp = jwt_get_grant_int(jwt, "exp");
	long iat = jwt_get_grant_int(jwt, "iat");
	long nbf = jwt_get_grant_int(jwt, "nbf");
	const char *sid = jwt_get_grant(jwt, "sid");
	const char *pwv = jwt_get_grant(jwt, "pwv");
	if (!hex_of_len(sid, LC_SID_LEN) || !hex_of_len(pwv, LC_PWV_LEN) ||
	    sub == NULL || !username_valid(sub) || purpose == NULL ||
	    strcmp(purpose, TOKEN_PURPOSE) != 0 || exp <= 0 || iat <= 0 ||
	    iat > (long)now + TOKEN_SKEW || nbf > (long)now + TOKEN_SKEW) {
		rc = LC_TOKEN_BAD_CLAIMS;
		goto out;
	}
	if (exp <= (long)now) {
		rc = LC_TOKEN_EXPIRED;
		goto out;
	}
	memcpy(user, sub, strlen(sub) + 1);
	if (exp_out != NULL)
		*exp_out = exp;
	if (sid_out != NULL)
		memcpy(sid_out, sid, LC_SID_LEN + 1);
	if (pwv_out != NULL)
		memcpy(pwv_out, pwv, LC_PWV_LEN + 1);
	rc = LC_TOKEN_OK;
out:
	jwt_free(jwt);
	return rc;
}

const char *
token_strerror(int err)
{
	switch (err) {
	case LC_TOKEN_OK: return "ok";
	case LC_TOKEN_MALFORMED: return "malformed token";
	case LC_TOKEN_BAD_SIGNATURE: return "bad signature";
	case LC_TOKEN_BAD_ALG: return "algorithm not HS256";
	case LC_TOKEN_EXPIRED: return "token expired";
	case LC_TOKEN_BAD_CLAIMS: return "bad claims";
	case LC_TOKEN_NOMEM: return "out of memory";
	case LC_TOKEN_REVOKED: return "session ended";
	case LC_TOKEN_UNAVAILABLE: return "session not checked: database error";
	}
	return "unknown token error";
}
