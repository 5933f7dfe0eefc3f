/* worker.c - receives session messages from the ROUTER socket, checks the
 * credentials that ride on each, and dispatches the actions: sendprompt,
 * regenerate, stop, watch and ping. Keeps which session watches which
 * conversation; reply.c runs the replies. */
#include "worker.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include <cjson/cJSON.h>

#include "creds.h"
#include "json.h"
#include "log.h"
#include "loop.h"
#include "monotime.h"
#include "relay.h"
#include "worker_int.h"

/* Messages handled before libcurl gets a turn. Small: in a burst of
 * prompts, each one's request then leaves while the next is being set up,
 * instead of all of them after the whole burst (which added ~10 ms to the
 * median first token of 100 prompts arriving at once). */
#define DRAIN_BATCH 2
#define FLUSH_MS 1000      /* how often growing replies are saved */

int
peer_equal(const struct peer *a, const struct peer *b)
{
	return a->idlen == b->idlen && memcmp(a->id, b->id, a->idlen) == 0;
}

/* Sends one frame set to a session. Returns 0, or -1 if it is gone. */
static int
send_to(struct worker *w, const struct peer *p, const char *kind,
    const char *body)
{
	if (zmq_send(w->router, p->id, p->idlen, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
	    zmq_send(w->router, kind, strlen(kind), ZMQ_SNDMORE | ZMQ_DONTWAIT) <
	    0 ||
	    zmq_send(w->router, body, strlen(body), ZMQ_DONTWAIT) < 0) {
		if (errno != EHOSTUNREACH)
			log_warn("send to session: %s", zmq_strerror(errno));
		return -1;
	}
	return 0;
}

int
worker_send_line(struct worker *w, const struct peer *p, char *frame)
{
	int rc;

	if (frame == NULL) {
		log_err("out of memory building a frame");
		return -1;
	}
	rc = send_to(w, p, RELAY_LINE, frame);
	free(frame);
	return rc;
}

void
worker_send_error(struct worker *w, const struct peer *p, const char *msgid,
    const char *code, const char *message, const char *field)
{
	struct frame_error e = { msgid, NULL, code, message, field, 0, -1,
	    NULL };

	worker_send_line(w, p, frame_error(&e));
}

void
worker_watch(struct worker *w, const struct peer *p, const char *user,
    const char *conversation_id)
{
	struct watcher **pp = &w->watchers, *x;

	/* A session watches one conversation at a time: the one it shows. */
	for (; (x = *pp) != NULL; pp = &x->next)
		if (peer_equal(&x->peer, p))
			break;
	if (conversation_id[0] == '\0') {
		if (x != NULL) {
			*pp = x->next;
			free(x);
		}
		return;
	}
	if (x == NULL) {
		x = calloc(1, sizeof(*x));
		if (x == NULL) {
			log_err("out of memory adding a watcher");
			return;
		}
		x->peer = *p;
		x->next = w->watchers;
		w->watchers = x;
	}
	snprintf(x->user, sizeof(x->user), "%s", user);
	snprintf(x->conversation_id, sizeof(x->conversation_id), "%s",
	    conversation_id);
}

/* Returns the conversation p watches, or NULL. */
static const char *
watching(struct worker *w, const struct peer *p)
{
	for (struct watcher *x = w->watchers; x != NULL; x = x->next)
		if (peer_equal(&x->peer, p))
			return x->conversation_id;
	return NULL;
}

static void
on_transfer_done(CURL *easy, CURLcode result, void *arg)
{
	struct reply *r = NULL;

	(void)arg;
	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r) != CURLE_OK ||
	    r == NULL)
		return;
	reply_done(r, result);
}

static void
do_prompt(struct worker *w, const struct peer *p, const char *user,
    const cJSON *payload, enum request_kind kind)
{
	struct chat_request req;
	struct request_error err;

	if (request_parse(payload, kind, w->cfg, &req, &err) != 0)
		worker_send_error(w, p, req.msgid[0] ? req.msgid : NULL,
		    err.code, err.message, err.field);
	else
		reply_start(w, p, user, &req, kind == REQUEST_REGENERATE);
	request_free(&req);
}

static void
do_stop(struct worker *w, const struct peer *p, const char *user,
    const cJSON *payload)
{
	const cJSON *msgid = cJSON_GetObjectItemCaseSensitive(payload, "msgid");
	const cJSON *conv = cJSON_GetObjectItemCaseSensitive(payload,
	    "conversation_id");
	struct reply *r;

	if (!cJSON_IsString(msgid) && !cJSON_IsString(conv)) {
		worker_send_error(w, p, NULL, "invalid_request",
		    "stop needs payload.msgid or payload.conversation_id",
		    "msgid");
		return;
	}
	/* Any of the user's sessions may stop the user's reply. */
	r = reply_find(w, user, cJSON_IsString(msgid) ? msgid->valuestring :
	    NULL, cJSON_IsString(conv) ? conv->valuestring : NULL);
	if (r != NULL)
		reply_stop(r);  /* else already finished: its frame is sent */
}

/* watch {"conversation_id": id|null}; ping may carry {"watch": id} so that
 * a restarted worker learns again what each session shows. */
static void
do_watch(struct worker *w, const struct peer *p, const char *user,
    const cJSON *id, int quiet)
{
	const char *was;

	if (id == NULL || cJSON_IsNull(id)) {
		if (!quiet)
			worker_watch(w, p, user, "");
		return;
	}
	if (!cJSON_IsString(id) || !store_id_valid(id->valuestring)) {
		worker_send_error(w, p, NULL, "invalid_request",
		    "conversation_id must be an id from this server",
		    "conversation_id");
		return;
	}
	was = watching(w, p);
	if (quiet && was != NULL && strcmp(was, id->valuestring) == 0)
		return;  /* a heartbeat that changes nothing */
	int rc = store_conv_owned(w->store, id->valuestring, user);
	if (rc != STORE_OK) {
		worker_send_error(w, p, NULL, rc == STORE_NOT_FOUND ?
		    "not_found" : "storage_error", rc == STORE_NOT_FOUND ?
		    "no such conversation" : "the database failed",
		    "conversation_id");
		return;
	}
	worker_watch(w, p, user, id->valuestring);
	reply_snapshot(w, p, user, id->valuestring);
}

/* Takes one message from p's budget: max_messages_per_minute, refilled
 * continuously, bursts up to a quarter of it. Returns 0, or -1 when empty. */
static int
rate_take(struct worker *w, const struct peer *p)
{
	double per_s = (double)w->cfg->max_messages_per_minute / 60.0;
	double burst = (double)w->cfg->max_messages_per_minute / 4.0 + 1.0;
	struct peer_rate *x;

	for (x = w->rates; x != NULL; x = x->next)
		if (peer_equal(&x->peer, p))
			break;
	if (x == NULL) {
		x = calloc(1, sizeof(*x));
		if (x == NULL)
			return 0;  /* out of memory: do not punish the client */
		x->peer = *p;
		x->tokens = burst;
		monotime_now(&x->last);
		x->next = w->rates;
		w->rates = x;
	}
	x->tokens += per_s * (double)monotime_ms_since(&x->last) / 1000.0;
	monotime_now(&x->last);
	if (x->tokens > burst)
		x->tokens = burst;
	if (x->tokens < 1.0)
		return -1;
	x->tokens -= 1.0;
	return 0;
}

static void
rate_forget(struct worker *w, const struct peer *p)
{
	for (struct peer_rate **pp = &w->rates, *x; (x = *pp) != NULL;
	    pp = &x->next) {
		if (peer_equal(&x->peer, p)) {
			*pp = x->next;
			free(x);
			return;
		}
	}
}

/* Handles one client line. */
static void
do_message(struct worker *w, const struct peer *p, const char *user,
    const char *line, size_t len)
{
	cJSON *json = NULL;

	if (rate_take(w, p) != 0) {
		worker_send_error(w, p, NULL, "rate_limited",
		    "too many messages; slow down", NULL);
		return;
	}
	const char *why = "each message must be one JSON object";
	json = json_parse_strict(line, len, &why);
	if (!cJSON_IsObject(json)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "bad message: %s", why);
		worker_send_error(w, p, NULL, "bad_json", msg, NULL);
		goto out;
	}
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(json, "action");
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(json, "payload");
	const char *a = cJSON_IsString(action) ? action->valuestring : "";
	if (strcmp(a, "sendprompt") == 0) {
		do_prompt(w, p, user, payload, REQUEST_SENDPROMPT);
	} else if (strcmp(a, "regenerate") == 0) {
		do_prompt(w, p, user, payload, REQUEST_REGENERATE);
	} else if (strcmp(a, "stop") == 0) {
		do_stop(w, p, user, payload);
	} else if (strcmp(a, "watch") == 0) {
		do_watch(w, p, user, cJSON_GetObjectItemCaseSensitive(payload,
		    "conversation_id"), 0);
	} else if (strcmp(a, "ping") == 0) {
		do_watch(w, p, user, cJSON_GetObjectItemCaseSensitive(payload,
		    "watch"), 1);
		worker_send_line(w, p, frame_pong());
	} else {
		worker_send_error(w, p, NULL, "unknown_action",
		    "unknown action; use sendprompt, regenerate, stop, watch or "
		    "ping", "action");
	}
out:
	cJSON_Delete(json);
}

/* The session went away: it watches nothing; its replies go on. */
static void
drop_peer(struct worker *w, const struct peer *p)
{
	worker_watch(w, p, "", "");
	rate_forget(w, p);
	reply_peer_gone(w, p);
}

/* Returns 1 if the n bytes at a and b are equal, in time that depends on n
 * only. */
static int
equal_ct(const char *a, const char *b, size_t n)
{
	unsigned char diff = 0;

	for (size_t i = 0; i < n; i++)
		diff |= (unsigned char)(a[i] ^ b[i]);
	return diff == 0;
}

/* Verifies token as token_verify does, remembering tokens that verified:
 * every session message carries its token, and decoding it (base64, two
 * JSON parses, an HMAC) was a third of the worker's cost per message. The
 * key does not change while the worker runs, and a token that was valid
 * (iat, nbf not in the future) stays valid until its exp, which is checked
 * each time. Returns an LC_TOKEN_* code, with user set on LC_TOKEN_OK. */
static int
token_check(struct worker *w, const char *token, time_t now,
    char user[LC_USER_MAX + 1])
{
	size_t n = strlen(token);
	uint32_t h = 2166136261u;   /* FNV-1a, to pick a slot */
	struct token_seen *e;
	long exp = 0;
	int t;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)token[i]) * 16777619u;
	e = &w->seen[h % TOKEN_SEEN_SLOTS];
	if (n < TOKEN_SEEN_MAX && e->len == n &&
	    equal_ct(e->token, token, n) && e->exp > (long)now) {
		memcpy(user, e->user, strlen(e->user) + 1);
		return LC_TOKEN_OK;
	}
	t = token_verify(w->key, token, now, user, &exp);
	if (t == LC_TOKEN_OK && n < TOKEN_SEEN_MAX) {
		memcpy(e->token, token, n);
		e->len = n;
		memcpy(e->user, user, strlen(user) + 1);
		e->exp = exp;
	}
	return t;
}

/* Checks a session's credentials again (the authorizer did first). Returns
 * 0 with user set, or -1 after refusing the session. */
static int
check_session(struct worker *w, const struct peer *p, zmq_msg_t *f,
    char user[LC_USER_MAX + 1])
{
	char field[RELAY_UP_FRAMES][RELAY_FIELD_MAX + 1];
	char token[LC_TOKEN_MAX + 1];

	for (int i = RELAY_COOKIE; i <= RELAY_PEER; i++) {
		size_t n = zmq_msg_size(&f[i]);
		if (n > RELAY_FIELD_MAX)
			n = 0;
		memcpy(field[i], zmq_msg_data(&f[i]), n);
		field[i][n] = '\0';
	}
	if (!creds_origin_allowed(field[RELAY_ORIGIN], field[RELAY_HOST],
	    w->cfg->allowed_origins)) {
		log_warn("session refused: origin not allowed peer=%.64s",
		    field[RELAY_PEER]);
		worker_send_error(w, p, NULL, "unauthorized", "origin not allowed",
		    NULL);
		send_to(w, p, RELAY_CLOSE, "origin");
		return -1;
	}
	int t = LC_TOKEN_MALFORMED;
	if (creds_find_token(field[RELAY_COOKIE], field[RELAY_QUERY], token,
	    sizeof(token)) == 1)
		t = token_check(w, token, time(NULL), user);
	explicit_bzero(token, sizeof(token));
	if (t != LC_TOKEN_OK) {
		log_info("session refused: %s peer=%.64s", token_strerror(t),
		    field[RELAY_PEER]);
		worker_send_error(w, p, NULL, "unauthorized",
		    t == LC_TOKEN_EXPIRED ? "your session has expired; log in "
		    "again" : "log in first", NULL);
		send_to(w, p, RELAY_CLOSE, "unauthorized");
		return -1;
	}
	return 0;
}

static int
frame_is(zmq_msg_t *m, const char *s)
{
	return zmq_msg_size(m) == strlen(s) &&
	    memcmp(zmq_msg_data(m), s, strlen(s)) == 0;
}

/* Reads one whole message (identity + RELAY_UP_FRAMES frames) and acts.
 * Returns 0 handled, 1 nothing to read, -1 error. */
static int
handle_one(struct worker *w)
{
	zmq_msg_t f[RELAY_UP_FRAMES + 1];
	struct peer p;
	char user[LC_USER_MAX + 1];
	int nf = 0, rc = -1, more = 1;

	while (more) {
		zmq_msg_t extra, *m = nf <= RELAY_UP_FRAMES ? &f[nf] : &extra;
		zmq_msg_init(m);
		if (zmq_msg_recv(m, w->router, nf == 0 ? ZMQ_DONTWAIT : 0) < 0) {
			zmq_msg_close(m);
			rc = (nf == 0 && errno == EAGAIN) ? 1 : -1;
			goto out;
		}
		more = zmq_msg_more(m);
		if (m == &extra)
			zmq_msg_close(m);  /* extra frames are dropped */
		nf++;
	}
	rc = 0;
	if (nf != RELAY_UP_FRAMES + 1 || zmq_msg_size(&f[0]) > PEER_ID_MAX) {
		log_warn("malformed message from a session (%d frames)", nf);
		goto out;
	}
	p.idlen = zmq_msg_size(&f[0]);
	memcpy(p.id, zmq_msg_data(&f[0]), p.idlen);
	zmq_msg_t *fields = &f[1];
	if (frame_is(&fields[RELAY_KIND], RELAY_BYE)) {
		drop_peer(w, &p);
		goto out;
	}
	if (check_session(w, &p, fields, user) != 0) {
		drop_peer(w, &p);
		goto out;
	}
	if (frame_is(&fields[RELAY_KIND], RELAY_HELLO)) {
		log_info("session open user=%s", user);
	} else if (frame_is(&fields[RELAY_KIND], RELAY_TOOLONG)) {
		char msg[96];
		snprintf(msg, sizeof(msg), "the message is larger than %ld bytes",
		    w->cfg->max_message);
		worker_send_error(w, &p, NULL, "message_too_large", msg, NULL);
	} else if (frame_is(&fields[RELAY_KIND], RELAY_MSG)) {
		do_message(w, &p, user, zmq_msg_data(&fields[RELAY_BODY]),
		    zmq_msg_size(&fields[RELAY_BODY]));
	} else {
		log_warn("unknown message kind from a session");
	}
out:
	for (int i = 0; i < nf && i <= RELAY_UP_FRAMES; i++)
		zmq_msg_close(&f[i]);
	return rc;
}

static void
on_router(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < DRAIN_BATCH; i++)
		if (handle_one(w) != 0)
			break;
	/* Handles added or removed above may already be done. */
	loop_check_done(w->loop);
}

/* Ends the drain when no reply is left, the time is up, or a second
 * signal came. */
static void
check_drain(struct worker *w)
{
	if (!w->draining || w->drained)
		return;
	if (w->nreplies == 0 || *w->stop > 1 ||
	    monotime_ms_since(&w->drain_start) >= w->cfg->drain_timeout * 1000)
		w->drained = 1;
}

static void
on_tick(void *arg)
{
	struct worker *w = arg;

	reply_flush_all(w);
	check_drain(w);
}

struct worker *
worker_new(const struct lc_config *cfg, const struct lc_token_key *key)
{
	struct worker *w = calloc(1, sizeof(*w));
	char err[256];
	int one = 1, zero = 0, n;

	if (w == NULL)
		return NULL;
	w->cfg = cfg;
	w->key = key;
	/* Without the database the worker still chats: seed-shaped prompts
	 * are answered unsaved, conversation-shaped ones get storage_error. */
	if (store_open(&w->store, cfg->database, err, sizeof(err)) != STORE_OK)
		log_err("%s; conversations will not be saved", err);
	/* Replies that were streaming when the last worker stopped. */
	n = w->store != NULL ? store_mark_interrupted(w->store) : 0;
	if (n > 0)
		log_warn("marked %d unfinished replies as interrupted", n);
	w->zctx = zmq_ctx_new();
	if (w->zctx == NULL ||
	    (w->router = zmq_socket(w->zctx, ZMQ_ROUTER)) == NULL ||
	    /* Sends to a vanished session fail instead of vanishing. */
	    zmq_setsockopt(w->router, ZMQ_ROUTER_MANDATORY, &one,
	    sizeof(one)) != 0 ||
	    /* Replies are bounded by max_reply; never drop a frame. */
	    zmq_setsockopt(w->router, ZMQ_SNDHWM, &zero, sizeof(zero)) != 0 ||
	    zmq_setsockopt(w->router, ZMQ_LINGER, &zero, sizeof(zero)) != 0) {
		log_err("zmq socket: %s", zmq_strerror(errno));
		goto fail;
	}
	if (zmq_bind(w->router, cfg->worker_endpoint) != 0) {
		log_err("bind %s: %s", cfg->worker_endpoint, zmq_strerror(errno));
		goto fail;
	}
	w->multi = curl_multi_init();
	if (w->multi == NULL)
		goto fail;
	w->loop = loop_new(w->router, w->multi, on_router, on_transfer_done, w);
	if (w->loop == NULL)
		goto fail;
	loop_set_tick(w->loop, on_tick, FLUSH_MS);
	return w;
fail:
	worker_free(w);
	return NULL;
}

int
worker_run(struct worker *w, volatile sig_atomic_t *stop)
{
	int rc;

	w->stop = stop;
	rc = loop_run(w->loop, stop);
	if (rc == 0 && w->nreplies > 0 && w->cfg->drain_timeout > 0) {
		/* Stopping: let the replies in flight finish, for a while; new
		 * prompts are refused meanwhile. */
		log_info("stopping: finishing %ld replies (at most %ld s)",
		    w->nreplies, w->cfg->drain_timeout);
		w->draining = 1;
		monotime_now(&w->drain_start);
		rc = loop_run(w->loop, &w->drained);
	}
	while (w->replies != NULL)
		reply_interrupt(w->replies);
	return rc;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	while (w->replies != NULL)
		reply_interrupt(w->replies);
	while (w->watchers != NULL) {
		struct watcher *x = w->watchers;
		w->watchers = x->next;
		free(x);
	}
	while (w->rates != NULL) {
		struct peer_rate *x = w->rates;
		w->rates = x->next;
		free(x);
	}
	loop_free(w->loop);
	if (w->multi != NULL)
		curl_multi_cleanup(w->multi);
	if (w->router != NULL)
		zmq_close(w->router);
	if (w->zctx != NULL)
		zmq_ctx_term(w->zctx);
	store_close(w->store);
	explicit_bzero(w->seen, sizeof(w->seen));
	free(w);
}
