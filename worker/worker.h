/* worker.h - the chat worker: its modules wired to one event loop, run
 * until a signal, then drained. */
#ifndef LC_WORKER_H
#define LC_WORKER_H

#include <curl/curl.h>
#include <signal.h>

#include "config.h"
#include "token.h"

struct worker;
struct loop;

/* Creates a worker bound to cfg->worker_endpoint. cfg and key must outlive
 * it. Returns NULL with a logged reason on failure. */
struct worker *worker_new(const struct lc_config *cfg,
    const struct lc_token_key *key);

/* Runs the event loop until *stop is set, then ends every reply in flight
 * with an error frame. Returns 0, or -1 on a loop failure. */
int worker_run(struct worker *w, volatile sig_atomic_t *stop);

/* Frees the worker, its sockets and handles. */
void worker_free(struct worker *w);

#endif
