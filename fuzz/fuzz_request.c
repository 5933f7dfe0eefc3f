/* fuzz_request.c - worker/request.h, the sendprompt/regenerate validator.
 *
 * The input is the JSON "payload" of a client message. It is validated as
 * REQUEST_SENDPROMPT and as REQUEST_REGENERATE against a configuration
 * loaded once (with aliases that are odd on purpose), then freed.
 * Invariants: an error has a code; a success has a valid msgid and an
 * allowed model routed to the one upstream; a seed-shaped success gives
 * an upstream body, mapped by the model's quirks (no parameter the model
 * omits, max_tokens under its name, only an effort it takes),
 * (upstream_body) that is JSON with that model, the messages and stream:
 * true; so does the conversation shape with a context; request_free leaves
 * nothing behind (the leak checker runs at the end of every input). */
#include "fuzz.h"

#include <cjson/cJSON.h>

#include "config.h"
#include "id.h"
#include "request.h"
#include "upstream.h"

static struct lc_config cfg;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[LC_CONFIG_ERR_MAX];

	(void)argc;
	(void)argv;
	/* Only what is set here: no file, no stray LIGHTCHAT_* settings. */
	fuzz_clear_settings_env();
	setenv("LIGHTCHAT_CONFIG", "/dev/null", 1);
	setenv("LIGHTCHAT_STATE", "/nonexistent/lightchat-fuzz", 1);
	/* Reasoning families too: their bodies are mapped (upstream_body.c). */
	setenv("LIGHTCHAT_MODELS", "gpt-4o-mini, gpt-4o ,gpt-4.1-mini,m,o1-mini,"
	    "o4-mini,gpt-5,gpt-5.1,gpt-5-chat-latest", 1);
	setenv("LIGHTCHAT_MODEL_ALIASES",
	    "gpt-3.5-turbo=gpt-4o-mini, fast = gpt-4o ,bad=not-allowed,=m,"
	    "empty=, spaced alias = m,,", 1);
	setenv("LIGHTCHAT_MAX_MESSAGES", "8", 1);
	setenv("LIGHTCHAT_MAX_MESSAGE", "1024", 1);
	setenv("LIGHTCHAT_MAX_TOKENS_LIMIT", "4096", 1);
	if (config_load(&cfg, err) != 0) {
		fprintf(stderr, "fuzz_request: config_load: %s\n", err);
		abort();
	}
	return 0;
}

static int
msgid_ok(const char *msgid)
{
	size_t n = strnlen(msgid, REQUEST_MSGID_MAX + 1);
	return n >= 1 && n <= REQUEST_MSGID_MAX;
}

static void
check_body(const char *body, const struct chat_request *req, int nmessages)
{
	cJSON *b = cJSON_Parse(body);

	FUZZ_CHECK(b != NULL);
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(b, "model");
	FUZZ_CHECK(cJSON_IsString(model));
	FUZZ_CHECK(strcmp(model->valuestring, req->model) == 0);
	const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(b, "messages");
	FUZZ_CHECK(cJSON_IsArray(msgs));
	FUZZ_CHECK(cJSON_GetArraySize(msgs) == nmessages);
	FUZZ_CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(b, "stream")));
	/* Only checked numeric parameters go upstream. */
	const cJSON *item;
	cJSON_ArrayForEach(item, b) {
		const char *k = item->string;
		FUZZ_CHECK(strcmp(k, "model") == 0 || strcmp(k, "messages") == 0 ||
		    strcmp(k, "stream") == 0 || strcmp(k, "stream_options") == 0 ||
		    strcmp(k, "max_tokens") == 0 ||
		    strcmp(k, "max_completion_tokens") == 0 ||
		    strcmp(k, "reasoning_effort") == 0 ||
		    strcmp(k, "temperature") == 0 ||
		    strcmp(k, "top_p") == 0 ||
		    strcmp(k, "frequency_penalty") == 0 ||
		    strcmp(k, "presence_penalty") == 0);
		if (strcmp(k, "max_tokens") == 0 ||
		    strcmp(k, "max_completion_tokens") == 0)
			FUZZ_CHECK(cJSON_IsNumber(item) && item->valuedouble >= 1 &&
			    item->valuedouble <= (double)cfg.max_tokens_limit);
		/* The model's mapping: its name for max_tokens, nothing it
		 * omits, only an effort it takes. */
		if (strcmp(k, "max_tokens") == 0)
			FUZZ_CHECK(!req->info.max_completion_tokens);
		if (strcmp(k, "max_completion_tokens") == 0)
			FUZZ_CHECK(req->info.max_completion_tokens);
		for (int i = 0; models_param_name((enum models_param)i); i++)
			if (strcmp(k, models_param_name((enum models_param)i)) == 0)
				FUZZ_CHECK(!(req->info.omit & (1u << i)));
		if (strcmp(k, "reasoning_effort") == 0) {
			int hit = -1;
			FUZZ_CHECK(cJSON_IsString(item));
			for (int e = 0; models_effort_name((enum models_effort)e);
			    e++)
				if (strcmp(item->valuestring, models_effort_name(
				    (enum models_effort)e)) == 0)
					hit = e;
			FUZZ_CHECK(hit >= 0 && (req->info.efforts & (1u << hit)));
		}
	}
	cJSON_Delete(b);
}

static void
check_one(const cJSON *payload, enum request_kind kind)
{
	struct chat_request req;
	struct request_error err;
	int rc = request_parse(payload, kind, &cfg, NULL, &req, &err);

	FUZZ_CHECK(rc == 0 || rc == -1);
	if (rc != 0) {
		FUZZ_CHECK(err.code != NULL && err.code[0] != '\0');
		FUZZ_CHECK(memchr(err.message, '\0', sizeof(err.message)) != NULL);
		FUZZ_CHECK(memchr(err.field, '\0', sizeof(err.field)) != NULL);
		request_free(&req);
		return;
	}
	FUZZ_CHECK(msgid_ok(req.msgid));
	FUZZ_CHECK(req.model[0] != '\0');
	FUZZ_CHECK(config_list_has(cfg.models, req.model));
	FUZZ_CHECK(req.upstream == 0 && req.info.upstream == 0);
	FUZZ_CHECK(req.params != NULL);
	FUZZ_CHECK(req.conversation_id[0] == '\0' ||
	    id_valid(req.conversation_id));
	if (kind == REQUEST_REGENERATE) {
		FUZZ_CHECK(req.conversation_id[0] != '\0');
	} else if (req.seed) {
		FUZZ_CHECK(req.messages != NULL);
		int n = cJSON_GetArraySize(req.messages);
		FUZZ_CHECK(n >= 1 && n <= cfg.max_messages);
		char *body = upstream_body(req.model, req.messages, req.params,
		    &req.info, true);
		FUZZ_CHECK(body != NULL);
		check_body(body, &req, n);
		free(body);
	} else {
		/* Empty only with attachments: distinct ids, within the
		 * limit. */
		FUZZ_CHECK(req.prompt != NULL && (req.prompt[0] != '\0' ||
		    req.n_attachments > 0));
		FUZZ_CHECK(req.n_attachments <= cfg.prompt_attachments_max);
		for (int i = 0; i < req.n_attachments; i++) {
			FUZZ_CHECK(id_valid(req.attachments[i]));
			for (int j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(req.attachments[i],
				    req.attachments[j]) != 0);
		}
		FUZZ_CHECK(strlen(req.prompt) <= (size_t)cfg.max_message);
		FUZZ_CHECK(req.system == NULL ||
		    strlen(req.system) <= (size_t)cfg.max_message);
		FUZZ_CHECK(!req.edit_last || req.conversation_id[0] != '\0');
		FUZZ_CHECK(req.edit_id >= 0 && req.parent_id >= 0);
		FUZZ_CHECK((req.edit_id == 0 && req.parent_id == 0) ||
		    req.conversation_id[0] != '\0');
		FUZZ_CHECK(req.parent_id == 0 ||
		    (req.edit_id == 0 && !req.edit_last));
		/* As the worker does with the stored context. */
		cJSON *msgs = cJSON_CreateArray(), *m = cJSON_CreateObject();
		FUZZ_CHECK(msgs != NULL && m != NULL);
		cJSON_AddItemToArray(msgs, m);
		cJSON_AddStringToObject(m, "role", "user");
		cJSON_AddStringToObject(m, "content", req.prompt);
		char *body = upstream_body(req.model, msgs, req.params,
		    &req.info, true);
		FUZZ_CHECK(body != NULL);
		check_body(body, &req, 1);
		free(body);
		cJSON_Delete(msgs);
	}
	request_free(&req);
	/* request_free twice is harmless (the worker may free on two paths). */
	request_free(&req);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	cJSON *payload = cJSON_ParseWithLength((const char *)data, size);

	/* Also NULL: request_parse accepts a missing payload. */
	check_one(payload, REQUEST_SENDPROMPT);
	check_one(payload, REQUEST_REGENERATE);
	if (payload != NULL) {
		char model[REQUEST_MODEL_MAX + 1];
		const cJSON *p = cJSON_GetObjectItemCaseSensitive(payload, "params");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(p,
		    "model_name");
		if (cJSON_IsString(name) &&
		    request_resolve_model(&cfg, NULL, name->valuestring, model) == 0)
			FUZZ_CHECK(config_list_has(cfg.models, model));
	}
	cJSON_Delete(payload);
	return 0;
}
