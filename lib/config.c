/* config.c - table-driven settings with file and environment layers; the
 * file's [upstream NAME] and [model PATTERN] sections go to the model
 * table (lib/models.c), which config_load completes. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"

/* CFG_MONEY: an amount as the file writes it ("5.00", lib/budget.h), kept
 * as a long of micro-units, from 0 to max micro-units; printed back the
 * same way. */
enum cfg_type { CFG_INT, CFG_STR, CFG_BOOL, CFG_MONEY };

/* The strings are arrays, not pointers: the table then needs no
 * relocation in a position-independent program, and stays in its shared
 * read-only pages (as pointers, its 5 kB were relocated into each
 * lightchat-ws process: a private page per connection). config_load
 * refuses a default that leaves no room for its NUL. */
#define CFG_KEY_ROOM 32
#define CFG_DEF_ROOM 64
#define CFG_ENV_ROOM 24
struct cfg_entry {
	char key[CFG_KEY_ROOM];
	enum cfg_type type;
	size_t offset;
	char def[CFG_DEF_ROOM];
	long min, max;          /* for CFG_INT (max for CFG_MONEY too) */
	bool secret;            /* never printed by default */
	char alt_env[CFG_ENV_ROOM];  /* another environment variable that
	                              * sets it, "" for none */
};

#define O(f) offsetof(struct lc_config, f)
static const struct cfg_entry cfg_table[] = {
	{ "port", CFG_INT, O(port), "8080", 1, 65535, false, "" },
	{ "bind", CFG_STR, O(bind), "127.0.0.1", 0, 0, false, "" },
	{ "ws_port", CFG_INT, O(ws_port), "0", 0, 65535, false, "" },
	{ "state", CFG_STR, O(state), "/var/lib/lightchat", 0, 0, false, "" },
	{ "users_file", CFG_STR, O(users_file), "", 0, 0, false, "" },
	{ "token_key_file", CFG_STR, O(token_key_file), "", 0, 0, false, "" },
	{ "worker_endpoint", CFG_STR, O(worker_endpoint), "", 0, 0, false, "" },
	{ "upstream_base_url", CFG_STR, O(upstream_base_url),
	  "https://api.openai.com/v1", 0, 0, false, "OPENAI_BASE_URL" },
	{ "upstream_api_key", CFG_STR, O(upstream_api_key), "", 0, 0, true,
	  "OPENAI_API_KEY" },
	{ "upstream_api_key_file", CFG_STR, O(upstream_api_key_file), "", 0, 0,
	  false, "" },
	{ "models", CFG_STR, O(models), "gpt-4o-mini,gpt-4o,gpt-4.1-mini", 0, 0,
	  false, "" },
	{ "default_model", CFG_STR, O(default_model), "gpt-4o-mini", 0, 0, false,
	  "" },
	{ "model_aliases", CFG_STR, O(model_aliases),
	  "gpt-3.5-turbo=gpt-4o-mini,gpt-3.5-turbo-0301=gpt-4o-mini", 0, 0,
	  false, "" },
	{ "public_origin", CFG_STR, O(public_origin), "", 0, 0, false, "" },
	{ "allowed_origins", CFG_STR, O(allowed_origins), "", 0, 0, false, "" },
	{ "log_level", CFG_STR, O(log_level), "info", 0, 0, false, "" },
	{ "token_lifetime", CFG_INT, O(token_lifetime), "86400", 60, 2592000,
	  false, "" },
	{ "session_idle_timeout", CFG_INT, O(session_idle_timeout), "43200", 2,
	  2592000, false, "" },
	{ "session_remember_lifetime", CFG_INT, O(session_remember_lifetime),
	  "2592000", 60, 31536000, false, "" },
	{ "login_max_failures_user", CFG_INT, O(login_max_failures_user), "10",
	  1, 100000, false, "" },
	{ "login_max_failures_addr", CFG_INT, O(login_max_failures_addr), "50",
	  1, 100000, false, "" },
	{ "login_window", CFG_INT, O(login_window), "600", 1, 86400, false,
	  "" },
	{ "login_max_delay", CFG_INT, O(login_max_delay), "300", 1, 86400, false,
	  "" },
	{ "login_device_lifetime", CFG_INT, O(login_device_lifetime), "7776000",
	  3600, 315360000, false, "" },
	{ "password_cost", CFG_INT, O(password_cost), "5", 1, 11, false, "" },
	{ "drain_timeout", CFG_INT, O(drain_timeout), "10", 0, 3600, false,
	  "" },
	{ "max_messages_per_minute", CFG_INT, O(max_messages_per_minute), "120",
	  1, 100000, false, "" },
	{ "max_body", CFG_INT, O(max_body), "16384", 256, 1048576, false, "" },
	/* Attachments (POST /api/attachments): lighttpd's bound on that
	 * path is 64 MiB (lighttpd.conf); this one is the program's. */
	{ "attachment_max_bytes", CFG_INT, O(attachment_max_bytes), "10485760",
	  1024, 67108864, false, "" },
	{ "attachment_text_max", CFG_INT, O(attachment_text_max), "262144",
	  1024, 16777216, false, "" },
	{ "prompt_attachments_max", CFG_INT, O(prompt_attachments_max), "8", 0,
	  100, false, "" },
	{ "prompt_attachments_bytes", CFG_INT, O(prompt_attachments_bytes),
	  "20971520", 1024, 268435456, false, "" },
	{ "image_max_side", CFG_INT, O(image_max_side), "2048", 64, 16384,
	  false, "" },
	{ "pdftotext", CFG_STR, O(pdftotext), "/usr/bin/pdftotext", 0, 0, false,
	  "" },
	{ "pdftotext_timeout", CFG_INT, O(pdftotext_timeout), "10", 1, 300,
	  false, "" },
	{ "max_message", CFG_INT, O(max_message), "1048576", 1024, 16777216,
	  false, "" },
	{ "max_messages", CFG_INT, O(max_messages), "200", 1, 10000, false, "" },
	{ "max_tokens_limit", CFG_INT, O(max_tokens_limit), "16384", 1, 1000000,
	  false, "" },
	{ "max_reply", CFG_INT, O(max_reply), "1048576", 1024, 67108864, false,
	  "" },
	{ "max_inflight", CFG_INT, O(max_inflight), "1024", 1, 100000, false,
	  "" },
	{ "max_inflight_per_user", CFG_INT, O(max_inflight_per_user), "4", 1,
	  1000, false, "" },
	{ "context_budget", CFG_INT, O(context_budget), "48000", 1000, 10000000,
	  false, "" },
	{ "user_storage_quota", CFG_INT, O(user_storage_quota), "104857600", 0,
	  4398046511104L, false, "" },
	/* Usage budgets (lib/budget.h): 0 is no limit. */
	{ "budget_day_tokens", CFG_INT, O(budget_day_tokens), "0", 0,
	  BUDGET_TOKENS_MAX, false, "" },
	{ "budget_month_tokens", CFG_INT, O(budget_month_tokens), "0", 0,
	  BUDGET_TOKENS_MAX, false, "" },
	{ "budget_day_cost", CFG_MONEY, O(budget_day_cost), "0", 0,
	  BUDGET_COST_MAX, false, "" },
	{ "budget_month_cost", CFG_MONEY, O(budget_month_cost), "0", 0,
	  BUDGET_COST_MAX, false, "" },
	{ "site_month_tokens", CFG_INT, O(site_month_tokens), "0", 0,
	  BUDGET_TOKENS_MAX, false, "" },
	{ "site_month_cost", CFG_MONEY, O(site_month_cost), "0", 0,
	  BUDGET_COST_MAX, false, "" },
	{ "currency", CFG_STR, O(currency), "USD", 0, 0, false, "" },
	{ "budget_warn_percent", CFG_INT, O(budget_warn_percent), "80", 1, 100,
	  false, "" },
	{ "conversation_max_bytes", CFG_INT, O(conversation_max_bytes),
	  "16777216", 0, 4398046511104L, false, "" },
	{ "conversation_max_messages", CFG_INT, O(conversation_max_messages),
	  "2000", 0, 10000000, false, "" },
	{ "storage_reserve", CFG_INT, O(storage_reserve), "33554432", 0,
	  4398046511104L, false, "" },
	{ "database", CFG_STR, O(database), "", 0, 0, false, "" },
	{ "max_connections", CFG_INT, O(max_connections), "1024", 1, 100000,
	  false, "" },
	/* One person's tabs on a laptop, a phone and a tablet are about 10
	 * sessions: 32 leaves room, and one user cannot take max_connections. */
	{ "max_connections_per_user", CFG_INT, O(max_connections_per_user), "32",
	  1, 100000, false, "" },
	/* A small office behind one NAT address: 20 people with 3 tabs and a
	 * phone each is 80 sessions; 128 leaves room. */
	{ "max_connections_per_address", CFG_INT,
	  O(max_connections_per_address), "128", 1, 100000, false, "" },
	/* Across a user's sessions: 32 tabs' heartbeats (a ping each 25 s) are
	 * 77 a minute, and a person types far fewer prompts; 240 leaves room
	 * (bursts of a quarter, as per connection). */
	{ "max_messages_per_user_minute", CFG_INT,
	  O(max_messages_per_user_minute), "240", 1, 1000000, false, "" },
	{ "upstream_connect_timeout", CFG_INT, O(upstream_connect_timeout), "10",
	  1, 600, false, "" },
	{ "upstream_idle_timeout", CFG_INT, O(upstream_idle_timeout), "120", 1,
	  3600, false, "" },
	{ "upstream_total_timeout", CFG_INT, O(upstream_total_timeout), "1800", 1,
	  86400, false, "" },
	/* Bytes, not messages: a frame is 60 bytes (a delta) to 6 MB (a
	 * whole reply, JSON-escaped), so a count of messages bounds nothing;
	 * the worker counts what libzmq holds (worker/outq.h). */
	{ "session_send_queue", CFG_INT, O(session_send_queue), "262144", 4096,
	  67108864, false, "" },
	{ "slow_client_timeout", CFG_INT, O(slow_client_timeout), "60", 1,
	  86400, false, "" },
	/* Deltas of one reply that come within this many milliseconds of the
	 * last frame sent to a session go out together, as one frame
	 * (worker/outq.h): every hop after the worker (ZMTP, the session, its
	 * pipe, websocketd, lighttpd, the browser) then handles one frame for
	 * several tokens. A token waits at most this long; 0 sends each delta
	 * as it comes. 15 ms is under a 60 Hz display's frame (16.7 ms). */
	{ "stream_coalesce_ms", CFG_INT, O(stream_coalesce_ms), "15", 0, 250,
	  false, "" },
	/* ... and a frame goes at once when its text reaches this size. */
	{ "stream_coalesce_bytes", CFG_INT, O(stream_coalesce_bytes), "4096",
	  64, 1048576, false, "" },
	/* Every session's queue together (worker/outq.h): with the base
	 * (~14 MB) and one frame being cut, the worker stays under 64 MB. */
	{ "worker_send_budget", CFG_INT, O(worker_send_budget), "33554432",
	  1048576, 4294967296, false, "" },
	{ "demo", CFG_BOOL, O(demo), "false", 0, 0, false, "" },
	{ "cookie_secure", CFG_BOOL, O(cookie_secure), "false", 0, 0, false,
	  "" },
	/* mounted under a prefix of another site (conf/50-lightchat.conf) */
	{ "url_prefix", CFG_STR, O(url_prefix), "/", 0, 0, false, "" },
	/* reverse proxies in front of lighttpd (docs/DEPLOY.md) */
	{ "trusted_proxies", CFG_STR, O(trusted_proxies), "", 0, 0, false,
	  "" },
	/* the front (lighttpd.conf, through scripts/run.sh): connections at
	 * once, and seconds a request may go without sending a byte */
	{ "front_max_connections", CFG_INT, O(front_max_connections), "2048",
	  16, 32767, false, "" },
	{ "front_read_timeout", CFG_INT, O(front_read_timeout), "15", 2, 600,
	  false, "" },
	/* GET /health and /metrics (docs/ARCHITECTURE.md, "Health and
	 * metrics"): the worker's heartbeat file, how old it may be, who may
	 * read /metrics */
	{ "worker_metrics_file", CFG_STR, O(worker_metrics_file), "", 0, 0,
	  false, "" },
	{ "health_heartbeat_max", CFG_INT, O(health_heartbeat_max), "3", 1,
	  3600, false, "" },
	{ "metrics_token_file", CFG_STR, O(metrics_token_file), "", 0, 0, false,
	  "" },
	{ "metrics_open_loopback", CFG_BOOL, O(metrics_open_loopback), "true", 0,
	  0, false, "" },
	/* What the worker's discovery saw (lib/models.h), for /api/models:
	 * rewritten at each listing, so a tmpfs path spares an SD card. */
	{ "worker_models_file", CFG_STR, O(worker_models_file), "", 0, 0, false,
	  "" },
	/* Several hosts on one PostgreSQL (worker/cluster.h): each worker's
	 * name among them ("": the host name), its lease in seconds (a dead
	 * host's replies are ended within lease + 2 s), and the bytes of
	 * messages to the other hosts it may hold unsent. */
	{ "worker_id", CFG_STR, O(worker_id), "", 0, 0, false, "" },
	{ "worker_lease", CFG_INT, O(worker_lease), "6", 3, 60, false, "" },
	{ "worker_cluster_queue", CFG_INT, O(worker_cluster_queue), "1048576",
	  65536, 67108864, false, "" },
};
#undef O
#define CFG_COUNT (sizeof(cfg_table) / sizeof(cfg_table[0]))
#define CFG_LINE_MAX 4096
#define CFG_CWD_MAX 2048
#define CFG_MODEL_CAP (MODELS_MODEL_MAX + 1)

static const struct cfg_entry *
cfg_find(const char *key)
{
	for (size_t i = 0; i < CFG_COUNT; i++)
		if (strcmp(cfg_table[i].key, key) == 0)
			return &cfg_table[i];
	return NULL;
}

/* Stores value into the field of e; returns 0 or -1 with err set. */
static int
cfg_set(struct lc_config *cfg, const struct cfg_entry *e, const char *value,
    const char *origin, char *err)
{
	char *field = (char *)cfg + e->offset;

	switch (e->type) {
	case CFG_INT: {
		char *end = NULL;
		errno = 0;
		long v = strtol(value, &end, 10);
		if (errno != 0 || end == value || *end != '\0' || v < e->min ||
		    v > e->max) {
			snprintf(err, LC_CONFIG_ERR_MAX,
			    "%s: %s must be an integer from %ld to %ld", origin,
			    e->key, e->min, e->max);
			return -1;
		}
		*(long *)(void *)field = v;
		return 0;
	}
	case CFG_MONEY: {
		long long v;
		char max[32];
		if (budget_parse_money(value, e->max, &v) != 0) {
			budget_format_money(e->max, max, sizeof(max));
			snprintf(err, LC_CONFIG_ERR_MAX,
			    "%s: %s must be an amount of money from 0 to %s "
			    "(at most 6 decimals, e.g. 5.00)", origin, e->key,
			    max);
			return -1;
		}
		*(long *)(void *)field = (long)v;
		return 0;
	}
	case CFG_BOOL:
		if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0 ||
		    strcmp(value, "1") == 0 || strcmp(value, "on") == 0) {
			*(bool *)(void *)field = true;
		} else if (strcmp(value, "false") == 0 ||
		    strcmp(value, "no") == 0 || strcmp(value, "0") == 0 ||
		    strcmp(value, "off") == 0 || value[0] == '\0') {
			*(bool *)(void *)field = false;
		} else {
			snprintf(err, LC_CONFIG_ERR_MAX,
			    "%s: %s must be true or false", origin, e->key);
			return -1;
		}
		return 0;
	case CFG_STR: {
		char *copy = strdup(value);
		if (copy == NULL) {
			snprintf(err, LC_CONFIG_ERR_MAX, "out of memory");
			return -1;
		}
		char **slot = (char **)(void *)field;
		free(*slot);
		*slot = copy;
		return 0;
	}
	}
	return -1;
}

static char *
trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* Reads a section header "[kind name]" (s without its brackets) into
 * kind and name. Returns 0 or -1. */
static int
cfg_section(char *s, char **kind, char **name)
{
	size_t n = strlen(s);

	if (n < 2 || s[n - 1] != ']')
		return -1;
	s[n - 1] = '\0';
	s = trim(s + 1);
	*kind = s;
	while (*s != '\0' && !isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return -1;
	*s++ = '\0';
	*name = trim(s);
	return **name != '\0' ? 0 : -1;
}

/* Reads the file: flat keys into cfg (marking them in set), the keys
 * after a section header into the model table. */
static int
cfg_read_file(struct lc_config *cfg, const char *path, bool must_exist,
    bool *set, char *err)
{
	/* The line is on the heap: lightchat-ws reads this file once per
	 * connection, and a 4 kB stack buffer here is its deepest frame, a
	 * stack page it would keep for the connection's life. */
	char *line = NULL;
	char origin[LC_CONFIG_ERR_MAX / 2];
	char kind[16] = "", section[160] = "";
	int rc = -1, lineno = 0;
	FILE *fp = fopen(path, "r");

	if (fp == NULL) {
		if (!must_exist && errno == ENOENT)
			return 0;
		snprintf(err, LC_CONFIG_ERR_MAX, "%s: %s", path,
		    strerror(errno));
		return -1;
	}
	line = malloc(CFG_LINE_MAX);
	if (line == NULL) {
		snprintf(err, LC_CONFIG_ERR_MAX, "%s: out of memory", path);
		goto out;
	}
	while (fgets(line, CFG_LINE_MAX, fp) != NULL) {
		lineno++;
		snprintf(origin, sizeof(origin), "%.80s:%d", path, lineno);
		if (strchr(line, '\n') == NULL && !feof(fp)) {
			snprintf(err, LC_CONFIG_ERR_MAX, "%s: line too long",
			    origin);
			goto out;
		}
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (*s == '[') {
			char *k, *name;
			if (cfg_section(s, &k, &name) != 0 ||
			    strlen(k) >= sizeof(kind) ||
			    strlen(name) >= sizeof(section)) {
				snprintf(err, LC_CONFIG_ERR_MAX, "%s: expected "
				    "[upstream NAME] or [model PATTERN]", origin);
				goto out;
			}
			snprintf(kind, sizeof(kind), "%s", k);
			snprintf(section, sizeof(section), "%s", name);
			if (models_set(cfg->mt, kind, section, NULL, NULL, origin,
			    err) != 0)
				goto out;
			continue;
		}
		char *eq = strchr(s, '=');
		if (eq == NULL) {
			snprintf(err, LC_CONFIG_ERR_MAX,
			    "%s: expected key = value", origin);
			goto out;
		}
		*eq = '\0';
		char *key = trim(s), *value = trim(eq + 1);
		if (kind[0] != '\0') {
			if (models_set(cfg->mt, kind, section, key, value, origin,
			    err) != 0)
				goto out;
			continue;
		}
		const struct cfg_entry *e = cfg_find(key);
		if (e == NULL) {
			snprintf(err, LC_CONFIG_ERR_MAX, "%s: unknown key '%.40s'",
			    origin, key);
			goto out;
		}
		if (cfg_set(cfg, e, value, origin, err) != 0)
			goto out;
		set[e - cfg_table] = true;
	}
	if (ferror(fp)) {
		snprintf(err, LC_CONFIG_ERR_MAX, "%s: read error", path);
		goto out;
	}
	rc = 0;
out:
	free(line);
	fclose(fp);
	return rc;
}

static int
cfg_read_env(struct lc_config *cfg, bool *set, char *err)
{
	char name[64];

	for (size_t i = 0; i < CFG_COUNT; i++) {
		const struct cfg_entry *e = &cfg_table[i];
		const char *v = NULL;
		size_t n = (size_t)snprintf(name, sizeof(name), "LIGHTCHAT_");
		for (const char *k = e->key; *k && n + 1 < sizeof(name); k++)
			name[n++] = (char)toupper((unsigned char)*k);
		name[n] = '\0';
		if (e->alt_env[0] != '\0')
			v = getenv(e->alt_env);
		if (getenv(name) != NULL)
			v = getenv(name);
		if (v != NULL && cfg_set(cfg, e, v, name, err) != 0)
			return -1;
		if (v != NULL)
			set[i] = true;
	}
	return 0;
}

/* Sets *slot to a path derived from the state directory when it is empty. */
static int
cfg_derive(char **slot, const char *prefix, const char *state,
    const char *suffix, char *err)
{
	if (**slot != '\0')
		return 0;
	size_t n = strlen(prefix) + strlen(state) + strlen(suffix) + 1;
	char *p = malloc(n);
	if (p == NULL) {
		snprintf(err, LC_CONFIG_ERR_MAX, "out of memory");
		return -1;
	}
	snprintf(p, n, "%s%s%s", prefix, state, suffix);
	free(*slot);
	*slot = p;
	return 0;
}

/* A PostgreSQL URL names its server, never its password: the config file
 * is not a secret's place (a 0600 passfile, ~/.pgpass, or PGPASSWORD is;
 * libpq reads them itself). Refused: "user:password@" and "password=". */
static int
cfg_check_database(const struct lc_config *cfg, char *err)
{
	const char *u = cfg->database, *rest, *at, *slash;

	if (strncmp(u, "postgresql://", 13) == 0)
		rest = u + 13;
	else if (strncmp(u, "postgres://", 11) == 0)
		rest = u + 11;
	else
		return 0;
	at = strchr(rest, '@');
	slash = strchr(rest, '/');
	if ((at != NULL && (slash == NULL || at < slash) &&
	    memchr(rest, ':', (size_t)(at - rest)) != NULL) ||
	    strstr(rest, "password=") != NULL) {
		snprintf(err, LC_CONFIG_ERR_MAX, "database: the URL holds a "
		    "password; put it in a 0600 passfile (~/.pgpass, or "
		    "passfile=PATH in the URL) or PGPASSWORD instead");
		return -1;
	}
	return 0;
}

/* Replaces cfg->state with dir/rel. */
static int
cfg_derive_abs(struct lc_config *cfg, const char *dir, const char *rel,
    char *err)
{
	size_t n = strlen(dir) + strlen(rel) + 2;
	char *p = malloc(n);

	if (p == NULL) {
		snprintf(err, LC_CONFIG_ERR_MAX, "out of memory");
		return -1;
	}
	snprintf(p, n, "%s/%s", dir, rel);
	free(cfg->state);
	cfg->state = p;
	return 0;
}

/* Reads the API key from its 0600 file when one is configured. */
static int
cfg_read_key_file(struct lc_config *cfg, char *err)
{
	char key[KEYFILE_MAX + 1];

	if (cfg->upstream_api_key_file[0] == '\0' ||
	    cfg->upstream_api_key[0] != '\0')
		return 0;
	if (keyfile_read(cfg->upstream_api_key_file, "upstream_api_key_file",
	    key, sizeof(key), err, LC_CONFIG_ERR_MAX) != 0)
		return -1;
	const struct cfg_entry *e = cfg_find("upstream_api_key");
	int rc = cfg_set(cfg, e, key, "upstream_api_key_file", err);
	explicit_bzero(key, sizeof(key));
	return rc;
}

static bool
cfg_was_set(const bool *set, const char *key)
{
	const struct cfg_entry *e = cfg_find(key);

	return e != NULL && set[e - cfg_table];
}

/* Finds the first model offered by a static list (models_each). */
static int
cfg_first_model(void *arg, const char *name, int upstream)
{
	(void)upstream;
	snprintf(arg, CFG_MODEL_CAP, "%s", name);
	return 1;
}

/* The model table: the sections read, the environment, the flat upstream
 * "default" when there is no [upstream] section or one of its keys was
 * set; then default_model: an explicit one must be offered by a static
 * list unless some upstream discovers (its name may come later); none set
 * is gpt-4o-mini when offered, else the first static model, else "" (the
 * first model offered at run time). */
static int
cfg_models(struct lc_config *cfg, const bool *set, char *err)
{
	char merr[MODELS_ERR_MAX], first[CFG_MODEL_CAP] = "";
	bool flat = models_upstream_count(cfg->mt) == 0 ||
	    cfg_was_set(set, "upstream_base_url") ||
	    cfg_was_set(set, "upstream_api_key") ||
	    cfg_was_set(set, "upstream_api_key_file") ||
	    cfg_was_set(set, "models");
	bool discovers = false;

	merr[0] = '\0';
	if (models_env(cfg->mt, merr) != 0 ||
	    models_finish(cfg->mt, flat, cfg->upstream_base_url,
	    cfg->upstream_api_key, cfg->models, cfg->upstream_connect_timeout,
	    cfg->upstream_idle_timeout, cfg->upstream_total_timeout,
	    merr) != 0) {
		snprintf(err, LC_CONFIG_ERR_MAX, "%s", merr);
		return -1;
	}
	for (size_t i = 0; i < models_upstream_count(cfg->mt); i++)
		discovers |= models_upstream(cfg->mt, i)->discover;
	if (cfg_was_set(set, "default_model")) {
		if (cfg->default_model[0] == '\0' || discovers ||
		    models_route(cfg->mt, NULL, cfg->default_model) >= 0)
			return 0;
		snprintf(err, LC_CONFIG_ERR_MAX, "default_model '%.60s' is not "
		    "in models (nor in an [upstream]'s models)",
		    cfg->default_model);
		return -1;
	}
	const char *pick = "gpt-4o-mini";
	if (models_route(cfg->mt, NULL, pick) < 0) {
		models_each(cfg->mt, NULL, cfg_first_model, first);
		pick = first;
	}
	const struct cfg_entry *e = cfg_find("default_model");
	return cfg_set(cfg, e, pick, "default", err);
}

/* An empty public_origin becomes the origins a browser on this host uses
 * to reach lighttpd: http://127.0.0.1:<port>, http://localhost:<port> and
 * http://[::1]:<port>, and http://<bind>:<port> for another address than a
 * wildcard one (0.0.0.0, ::). Behind a proxy or TLS, set it. */
static int
cfg_derive_origin(struct lc_config *cfg, char *err)
{
	char v[1024];
	int n;

	if (cfg->public_origin[0] != '\0')
		return 0;
	n = snprintf(v, sizeof(v), "http://127.0.0.1:%ld,http://localhost:%ld,"
	    "http://[::1]:%ld", cfg->port, cfg->port, cfg->port);
	if (n > 0 && (size_t)n < sizeof(v) && cfg->bind[0] != '\0' &&
	    strcmp(cfg->bind, "127.0.0.1") != 0 &&
	    strcmp(cfg->bind, "0.0.0.0") != 0 && strcmp(cfg->bind, "::") != 0 &&
	    strcmp(cfg->bind, "::1") != 0 && strcmp(cfg->bind, "localhost") != 0)
		n += snprintf(v + n, sizeof(v) - (size_t)n,
		    strchr(cfg->bind, ':') != NULL ? ",http://[%.200s]:%ld" :
		    ",http://%.200s:%ld", cfg->bind, cfg->port);
	if (n < 0 || (size_t)n >= sizeof(v)) {
		snprintf(err, LC_CONFIG_ERR_MAX, "public_origin: bind too long");
		return -1;
	}
	char *copy = strdup(v);
	if (copy == NULL) {
		snprintf(err, LC_CONFIG_ERR_MAX, "out of memory");
		return -1;
	}
	free(cfg->public_origin);
	cfg->public_origin = copy;
	return 0;
}

/* url_prefix: "/" or "/a/b/", path segments of letters, digits and
 * "-._~" (no "." or ".." segment); one without its last "/" gets it. It goes
 * into Set-Cookie's Path=, so nothing there may end the attribute. */
static int
cfg_check_prefix(struct lc_config *cfg, char *err)
{
	const char *p = cfg->url_prefix;
	size_t n = strlen(p);

	if (n == 0 || p[0] != '/' || n > 128)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)p[i];
		if (!isalnum(c) && strchr("-._~/", c) == NULL)
			goto bad;
		if (c == '/' && p[i + 1] == '/')
			goto bad;
		if (c == '/' && p[i + 1] == '.' && (p[i + 2] == '/' ||
		    p[i + 2] == '\0' || (p[i + 2] == '.' && (p[i + 3] == '/' ||
		    p[i + 3] == '\0'))))
			goto bad;
	}
	if (p[n - 1] != '/') {
		char *copy = malloc(n + 2);
		if (copy == NULL) {
			snprintf(err, LC_CONFIG_ERR_MAX, "out of memory");
			return -1;
		}
		memcpy(copy, p, n);
		copy[n] = '/';
		copy[n + 1] = '\0';
		free(cfg->url_prefix);
		cfg->url_prefix = copy;
	}
	return 0;
bad:
	snprintf(err, LC_CONFIG_ERR_MAX, "url_prefix must be / or a path "
	    "like /chat/ (letters, digits, -._~), not '%.60s'", p);
	return -1;
}

/* worker_id: its name among the hosts' workers, in the store's leases and
 * the messages between them: "" is the host name (characters outside
 * [A-Za-z0-9._-] made '-', cut to LC_WORKER_ID_MAX); set, it must be 1 to
 * LC_WORKER_ID_MAX of those characters. */
static int
cfg_worker_id(struct lc_config *cfg, char *err)
{
	char host[256];
	size_t n;

	if (cfg->worker_id[0] == '\0') {
		if (gethostname(host, sizeof(host)) != 0)
			snprintf(host, sizeof(host), "worker");
		host[sizeof(host) - 1] = '\0';
		host[LC_WORKER_ID_MAX] = '\0';
		for (char *c = host; *c != '\0'; c++)
			if (!isalnum((unsigned char)*c) || (unsigned char)*c > 0x7f)
				if (*c != '.' && *c != '_' && *c != '-')
					*c = '-';
		if (host[0] == '\0')
			snprintf(host, sizeof(host), "worker");
		char *p = strdup(host);
		if (p == NULL) {
			snprintf(err, LC_CONFIG_ERR_MAX, "out of memory");
			return -1;
		}
		free(cfg->worker_id);
		cfg->worker_id = p;
		return 0;
	}
	n = strlen(cfg->worker_id);
	for (size_t i = 0; i < n && n <= LC_WORKER_ID_MAX; i++) {
		unsigned char c = (unsigned char)cfg->worker_id[i];
		if ((!isalnum(c) || c > 0x7f) && c != '.' && c != '_' &&
		    c != '-')
			goto bad;
	}
	if (n <= LC_WORKER_ID_MAX)
		return 0;
bad:
	snprintf(err, LC_CONFIG_ERR_MAX, "worker_id must be 1 to %d of "
	    "A-Z a-z 0-9 . _ - (empty: the host name), not '%.70s'",
	    LC_WORKER_ID_MAX, cfg->worker_id);
	return -1;
}

/* currency: "" or 1 to 8 letters (ISO 4217 codes, or "EUR", "credits"):
 * it is printed beside amounts in messages, reports and the page. */
static int
cfg_check_currency(const struct lc_config *cfg, char *err)
{
	size_t n = strlen(cfg->currency);

	for (size_t i = 0; i < n && n <= 8; i++)
		if (!isalpha((unsigned char)cfg->currency[i]) ||
		    (unsigned char)cfg->currency[i] > 0x7f)
			goto bad;
	if (n <= 8)
		return 0;
bad:
	snprintf(err, LC_CONFIG_ERR_MAX, "currency must be empty or 1 to 8 "
	    "letters A-Z, a-z (e.g. USD), not '%.20s'", cfg->currency);
	return -1;
}

int
config_load(struct lc_config *cfg, char err[LC_CONFIG_ERR_MAX])
{
	const char *path = getenv("LIGHTCHAT_CONFIG");
	bool set[CFG_COUNT] = { false };

	memset(cfg, 0, sizeof(*cfg));
	err[0] = '\0';
	cfg->mt = models_new();
	if (cfg->mt == NULL) {
		snprintf(err, LC_CONFIG_ERR_MAX, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < CFG_COUNT; i++) {
		const struct cfg_entry *e = &cfg_table[i];
		/* an initializer of exactly the array's size compiles, without
		 * its NUL */
		if (memchr(e->key, '\0', sizeof(e->key)) == NULL ||
		    memchr(e->def, '\0', sizeof(e->def)) == NULL ||
		    memchr(e->alt_env, '\0', sizeof(e->alt_env)) == NULL) {
			snprintf(err, LC_CONFIG_ERR_MAX, "setting %zu: a name or "
			    "default longer than config.c's table holds", i);
			return -1;
		}
		if (cfg_set(cfg, e, e->def, "default", err) != 0)
			return -1;
	}
	if (path != NULL && path[0] != '\0') {
		if (cfg_read_file(cfg, path, true, set, err) != 0)
			return -1;
	} else if (cfg_read_file(cfg, "/etc/lightchat/lightchat.conf", false,
	    set, err) != 0) {
		return -1;
	}
	if (cfg_read_env(cfg, set, err) != 0 ||
	    cfg_read_key_file(cfg, err) != 0 || cfg_models(cfg, set, err) != 0)
		return -1;

	if (cfg->state[0] != '/') {
		/* A relative state directory would mean something else in
		 * every process lighttpd and websocketd start. */
		/* On the heap, as cfg_read_file's line: lightchat-ws keeps
		 * every stack page its configuration touched. */
		char *cwd = malloc(CFG_CWD_MAX);
		if (cwd == NULL || getcwd(cwd, CFG_CWD_MAX) == NULL) {
			snprintf(err, LC_CONFIG_ERR_MAX, "getcwd: %s",
			    cwd == NULL ? "out of memory" : strerror(errno));
			free(cwd);
			return -1;
		}
		const char *rel = cfg->state;
		while (rel[0] == '.' && rel[1] == '/')
			rel += 2;
		int rc = cfg_derive_abs(cfg, cwd, rel, err);
		free(cwd);
		if (rc != 0)
			return -1;
	}
	if (cfg->ws_port == 0)
		cfg->ws_port = cfg->port < 65535 ? cfg->port + 1 : cfg->port - 1;
	if (cfg_check_prefix(cfg, err) != 0 || cfg_check_currency(cfg, err) != 0 ||
	    cfg_worker_id(cfg, err) != 0 ||
	    cfg_check_database(cfg, err) != 0 || cfg_derive_origin(cfg, err) != 0 ||
	    cfg_derive(&cfg->users_file, "", cfg->state, "/users", err) != 0 ||
	    cfg_derive(&cfg->token_key_file, "", cfg->state, "/token.key",
	    err) != 0 ||
	    cfg_derive(&cfg->worker_endpoint, "ipc://", cfg->state,
	    "/worker.sock", err) != 0 ||
	    cfg_derive(&cfg->database, "", cfg->state, "/lightchat.db", err) != 0 ||
	    cfg_derive(&cfg->worker_metrics_file, "", cfg->state,
	    "/worker.metrics", err) != 0 ||
	    cfg_derive(&cfg->worker_models_file, "", cfg->state,
	    "/models.json", err) != 0)
		return -1;
	return 0;
}

void
config_free(struct lc_config *cfg)
{
	for (size_t i = 0; i < CFG_COUNT; i++) {
		if (cfg_table[i].type != CFG_STR)
			continue;
		char **slot = (char **)(void *)((char *)cfg +
		    cfg_table[i].offset);
		if (*slot != NULL && cfg_table[i].secret)
			explicit_bzero(*slot, strlen(*slot));
		free(*slot);
		*slot = NULL;
	}
	models_free(cfg->mt);
	cfg->mt = NULL;
}

int
config_get(const struct lc_config *cfg, const char *key, char *out,
    size_t outcap)
{
	const struct cfg_entry *e = cfg_find(key);
	const char *field;
	int n;

	if (e == NULL)
		return -1;
	field = (const char *)cfg + e->offset;
	switch (e->type) {
	case CFG_INT:
		n = snprintf(out, outcap, "%ld", *(const long *)(const void *)field);
		break;
	case CFG_BOOL:
		n = snprintf(out, outcap, "%s",
		    *(const bool *)(const void *)field ? "true" : "false");
		break;
	case CFG_MONEY: {
		char money[32];
		budget_format_money(*(const long *)(const void *)field, money,
		    sizeof(money));
		n = snprintf(out, outcap, "%s", money);
		break;
	}
	default:
		n = snprintf(out, outcap, "%s",
		    *(char *const *)(const void *)field);
		break;
	}
	return (n < 0 || (size_t)n >= outcap) ? -1 : 0;
}

void
config_each_key(void (*fn)(const char *key, bool secret, void *arg), void *arg)
{
	for (size_t i = 0; i < CFG_COUNT; i++)
		fn(cfg_table[i].key, cfg_table[i].secret, arg);
}

const char *
config_default(const char *key)
{
	const struct cfg_entry *e = cfg_find(key);

	return e != NULL ? e->def : NULL;
}

void
config_budget_limits(const struct lc_config *cfg,
    struct budget_limits *defaults, struct budget_limits *site)
{
	if (defaults != NULL) {
		defaults->v[BUDGET_DAY][BUDGET_TOKENS] = cfg->budget_day_tokens;
		defaults->v[BUDGET_DAY][BUDGET_COST] = cfg->budget_day_cost;
		defaults->v[BUDGET_MONTH][BUDGET_TOKENS] =
		    cfg->budget_month_tokens;
		defaults->v[BUDGET_MONTH][BUDGET_COST] = cfg->budget_month_cost;
	}
	if (site != NULL) {
		site->v[BUDGET_DAY][BUDGET_TOKENS] = BUDGET_NONE;
		site->v[BUDGET_DAY][BUDGET_COST] = BUDGET_NONE;
		site->v[BUDGET_MONTH][BUDGET_TOKENS] = cfg->site_month_tokens;
		site->v[BUDGET_MONTH][BUDGET_COST] = cfg->site_month_cost;
	}
}

bool
config_list_has(const char *list, const char *name)
{
	size_t nlen = strlen(name);

	if (nlen == 0)
		return false;
	while (*list) {
		while (*list == ',' || isspace((unsigned char)*list))
			list++;
		const char *end = list;
		while (*end && *end != ',')
			end++;
		const char *last = end;
		while (last > list && isspace((unsigned char)last[-1]))
			last--;
		if ((size_t)(last - list) == nlen &&
		    memcmp(list, name, nlen) == 0)
			return true;
		list = end;
	}
	return false;
}
