/* worker_int.h - the worker's internal state, shared by worker.c (session
 * messages, watchers) and reply.c (replies in flight). Not a public API. */
#ifndef LC_WORKER_INT_H
#define LC_WORKER_INT_H

#include <curl/curl.h>
#include <signal.h>
#include <time.h>

#include "config.h"
#include "frames.h"
#include "request.h"
#include "store.h"
#include "token.h"
#include "upstream.h"

#define PEER_ID_MAX 256

struct peer {                 /* one WebSocket session, by ZeroMQ identity */
	unsigned char id[PEER_ID_MAX];
	size_t idlen;
};

/* A session that shows a conversation and gets its replies' frames. */
struct watcher {
	struct watcher *next;
	struct peer peer;
	char user[LC_USER_MAX + 1];
	char conversation_id[STORE_ID_LEN + 1];
};

/* Per-session message budget (a token bucket), against floods. */
struct peer_rate {
	struct peer_rate *next;
	struct peer peer;
	double tokens;
	struct timespec last;
};

/* A token that verified: its user and expiry (see check_session). */
#define TOKEN_SEEN_SLOTS 64
#define TOKEN_SEEN_MAX 512    /* longer tokens are verified every time */
struct token_seen {
	size_t len;                   /* 0: empty slot */
	char token[TOKEN_SEEN_MAX];
	char user[LC_USER_MAX + 1];
	long exp;
};

struct reply {
	struct reply *prev, *next;
	struct worker *w;
	struct peer origin;           /* the session that asked */
	int origin_gone;              /* it went away: keep generating */
	int origin_stream;            /* it wants delta frames */
	int seed;                     /* seed shape: no extra frames to origin */
	char msgid[REQUEST_MSGID_MAX + 1];
	char model[REQUEST_MODEL_MAX + 1];
	char user[LC_USER_MAX + 1];
	char conversation_id[STORE_ID_LEN + 1];  /* "" when not stored */
	long long msg_row;            /* the assistant message's row, 0 none */
	size_t flushed;               /* content bytes already in the store */
	struct timespec started;
	struct upstream_call call;
};

struct worker {
	const struct lc_config *cfg;
	const struct lc_token_key *key;
	void *zctx, *router;
	CURLM *multi;
	struct loop *loop;
	struct store *store;
	struct reply *replies;
	long nreplies;
	struct watcher *watchers;
	struct peer_rate *rates;
	struct token_seen seen[TOKEN_SEEN_SLOTS];
	int draining;                 /* stopping: no new replies */
	struct timespec drain_start;
	volatile sig_atomic_t drained; /* the drain is over */
	volatile sig_atomic_t *stop;  /* the signal count from main */
};

/* worker.c */
int peer_equal(const struct peer *a, const struct peer *b);
/* Sends frame (freed here) to a session as one client line. Returns 0, or
 * -1 if the session is gone or the frame is NULL. */
int worker_send_line(struct worker *w, const struct peer *p, char *frame);
void worker_send_error(struct worker *w, const struct peer *p,
    const char *msgid, const char *code, const char *message,
    const char *field);
/* Makes p watch conversation_id ("" to stop watching). */
void worker_watch(struct worker *w, const struct peer *p, const char *user,
    const char *conversation_id);

/* reply.c */
/* Starts a reply for req (its contents are used, not kept). Errors are sent
 * to p. */
void reply_start(struct worker *w, const struct peer *p, const char *user,
    struct chat_request *req, int regenerate);
/* libcurl finished r's transfer. */
void reply_done(struct reply *r, CURLcode result);
/* Stops r now: the upstream request is closed, the text so far kept. */
void reply_stop(struct reply *r);
/* Ends r because the worker stops: stored as interrupted. */
void reply_interrupt(struct reply *r);
/* Writes the text so far of every reply to the store. */
void reply_flush_all(struct worker *w);
/* Finds user's reply by msgid, or the reply of a conversation. */
struct reply *reply_find(struct worker *w, const char *user,
    const char *msgid, const char *conversation_id);
/* The session p went away: its replies go on without it. */
void reply_peer_gone(struct worker *w, const struct peer *p);
/* Sends p the text so far of the conversation's reply, or "idle". */
void reply_snapshot(struct worker *w, const struct peer *p,
    const char *user, const char *conversation_id);

#endif
