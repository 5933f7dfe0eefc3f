/* test-frames.c - unit tests of worker/frames.c: the client JSON frames
 * (budget_exceeded's "budget" member too). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "frames.h"
#include "utf8.h"
#include "unit.h"

static const cJSON *
get(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

static int
str_is(const cJSON *v, const char *want)
{
	return cJSON_IsString(v) && strcmp(v->valuestring, want) == 0;
}

static int
num_is(const cJSON *v, double want)
{
	return cJSON_IsNumber(v) && v->valuedouble == want;
}

/* Parses a frame, checking that it is one line of valid UTF-8 JSON. */
static cJSON *
parse_frame(char *frame, const char *name)
{
	char label[160];
	cJSON *root;

	snprintf(label, sizeof(label), "%s: frame made", name);
	CHECK(frame != NULL, label);
	if (frame == NULL)
		return NULL;
	size_t n = strlen(frame);
	snprintf(label, sizeof(label), "%s: no raw newline", name);
	CHECK(strchr(frame, '\n') == NULL && strchr(frame, '\r') == NULL, label);
	snprintf(label, sizeof(label), "%s: valid UTF-8", name);
	CHECK(utf8_valid_prefix(frame, n) == n, label);
	root = cJSON_Parse(frame);
	snprintf(label, sizeof(label), "%s: parses as an object", name);
	CHECK(cJSON_IsObject(root), label);
	free(frame);
	return root;
}

static const char tricky[] =
    "quote \" backslash \\ slash / newline \n cr \r tab \t "
    "ctl \x01\x02\x1b\x1f del \x7f </script> "
    "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xe2\x80\xa8 end";

static void
test_delta_and_pong(void)
{
	cJSON *r = parse_frame(frame_delta("m-1", NULL, "Hel"), "delta");

	CHECK(str_is(get(r, "msgid"), "m-1") && str_is(get(r, "type"), "delta")
	    && str_is(get(r, "delta"), "Hel") && cJSON_GetArraySize(r) == 3,
	    "delta: msgid, type, delta only");
	cJSON_Delete(r);
	r = parse_frame(frame_delta("m-2", NULL, tricky), "delta tricky");
	CHECK(str_is(get(r, "delta"), tricky), "delta: tricky text round-trips");
	cJSON_Delete(r);
	r = parse_frame(frame_delta(NULL, NULL, ""), "delta null msgid");
	CHECK(cJSON_IsNull(get(r, "msgid")) && str_is(get(r, "delta"), ""),
	    "delta: NULL msgid -> null, empty delta");
	cJSON_Delete(r);
	r = parse_frame(frame_pong(), "pong");
	CHECK(str_is(get(r, "type"), "pong") && cJSON_GetArraySize(r) == 1,
	    "pong: {\"type\":\"pong\"}");
	cJSON_Delete(r);
}

static void
test_reply(void)
{
	struct lc_usage u = { 1, 9, 2, 11, 0 };
	cJSON *r = parse_frame(frame_reply("m-1", NULL, "Hello!", "gpt-x", "stop", &u, NULL),
	    "reply");
	const cJSON *text = get(r, "text"), *usage = get(r, "usage");

	CHECK(str_is(get(r, "msgid"), "m-1"), "reply: msgid");
	CHECK(str_is(get(r, "type"), "reply"), "reply: type");
	CHECK(cJSON_IsObject(text) && cJSON_GetArraySize(text) == 2 &&
	    str_is(get(text, "role"), "assistant") &&
	    str_is(get(text, "content"), "Hello!"), "reply: text role+content");
	CHECK(str_is(get(r, "model"), "gpt-x"), "reply: model");
	CHECK(str_is(get(r, "finish_reason"), "stop"), "reply: finish_reason");
	CHECK(cJSON_IsObject(usage) && num_is(get(usage, "prompt_tokens"), 9) &&
	    num_is(get(usage, "completion_tokens"), 2) &&
	    num_is(get(usage, "total_tokens"), 11) &&
	    cJSON_GetArraySize(usage) == 3, "reply: usage numbers");
	CHECK(cJSON_GetArraySize(r) == 6, "reply: six members");
	cJSON_Delete(r);

	u.present = 0;
	r = parse_frame(frame_reply("m-2", NULL, tricky, "m", "stopped", &u, NULL),
	    "reply no usage");
	CHECK(get(r, "usage") == NULL, "reply: usage absent when not present");
	CHECK(str_is(get(get(r, "text"), "content"), tricky),
	    "reply: tricky content round-trips exactly");
	CHECK(str_is(get(r, "finish_reason"), "stopped"),
	    "reply: stopped finish_reason");
	cJSON_Delete(r);
	r = parse_frame(frame_reply(NULL, NULL, "", "m", NULL, NULL, NULL), "reply NULLs");
	CHECK(cJSON_IsNull(get(r, "msgid")), "reply: NULL msgid -> null");
	CHECK(str_is(get(get(r, "text"), "content"), ""),
	    "reply: empty content");
	CHECK(str_is(get(r, "finish_reason"), "stop"),
	    "reply: NULL finish_reason -> stop");
	CHECK(get(r, "usage") == NULL, "reply: NULL usage -> absent");
	cJSON_Delete(r);

	size_t n = 200000;
	char *big = malloc(n + 1);
	for (size_t i = 0; i < n; i += 4)
		memcpy(big + i, "\xf0\x9f\x98\x80", 4);
	big[n] = '\0';
	r = parse_frame(frame_reply("m-3", NULL, big, "m", "length", NULL, NULL),
	    "reply big");
	CHECK(str_is(get(get(r, "text"), "content"), big),
	    "reply: 200 kB content round-trips");
	cJSON_Delete(r);
	free(big);
}

static void
test_error(void)
{
	struct frame_error e = { "m-1", NULL, "upstream_rate_limited",
		"the model is rate limited", NULL, 0, -1, NULL, NULL, NULL };
	cJSON *r = parse_frame(frame_error(&e), "error minimal");
	const cJSON *err = get(r, "error"), *text = get(r, "text");

	CHECK(str_is(get(r, "msgid"), "m-1") && str_is(get(r, "type"), "error"),
	    "error: msgid and type");
	CHECK(cJSON_IsObject(err) && str_is(get(err, "code"),
	    "upstream_rate_limited") && str_is(get(err, "message"),
	    "the model is rate limited"), "error: code and message");
	CHECK(cJSON_GetArraySize(err) == 2, "error: nothing optional when unset");
	CHECK(cJSON_IsObject(text) && get(text, "role") == NULL &&
	    cJSON_GetArraySize(text) == 1, "error: text has no role");
	CHECK(str_is(get(text, "content"), "Error: the model is rate limited"),
	    "error: text.content is Error: + message");
	CHECK(cJSON_GetArraySize(r) == 4, "error: four members");
	cJSON_Delete(r);

	e.msgid = NULL;
	e.field = "";
	e.retry_after = 0;
	r = parse_frame(frame_error(&e), "error null msgid");
	err = get(r, "error");
	CHECK(cJSON_IsNull(get(r, "msgid")), "error: NULL msgid -> null");
	CHECK(get(err, "field") == NULL, "error: empty field absent");
	CHECK(num_is(get(err, "retry_after"), 0), "error: retry_after 0 kept");
	CHECK(get(err, "status") == NULL && get(err, "partial") == NULL,
	    "error: status and partial absent");
	cJSON_Delete(r);

	struct frame_error all = { "m-9", NULL, "upstream_truncated", tricky,
		"params.top_p", 502, 20, tricky, NULL, NULL };
	r = parse_frame(frame_error(&all), "error all");
	err = get(r, "error");
	CHECK(str_is(get(err, "field"), "params.top_p"), "error: field");
	CHECK(num_is(get(err, "status"), 502), "error: status");
	CHECK(num_is(get(err, "retry_after"), 20), "error: retry_after");
	CHECK(str_is(get(err, "partial"), tricky), "error: partial exact");
	CHECK(str_is(get(err, "message"), tricky), "error: message exact");
	char want[600];
	snprintf(want, sizeof(want), "Error: %s", tricky);
	CHECK(str_is(get(get(r, "text"), "content"), want),
	    "error: tricky text.content exact");
	cJSON_Delete(r);

	all.partial = "";
	all.status = 0;
	all.retry_after = -1;
	r = parse_frame(frame_error(&all), "error empty partial");
	err = get(r, "error");
	CHECK(str_is(get(err, "partial"), ""), "error: empty partial present");
	CHECK(get(err, "status") == NULL && get(err, "retry_after") == NULL,
	    "error: status 0 and retry_after -1 absent");
	cJSON_Delete(r);

	/* A long message: text.content must still be "Error: " + message,
	 * and the frame must stay valid UTF-8. */
	char msg[1001], *full = malloc(1200);
	msg[0] = 'x';
	for (size_t i = 1; i < 1000; i += 2)
		memcpy(msg + i, "\xc3\xa9", 2);
	msg[999] = '\0';
	snprintf(full, 1200, "Error: %s", msg);
	struct frame_error lg = { "m-l", NULL, "upstream_error", msg, NULL, 500, -1,
		NULL, NULL, NULL };
	r = parse_frame(frame_error(&lg), "error long message");
	CHECK(str_is(get(get(r, "error"), "message"), msg),
	    "error: long message kept");
	const cJSON *content = get(get(r, "text"), "content");
	CHECK(str_is(content, full),
	    "error: long message -> text.content is Error: + message");
	if (cJSON_IsString(content))
		printf("#   text.content is %zu bytes, want %zu\n",
		    strlen(content->valuestring), strlen(full));
	cJSON_Delete(r);
	free(full);
}

/* A budget_exceeded error's "budget" member: scope, period, unit, limit and
 * use (money in units), resets_at in local time with its offset, currency;
 * none for a verdict not exceeded. */
static void
test_budget(void)
{
	struct budget_verdict v = { 1, 0, BUDGET_DAY, BUDGET_TOKENS, 10000,
	    10234, 1796256000, 100 };
	struct frame_error e = { "m-b", NULL, "budget_exceeded", "used up",
	    NULL, 0, -1, NULL, &v, "USD" };
	cJSON *r, *b;

	setenv("TZ", "LCT-1", 1);  /* UTC+1 */
	tzset();
	r = parse_frame(frame_error(&e), "budget tokens");
	b = cJSON_GetObjectItemCaseSensitive(get(r, "error"), "budget");
	CHECK(str_is(get(b, "scope"), "user") && str_is(get(b, "period"),
	    "day") && str_is(get(b, "unit"), "tokens"),
	    "budget: scope, period, unit");
	CHECK(num_is(get(b, "limit"), 10000) && num_is(get(b, "used"), 10234),
	    "budget: limit and use in tokens");
	CHECK(str_is(get(b, "resets_at"), "2026-12-03T01:00:00+01:00"),
	    "budget: resets_at local with its offset");
	CHECK(str_is(get(b, "currency"), "USD") && cJSON_GetArraySize(b) == 7,
	    "budget: currency, seven members");
	CHECK(str_is(get(get(r, "error"), "code"), "budget_exceeded") &&
	    cJSON_GetArraySize(get(r, "error")) == 3,
	    "budget: inside error, beside code and message");
	cJSON_Delete(r);

	v.site = 1;
	v.period = BUDGET_MONTH;
	v.unit = BUDGET_COST;
	v.limit = 5000000;
	v.used = 5020000;
	e.currency = NULL;
	r = parse_frame(frame_error(&e), "budget money");
	b = cJSON_GetObjectItemCaseSensitive(get(r, "error"), "budget");
	CHECK(str_is(get(b, "scope"), "site") && str_is(get(b, "period"),
	    "month") && str_is(get(b, "unit"), "cost") &&
	    num_is(get(b, "limit"), 5) && num_is(get(b, "used"), 5.02) &&
	    str_is(get(b, "currency"), ""),
	    "budget: the site's money in units, no currency \"\"");
	cJSON_Delete(r);

	v.exceeded = 0;
	r = parse_frame(frame_error(&e), "budget not exceeded");
	CHECK(get(get(r, "error"), "budget") == NULL,
	    "budget: none when not exceeded");
	cJSON_Delete(r);
	e.budget = NULL;
	r = parse_frame(frame_error(&e), "budget NULL");
	CHECK(get(get(r, "error"), "budget") == NULL, "budget: none for NULL");
	cJSON_Delete(r);
}

/* The bytes up to the first `,"type":"` of a reply's frames are its key
 * for lightchat-ws (ws/inflight.h): every frame of one reply begins with
 * them, and the key's end is never inside a string. */
static size_t
key_len(const char *f)
{
	const char *k = f != NULL ? strstr(f, ",\"type\":\"") : NULL;

	return k != NULL ? (size_t)(k - f) + strlen(",\"type\":\"") : 0;
}

static void
test_reply_key(void)
{
	const char *ids[] = { "m-1", "a\",\"type\":\"x", "back\\slash" };
	const char *convs[] = { "0123456789abcdef0123456789abcdef", "" };

	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		for (size_t c = 0; c < 2; c++) {
			struct frame_error e = { ids[i], convs[c],
			    "worker_unavailable", "m", NULL, 0, -1, NULL, NULL,
			    NULL };
			char *fe = frame_error(&e);
			char *fr = frame_reply(ids[i], convs[c], "hi", "m",
			    NULL, NULL, NULL);
			char *fd = frame_delta(ids[i], convs[c], "x");
			size_t k = key_len(fe);
			CHECK(k > 0 && fr != NULL && fd != NULL &&
			    strncmp(fe, fr, k) == 0 && strncmp(fe, fd, k) == 0,
			    "reply key: error, reply and delta frames share it");
			CHECK(k > 0 && strncmp(fe + k, "error\"", 6) == 0 &&
			    fr != NULL && strncmp(fr + k, "reply\"", 6) == 0 &&
			    fd != NULL && strncmp(fd + k, "delta\"", 6) == 0,
			    "reply key: followed by the frame's type");
			free(fe);
			free(fr);
			free(fd);
		}
	}
}

/* Reasoning: its own frame, the final frame's and the snapshot's fields,
 * and none of them when there is no reasoning (or it is withheld). */
static void
test_reasoning(void)
{
	cJSON *r = parse_frame(frame_reasoning("m-1", "c1", "Step \"one\"\n"),
	    "reasoning");
	CHECK(str_is(get(r, "type"), "reasoning") &&
	    str_is(get(r, "delta"), "Step \"one\"\n") &&
	    str_is(get(r, "msgid"), "m-1") &&
	    str_is(get(r, "conversation_id"), "c1"),
	    "reasoning frame: type, delta, msgid, conversation_id");
	cJSON_Delete(r);
	struct frame_reasoning rsn = { "Because.", 1500 };
	r = parse_frame(frame_reply("m-1", "c1", "Yes.", "m", "stop", NULL,
	    &rsn), "reply with reasoning");
	CHECK(str_is(get(r, "reasoning"), "Because.") &&
	    num_is(get(r, "reasoning_ms"), 1500) &&
	    str_is(get(get(r, "text"), "content"), "Yes.") &&
	    str_is(get(get(r, "text"), "role"), "assistant"),
	    "reply: reasoning and reasoning_ms beside the seed's text");
	cJSON_Delete(r);
	r = parse_frame(frame_reply("m-1", NULL, "Yes.", "m", "stop", NULL, NULL),
	    "reply, reasoning withheld");
	CHECK(get(r, "reasoning") == NULL && get(r, "reasoning_ms") == NULL,
	    "reply without reasoning (NULL): no fields");
	cJSON_Delete(r);
	struct frame_reasoning none = { "", -1 };
	r = parse_frame(frame_reply("m-1", NULL, "Yes.", "m", "stop", NULL,
	    &none), "reply, empty reasoning");
	CHECK(get(r, "reasoning") == NULL && get(r, "reasoning_ms") == NULL,
	    "reply with empty reasoning: no fields");
	cJSON_Delete(r);
	struct frame_reasoning going = { "So far", -1 };
	r = parse_frame(frame_snapshot("m-1", "c1", "m", "", &going),
	    "snapshot thinking");
	CHECK(str_is(get(r, "reasoning"), "So far") &&
	    cJSON_IsTrue(get(r, "thinking")) && get(r, "reasoning_ms") == NULL &&
	    str_is(get(r, "content"), ""),
	    "snapshot while thinking: reasoning, thinking, no reasoning_ms");
	cJSON_Delete(r);
	r = parse_frame(frame_snapshot("m-1", "c1", "m", "Ans", &rsn),
	    "snapshot answering");
	CHECK(str_is(get(r, "reasoning"), "Because.") &&
	    get(r, "thinking") == NULL && num_is(get(r, "reasoning_ms"), 1500),
	    "snapshot after the reasoning: reasoning_ms, not thinking");
	cJSON_Delete(r);
	r = parse_frame(frame_snapshot("m-1", "c1", "m", "Ans", NULL),
	    "snapshot plain");
	CHECK(get(r, "reasoning") == NULL && get(r, "thinking") == NULL,
	    "snapshot without reasoning: no fields");
	cJSON_Delete(r);

	/* The reply's key (ws/inflight.h): a reasoning frame shares it with
	 * the reply's other frames and is not taken for a final one. */
	char *fd = frame_delta("m-1", "c1", "x");
	char *fr = frame_reasoning("m-1", "c1", "x");
	size_t k = fd != NULL ? strlen("{\"msgid\":\"m-1\",\"conversation_id\":"
	    "\"c1\",\"type\":\"") : 0;
	CHECK(fd != NULL && fr != NULL && strncmp(fd, fr, k) == 0 &&
	    strncmp(fr + k, "reasoning\"", 10) == 0,
	    "reply key: a reasoning frame shares it, typed reasoning");
	free(fd);
	free(fr);
}

int
main(void)
{
	test_delta_and_pong();
	test_reply();
	test_error();
	test_budget();
	test_reply_key();
	test_reasoning();
	UNIT_EXIT();
}
