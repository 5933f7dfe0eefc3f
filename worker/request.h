/* request.h - validating a client's "sendprompt" payload and turning it into
 * the body of an upstream /chat/completions request. */
#ifndef LC_REQUEST_H
#define LC_REQUEST_H

#include <cjson/cJSON.h>

#include "config.h"

#define REQUEST_MSGID_MAX 128
#define REQUEST_MODEL_MAX 128

struct chat_request {
	char msgid[REQUEST_MSGID_MAX + 1];
	char model[REQUEST_MODEL_MAX + 1];  /* the upstream model name */
	int stream;                         /* the client wants delta frames */
	char *body;                         /* upstream JSON, caller frees */
};

struct request_error {
	const char *code;       /* a protocol error code, e.g. invalid_request */
	char message[256];      /* for people */
	char field[64];         /* the offending field, or "" */
};

/* Validates payload (the "payload" member of a sendprompt message, may be
 * NULL) against cfg. Returns 0 with out filled (free out->body), or -1 with
 * err filled; out->msgid is set whenever the msgid itself was valid. */
int request_parse(const cJSON *payload, const struct lc_config *cfg,
    struct chat_request *out, struct request_error *err);

/* Resolves a client model name through the allow-list and the aliases into
 * out (REQUEST_MODEL_MAX + 1 bytes). Returns 0 or -1 if not allowed. */
int request_resolve_model(const struct lc_config *cfg, const char *name,
    char *out);

#endif
