/* reply.h - the life of a reply: its upstream call streamed to the session
 * that asked and to the sessions watching its conversation, saved as it
 * grows, and finished (complete, stopped, error or interrupted) in the
 * store. A reply outlives the session that asked for it.
 *
 * prompt.c prepares a reply (admission, the stored conversation, the
 * context) and hands it here; frames leave through the fanout given to
 * replies_new, so this module knows nothing of sockets. */
#ifndef LC_REPLY_H
#define LC_REPLY_H

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "config.h"
#include "peer.h"
#include "prom.h"
#include "store.h"
#include "think.h"

struct replies;               /* every reply in flight */
struct reply;

/* What the replies did since the set was made, for /metrics: plain
 * counters bumped where a reply starts streaming or ends. */
enum reply_outcome {
	REPLY_COMPLETE, REPLY_STOPPED, REPLY_FAILED, REPLY_INTERRUPTED,
	REPLY_OUTCOME__MAX
};
#define REPLY_ERROR_CODES 16          /* distinct error codes counted */
#define REPLY_ERROR_CODE_MAX 40
struct reply_stats {
	unsigned long long outcomes[REPLY_OUTCOME__MAX];
	struct {
		char code[REPLY_ERROR_CODE_MAX]; /* "": a free slot */
		unsigned long long n;
	} errors[REPLY_ERROR_CODES];  /* failed replies by error code (the
	                               * last slot takes "other") */
	struct prom_hist first_token; /* seconds from start to first delta */
	struct prom_hist duration;    /* seconds from start to the end */
	double tokens_in, tokens_out; /* the API's usage, where reported */
};

/* What a reply is for. Strings are copied; messages and params are read
 * only while reply_new runs. */
struct reply_spec {
	const struct peer *origin;    /* the session that asks */
	const char *user;
	const char *msgid;
	const char *model;            /* the upstream model name */
	int stream;                   /* the origin wants delta frames */
	int follow;                   /* the origin then watches the
	                               * conversation (its shape, not seed's) */
	const cJSON *messages;        /* the conversation to answer */
	const cJSON *params;          /* checked sampling parameters, or NULL */
	const struct lc_model_info *info; /* the model's quirks (copied), or
	                               * NULL: the parameters go as they are */
	enum think_mode think;        /* how <think> in the content is read
	                               * (the model's info; 0: auto) */
};

/* Creates the set of replies: their calls go into multi, their rows into
 * store (NULL: nothing is saved), their frames through out. cfg, multi and
 * store must outlive it. Returns NULL when out of memory. */
struct replies *replies_new(const struct lc_config *cfg, struct store *store,
    CURLM *multi, struct fanout out);

/* Ends every reply still in flight as interrupted, then frees the set;
 * NULL is allowed. */
void replies_free(struct replies *rs);

/* The counters of rs (valid as long as rs). */
const struct reply_stats *reply_stats(const struct replies *rs);

/* A short name of outcome o: "complete", "stopped", "failed",
 * "interrupted". */
const char *reply_outcome_name(enum reply_outcome o);

/* The number of replies in flight, in all or of user. */
long reply_count(const struct replies *rs);
long reply_count_user(const struct replies *rs, const char *user);

/* Prepares a reply for spec with its upstream request body (upstream_body).
 * Returns NULL when out of memory. The reply is not in flight yet: hand it
 * to reply_start, or free it with reply_discard. */
struct reply *reply_new(struct replies *rs, const struct reply_spec *spec);

/* The name of the upstream serving r (for logs). */
const char *reply_upstream_name(const struct reply *r);

/* Frees a reply that was not started; NULL is allowed. */
void reply_discard(struct reply *r);

/* Starts r, stored in conversation_id ("" when not stored) as the
 * assistant message msg_row (0: none); a stored reply that follows makes
 * its origin watch the conversation. Returns 0 when it streams, or -1 when
 * the request could not start: r then ended as an error (frames sent,
 * state saved) and is gone. */
int reply_start(struct reply *r, const char *conversation_id,
    long long msg_row);

/* Sends frame (freed here; NULL: out of memory, logged) for r: to its
 * origin when to_origin and it is still there, and to every other session
 * of r's user watching r's conversation. */
void reply_send(struct reply *r, char *frame, int to_origin);

/* libcurl finished the transfer easy (a reply's call: its private pointer
 * is the reply) with result: the reply is finished and gone. */
void reply_done(CURL *easy, CURLcode result);

/* Stops r now: the upstream request is closed, the text so far kept as
 * stopped; r is gone. */
void reply_stop(struct reply *r);

/* Stops every reply of user as reply_stop does (the user was deleted:
 * nobody pays for the rest). Returns how many were stopped. */
int reply_stop_user(struct replies *rs, const char *user);

/* Stops, as reply_stop_user does, every reply whose user exists(arg, user)
 * says is gone (0); also those whose session closed. Returns how many. */
int reply_stop_gone(struct replies *rs,
    int (*exists)(void *arg, const char *user), void *arg);

/* Ends every reply in flight as interrupted (the worker stops). */
void reply_interrupt_all(struct replies *rs);

/* Writes the text so far of every growing reply to the store, in one
 * transaction. */
void reply_flush_all(struct replies *rs);

/* Finds user's reply by msgid (NULL: any), else the reply in
 * conversation_id (NULL or "": none). Returns NULL when there is none. */
struct reply *reply_find(struct replies *rs, const char *user,
    const char *msgid, const char *conversation_id);

/* The session p went away: its replies go on without it. */
void reply_peer_gone(struct replies *rs, const struct peer *p);

/* The frame for a session that starts watching user's conversation_id: the
 * text so far of its reply in flight (snapshot), or idle. Returns a
 * malloc'd frame the caller frees, or NULL when out of memory. */
char *reply_snapshot(struct replies *rs, const char *user,
    const char *conversation_id);

/* The delta frame with the text of the reply in flight whose peer_delta
 * serial is serial, from byte offset to now: for a session that missed its
 * deltas while behind (worker/outq.h). Each reply has two serials: an even
 * one for its content (a "delta" frame) and the next, odd, for its
 * reasoning (a "reasoning" frame), so that outq coalesces each apart.
 * Returns a malloc'd frame the caller frees, or NULL when that reply is
 * over (its final frame carries the whole text), nothing is missed, or
 * out of memory. */
char *reply_missed(struct replies *rs, unsigned long serial, size_t offset);

#endif
