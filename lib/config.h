/* config.h - lightchat's settings: one key = value file plus environment.
 *
 * Precedence: environment (LIGHTCHAT_<KEY in upper case>, and OPENAI_API_KEY /
 * OPENAI_BASE_URL) over the file named by LIGHTCHAT_CONFIG (default
 * /etc/lightchat/lightchat.conf when it exists) over the built-in defaults.
 * Read it before the first FCGI_Accept: libfcgi replaces environ on accept.
 *
 * The file may end with sections: "[upstream NAME]" and "[model PATTERN]"
 * lines, each followed by its own key = value lines (lib/models.h), until
 * the next section; the flat keys come before the first one. */
#ifndef LC_CONFIG_H
#define LC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "budget.h"
#include "models.h"

#define LC_CONFIG_ERR_MAX 256
#define LC_WORKER_ID_MAX 64  /* = STORE_WORKER_MAX (lib/store.h) */

struct lc_config {
	long port;
	char *bind;               /* the address lighttpd listens on */
	long ws_port;             /* 0: port + 1 */
	char *state;              /* state directory, absolute after load */
	char *users_file;         /* "" : <state>/users */
	char *token_key_file;     /* "" : <state>/token.key */
	char *worker_endpoint;    /* "" : ipc://<state>/worker.sock */
	char *upstream_base_url;
	char *upstream_api_key;   /* secret: never logged */
	char *upstream_api_key_file;
	char *models;             /* comma-separated allow-list */
	char *default_model;       /* "" : the first model offered at run time */
	char *model_aliases;      /* "alias=model,alias=model" */
	char *public_origin;      /* the origins the page is served from, comma-
	                           * separated "scheme://host[:port]"; "" : the
	                           * loopback ones at port (config.c) */
	char *allowed_origins;    /* comma-separated "scheme://host[:port]" */
	char *log_level;
	long token_lifetime;      /* seconds a login lasts (remember me off) */
	long session_idle_timeout; /* seconds unused before such a login ends */
	long session_remember_lifetime; /* seconds a "remember me" login lasts */
	long login_max_failures_user; /* failed logins per user per window */
	long login_max_failures_addr; /* failed logins per address per window */
	long login_window;        /* seconds */
	long login_max_delay;     /* seconds: the longest wait between failures */
	long login_device_lifetime; /* seconds a device cookie is trusted */
	long password_cost;       /* yescrypt cost of new and upgraded hashes */
	long drain_timeout;       /* seconds the worker finishes replies on stop */
	long max_messages_per_minute; /* WebSocket messages per connection */
	long max_body;            /* HTTP request body bytes */
	long attachment_max_bytes; /* bytes of an uploaded file */
	long attachment_text_max; /* bytes of an attachment's text */
	long prompt_attachments_max; /* attachments in one prompt */
	long prompt_attachments_bytes; /* their bytes together */
	long image_max_side;      /* px: the page downscales images to this */
	char *pdftotext;          /* path of pdftotext; "" : PDFs refused */
	long pdftotext_timeout;   /* seconds pdftotext may run */
	long max_message;         /* WebSocket message bytes */
	long max_messages;        /* messages in one sendprompt */
	long max_tokens_limit;
	long max_reply;           /* reply bytes */
	long max_inflight;        /* replies in flight in the worker */
	long max_inflight_per_user;
	long context_budget;      /* bytes of stored history sent upstream */
	long user_storage_quota;  /* bytes of messages a user may store (0: no
	                           * limit); lightchat-admin user quota sets
	                           * one user's */
	/* Usage budgets (issue 16, lib/budget.h): the default limits of
	 * every user (lightchat-admin user limit sets one user's own) and
	 * the site's monthly cap, over the server's local day and month;
	 * tokens, and money in micro-units of currency (the file says
	 * "5.00": CFG_MONEY); 0: no limit. */
	long budget_day_tokens, budget_month_tokens;
	long budget_day_cost, budget_month_cost;
	long site_month_tokens, site_month_cost;
	char *currency;           /* shown beside money ("USD"); the prices and
	                           * limits are in it */
	long budget_warn_percent; /* the page warns from this use of a limit */
	long conversation_max_bytes; /* bytes of one conversation (0: no limit) */
	long conversation_max_messages; /* messages of one (0: no limit) */
	long storage_reserve;     /* bytes kept free on the state directory's
	                           * filesystem: prompts are refused below
	                           * (0: no check) */
	char *database;           /* "" : <state>/lightchat.db */
	long max_connections;     /* websocketd --maxforks */
	long max_connections_per_user;    /* WebSocket sessions per user */
	long max_connections_per_address; /* WebSocket sessions per address */
	long max_messages_per_user_minute; /* across a user's sessions */
	long upstream_connect_timeout;
	long upstream_idle_timeout;
	long upstream_total_timeout;
	long session_send_queue;  /* bytes queued for one session */
	long slow_client_timeout; /* seconds a session may stay behind */
	long stream_coalesce_ms;  /* deltas within it go as one frame; 0 off */
	long stream_coalesce_bytes; /* ... up to this much text */
	long worker_send_budget;  /* bytes queued for every session together */
	bool demo;                /* the upstream is the built-in demo */
	bool cookie_secure;       /* force Secure on the cookie (behind TLS) */
	char *url_prefix;         /* where the site is mounted: "/" or "/chat/"
	                           * (starts and ends with "/"; cookie paths, and
	                           * stripped from request paths) */
	char *trusted_proxies;    /* comma-separated addresses (or address/bits)
	                           * whose X-Forwarded-Proto: https is believed */
	long front_max_connections; /* lighttpd's server.max-connections */
	long front_read_timeout;  /* lighttpd's server.max-read-idle, seconds */
	char *worker_metrics_file; /* "" : <state>/worker.metrics (the worker's
	                            * heartbeat and figures, each second) */
	long health_heartbeat_max; /* seconds: an older heartbeat fails /health */
	char *metrics_token_file; /* "" : none; else a 0600 file whose token
	                           * opens /metrics (Authorization: Bearer) */
	bool metrics_open_loopback; /* /metrics open to 127.0.0.0/8 and ::1 */
	char *worker_models_file; /* "" : <state>/models.json (what the
	                           * worker's discovery saw, for /api/models) */
	char *worker_id;          /* this worker's name among the hosts' (made
	                           * from the host name when ""): [A-Za-z0-9._-],
	                           * at most LC_WORKER_ID_MAX */
	long worker_lease;        /* seconds a worker's lease lasts (shared
	                           * store): renewed every third of it */
	long worker_cluster_queue; /* bytes of messages to the other hosts'
	                           * workers held unsent, at most */
	struct lc_models *mt;     /* the upstreams and the model table, made
	                           * by config_load (the flat upstream_* keys
	                           * are its upstream "default") */
};

/* Loads defaults, the file and the environment into cfg, validates the values
 * and derives the paths. Returns 0, or -1 with a message in err. Free with
 * config_free, also after a failure. */
int config_load(struct lc_config *cfg, char err[LC_CONFIG_ERR_MAX]);

/* Frees the strings of cfg and its model table. */
void config_free(struct lc_config *cfg);

/* Writes the effective value of key into out (numbers in decimal, booleans
 * as true/false). Returns 0, or -1 for an unknown key or a value that does
 * not fit. Secrets are returned too: the caller decides. */
int config_get(const struct lc_config *cfg, const char *key, char *out,
    size_t outcap);

/* Calls fn for every key, in table order. */
void config_each_key(void (*fn)(const char *key, bool secret, void *arg),
    void *arg);

/* Returns the built-in default of key as the table writes it (a static
 * string, "" for none), or NULL for an unknown key. */
const char *config_default(const char *key);

/* The budget limits cfg sets (lib/budget.h): every user's defaults
 * (budget_day_tokens, budget_day_cost, budget_month_tokens,
 * budget_month_cost) and the site's (site_month_tokens, site_month_cost;
 * its day limits BUDGET_NONE). Either may be NULL. */
void config_budget_limits(const struct lc_config *cfg,
    struct budget_limits *defaults, struct budget_limits *site);

/* Returns true if name appears in the comma-separated list (items trimmed). */
bool config_list_has(const char *list, const char *name);

#endif
