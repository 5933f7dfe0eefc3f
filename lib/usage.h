/* usage.h - a reply's token counts as the model's API reports them; read by
 * the upstream call, stored by the store, sent in the final frame. */
#ifndef LC_USAGE_H
#define LC_USAGE_H

struct lc_usage {
	int present;                  /* 0: the API sent no usage */
	double prompt_tokens, completion_tokens, total_tokens;
	/* completion_tokens_details.reasoning_tokens (OpenAI, DeepSeek,
	 * OpenRouter): part of completion_tokens; 0 when not reported */
	double reasoning_tokens;
};

#endif
