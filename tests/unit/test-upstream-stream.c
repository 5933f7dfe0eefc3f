/* test-upstream-stream.c - unit tests of worker/upstream.c's reading of an
 * event stream, fed as bytes (whole, split in two at every byte, one byte
 * at a time) with no network: reasoning in delta.reasoning_content,
 * delta.reasoning and <think> tags (auto, open, off); the stream shapes of
 * real servers (shared UPSTREAMS.md): errors inside a 200 stream (OpenAI,
 * OpenRouter with finish_reason "error", vLLM's variants), streams without
 * finish_reason or without [DONE], chunks with empty choices (usage,
 * Azure's prompt_filter_results), content null, comments, extra fields
 * (llama.cpp's timings); the max_reply bound on reasoning and content
 * together; the usage chunk's reasoning_tokens (a number from 0 to the
 * completion's only). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "config.h"
#include "unit.h"
#include "upstream.h"

struct seen {
	char deltas[2048], reasons[2048];
	int nd, nr;
	int order_bad;     /* a reasoning delta after an answer delta */
};

/* Appends text to dst (cap bytes) when it fits. */
static void
append(char *dst, size_t cap, const char *text)
{
	size_t have = strlen(dst), n = strlen(text);

	if (have + n < cap)
		memcpy(dst + have, text, n + 1);
}

static void
on_delta(void *owner, const char *text)
{
	struct seen *s = owner;

	s->nd++;
	append(s->deltas, sizeof(s->deltas), text);
}

static void
on_reason(void *owner, const char *text)
{
	struct seen *s = owner;

	s->nr++;
	if (s->nd > 0)
		s->order_bad = 1;
	append(s->reasons, sizeof(s->reasons), text);
}

struct scase {
	const char *name;
	enum think_mode think;
	const char *sse;
	int clean;              /* the transfer completed */
	const char *code;       /* expected outcome code, NULL success */
	const char *message;    /* a part of the expected message, or NULL */
	const char *content;    /* in call->content at the end */
	const char *reasoning;  /* in call->reasoning at the end */
	const char *finish;     /* call->finish_reason ("" none) */
	int deltas_equal;       /* the deltas sent equal the final text */
};

#define CH(x) "data: {\"choices\":[{\"index\":0,\"delta\":" x "}]}\n\n"
#define CHF(x, f) "data: {\"choices\":[{\"index\":0,\"delta\":" x \
	",\"finish_reason\":\"" f "\"}]}\n\n"
#define DONE "data: [DONE]\n\n"

static const struct scase cases[] = {
	{ "reasoning_content (DeepSeek, llama.cpp)", THINK_AUTO,
	  CH("{\"role\":\"assistant\",\"content\":null,"
	  "\"reasoning_content\":\"Step one. \"}")
	  CH("{\"reasoning_content\":\"Step two.\",\"content\":null}")
	  CH("{\"content\":\"You said\"}") CHF("{\"content\":\": hi\"}", "stop")
	  DONE, 1, NULL, NULL, "You said: hi", "Step one. Step two.", "stop", 1 },
	{ "reasoning (OpenRouter, vLLM, Ollama)", THINK_AUTO,
	  ": OPENROUTER PROCESSING\n\n"
	  CH("{\"role\":\"assistant\",\"content\":\"\",\"reasoning\":\"Think\","
	  "\"reasoning_details\":[{\"type\":\"reasoning.text\",\"text\":\"Think\"}]}")
	  ": OPENROUTER PROCESSING\n\n"
	  CH("{\"content\":\"\",\"reasoning\":\"ing.\"}")
	  CHF("{\"content\":\"Answer\",\"reasoning\":null}", "stop") DONE,
	  1, NULL, NULL, "Answer", "Thinking.", "stop", 1 },
	{ "both reasoning fields (vLLM in between): read once", THINK_AUTO,
	  CH("{\"reasoning_content\":\"Hm.\",\"reasoning\":\"Hm.\"}")
	  CHF("{\"content\":\"A\",\"reasoning_content\":null,"
	  "\"reasoning\":null}", "stop") DONE,
	  1, NULL, NULL, "A", "Hm.", "stop", 1 },
	{ "think tags in content, auto", THINK_AUTO,
	  CH("{\"content\":\"<thi\"}") CH("{\"content\":\"nk>Step one.</th\"}")
	  CH("{\"content\":\"ink>\\n\\nYou said\"}") CHF("{}", "stop") DONE,
	  1, NULL, NULL, "You said", "Step one.", "stop", 1 },
	{ "open mode (DeepSeek-R1)", THINK_OPEN,
	  CH("{\"content\":\"Reason.</\"}") CH("{\"content\":\"think>Ans\"}")
	  CHF("{\"content\":\"wer\"}", "stop") DONE,
	  1, NULL, NULL, "Answer", "Reason.", "stop", 1 },
	{ "open mode, no closing tag: the answer after all", THINK_OPEN,
	  CH("{\"content\":\"Just an \"}") CHF("{\"content\":\"answer\"}", "stop")
	  DONE, 1, NULL, NULL, "Just an answer", "", "stop", 0 },
	{ "open mode, the reasoning in its own field: the content is the answer",
	  THINK_OPEN,
	  CH("{\"reasoning_content\":\"R\"}") CHF("{\"content\":\"A\"}", "stop")
	  DONE, 1, NULL, NULL, "A", "R", "stop", 1 },
	{ "open mode, content first, then a reasoning field", THINK_OPEN,
	  CH("{\"content\":\"R1 \"}") CH("{\"reasoning\":\"R2\"}")
	  CHF("{\"content\":\"</think>A\"}", "stop")
	  DONE, 1, NULL, NULL, "A", "R1 R2", "stop", 1 },
	{ "off: tags are text", THINK_OFF,
	  CHF("{\"content\":\"<think>x</think>y\"}", "stop") DONE,
	  1, NULL, NULL, "<think>x</think>y", "", "stop", 1 },
	{ "auto: a stray closing tag makes the answer so far reasoning",
	  THINK_AUTO, CH("{\"content\":\"hmm\"}")
	  CHF("{\"content\":\"</think>ok\"}", "stop") DONE,
	  1, NULL, NULL, "ok", "hmm", "stop", 0 },
	{ "reasoning only", THINK_AUTO,
	  CH("{\"reasoning_content\":\"only thought\"}")
	  CHF("{\"content\":\"\"}", "length") DONE,
	  1, NULL, NULL, "", "only thought", "length", 1 },
	{ "OpenAI error event, then [DONE]", THINK_AUTO,
	  CH("{\"content\":\"part\"}")
	  "data: {\"error\":{\"message\":\"The server had an error\","
	  "\"type\":\"server_error\",\"code\":null}}\n\n" DONE,
	  1, "upstream_error", "The server had an error", "part", "", "", 1 },
	{ "OpenRouter error chunk with finish_reason error, no [DONE]",
	  THINK_AUTO, CH("{\"reasoning\":\"r\"}") CH("{\"content\":\"pa\"}")
	  "data: {\"id\":\"x\",\"object\":\"chat.completion.chunk\","
	  "\"error\":{\"code\":502,\"message\":\"Provider disconnected\"},"
	  "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"rt\"},"
	  "\"finish_reason\":\"error\"}]}\n\n",
	  1, "upstream_error", "Provider disconnected", "part", "r", "error", 1 },
	{ "finish_reason error alone", THINK_AUTO,
	  CHF("{\"content\":\"a\"}", "error"),
	  1, "upstream_error", "reported an error", "a", "", "error", 1 },
	{ "vLLM error_type/error_message", THINK_AUTO,
	  CH("{\"content\":\"a\"}")
	  "data: {\"error_type\":\"BadRequestError\",\"error_message\":"
	  "\"prompt too long\"}\n\n" DONE,
	  1, "upstream_error", "prompt too long", "a", "", "", 1 },
	{ "vLLM ErrorResponse object", THINK_AUTO,
	  "data: {\"object\":\"error\",\"message\":\"model overloaded\","
	  "\"type\":\"ServiceUnavailable\",\"code\":503}\n\n" DONE,
	  1, "upstream_error", "model overloaded", "", "", "", 1 },
	{ "no finish_reason, [DONE]: complete", THINK_AUTO,
	  CH("{\"content\":\"a\"}") CH("{\"content\":\"b\"}") DONE,
	  1, NULL, NULL, "ab", "", "", 1 },
	{ "finish_reason, no [DONE], clean end: complete", THINK_AUTO,
	  CH("{\"content\":\"a\"}") CHF("{}", "stop"),
	  1, NULL, NULL, "a", "", "stop", 1 },
	{ "finish_reason, no [DONE], cut: truncated", THINK_AUTO,
	  CH("{\"content\":\"a\"}") CHF("{}", "stop"),
	  0, "upstream_truncated", NULL, "a", "", "stop", 1 },
	{ "neither finish_reason nor [DONE]: truncated", THINK_AUTO,
	  CH("{\"content\":\"a\"}"),
	  1, "upstream_truncated", NULL, "a", "", "", 1 },
	{ "Azure prompt_filter_results, usage chunk, llama.cpp timings",
	  THINK_AUTO,
	  "data: {\"choices\":[],\"prompt_filter_results\":[{\"prompt_index\":0,"
	  "\"content_filter_results\":{}}]}\n\n"
	  CH("{\"role\":\"assistant\",\"content\":null}")
	  ": ping\n\n"
	  CH("{\"content\":\"hi\"}")
	  "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":"
	  "\"stop\"}],\"timings\":{\"prompt_n\":5,\"predicted_ms\":12.5}}\n\n"
	  "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":5,"
	  "\"completion_tokens\":1,\"total_tokens\":6}}\n\n" DONE,
	  1, NULL, NULL, "hi", "", "stop", 1 },
};

static struct lc_config cfg;
/* The upstream the call is set up for (its URL and auth; nothing is sent:
 * the stream is fed by hand). */
static struct lc_upstream up = {
	.name = "test", .label = "test", .base_url = "http://127.0.0.1:9/v1",
	.api_key = "", .models = "m", .discover_allow = "", .api_version = "",
	.connect_timeout = 10, .idle_timeout = 120, .total_timeout = 1800,
};

/* Runs c, fed in pieces of at most step bytes (0: whole) or split at cut;
 * returns 1 when everything is as expected. */
static int
run(const struct scase *c, size_t cut, size_t step, long max_reply,
    char *why, size_t whycap)
{
	struct upstream_call call;
	struct upstream_outcome o;
	struct seen s;
	size_t n = strlen(c->sse);
	char *body = strdup("{}");
	int ok;

	memset(&s, 0, sizeof(s));
	memset(&o, 0, sizeof(o));
	cfg.max_reply = max_reply;
	if (body == NULL || upstream_init(&call, &cfg, &up, "m", body, on_delta,
	    &s) != 0)
		return 0;
	upstream_reasoning(&call, on_reason, c->think);
	if (step == 0) {
		if (upstream_stream_feed(&call, c->sse, cut) == 0)
			upstream_stream_feed(&call, c->sse + cut, n - cut);
	} else {
		for (size_t i = 0; i < n; i += step)
			if (upstream_stream_feed(&call, c->sse + i,
			    n - i < step ? n - i : step) != 0)
				break;
	}
	/* While it streams, each buffer is what its deltas said: the offsets
	 * a session behind is owed from (reply_missed) stay valid. */
	int offsets = strcmp(s.deltas, buf_str(&call.content)) == 0 &&
	    strcmp(s.reasons, buf_str(&call.reasoning)) == 0;
	upstream_stream_end(&call, c->clean, &o);
	ok = offsets && (c->code == NULL ? o.code == NULL :
	    o.code != NULL && strcmp(o.code, c->code) == 0) &&
	    (c->message == NULL || strstr(o.message, c->message) != NULL) &&
	    strcmp(buf_str(&call.content), c->content) == 0 &&
	    strcmp(buf_str(&call.reasoning), c->reasoning) == 0 &&
	    strcmp(call.finish_reason, c->finish) == 0 && !s.order_bad &&
	    (!c->deltas_equal || (strcmp(s.deltas, c->content) == 0 &&
	    strcmp(s.reasons, c->reasoning) == 0));
	if (!ok)
		snprintf(why, whycap, "offsets=%d code=%s msg=%s content=[%s] "
		    "reasoning=[%s] finish=%s deltas=[%s] reasons=[%s]", offsets,
		    o.code ? o.code : "-",
		    o.message, buf_str(&call.content), buf_str(&call.reasoning),
		    call.finish_reason, s.deltas, s.reasons);
	upstream_free(&call);
	return ok;
}

/* The usage the stream of one usage chunk with these members leaves. */
static struct lc_usage
usage_of(const char *members)
{
	struct upstream_call call;
	struct upstream_outcome o;
	struct lc_usage u;
	char sse[512];
	char *body = strdup("{}");

	memset(&u, 0, sizeof(u));
	snprintf(sse, sizeof(sse), CH("{\"content\":\"hi\"}")
	    "data: {\"choices\":[],\"usage\":{%s}}\n\n" DONE, members);
	cfg.max_reply = 4096;
	if (body == NULL || upstream_init(&call, &cfg, &up, "m", body, NULL,
	    NULL) != 0)
		return u;
	upstream_stream_feed(&call, sse, strlen(sse));
	upstream_stream_end(&call, 1, &o);
	u = call.usage;
	upstream_free(&call);
	return u;
}

static void
test_usage(void)
{
	struct lc_usage u = usage_of("\"prompt_tokens\":5,\"completion_tokens\""
	    ":9,\"total_tokens\":14,\"completion_tokens_details\":"
	    "{\"reasoning_tokens\":6,\"accepted_prediction_tokens\":0}");

	CHECK(u.present && u.prompt_tokens == 5 && u.completion_tokens == 9 &&
	    u.total_tokens == 14 && u.reasoning_tokens == 6,
	    "usage: completion_tokens_details.reasoning_tokens read");
	u = usage_of("\"prompt_tokens\":5,\"completion_tokens\":9");
	CHECK(u.present && u.total_tokens == 14 && u.reasoning_tokens == 0,
	    "usage: no details: no reasoning tokens, total the sum");
	u = usage_of("\"prompt_tokens\":5,\"completion_tokens\":9,"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":-2}");
	CHECK(u.present && u.reasoning_tokens == 0,
	    "usage: negative reasoning tokens: none");
	u = usage_of("\"prompt_tokens\":5,\"completion_tokens\":9,"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":\"6\"}");
	CHECK(u.present && u.reasoning_tokens == 0,
	    "usage: reasoning tokens not a number: none");
	u = usage_of("\"prompt_tokens\":5,\"completion_tokens\":9,"
	    "\"completion_tokens_details\":{\"reasoning_tokens\":10}");
	CHECK(u.present && u.reasoning_tokens == 0,
	    "usage: more reasoning tokens than the completion's: none");
	u = usage_of("\"prompt_tokens\":5,\"completion_tokens_details\":"
	    "{\"reasoning_tokens\":1}");
	CHECK(!u.present && u.reasoning_tokens == 0,
	    "usage: without completion_tokens: no usage");
}

int
main(void)
{
	char name[200], why[6000];
	char base[] = "http://127.0.0.1:9/v1", key[] = "";

	curl_global_init(CURL_GLOBAL_ALL);
	cfg.upstream_base_url = base;
	cfg.upstream_api_key = key;
	cfg.upstream_connect_timeout = 5;
	cfg.upstream_idle_timeout = 5;
	cfg.upstream_total_timeout = 5;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		const struct scase *c = &cases[k];
		size_t n = strlen(c->sse);
		int ok = 1;

		why[0] = '\0';
		snprintf(name, sizeof(name), "%s: whole", c->name);
		CHECK(run(c, n, 0, 4096, why, sizeof(why)), name);
		if (why[0])
			printf("#   %s\n", why);
		for (size_t i = 0; i <= n && ok; i++)
			ok = run(c, i, 0, 4096, why, sizeof(why));
		snprintf(name, sizeof(name), "%s: split at every byte", c->name);
		CHECK(ok, name);
		snprintf(name, sizeof(name), "%s: one byte at a time", c->name);
		CHECK(run(c, 0, 1, 4096, why, sizeof(why)), name);
	}

	/* Reasoning and content together within max_reply. */
	static const struct scase big = { "bound", THINK_AUTO,
	    CH("{\"reasoning_content\":\"0123456789\"}")
	    CH("{\"content\":\"0123456789\"}") DONE, 1, "reply_too_large",
	    NULL, "", "0123456789", "", 0 };
	static const struct scase fits = { "fits", THINK_AUTO,
	    CH("{\"reasoning_content\":\"0123456789\"}")
	    CH("{\"content\":\"0123456789\"}") DONE, 1, NULL,
	    NULL, "0123456789", "0123456789", "", 1 };
	static const struct scase tagbig = { "tags", THINK_AUTO,
	    CH("{\"content\":\"<think>0123456789</think>0123456789\"}") DONE,
	    1, "reply_too_large", NULL, "", "0123456789", "", 0 };
	CHECK(run(&big, strlen(big.sse), 0, 19, why, sizeof(why)),
	    "reasoning 10 + content 10 > max_reply 19: reply_too_large, the "
	    "reasoning kept");
	CHECK(run(&fits, strlen(fits.sse), 0, 20, why, sizeof(why)),
	    "reasoning 10 + content 10 = max_reply 20: complete");
	CHECK(run(&tagbig, strlen(tagbig.sse), 0, 19, why, sizeof(why)),
	    "tagged reasoning counts in max_reply too");
	test_usage();
	curl_global_cleanup();
	UNIT_EXIT();
}
