/* test-request.c - unit tests of worker/request.c: sendprompt validation,
 * and the upstream body (worker/upstream.c's upstream_body) built from
 * what it validated. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "request.h"
#include "unit.h"
#include "upstream.h"

static struct lc_config cfg;

static void
unset_key(const char *key, bool secret, void *arg)
{
	char name[96];
	size_t n = (size_t)snprintf(name, sizeof(name), "LIGHTCHAT_");

	(void)secret;
	(void)arg;
	for (const char *k = key; *k && n + 1 < sizeof(name); k++)
		name[n++] = (char)toupper((unsigned char)*k);
	name[n] = '\0';
	unsetenv(name);
}

/* Parses json as the payload; returns request_parse's result. */
static int
run(const char *json, struct chat_request *out, struct request_error *err)
{
	cJSON *payload = json != NULL ? cJSON_Parse(json) : NULL;
	int rc;

	if (json != NULL && payload == NULL) {
		printf("# bad test JSON: %s\n", json);
		return 99;
	}
	rc = request_parse(payload, REQUEST_SENDPROMPT, &cfg, NULL, out, err);
	cJSON_Delete(payload);
	return rc;
}

/* Expects a failure with code and field. */
static void
expect_fail(const char *json, const char *code, const char *field,
    const char *name)
{
	struct chat_request out;
	struct request_error err;
	int rc = run(json, &out, &err);
	int ok = rc == -1 && err.code != NULL && strcmp(err.code, code) == 0 &&
	    strcmp(err.field, field) == 0 && err.message[0] != '\0';

	CHECK(ok, name);
	if (!ok)
		printf("#   rc %d code %s field \"%s\" message \"%s\"\n", rc,
		    err.code ? err.code : "(null)", err.field, err.message);
	request_free(&out);
}

static const cJSON *
num(const cJSON *body, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(body, name);
}

/* The upstream body of a parsed seed request, parsed back, or NULL. */
static cJSON *
seed_body(const struct chat_request *req)
{
	char *text = upstream_body(req->model, req->messages, req->params,
	    NULL, true);
	cJSON *body = text != NULL ? cJSON_Parse(text) : NULL;

	free(text);
	return body;
}

#define MSGS "\"messages\":[{\"role\":\"user\",\"content\":\"Hi\"}]"

static void
test_seed(void)
{
	struct chat_request out;
	struct request_error err;
	const char *seed = "{\"msgid\":\"m-1\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"Be brief.\"},"
	    "{\"role\":\"user\",\"content\":\"Hello \\\"q\\\"\\n\\u00e9\"},"
	    "{\"role\":\"assistant\",\"content\":\"\"}],"
	    "\"params\":{\"model_name\":\"m2\",\"max_tokens\":512,"
	    "\"temperature\":0.7,\"top_p\":1,\"frequency_penalty\":0,"
	    "\"presence_penalty\":-1.5},\"stream\":true}";

	CHECK(run(seed, &out, &err) == 0, "seed payload accepted");
	CHECK_STR(out.msgid, "m-1", "seed: msgid");
	CHECK_STR(out.model, "m2", "seed: model");
	CHECK(out.stream == 1, "seed: stream wanted");
	cJSON *body = seed_body(&out);
	CHECK(body != NULL, "seed: body is JSON");
	CHECK(cJSON_IsString(num(body, "model")) &&
	    strcmp(num(body, "model")->valuestring, "m2") == 0, "body: model");
	const cJSON *msgs = num(body, "messages");
	CHECK(cJSON_IsArray(msgs) && cJSON_GetArraySize(msgs) == 3,
	    "body: three messages");
	const cJSON *m1 = cJSON_GetArrayItem(msgs, 1);
	const cJSON *role = cJSON_GetObjectItemCaseSensitive(m1, "role");
	const cJSON *content = cJSON_GetObjectItemCaseSensitive(m1, "content");
	CHECK(cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0,
	    "body: role copied");
	CHECK(cJSON_IsString(content) &&
	    strcmp(content->valuestring, "Hello \"q\"\n\xc3\xa9") == 0,
	    "body: content copied exactly");
	CHECK(cJSON_GetArraySize(m1) == 2, "body: message has role+content only");
	CHECK(cJSON_IsTrue(num(body, "stream")), "body: stream true");
	CHECK(cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(
	    num(body, "stream_options"), "include_usage")),
	    "body: stream_options.include_usage true");
	CHECK(cJSON_IsNumber(num(body, "max_tokens")) &&
	    num(body, "max_tokens")->valuedouble == 512, "body: max_tokens 512");
	CHECK(cJSON_IsNumber(num(body, "temperature")) &&
	    fabs(num(body, "temperature")->valuedouble - 0.7) < 1e-9,
	    "body: temperature 0.7");
	CHECK(cJSON_IsNumber(num(body, "top_p")) &&
	    num(body, "top_p")->valuedouble == 1, "body: top_p 1");
	CHECK(cJSON_IsNumber(num(body, "frequency_penalty")) &&
	    num(body, "frequency_penalty")->valuedouble == 0,
	    "body: frequency_penalty 0");
	CHECK(cJSON_IsNumber(num(body, "presence_penalty")) &&
	    num(body, "presence_penalty")->valuedouble == -1.5,
	    "body: presence_penalty -1.5");
	CHECK(num(body, "msgid") == NULL && num(body, "params") == NULL &&
	    num(body, "model_name") == NULL && cJSON_GetArraySize(body) == 9,
	    "body: nothing else");
	cJSON_Delete(body);
	request_free(&out);

	CHECK(run("{\"msgid\":\"a\"," MSGS ",\"params\":{\"max_tokens\":\"100\","
	    "\"temperature\":\"0.5\",\"top_p\":\"1e-1\"}}", &out, &err) == 0,
	    "numeric strings accepted");
	body = seed_body(&out);
	CHECK(cJSON_IsNumber(num(body, "max_tokens")) &&
	    num(body, "max_tokens")->valuedouble == 100 &&
	    cJSON_IsNumber(num(body, "temperature")) &&
	    num(body, "temperature")->valuedouble == 0.5 &&
	    cJSON_IsNumber(num(body, "top_p")) &&
	    fabs(num(body, "top_p")->valuedouble - 0.1) < 1e-12,
	    "numeric strings become numbers");
	CHECK_STR(out.model, "m1", "params without model_name: default model");
	CHECK(out.stream == 0, "no stream: stream 0");
	CHECK(cJSON_IsTrue(num(body, "stream")), "no stream: upstream stream");
	cJSON_Delete(body);
	request_free(&out);

	CHECK(run("{\"msgid\":\"a\"," MSGS "}", &out, &err) == 0,
	    "missing params accepted");
	body = seed_body(&out);
	CHECK_STR(out.model, "m1", "missing params: default model");
	CHECK(num(body, "max_tokens") == NULL && num(body, "temperature") ==
	    NULL, "missing params: no sampling fields");
	cJSON_Delete(body);
	request_free(&out);

	const char *ok_models[][2] = {
		{ "null", "m1" }, { "\"\"", "m1" }, { "\"m1\"", "m1" },
		{ "\"old\"", "m2" }, { "\"older\"", "m1" },
	};
	for (size_t i = 0; i < 5; i++) {
		char json[256], name[96];
		snprintf(json, sizeof(json), "{\"msgid\":\"a\"," MSGS
		    ",\"stream\":false,\"params\":{\"model_name\":%s}}",
		    ok_models[i][0]);
		snprintf(name, sizeof(name), "model_name %s -> %s",
		    ok_models[i][0], ok_models[i][1]);
		int rc = run(json, &out, &err);
		CHECK(rc == 0 && strcmp(out.model, ok_models[i][1]) == 0, name);
		if (rc == 0)
			request_free(&out);
	}
	CHECK(run("{\"msgid\":\"a\"," MSGS ",\"params\":null}", &out, &err) ==
	    0 && strcmp(out.model, "m1") == 0, "params null: default");
	request_free(&out);
	CHECK(run("{\"msgid\":\"a\"," MSGS ",\"params\":{\"max_tokens\":1,"
	    "\"temperature\":2,\"top_p\":0,\"frequency_penalty\":-2,"
	    "\"presence_penalty\":2}}", &out, &err) == 0,
	    "range ends accepted");
	request_free(&out);
	CHECK(run("{\"msgid\":\"a\"," MSGS ",\"params\":{\"max_tokens\":16384,"
	    "\"temperature\":0,\"top_p\":\"0\"}}", &out, &err) == 0,
	    "max_tokens = max_tokens_limit accepted");
	request_free(&out);
}

static void
test_models(void)
{
	char out[REQUEST_MODEL_MAX + 1], longname[REQUEST_MODEL_MAX + 2];
	char *saved = cfg.model_aliases;

	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":{\"model_name\":"
	    "\"m3\"}}", "model_not_allowed", "params.model_name",
	    "unknown model -> model_not_allowed");
	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":{\"model_name\":"
	    "\"m\"}}", "model_not_allowed", "params.model_name",
	    "prefix of a model -> model_not_allowed");
	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":{\"model_name\":"
	    "\"m1,m2\"}}", "model_not_allowed", "params.model_name",
	    "list as model -> model_not_allowed");
	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":{\"model_name\":"
	    "5}}", "invalid_request", "params.model_name",
	    "number as model_name -> invalid_request");
	CHECK(request_resolve_model(&cfg, NULL, "m2", out) == 0 &&
	    strcmp(out, "m2") == 0, "resolve m2");
	CHECK(request_resolve_model(&cfg, NULL, "old", out) == 0 &&
	    strcmp(out, "m2") == 0, "resolve alias old");
	CHECK(request_resolve_model(&cfg, NULL, "", out) == -1, "resolve empty");
	CHECK(request_resolve_model(&cfg, NULL, "ol", out) == -1, "resolve alias prefix");
	CHECK(request_resolve_model(&cfg, NULL, "old=m2", out) == -1,
	    "resolve the alias text itself");
	memset(longname, 'm', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	CHECK(request_resolve_model(&cfg, NULL, longname, out) == -1,
	    "resolve 129-byte name");
	cfg.model_aliases = (char *)"bad=m9,,good=m2,empty=";
	CHECK(request_resolve_model(&cfg, NULL, "bad", out) == -1,
	    "alias to a model not allowed refused");
	CHECK(request_resolve_model(&cfg, NULL, "empty", out) == -1,
	    "alias to nothing refused");
	CHECK(request_resolve_model(&cfg, NULL, "good", out) == 0 &&
	    strcmp(out, "m2") == 0, "alias after an empty item");
	cfg.model_aliases = saved;
}

static void
test_params(void)
{
	static const struct { const char *param, *value; } bad[] = {
		{ "max_tokens", "0" }, { "max_tokens", "16385" },
		{ "max_tokens", "-1" }, { "max_tokens", "1.5" },
		{ "max_tokens", "\"1.5\"" }, { "max_tokens", "\"abc\"" },
		{ "max_tokens", "\"\"" }, { "max_tokens", "true" },
		{ "max_tokens", "[1]" }, { "max_tokens", "{}" },
		{ "max_tokens", "\"12abc\"" }, { "max_tokens", "1e300" },
		{ "temperature", "-0.1" }, { "temperature", "2.01" },
		{ "temperature", "\"hot\"" }, { "temperature", "\"nan\"" },
		{ "temperature", "\"inf\"" }, { "temperature", "\"1e999\"" },
		{ "top_p", "1.1" }, { "top_p", "-0.01" }, { "top_p", "false" },
		{ "frequency_penalty", "-2.1" }, { "frequency_penalty", "2.1" },
		{ "frequency_penalty", "\"x\"" },
		{ "presence_penalty", "3" }, { "presence_penalty", "-3" },
		{ "presence_penalty", "\"0.5 apples\"" },
	};
	char json[512], field[64], name[160];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(json, sizeof(json), "{\"msgid\":\"a\"," MSGS
		    ",\"params\":{\"%s\":%s}}", bad[i].param, bad[i].value);
		snprintf(field, sizeof(field), "params.%s", bad[i].param);
		snprintf(name, sizeof(name), "%s %s -> invalid_request %s",
		    bad[i].param, bad[i].value, field);
		expect_fail(json, "invalid_request", field, name);
	}
	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":\"x\"}",
	    "invalid_request", "params", "params string refused");
	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":[]}",
	    "invalid_request", "params", "params array refused");
	expect_fail("{\"msgid\":\"a\"," MSGS ",\"stream\":\"true\"}",
	    "invalid_request", "stream", "stream string refused");
	expect_fail("{\"msgid\":\"a\"," MSGS ",\"stream\":1}",
	    "invalid_request", "stream", "stream number refused");
}

static void
test_msgid_and_messages(void)
{
	char json[512], id[REQUEST_MSGID_MAX + 2];
	struct chat_request out;
	struct request_error err;

	expect_fail(NULL, "invalid_request", "payload", "NULL payload");
	expect_fail("[1]", "invalid_request", "payload", "array payload");
	expect_fail("{" MSGS "}", "invalid_request", "msgid", "msgid missing");
	expect_fail("{\"msgid\":\"\"," MSGS "}", "invalid_request", "msgid",
	    "msgid empty");
	expect_fail("{\"msgid\":7," MSGS "}", "invalid_request", "msgid",
	    "msgid number");
	expect_fail("{\"msgid\":null," MSGS "}", "invalid_request", "msgid",
	    "msgid null");
	memset(id, 'i', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	snprintf(json, sizeof(json), "{\"msgid\":\"%s\"," MSGS "}", id);
	expect_fail(json, "invalid_request", "msgid", "msgid 129 bytes");
	id[REQUEST_MSGID_MAX] = '\0';
	snprintf(json, sizeof(json), "{\"msgid\":\"%s\"," MSGS "}", id);
	CHECK(run(json, &out, &err) == 0 && strcmp(out.msgid, id) == 0,
	    "msgid 128 bytes accepted");
	request_free(&out);

	expect_fail("{\"msgid\":\"a\"}", "invalid_request", "prompt",
	    "neither messages nor prompt: asks for a prompt");
	expect_fail("{\"msgid\":\"a\",\"messages\":[]}", "invalid_request",
	    "messages", "messages empty");
	expect_fail("{\"msgid\":\"a\",\"messages\":{\"role\":\"user\","
	    "\"content\":\"x\"}}", "invalid_request", "messages",
	    "messages object");
	expect_fail("{\"msgid\":\"a\",\"messages\":\"hi\"}", "invalid_request",
	    "messages", "messages string");
	const char *four = "{\"msgid\":\"a\",\"messages\":["
	    "{\"role\":\"user\",\"content\":\"1\"},{\"role\":\"user\",\"content\":\"2\"},"
	    "{\"role\":\"user\",\"content\":\"3\"},{\"role\":\"user\",\"content\":\"4\"}]}";
	expect_fail(four, "invalid_request", "messages",
	    "more than max_messages (3)");
	const char *bad_msgs[][2] = {
		{ "[{\"role\":\"tool\",\"content\":\"x\"}]", "messages.role" },
		{ "[{\"role\":\"User\",\"content\":\"x\"}]", "messages.role" },
		{ "[{\"content\":\"x\"}]", "messages.role" },
		{ "[{\"role\":1,\"content\":\"x\"}]", "messages.role" },
		{ "[\"user: x\"]", "messages.role" },
		{ "[{\"role\":\"user\",\"content\":\"x\"},null]", "messages.role" },
		{ "[{\"role\":\"user\",\"content\":5}]", "messages.content" },
		{ "[{\"role\":\"user\",\"content\":null}]", "messages.content" },
		{ "[{\"role\":\"user\"}]", "messages.content" },
		{ "[{\"role\":\"user\",\"content\":[{\"type\":\"text\"}]}]",
		  "messages.content" },
	};
	for (size_t i = 0; i < sizeof(bad_msgs) / sizeof(bad_msgs[0]); i++) {
		char name[160];
		snprintf(json, sizeof(json), "{\"msgid\":\"a\",\"messages\":%s}",
		    bad_msgs[i][0]);
		snprintf(name, sizeof(name), "messages %s -> %s", bad_msgs[i][0],
		    bad_msgs[i][1]);
		expect_fail(json, "invalid_request", bad_msgs[i][1], name);
	}
	CHECK(run("{\"msgid\":\"keep-me\",\"messages\":[]}", &out, &err) == -1 &&
	    strcmp(out.msgid, "keep-me") == 0,
	    "msgid kept when messages fail");
	request_free(&out);
	CHECK(run("{\"msgid\":\"keep-2\"," MSGS ",\"params\":{\"top_p\":9}}",
	    &out, &err) == -1 && strcmp(out.msgid, "keep-2") == 0,
	    "msgid kept when a param fails");
	request_free(&out);
	CHECK(run("{\"msgid\":\"keep-3\"," MSGS ",\"params\":{\"model_name\":"
	    "\"zz\"}}", &out, &err) == -1 && strcmp(out.msgid, "keep-3") == 0,
	    "msgid kept when the model fails");
	request_free(&out);
	CHECK(run("{\"msgid\":\"\"," MSGS "}", &out, &err) == -1 &&
	    out.msgid[0] == '\0', "no msgid on a bad msgid");
	request_free(&out);
}

static void
test_conversation_shape(void)
{
	struct chat_request out;
	struct request_error err;
	const char *id = "0123456789abcdef0123456789abcdef";
	char json[512];

	snprintf(json, sizeof(json), "{\"msgid\":\"c1\",\"conversation_id\":"
	    "\"%s\",\"prompt\":\"Hi there\",\"system\":\"Be brief\","
	    "\"stream\":true,\"params\":{\"temperature\":0.5}}", id);
	CHECK(run(json, &out, &err) == 0, "conversation shape accepted");
	CHECK(!out.seed && out.messages == NULL,
	    "conversation shape: not seed, no messages");
	CHECK_STR(out.conversation_id, id, "conversation shape: id kept");
	CHECK_STR(out.prompt, "Hi there", "conversation shape: prompt kept");
	CHECK_STR(out.system, "Be brief", "conversation shape: system kept");
	cJSON *msgs = cJSON_Parse("[{\"role\":\"user\",\"content\":\"Hi\"}]");
	char *body = upstream_body(out.model, msgs, out.params, NULL, true);
	cJSON *b = body != NULL ? cJSON_Parse(body) : NULL;
	CHECK(b != NULL && cJSON_GetArraySize(num(b, "messages")) == 1 &&
	    num(b, "temperature") != NULL &&
	    num(b, "temperature")->valuedouble == 0.5 &&
	    cJSON_IsTrue(num(b, "stream")),
	    "upstream_body: given messages and the checked params");
	cJSON_Delete(b);
	free(body);
	cJSON_Delete(msgs);
	/* A message with images (worker/context.h): its content as parts. */
	msgs = cJSON_Parse("[{\"role\":\"user\",\"content\":\"old\"},"
	    "{\"role\":\"user\",\"content\":\"see\",\"images\":["
	    "{\"mime\":\"image/png\",\"data\":\"iVBO\"},"
	    "{\"mime\":\"image/gif\",\"data\":\"R0lG\"}]}]");
	body = upstream_body(out.model, msgs, out.params, NULL, true);
	b = body != NULL ? cJSON_Parse(body) : NULL;
	char *c = b != NULL ? cJSON_PrintUnformatted(cJSON_GetObjectItem(
	    cJSON_GetArrayItem(num(b, "messages"), 1), "content")) : NULL;
	CHECK_STR(c, "[{\"type\":\"text\",\"text\":\"see\"},{\"type\":"
	    "\"image_url\",\"image_url\":{\"url\":\"data:image/png;base64,iVBO\"}},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":"
	    "\"data:image/gif;base64,R0lG\"}}]", "upstream_body: images as "
	    "content parts after the text");
	CHECK(b != NULL && cJSON_IsString(cJSON_GetObjectItem(cJSON_GetArrayItem(
	    num(b, "messages"), 0), "content")) && cJSON_GetObjectItem(
	    cJSON_GetArrayItem(num(b, "messages"), 1), "images") == NULL,
	    "a message without images keeps its string; \"images\" never "
	    "goes upstream");
	free(c);
	cJSON_Delete(b);
	free(body);
	cJSON_Delete(msgs);
	request_free(&out);

	CHECK(run("{\"msgid\":\"c2\",\"prompt\":\"new\"}", &out, &err) == 0 &&
	    out.conversation_id[0] == '\0', "no conversation_id: a new one");
	request_free(&out);
	expect_fail("{\"msgid\":\"c3\",\"prompt\":\"\"}", "invalid_request",
	    "prompt", "empty prompt refused");
	expect_fail("{\"msgid\":\"c4\",\"prompt\":5}", "invalid_request",
	    "prompt", "prompt not a string refused");
	expect_fail("{\"msgid\":\"c5\",\"prompt\":\"x\",\"conversation_id\":"
	    "\"../../etc\"}", "invalid_request", "conversation_id",
	    "malformed conversation_id refused");
	expect_fail("{\"msgid\":\"c6\",\"prompt\":\"x\",\"edit_last\":true}",
	    "invalid_request", "conversation_id",
	    "edit_last without a conversation refused");
#define A1 "0123456789abcdef0123456789abcdef"
#define A2 "fedcba9876543210fedcba9876543210"
	CHECK(run("{\"msgid\":\"a1\",\"prompt\":\"\",\"attachments\":[\"" A1
	    "\",\"" A2 "\"]}", &out, &err) == 0 && out.n_attachments == 2 &&
	    strcmp(out.attachments[0], A1) == 0 &&
	    strcmp(out.attachments[1], A2) == 0,
	    "attachments: ids kept in order; the prompt may then be empty");
	request_free(&out);
	CHECK(run("{\"msgid\":\"a2\",\"prompt\":\"x\",\"attachments\":null}",
	    &out, &err) == 0 && out.n_attachments == 0, "attachments null: none");
	request_free(&out);
	expect_fail("{\"msgid\":\"a3\",\"prompt\":\"x\",\"attachments\":\""
	    A1 "\"}", "invalid_request", "attachments", "attachments not an array");
	expect_fail("{\"msgid\":\"a4\",\"prompt\":\"x\",\"attachments\":"
	    "[\"ABC\"]}", "invalid_request", "attachments", "a malformed id");
	expect_fail("{\"msgid\":\"a5\",\"prompt\":\"x\",\"attachments\":[7]}",
	    "invalid_request", "attachments", "an id not a string");
	expect_fail("{\"msgid\":\"a6\",\"prompt\":\"x\",\"attachments\":[\""
	    A1 "\",\"" A1 "\"]}", "invalid_request", "attachments",
	    "an id twice");
	expect_fail("{\"msgid\":\"a7\",\"prompt\":\"x\",\"attachments\":[\""
	    A1 "\",\"" A2 "\",\"00000000000000000000000000000001\","
	    "\"00000000000000000000000000000002\",\"00000000000000000000000000000003\","
	    "\"00000000000000000000000000000004\",\"00000000000000000000000000000005\","
	    "\"00000000000000000000000000000006\",\"00000000000000000000000000000007\"]}",
	    "invalid_request", "attachments", "past prompt_attachments_max (8)");
	expect_fail("{\"msgid\":\"a8\",\"prompt\":\"\",\"attachments\":[]}",
	    "invalid_request", "prompt", "an empty prompt without attachments");
	expect_fail("{\"msgid\":\"a9\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"x\"}],\"attachments\":[\"" A1 "\"]}",
	    "invalid_request", "attachments", "the seed shape takes none");
	cJSON *p = cJSON_Parse("{\"msgid\":\"c7\"}");
	CHECK(request_parse(p, REQUEST_REGENERATE, &cfg, NULL, &out, &err) == -1 &&
	    strcmp(err.field, "conversation_id") == 0,
	    "regenerate without a conversation refused");
	request_free(&out);
	cJSON_Delete(p);
}

static void
test_strict_numbers_and_spaced_alias(void)
{
	char model[REQUEST_MODEL_MAX + 1];

	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":{\"max_tokens\":\"0x10\"}}",
	    "invalid_request", "params.max_tokens", "hex string refused");
	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":{\"top_p\":\" 0.5\"}}",
	    "invalid_request", "params.top_p", "number string with a blank refused");
	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":{\"temperature\":\"inf\"}}",
	    "invalid_request", "params.temperature", "\"inf\" refused");
	CHECK(request_resolve_model(&cfg, NULL, "spaced", model) == 0 &&
	    strcmp(model, "m2") == 0, "alias written with spaces around '='");
}

static void
test_control_characters(void)
{
	struct chat_request out;
	struct request_error err;

	expect_fail("{\"msgid\":\"a\",\"prompt\":\"x\\u0001\"}",
	    "invalid_request", "prompt", "ctl: U+0001 in a prompt refused");
	CHECK(run("{\"msgid\":\"a\",\"prompt\":\"ab\\u001bc\"}", &out,
	    &err) == -1 && strcmp(err.message, "prompt holds the control "
	    "character U+001B at byte 2: only tab, newline and carriage return "
	    "are allowed") == 0, "ctl: the error names it and where");
	request_free(&out);
	expect_fail("{\"msgid\":\"a\",\"prompt\":\"hi\",\"system\":\"\\u007f\"}",
	    "invalid_request", "system", "ctl: DEL in a system prompt refused");
	expect_fail("{\"msgid\":\"a\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"\\b\"}]}", "invalid_request", "messages.content",
	    "ctl: backspace in a seed message refused");
	CHECK(run("{\"msgid\":\"a\",\"prompt\":\"a\\tb\\r\\nc\"}", &out,
	    &err) == 0, "ctl: tab, CR and newline accepted");
	request_free(&out);
	expect_fail("{\"msgid\":\"a\",\"messages\":[{\"role\":\"user\","
	    "\"content\":\"hi\"},{\"role\":\"assistant\",\"content\":"
	    "\"\\u0001\"},{\"role\":\"user\",\"content\":\"again\"}]}",
	    "invalid_request", "messages.content",
	    "ctl: in an assistant turn too (a new transcript is stored whole)");
}


/* The parameter mapping per family (issue 14): the seed's fixed params on
 * every family never yield a parameter that family refuses. */
static struct lc_config fam_cfg;

#define SEED_PARAMS "\"max_tokens\":4096,\"temperature\":0.7,\"top_p\":1," \
	"\"frequency_penalty\":0,\"presence_penalty\":0"

/* The mapped body of the seed shape (a system and a user message) for
 * model with extra params (may be ""), parsed back; NULL on failure. */
static cJSON *
family_body(const char *model, const char *extra, struct chat_request *out)
{
	char json[1024];
	struct request_error err;
	cJSON *payload, *body = NULL;

	snprintf(json, sizeof(json), "{\"msgid\":\"f\",\"messages\":["
	    "{\"role\":\"system\",\"content\":\"Be brief.\"},"
	    "{\"role\":\"user\",\"content\":\"Hi\"}],"
	    "\"params\":{\"model_name\":\"%s\"%s%s}}", model,
	    extra[0] ? "," : "", extra);
	payload = cJSON_Parse(json);
	if (request_parse(payload, REQUEST_SENDPROMPT, &fam_cfg, NULL, out,
	    &err) == 0) {
		char *text = upstream_body(out->model, out->messages,
		    out->params, &out->info, true);
		body = text != NULL ? cJSON_Parse(text) : NULL;
		free(text);
	} else {
		printf("# %s: %s\n", model, err.message);
	}
	cJSON_Delete(payload);
	return body;
}

static const char *
system_role_of(const cJSON *body)
{
	const cJSON *m = cJSON_GetArrayItem(num(body, "messages"), 0);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(m, "role");

	return cJSON_IsString(r) ? r->valuestring : "";
}

static double
numv(const cJSON *body, const char *name)
{
	const cJSON *v = num(body, name);

	return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static const char *
strv(const cJSON *body, const char *name)
{
	const cJSON *v = num(body, name);

	return cJSON_IsString(v) ? v->valuestring : "";
}

struct family_case {
	const char *model;
	bool reasoning;          /* max_completion_tokens, no sampling */
	const char *role;        /* what the system message becomes */
	const char *effort_high; /* reasoning_effort "high" becomes ("": none) */
	const char *effort_none; /* reasoning_effort "none" becomes */
};

static void
test_mapping(void)
{
	static const struct family_case fam[] = {
		{ "gpt-4o", false, "system", "", "" },
		{ "gpt-4o-mini", false, "system", "", "" },
		{ "o1-mini", true, "user", "", "" },
		{ "o3", true, "developer", "high", "low" },
		{ "o4-mini", true, "developer", "high", "low" },
		{ "gpt-5", true, "developer", "high", "minimal" },
		{ "gpt-5.1", true, "developer", "high", "none" },
		{ "gpt-5-chat-latest", true, "developer", "", "" },
		{ "llama3.2:1b", false, "system", "", "" },
	};
	static const char *const sampling[] = { "temperature", "top_p",
	    "frequency_penalty", "presence_penalty" };
	char path[] = "/tmp/test-request-conf-XXXXXX", label[160];
	int fd = mkstemp(path);
	const char *conf = "[upstream local]\n"
	    "base_url = http://127.0.0.1:11434/v1\n"
	    "models = llama3.2:1b\n"
	    "[model gpt-5-mini]\n"
	    "reasoning_effort = low\n"
	    "[model o4-mini]\n"
	    "max_tokens_limit = 1000\n"
	    "[model llama*]\n"
	    "max_tokens_param = max_completion_tokens\n"
	    "omit = presence_penalty\n";
	char err[LC_CONFIG_ERR_MAX];
	struct chat_request out;
	cJSON *b;

	if (fd < 0 || write(fd, conf, strlen(conf)) != (ssize_t)strlen(conf)) {
		printf("not ok - mapping: config file\n");
		return;
	}
	close(fd);
	setenv("LIGHTCHAT_CONFIG", path, 1);
	setenv("LIGHTCHAT_MODELS", "gpt-4o-mini,gpt-4o,o1-mini,o3,o4-mini,"
	    "gpt-5,gpt-5-mini,gpt-5.1,gpt-5-chat-latest", 1);
	setenv("LIGHTCHAT_DEFAULT_MODEL", "gpt-4o-mini", 1);
	CHECK(config_load(&fam_cfg, err) == 0, "mapping: config loaded");
	unlink(path);
	setenv("LIGHTCHAT_CONFIG", "/dev/null", 1);
	setenv("LIGHTCHAT_MODELS", "m1,m2", 1);
	setenv("LIGHTCHAT_DEFAULT_MODEL", "m1", 1);

	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		const struct family_case *f = &fam[i];
		b = family_body(f->model, SEED_PARAMS, &out);
		snprintf(label, sizeof(label), "mapping %s: seed params", f->model);
		CHECK(b != NULL, label);
		bool local = strcmp(f->model, "llama3.2:1b") == 0;
		bool mct = f->reasoning || local;
		/* o4-mini: the config's max_tokens_limit = 1000 */
		double mt = strcmp(f->model, "o4-mini") == 0 ? 1000 : 4096;
		int bad = 0;
		if (mct ? num(b, "max_tokens") != NULL ||
		    numv(b, "max_completion_tokens") != mt :
		    num(b, "max_completion_tokens") != NULL ||
		    numv(b, "max_tokens") != mt)
			bad |= 1;
		for (size_t k = 0; k < 4; k++) {
			bool want = !f->reasoning &&
			    !(local && strcmp(sampling[k], "presence_penalty") == 0);
			if ((num(b, sampling[k]) != NULL) != want)
				bad |= 2;
		}
		if (!f->reasoning && (numv(b, "temperature") != 0.7 ||
		    numv(b, "top_p") != 1))
			bad |= 4;
		if (strcmp(system_role_of(b), f->role) != 0)
			bad |= 8;
		if (num(b, "reasoning_effort") != NULL)
			bad |= 16;
		snprintf(label, sizeof(label), "mapping %s: max tokens name, "
		    "sampling %s, system as %s, no effort unasked", f->model,
		    f->reasoning ? "omitted" : "kept", f->role);
		CHECK(bad == 0 && out.upstream == (local ? 1 : 0), label);
		if (bad != 0)
			printf("#   bad %#x\n", bad);
		cJSON_Delete(b);
		request_free(&out);

		b = family_body(f->model, "\"reasoning_effort\":\"high\"", &out);
		snprintf(label, sizeof(label), "mapping %s: effort high -> %s",
		    f->model, f->effort_high[0] ? f->effort_high : "dropped");
		CHECK(b != NULL && strcmp(strv(b, "reasoning_effort"),
		    f->effort_high) == 0 && (f->effort_high[0] != '\0' ||
		    num(b, "reasoning_effort") == NULL), label);
		cJSON_Delete(b);
		request_free(&out);
		b = family_body(f->model, "\"reasoning_effort\":\"none\"", &out);
		snprintf(label, sizeof(label), "mapping %s: effort none -> %s",
		    f->model, f->effort_none[0] ? f->effort_none : "dropped");
		CHECK(b != NULL && strcmp(strv(b, "reasoning_effort"),
		    f->effort_none) == 0, label);
		cJSON_Delete(b);
		request_free(&out);
	}

	/* The sysadmin's overrides, one field each. */
	b = family_body("gpt-5-mini", SEED_PARAMS ",\"reasoning_effort\":"
	    "\"minimal\"", &out);
	CHECK(b != NULL && strcmp(strv(b, "reasoning_effort"), "low") == 0 &&
	    numv(b, "max_completion_tokens") == 4096 &&
	    num(b, "temperature") == NULL,
	    "mapping: override of gpt-5-mini's efforts (low only), the family "
	    "rule for the rest");
	cJSON_Delete(b);
	request_free(&out);
	b = family_body("o4-mini", SEED_PARAMS, &out);
	CHECK(b != NULL && numv(b, "max_completion_tokens") == 1000,
	    "mapping: max_tokens lowered to the rule's max_tokens_limit");
	cJSON_Delete(b);
	request_free(&out);
	b = family_body("o4-mini", "\"max_tokens\":300", &out);
	CHECK(b != NULL && numv(b, "max_completion_tokens") == 300,
	    "mapping: max_tokens under the limit kept");
	cJSON_Delete(b);
	request_free(&out);

	/* No mapping (mi NULL): as the client sent them. */
	b = family_body("o3", SEED_PARAMS ",\"reasoning_effort\":\"xhigh\"",
	    &out);
	cJSON_Delete(b);
	char *text = upstream_body(out.model, out.messages, out.params, NULL,
	    false);
	b = text != NULL ? cJSON_Parse(text) : NULL;
	CHECK(b != NULL && numv(b, "max_tokens") == 4096 &&
	    numv(b, "temperature") == 0.7 &&
	    strcmp(strv(b, "reasoning_effort"), "xhigh") == 0 &&
	    strcmp(system_role_of(b), "system") == 0 &&
	    num(b, "stream_options") == NULL && cJSON_IsTrue(num(b, "stream")),
	    "mapping: mi NULL sends them as they are; stream_options false "
	    "leaves it out");
	cJSON_Delete(b);
	free(text);
	request_free(&out);

	/* No model named: the configured default. */
	b = family_body("", SEED_PARAMS, &out);
	CHECK(b != NULL && strcmp(out.model, "gpt-4o-mini") == 0 &&
	    out.upstream == 0, "mapping: no model_name: default_model");
	cJSON_Delete(b);
	request_free(&out);
	config_free(&fam_cfg);
}

static void
test_effort_param(void)
{
	struct chat_request out;
	struct request_error err;

	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":{\"reasoning_effort\":"
	    "\"max\"}}", "invalid_request", "params.reasoning_effort",
	    "effort: unknown value refused");
	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":{\"reasoning_effort\":"
	    "3}}", "invalid_request", "params.reasoning_effort",
	    "effort: a number refused");
	expect_fail("{\"msgid\":\"a\"," MSGS ",\"params\":{\"reasoning_effort\":"
	    "\"High\"}}", "invalid_request", "params.reasoning_effort",
	    "effort: case matters");
	CHECK(run("{\"msgid\":\"a\"," MSGS ",\"params\":{\"reasoning_effort\":"
	    "\"xhigh\"}}", &out, &err) == 0 &&
	    cJSON_IsString(num(out.params, "reasoning_effort")) &&
	    strcmp(num(out.params, "reasoning_effort")->valuestring,
	    "xhigh") == 0, "effort: kept as a string in params");
	request_free(&out);
	CHECK(run("{\"msgid\":\"a\"," MSGS ",\"params\":{\"reasoning_effort\":"
	    "\"\"}}", &out, &err) == 0 &&
	    num(out.params, "reasoning_effort") == NULL,
	    "effort: \"\" is none asked");
	request_free(&out);
	CHECK(run("{\"msgid\":\"a\"," MSGS ",\"params\":{\"reasoning_effort\":"
	    "null}}", &out, &err) == 0 &&
	    num(out.params, "reasoning_effort") == NULL,
	    "effort: null is none asked");
	request_free(&out);
}

/* Loads conf (a file) with models and default_model from the environment
 * as given (NULL: unset) into c. Restores the suite's environment. */
static int
load_with(const char *conf, const char *models, const char *def,
    const char *aliases, struct lc_config *c)
{
	char path[] = "/tmp/test-request-conf-XXXXXX", err[LC_CONFIG_ERR_MAX];
	int fd = mkstemp(path), rc;

	if (fd < 0 || write(fd, conf, strlen(conf)) != (ssize_t)strlen(conf)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	setenv("LIGHTCHAT_CONFIG", path, 1);
	if (models != NULL)
		setenv("LIGHTCHAT_MODELS", models, 1);
	else
		unsetenv("LIGHTCHAT_MODELS");
	if (def != NULL)
		setenv("LIGHTCHAT_DEFAULT_MODEL", def, 1);
	else
		unsetenv("LIGHTCHAT_DEFAULT_MODEL");
	setenv("LIGHTCHAT_MODEL_ALIASES", aliases, 1);
	rc = config_load(c, err);
	if (rc != 0)
		printf("# config_load: %s\n", err);
	unlink(path);
	setenv("LIGHTCHAT_CONFIG", "/dev/null", 1);
	setenv("LIGHTCHAT_MODELS", "m1,m2", 1);
	setenv("LIGHTCHAT_DEFAULT_MODEL", "m1", 1);
	setenv("LIGHTCHAT_MODEL_ALIASES", "old=m2, older=m1, spaced = m2", 1);
	return rc;
}

static void
test_routing(void)
{
	struct lc_config c;
	struct chat_request out;
	struct request_error err;
	char model[REQUEST_MODEL_MAX + 1];
	cJSON *p;

	/* Discovery only, nothing listed yet (live NULL): no default. */
	CHECK(load_with("[upstream ollama]\nbase_url = http://127.0.0.1:11434/v1\n"
	    "discover = true\n", NULL, NULL, "", &c) == 0 &&
	    c.default_model[0] == '\0', "routing: a discovery-only table");
	p = cJSON_Parse("{\"msgid\":\"d\",\"prompt\":\"hi\"}");
	CHECK(request_parse(p, REQUEST_SENDPROMPT, &c, NULL, &out, &err) == -1 &&
	    strcmp(err.code, "model_not_allowed") == 0 &&
	    strcmp(err.message, "no model is available now") == 0,
	    "routing: no model offered yet: model_not_allowed");
	request_free(&out);
	cJSON_Delete(p);
	config_free(&c);

	/* Two upstreams: the default is the first static model; an alias to
	 * the second upstream's model routes there. */
	CHECK(load_with("[upstream openai]\nbase_url = https://api.openai.com/v1\n"
	    "models = gpt-4.1-mini\n"
	    "[upstream ollama]\nbase_url = http://127.0.0.1:11434/v1\n"
	    "models = llama3.2:1b,qwen/qwen3-32b\n", NULL, NULL,
	    "local=llama3.2:1b", &c) == 0, "routing: two upstreams");
	CHECK_STR(c.default_model, "gpt-4.1-mini",
	    "routing: default_model the first static model");
	CHECK(request_resolve_model(&c, NULL, "local", model) == 1 &&
	    strcmp(model, "llama3.2:1b") == 0,
	    "routing: an alias resolves to the second upstream");
	CHECK(request_resolve_model(&c, NULL, "qwen/qwen3-32b", model) == 1,
	    "routing: a name with a slash");
	CHECK(request_resolve_model(&c, NULL, "gpt-4o-mini", model) == -1,
	    "routing: the flat default models are not offered with sections");
	p = cJSON_Parse("{\"msgid\":\"d\",\"prompt\":\"hi\"}");
	CHECK(request_parse(p, REQUEST_SENDPROMPT, &c, NULL, &out, &err) == 0 &&
	    strcmp(out.model, "gpt-4.1-mini") == 0 && out.upstream == 0 &&
	    out.info.upstream == 0 && out.info.images,
	    "routing: no model_name: the default, its upstream and quirks");
	request_free(&out);
	cJSON_Delete(p);
	p = cJSON_Parse("{\"msgid\":\"d\",\"prompt\":\"hi\",\"params\":"
	    "{\"model_name\":\"local\"}}");
	CHECK(request_parse(p, REQUEST_SENDPROMPT, &c, NULL, &out, &err) == 0 &&
	    strcmp(out.model, "llama3.2:1b") == 0 && out.upstream == 1 &&
	    out.info.upstream == 1, "routing: request_parse routes an alias");
	request_free(&out);
	cJSON_Delete(p);
	config_free(&c);
}

int
main(void)
{
	char err[LC_CONFIG_ERR_MAX];

	config_each_key(unset_key, NULL);
	unsetenv("OPENAI_API_KEY");
	unsetenv("OPENAI_BASE_URL");
	setenv("LIGHTCHAT_CONFIG", "/dev/null", 1);
	setenv("LIGHTCHAT_MODELS", "m1,m2", 1);
	setenv("LIGHTCHAT_DEFAULT_MODEL", "m1", 1);
	setenv("LIGHTCHAT_MODEL_ALIASES", "old=m2, older=m1, spaced = m2", 1);
	setenv("LIGHTCHAT_STATE", "/tmp", 1);
	setenv("LIGHTCHAT_MAX_MESSAGES", "3", 1);
	if (config_load(&cfg, err) != 0) {
		printf("not ok - config_load: %s\n", err);
		config_free(&cfg);
		return 1;
	}
	CHECK(cfg.max_messages == 3 && cfg.max_tokens_limit == 16384,
	    "config for the tests");
	test_seed();
	test_models();
	test_params();
	test_msgid_and_messages();
	test_strict_numbers_and_spaced_alias();
	test_conversation_shape();
	test_control_characters();
	test_effort_param();
	test_mapping();
	test_routing();
	config_free(&cfg);
	UNIT_EXIT();
}
