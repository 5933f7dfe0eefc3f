/* request.h - validating what a client sends ("sendprompt", "regenerate").
 *
 * Two shapes of sendprompt are accepted: the seed's, carrying the whole
 * transcript in "messages", and the conversation shape, carrying one new
 * "prompt" and an optional "conversation_id" whose stored history the worker
 * adds. */
#ifndef LC_REQUEST_H
#define LC_REQUEST_H

#include <cjson/cJSON.h>

#include "config.h"
#include "id.h"

#define REQUEST_MSGID_MAX 128
#define REQUEST_MODEL_MAX 128

enum request_kind { REQUEST_SENDPROMPT, REQUEST_REGENERATE };

struct chat_request {
	char msgid[REQUEST_MSGID_MAX + 1];
	char model[REQUEST_MODEL_MAX + 1];  /* the upstream model name */
	int stream;                         /* the client wants delta frames */
	int seed;                           /* the seed shape (messages) */
	cJSON *params;                      /* checked numeric parameters */
	cJSON *messages;                    /* seed shape: checked copy */
	char conversation_id[ID_LEN + 1];  /* "" : a new conversation */
	char *prompt;                       /* conversation shape */
	char *system;                       /* new system prompt, or NULL */
	int edit_last;                      /* replace the last prompt+reply */
};

struct request_error {
	const char *code;       /* a protocol error code, e.g. invalid_request */
	char message[256];      /* for people */
	char field[64];         /* the offending field, or "" */
};

/* Validates payload (may be NULL) of a kind of message against cfg.
 * Returns 0 with out filled, or -1 with err filled; out->msgid is set
 * whenever the msgid itself was valid. Free out with request_free either
 * way. */
int request_parse(const cJSON *payload, enum request_kind kind,
    const struct lc_config *cfg, struct chat_request *out,
    struct request_error *err);

/* Frees what req holds. */
void request_free(struct chat_request *req);

/* Resolves a client model name through the allow-list and the aliases into
 * out (REQUEST_MODEL_MAX + 1 bytes). Returns 0 or -1 if not allowed. */
int request_resolve_model(const struct lc_config *cfg, const char *name,
    char *out);

#endif
