/* models_int.h - the insides of the model table and of the discovery
 * record, for lib/models.c and lib/models_live.c only (nothing else
 * includes it: everyone else goes through models.h).
 *
 * The table is fixed-size (MODELS_UPSTREAMS_MAX upstreams, MODELS_RULES_MAX
 * sysadmin rules): bounded by construction, no growth after config_load.
 * The record holds, per upstream of its table (same indexes), the names its
 * last good listing gave and the state of its last listing; models.c reads
 * only names/n (models_route, models_each), models_live.c owns the rest. */
#ifndef LC_MODELS_INT_H
#define LC_MODELS_INT_H

#include "models.h"

/* The fields a [model] rule may set, as bits of models_rule.set. */
enum models_field {
	MODELS_F_UPSTREAM, MODELS_F_MAX_TOKENS_PARAM, MODELS_F_OMIT,
	MODELS_F_EFFORTS, MODELS_F_SYSTEM_ROLE, MODELS_F_IMAGES,
	MODELS_F_MAX_TOKENS_LIMIT, MODELS_F_THINK, MODELS_F_PRICE_IN,
	MODELS_F_PRICE_OUT, MODELS_F__COUNT
};

struct models_rule {
	char glob[MODELS_MODEL_MAX + 1];
	unsigned set;                 /* bits of enum models_field */
	char upstream_name[MODELS_NAME_MAX + 1];
	int upstream;                 /* index, resolved by models_finish */
	char origin[64];              /* "file:line" of upstream=, for errors */
	bool max_completion_tokens;
	unsigned omit;                /* bits of enum models_param */
	unsigned efforts;             /* bits of enum models_effort */
	enum models_role system_role;
	bool images;
	long max_tokens_limit;
	enum models_think think;
	long long price_in, price_out; /* micro-units per million tokens; a
	                                * rule sets both or neither
	                                * (models_finish) */
};

/* The keys of an [upstream] section a file or the environment set, as bits
 * (the timeouts not set take the flat ones). */
enum models_ukey {
	MODELS_U_LABEL, MODELS_U_BASE_URL, MODELS_U_API_KEY_FILE,
	MODELS_U_API_KEY, MODELS_U_MODELS, MODELS_U_DISCOVER,
	MODELS_U_DISCOVER_ALLOW, MODELS_U_DISCOVER_INTERVAL,
	MODELS_U_CONNECT_TIMEOUT, MODELS_U_IDLE_TIMEOUT,
	MODELS_U_TOTAL_TIMEOUT, MODELS_U_AUTH, MODELS_U_API_VERSION,
	MODELS_U_STREAM_OPTIONS, MODELS_U__COUNT
};

struct lc_models {
	size_t nup;
	struct lc_upstream up[MODELS_UPSTREAMS_MAX];
	char *key_file[MODELS_UPSTREAMS_MAX];   /* api_key_file, or NULL */
	unsigned up_set[MODELS_UPSTREAMS_MAX];  /* bits of enum models_ukey */
	char up_origin[MODELS_UPSTREAMS_MAX][64]; /* its section's header */
	size_t nrules;
	struct models_rule rules[MODELS_RULES_MAX];
	bool finished;
};

/* Upstream u's side of the record. */
struct models_live_up {
	char **names;                 /* n malloc'd names (of the last good
	                               * listing), NULL when none */
	size_t n;
	bool ok;                      /* the last listing worked */
	char error[MODELS_ERR_MAX];   /* "" or why the last one failed */
	time_t checked;               /* 0: never listed */
};

struct models_live {
	const struct lc_models *mt;
	size_t count;                 /* mt's upstreams */
	struct models_live_up up[MODELS_UPSTREAMS_MAX];
};

#endif
