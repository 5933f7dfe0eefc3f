/* worker.c - wires the worker's modules (session, watch, prompt, reply,
 * model discovery, the store, libcurl, the event loop and, with a shared
 * store, the cluster link to the other hosts) and runs the
 * loop's callbacks: messages waiting, transfers done (discovery's or a
 * reply's), the periodic save with the heartbeat file (heartbeat.c), the
 * listings due and the hourly purge of unused attachments, and the drain
 * when the worker stops. */
#include "worker.h"

#include <stdlib.h>

#include "cluster.h"
#include "discover.h"
#include "heartbeat.h"
#include "log.h"
#include "loop.h"
#include "monotime.h"
#include "prompt.h"
#include "reply.h"
#include "session.h"
#include "store.h"
#include "watch.h"

/* Messages handled before libcurl gets a turn. Small: in a burst of
 * prompts, each one's request then leaves while the next is being set up,
 * instead of all of them after the whole burst (which added ~10 ms to the
 * median first token of 100 prompts arriving at once). */
#define DRAIN_BATCH 2
#define FLUSH_MS 1000      /* how often growing replies are saved */
/* Attachments no prompt used are kept a day (STORE_ATTACH_KEEP_MS), looked
 * for hourly here as well as at each upload (cgi-bin/attachments.c). */
#define PURGE_MS (3600L * 1000)

struct worker {
	const struct lc_config *cfg;
	struct store *store;
	struct session *session;
	struct watch *watch;
	struct replies *replies;
	struct prompts *prompts;
	struct models_live *live;     /* what discovery saw */
	struct discover *discover;
	CURLM *multi;
	struct loop *loop;
	struct cluster *cluster;      /* the other hosts, NULL: one host */
	int draining;                 /* stopping: no new replies */
	struct timespec drain_start;
	struct timespec purged;       /* the last purge of unused attachments */
	volatile sig_atomic_t drained; /* the drain is over */
	volatile sig_atomic_t *stop;  /* the signal count from main */
};

/* Ends the drain when no reply is left, the time is up, or a second
 * signal came. */
static void
check_drain(struct worker *w)
{
	if (!w->draining || w->drained)
		return;
	if (reply_count(w->replies) == 0 || *w->stop > 1 ||
	    monotime_ms_since(&w->drain_start) >= w->cfg->drain_timeout * 1000)
		w->drained = 1;
}

/* A reply ended in a callback: the drain is over when it was the last. */
static void
check_empty(struct worker *w)
{
	if (w->draining && reply_count(w->replies) == 0)
		w->drained = 1;
}

static void
on_router(void *arg)
{
	struct worker *w = arg;

	session_receive(w->session, DRAIN_BATCH);
	/* Handles added or removed above may already be done. */
	loop_check_done(w->loop);
	check_empty(w);
}

static void
on_transfer_done(CURL *easy, CURLcode result, void *arg)
{
	struct worker *w = arg;

	/* Discovery knows its own handles; every other one is a reply's. */
	if (discover_done(w->discover, easy, result))
		return;
	reply_done(easy, result);
	check_empty(w);
}

/* Removes the unused attachments older than a day, hourly. */
static void
purge_attachments(struct worker *w)
{
	int n;

	monotime_now(&w->purged);
	if (w->store == NULL)
		return;
	n = store_attach_purge(w->store, STORE_ATTACH_KEEP_MS);
	if (n > 0)
		log_info("purged %d unused attachments", n);
}

static void
on_tick(void *arg)
{
	struct worker *w = arg;

	if (monotime_ms_since(&w->purged) >= PURGE_MS)
		purge_attachments(w);
	reply_flush_all(w->replies);
	if (!w->draining)
		discover_tick(w->discover);
	session_sweep(w->session);
	heartbeat_write(w->cfg, w->session, w->replies);
	check_drain(w);
}

/* The replies' fan-out: the watch list here, and the other hosts that
 * follow the conversation (cluster_frame; nothing with one host). */
static int
fan_send(void *arg, const struct peer *origin, int to_origin,
    const char *user, const char *conversation_id, const char *line)
{
	struct worker *w = arg;
	int rc = watch_fanout(w->watch, origin, to_origin, user,
	    conversation_id, line);

	cluster_frame(w->cluster, user, conversation_id, line);
	return rc;
}

static int
fan_delta(void *arg, const struct peer *origin, int to_origin,
    const char *user, const char *conversation_id, const char *line,
    const struct peer_delta *d)
{
	struct worker *w = arg;
	int rc = watch_fanout_delta(w->watch, origin, to_origin, user,
	    conversation_id, line, d);

	cluster_frame(w->cluster, user, conversation_id, line);
	return rc;
}

static void
fan_flush(void *arg, unsigned long reply)
{
	struct worker *w = arg;

	session_flush_reply(w->session, reply);
}

static long
on_due(void *arg)
{
	struct worker *w = arg;

	return session_due(w->session);
}

static void
fan_watch(void *arg, const struct peer *p, const char *user,
    const char *conversation_id)
{
	struct worker *w = arg;

	watch_set(w->watch, p, user, conversation_id);
}

struct worker *
worker_new(const struct lc_config *cfg, const struct lc_token_key *key)
{
	struct worker *w = calloc(1, sizeof(*w));
	char err[256];
	int n;

	if (w == NULL)
		return NULL;
	w->cfg = cfg;
	/* Without the database the worker still chats: seed-shaped prompts
	 * are answered unsaved, conversation-shaped ones get storage_error. */
	/* A PostgreSQL server that does not answer yet: the store is made
	 * all the same, and each use tries again until it answers. */
	if (store_open_retrying(&w->store, cfg->database, err,
	    sizeof(err)) != STORE_OK)
		log_err("%s; conversations will not be saved", err);
	else if (err[0] != '\0')
		log_err("%s", err);
	/* Replies that were streaming when the last worker stopped (a
	 * shared store: this worker's only, cluster_new). */
	n = w->store != NULL && !store_is_shared(w->store) ?
	    store_mark_interrupted(w->store) : 0;
	if (n > 0)
		log_warn("marked %d unfinished replies as interrupted", n);
	purge_attachments(w);
	w->session = session_new(cfg, key, w->store);
	if (w->session == NULL)
		goto fail;
	w->multi = curl_multi_init();
	if (w->multi == NULL)
		goto fail;
	w->live = models_live_new(cfg->mt);
	w->discover = w->live != NULL ? discover_new(cfg->mt, w->live,
	    cfg->worker_models_file, w->multi) : NULL;
	if (w->discover == NULL) {
		log_err("out of memory");
		goto fail;
	}
	session_models(w->session, w->live);
	w->watch = watch_new(session_sink(w->session));
	struct fanout fan = { fan_send, fan_watch, w, fan_delta, fan_flush };
	w->replies = w->watch != NULL ? replies_new(cfg, w->store, w->multi,
	    fan) : NULL;
	w->prompts = w->replies != NULL ? prompts_new(cfg, w->store,
	    w->replies) : NULL;
	if (w->prompts == NULL) {
		log_err("out of memory");
		goto fail;
	}
	session_route(w->session, w->watch, w->prompts, w->replies);
	w->loop = loop_new(session_socket(w->session), w->multi, on_router,
	    on_transfer_done, w);
	if (w->loop == NULL)
		goto fail;
	loop_set_tick(w->loop, on_tick, FLUSH_MS);
	loop_set_due(w->loop, on_due, w);
	if (cluster_new(&w->cluster, cfg, w->store, w->loop, w->watch,
	    w->replies) != 0)
		goto fail;
	if (w->cluster != NULL)
		session_remote(w->session, cluster_remote(w->cluster));
	return w;
fail:
	worker_free(w);
	return NULL;
}

int
worker_run(struct worker *w, volatile sig_atomic_t *stop)
{
	long n;
	int rc;

	w->stop = stop;
	/* /health sees a worker as soon as it runs, not a tick later; the
	 * first listings start now too. */
	heartbeat_write(w->cfg, w->session, w->replies);
	discover_tick(w->discover);
	rc = loop_run(w->loop, stop);
	n = reply_count(w->replies);
	if (rc == 0 && n > 0 && w->cfg->drain_timeout > 0) {
		/* Stopping: let the replies in flight finish, for a while; new
		 * prompts are refused meanwhile. */
		log_info("stopping: finishing %ld replies (at most %ld s)", n,
		    w->cfg->drain_timeout);
		w->draining = 1;
		prompt_drain(w->prompts);
		monotime_now(&w->drain_start);
		rc = loop_run(w->loop, &w->drained);
	}
	reply_interrupt_all(w->replies);
	/* Their last frames reach the other hosts; then the lease goes. */
	cluster_stop(w->cluster, 1000);
	heartbeat_remove(w->cfg);
	return rc;
}

void
worker_free(struct worker *w)
{
	if (w == NULL)
		return;
	/* The replies' last frames still go out through watch and session
	 * (not the cluster: it is gone first, its connection with it). */
	cluster_free(w->cluster);
	w->cluster = NULL;
	replies_free(w->replies);
	prompts_free(w->prompts);
	watch_free(w->watch);
	discover_free(w->discover);
	models_live_free(w->live);
	loop_free(w->loop);
	if (w->multi != NULL)
		curl_multi_cleanup(w->multi);
	session_free(w->session);
	store_close(w->store);
	free(w);
}
