/* cluster.h - the worker's link to the other hosts' workers, when several
 * hosts share one PostgreSQL database (issue 17): live replies watched and
 * stopped from another host, and the leases by which a surviving worker
 * ends a dead host's replies. With SQLite there is no cluster at all
 * (cluster_new makes none: no connection, no cost).
 *
 * It has a libpq connection of its own to cfg->database, LISTENs on
 * channel "lightchat" and sends with SELECT pg_notify($1, $2) (the
 * messages: worker/cluster_msg.h), asynchronously, its socket in the
 * worker's epoll loop. Lost, it is logged once and tried again (0.5 s
 * doubling to 10 s) while this host goes on serving its own sessions.
 *
 *  - A session here watches (u, c) and this host writes no reply in it:
 *    "watch" is sent then, and again every lease/2 while it lasts. The host
 *    writing the reply answers with its snapshot ("snap") and forwards its
 *    frames ("frame") while some host's interest in (u, c) is fresh (under
 *    2 leases old); they are fanned out here to the sessions watching.
 *  - A stop for a reply not here is sent ("stop"); the host writing it
 *    stops it.
 *  - Leases: taken at start and renewed every lease/3; every 2 s any
 *    worker ends the replies whose worker's lease ran out
 *    (store_interrupt_orphans), tells its sessions watching them and sends
 *    "interrupted" to the others. A clean stop gives the lease up.
 *
 * Layers: worker.c makes it after the loop, the watch list and the
 * replies, and calls cluster_frame from the replies' fan-out; session.c
 * reaches it through struct remote (peer.h). It calls the store, the watch
 * list, the replies and the loop, never its callers. */
#ifndef LC_CLUSTER_H
#define LC_CLUSTER_H

#include "config.h"
#include "loop.h"
#include "peer.h"
#include "reply.h"
#include "store.h"
#include "watch.h"

struct cluster;

/* Makes the cluster link when store is shared (store_is_shared): the
 * worker's id set in the store, the replies this worker left streaming
 * when it last ran ended as interrupted, its lease taken, its connection
 * begun (on loop). Otherwise *out is NULL and nothing is done. cfg, store,
 * loop, watch and replies must outlive it. Returns 0, or -1 when out of
 * memory (logged). */
int cluster_new(struct cluster **out, const struct lc_config *cfg,
    struct store *store, struct loop *loop, struct watch *watch,
    struct replies *replies);

/* The hooks session.c calls (session_remote). */
struct remote cluster_remote(struct cluster *cl);

/* The reply in user's conversation_id sent the frame line (the replies'
 * fan-out path): forwarded to the hosts whose interest in it is fresh.
 * NULL cl is allowed; with no other host following anything it is one
 * test, no clock, no allocation. */
void cluster_frame(struct cluster *cl, const char *user,
    const char *conversation_id, const char *line);

/* A clean stop (after the replies ended): sends what is queued, waiting at
 * most ms, then gives up the lease. NULL is allowed. */
void cluster_stop(struct cluster *cl, long ms);

/* Closes the connection and frees cl; NULL is allowed. */
void cluster_free(struct cluster *cl);

#endif
