/* check.c - lightchat-admin check: a smoke test of a running site from a
 * shell. GET /health, a short-lived session minted for a user the way a
 * login makes one (a session row and a token signed with the key), /ws
 * opened with it, one prompt in the page's protocol read to its final
 * frame; timings printed one a line. The session is revoked and the
 * conversation the prompt made deleted at the end. The token is never
 * printed, and it travels in a Cookie header, never in a URL (URLs reach
 * access logs).
 *
 *   lightchat-admin check [--url URL] [--user NAME] [--timeout SECONDS]
 *
 * Exit 0, or 1 with one line "check: <reason>" on stderr. */
#include "admin.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "creds.h"
#include "id.h"
#include "monotime.h"
#include "store.h"
#include "token.h"
#include "users.h"
#include "users_fp.h"
#include "wsclient.h"

#define CHECK_TIMEOUT_S 30
#define CHECK_TIMEOUT_MAX 3600
#define CHECK_URL_MAX 1100
#define CHECK_BODY_MAX 2048        /* of /health's answer, kept */
#define CHECK_FRAME_MAX (8u << 20) /* a frame: the final one has the reply */
#define CHECK_PROMPT "This is lightchat-admin check. Answer with one word."

/* Prints "check: ..." on stderr; returns 1. */
static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
fail(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One line, whatever a server's answer held. */
	for (char *p = line; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20)
			*p = ' ';
	fprintf(stderr, "check: %s\n", line);
	return 1;
}

static void
take_first(const char *user, void *arg)
{
	char *first = arg;

	if (first[0] == '\0')
		snprintf(first, LC_USER_MAX + 1, "%s", user);
}

/* The site's address from the configuration: public_origin's first
 * origin, or http://bind:port, then url_prefix (a site mounted at /chat/
 * is checked there). */
static void
default_url(const struct lc_config *cfg, char out[CHECK_URL_MAX])
{
	const char *o = cfg->public_origin;
	size_t n = strcspn(o, ",");

	while (n > 0 && (o[0] == ' ' || o[0] == '\t')) {
		o++;
		n--;
	}
	while (n > 0 && (o[n - 1] == ' ' || o[n - 1] == '\t'))
		n--;
	/* The site's path: url_prefix ("/" or "/chat/"), without its last
	 * slash (the check adds its own paths). */
	const char *pre = cfg->url_prefix != NULL ? cfg->url_prefix : "/";
	int pn = (int)strlen(pre);
	if (pn > 0 && pre[pn - 1] == '/')
		pn--;
	if (pn > 200)
		pn = 0;
	if (n > 0 && n < CHECK_URL_MAX - 201) {
		snprintf(out, CHECK_URL_MAX, "%.*s%.*s", (int)n, o, pn, pre);
		return;
	}
	const char *b = cfg->bind;
	if (b[0] == '\0' || strcmp(b, "0.0.0.0") == 0)
		b = "127.0.0.1";
	else if (strcmp(b, "::") == 0)
		b = "::1";
	snprintf(out, CHECK_URL_MAX, strchr(b, ':') ? "http://[%.200s]:%ld%.*s" :
	    "http://%.200s:%ld%.*s", b, cfg->port, pn, pre);
}

/* What the reply's frames said. */
struct reply_seen {
	char conv[ID_LEN + 1];   /* from "start" */
	long long first_ms;      /* the first delta (or the reply), -1 */
	size_t bytes;            /* of the final text */
	int ended;               /* its final frame came */
};

/* Looks at one frame. Returns 1 for the reply's final frame, 0 for
 * another, -1 (after fail()) for an error frame or one not JSON. */
static int
on_frame(const char *text, const char *msgid, long long sent,
    struct reply_seen *r)
{
	cJSON *j = cJSON_Parse(text);
	const cJSON *type, *id, *e, *code, *msg, *conv, *t;
	int rc = 0;

	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		return fail("/ws sent something not JSON: %.80s", text);
	}
	type = cJSON_GetObjectItemCaseSensitive(j, "type");
	id = cJSON_GetObjectItemCaseSensitive(j, "msgid");
	/* An error with no msgid answers no prompt: it is about this
	 * connection (too many connections, credentials), so ours too. */
	int ours = cJSON_IsString(id) ? strcmp(id->valuestring, msgid) == 0 :
	    cJSON_IsString(type) && strcmp(type->valuestring, "error") == 0;
	if (!ours || !cJSON_IsString(type))
		goto out;
	if (strcmp(type->valuestring, "start") == 0) {
		conv = cJSON_GetObjectItemCaseSensitive(j, "conversation_id");
		if (cJSON_IsString(conv) && id_valid(conv->valuestring))
			memcpy(r->conv, conv->valuestring, ID_LEN + 1);
	} else if (strcmp(type->valuestring, "delta") == 0) {
		if (r->first_ms < 0)
			r->first_ms = monotime_ms() - sent;
	} else if (strcmp(type->valuestring, "reply") == 0) {
		if (r->first_ms < 0)
			r->first_ms = monotime_ms() - sent;
		t = cJSON_GetObjectItemCaseSensitive(j, "text");
		t = cJSON_GetObjectItemCaseSensitive(t, "content");
		r->bytes = cJSON_IsString(t) ? strlen(t->valuestring) : 0;
		r->ended = 1;
		rc = 1;
	} else if (strcmp(type->valuestring, "error") == 0) {
		e = cJSON_GetObjectItemCaseSensitive(j, "error");
		code = cJSON_GetObjectItemCaseSensitive(e, "code");
		msg = cJSON_GetObjectItemCaseSensitive(e, "message");
		fail("the reply failed: %s: %.300s", cJSON_IsString(code) ?
		    code->valuestring : "?", cJSON_IsString(msg) ?
		    msg->valuestring : "");
		r->ended = 1;
		rc = -1;
	}
out:
	cJSON_Delete(j);
	return rc;
}

/* The prompt message, a malloc'd string, or NULL. */
static char *
prompt_message(const char *msgid)
{
	cJSON *m = cJSON_CreateObject(), *p;
	char *s = NULL;

	if (m == NULL || cJSON_AddStringToObject(m, "action", "sendprompt") ==
	    NULL || (p = cJSON_AddObjectToObject(m, "payload")) == NULL ||
	    cJSON_AddStringToObject(p, "msgid", msgid) == NULL ||
	    cJSON_AddStringToObject(p, "prompt", CHECK_PROMPT) == NULL ||
	    cJSON_AddTrueToObject(p, "stream") == NULL)
		goto out;
	s = cJSON_PrintUnformatted(m);
out:
	cJSON_Delete(m);
	return s;
}

/* Parses the options. Returns 0, or 2 after printing the usage. */
static int
parse_args(int argc, char **argv, const char **url, const char **user,
    long *timeout)
{
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *end = NULL;
		if (v != NULL && strcmp(argv[i], "--url") == 0)
			*url = v;
		else if (v != NULL && strcmp(argv[i], "--user") == 0)
			*user = v;
		else if (v != NULL && strcmp(argv[i], "--timeout") == 0 &&
		    (*timeout = strtol(v, &end, 10)) > 0 && *end == '\0' &&
		    *timeout <= CHECK_TIMEOUT_MAX)
			;
		else {
			fprintf(stderr, "usage: lightchat-admin check [--url "
			    "URL] [--user NAME] [--timeout SECONDS]\n");
			return 2;
		}
		i++;
	}
	return 0;
}

int
admin_check(const struct lc_config *cfg, int argc, char **argv)
{
	const char *url = NULL, *uarg = NULL;
	char urlbuf[CHECK_URL_MAX], user[LC_USER_MAX + 1] = "", err[512];
	char sid[ID_LEN + 1], pwv[LC_USERS_FP_LEN + 1], msgid[64];
	char cookie[sizeof(LC_COOKIE_NAME) + LC_TOKEN_MAX + 16];
	struct lc_token_key key;
	struct reply_seen seen = { "", -1, 0, 0 };
	struct store *st = NULL;
	struct lc_buf body, frame;
	struct wsc ws;
	struct wsc_url u;
	char *token = NULL, *msg = NULL;
	long timeout = CHECK_TIMEOUT_S;
	long long t0, deadline, t, sent, now;
	int rc = 1, status = 0, have_session = 0, done = 0, n;

	/* Each line when it happens, in order with the errors on stderr. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(&key, 0, sizeof(key));
	cookie[0] = '\0';
	buf_init(&body, CHECK_BODY_MAX);
	buf_init(&frame, CHECK_FRAME_MAX);
	wsc_init(&ws, CHECK_FRAME_MAX);
	if ((rc = parse_args(argc, argv, &url, &uarg, &timeout)) != 0)
		goto out;
	rc = 1;
	if (url == NULL) {
		default_url(cfg, urlbuf);
		url = urlbuf;
	}
	if (wsc_url_parse(url, &u, err, sizeof(err)) != 0) {
		fail("%s", err);
		goto out;
	}
	/* The user, before anything goes over the network. */
	if (uarg != NULL)
		snprintf(user, sizeof(user), "%s", uarg);
	else if ((n = users_each(cfg->users_file, take_first, user)) < 0) {
		fail("%s: %s", cfg->users_file, users_strerror(n));
		goto out;
	}
	if (user[0] == '\0') {
		fail("no user in %s (lightchat-admin user add NAME)",
		    cfg->users_file);
		goto out;
	}
	if (!username_valid(user)) {
		fail("invalid user name: %.64s", user);
		goto out;
	}

	t0 = monotime_ms();
	deadline = t0 + timeout * 1000;
	if (wsc_http_get(&u, "/health", deadline, &status, &body, err,
	    sizeof(err)) != 0) {
		fail("/health: %s", err);
		goto out;
	}
	t = monotime_ms() - t0;
	if (status == 404) {
		fprintf(stderr, "check: warning: no /health in this build "
		    "(404)\n");
		printf("health: none (404), %lld ms\n", t);
	} else if (status != 200) {
		fail("/health: %d %.200s", status, buf_str(&body));
		goto out;
	} else {
		printf("health: %lld ms (200)\n", t);
	}

	/* A session the way a login makes one: its row, then its token. */
	if (token_key_load(cfg->token_key_file, &key, err, sizeof(err)) != 0) {
		fail("%s", err);
		goto out;
	}
	n = users_fingerprint(cfg->users_file, user, pwv);
	if (n != 1) {
		fail(n == 0 ? "no user %.64s in %s" : "%.64s: cannot read %s",
		    user, cfg->users_file);
		goto out;
	}
	if (store_open(&st, cfg->database, err, sizeof(err)) != STORE_OK) {
		fail("%s", err);
		goto out;
	}
	now = (long long)time(NULL);
	if (id_new(sid) != 0 || store_session_create(st, sid, user, now,
	    now + timeout + 60, "", "lightchat-admin check", 0) != STORE_OK) {
		fail("cannot record a session for %s", user);
		goto out;
	}
	have_session = 1;
	token = token_issue(&key, user, sid, pwv, timeout + 60, (time_t)now);
	if (token == NULL || snprintf(cookie, sizeof(cookie), "Cookie: %s=%s",
	    LC_COOKIE_NAME, token) >= (int)sizeof(cookie)) {
		fail("cannot make a token");
		goto out;
	}

	t = monotime_ms();
	if (wsc_open(&ws, &u, "/ws", cookie, deadline, &status, err,
	    sizeof(err)) != 0) {
		if (status > 0)
			fail("/ws refused: %d", status);
		else
			fail("/ws: %s", err);
		goto out;
	}
	printf("connect: %lld ms\n", monotime_ms() - t);

	snprintf(msgid, sizeof(msgid), "check-%ld-%lld", (long)getpid(), t0);
	if ((msg = prompt_message(msgid)) == NULL) {
		fail("out of memory");
		goto out;
	}
	sent = monotime_ms();
	if (wsc_send_text(&ws, msg, strlen(msg), deadline, err,
	    sizeof(err)) != 0) {
		fail("/ws: %s", err);
		goto out;
	}
	while (!done) {
		int r = wsc_recv(&ws, &frame, deadline, err, sizeof(err));
		if (r == 0) {
			fail("/ws closed by the server before the reply");
			goto out;
		}
		if (r < 0) {
			if (strcmp(err, "timeout") == 0)
				fail("no reply within %ld s (is the worker "
				    "running?)", timeout);
			else
				fail("/ws: %s", err);
			goto out;
		}
		r = on_frame(buf_str(&frame), msgid, sent, &seen);
		if (r < 0)
			goto out;
		done = r;
	}
	t = monotime_ms();
	printf("first token: %lld ms\n", seen.first_ms);
	printf("reply: %lld ms (%zu bytes)\n", t - sent, seen.bytes);
	printf("total: %lld ms\n", t - t0);
	rc = 0;
out:
	wsc_close(&ws);
	/* What the check made goes: its conversation (once the reply has
	 * ended) and its session. */
	if (st != NULL && seen.conv[0] != '\0' && seen.ended &&
	    store_conv_delete(st, seen.conv, user) == STORE_ERR)
		fprintf(stderr, "check: warning: could not delete its "
		    "conversation\n");
	if (have_session && store_session_revoke(st, sid, user,
	    (long long)time(NULL)) == STORE_ERR) {
		fail("could not end its session (lightchat-admin user revoke "
		    "%s ends it)", user);
		rc = 1;
	}
	store_close(st);
	free(msg);
	if (token != NULL) {
		explicit_bzero(token, strlen(token));
		free(token);
	}
	explicit_bzero(cookie, sizeof(cookie));
	explicit_bzero(&key, sizeof(key));
	buf_free(&body);
	buf_free(&frame);
	return rc;
}
