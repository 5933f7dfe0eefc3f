/* account.c - what a reply consumed, for the usage ledger: the upstream's
 * usage or the estimate of the accounting rule (account.h). */
#include "account.h"

#include <string.h>

#include "budget.h"

/* A count the upstream reported, as a ledger's integer: 0 unless a
 * number >= 0, at most BUDGET_TOKENS_MAX. */
static long long
reported(double v)
{
	if (!(v >= 0))
		return 0;             /* negative or NaN */
	if (v >= (double)BUDGET_TOKENS_MAX)
		return BUDGET_TOKENS_MAX;
	return (long long)(v + 0.5);
}

void
account_tokens(const struct account_facts *f, struct store_usage_row *row)
{
	row->prompt_tokens = row->completion_tokens = row->reasoning_tokens = 0;
	row->estimated = 0;
	if (f->usage != NULL && f->usage->present) {
		row->prompt_tokens = reported(f->usage->prompt_tokens);
		row->completion_tokens = reported(f->usage->completion_tokens);
		row->reasoning_tokens = reported(f->usage->reasoning_tokens);
	} else if (f->accepted) {
		row->prompt_tokens = budget_estimate_tokens(f->prompt_bytes);
		row->completion_tokens = budget_estimate_tokens(
		    f->content_bytes + f->reasoning_bytes);
		row->reasoning_tokens = budget_estimate_tokens(
		    f->reasoning_bytes);
		row->estimated = 1;
	}
	row->cost_micros = budget_cost(row->prompt_tokens,
	    row->completion_tokens, f->price_in, f->price_out);
}

size_t
account_prompt_bytes(const cJSON *messages)
{
	const cJSON *m, *part;
	size_t n = 0;

	cJSON_ArrayForEach(m, messages) {
		const cJSON *c = cJSON_GetObjectItemCaseSensitive(m, "content");
		if (cJSON_IsString(c)) {
			n += strlen(c->valuestring);
			continue;
		}
		cJSON_ArrayForEach(part, c) {
			const cJSON *t = cJSON_GetObjectItemCaseSensitive(part,
			    "text");
			if (cJSON_IsString(t))
				n += strlen(t->valuestring);
		}
	}
	return n;
}
