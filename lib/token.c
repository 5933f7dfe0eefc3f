/* token.c - HS256 session tokens: key files, issue, verify. */
#include "token.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "b64url.h"
#include "hmac.h"
#include "json.h"

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

/* The header of every token: base64url of {"alg":"HS256","typ":"JWT"}. */
#define TOKEN_HEADER "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
/* A signature: base64url of 32 bytes. */
#define TOKEN_SIG_CHARS B64URL_LEN(LC_SHA256_LEN)

/* Writes base64url(HMAC-SHA256(key, signed[0..n))) into out. */
static int
sign(const struct lc_token_key *key, const char *signed_part, size_t n,
    char out[TOKEN_SIG_CHARS + 1])
{
	unsigned char mac[LC_SHA256_LEN];
	long w;

	hmac_sha256(key->bytes, key->len, signed_part, n, mac);
	w = b64url_encode(mac, sizeof(mac), out, TOKEN_SIG_CHARS + 1);
	explicit_bzero(mac, sizeof(mac));
	return w == TOKEN_SIG_CHARS ? 0 : -1;
}

char *
token_issue(const struct lc_token_key *key, const char *user, const char *sid,
    const char *pwv, long lifetime, time_t now)
{
	cJSON *claims = NULL;
	char *payload = NULL, *out = NULL;
	size_t plen, hlen = sizeof(TOKEN_HEADER) - 1, cap, n;
	long w;

	if (!hex_of_len(sid, LC_SID_LEN) || !hex_of_len(pwv, LC_PWV_LEN) ||
	    user == NULL || key->len == 0)
		return NULL;
	claims = cJSON_CreateObject();
	if (claims == NULL ||
	    cJSON_AddStringToObject(claims, "sub", user) == NULL ||
	    cJSON_AddStringToObject(claims, "sid", sid) == NULL ||
	    cJSON_AddStringToObject(claims, "pwv", pwv) == NULL ||
	    cJSON_AddStringToObject(claims, "purpose", TOKEN_PURPOSE) == NULL ||
	    cJSON_AddNumberToObject(claims, "iat", (double)now) == NULL ||
	    cJSON_AddNumberToObject(claims, "nbf", (double)now) == NULL ||
	    cJSON_AddNumberToObject(claims, "exp",
	    (double)now + (double)lifetime) == NULL)
		goto out;
	payload = cJSON_PrintUnformatted(claims);
	if (payload == NULL)
		goto out;
	plen = strlen(payload);
	/* header . payload . signature NUL */
	cap = hlen + 1 + B64URL_LEN(plen) + 1 + TOKEN_SIG_CHARS + 1;
	out = malloc(cap);
	if (out == NULL)
		goto out;
	memcpy(out, TOKEN_HEADER ".", hlen + 1);
	n = hlen + 1;
	w = b64url_encode(payload, plen, out + n, cap - n);
	if (w < 0)
		goto fail;
	n += (size_t)w;
	out[n++] = '.';
	if (sign(key, out, n - 1, out + n) != 0)
		goto fail;
	goto out;
fail:
	free(out);
	out = NULL;
out:
	cJSON_free(payload);
	cJSON_Delete(claims);
	return out;
}

/* Checks length and the base64url/dot alphabet before anything decodes it. */
static int
token_shape_ok(const char *token)
{
	size_t n = 0, dots = 0;

	for (const char *p = token; *p; p++, n++) {
		if (n >= LC_TOKEN_MAX)
			return 0;
		if (*p == '.')
			dots++;
		else if (b64url_value((unsigned char)*p) < 0)
			return 0;
	}
	return n > 0 && dots == 2;
}

/* Decodes the base64url JSON object in [p, p + n) (strictly: one value, no
 * NUL, valid UTF-8). Returns it (the caller deletes it) or NULL. */
static cJSON *
part_object(const char *p, size_t n)
{
	unsigned char text[LC_TOKEN_MAX];
	const char *why = NULL;
	cJSON *json;
	long len = b64url_decode(p, n, text, sizeof(text));

	if (len <= 0)
		return NULL;
	json = json_parse_strict((const char *)text, (size_t)len, &why);
	if (json != NULL && !cJSON_IsObject(json)) {
		cJSON_Delete(json);
		json = NULL;
	}
	return json;
}

/* The integer claim name of obj into *out: 1, 0 when it is missing (*out
 * 0), -1 when it is not a whole number within ±2^53. */
static int
claim_int(const cJSON *obj, const char *name, long *out)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
	double d;

	*out = 0;
	if (v == NULL)
		return 0;
	if (!cJSON_IsNumber(v))
		return -1;
	d = v->valuedouble;
	if (!(d >= -9007199254740992.0 && d <= 9007199254740992.0) ||
	    d != (double)(long)d)
		return -1;
	*out = (long)d;
	return 1;
}

int
token_verify(const struct lc_token_key *key, const char *token, time_t now,
    char user[LC_USER_MAX + 1], long *exp_out, char *sid_out, char *pwv_out)
{
	cJSON *header = NULL, *claims = NULL;
	char want[TOKEN_SIG_CHARS + 1];
	long exp, iat, nbf;
	int rc;

	user[0] = '\0';
	if (token == NULL || !token_shape_ok(token))
		return LC_TOKEN_MALFORMED;
	const char *d1 = strchr(token, '.'), *d2 = strrchr(token, '.');
	size_t sig_len = strlen(d2 + 1);
	/* Both parts are decoded before the signature is checked, to tell a
	 * forgery from junk in the log; neither is trusted before it is. */
	header = part_object(token, (size_t)(d1 - token));
	claims = part_object(d1 + 1, (size_t)(d2 - d1 - 1));
	if (header == NULL || claims == NULL) {
		rc = LC_TOKEN_MALFORMED;
		goto out;
	}
	/* Pinned: "none", HS384/HS512 made with the same key, and the rest. */
	const char *alg = json_str(header, "alg");
	if (alg == NULL || strcmp(alg, "HS256") != 0) {
		rc = LC_TOKEN_BAD_ALG;
		goto out;
	}
	if (key->len == 0 || sign(key, token, (size_t)(d2 - token), want) != 0 ||
	    sig_len != TOKEN_SIG_CHARS ||
	    !hmac_equal(want, d2 + 1, TOKEN_SIG_CHARS)) {
		rc = LC_TOKEN_BAD_SIGNATURE;
		goto out;
	}
	const char *sub = json_str(claims, "sub");
	const char *purpose = json_str(claims, "purpose");
	const char *sid = json_str(claims, "sid");
	const char *pwv = json_str(claims, "pwv");
	if (claim_int(claims, "exp", &exp) != 1 ||
	    claim_int(claims, "iat", &iat) != 1 ||
	    claim_int(claims, "nbf", &nbf) < 0 ||
	    !hex_of_len(sid, LC_SID_LEN) || !hex_of_len(pwv, LC_PWV_LEN) ||
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
	explicit_bzero(want, sizeof(want));
	cJSON_Delete(header);
	cJSON_Delete(claims);
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
