/* models.c - the model table: [upstream NAME] and [model GLOB] sections
 * parsed strictly, the built-in rules for OpenAI's reasoning families,
 * routing a model name to its upstream and resolving its quirks (models.h).
 * Discovery's record is lib/models_live.c's; this file only reads its
 * names (models_int.h). */
#include "models_int.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "keyfile.h"

static const char *const param_names[MODELS_P__COUNT] = {
	"max_tokens", "temperature", "top_p", "frequency_penalty",
	"presence_penalty",
};
static const char *const effort_names[MODELS_E__COUNT] = {
	"none", "minimal", "low", "medium", "high", "xhigh",
};

#define P(x) (1u << MODELS_P_##x)
#define E(x) (1u << MODELS_E_##x)
#define F(x) (1u << MODELS_F_##x)
#define SAMPLING (P(TEMPERATURE) | P(TOP_P) | P(FREQUENCY_PENALTY) | \
    P(PRESENCE_PENALTY))

/* The built-in rules, after the sysadmin's, most specific first: each
 * field of a model comes from the first matching rule that sets it, so a
 * narrow rule sets only what differs (gpt-5.1's efforts) and the family's
 * rule the rest. From UPSTREAMS.md: the o-series and gpt-5 reject
 * max_tokens and any non-default temperature/top_p (400), o1-mini and
 * o1-preview take no system or developer message nor reasoning_effort,
 * gpt-5.1 takes "none" where gpt-5 takes "minimal", gpt-5-chat is not a
 * reasoning model. Penalties are omitted with the sampling parameters: the
 * reasoning models refuse them too. A name is matched whole and, for these
 * rules only, also after its last '/' (OpenRouter's "openai/o3-mini"). */
static const struct models_rule builtin[] = {
	{ .glob = "o1-mini*", .set = F(MAX_TOKENS_PARAM) | F(OMIT) |
	  F(EFFORTS) | F(SYSTEM_ROLE) | F(IMAGES), .max_completion_tokens = true,
	  .omit = SAMPLING, .efforts = 0, .system_role = MODELS_ROLE_USER,
	  .images = false },
	{ .glob = "o1-preview*", .set = F(MAX_TOKENS_PARAM) | F(OMIT) |
	  F(EFFORTS) | F(SYSTEM_ROLE) | F(IMAGES), .max_completion_tokens = true,
	  .omit = SAMPLING, .efforts = 0, .system_role = MODELS_ROLE_USER,
	  .images = false },
	{ .glob = "o3-mini*", .set = F(IMAGES), .images = false },
	{ .glob = "o1*", .set = F(MAX_TOKENS_PARAM) | F(OMIT) | F(EFFORTS) |
	  F(SYSTEM_ROLE) | F(IMAGES), .max_completion_tokens = true,
	  .omit = SAMPLING, .efforts = E(LOW) | E(MEDIUM) | E(HIGH),
	  .system_role = MODELS_ROLE_DEVELOPER, .images = true },
	{ .glob = "o3*", .set = F(MAX_TOKENS_PARAM) | F(OMIT) | F(EFFORTS) |
	  F(SYSTEM_ROLE) | F(IMAGES), .max_completion_tokens = true,
	  .omit = SAMPLING, .efforts = E(LOW) | E(MEDIUM) | E(HIGH),
	  .system_role = MODELS_ROLE_DEVELOPER, .images = true },
	{ .glob = "o4*", .set = F(MAX_TOKENS_PARAM) | F(OMIT) | F(EFFORTS) |
	  F(SYSTEM_ROLE) | F(IMAGES), .max_completion_tokens = true,
	  .omit = SAMPLING, .efforts = E(LOW) | E(MEDIUM) | E(HIGH),
	  .system_role = MODELS_ROLE_DEVELOPER, .images = true },
	{ .glob = "gpt-5-chat*", .set = F(EFFORTS), .efforts = 0 },
	{ .glob = "gpt-5.1*", .set = F(EFFORTS),
	  .efforts = E(NONE) | E(LOW) | E(MEDIUM) | E(HIGH) },
	{ .glob = "gpt-5.2*", .set = F(EFFORTS),
	  .efforts = E(NONE) | E(LOW) | E(MEDIUM) | E(HIGH) },
	{ .glob = "gpt-5*", .set = F(MAX_TOKENS_PARAM) | F(OMIT) | F(EFFORTS) |
	  F(SYSTEM_ROLE) | F(IMAGES), .max_completion_tokens = true,
	  .omit = SAMPLING,
	  .efforts = E(MINIMAL) | E(LOW) | E(MEDIUM) | E(HIGH),
	  .system_role = MODELS_ROLE_DEVELOPER, .images = true },
	{ .glob = "gpt-4o*", .set = F(IMAGES), .images = true },
	{ .glob = "gpt-4.1*", .set = F(IMAGES), .images = true },
};
#define BUILTIN_COUNT (sizeof(builtin) / sizeof(builtin[0]))

/* ------------------------------------------------------------ helpers -- */

static int
set_str(char **slot, const char *value, char *err)
{
	char *copy = strdup(value);

	if (copy == NULL) {
		snprintf(err, MODELS_ERR_MAX, "out of memory");
		return -1;
	}
	free(*slot);
	*slot = copy;
	return 0;
}

/* The next item of a comma-separated list at *p, blanks trimmed: its start
 * in *item and its length returned (0 at the end; empty items skipped). */
static size_t
list_next(const char **p, const char **item)
{
	for (;;) {
		const char *s = *p;
		while (*s == ',' || isspace((unsigned char)*s))
			s++;
		if (*s == '\0') {
			*p = s;
			return 0;
		}
		const char *end = s + strcspn(s, ",");
		const char *last = end;
		while (last > s && isspace((unsigned char)last[-1]))
			last--;
		*p = end;
		if (last > s) {
			*item = s;
			return (size_t)(last - s);
		}
	}
}

static bool
list_has(const char *list, const char *name)
{
	size_t nlen = strlen(name), n;
	const char *item;

	if (list == NULL || nlen == 0)
		return false;
	while ((n = list_next(&list, &item)) != 0)
		if (n == nlen && memcmp(item, name, n) == 0)
			return true;
	return false;
}

/* A model name or glob: 1..MODELS_MODEL_MAX bytes, printable, no blank,
 * no comma ("llama3.2:1b", "qwen/qwen3-32b", "o3*"). */
static bool
name_ok(const char *s, size_t n)
{
	if (n == 0 || n > MODELS_MODEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= 0x20 || c == 0x7f || c == ',')
			return false;
	}
	return true;
}

/* Checks a comma-separated list of model names (or globs) and stores it
 * normalized ("a,b,c") in *slot. At most MODELS_LIVE_MAX items. */
static int
set_names(char **slot, const char *value, const char *origin,
    const char *key, char *err)
{
	size_t n, count = 0, len = 0;
	const char *p = value, *item;
	char *out = malloc(strlen(value) + 1);

	if (out == NULL) {
		snprintf(err, MODELS_ERR_MAX, "out of memory");
		return -1;
	}
	while ((n = list_next(&p, &item)) != 0) {
		if (!name_ok(item, n) || ++count > MODELS_LIVE_MAX) {
			snprintf(err, MODELS_ERR_MAX, "%s: %s: '%.*s' is not a "
			    "model name (1 to %d bytes, no blank; at most %d)",
			    origin, key, (int)(n < 40 ? n : 40), item,
			    MODELS_MODEL_MAX, MODELS_LIVE_MAX);
			free(out);
			return -1;
		}
		if (len > 0)
			out[len++] = ',';
		memcpy(out + len, item, n);
		len += n;
	}
	out[len] = '\0';
	free(*slot);
	*slot = out;
	return 0;
}

static int
parse_long(const char *value, long min, long max, long *out)
{
	char *end = NULL;
	long v;

	errno = 0;
	if (value[0] == '\0' || isspace((unsigned char)value[0]))
		return -1;
	v = strtol(value, &end, 10);
	if (errno != 0 || end == value || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

static int
parse_bool(const char *value, bool *out)
{
	if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
	    strcmp(value, "1") == 0 || strcmp(value, "on") == 0)
		*out = true;
	else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0 ||
	    strcmp(value, "0") == 0 || strcmp(value, "off") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* The index of value in names (count of them), or -1. */
static int
parse_enum(const char *value, const char *const *names, int count)
{
	for (int i = 0; i < count; i++)
		if (strcmp(value, names[i]) == 0)
			return i;
	return -1;
}

/* A list of names (of names[count]) into a mask; "" is 0. */
static int
parse_mask(const char *value, const char *const *names, int count,
    unsigned *out)
{
	const char *p = value, *item;
	unsigned mask = 0;
	size_t n;

	while ((n = list_next(&p, &item)) != 0) {
		int hit = -1;
		for (int i = 0; i < count; i++)
			if (strlen(names[i]) == n &&
			    memcmp(names[i], item, n) == 0)
				hit = i;
		if (hit < 0)
			return -1;
		mask |= 1u << hit;
	}
	*out = mask;
	return 0;
}

/* base_url: http:// or https://, a host, no blank or control byte. */
static bool
url_ok(const char *v)
{
	size_t skip;

	if (strncmp(v, "http://", 7) == 0)
		skip = 7;
	else if (strncmp(v, "https://", 8) == 0)
		skip = 8;
	else
		return false;
	if (v[skip] == '\0' || v[skip] == '/' || strlen(v) > 1024)
		return false;
	for (const char *s = v; *s; s++)
		if ((unsigned char)*s <= 0x20 || *s == 0x7f)
			return false;
	return true;
}

static bool
upname_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > MODELS_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) &&
		    !isdigit((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

/* ------------------------------------------------------------- table -- */

struct lc_models *
models_new(void)
{
	return calloc(1, sizeof(struct lc_models));
}

static void
upstream_clear(struct lc_upstream *u)
{
	if (u->api_key != NULL)
		explicit_bzero(u->api_key, strlen(u->api_key));
	free(u->label);
	free(u->base_url);
	free(u->api_key);
	free(u->models);
	free(u->discover_allow);
	free(u->api_version);
	memset(u, 0, sizeof(*u));
}

void
models_free(struct lc_models *mt)
{
	if (mt == NULL)
		return;
	for (size_t i = 0; i < mt->nup; i++) {
		upstream_clear(&mt->up[i]);
		free(mt->key_file[i]);
	}
	free(mt);
}

/* Finds or opens the upstream section name. Returns its index or -1. */
static int
upstream_open(struct lc_models *mt, const char *name, const char *origin,
    char *err)
{
	int i = models_upstream_find(mt, name);

	if (i >= 0)
		return i;
	if (!upname_ok(name)) {
		snprintf(err, MODELS_ERR_MAX, "%s: [upstream %.40s]: a name is 1 "
		    "to %d of a-z, 0-9, _ and -", origin, name, MODELS_NAME_MAX);
		return -1;
	}
	if (mt->nup >= MODELS_UPSTREAMS_MAX) {
		snprintf(err, MODELS_ERR_MAX, "%s: more than %d [upstream] "
		    "sections", origin, MODELS_UPSTREAMS_MAX);
		return -1;
	}
	struct lc_upstream *u = &mt->up[mt->nup];
	memset(u, 0, sizeof(*u));
	snprintf(u->name, sizeof(u->name), "%s", name);
	u->label = strdup("");
	u->base_url = strdup("");
	u->api_key = strdup("");
	u->models = strdup("");
	u->discover_allow = strdup("");
	u->api_version = strdup("");
	u->discover_interval = 300;
	u->auth = MODELS_AUTH_BEARER;
	u->stream_options = MODELS_SO_AUTO;
	mt->key_file[mt->nup] = NULL;
	mt->up_set[mt->nup] = 0;
	snprintf(mt->up_origin[mt->nup], sizeof(mt->up_origin[0]), "%s",
	    origin);
	mt->nup++;
	if (u->label == NULL || u->base_url == NULL || u->api_key == NULL ||
	    u->models == NULL || u->discover_allow == NULL ||
	    u->api_version == NULL) {
		snprintf(err, MODELS_ERR_MAX, "out of memory");
		return -1;
	}
	return (int)mt->nup - 1;
}

static const char *const ukey_names[MODELS_U__COUNT] = {
	"label", "base_url", "api_key_file", "api_key", "models", "discover",
	"discover_allow", "discover_interval", "connect_timeout",
	"idle_timeout", "total_timeout", "auth", "api_version",
	"stream_options",
};
static const char *const auth_names[] = { "bearer", "api-key" };
static const char *const so_names[] = { "auto", "on", "off" };
static const char *const role_names[] = { "system", "developer", "user" };
static const char *const think_names[] = { "auto", "open", "off" };

#define BAD(...) do { snprintf(err, MODELS_ERR_MAX, __VA_ARGS__); \
	return -1; } while (0)

static int
upstream_set(struct lc_models *mt, int i, const char *key, const char *value,
    const char *origin, char *err)
{
	struct lc_upstream *u = &mt->up[i];
	int k = parse_enum(key, ukey_names, MODELS_U__COUNT), e;
	long v;

	switch (k) {
	case MODELS_U_LABEL:
		if (strlen(value) > 64)
			BAD("%s: label: at most 64 bytes", origin);
		for (const char *s = value; *s; s++)
			if ((unsigned char)*s < 0x20 || *s == 0x7f)
				BAD("%s: label: no control characters", origin);
		if (set_str(&u->label, value, err) != 0)
			return -1;
		break;
	case MODELS_U_BASE_URL:
		if (!url_ok(value))
			BAD("%s: base_url must be an http:// or https:// URL "
			    "(no blank), not '%.60s'", origin, value);
		if (set_str(&u->base_url, value, err) != 0)
			return -1;
		break;
	case MODELS_U_API_KEY_FILE:
		if (value[0] != '\0' && value[0] != '/')
			BAD("%s: api_key_file must be an absolute path", origin);
		if (set_str(&mt->key_file[i], value, err) != 0)
			return -1;
		break;
	case MODELS_U_API_KEY:
		/* The value is a secret: never in err. */
		if (strlen(value) > KEYFILE_MAX)
			BAD("%s: api_key: longer than %d bytes", origin,
			    KEYFILE_MAX);
		for (const char *s = value; *s; s++)
			if ((unsigned char)*s <= 0x20 || *s == 0x7f)
				BAD("%s: api_key: no blank or control "
				    "character", origin);
		if (u->api_key != NULL)
			explicit_bzero(u->api_key, strlen(u->api_key));
		if (set_str(&u->api_key, value, err) != 0)
			return -1;
		break;
	case MODELS_U_MODELS:
		if (set_names(&u->models, value, origin, key, err) != 0)
			return -1;
		break;
	case MODELS_U_DISCOVER:
		if (parse_bool(value, &u->discover) != 0)
			BAD("%s: discover must be true or false", origin);
		break;
	case MODELS_U_DISCOVER_ALLOW:
		if (set_names(&u->discover_allow, value, origin, key, err) != 0)
			return -1;
		break;
	case MODELS_U_DISCOVER_INTERVAL:
		/* From 1 s, not 30: the e2e tests watch a model appear and
		 * go within seconds, and a sysadmin's local server (Ollama,
		 * llama.cpp on the same host) is cheap to ask; a listing is one
		 * small GET, at most one in flight per upstream. */
		if (parse_long(value, 1, 86400, &u->discover_interval) != 0)
			BAD("%s: discover_interval must be an integer from 1 "
			    "to 86400", origin);
		break;
	case MODELS_U_CONNECT_TIMEOUT:
		if (parse_long(value, 1, 600, &v) != 0)
			BAD("%s: connect_timeout must be an integer from 1 to "
			    "600", origin);
		u->connect_timeout = v;
		break;
	case MODELS_U_IDLE_TIMEOUT:
		if (parse_long(value, 1, 3600, &v) != 0)
			BAD("%s: idle_timeout must be an integer from 1 to "
			    "3600", origin);
		u->idle_timeout = v;
		break;
	case MODELS_U_TOTAL_TIMEOUT:
		if (parse_long(value, 1, 86400, &v) != 0)
			BAD("%s: total_timeout must be an integer from 1 to "
			    "86400", origin);
		u->total_timeout = v;
		break;
	case MODELS_U_AUTH:
		if ((e = parse_enum(value, auth_names, 2)) < 0)
			BAD("%s: auth must be bearer or api-key", origin);
		u->auth = (enum models_auth)e;
		break;
	case MODELS_U_API_VERSION:
		if (strlen(value) > 64 || strspn(value, "abcdefghijklmnopqrstuvwxyz"
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != strlen(value))
			BAD("%s: api_version: at most 64 of letters, digits, "
			    "'.', '-' and '_' (e.g. 2024-10-21)", origin);
		if (set_str(&u->api_version, value, err) != 0)
			return -1;
		break;
	case MODELS_U_STREAM_OPTIONS:
		if ((e = parse_enum(value, so_names, 3)) < 0)
			BAD("%s: stream_options must be auto, on or off", origin);
		u->stream_options = (enum models_so)e;
		break;
	default:
		BAD("%s: unknown key '%.40s' in [upstream %s]", origin, key,
		    u->name);
	}
	mt->up_set[i] |= 1u << k;
	return 0;
}

/* Finds or opens the rule for glob. Returns its index or -1. */
static int
rule_open(struct lc_models *mt, const char *glob, const char *origin,
    char *err)
{
	for (size_t i = 0; i < mt->nrules; i++)
		if (strcmp(mt->rules[i].glob, glob) == 0)
			return (int)i;
	if (!name_ok(glob, strlen(glob)))
		BAD("%s: [model %.40s]: a pattern is 1 to %d bytes, no blank or "
		    "comma", origin, glob, MODELS_MODEL_MAX);
	if (mt->nrules >= MODELS_RULES_MAX)
		BAD("%s: more than %d [model] sections", origin,
		    MODELS_RULES_MAX);
	struct models_rule *r = &mt->rules[mt->nrules];
	memset(r, 0, sizeof(*r));
	snprintf(r->glob, sizeof(r->glob), "%s", glob);
	r->upstream = -1;
	return (int)mt->nrules++;
}

static const char *const rkey_names[MODELS_F__COUNT] = {
	"upstream", "max_tokens_param", "omit", "reasoning_effort",
	"system_role", "images", "max_tokens_limit", "think", "price_input",
	"price_output",
};

/* The highest price a rule takes: a million units of money per million
 * tokens. */
#define PRICE_MAX (1000000LL * BUDGET_MICROS)

static int
rule_set(struct models_rule *r, const char *key, const char *value,
    const char *origin, char *err)
{
	int k = parse_enum(key, rkey_names, MODELS_F__COUNT), e;

	switch (k) {
	case MODELS_F_UPSTREAM:
		if (!upname_ok(value))
			BAD("%s: upstream: '%.40s' is not an upstream name",
			    origin, value);
		snprintf(r->upstream_name, sizeof(r->upstream_name), "%s",
		    value);
		snprintf(r->origin, sizeof(r->origin), "%s", origin);
		break;
	case MODELS_F_MAX_TOKENS_PARAM:
		if (strcmp(value, "max_tokens") == 0)
			r->max_completion_tokens = false;
		else if (strcmp(value, "max_completion_tokens") == 0)
			r->max_completion_tokens = true;
		else
			BAD("%s: max_tokens_param must be max_tokens or "
			    "max_completion_tokens", origin);
		break;
	case MODELS_F_OMIT:
		if (parse_mask(value, param_names, MODELS_P__COUNT,
		    &r->omit) != 0)
			BAD("%s: omit: a list of max_tokens, temperature, top_p, "
			    "frequency_penalty, presence_penalty", origin);
		break;
	case MODELS_F_EFFORTS:
		if (parse_mask(value, effort_names, MODELS_E__COUNT,
		    &r->efforts) != 0)
			BAD("%s: reasoning_effort: a list of none, minimal, low, "
			    "medium, high, xhigh", origin);
		break;
	case MODELS_F_SYSTEM_ROLE:
		if ((e = parse_enum(value, role_names, 3)) < 0)
			BAD("%s: system_role must be system, developer or user",
			    origin);
		r->system_role = (enum models_role)e;
		break;
	case MODELS_F_IMAGES:
		if (parse_bool(value, &r->images) != 0)
			BAD("%s: images must be true or false", origin);
		break;
	case MODELS_F_MAX_TOKENS_LIMIT:
		if (parse_long(value, 0, 10000000, &r->max_tokens_limit) != 0)
			BAD("%s: max_tokens_limit must be an integer from 0 to "
			    "10000000", origin);
		break;
	case MODELS_F_THINK:
		if ((e = parse_enum(value, think_names, 3)) < 0)
			BAD("%s: think must be auto, open or off", origin);
		r->think = (enum models_think)e;
		break;
	case MODELS_F_PRICE_IN:
	case MODELS_F_PRICE_OUT:
		if (budget_parse_money(value, PRICE_MAX, k == MODELS_F_PRICE_IN ?
		    &r->price_in : &r->price_out) != 0)
			BAD("%s: %s must be an amount of money per million "
			    "tokens from 0 to 1000000 (at most 6 decimals, e.g. "
			    "2.50)", origin, key);
		break;
	default:
		BAD("%s: unknown key '%.40s' in [model %.40s]", origin, key,
		    r->glob);
	}
	r->set |= 1u << k;
	return 0;
}

int
models_set(struct lc_models *mt, const char *kind, const char *name,
    const char *key, const char *value, const char *origin, char *err)
{
	int i;

	if (mt->finished)
		BAD("%s: the model table is already complete", origin);
	if (strcmp(kind, "upstream") == 0) {
		if ((i = upstream_open(mt, name, origin, err)) < 0)
			return -1;
		return key == NULL ? 0 : upstream_set(mt, i, key, value,
		    origin, err);
	}
	if (strcmp(kind, "model") == 0) {
		if ((i = rule_open(mt, name, origin, err)) < 0)
			return -1;
		return key == NULL ? 0 : rule_set(&mt->rules[i], key, value,
		    origin, err);
	}
	BAD("%s: unknown section [%.20s …]: [upstream NAME] or [model PATTERN]",
	    origin, kind);
}

int
models_env(struct lc_models *mt, char *err)
{
	char var[128];

	for (size_t i = 0; i < mt->nup; i++) {
		for (int k = 0; k < MODELS_U__COUNT; k++) {
			size_t n = (size_t)snprintf(var, sizeof(var),
			    "LIGHTCHAT_UPSTREAM_");
			for (const char *s = mt->up[i].name; *s &&
			    n + 1 < sizeof(var); s++)
				var[n++] = *s == '-' ? '_' :
				    (char)toupper((unsigned char)*s);
			if (n + 1 < sizeof(var))
				var[n++] = '_';
			for (const char *s = ukey_names[k]; *s &&
			    n + 1 < sizeof(var); s++)
				var[n++] = (char)toupper((unsigned char)*s);
			var[n] = '\0';
			const char *v = getenv(var);
			if (v != NULL && upstream_set(mt, (int)i, ukey_names[k],
			    v, var, err) != 0)
				return -1;
		}
	}
	return 0;
}

/* Makes room at index 0 and fills it with the flat upstream "default". */
static int
add_flat(struct lc_models *mt, const char *base_url, const char *api_key,
    const char *models, long ct, long it, long tt, char *err)
{
	if (models_upstream_find(mt, "default") >= 0)
		BAD("[upstream default] and the flat upstream_* keys (or "
		    "models) both define the upstream default: keep one");
	if (models[0] == '\0')
		BAD("models is empty: name the models users may choose (or use "
		    "an [upstream] section with discover = true)");
	if (mt->nup >= MODELS_UPSTREAMS_MAX)
		BAD("more than %d upstreams with the flat one",
		    MODELS_UPSTREAMS_MAX);
	memmove(&mt->up[1], &mt->up[0], mt->nup * sizeof(mt->up[0]));
	memmove(&mt->key_file[1], &mt->key_file[0],
	    mt->nup * sizeof(mt->key_file[0]));
	memmove(&mt->up_set[1], &mt->up_set[0], mt->nup * sizeof(mt->up_set[0]));
	memmove(&mt->up_origin[1], &mt->up_origin[0],
	    mt->nup * sizeof(mt->up_origin[0]));
	mt->nup++;
	struct lc_upstream *u = &mt->up[0];
	memset(u, 0, sizeof(*u));
	mt->key_file[0] = NULL;
	mt->up_set[0] = (1u << MODELS_U__COUNT) - 1;  /* nothing to default */
	snprintf(mt->up_origin[0], sizeof(mt->up_origin[0]), "upstream_*");
	snprintf(u->name, sizeof(u->name), "default");
	u->label = strdup("default");
	u->base_url = strdup(base_url);
	u->api_key = strdup(api_key);
	u->models = NULL;
	u->discover_allow = strdup("");
	u->api_version = strdup("");
	u->discover_interval = 300;
	u->connect_timeout = ct;
	u->idle_timeout = it;
	u->total_timeout = tt;
	if (u->label == NULL || u->base_url == NULL || u->api_key == NULL ||
	    u->discover_allow == NULL || u->api_version == NULL)
		BAD("out of memory");
	return set_names(&u->models, models, "models", "models", err);
}

int
models_finish(struct lc_models *mt, bool flat, const char *base_url,
    const char *api_key, const char *models, long connect_timeout,
    long idle_timeout, long total_timeout, char *err)
{
	char key[KEYFILE_MAX + 1], what[96];

	if (mt->finished)
		BAD("the model table is already complete");
	if (flat && add_flat(mt, base_url, api_key, models, connect_timeout,
	    idle_timeout, total_timeout, err) != 0)
		return -1;
	if (mt->nup == 0)
		BAD("no upstream: set upstream_base_url or add an [upstream NAME] "
		    "section");
	for (size_t i = 0; i < mt->nup; i++) {
		struct lc_upstream *u = &mt->up[i];
		const char *at = mt->up_origin[i];
		if (u->base_url[0] == '\0')
			BAD("%s: [upstream %s] needs a base_url", at, u->name);
		if (u->models[0] == '\0' && !u->discover)
			BAD("%s: [upstream %s] serves no model: set models, or "
			    "discover = true", at, u->name);
		if (u->label[0] == '\0' && set_str(&u->label, u->name, err) != 0)
			return -1;
		if (!(mt->up_set[i] & (1u << MODELS_U_CONNECT_TIMEOUT)))
			u->connect_timeout = connect_timeout;
		if (!(mt->up_set[i] & (1u << MODELS_U_IDLE_TIMEOUT)))
			u->idle_timeout = idle_timeout;
		if (!(mt->up_set[i] & (1u << MODELS_U_TOTAL_TIMEOUT)))
			u->total_timeout = total_timeout;
		/* As the flat keys: a key given outright beats the file. */
		if (mt->key_file[i] != NULL && mt->key_file[i][0] != '\0' &&
		    u->api_key[0] == '\0') {
			snprintf(what, sizeof(what), "[upstream %s] api_key_file",
			    u->name);
			if (keyfile_read(mt->key_file[i], what, key, sizeof(key),
			    err, MODELS_ERR_MAX) != 0)
				return -1;
			int rc = set_str(&u->api_key, key, err);
			explicit_bzero(key, sizeof(key));
			if (rc != 0)
				return -1;
		}
	}
	for (size_t r = 0; r < mt->nrules; r++) {
		struct models_rule *rule = &mt->rules[r];
		unsigned price = rule->set & (F(PRICE_IN) | F(PRICE_OUT));
		/* Both or neither: a model's price is never half its own. */
		if (price != 0 && price != (F(PRICE_IN) | F(PRICE_OUT)))
			BAD("[model %s] sets %s without %s: a price is both",
			    rule->glob, price & F(PRICE_IN) ? "price_input" :
			    "price_output", price & F(PRICE_IN) ? "price_output" :
			    "price_input");
		if (!(rule->set & F(UPSTREAM)))
			continue;
		rule->upstream = models_upstream_find(mt, rule->upstream_name);
		if (rule->upstream < 0)
			BAD("%s: upstream: no [upstream %s] section", rule->origin,
			    rule->upstream_name);
	}
	mt->finished = true;
	return 0;
}

size_t
models_upstream_count(const struct lc_models *mt)
{
	return mt->nup;
}

const struct lc_upstream *
models_upstream(const struct lc_models *mt, size_t i)
{
	return i < mt->nup ? &mt->up[i] : NULL;
}

int
models_upstream_find(const struct lc_models *mt, const char *name)
{
	for (size_t i = 0; i < mt->nup; i++)
		if (strcmp(mt->up[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ----------------------------------------------------------- routing -- */

static bool
live_has(const struct models_live *live, size_t u, const char *name)
{
	if (live == NULL || u >= live->count)
		return false;
	for (size_t i = 0; i < live->up[u].n; i++)
		if (strcmp(live->up[u].names[i], name) == 0)
			return true;
	return false;
}

static bool
offers(const struct lc_models *mt, const struct models_live *live,
    size_t u, const char *name)
{
	return list_has(mt->up[u].models, name) || live_has(live, u, name);
}

int
models_route(const struct lc_models *mt, const struct models_live *live,
    const char *name)
{
	if (name == NULL || !name_ok(name, strlen(name)))
		return -1;
	for (size_t r = 0; r < mt->nrules; r++) {
		const struct models_rule *rule = &mt->rules[r];
		if (!(rule->set & F(UPSTREAM)) || rule->upstream < 0 ||
		    !models_glob(rule->glob, name))
			continue;
		if (offers(mt, live, (size_t)rule->upstream, name) ||
		    strcmp(rule->glob, name) == 0)
			return rule->upstream;
		break;
	}
	for (size_t u = 0; u < mt->nup; u++)
		if (offers(mt, live, u, name))
			return (int)u;
	return -1;
}

/* Takes from rule r the fields it sets that *have does not hold yet. */
static void
take(const struct models_rule *r, unsigned *have, struct lc_model_info *out)
{
	unsigned now = r->set & ~*have;

	if (now & F(MAX_TOKENS_PARAM))
		out->max_completion_tokens = r->max_completion_tokens;
	if (now & F(OMIT))
		out->omit = r->omit;
	if (now & F(EFFORTS))
		out->efforts = r->efforts;
	if (now & F(SYSTEM_ROLE))
		out->system_role = r->system_role;
	if (now & F(IMAGES))
		out->images = r->images;
	if (now & F(MAX_TOKENS_LIMIT))
		out->max_tokens_limit = r->max_tokens_limit;
	if (now & F(THINK))
		out->think = r->think;
	if (now & F(PRICE_IN))
		out->price_in = r->price_in;
	if (now & F(PRICE_OUT))
		out->price_out = r->price_out;
	*have |= now;
}

void
models_info(const struct lc_models *mt, const char *name, int u,
    struct lc_model_info *out)
{
	const char *slash = strrchr(name, '/');
	const char *tail = slash != NULL ? slash + 1 : NULL;
	unsigned have = F(UPSTREAM);

	memset(out, 0, sizeof(*out));
	out->upstream = u;
	out->system_role = MODELS_ROLE_SYSTEM;
	out->think = MODELS_THINK_AUTO;
	out->price_in = out->price_out = -1;
	for (size_t r = 0; r < mt->nrules; r++)
		if (models_glob(mt->rules[r].glob, name))
			take(&mt->rules[r], &have, out);
	for (size_t r = 0; r < BUILTIN_COUNT; r++)
		if (models_glob(builtin[r].glob, name) ||
		    (tail != NULL && models_glob(builtin[r].glob, tail)))
			take(&builtin[r], &have, out);
}

/* Whether name is offered before position (u, in_live, idx) in
 * models_each's order. */
static bool
seen_before(const struct lc_models *mt, const struct models_live *live,
    size_t u, bool in_live, size_t idx, const char *name)
{
	for (size_t v = 0; v < u; v++)
		if (offers(mt, live, v, name))
			return true;
	/* this upstream's static list up to idx (or whole, in its live part) */
	const char *p = mt->up[u].models, *item;
	size_t n, k = 0, nlen = strlen(name);
	while ((n = list_next(&p, &item)) != 0 && (in_live || k < idx)) {
		if (n == nlen && memcmp(item, name, n) == 0)
			return true;
		k++;
	}
	if (in_live)
		for (size_t i = 0; i < idx; i++)
			if (strcmp(live->up[u].names[i], name) == 0)
				return true;
	return false;
}

/* The names models_each offered so far: an open-addressing hash set of
 * (bytes, length), sized for every name listed, so that offering n names
 * is linear, not quadratic (measured: 16 upstreams of 512 names took 1.2 s
 * with a scan of what came before, an /api/models request on a Pi
 * several). */
struct seen_set {
	struct seen_slot { const char *s; size_t n; } *slot;
	size_t mask;
};

static size_t
seen_hash(const char *s, size_t n)
{
	uint64_t h = 14695981039346656037ULL;  /* FNV-1a, 64 bits */

	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32));
}

/* Adds (s, n) unless there. Returns true when it was new. */
static bool
seen_add(struct seen_set *set, const char *s, size_t n)
{
	size_t i = seen_hash(s, n) & set->mask;

	while (set->slot[i].s != NULL) {
		if (set->slot[i].n == n && memcmp(set->slot[i].s, s, n) == 0)
			return false;
		i = (i + 1) & set->mask;
	}
	set->slot[i].s = s;
	set->slot[i].n = n;
	return true;
}

/* Whether a [model] rule with upstream= matches name: only then may
 * models_route say another upstream than the first offering it. */
static bool
rule_routes(const struct lc_models *mt, const char *name)
{
	for (size_t r = 0; r < mt->nrules; r++)
		if ((mt->rules[r].set & F(UPSTREAM)) &&
		    models_glob(mt->rules[r].glob, name))
			return true;
	return false;
}

/* Offers name (n bytes at s) found at upstream u, unless offered before.
 * Returns fn's value, or 0. */
static int
offer(const struct lc_models *mt, const struct models_live *live,
    struct seen_set *set, size_t u, bool in_live, size_t idx, const char *s,
    size_t n, int (*fn)(void *arg, const char *name, int upstream),
    void *arg)
{
	char name[MODELS_MODEL_MAX + 1];
	int route = (int)u;

	if (n > MODELS_MODEL_MAX)
		return 0;
	memcpy(name, s, n);
	name[n] = '\0';
	if (set != NULL ? !seen_add(set, s, n) :
	    seen_before(mt, live, u, in_live, idx, name))
		return 0;
	/* Not offered by an earlier upstream: u is the first that does,
	 * unless a rule sends it elsewhere. */
	if (rule_routes(mt, name) && (route = models_route(mt, live, name)) < 0)
		route = (int)u;
	return fn(arg, name, route);
}

int
models_each(const struct lc_models *mt, const struct models_live *live,
    int (*fn)(void *arg, const char *name, int upstream), void *arg)
{
	struct seen_set set = { NULL, 0 }, *sp = NULL;
	size_t total = 0, cap = 16, n;
	const char *p, *item;
	int rc = 0;

	for (size_t u = 0; u < mt->nup; u++) {
		for (p = mt->up[u].models; list_next(&p, &item) != 0;)
			total++;
		if (live != NULL && u < live->count)
			total += live->up[u].n;
	}
	while (cap < 2 * total)
		cap *= 2;
	set.slot = calloc(cap, sizeof(*set.slot));
	if (set.slot != NULL) {
		set.mask = cap - 1;
		sp = &set;
	}  /* else out of memory: the quadratic scan, same answer */
	for (size_t u = 0; u < mt->nup && rc == 0; u++) {
		size_t k = 0;
		for (p = mt->up[u].models; rc == 0 &&
		    (n = list_next(&p, &item)) != 0; k++)
			rc = offer(mt, live, sp, u, false, k, item, n, fn, arg);
		if (live == NULL || u >= live->count)
			continue;
		for (size_t i = 0; rc == 0 && i < live->up[u].n; i++)
			rc = offer(mt, live, sp, u, true, i, live->up[u].names[i],
			    strlen(live->up[u].names[i]), fn, arg);
	}
	free(set.slot);
	return rc;
}

const char *
models_param_name(enum models_param p)
{
	return (unsigned)p < MODELS_P__COUNT ? param_names[p] : NULL;
}

const char *
models_effort_name(enum models_effort e)
{
	return (unsigned)e < MODELS_E__COUNT ? effort_names[e] : NULL;
}

int
models_effort_map(unsigned efforts, int value)
{
	int best = -1, bestd = MODELS_E__COUNT + 1;  /* past any distance */

	efforts &= (1u << MODELS_E__COUNT) - 1;
	if (efforts == 0 || value < 0 || value >= MODELS_E__COUNT)
		return -1;
	for (int e = 0; e < MODELS_E__COUNT; e++) {
		if (!(efforts & (1u << e)))
			continue;
		int d = e > value ? e - value : value - e;
		if (d <= bestd) {  /* ascending: a tie goes to the higher */
			best = e;
			bestd = d;
		}
	}
	return best;
}

bool
models_glob(const char *glob, const char *name)
{
	const char *star = NULL, *back = NULL;

	/* Iterative, with one backtrack point: linear in practice, never
	 * exponential (the last '*' is the only one that needs retrying). */
	while (*name) {
		if (*glob == '*') {
			star = ++glob;
			back = name;
		} else if (*glob == '?' || *glob == *name) {
			glob++;
			name++;
		} else if (star != NULL) {
			glob = star;
			name = ++back;
		} else {
			return false;
		}
	}
	while (*glob == '*')
		glob++;
	return *glob == '\0';
}
