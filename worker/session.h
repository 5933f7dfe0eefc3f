/* session.h - the worker's side of the WebSocket sessions: the ROUTER
 * socket, each message's credentials checked (lib/relay.h), a per-session
 * message budget, the actions dispatched (sendprompt, regenerate, stop,
 * watch, ping), and lines, errors and closes sent back to a session. */
#ifndef LC_SESSION_H
#define LC_SESSION_H

#include "config.h"
#include "peer.h"
#include "prompt.h"
#include "reply.h"
#include "store.h"
#include "token.h"
#include "watch.h"

struct session;
struct router;

/* Opens the ROUTER socket on cfg->worker_endpoint. cfg and store (NULL
 * allowed: watch then fails with storage_error) must outlive it; key is
 * copied (and reloaded by session_sweep when its file changes).
 * Returns NULL with a logged reason on failure. */
struct session *session_new(const struct lc_config *cfg,
    const struct lc_token_key *key, struct store *store);

/* Gives s the modules its actions go to; before session_receive. They must
 * outlive s. */
void session_route(struct session *s, struct watch *watch,
    struct prompts *prompts, struct replies *replies);

/* Watches and stops without a reply on this host go to the other hosts
 * through r (worker/cluster.h; never called: one host). */
void session_remote(struct session *s, struct remote r);

/* Prompts' models are routed with what discovery saw, live (it must
 * outlive s; NULL: the static lists only, the default). */
void session_models(struct session *s, const struct models_live *live);

/* The ROUTER socket (worker/router.h), for the event loop to wait on and
 * flush; s keeps it. */
struct router *session_socket(struct session *s);

/* Sends lines to s's sessions (for watch.c). */
struct peer_sink session_sink(struct session *s);

/* Sends the coalesced deltas whose window is over (outq_due). Returns the
 * milliseconds until the next is due, or -1. For the worker's loop. */
long session_due(struct session *s);

/* Sends now every coalesced delta of reply that waits (outq_flush_reply). */
void session_flush_reply(struct session *s, unsigned long reply);

/* Reads and handles at most max whole messages waiting on the socket. */
void session_receive(struct session *s, int max);

/* Reloads the token key when its file changed (every open session is then
 * closed: their tokens are no longer valid). Checks again the login of each
 * open session whose last check is 2 s old
 * (at most a bounded number a call): a session whose login ended
 * (lib/session_check.h) gets a final unauthorized frame and is closed, and
 * the replies of a user no longer in the users file are stopped. Sessions
 * whose connection closed without a "bye" (killed) are forgotten and no
 * longer counted against their user's and address's limits. For the
 * worker's tick. */
void session_sweep(struct session *s);

/* What the sessions did, for /metrics: plain counters. */
struct session_stats {
	long open;                        /* sessions counted now */
	unsigned long long rate_limited;  /* messages refused: rate_limited */
	unsigned long long refused;       /* sessions refused:
	                                   * too_many_connections */
};

/* Fills out with s's figures. */
void session_stats(const struct session *s, struct session_stats *out);

/* Closes the socket and frees s; NULL is allowed. */
void session_free(struct session *s);

#endif
