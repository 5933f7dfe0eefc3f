/* config_doc.c - the meaning of each setting and the commented
 * configuration file made from the settings table (config_doc.h). */
#include "config_doc.h"

#include <stdbool.h>
#include <string.h>

#include "config.h"

struct cfg_doc {
	const char *key;
	const char *meaning;
};

/* One line each (the file and lightchat.conf(5) print them as they are):
 * what it sets, its unit, what 0 or empty means. */
static const struct cfg_doc docs[] = {
	{ "port", "TCP port the stand-alone lighttpd (make run) serves the page and the API on" },
	{ "bind", "address the stand-alone lighttpd listens on (0.0.0.0: the whole network)" },
	{ "ws_port", "port of websocketd on 127.0.0.1 (0: port + 1)" },
	{ "state", "state directory: users file, token key, database, sockets (mode 0700, the lightchat user's)" },
	{ "users_file", "users and password hashes, htpasswd format (empty: <state>/users)" },
	{ "token_key_file", "the key that signs login tokens, mode 0600 (empty: <state>/token.key)" },
	{ "worker_endpoint", "the worker's ZeroMQ endpoint (empty: ipc://<state>/worker.sock; tcp://ADDRESS:PORT with a numeric address or localhost)" },
	{ "upstream_base_url", "the OpenAI-compatible API (or OPENAI_BASE_URL): Ollama, llama.cpp and others work too" },
	{ "upstream_api_key", "the API key (or OPENAI_API_KEY); better: upstream_api_key_file, so that this file holds no secret" },
	{ "upstream_api_key_file", "a file holding the API key, mode 0600, owned by the lightchat user" },
	{ "models", "the models users may choose, comma-separated" },
	{ "default_model", "the model of a new conversation (one of models; unset: gpt-4o-mini when offered, else the first model offered)" },
	{ "model_aliases", "old model names mapped to allowed ones: alias=model,alias=model" },
	{ "public_origin", "the page's origins, comma-separated scheme://host[:port] (empty: the loopback ones at port); set it behind a proxy or TLS, e.g. https://chat.example.com" },
	{ "allowed_origins", "other origins allowed to log in and open /ws, comma-separated" },
	{ "log_level", "debug, info, warn or error" },
	{ "token_lifetime", "seconds a login lasts (remember me off)" },
	{ "session_idle_timeout", "seconds unused before such a login ends" },
	{ "session_remember_lifetime", "seconds a \"remember me\" login lasts" },
	{ "login_max_failures_user", "failed logins per user name per window before logins are delayed" },
	{ "login_max_failures_addr", "failed logins per client address per window before logins are delayed" },
	{ "login_window", "seconds over which failed logins are counted" },
	{ "login_max_delay", "seconds: the longest wait after repeated failures" },
	{ "login_device_lifetime", "seconds a device cookie (a browser that logged in before) is trusted" },
	{ "password_cost", "yescrypt cost of new hashes (logins rehash weaker ones)" },
	{ "drain_timeout", "seconds a stopping worker goes on finishing the replies in flight" },
	{ "max_messages_per_minute", "WebSocket messages per connection per minute" },
	{ "max_body", "bytes of an HTTP request body" },
	{ "attachment_max_bytes", "bytes of an uploaded attachment (POST /api/attachments)" },
	{ "attachment_text_max", "bytes of an attachment's text (a text file, or a PDF's text)" },
	{ "prompt_attachments_max", "attachments in one prompt" },
	{ "prompt_attachments_bytes", "bytes of one prompt's attachments together" },
	{ "image_max_side", "pixels: the page downscales an image's long side to this before upload" },
	{ "pdftotext", "path of poppler's pdftotext for PDF attachments (\"\": PDFs refused)" },
	{ "pdftotext_timeout", "seconds pdftotext may run on one PDF" },
	{ "max_message", "bytes of a WebSocket message" },
	{ "max_messages", "messages in one prompt" },
	{ "max_tokens_limit", "the largest max_tokens a prompt may ask for" },
	{ "max_reply", "bytes of a reply" },
	{ "max_inflight", "replies streaming at once" },
	{ "max_inflight_per_user", "replies being written at once per user" },
	{ "context_budget", "bytes of stored history sent upstream with a prompt" },
	{ "user_storage_quota", "bytes of messages a user may store (0: no limit; lightchat-admin user quota sets one user's)" },
	{ "budget_day_tokens", "tokens (prompt + completion) a user may use per day, the server's local day (0: no limit; lightchat-admin user limit sets one user's); a reply in flight is finished, the next prompt refused" },
	{ "budget_month_tokens", "tokens a user may use per calendar month (0: no limit)" },
	{ "budget_day_cost", "money a user may spend per day, in currency, e.g. 0.50 (0: no limit; needs the models' price_input and price_output)" },
	{ "budget_month_cost", "money a user may spend per calendar month, e.g. 5.00 (0: no limit)" },
	{ "site_month_tokens", "tokens every user together may use per month: past it every prompt is refused (0: no limit)" },
	{ "site_month_cost", "money every user together may spend per month, e.g. 100.00 (0: no limit)" },
	{ "currency", "the currency of the prices and money limits, shown beside amounts (1 to 8 letters, or empty)" },
	{ "budget_warn_percent", "percent of a budget from which the page warns that it is running out" },
	{ "conversation_max_bytes", "bytes of one conversation (0: no limit)" },
	{ "conversation_max_messages", "messages of one conversation (0: no limit)" },
	{ "storage_reserve", "bytes kept free on the state directory's file system: prompts are refused below (0: no check)" },
	{ "database", "the store: a SQLite file (empty: <state>/lightchat.db), or a PostgreSQL URL postgresql://[user@]host[:port]/db (several hosts on one database, docs/SCALING.md; its password in ~/.pgpass or PGPASSFILE, never here)" },
	{ "max_connections", "WebSocket connections at once (websocketd --maxforks)" },
	{ "max_connections_per_user", "WebSocket connections of one user at once" },
	{ "max_connections_per_address", "WebSocket connections from one client address at once" },
	{ "max_messages_per_user_minute", "WebSocket messages per minute across all of a user's connections" },
	{ "upstream_connect_timeout", "seconds to connect to the API" },
	{ "upstream_idle_timeout", "seconds without a byte in the middle of a reply" },
	{ "upstream_total_timeout", "seconds for a whole reply" },
	{ "session_send_queue", "bytes queued for one WebSocket session before it counts as behind" },
	{ "slow_client_timeout", "seconds a session may stay behind, reading nothing, before it is closed" },
	{ "stream_coalesce_ms", "milliseconds a reply's deltas may wait to go to a session together, as one frame (the CPU of every hop after the worker is per frame); 0 sends each delta as it comes" },
	{ "stream_coalesce_bytes", "text in bytes at which a coalesced frame goes at once, its window not over" },
	{ "worker_send_budget", "bytes the worker queues for every session together; over it the session behind with the most is cut off" },
	{ "worker_metrics_file", "the worker's heartbeat and figures for /health and /metrics, rewritten each second (empty: <state>/worker.metrics; a path on a tmpfs spares an SD card: the package uses /run/lightchat/worker/worker.metrics)" },
	{ "worker_models_file", "what the worker's model discovery saw, for /api/models, rewritten at each listing (empty: <state>/models.json; the package uses /run/lightchat/worker/models.json)" },
	{ "worker_id", "this worker's name among the hosts sharing one PostgreSQL database: its lease and its messages to the others (empty: the host name; A-Z a-z 0-9 . _ -, at most 64; unique per host)" },
	{ "worker_lease", "seconds a worker's lease in a shared (PostgreSQL) database lasts, renewed every third of it: a host that dies has its unfinished replies ended as interrupted within this plus 2 s" },
	{ "worker_cluster_queue", "bytes of messages to the other hosts' workers (live replies they watch) held unsent; over it that reply is no longer forwarded, the local sessions are not affected" },
	{ "health_heartbeat_max", "seconds: a worker heartbeat older than this makes /health answer 503" },
	{ "metrics_open_loopback", "true: /metrics answers 127.0.0.0/8 and ::1 without a token (false behind a reverse proxy on the same host)" },
	{ "metrics_token_file", "a file, mode 0600, holding the token that opens /metrics from anywhere (Authorization: Bearer)" },
	{ "demo", "true: the upstream is the built-in demo model (make run sets it when there is no API key)" },
	{ "cookie_secure", "true: every cookie is Secure, whatever the request (without it: when lighttpd says HTTPS, or a trusted proxy's X-Forwarded-Proto does)" },
	{ "url_prefix", "where the site is mounted in the system lighttpd (/chat/ with 50-lightchat.conf): stripped from request paths, the cookies' Path" },
	{ "trusted_proxies", "reverse proxies and load balancers (addresses or networks, e.g. 127.0.0.1, ::1, 10.0.0.0/8) whose X-Forwarded-Proto: https makes cookies Secure and whose X-Forwarded-For names the client (login throttling, sessions, logs)" },
	{ "front_max_connections", "the stand-alone lighttpd's connections at once, half-open ones included" },
	{ "front_read_timeout", "seconds the stand-alone lighttpd waits for a request's next byte" },
};
#define DOC_COUNT (sizeof(docs) / sizeof(docs[0]))

const char *
config_doc(const char *key)
{
	for (size_t i = 0; i < DOC_COUNT; i++)
		if (strcmp(docs[i].key, key) == 0)
			return docs[i].meaning;
	return NULL;
}

void
config_doc_each(void (*fn)(const char *key, const char *meaning, void *arg),
    void *arg)
{
	for (size_t i = 0; i < DOC_COUNT; i++)
		fn(docs[i].key, docs[i].meaning, arg);
}

/* The sections' keys (lib/models.h), in the order the example shows them:
 * its section, its key, the example's value, its meaning (one line each).
 * tests/unit/test-config_doc.c checks that every key the model table takes
 * is here and that every example value is one it accepts. */
static const struct cfg_section_doc sections[] = {
	{ "upstream", "label", "Ollama", "shown in the page next to its models (default: the section's NAME)" },
	{ "upstream", "base_url", "http://127.0.0.1:11434/v1", "the OpenAI-compatible API, http:// or https://; may hold {model} (an Azure deployment URL)" },
	{ "upstream", "api_key_file", "/etc/lightchat/ollama.key", "a file holding its API key, mode 0600 (or LIGHTCHAT_UPSTREAM_<NAME>_API_KEY; neither: no Authorization header, for a local server)" },
	{ "upstream", "models", "llama3.2:1b,qwen3:8b", "the models it serves, comma-separated (names may hold : and /; may be empty with discover = true)" },
	{ "upstream", "discover", "true", "true: list its models from GET {base_url}/models at start and every discover_interval seconds" },
	{ "upstream", "discover_allow", "llama*,qwen*", "the discovered models offered: globs with * and ?, comma-separated (empty: all)" },
	{ "upstream", "discover_interval", "300", "seconds between two listings (1 to 86400; a remote API needs no more than one a few minutes)" },
	{ "upstream", "connect_timeout", "10", "seconds to connect (default: upstream_connect_timeout)" },
	{ "upstream", "idle_timeout", "120", "seconds without a byte in the middle of a reply (default: upstream_idle_timeout)" },
	{ "upstream", "total_timeout", "1800", "seconds for a whole reply (default: upstream_total_timeout)" },
	{ "upstream", "auth", "bearer", "bearer (Authorization: Bearer KEY) or api-key (Azure OpenAI's api-key: KEY header)" },
	{ "upstream", "api_version", "", "Azure OpenAI: added as ?api-version=VALUE to every call (empty: none)" },
	{ "upstream", "stream_options", "auto", "auto: sent, and left out for good once the API refuses it (Mistral, Fireworks, Azure AI Foundry); on; off" },
	{ "model", "upstream", "ollama", "the upstream that serves the models matching the pattern" },
	{ "model", "max_tokens_param", "max_tokens", "the name max_tokens is sent under: max_tokens or max_completion_tokens (OpenAI's o-series and gpt-5)" },
	{ "model", "omit", "", "parameters never sent, comma-separated: max_tokens, temperature, top_p, frequency_penalty, presence_penalty (empty: none)" },
	{ "model", "reasoning_effort", "", "the efforts it takes: none, minimal, low, medium, high, xhigh (empty: none; a client's other effort becomes the nearest)" },
	{ "model", "system_role", "system", "what a system message is sent as: system, developer or user" },
	{ "model", "images", "false", "true: it reads images" },
	{ "model", "max_tokens_limit", "8192", "a larger max_tokens is lowered to this (0: no limit)" },
	{ "model", "price_input", "0.15", "money (in currency) per million prompt tokens, for the usage report and money budgets; set with price_output (neither: no price; its replies count in token budgets only)" },
	{ "model", "price_output", "0.60", "money per million completion tokens (reasoning included)" },
	{ "model", "think", "open", "<think> in its replies: auto (a reply starting with the tag), open (the reply starts inside it, as DeepSeek-R1's), off" },
};
#define SECTION_DOC_COUNT (sizeof(sections) / sizeof(sections[0]))

void
config_doc_sections(void (*fn)(const struct cfg_section_doc *doc, void *arg),
    void *arg)
{
	for (size_t i = 0; i < SECTION_DOC_COUNT; i++)
		fn(&sections[i], arg);
}

struct tmpl {
	FILE *fp;
	int failed;
};

/* The commented example of the sections, ending the file. Its lines start
 * "#[" (a header) or "#  key = value": never "#key =", so that nothing
 * reads them as flat settings (scripts/conf2man.awk, the tests). */
static int
write_sections(FILE *fp)
{
	const char *kind = "";

	if (fputs("\n" CONFIG_DOC_SECTIONS_MARK "\n"
	    "# The upstream_* keys and models above are the upstream named "
	    "\"default\"; it\n"
	    "# exists when no [upstream] section does, or when one of them is "
	    "set. More\n"
	    "# upstreams, and the quirks of models, are sections after every "
	    "flat key:\n"
	    "# the lines after \"[upstream NAME]\" (NAME: 1 to 32 of a-z, 0-9, "
	    "_ and -) or\n"
	    "# \"[model PATTERN]\" (a model name, * and ? match) belong to it, "
	    "up to the next\n"
	    "# one. LIGHTCHAT_UPSTREAM_<NAME>_<KEY> sets a key of a section the "
	    "file has.\n"
	    "# A model goes to the first upstream listing or discovering it, "
	    "unless a\n"
	    "# [model] rule's upstream = says otherwise. Each of a model's "
	    "quirks comes\n"
	    "# from the first [model] rule matching it that sets it, then from "
	    "the built-in\n"
	    "# rules for OpenAI's o1, o3, o4 and gpt-5 families.\n", fp) < 0)
		return -1;
	for (size_t i = 0; i < SECTION_DOC_COUNT; i++) {
		const struct cfg_section_doc *d = &sections[i];
		if (strcmp(kind, d->kind) != 0) {
			kind = d->kind;
			if (fprintf(fp, "#\n#[%s %s]\n", kind,
			    strcmp(kind, "upstream") == 0 ? "ollama" :
			    "qwen3*") < 0)
				return -1;
		}
		if (fprintf(fp, "# %s\n#  %s =%s%s\n", d->meaning, d->key,
		    d->value[0] != '\0' ? " " : "", d->value) < 0)
			return -1;
	}
	return 0;
}

static void
write_entry(const char *key, bool secret, void *arg)
{
	struct tmpl *t = arg;
	const char *meaning = config_doc(key);
	const char *def = config_default(key);

	(void)secret;  /* a secret's default is empty: nothing to hide */
	if (def == NULL)
		def = "";
	/* "#key =" for an empty default: no trailing blank */
	if (fprintf(t->fp, "\n# %s\n#%s =%s%s\n",
	    meaning != NULL ? meaning : "(undocumented)", key,
	    def[0] != '\0' ? " " : "", def) < 0)
		t->failed = 1;
}

int
config_write_template(FILE *fp)
{
	struct tmpl t = { fp, 0 };

	if (fputs("# lightchat.conf - lightchat's settings, one key = value a "
	    "line (lightchat.conf(5)).\n"
	    "# Made by `lightchat-admin config --template` from the table of "
	    "settings the\n"
	    "# programs read: every key is here, commented out, with its "
	    "built-in default.\n"
	    "# Remove the # of a line to change it. The environment overrides "
	    "this file\n"
	    "# (LIGHTCHAT_<KEY IN UPPER CASE>, and OPENAI_API_KEY, "
	    "OPENAI_BASE_URL);\n"
	    "# `lightchat-admin config` prints the values in effect.\n", fp) < 0)
		return -1;
	config_each_key(write_entry, &t);
	if (t.failed || write_sections(fp) != 0 || fflush(fp) != 0 || ferror(fp))
		return -1;
	return 0;
}
