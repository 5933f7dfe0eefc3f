/* account.h - what a reply consumed, for the usage ledger (issue 16;
 * lib/store.h's usage section): the upstream's usage when it reported
 * one, else an estimate, by the accounting rule of docs/ARCHITECTURE.md
 * ("Usage and budgets"):
 *   - a reply the upstream accepted (HTTP 200 and its event stream began,
 *     or a whole completion came) counts the usage the upstream reported;
 *     without one (local servers, a stopped reply, a failure mid-stream)
 *     an estimate (lib/budget.h: one token per 4 bytes, rounded up):
 *     prompt = the text of the request's messages, completion = the
 *     content and the reasoning received, reasoning = the reasoning
 *     received; marked estimated;
 *   - a reply refused before it streamed (an HTTP error status, no
 *     connection) consumed nothing: 0 tokens, not estimated.
 * Its cost follows from the model's prices (budget_cost). Pure: no store,
 * no clock; reply.c adds the row. */
#ifndef LC_ACCOUNT_H
#define LC_ACCOUNT_H

#include <cjson/cJSON.h>
#include <stddef.h>

#include "store.h"
#include "usage.h"

/* What is known of a reply at its end. */
struct account_facts {
	int accepted;                 /* the upstream accepted the call */
	const struct lc_usage *usage; /* what it reported (NULL: nothing) */
	size_t prompt_bytes;          /* account_prompt_bytes of its messages */
	size_t content_bytes, reasoning_bytes;  /* received */
	long long price_in, price_out;  /* micro-units per million tokens;
	                               * < 0: no price (lc_model_info's) */
};

/* Fills row's prompt_tokens, completion_tokens, reasoning_tokens,
 * estimated and cost_micros from f (the other members are the caller's).
 * Reported counts are bounded: a negative or non-number one is 0, one
 * above BUDGET_TOKENS_MAX is that. */
void account_tokens(const struct account_facts *f,
    struct store_usage_row *row);

/* The bytes of text in messages (a cJSON array of {role,content}, as
 * upstream_body sends it; NULL: 0): each content string, or the "text" of
 * each part of a content array (an image's bytes are not text and are not
 * counted). */
size_t account_prompt_bytes(const cJSON *messages);

#endif
