/* prompt.h - a validated prompt becomes a reply: admission (draining,
 * duplicate msgid, conversation busy, in-flight limits), the prompt stored
 * (a seed transcript continued, or a conversation created, checked, edited
 * or regenerated, with its title), the context built, and the prepared
 * reply handed to reply.c. */
#ifndef LC_PROMPT_H
#define LC_PROMPT_H

#include "config.h"
#include "peer.h"
#include "reply.h"
#include "request.h"
#include "store.h"

struct prompts;

/* Creates the prompt intake over store (NULL: nothing is stored; the
 * conversation shape then fails with storage_error) and replies. cfg,
 * store and replies must outlive it. Returns NULL when out of memory. */
struct prompts *prompts_new(const struct lc_config *cfg, struct store *store,
    struct replies *replies);

/* Frees ps; NULL is allowed. */
void prompts_free(struct prompts *ps);

/* From now on every prompt is refused with server_busy (the worker
 * stops). */
void prompt_drain(struct prompts *ps);

/* Starts a reply for req from p, a session of user (req's contents are
 * used, not kept). Returns 0 when the reply was handed on (if it then
 * could not start, its error frame was sent), or -1 with err set to what
 * p must be told. */
int prompt_start(struct prompts *ps, const struct peer *p, const char *user,
    struct chat_request *req, int regenerate, struct request_error *err);

#endif
