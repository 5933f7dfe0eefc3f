/* session.c - the worker's side of the WebSocket sessions: receives their
 * messages from the ROUTER socket, checks the credentials that ride on
 * each, budgets each session's messages, holds each user and address to
 * their share of sessions and messages (limits.c), dispatches the actions
 * (sendprompt, regenerate, stop, watch, switch, ping), and sends lines,
 * errors,
 * closes and, for each reply it admits, the asking session's fallback final
 * frame (RELAY_INFLIGHT) back. The only module that sends or receives ZeroMQ
 * messages (loop.c only waits on the socket). */
#include "session.h"

#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "creds.h"
#include "frames.h"
#include "json.h"
#include "limits.h"
#include "log.h"
#include "monotime.h"
#include "outq.h"
#include "relay.h"
#include "request.h"
#include "router.h"
#include "session_check.h"
#include "users_fp.h"

/* What the worker knows of each WebSocket session: its message budget (a
 * token bucket, against floods), and whose login it is, so that the sweep
 * (session_sweep) closes it when that login ends. */
struct peer_rate {
	struct peer_rate *next;
	struct peer peer;
	double tokens;
	struct timespec last;
	char user[LC_USER_MAX + 1];   /* "" until its credentials checked */
	char sid[LC_SID_LEN + 1];
	char pwv[LC_PWV_LEN + 1];
	struct timespec checked;      /* its session last found valid */
};

#define SWEEP_MAX 256   /* sessions checked again per tick, at most */
/* A session is checked again this long after its last check: with the
 * 1 s tick, an ended login is closed within 2 s. */
#define SWEEP_RECHECK_MS 900

/* A token that verified: its user, expiry, session and fingerprint, and
 * when its session was last found valid (see token_check). */
#define TOKEN_SEEN_SLOTS 64
#define TOKEN_SEEN_MAX 512    /* longer tokens are verified every time */
#define SESSION_RECHECK_MS 2000  /* staleness allowed of a session's check */
struct token_seen {
	size_t len;                   /* 0: empty slot */
	char token[TOKEN_SEEN_MAX];
	char user[LC_USER_MAX + 1];
	char sid[LC_SID_LEN + 1];
	char pwv[LC_PWV_LEN + 1];
	long exp;
	struct timespec checked;      /* session_check last said valid */
};

struct session {
	const struct lc_config *cfg;
	struct lc_token_key key;        /* a copy: reloaded when the file changes */
	struct lc_token_key_stamp key_stamp;
	struct stat users_stamp;      /* the users file when last swept */
	struct store *store;
	struct router *router;
	struct watch *watch;
	struct prompts *prompts;
	struct replies *replies;
	struct remote remote;         /* the other hosts (NULLs: none) */
	const struct models_live *live; /* what discovery saw, or NULL */
	struct peer_rate *rates;
	struct limits *limits;        /* sessions per user and address */
	struct token_seen seen[TOKEN_SEEN_SLOTS];
	struct outq *outq;            /* what each session is owed */
	size_t trim_high;             /* outq_total's high mark since a trim */
	unsigned long long rate_limited, refused; /* for session_stats */
};

_Static_assert(LIMITS_KEY_MAX >= PEER_ID_MAX, "a peer is a limits key");

/* The cost charged per message queued beyond its body: its frames'
 * headers and the router's record of it take ~48 bytes; 256 is what
 * libzmq's pipe took, kept so that the bounds measured with it (bench rows
 * 8 and 8b) still hold. */
#define FRAME_OVERHEAD 256
/* Memory is given back (malloc_trim) once what the router holds fell to a
 * quarter of a high mark of at least this. Measured with 6 non-reading
 * clients and session_send_queue at 16 MB: 84 MB kept after they left
 * without it, 17.6 MB with it (the worker started at 15 MB). */
#define TRIM_MIN (4u << 20)

/* The router tells when a frame is written or dropped: its bytes stay
 * charged to its session (outq_acct) until then. */
static void
frame_done(void *arg, size_t n)
{
	outq_acct_release(arg, n);
}

/* Queues one frame set for a session in the router, never waiting: a full
 * queue is OUTQ_FULL. For outq.c. */
static enum outq_sent
zsend(void *arg, const struct peer *p, const char *kind, const char *body,
    struct outq_acct *acct)
{
	struct session *s = arg;
	size_t n = strlen(body);
	struct zmtp_part parts[2] = { { kind, strlen(kind) }, { body, n } };
	struct router_done done = { frame_done, acct, n + FRAME_OVERHEAD };

	switch (router_send(s->router, p->id, p->idlen, parts, 2,
	    acct != NULL ? &done : NULL)) {
	case ROUTER_SENT:
		if (acct != NULL)
			outq_acct_charge(acct, done.n);
		return OUTQ_SENT;
	case ROUTER_FULL:
		return OUTQ_FULL;
	default:
		return OUTQ_GONE;
	}
}

/* Sends one frame set to a session, or holds it while the session is
 * behind (worker/outq.h). Returns 0, or -1 if it is gone. */
static int
send_to(struct session *s, const struct peer *p, const char *kind,
    const char *body)
{
	return outq_send(s->outq, p, kind, body, NULL);
}

static int
sink_send(void *arg, const struct peer *p, const char *line)
{
	return send_to(arg, p, RELAY_LINE, line);
}

static int
sink_delta(void *arg, const struct peer *p, const char *line,
    const struct peer_delta *d)
{
	struct session *s = arg;

	return outq_send(s->outq, p, RELAY_LINE, line, d);
}

/* For outq.c: the text a session missed of a reply. */
static char *
q_missed(void *arg, unsigned long reply, size_t offset)
{
	struct session *s = arg;

	return s->replies != NULL ? reply_missed(s->replies, reply, offset) :
	    NULL;
}

/* For outq.c (from session_sweep's outq_tick): p is closed as too slow;
 * it watches nothing and its replies go on without it. */
static void
q_slow(void *arg, const struct peer *p, long behind_ms, const char *why)
{
	struct session *s = arg;
	const char *user = "-";

	for (struct peer_rate *x = s->rates; x != NULL; x = x->next)
		if (peer_equal(&x->peer, p) && x->user[0] != '\0')
			user = x->user;
	if (strcmp(why, "memory") == 0)
		log_warn("session closed user=%s: the worker's send queues are "
		    "over worker_send_budget and this one held the most, behind "
		    "for %ld s (close reason memory)", user,
		    (behind_ms + 999) / 1000);
	else
		log_info("session closed user=%s: slow client, behind for %ld s "
		    "(close reason slow)", user, (behind_ms + 999) / 1000);
	if (s->watch != NULL)
		watch_set(s->watch, p, "", "");
	if (s->replies != NULL)
		reply_peer_gone(s->replies, p);
}

/* For outq.c: shuts p's connection, so that the router drops what it
 * holds for p. The descriptor is the router's: shutdown, never close, and
 * only while it is still p's connection (limits_fd compares the file). */
static int
q_cut(void *arg, const struct peer *p)
{
	struct session *s = arg;
	int fd = limits_fd(s->limits, p->id, p->idlen);

	if (fd < 0 || shutdown(fd, SHUT_RDWR) != 0)
		return -1;
	return 0;
}

struct peer_sink
session_sink(struct session *s)
{
	struct peer_sink sink = { sink_send, s, sink_delta };

	return sink;
}

/* Sends frame (freed here) to a session as one client line. */
static void
send_frame(struct session *s, const struct peer *p, char *frame)
{
	if (frame == NULL) {
		log_err("out of memory building a frame");
		return;
	}
	send_to(s, p, RELAY_LINE, frame);
	free(frame);
}

static void
send_error(struct session *s, const struct peer *p, const char *msgid,
    const char *code, const char *message, const char *field)
{
	struct frame_error e = { msgid, NULL, code, message, field, 0, -1,
	    NULL, NULL, NULL };

	send_frame(s, p, frame_error(&e));
}

/* The error frame of a prompt refused with err: its code, message and
 * field, and for budget_exceeded the limit reached with the currency
 * (frames.h). The same frame for both request shapes. */
static void
send_refusal(struct session *s, const struct peer *p, const char *msgid,
    const struct request_error *err)
{
	struct frame_error e = { msgid, NULL, err->code, err->message,
	    err->field, 0, -1, NULL, err->budget.exceeded ? &err->budget : NULL,
	    s->cfg->currency };

	send_frame(s, p, frame_error(&e));
}

/* Tells the session that asked for an admitted reply that it is in flight,
 * with the final frame its client gets should this worker go away before
 * the reply ends (RELAY_INFLIGHT in lib/relay.h; ws/inflight.h). The frame
 * begins as every frame of the reply does: same msgid, same conversation. */
static void
send_inflight(struct session *s, const struct peer *p, const char *user,
    const struct chat_request *req)
{
	struct frame_error e = { req->msgid, req->conversation_id,
	    "worker_unavailable",
	    "the server stopped during this reply; regenerate it", NULL, 0, -1,
	    NULL, NULL, NULL };
	char *frame;

	if (reply_find(s->replies, user, req->msgid, NULL) == NULL)
		return;  /* it ended already, with its own final frame */
	frame = frame_error(&e);
	if (frame == NULL) {
		log_err("out of memory building a frame");
		return;
	}
	send_to(s, p, RELAY_INFLIGHT, frame);
	free(frame);
}

static void
do_prompt(struct session *s, const struct peer *p, const char *user,
    const cJSON *payload, enum request_kind kind)
{
	struct chat_request req;
	struct request_error err;

	/* Discovered models route too (s->live NULL: static lists only). */
	if (request_parse(payload, kind, s->cfg, s->live, &req, &err) != 0 ||
	    prompt_start(s->prompts, p, user, &req, kind == REQUEST_REGENERATE,
	    &err) != 0)
		send_refusal(s, p, req.msgid[0] ? req.msgid : NULL, &err);
	else
		send_inflight(s, p, user, &req);
	request_free(&req);
}

static void
do_stop(struct session *s, const struct peer *p, const char *user,
    const cJSON *payload)
{
	const cJSON *msgid = cJSON_GetObjectItemCaseSensitive(payload, "msgid");
	const cJSON *conv = cJSON_GetObjectItemCaseSensitive(payload,
	    "conversation_id");
	struct reply *r;

	if (!cJSON_IsString(msgid) && !cJSON_IsString(conv)) {
		send_error(s, p, NULL, "invalid_request",
		    "stop needs payload.msgid or payload.conversation_id",
		    "msgid");
		return;
	}
	/* Any of the user's sessions may stop the user's reply. */
	r = reply_find(s->replies, user, cJSON_IsString(msgid) ?
	    msgid->valuestring : NULL, cJSON_IsString(conv) ?
	    conv->valuestring : NULL);
	if (r != NULL)
		reply_stop(r);
	else if (s->remote.stop != NULL)  /* another host's, maybe */
		s->remote.stop(s->remote.arg, user, cJSON_IsString(msgid) ?
		    msgid->valuestring : NULL, cJSON_IsString(conv) ?
		    conv->valuestring : NULL);
	/* else already finished: its frame is sent */
}

/* watch {"conversation_id": id|null}; ping may carry {"watch": id} so that
 * a restarted worker learns again what each session shows. */
static void
do_watch(struct session *s, const struct peer *p, const char *user,
    const cJSON *id, int quiet)
{
	const char *was;

	if (id == NULL || cJSON_IsNull(id)) {
		if (!quiet)
			watch_set(s->watch, p, user, "");
		return;
	}
	if (!cJSON_IsString(id) || !id_valid(id->valuestring)) {
		send_error(s, p, NULL, "invalid_request",
		    "conversation_id must be an id from this server",
		    "conversation_id");
		return;
	}
	was = watch_get(s->watch, p);
	if (quiet && was != NULL && strcmp(was, id->valuestring) == 0)
		return;  /* a heartbeat that changes nothing */
	int rc = store_conv_owned(s->store, id->valuestring, user);
	if (rc != STORE_OK) {
		send_error(s, p, NULL, rc == STORE_NOT_FOUND ?
		    "not_found" : "storage_error", rc == STORE_NOT_FOUND ?
		    "no such conversation" : "the database failed",
		    "conversation_id");
		return;
	}
	watch_set(s->watch, p, user, id->valuestring);
	/* No reply here: another host may be writing one (its snapshot, or
	 * idle, then comes from the cluster). */
	if (s->remote.watch != NULL && reply_find(s->replies, user, NULL,
	    id->valuestring) == NULL && s->remote.watch(s->remote.arg, p, user,
	    id->valuestring) == 1)
		return;
	send_frame(s, p, reply_snapshot(s->replies, user, id->valuestring));
}

/* Takes one message from p's budget: max_messages_per_minute, refilled
 * continuously, bursts up to a quarter of it. Returns 0, or -1 when empty. */
static double
rate_burst(const struct session *s)
{
	return (double)s->cfg->max_messages_per_minute / 4.0 + 1.0;
}

/* Finds p's entry, made (with a full budget) when it has none. Returns
 * NULL when out of memory. */
static struct peer_rate *
peer_entry(struct session *s, const struct peer *p)
{
	struct peer_rate *x;

	for (x = s->rates; x != NULL; x = x->next)
		if (peer_equal(&x->peer, p))
			return x;
	x = calloc(1, sizeof(*x));
	if (x == NULL)
		return NULL;
	x->peer = *p;
	x->tokens = rate_burst(s);
	monotime_now(&x->last);
	monotime_now(&x->checked);
	x->next = s->rates;
	s->rates = x;
	return x;
}

static int
rate_take(struct session *s, const struct peer *p)
{
	double per_s = (double)s->cfg->max_messages_per_minute / 60.0;
	double burst = rate_burst(s);
	struct peer_rate *x = peer_entry(s, p);

	if (x == NULL)
		return 0;  /* out of memory: do not punish the client */
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
rate_forget(struct session *s, const struct peer *p)
{
	for (struct peer_rate **pp = &s->rates, *x; (x = *pp) != NULL;
	    pp = &x->next) {
		if (peer_equal(&x->peer, p)) {
			*pp = x->next;
			free(x);
			return;
		}
	}
}

static void
act_sendprompt(struct session *s, const struct peer *p, const char *user,
    const cJSON *payload)
{
	do_prompt(s, p, user, payload, REQUEST_SENDPROMPT);
}

static void
act_regenerate(struct session *s, const struct peer *p, const char *user,
    const cJSON *payload)
{
	do_prompt(s, p, user, payload, REQUEST_REGENERATE);
}

static void
act_watch(struct session *s, const struct peer *p, const char *user,
    const cJSON *payload)
{
	do_watch(s, p, user, cJSON_GetObjectItemCaseSensitive(payload,
	    "conversation_id"), 0);
}

/* switch {"conversation_id","message_id"}: the path through that message
 * (down its newest children) becomes the conversation's current one, the
 * one shown and continued from; the asker and the user's other sessions
 * watching it get the switched frame. Refused while a reply is being
 * written in the conversation: watch and resume follow the branch being
 * written. */
static void
act_switch(struct session *s, const struct peer *p, const char *user,
    const cJSON *payload)
{
	const cJSON *conv = cJSON_GetObjectItemCaseSensitive(payload,
	    "conversation_id");
	struct request_error err;
	long long msg_id = 0, leaf = 0;
	int rc;

	memset(&err, 0, sizeof(err));
	if (!cJSON_IsString(conv) || !id_valid(conv->valuestring)) {
		send_error(s, p, NULL, "invalid_request",
		    "conversation_id must be an id from this server",
		    "conversation_id");
		return;
	}
	if (request_get_id(payload, "message_id", &msg_id, &err) != 0 ||
	    msg_id == 0) {
		send_error(s, p, NULL, "invalid_request", msg_id == 0 &&
		    err.code == NULL ? "switch needs payload.message_id" :
		    err.message, "message_id");
		return;
	}
	if (reply_find(s->replies, user, NULL, conv->valuestring) != NULL) {
		send_error(s, p, NULL, "conversation_busy", "a reply is being "
		    "written in this conversation; stop it or wait", NULL);
		return;
	}
	rc = store_conv_switch(s->store, conv->valuestring, user, msg_id, &leaf);
	if (rc != STORE_OK) {
		send_error(s, p, NULL, rc == STORE_NOT_FOUND ? "not_found" :
		    "storage_error", rc == STORE_NOT_FOUND ?
		    "no such conversation or message" : "the database failed",
		    rc == STORE_NOT_FOUND ? "message_id" : NULL);
		return;
	}
	log_info("switch user=%s conversation=%s leaf=%lld", user,
	    conv->valuestring, leaf);
	/* To the asker and to the user's other sessions showing it, which
	 * then read the path again. */
	char *frame = frame_switched(conv->valuestring, leaf);
	if (frame == NULL) {
		log_err("out of memory building a frame");
		return;
	}
	watch_fanout(s->watch, p, 1, user, conv->valuestring, frame);
	free(frame);
}

static void
act_ping(struct session *s, const struct peer *p, const char *user,
    const cJSON *payload)
{
	do_watch(s, p, user, cJSON_GetObjectItemCaseSensitive(payload,
	    "watch"), 1);
	send_frame(s, p, frame_pong());
}

/* The client actions (docs/PROTOCOL.md), by their "action" name. */
static const struct action {
	const char *name;
	void (*fn)(struct session *s, const struct peer *p, const char *user,
	    const cJSON *payload);
} actions[] = {
	{ "sendprompt", act_sendprompt },
	{ "regenerate", act_regenerate },
	{ "stop", do_stop },
	{ "watch", act_watch },
	{ "switch", act_switch },
	{ "ping", act_ping },
};

/* Handles one client line. */
static void
do_message(struct session *s, const struct peer *p, const char *user,
    const char *line, size_t len)
{
	cJSON *json = NULL;

	if (rate_take(s, p) != 0) {
		s->rate_limited++;
		send_error(s, p, NULL, "rate_limited",
		    "too many messages; slow down", NULL);
		return;
	}
	if (limits_take(s->limits, user, monotime_ms()) != 0) {
		char msg[160];
		snprintf(msg, sizeof(msg), "too many messages from your "
		    "connections: at most %ld a minute "
		    "(max_messages_per_user_minute); slow down",
		    s->cfg->max_messages_per_user_minute);
		s->rate_limited++;
		send_error(s, p, NULL, "rate_limited", msg, NULL);
		return;
	}
	const char *why = "each message must be one JSON object";
	json = json_parse_strict(line, len, &why);
	if (!cJSON_IsObject(json)) {
		char msg[128];
		snprintf(msg, sizeof(msg), "bad message: %s", why);
		send_error(s, p, NULL, "bad_json", msg, NULL);
		goto out;
	}
	const cJSON *action = cJSON_GetObjectItemCaseSensitive(json, "action");
	const cJSON *payload = cJSON_GetObjectItemCaseSensitive(json, "payload");
	const char *a = cJSON_IsString(action) ? action->valuestring : "";
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++) {
		if (strcmp(a, actions[i].name) == 0) {
			actions[i].fn(s, p, user, payload);
			goto out;
		}
	}
	send_error(s, p, NULL, "unknown_action",
	    "unknown action; use sendprompt, regenerate, stop, watch, switch "
	    "or ping",
	    "action");
out:
	cJSON_Delete(json);
}

/* The session went away: it watches nothing; its replies go on. */
static void
drop_peer(struct session *s, const struct peer *p)
{
	watch_set(s->watch, p, "", "");
	rate_forget(s, p);
	limits_close(s->limits, p->id, p->idlen);
	reply_peer_gone(s->replies, p);
	outq_forget(s->outq, p);
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

/* Verifies token as lib/session_check.h's session_verify does, remembering
 * tokens that verified: every session message carries its token, and
 * decoding it (base64, two JSON parses, an HMAC) was a third of the
 * worker's cost per message. A token that was valid (iat, nbf not in the
 * future) stays so until its exp, which is checked each time, while the
 * key stays (session_key_changed empties the cache); its session (row and
 * fingerprint) is checked again when the last check is SESSION_RECHECK_MS
 * old. Returns an LC_TOKEN_* code, with user, sid and pwv (may be NULL)
 * set on LC_TOKEN_OK. */
static int
token_check(struct session *s, const char *token, time_t now,
    char user[LC_USER_MAX + 1], char *sid_out, char *pwv_out)
{
	size_t n = strlen(token);
	uint32_t h = 2166136261u;   /* FNV-1a, to pick a slot */
	char sid[LC_SID_LEN + 1], pwv[LC_PWV_LEN + 1];
	struct token_seen *e;
	const char *why = NULL;
	long exp = 0;
	int t;

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)token[i]) * 16777619u;
	e = &s->seen[h % TOKEN_SEEN_SLOTS];
	if (n < TOKEN_SEEN_MAX && e->len == n &&
	    equal_ct(e->token, token, n) && e->exp > (long)now) {
		if (monotime_ms_since(&e->checked) >= SESSION_RECHECK_MS) {
			int v = session_check(s->store, s->cfg, e->user,
			    e->sid, e->pwv, now, 1, &why);
			/* An outage of the database does not end the
			 * sessions it checked before: the next message
			 * checks again. */
			if (v != SESSION_VALID && v != SESSION_ERROR) {
				log_info("session refused user=%s: %s",
				    e->user, why);
				explicit_bzero(e, sizeof(*e));
				user[0] = '\0';
				return LC_TOKEN_REVOKED;
			}
			monotime_now(&e->checked);
		}
		memcpy(user, e->user, strlen(e->user) + 1);
		if (sid_out != NULL)
			memcpy(sid_out, e->sid, sizeof(e->sid));
		if (pwv_out != NULL)
			memcpy(pwv_out, e->pwv, sizeof(e->pwv));
		return LC_TOKEN_OK;
	}
	t = token_verify(&s->key, token, now, user, &exp, sid, pwv);
	if (t == LC_TOKEN_OK) {
		int v = session_check(s->store, s->cfg, user, sid, pwv, now, 1,
		    &why);
		if (v != SESSION_VALID) {
			log_info("session refused user=%s: %s", user, why);
			user[0] = '\0';
			t = v == SESSION_ERROR ? LC_TOKEN_UNAVAILABLE :
			    LC_TOKEN_REVOKED;
		}
	}
	if (t != LC_TOKEN_OK)
		return t;
	if (n < TOKEN_SEEN_MAX) {
		memcpy(e->token, token, n);
		e->len = n;
		memcpy(e->user, user, strlen(user) + 1);
		memcpy(e->sid, sid, sizeof(sid));
		memcpy(e->pwv, pwv, sizeof(pwv));
		e->exp = exp;
		monotime_now(&e->checked);
	}
	if (sid_out != NULL)
		memcpy(sid_out, sid, sizeof(sid));
	if (pwv_out != NULL)
		memcpy(pwv_out, pwv, sizeof(pwv));
	return LC_TOKEN_OK;
}

/* Refuses session p: the unauthorized frame, then the close. */
static void
refuse_session(struct session *s, const struct peer *p, const char *message)
{
	send_error(s, p, NULL, "unauthorized", message, NULL);
	send_to(s, p, RELAY_CLOSE, "unauthorized");
}

/* Counts session p of user from peer (the RELAY_PEER field) whose messages
 * arrive on descriptor fd, and refuses it (an error frame naming the limit,
 * then the close) when the user or the address has all the sessions it may
 * have, or when the table is full (refused, never uncounted). Returns 0, or
 * -1 after refusing it. */
static int
count_session(struct session *s, const struct peer *p, const char *user,
    const char *peer, int fd)
{
	enum limits_verdict v = limits_open(s->limits, p->id, p->idlen, user,
	    peer, fd, monotime_ms());
	char msg[160];

	if (v == LIMITS_OK)
		return 0;
	if (v == LIMITS_USER)
		snprintf(msg, sizeof(msg), "too many connections for this user: "
		    "at most %ld (max_connections_per_user)",
		    s->cfg->max_connections_per_user);
	else if (v == LIMITS_ADDRESS)
		snprintf(msg, sizeof(msg), "too many connections from this "
		    "address: at most %ld (max_connections_per_address)",
		    s->cfg->max_connections_per_address);
	else
		snprintf(msg, sizeof(msg), "the server has no room for another "
		    "connection; try again later");
	log_warn("session refused user=%s peer=%.64s: too many connections "
	    "(%s)", user, peer, limits_strerror(v));
	s->refused++;
	send_error(s, p, NULL, "too_many_connections", msg, NULL);
	send_to(s, p, RELAY_CLOSE, "too_many_connections");
	return -1;
}

/* Checks a session's credentials again (the authorizer did first), and
 * remembers whose login the session is. Returns 0 with user set, or -1
 * after refusing the session. */
static int
check_session(struct session *s, const struct peer *p,
    const struct zmtp_part *f, int fd, char user[LC_USER_MAX + 1])
{
	char field[RELAY_UP_FRAMES][RELAY_FIELD_MAX + 1];
	char token[LC_TOKEN_MAX + 1];

	for (int i = RELAY_COOKIE; i <= RELAY_PEER; i++) {
		size_t n = f[i].len;
		if (n > RELAY_FIELD_MAX)
			n = 0;
		memcpy(field[i], f[i].data, n);
		field[i][n] = '\0';
	}
	/* The configured origins, not the Host the client chose. */
	if (!creds_origin_allowed(field[RELAY_ORIGIN], s->cfg->public_origin,
	    s->cfg->allowed_origins)) {
		log_warn("session refused: origin not allowed peer=%.64s",
		    field[RELAY_PEER]);
		send_error(s, p, NULL, "unauthorized", "origin not allowed", NULL);
		send_to(s, p, RELAY_CLOSE, "origin");
		return -1;
	}
	int t = LC_TOKEN_MALFORMED;
	char sid[LC_SID_LEN + 1], pwv[LC_PWV_LEN + 1];
	if (creds_find_token(field[RELAY_COOKIE], field[RELAY_QUERY], token,
	    sizeof(token)) == 1)
		t = token_check(s, token, time(NULL), user, sid, pwv);
	explicit_bzero(token, sizeof(token));
	if (t != LC_TOKEN_OK) {
		log_info("session refused: %s peer=%.64s", token_strerror(t),
		    field[RELAY_PEER]);
		if (t == LC_TOKEN_UNAVAILABLE) {
			/* Not a login that ended: the connection stays, and
			 * its next message is checked again. */
			send_error(s, p, NULL, "storage_error", "the database "
			    "is not available; try again", NULL);
			return -1;
		}
		refuse_session(s, p, t == LC_TOKEN_EXPIRED ? "your session has "
		    "expired; log in again" : "log in first");
		return -1;
	}
	struct peer_rate *x = peer_entry(s, p);
	/* Its first checked message counts it; its "bye", its close by the
	 * worker or its connection found gone (session_sweep) uncounts it. */
	if (x != NULL && x->user[0] == '\0' && count_session(s, p, user,
	    field[RELAY_PEER], fd) != 0)
		return -1;
	if (x != NULL && strcmp(x->sid, sid) != 0) {
		memcpy(x->user, user, strlen(user) + 1);
		memcpy(x->sid, sid, sizeof(sid));
		memcpy(x->pwv, pwv, sizeof(pwv));
		monotime_now(&x->checked);
	}
	return 0;
}

static int
frame_is(const struct zmtp_part *m, const char *str)
{
	return m->len == strlen(str) && memcmp(m->data, str, m->len) == 0;
}

/* Reads one whole message (RELAY_UP_FRAMES frames from a session) and
 * acts. Returns 0 handled, 1 nothing to read. */
static int
handle_one(struct session *s)
{
	struct router_msg m;
	struct peer p;
	char user[LC_USER_MAX + 1];

	if (router_recv(s->router, &m) != 1)
		return 1;
	if (m.n != RELAY_UP_FRAMES || m.idlen > PEER_ID_MAX) {
		log_warn("malformed message from a session (%d frames)", m.n);
		return 0;
	}
	p.idlen = m.idlen;
	memcpy(p.id, m.id, p.idlen);
	const struct zmtp_part *fields = m.parts;
	if (frame_is(&fields[RELAY_KIND], RELAY_BYE)) {
		drop_peer(s, &p);
		return 0;
	}
	if (outq_closing(s->outq, &p))
		return 0;  /* closed as too slow: it is told so, not answered */
	if (check_session(s, &p, fields, m.fd, user) != 0) {
		drop_peer(s, &p);
		return 0;
	}
	if (frame_is(&fields[RELAY_KIND], RELAY_HELLO)) {
		log_info("session open user=%s", user);
	} else if (frame_is(&fields[RELAY_KIND], RELAY_TOOLONG)) {
		char msg[96];
		snprintf(msg, sizeof(msg), "the message is larger than %ld bytes",
		    s->cfg->max_message);
		send_error(s, &p, NULL, "message_too_large", msg, NULL);
	} else if (frame_is(&fields[RELAY_KIND], RELAY_MSG)) {
		do_message(s, &p, user, fields[RELAY_BODY].data,
		    fields[RELAY_BODY].len);
	} else {
		log_warn("unknown message kind from a session");
	}
	return 0;
}

/* Forgets every remembered token of session sid. */
static void
seen_forget_sid(struct session *s, const char *sid)
{
	for (int i = 0; i < TOKEN_SEEN_SLOTS; i++)
		if (s->seen[i].len != 0 && strcmp(s->seen[i].sid, sid) == 0)
			explicit_bzero(&s->seen[i], sizeof(s->seen[i]));
}

/* For reply_stop_gone: 1 while user is in the users file (or the file
 * cannot be read: a reply is not stopped on a read error). */
static int
user_exists(void *arg, const char *user)
{
	struct session *s = arg;
	char fp[LC_USERS_FP_LEN + 1];

	return users_fingerprint(s->cfg->users_file, user, fp) != 0;
}

/* The key file changed (lightchat-admin rotate-key): no remembered token
 * is valid any more, nor any open session. */
static void
key_changed(struct session *s)
{
	log_info("token key changed: every earlier login ended");
	explicit_bzero(s->seen, sizeof(s->seen));
	limits_clear(s->limits);
	while (s->rates != NULL) {
		struct peer_rate *x = s->rates;
		s->rates = x->next;
		if (x->user[0] != '\0')
			refuse_session(s, &x->peer, "your session has ended; "
			    "log in again");
		watch_set(s->watch, &x->peer, "", "");
		reply_peer_gone(s->replies, &x->peer);
		if (!outq_behind(s->outq, &x->peer))
			outq_forget(s->outq, &x->peer);  /* its close is sent */
		free(x);
	}
}

/* Returns 1 if the users file changed since the last call (or cannot be
 * looked at), else 0: a user can only be deleted by changing it, so an
 * unchanged file spares the sweep a lookup per session. */
static int
users_file_changed(struct session *s)
{
	struct stat st, *o = &s->users_stamp;

	if (stat(s->cfg->users_file, &st) != 0)
		return 1;
	if (st.st_dev == o->st_dev && st.st_ino == o->st_ino &&
	    st.st_size == o->st_size &&
	    st.st_mtim.tv_sec == o->st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == o->st_mtim.tv_nsec)
		return 0;
	*o = st;
	return 1;
}

void
session_sweep(struct session *s)
{
	time_t now = time(NULL);
	int checked = 0, changed = users_file_changed(s);
	char err[256];
	int k = token_key_refresh(s->cfg->token_key_file, &s->key,
	    &s->key_stamp, now, err, sizeof(err));

	outq_tick(s->outq);
	router_tick(s->router);
	/* What the slow sessions' queues held goes back to the system. */
	size_t total = outq_total(s->outq);
	if (total > s->trim_high) {
		s->trim_high = total;
	} else if (s->trim_high >= TRIM_MIN && total <= s->trim_high / 4) {
		malloc_trim(0);
		s->trim_high = total;
	}
	if (k == 1)
		key_changed(s);
	else if (k < 0)
		log_err("%s (the previous key stays)", err);

	/* Sessions that ended without a "bye" (killed): their connection is
	 * closed. */
	struct peer gone;
	while (limits_gone(s->limits, gone.id, &gone.idlen) == 1) {
		log_info("session gone without a bye");
		drop_peer(s, &gone);
	}

	for (struct peer_rate **pp = &s->rates, *x; (x = *pp) != NULL; ) {
		/* A deleted user's sessions are due at once: they are closed
		 * before their replies are stopped below. */
		if (x->user[0] == '\0' || ((checked >= SWEEP_MAX ||
		    monotime_ms_since(&x->checked) < SWEEP_RECHECK_MS) &&
		    (!changed || user_exists(s, x->user)))) {
			pp = &x->next;
			continue;
		}
		checked++;
		const char *why = NULL;
		int v = session_check(s->store, s->cfg, x->user, x->sid, x->pwv,
		    now, 0, &why);
		if (v == SESSION_VALID) {
			monotime_now(&x->checked);
			pp = &x->next;
			continue;
		}
		if (v == SESSION_ERROR) {
			/* Not known to have ended: checked again next time. */
			pp = &x->next;
			continue;
		}
		log_info("session closed user=%s: %s", x->user, why);
		refuse_session(s, &x->peer, "your session has ended; log in "
		    "again");
		seen_forget_sid(s, x->sid);
		if (v == SESSION_NO_USER && s->replies != NULL) {
			int n = reply_stop_user(s->replies, x->user);
			if (n > 0)
				log_info("stopped %d replies of deleted user=%s",
				    n, x->user);
		}
		*pp = x->next;
		watch_set(s->watch, &x->peer, "", "");
		limits_close(s->limits, x->peer.id, x->peer.idlen);
		reply_peer_gone(s->replies, &x->peer);
		if (!outq_behind(s->outq, &x->peer))
			outq_forget(s->outq, &x->peer);  /* its close is sent */
		free(x);
	}
	/* Then a deleted user's replies stop, with or without a connection
	 * (only when the users file changed: nobody was deleted otherwise). */
	if (changed && s->replies != NULL) {
		int n = reply_stop_gone(s->replies, user_exists, s);
		if (n > 0)
			log_info("stopped %d replies of deleted users", n);
	}
}

long
session_due(struct session *s)
{
	return outq_due(s->outq);
}

void
session_flush_reply(struct session *s, unsigned long reply)
{
	outq_flush_reply(s->outq, reply);
}

void
session_receive(struct session *s, int max)
{
	for (int i = 0; i < max; i++)
		if (handle_one(s) != 0)
			break;
}

struct session *
session_new(const struct lc_config *cfg, const struct lc_token_key *key,
    struct store *store)
{
	struct session *s = calloc(1, sizeof(*s));
	/* Backstops: each message is charged FRAME_OVERHEAD bytes at least,
	 * so the bounds of outq.c are reached first; the bytes are what it
	 * lets one session queue (its queue, then one frame). */
	struct router_limits rl = {
		.max_msg = RELAY_UP_MAX(cfg->max_message),
		.max_peers = (size_t)cfg->max_connections * 2 + 16,
		.queue_msgs = (size_t)(cfg->session_send_queue /
		    FRAME_OVERHEAD) + 16,
		.queue_bytes = (size_t)cfg->session_send_queue +
		    RELAY_LINE_MAX(cfg->max_reply) + 65536,
	};
	struct frame_error slow = { NULL, NULL, "slow_client", "this "
	    "connection fell too far behind reading its replies and is closed; "
	    "they are saved: reconnect to see them", NULL, 0, -1, NULL, NULL,
	    NULL };
	char *slow_line = NULL;

	if (s == NULL)
		return NULL;
	slow_line = frame_error(&slow);
	struct outq_limits lim = {
		.queue = (size_t)cfg->session_send_queue,
		.held_max = (size_t)cfg->session_send_queue +
		    RELAY_LINE_MAX(cfg->max_reply),
		.timeout_ms = cfg->slow_client_timeout * 1000,
		.budget = (size_t)cfg->worker_send_budget,
		.overhead = FRAME_OVERHEAD,
		.slow_line = slow_line,
		.coalesce_ms = cfg->stream_coalesce_ms,
		.coalesce_bytes = (size_t)cfg->stream_coalesce_bytes,
	};
	struct outq_ops ops = { zsend, q_missed, q_slow, q_cut, s, NULL };
	s->outq = slow_line != NULL ? outq_new(&lim, ops) : NULL;
	free(slow_line);
	if (s->outq == NULL) {
		log_err("out of memory");
		goto fail;
	}
	s->cfg = cfg;
	s->key = *key;
	char err[256];
	token_key_refresh(cfg->token_key_file, &s->key, &s->key_stamp,
	    time(NULL), err, sizeof(err));
	s->store = store;
	/* Twice the sessions websocketd runs at once: room for the ended ones
	 * the sweep has not found yet. */
	s->limits = limits_new(cfg->max_connections_per_user,
	    cfg->max_connections_per_address,
	    cfg->max_messages_per_user_minute,
	    (size_t)cfg->max_connections * 2);
	if (s->limits == NULL) {
		log_err("out of memory for the session limits");
		goto fail;
	}
	s->router = router_new(cfg->worker_endpoint, &rl, err, sizeof(err));
	if (s->router == NULL) {
		log_err("worker endpoint %s: %s", cfg->worker_endpoint, err);
		goto fail;
	}
	return s;
fail:
	session_free(s);
	return NULL;
}

void
session_route(struct session *s, struct watch *watch, struct prompts *prompts,
    struct replies *replies)
{
	s->watch = watch;
	s->prompts = prompts;
	s->replies = replies;
}

void
session_remote(struct session *s, struct remote r)
{
	s->remote = r;
}

void
session_models(struct session *s, const struct models_live *live)
{
	s->live = live;
}

struct router *
session_socket(struct session *s)
{
	return s->router;
}

void
session_stats(const struct session *s, struct session_stats *out)
{
	out->open = limits_total(s->limits);
	out->rate_limited = s->rate_limited;
	out->refused = s->refused;
}

void
session_free(struct session *s)
{
	if (s == NULL)
		return;
	while (s->rates != NULL) {
		struct peer_rate *x = s->rates;
		s->rates = x->next;
		free(x);
	}
	limits_free(s->limits);
	router_free(s->router);
	outq_free(s->outq);  /* after the router released every frame */
	explicit_bzero(s->seen, sizeof(s->seen));
	explicit_bzero(&s->key, sizeof(s->key));
	free(s);
}
