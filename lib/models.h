/* models.h - the upstreams and the model table: which upstream serves a
 * model, and each model's quirks (how its parameters are named, which it
 * takes), from the configuration's [upstream NAME] and [model PATTERN]
 * sections, the flat upstream_* keys (the upstream named "default") and
 * built-in rules for OpenAI's reasoning families (o1, o3, o4, gpt-5).
 *
 * Two parts: the table (struct lc_models, made once by config_load, read
 * only after) and what discovery saw (struct models_live: the models each
 * discovering upstream listed at GET {base}/models and whether its last
 * listing worked), which the worker keeps current and writes to
 * worker_models_file, and lightchat.fcgi reads for /api/models.
 * No libcurl, no sockets: the worker's worker/discover.c does the calls.
 * This module does not include config.h: config.c feeds it the sections. */
#ifndef LC_MODELS_H
#define LC_MODELS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define MODELS_NAME_MAX 32          /* an upstream's name: [a-z0-9_-] */
#define MODELS_MODEL_MAX 128        /* a model's name (REQUEST_MODEL_MAX) */
#define MODELS_UPSTREAMS_MAX 16
#define MODELS_RULES_MAX 64         /* the sysadmin's [model] sections */
#define MODELS_LIVE_MAX 512         /* models kept per discovering upstream */
#define MODELS_ERR_MAX 200

/* The sampling parameters a client may send, as bits of a mask. */
enum models_param {
	MODELS_P_MAX_TOKENS, MODELS_P_TEMPERATURE, MODELS_P_TOP_P,
	MODELS_P_FREQUENCY_PENALTY, MODELS_P_PRESENCE_PENALTY, MODELS_P__COUNT
};

/* Reasoning efforts, in order, as bits of a mask (0: the model takes no
 * reasoning_effort). */
enum models_effort {
	MODELS_E_NONE, MODELS_E_MINIMAL, MODELS_E_LOW, MODELS_E_MEDIUM,
	MODELS_E_HIGH, MODELS_E_XHIGH, MODELS_E__COUNT
};

enum models_auth { MODELS_AUTH_BEARER, MODELS_AUTH_API_KEY };
enum models_so { MODELS_SO_AUTO, MODELS_SO_ON, MODELS_SO_OFF };
enum models_role { MODELS_ROLE_SYSTEM, MODELS_ROLE_DEVELOPER,
	MODELS_ROLE_USER };
/* How <think>…</think> in the content is read: auto (a reply that begins
 * with the tag), open (the reply begins inside it, DeepSeek-R1 style), off. */
enum models_think { MODELS_THINK_AUTO, MODELS_THINK_OPEN, MODELS_THINK_OFF };

struct lc_upstream {
	char name[MODELS_NAME_MAX + 1];
	char *label;              /* shown in the page; default: the name */
	char *base_url;           /* may hold "{model}" (Azure deployments) */
	char *api_key;            /* secret, never logged; "" : none */
	char *models;             /* comma-separated: the models it serves */
	bool discover;            /* list GET {base}/models */
	char *discover_allow;     /* comma-separated globs; "" : every model */
	long discover_interval;   /* seconds between listings */
	long connect_timeout, idle_timeout, total_timeout;  /* seconds */
	enum models_auth auth;    /* Authorization: Bearer, or api-key: */
	char *api_version;        /* "" : none; else ?api-version= on calls */
	enum models_so stream_options;  /* auto: sent, and dropped for good
	                           * after the upstream rejects it */
};

/* A model's quirks, resolved: each field from the first rule matching the
 * name that sets it (the sysadmin's [model] sections in file order, then
 * the built-in ones), else the default (max_tokens, nothing omitted, no
 * reasoning_effort, system, no images, no limit, think auto, no price).
 * Prices are the sysadmin's only (no built-in ones: they change): a rule's
 * price_input and price_output, money per million tokens ("2.50"). */
struct lc_model_info {
	int upstream;             /* index into the table's upstreams */
	bool max_completion_tokens;  /* max_tokens is sent under that name */
	unsigned omit;            /* bits of enum models_param never sent */
	unsigned efforts;         /* bits of enum models_effort it takes */
	enum models_role system_role;
	bool images;
	long max_tokens_limit;    /* 0 : none; larger max_tokens are lowered */
	enum models_think think;
	/* price_input, price_output: micro-units of money (lib/budget.h) per
	 * million prompt and completion tokens; -1 : no price (both are set
	 * together or the model has none) */
	long long price_in, price_out;
};

struct lc_models;             /* the table */
struct models_live;           /* what discovery saw */

/* An empty table. Returns NULL when out of memory. */
struct lc_models *models_new(void);

/* Frees the table (api keys wiped); NULL is allowed. */
void models_free(struct lc_models *mt);

/* Sets key = value in the section [kind name] (kind "upstream" or
 * "model"; name an upstream name or a model glob) at origin ("file:line",
 * for errors). key NULL (value ignored) only opens the section, checking
 * its name: config.c calls it so at the header line. Returns 0, or -1 with
 * err (MODELS_ERR_MAX) saying what is wrong: unknown kind or key, bad
 * value, too many sections. */
int models_set(struct lc_models *mt, const char *kind, const char *name,
    const char *key, const char *value, const char *origin, char *err);

/* Applies the environment: LIGHTCHAT_UPSTREAM_<NAME>_<KEY> (NAME and KEY
 * upper-cased, '-' as '_') sets KEY of an upstream already named in the
 * file. Returns 0 or -1 with err. */
int models_env(struct lc_models *mt, char *err);

/* Ends loading: reads each api_key_file (0600; an api_key set outright
 * wins, as with the flat keys), adds the upstream "default" from the flat
 * keys when flat is true (first in order; its models may not be empty, and
 * no [upstream default] section may exist then), checks that every
 * upstream has a base_url and models or discover = true, that every
 * [model] upstream= names an upstream and that at least one upstream
 * exists; a label not set is the name, a timeout not set the flat one.
 * Only once: after it models_set and models_finish fail. Returns 0 or -1
 * with err. */
int models_finish(struct lc_models *mt, bool flat, const char *base_url,
    const char *api_key, const char *models, long connect_timeout,
    long idle_timeout, long total_timeout, char *err);

/* The number of upstreams, and upstream i (0 <= i < count). */
size_t models_upstream_count(const struct lc_models *mt);
const struct lc_upstream *models_upstream(const struct lc_models *mt,
    size_t i);

/* The index of the upstream named name, or -1. */
int models_upstream_find(const struct lc_models *mt, const char *name);

/* Which upstream serves model name: the first [model] rule matching it
 * with upstream= set, if that upstream lists it statically, discovered it
 * (live may be NULL), or the rule's pattern is the literal name; else the
 * first upstream whose static models or discovered models hold it.
 * Returns the upstream's index, or -1 when no upstream offers it (also for
 * a name that cannot be a model's: empty, over MODELS_MODEL_MAX, with a
 * blank or a comma). Linear in the rules and the models listed. */
int models_route(const struct lc_models *mt, const struct models_live *live,
    const char *name);

/* Fills out with the quirks of model name served by upstream u. The
 * built-in rules also match the part of name after its last '/'
 * (OpenRouter's "openai/o3-mini"); the sysadmin's match the whole name. */
void models_info(const struct lc_models *mt, const char *name, int u,
    struct lc_model_info *out);

/* Calls fn for every model offered, once each, in order: each upstream's
 * static models, then its discovered ones (live may be NULL), skipping a
 * name an earlier upstream serves. Stops early when fn returns non-zero and
 * returns that; else 0. Linear in the names listed (a hash set of those
 * offered; out of memory, a slower scan gives the same answer). */
int models_each(const struct lc_models *mt, const struct models_live *live,
    int (*fn)(void *arg, const char *name, int upstream), void *arg);

/* The parameter and effort names ("max_tokens", "none", …), NULL past the
 * end. */
const char *models_param_name(enum models_param p);
const char *models_effort_name(enum models_effort e);

/* The effort a client's value (an enum models_effort) becomes on a model
 * taking efforts: the value itself when taken, else the nearest taken one
 * (a tie goes to the higher). Returns -1 when efforts is 0 (drop it). */
int models_effort_map(unsigned efforts, int value);

/* Whether name matches glob (* any run, ? one byte; no classes). */
bool models_glob(const char *glob, const char *name);

/* --- what discovery saw --- */

/* An empty record for mt's upstreams (mt outlives it). NULL: no memory. */
struct models_live *models_live_new(const struct lc_models *mt);
void models_live_free(struct models_live *live);  /* NULL allowed */

/* Upstream u listed names (n of them; those past MODELS_LIVE_MAX, longer
 * than MODELS_MODEL_MAX or not matching its discover_allow are dropped) at
 * time at. Returns 0, or -1 when out of memory (the old list is kept). */
int models_live_set(struct models_live *live, size_t u,
    const char *const *names, size_t n, time_t at);

/* Upstream u's listing failed at time at with error (a sentence without
 * secrets); what it listed before is kept, marked stale. */
void models_live_fail(struct models_live *live, size_t u, const char *error,
    time_t at);

/* Upstream u's state: ok is true when its last listing worked (or it does
 * not discover); error is "" or why it failed; checked is 0 when never
 * listed. Any out pointer may be NULL. */
void models_live_state(const struct models_live *live, size_t u, bool *ok,
    const char **error, time_t *checked);

/* Writes live to path as JSON, whole (a temporary file, then rename), mode
 * 0600. Returns 0 or -1 (errno set). */
int models_live_write(const struct models_live *live, const char *path);

/* Reads path (written by models_live_write, at most 1 MiB, strictly
 * parsed) into live, matching upstreams by name. A missing file leaves
 * live empty and returns 0; returns -1 on a bad file. */
int models_live_read(struct models_live *live, const char *path);

#endif
