/* request.h - validating what a client sends ("sendprompt", "regenerate").
 *
 * Two shapes of sendprompt are accepted: the seed's, carrying the whole
 * transcript in "messages", and the conversation shape, carrying one new
 * "prompt" and an optional "conversation_id" whose stored history the worker
 * adds. */
#ifndef LC_REQUEST_H
#define LC_REQUEST_H

#include <cjson/cJSON.h>

#include "budget.h"
#include "config.h"
#include "id.h"
#include "models.h"

#define REQUEST_MSGID_MAX 128
#define REQUEST_MODEL_MAX 128
#define REQUEST_ATTACH_MAX 100  /* prompt_attachments_max's own maximum */

enum request_kind { REQUEST_SENDPROMPT, REQUEST_REGENERATE };

struct chat_request {
	char msgid[REQUEST_MSGID_MAX + 1];
	char model[REQUEST_MODEL_MAX + 1];  /* the upstream model name */
	int upstream;                       /* the index of the upstream
	                                     * serving model (models_route) */
	struct lc_model_info info;          /* its quirks (models_info) */
	int stream;                         /* the client wants delta frames */
	int seed;                           /* the seed shape (messages) */
	cJSON *params;                      /* checked parameters: numbers,
	                                     * and reasoning_effort a string
	                                     * (one of models_effort_name's);
	                                     * as the client sent them, the
	                                     * model's mapping comes later
	                                     * (upstream_body) */
	cJSON *messages;                    /* seed shape: checked copy */
	char conversation_id[ID_LEN + 1];  /* "" : a new conversation */
	char *prompt;                       /* conversation shape */
	char *system;                       /* new system prompt, or NULL */
	int edit_last;                      /* a new version of the last
	                                     * prompt (edit_id set from it) */
	long long edit_id;                  /* "edit":{"message_id"}: a new
	                                     * version of that user message;
	                                     * 0: none */
	long long parent_id;                /* continue from this message; 0:
	                                     * the current leaf */
	/* conversation shape: the ids of the attachments sent with the
	 * prompt (their owner and kinds are prompt.c's to check), distinct,
	 * at most prompt_attachments_max */
	char attachments[REQUEST_ATTACH_MAX][ID_LEN + 1];
	int n_attachments;
};

struct request_error {
	const char *code;       /* a protocol error code, e.g. invalid_request */
	char message[256];      /* for people */
	char field[64];         /* the offending field, or "" */
	struct budget_verdict budget; /* code "budget_exceeded": the limit
	                               * reached (budget.exceeded 1); else
	                               * zero */
};

/* Validates payload (may be NULL) of a kind of message against cfg; the
 * model is resolved through the aliases, then routed (models_route) with
 * what discovery saw (live, may be NULL: static lists only). Without
 * params.model_name: cfg's default_model, or when that is "" the first
 * model offered (models_each). Returns 0 with out filled, or -1 with err
 * filled (model_not_allowed when no upstream offers the model); out->msgid
 * is set whenever the msgid itself was valid. Free out with request_free
 * either way. */
int request_parse(const cJSON *payload, enum request_kind kind,
    const struct lc_config *cfg, const struct models_live *live,
    struct chat_request *out, struct request_error *err);

/* Reads obj's member name as a message id: *out gets it, 0 when absent or
 * null. Returns 0, or -1 with err set (invalid_request naming the field)
 * for anything but a positive integer. */
int request_get_id(const cJSON *obj, const char *name, long long *out,
    struct request_error *err);

/* Frees what req holds. */
void request_free(struct chat_request *req);

/* Resolves a client model name through the aliases (a target must be
 * offered too) into out (REQUEST_MODEL_MAX + 1 bytes) and routes it
 * (models_route; live may be NULL). Returns the upstream's index, or -1
 * when no upstream offers it. */
int request_resolve_model(const struct lc_config *cfg,
    const struct models_live *live, const char *name, char *out);

#endif
