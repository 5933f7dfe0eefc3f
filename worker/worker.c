/* worker.c - receives session messages from the ROUTER socket, checks the
 * credentials that ride on each, and runs "sendprompt", "stop" and "ping";
 * keeps the list of replies in flight and sends their frames back. */
#include "worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include <cjson/cJSON.h>

#include "creds.h"
#include "frames.h"
#include "log.h"
#include "loop.h"
#include "monotime.h"
#include "relay.h"
#include "request.h"
#include "upstream.h"
#include "utf8.h"

#define IDENTITY_MAX 256
#define DRAIN_BATCH 256    /* messages handled before libcurl gets a turn */

struct peer {              /* the session a message came from */
	unsigned char id[IDENTITY_MAX];
	size_t idlen;
};

struct reply {
	struct reply *prev, *next;
	struct worker *w;
	struct peer peer;
	char msgid[REQUEST_MSGID_MAX + 1];
	char model[REQUEST_MODEL_MAX + 1];
	char user[LC_USER_MAX + 1];
	int stream;
	struct timespec started;
	struct upstream_call call;
};

struct worker {
	const struct lc_config *cfg;
	const struct lc_token_key *key;
	void *zctx, *router;
	CURLM *multi;
	struct loop *loop;
	struct reply *replies;
	long nreplies;
};

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

/* Sends a frame text (freed here) as a client line. */
static int
send_line(struct worker *w, const struct peer *p, char *frame)
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

static void
send_error(struct worker *w, const struct peer *p, const char *msgid,
    const char *code, const char *message, const char *field)
{
	struct frame_error e = { msgid, code, message, field, 0, -1, NULL };

	send_line(w, p, frame_error(&e));
}

static int
same_peer(const struct peer *a, const struct peer *b)
{
	return a->idlen == b->idlen && memcmp(a->id, b->id, a->idlen) == 0;
}

/* Unlinks r, takes it out of libcurl and frees it. */
static void
reply_free(struct reply *r)
{
	struct worker *w = r->w;

	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		w->replies = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	w->nreplies--;
	if (r->call.easy != NULL)
		curl_multi_remove_handle(w->multi, r->call.easy);
	upstream_free(&r->call);
	free(r);
}

static void
on_delta(void *owner, const char *text)
{
	struct reply *r = owner;

	if (!r->stream)
		return;
	if (send_line(r->w, &r->peer, frame_delta(r->msgid, text)) != 0)
		/* The session is gone; the transfer is ended when its bye
		 * arrives, or below when the final frame fails too. */
		r->stream = 0;
}

/* Sends the final frame of r for a finished or stopped call, then frees r. */
static void
reply_finish(struct reply *r, CURLcode result, int stopped)
{
	struct upstream_outcome o;
	const char *content = buf_str(&r->call.content);
	char *frame;

	if (stopped) {
		memset(&o, 0, sizeof(o));
		frame = frame_reply(r->msgid, content, r->model, "stopped",
		    &r->call.usage);
	} else {
		upstream_outcome(&r->call, result, &o);
		if (o.code == NULL) {
			frame = frame_reply(r->msgid, buf_str(&r->call.content),
			    r->model, r->call.finish_reason[0] ?
			    r->call.finish_reason : "stop", &r->call.usage);
		} else {
			struct frame_error e = { r->msgid, o.code, o.message,
			    NULL, o.status, o.retry_after,
			    r->call.content.len > 0 ? buf_str(&r->call.content) :
			    NULL };
			frame = frame_error(&e);
		}
	}
	log_info("reply %s user=%s msgid=%.40s model=%s status=%ld bytes=%zu "
	    "ms=%ld%s%s", stopped ? "stopped" : o.code ? "failed" : "done",
	    r->user, r->msgid, r->model, o.status, r->call.content.len,
	    monotime_ms_since(&r->started), o.code ? " error=" : "",
	    o.code ? o.code : "");
	send_line(r->w, &r->peer, frame);
	reply_free(r);
}

static void
on_transfer_done(CURL *easy, CURLcode result, void *arg)
{
	struct reply *r = NULL;

	(void)arg;
	if (curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&r) != CURLE_OK ||
	    r == NULL)
		return;
	reply_finish(r, result, 0);
}

static struct reply *
find_reply(struct worker *w, const struct peer *p, const char *msgid)
{
	for (struct reply *r = w->replies; r != NULL; r = r->next)
		if (same_peer(&r->peer, p) && strcmp(r->msgid, msgid) == 0)
			return r;
	return NULL;
}

static long
count_replies(struct worker *w, const struct peer *p)
{
	long n = 0;

	for (struct reply *r = w->replies; r != NULL; r = r->next)
		n += same_peer(&r->peer, p);
	return n;
}

static void
do_sendprompt(struct worker *w, const struct peer *p, const char *user,
    const cJSON *payload)
{
	struct chat_request req;
	struct request_error err;
	struct reply *r = NULL;

	if (request_parse(payload, w->cfg, &req, &err) != 0) {
		send_error(w, p, req.msgid[0] ? req.msgid : NULL, err.code,
		    err.message, err.field);
		free(req.body);
		return;
	}
	if (find_reply(w, p, req.msgid) != NULL) {
		send_error(w, p, req.msgid, "duplicate_msgid",
		    "a reply with this msgid is already in progress", "msgid");
		free(req.body);
		return;
	}
	if (count_replies(w, p) >= w->cfg->max_inflight_per_connection) {
		send_error(w, p, req.msgid, "too_many_requests",
		    "too many replies in progress on this connection; wait for "
		    "one to finish", NULL);
		free(req.body);
		return;
	}
	if (w->nreplies >= w->cfg->max_inflight) {
		log_warn("busy: %ld replies in flight", w->nreplies);
		send_error(w, p, req.msgid, "server_busy",
		    "the server is busy; try again in a moment", NULL);
		free(req.body);
		return;
	}
	r = calloc(1, sizeof(*r));
	if (r == NULL) {
		free(req.body);
		send_error(w, p, req.msgid, "server_error", "out of memory", NULL);
		return;
	}
	r->w = w;
	r->peer = *p;
	r->stream = req.stream;
	memcpy(r->msgid, req.msgid, sizeof(r->msgid));
	memcpy(r->model, req.model, sizeof(r->model));
	snprintf(r->user, sizeof(r->user), "%s", user);
	monotime_now(&r->started);
	r->next = w->replies;
	if (w->replies != NULL)
		w->replies->prev = r;
	w->replies = r;
	w->nreplies++;
	if (upstream_init(&r->call, w->cfg, req.body, on_delta, r) != 0 ||
	    curl_multi_add_handle(w->multi, r->call.easy) != CURLM_OK) {
		send_error(w, p, r->msgid, "server_error",
		    "could not start the request", NULL);
		curl_easy_cleanup(r->call.easy);
		r->call.easy = NULL;
		reply_free(r);
		return;
	}
	log_info("reply start user=%s msgid=%.40s model=%s stream=%d", user,
	    r->msgid, r->model, r->stream);
}

static void
do_stop(struct worker *w, const struct peer *p, const cJSON *payload)
{
	const cJSON *msgid = cJSON_GetObjectItemCaseSensitive(payload, "msgid");
	struct reply *r;

	if (!cJSON_IsString(msgid)) {
		send_error(w, p, NULL, "invalid_request",
		    "stop needs payload.msgid", "msgid");
		return;
	}
	r = find_reply(w, p, msgid->valuestring);
	if (r == NULL)
		return;  /* already finished: its final frame is on its way */
	/* Removing the handle closes the upstream request at once. */
	reply_finish(r, CURLE_OK, 1);
}

/* Handles one client line. */
static void
do_message(struct worker *w, const struct peer *p, const char *user,
    const char *line, size_t len)
{
	cJSON *json = NULL;

	if (utf8_valid_prefix(line, len) != len) {
		send_error(w, p, NULL, "bad_json", "the message is not valid UTF-8",
		    NULL);
		return;
	}
	json = cJSON_ParseWithLength(line, len);
	if (!cJSON_IsObject(json)) {
		send_error(w, p, NULL, "bad_json",
		    "each message must be one JSON object", NULL);
		goto out;
	}
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(json, "action");
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(json, "payload");
	if (!cJSON_IsString(action)) {
		send_error(w, p, NULL, "unknown_action",
		    "the message needs an \"action\"", "action");
	} else if (strcmp(action->valuestring, "sendprompt") == 0) {
		do_sendprompt(w, p, user, payload);
	} else if (strcmp(action->valuestring, "stop") == 0) {
		do_stop(w, p, payload);
	} else if (strcmp(action->valuestring, "ping") == 0) {
		send_line(w, p, frame_pong());
	} else {
		send_error(w, p, NULL, "unknown_action",
		    "unknown action; use sendprompt, stop or ping", "action");
	}
out:
	cJSON_Delete(json);
}

/* Ends every reply of a session that went away. */
static void
drop_peer(struct worker *w, const struct peer *p)
{
	struct reply *r = w->replies, *next;

	for (; r != NULL; r = next) {
		next = r->next;
		if (same_peer(&r->peer, p)) {
			log_info("reply abandoned user=%s msgid=%.40s bytes=%zu",
			    r->user, r->msgid, r->call.content.len);
			reply_free(r);
		}
	}
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
		send_error(w, p, NULL, "unauthorized", "origin not allowed", NULL);
		send_to(w, p, RELAY_CLOSE, "origin");
		return -1;
	}
	int t = LC_TOKEN_MALFORMED;
	if (creds_find_token(field[RELAY_COOKIE], field[RELAY_QUERY], token,
	    sizeof(token)) == 1)
		t = token_verify(w->key, token, time(NULL), user, NULL);
	explicit_bzero(token, sizeof(token));
	if (t != LC_TOKEN_OK) {
		log_info("session refused: %s peer=%.64s", token_strerror(t),
		    field[RELAY_PEER]);
		send_error(w, p, NULL, "unauthorized",
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
	if (nf != RELAY_UP_FRAMES + 1 || zmq_msg_size(&f[0]) > IDENTITY_MAX) {
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
		send_error(w, &p, NULL, "message_too_large", msg, NULL);
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

struct worker *
worker_new(const struct lc_config *cfg, const struct lc_token_key *key)
{
	struct worker *w = calloc(1, sizeof(*w));
	int one = 1, zero = 0;

	if (w == NULL)
		return NULL;
	w->cfg = cfg;
	w->key = key;
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
	return w;
fail:
	worker_free(w);
	return NULL;
}

int
worker_run(struct worker *w, volatile sig_atomic_t *stop)
{
	int rc = loop_run(w->loop, stop);

	while (w->replies != NULL) {
		struct reply *r = w->replies;
		send_error(w, &r->peer, r->msgid, "worker_unavailable",
		    "the server is restarting; try again in a moment", NULL);
		reply_free(r);
	}
	return rc;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	while (w->replies != NULL)
		reply_free(w->replies);
	loop_free(w->loop);
	if (w->multi != NULL)
		curl_multi_cleanup(w->multi);
	if (w->router != NULL)
		zmq_close(w->router);
	if (w->zctx != NULL)
		zmq_ctx_term(w->zctx);
	free(w);
}
