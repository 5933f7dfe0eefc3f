/* test-account.c - unit tests of worker/account.c: a reply's tokens for
 * the usage ledger by the accounting rule (the upstream's usage, bounded;
 * an estimate of one token per 4 bytes, rounded up, for an accepted reply
 * without usage; nothing for a refused one), its cost from the prices,
 * and the bytes of text of a request's messages. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "account.h"
#include "budget.h"
#include "unit.h"

static struct store_usage_row
tokens(int accepted, const struct lc_usage *u, size_t prompt, size_t content,
    size_t reasoning, long long price_in, long long price_out)
{
	struct account_facts f = { accepted, u, prompt, content, reasoning,
	    price_in, price_out };
	struct store_usage_row row;

	memset(&row, 0xa5, sizeof(row));  /* every counted member is set */
	account_tokens(&f, &row);
	return row;
}

static void
test_tokens(void)
{
	struct lc_usage u = { 1, 12, 30, 42, 20 };
	struct lc_usage none = { 0, 0, 0, 0, 0 };
	struct lc_usage bad = { 1, -3, 1e300, 0, -1 };
	struct store_usage_row r;

	r = tokens(1, &u, 999, 999, 999, -1, -1);
	CHECK(r.prompt_tokens == 12 && r.completion_tokens == 30 &&
	    r.reasoning_tokens == 20 && r.estimated == 0 && r.cost_micros == -1,
	    "usage reported: counted as it is, no price: no cost");
	/* 12 at 2.50 per million, 30 at 10.00: 30 + 300 micro-units. */
	r = tokens(1, &u, 0, 0, 0, 2500000, 10000000);
	CHECK(r.cost_micros == 330, "with prices: the cost in micro-units");
	r = tokens(1, &none, 9, 10, 3, -1, -1);
	CHECK(r.prompt_tokens == 3 && r.completion_tokens == 4 &&
	    r.reasoning_tokens == 1 && r.estimated == 1,
	    "no usage: estimated, ceil(bytes / 4) of prompt, content + "
	    "reasoning, reasoning");
	r = tokens(1, NULL, 8, 0, 0, -1, -1);
	CHECK(r.prompt_tokens == 2 && r.completion_tokens == 0 &&
	    r.estimated == 1, "no usage and no text yet: the prompt estimated");
	r = tokens(0, &none, 900, 0, 0, 2500000, 10000000);
	CHECK(r.prompt_tokens == 0 && r.completion_tokens == 0 &&
	    r.reasoning_tokens == 0 && r.estimated == 0 && r.cost_micros == 0,
	    "refused before streaming: nothing, not estimated, cost 0");
	r = tokens(1, &bad, 0, 0, 0, -1, -1);
	CHECK(r.prompt_tokens == 0 && r.completion_tokens == BUDGET_TOKENS_MAX &&
	    r.reasoning_tokens == 0 && r.estimated == 0,
	    "usage out of range: bounded (negative 0, huge the maximum)");
}

static void
test_prompt_bytes(void)
{
	cJSON *m = cJSON_Parse("[{\"role\":\"system\",\"content\":\"abc\"},"
	    "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"héllo\"},"
	    "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;"
	    "base64,AAAA\"}}]},{\"role\":\"assistant\",\"content\":\"12\"},"
	    "{\"role\":\"user\"}]");

	CHECK(m != NULL && account_prompt_bytes(m) == 3 + 6 + 2,
	    "prompt bytes: strings and text parts, not images");
	CHECK(account_prompt_bytes(NULL) == 0, "prompt bytes: no messages 0");
	cJSON_Delete(m);
}

int
main(void)
{
	test_tokens();
	test_prompt_bytes();
	UNIT_EXIT();
}
