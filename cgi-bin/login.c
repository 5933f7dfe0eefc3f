/* login.c - POST /login (the seed's JSON shapes: a token for a name and a
 * password, within the throttling of login_guard.c and in a constant time,
 * for a new session recorded in the store; "remember" makes it a long one)
 * and POST /logout (ends the presented token's session). The Origin,
 * method and CORS preflight checks declared in routes.c are made by
 * route.c. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "creds.h"
#include "json.h"
#include "log.h"
#include "login_guard.h"
#include "monitor.h"
#include "pages.h"
#include "store.h"
#include "users.h"
#include "users_fp.h"

#define LOGIN_FAILED "Invalid username or password"

/* Answers in the seed's shape: {"isAuthorized","body":{"message","token"}}
 * plus "msg" on failure, which the seed shows as "Error: <status>,<msg>". */
static int
login_reply(struct http_req *r, int status, const char *message,
    const char *token, const char *user, long exp)
{
	cJSON *root = cJSON_CreateObject();
	cJSON *body = cJSON_AddObjectToObject(root, "body");
	int ok = token != NULL, rc;

	if (body == NULL ||
	    cJSON_AddBoolToObject(root, "isAuthorized", ok) == NULL ||
	    cJSON_AddStringToObject(body, "message", message) == NULL ||
	    cJSON_AddStringToObject(body, "token", ok ? token : "") == NULL ||
	    (!ok && cJSON_AddStringToObject(root, "msg", message) == NULL) ||
	    (ok && cJSON_AddStringToObject(root, "username", user) == NULL) ||
	    (ok && cJSON_AddNumberToObject(root, "expires", (double)exp) == NULL)) {
		cJSON_Delete(root);
		return http_send_json(r, 500, NULL);
	}
	rc = http_send_json(r, status, root);
	cJSON_Delete(root);
	return rc;
}

int
login_refuse(struct http_req *r, int status, const char *code,
    const char *message)
{
	(void)code;
	return login_reply(r, status, message, NULL, NULL, 0);
}

/* The least time a password check takes, whatever its outcome: the slower
 * of a yescrypt check at the configured cost and the unknown-user check,
 * measured once per process, plus a margin. Per process on purpose. */
static long long verify_floor_ns;

/* Checks user's password so that an unknown user, a wrong password and a
 * right one against any hash take the same time (at least the floor); then
 * upgrades a weaker hash of a right password to the configured cost.
 * Returns users_verify's code. */
static int
login_verify(struct http_req *r, const char *user, const char *password)
{
	struct timespec until;
	int v;

	if (verify_floor_ns == 0) {
		long long m = users_check_ns((int)r->cfg->password_cost);
		verify_floor_ns = m > 0 ? m + m / 4 + 2000000LL : 100000000LL;
	}
	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += (time_t)(verify_floor_ns / 1000000000LL);
	until.tv_nsec += (long)(verify_floor_ns % 1000000000LL);
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	v = users_verify(r->cfg->users_file, user, password);
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL) ==
	    EINTR)
		;
	if (v != LC_USERS_OK)
		return v;
	int up = users_upgrade(r->cfg->users_file, user, password,
	    (int)r->cfg->password_cost);
	if (up == 1)
		log_info("login: rehashed user=%s to yescrypt cost %ld",
		    user, r->cfg->password_cost);
	else if (up < 0 && up != LC_USERS_CHANGED)
		log_warn("login: could not rehash user=%s: %s", user,
		    users_strerror(up));
	return v;
}

int
page_login(struct http_req *r, const struct route_ctx *ctx)
{
	struct lc_buf body;
	cJSON *json = NULL;
	char *token = NULL;
	int rc, status;
	time_t now = time(NULL);
	const char *result = "bad_request";  /* for /metrics */

	(void)ctx;
	buf_init(&body, (size_t)r->cfg->max_body);
	status = http_read_body(r, &body);
	if (status != 0) {
		rc = login_reply(r, status, status == 413 ? "Request too large" :
		    status == 415 ? "Content-Type must be application/json" :
		    "Bad request", NULL, NULL, 0);
		goto out;
	}
	const char *why = NULL;
	json = json_parse_strict(buf_str(&body), body.len, &why);
	const cJSON *u = cJSON_GetObjectItemCaseSensitive(json, "username");
	const cJSON *p = cJSON_GetObjectItemCaseSensitive(json, "password");
	const cJSON *remember = cJSON_GetObjectItemCaseSensitive(json,
	    "remember");
	if (!cJSON_IsObject(json) || !cJSON_IsString(u) || !cJSON_IsString(p) ||
	    u->valuestring[0] == '\0' || p->valuestring[0] == '\0' ||
	    strlen(p->valuestring) > LC_PASSWORD_MAX) {
		rc = login_reply(r, 400,
		    "Send JSON {\"username\":\"…\",\"password\":\"…\"}", NULL,
		    NULL, 0);
		goto out;
	}
	struct login_guard guard;
	long retry = guard_check(r, u->valuestring, &guard);
	if (retry > 0) {
		char msg[96];
		log_warn("login rate limited user=%.64s addr=%s", u->valuestring,
		    guard_addr(r));
		snprintf(msg, sizeof(msg), "Too many failed logins; try again in "
		    "%ld s", retry);
		http_add_header(r, "Retry-After: %ld", retry);
		result = "throttled";
		rc = login_reply(r, 429, msg, NULL, NULL, 0);
		goto out;
	}
	int v = login_verify(r, u->valuestring, p->valuestring);
	result = "error";
	if (v == LC_USERS_IO || v == LC_USERS_NOMEM) {
		log_err("login: %s (%s)", users_strerror(v), r->cfg->users_file);
		rc = login_reply(r, 500, "Server error", NULL, NULL, 0);
		goto out;
	}
	if (v != LC_USERS_OK) {
		if (v == LC_USERS_BAD_HASH)
			log_err("login: user %.64s has a refused hash kind in %s",
			    u->valuestring, r->cfg->users_file);
		log_info("login failed user=%.64s addr=%s", u->valuestring,
		    guard_addr(r));
		guard_failed(r, &guard);
		result = "bad_password";
		rc = login_reply(r, 401, LOGIN_FAILED, NULL, NULL, 0);
		goto out;
	}
	/* A new session: its row lets logout and revocation end it, the
	 * fingerprint ends it when the password changes. */
	int rem = cJSON_IsTrue(remember);
	long lifetime = rem ? r->cfg->session_remember_lifetime :
	    r->cfg->token_lifetime;
	char sid[ID_LEN + 1], pwv[LC_USERS_FP_LEN + 1];
	if (id_new(sid) != 0 || users_fingerprint(r->cfg->users_file,
	    u->valuestring, pwv) != 1) {
		log_err("login: no session id or fingerprint for user=%.64s",
		    u->valuestring);
		rc = login_reply(r, 500, "Server error", NULL, NULL, 0);
		goto out;
	}
	if (r->store != NULL && store_session_create(r->store, sid,
	    u->valuestring, (long long)now, (long long)now + lifetime,
	    guard_addr(r), http_param(r, "HTTP_USER_AGENT"), rem) != STORE_OK) {
		/* Fail closed: a session logout could not end is no session. */
		log_err("login: could not record the session user=%.64s",
		    u->valuestring);
		http_add_header(r, "Retry-After: 30");
		rc = login_reply(r, 503, "The server cannot record the login "
		    "now (its storage is full or failing); try again later",
		    NULL, NULL, 0);
		goto out;
	}
	/* Rows of sessions that ended a day ago go (the table stays small). */
	if (r->store != NULL && store_session_purge(r->store, (long long)now,
	    r->cfg->session_idle_timeout) == STORE_ERR)
		log_warn("login: could not purge ended sessions");
	token = token_issue(r->key, u->valuestring, sid, pwv, lifetime, now);
	if (token == NULL) {
		rc = login_reply(r, 500, "Server error", NULL, NULL, 0);
		goto out;
	}
	int secure = http_secure(r);
	/* Without "remember me" the cookie ends with the browser session. */
	char maxage[64] = "";
	if (rem)
		snprintf(maxage, sizeof(maxage), "; Max-Age=%ld", lifetime);
	http_add_header(r, "Set-Cookie: %s=%s; Path=%s; HttpOnly; "
	    "SameSite=Strict%s%s", LC_COOKIE_NAME, token, r->cfg->url_prefix,
	    maxage, secure ? "; Secure" : "");
	log_info("login ok user=%s addr=%s", u->valuestring, guard_addr(r));
	guard_succeeded(r, &guard);
	result = "ok";
	rc = login_reply(r, 200, "success", token, u->valuestring,
	    (long)now + lifetime);
out:
	monitor_login(r->store, result);
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	if (json != NULL) {
		const cJSON *pw = cJSON_GetObjectItemCaseSensitive(json,
		    "password");
		if (cJSON_IsString(pw))
			explicit_bzero(pw->valuestring, strlen(pw->valuestring));
	}
	cJSON_Delete(json);
	if (body.data != NULL)
		explicit_bzero(body.data, body.len);
	buf_free(&body);
	return rc;
}

int
page_logout(struct http_req *r, const struct route_ctx *ctx)
{
	cJSON *root;
	int rc;

	/* The presented token's session ends on the server: the same token
	 * is refused everywhere from now on. */
	if (ctx->user[0] != '\0') {
		log_info("logout user=%s", ctx->user);
		if (r->store != NULL && store_session_revoke(r->store, ctx->sid, ctx->user,
		    (long long)time(NULL)) == STORE_ERR)
			log_err("logout: could not end the session");
	}
	http_add_header(r, "Set-Cookie: %s=; Path=%s; HttpOnly; SameSite=Strict; "
	    "Max-Age=0%s", LC_COOKIE_NAME, r->cfg->url_prefix,
	    http_secure(r) ? "; Secure" : "");
	root = cJSON_CreateObject();
	if (cJSON_AddBoolToObject(root, "ok", 1) == NULL) {
		cJSON_Delete(root);
		return http_send_json(r, 500, NULL);
	}
	rc = http_send_json(r, 200, root);
	cJSON_Delete(root);
	return rc;
}
