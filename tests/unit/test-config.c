/* test-config.c - unit tests of lib/config.c: defaults, file, environment. */
#include <ctype.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "unit.h"

static char dir[64];
static char conf[128];

static void
env_name(const char *key, char *name, size_t cap)
{
	size_t n = (size_t)snprintf(name, cap, "LIGHTCHAT_");

	for (const char *k = key; *k && n + 1 < cap; k++)
		name[n++] = (char)toupper((unsigned char)*k);
	name[n] = '\0';
}

static void
unset_key(const char *key, bool secret, void *arg)
{
	char name[96];

	(void)secret;
	(void)arg;
	env_name(key, name, sizeof(name));
	unsetenv(name);
}

struct key_walk {
	const struct lc_config *cfg;
	int keys, secrets, gettable, secret_is_api_key;
};

static void
walk_key(const char *key, bool secret, void *arg)
{
	struct key_walk *w = arg;
	char out[1024];

	w->keys++;
	if (config_get(w->cfg, key, out, sizeof(out)) == 0)
		w->gettable++;
	if (secret) {
		w->secrets++;
		w->secret_is_api_key = strcmp(key, "upstream_api_key") == 0;
	}
}

/* Every variable a case may have set. */
static void
clear_env(void)
{
	config_each_key(unset_key, NULL);
	unsetenv("OPENAI_API_KEY");
	unsetenv("OPENAI_BASE_URL");
	unsetenv("LIGHTCHAT_CONFIG");
}

static void
write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fputs(text, fp) < 0 || fclose(fp) != 0) {
		perror(path);
		exit(2);
	}
}

/* Loads with text as the config file; the caller frees cfg. */
static int
load(const char *text, struct lc_config *cfg, char *err)
{
	write_file(conf, text);
	setenv("LIGHTCHAT_CONFIG", conf, 1);
	return config_load(cfg, err);
}

/* Expects a load failure whose message contains want. */
static void
expect_err(const char *text, const char *want, const char *name)
{
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX];
	int rc = load(text, &cfg, err);

	CHECK(rc == -1 && strstr(err, want) != NULL, name);
	if (rc != -1 || strstr(err, want) == NULL)
		printf("#   rc %d err \"%s\" (want \"%s\")\n", rc, err, want);
	config_free(&cfg);
}

static void
test_defaults(void)
{
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX];

	clear_env();
	CHECK(load("", &cfg, err) == 0, "defaults: load");
	CHECK(cfg.port == 8080 && cfg.ws_port == 8081, "defaults: ports");
	CHECK_STR(cfg.bind, "127.0.0.1", "defaults: bind");
	CHECK_STR(cfg.state, "/var/lib/lightchat", "defaults: state");
	CHECK_STR(cfg.users_file, "/var/lib/lightchat/users",
	    "defaults: users_file");
	CHECK_STR(cfg.token_key_file, "/var/lib/lightchat/token.key",
	    "defaults: token_key_file");
	CHECK_STR(cfg.worker_endpoint, "ipc:///var/lib/lightchat/worker.sock",
	    "defaults: worker_endpoint");
	CHECK_STR(cfg.upstream_base_url, "https://api.openai.com/v1",
	    "defaults: upstream_base_url");
	CHECK_STR(cfg.upstream_api_key, "", "defaults: no api key");
	CHECK_STR(cfg.default_model, "gpt-4o-mini", "defaults: default_model");
	CHECK(config_list_has(cfg.models, cfg.default_model),
	    "defaults: default model in models");
	CHECK_STR(cfg.allowed_origins, "", "defaults: allowed_origins");
	CHECK_STR(cfg.public_origin, "http://127.0.0.1:8080,"
	    "http://localhost:8080,http://[::1]:8080",
	    "defaults: public_origin from the port");
	CHECK(cfg.login_max_delay == 300 && cfg.password_cost == 5 &&
	    cfg.login_device_lifetime == 7776000, "defaults: login keys");
	CHECK_STR(cfg.log_level, "info", "defaults: log_level");
	CHECK(cfg.token_lifetime == 86400 && cfg.max_body == 16384 &&
	    cfg.max_message == 1048576 && cfg.max_messages == 200 &&
	    cfg.max_tokens_limit == 16384 && cfg.max_reply == 1048576 &&
	    cfg.max_inflight == 1024 && cfg.max_inflight_per_user == 4,
	    "defaults: limits");
	CHECK(cfg.max_connections_per_user == 32 &&
	    cfg.max_connections_per_address == 128 &&
	    cfg.max_messages_per_user_minute == 240,
	    "defaults: per-user and per-address limits");
	CHECK(!cfg.demo && !cfg.cookie_secure, "defaults: booleans false");
	CHECK(cfg.front_max_connections == 2048 && cfg.front_read_timeout == 15,
	    "defaults: the front's limits");
	config_free(&cfg);
	CHECK(cfg.bind == NULL && cfg.state == NULL, "config_free clears");
}

static void
test_file_and_env(void)
{
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX], out[64];
	const char *text =
	    "# lightchat test config\n"
	    "\n"
	    "   # indented comment = not a key\n"
	    "port=9000\n"
	    "  bind   =   0.0.0.0   \n"
	    "\tmodels\t=\ta, b ,c\r\n"
	    "default_model = b\n"
	    "upstream_base_url = http://up.example/v1?x=y\n"
	    "upstream_api_key = from-file\n"
	    "demo = yes\n"
	    "allowed_origins =\n"
	    "users_file = /srv/u\n";

	clear_env();
	CHECK(load(text, &cfg, err) == 0, "file: load");
	if (err[0])
		printf("#   %s\n", err);
	CHECK(cfg.port == 9000 && cfg.ws_port == 9001, "file: port, ws_port");
	CHECK_STR(cfg.bind, "0.0.0.0", "file: spaces around = trimmed");
	CHECK_STR(cfg.models, "a, b ,c", "file: tabs and CR trimmed");
	CHECK_STR(cfg.default_model, "b", "file: default_model");
	CHECK_STR(cfg.upstream_base_url, "http://up.example/v1?x=y",
	    "file: value may contain =");
	CHECK_STR(cfg.upstream_api_key, "from-file", "file: api key");
	CHECK(cfg.demo, "file: yes is true");
	CHECK_STR(cfg.allowed_origins, "", "file: empty value");
	CHECK_STR(cfg.users_file, "/srv/u", "file: explicit users_file kept");
	CHECK_STR(cfg.token_key_file, "/var/lib/lightchat/token.key",
	    "file: token_key_file still derived");
	config_free(&cfg);

	setenv("LIGHTCHAT_PORT", "9100", 1);
	setenv("LIGHTCHAT_BIND", "", 1);
	setenv("OPENAI_API_KEY", "sk-openai", 1);
	setenv("OPENAI_BASE_URL", "http://alt/v1", 1);
	setenv("LIGHTCHAT_DEMO", "off", 1);
	CHECK(load(text, &cfg, err) == 0, "env: load");
	CHECK(cfg.port == 9100 && cfg.ws_port == 9101, "env beats file: port");
	CHECK_STR(cfg.bind, "", "env: empty value beats file");
	CHECK_STR(cfg.upstream_api_key, "sk-openai",
	    "OPENAI_API_KEY beats the file");
	CHECK_STR(cfg.upstream_base_url, "http://alt/v1",
	    "OPENAI_BASE_URL -> upstream_base_url");
	CHECK(!cfg.demo, "env: off is false");
	config_free(&cfg);
	setenv("LIGHTCHAT_UPSTREAM_API_KEY", "sk-lightchat", 1);
	setenv("LIGHTCHAT_UPSTREAM_BASE_URL", "http://mine/v1", 1);
	CHECK(load(text, &cfg, err) == 0, "env: load 2");
	CHECK_STR(cfg.upstream_api_key, "sk-lightchat",
	    "LIGHTCHAT_UPSTREAM_API_KEY beats OPENAI_API_KEY");
	CHECK_STR(cfg.upstream_base_url, "http://mine/v1",
	    "LIGHTCHAT_UPSTREAM_BASE_URL beats OPENAI_BASE_URL");
	CHECK(config_get(&cfg, "upstream_api_key", out, sizeof(out)) == 0 &&
	    strcmp(out, "sk-lightchat") == 0, "config_get returns secrets");
	config_free(&cfg);
	clear_env();

	setenv("LIGHTCHAT_MAX_INFLIGHT_PER_USER", "9", 1);
	setenv("LIGHTCHAT_PORT", "65535", 1);
	setenv("LIGHTCHAT_COOKIE_SECURE", "1", 1);
	CHECK(load("", &cfg, err) == 0 && cfg.max_inflight_per_user == 9,
	    "env: long key name");
	CHECK(cfg.ws_port == 65534, "port 65535: ws_port 65534");
	CHECK(cfg.cookie_secure, "env: 1 is true");
	config_free(&cfg);
	clear_env();
	setenv("LIGHTCHAT_WS_PORT", "7000", 1);
	CHECK(load("", &cfg, err) == 0 && cfg.ws_port == 7000,
	    "explicit ws_port kept");
	config_free(&cfg);
	clear_env();
}

static void
test_errors(void)
{
	char big[5000];
	char name[96];
	static const char *const bad_ports[] = {
		"abc", "80x", "", "0", "65536", "-1", "8080.0",
		"99999999999999999999999",
	};

	clear_env();
	expect_err("port = 1\nbogus = 3\n", "bogus", "unknown key named");
	expect_err("port = 1\nbogus = 3\n", ":2", "unknown key: line number");
	expect_err("PORT = 1\n", "PORT", "keys are case-sensitive");
	expect_err("just words\n", ":1", "line without = refused");
	for (size_t i = 0; i < sizeof(bad_ports) / sizeof(bad_ports[0]); i++) {
		char text[96];
		snprintf(text, sizeof(text), "port = %s\n", bad_ports[i]);
		snprintf(name, sizeof(name), "file port '%s' refused",
		    bad_ports[i]);
		expect_err(text, "port", name);
		setenv("LIGHTCHAT_PORT", bad_ports[i], 1);
		snprintf(name, sizeof(name), "env port '%s' refused",
		    bad_ports[i]);
		expect_err("", "LIGHTCHAT_PORT", name);
		unsetenv("LIGHTCHAT_PORT");
	}
	expect_err("max_body = 255\n", "max_body", "max_body below its minimum");
	expect_err("demo = maybe\n", "demo", "bool 'maybe' refused");
	expect_err("cookie_secure = 2\n", "cookie_secure", "bool '2' refused");
	expect_err("front_read_timeout = 1\n", "front_read_timeout",
	    "front_read_timeout below its minimum");
	expect_err("front_max_connections = 32768\n", "front_max_connections",
	    "front_max_connections above lighttpd's maximum");

	memset(big, 'x', sizeof(big));
	memcpy(big, "log_level = ", 12);
	big[sizeof(big) - 2] = '\n';
	big[sizeof(big) - 1] = '\0';
	expect_err(big, "too long", "line over 4096 bytes refused");
	memcpy(big, "# comment   ", 12);
	expect_err(big, "too long", "comment over 4096 bytes refused");

	expect_err("models = a,b\ndefault_model = c\n", "default_model",
	    "default_model not in models");
	expect_err("models = a-long,b\ndefault_model = a\n", "default_model",
	    "default_model a prefix of a model");
	expect_err("models =\ndefault_model = a\n", "models is empty",
	    "empty models refused");
	setenv("LIGHTCHAT_DEFAULT_MODEL", "zzz", 1);
	expect_err("", "default_model", "env default_model not in models");
	unsetenv("LIGHTCHAT_DEFAULT_MODEL");

	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX];
	char missing[160];
	snprintf(missing, sizeof(missing), "%s/none.conf", dir);
	setenv("LIGHTCHAT_CONFIG", missing, 1);
	CHECK(config_load(&cfg, err) == -1 && strstr(err, "none.conf") != NULL,
	    "named config file missing -> error");
	config_free(&cfg);
	clear_env();
}

static void
test_paths_and_keys(void)
{
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX], cwd[1024], want[1200], keyf[160];
	char old[1024];

	clear_env();
	if (getcwd(old, sizeof(old)) == NULL || chdir(dir) != 0 ||
	    getcwd(cwd, sizeof(cwd)) == NULL) {
		printf("not ok - chdir\n");
		return;
	}
	CHECK(load("state = rel/st\n", &cfg, err) == 0, "relative state: load");
	snprintf(want, sizeof(want), "%s/rel/st", cwd);
	CHECK_STR(cfg.state, want, "relative state made absolute");
	snprintf(want, sizeof(want), "%s/rel/st/users", cwd);
	CHECK_STR(cfg.users_file, want, "users_file from relative state");
	snprintf(want, sizeof(want), "ipc://%s/rel/st/worker.sock", cwd);
	CHECK_STR(cfg.worker_endpoint, want, "endpoint from relative state");
	snprintf(want, sizeof(want), "%s/rel/st/worker.metrics", cwd);
	CHECK_STR(cfg.worker_metrics_file, want,
	    "worker_metrics_file from relative state");
	CHECK(cfg.health_heartbeat_max == 3 && cfg.metrics_open_loopback &&
	    cfg.metrics_token_file[0] == '\0',
	    "health and metrics defaults: 3 s, loopback open, no token");
	config_free(&cfg);
	CHECK(load("worker_metrics_file = /run/lc/w.metrics\n"
	    "metrics_open_loopback = false\nhealth_heartbeat_max = 10\n",
	    &cfg, err) == 0 &&
	    strcmp(cfg.worker_metrics_file, "/run/lc/w.metrics") == 0 &&
	    !cfg.metrics_open_loopback && cfg.health_heartbeat_max == 10,
	    "health and metrics keys set in the file");
	config_free(&cfg);
	CHECK(load("health_heartbeat_max = 0\n", &cfg, err) != 0,
	    "health_heartbeat_max below 1: refused");
	config_free(&cfg);
	CHECK(load("state = ./st\n", &cfg, err) == 0, "./ state: load");
	snprintf(want, sizeof(want), "%s/st", cwd);
	CHECK_STR(cfg.state, want, "./st made absolute without ./");
	config_free(&cfg);
	if (chdir(old) != 0)
		printf("# chdir back failed\n");

	snprintf(keyf, sizeof(keyf), "%s/api.key", dir);
	write_file(keyf, "  sk-from-key-file \t\n second line\n");
	setenv("LIGHTCHAT_UPSTREAM_API_KEY_FILE", keyf, 1);
	chmod(keyf, 0644);
	CHECK(load("", &cfg, err) != 0 && strstr(err, "0600") != NULL,
	    "api key file readable by others: refused");
	config_free(&cfg);
	chmod(keyf, 0600);
	CHECK(load("", &cfg, err) == 0, "api key file: load");
	CHECK_STR(cfg.upstream_api_key, "sk-from-key-file",
	    "api key file read and trimmed");
	config_free(&cfg);
	setenv("OPENAI_API_KEY", "sk-env", 1);
	CHECK(load("", &cfg, err) == 0, "api key beats key file: load");
	CHECK_STR(cfg.upstream_api_key, "sk-env", "api key beats key file");
	config_free(&cfg);
	unsetenv("OPENAI_API_KEY");
	snprintf(keyf, sizeof(keyf), "%s/missing.key", dir);
	setenv("LIGHTCHAT_UPSTREAM_API_KEY_FILE", keyf, 1);
	CHECK(load("", &cfg, err) == -1 && strstr(err, "missing.key") != NULL,
	    "missing api key file -> error");
	config_free(&cfg);
	clear_env();
}

static void
test_get_and_list(void)
{
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX], out[128];

	clear_env();
	CHECK(load("port = 1234\ndemo = on\nlog_level = debug\n", &cfg, err) ==
	    0, "get: load");
	CHECK(config_get(&cfg, "port", out, sizeof(out)) == 0 &&
	    strcmp(out, "1234") == 0, "get int");
	CHECK(config_get(&cfg, "ws_port", out, sizeof(out)) == 0 &&
	    strcmp(out, "1235") == 0, "get derived ws_port");
	CHECK(config_get(&cfg, "demo", out, sizeof(out)) == 0 &&
	    strcmp(out, "true") == 0, "get bool true");
	CHECK(config_get(&cfg, "cookie_secure", out, sizeof(out)) == 0 &&
	    strcmp(out, "false") == 0, "get bool false");
	CHECK(config_get(&cfg, "log_level", out, sizeof(out)) == 0 &&
	    strcmp(out, "debug") == 0, "get string");
	CHECK(config_get(&cfg, "users_file", out, sizeof(out)) == 0 &&
	    strcmp(out, "/var/lib/lightchat/users") == 0, "get derived path");
	CHECK(config_get(&cfg, "nope", out, sizeof(out)) == -1, "get unknown");
	CHECK(config_get(&cfg, "", out, sizeof(out)) == -1, "get empty key");
	CHECK(config_get(&cfg, "PORT", out, sizeof(out)) == -1,
	    "get upper-case key");
	CHECK(config_get(&cfg, "log_level", out, 5) == -1,
	    "get: value that does not fit");
	CHECK(config_get(&cfg, "log_level", out, 6) == 0 &&
	    strcmp(out, "debug") == 0, "get: value that just fits");
	struct key_walk w = { &cfg, 0, 0, 0, 0 };
	config_each_key(walk_key, &w);
	CHECK(w.keys >= 29 && w.gettable == w.keys,
	    "each_key: every key readable with config_get");
	CHECK(w.secrets == 1 && w.secret_is_api_key,
	    "each_key: upstream_api_key is the one secret");
	config_free(&cfg);

	CHECK(config_list_has("a,b,c", "b"), "list: middle");
	CHECK(config_list_has(" a , b ,c ", "b"), "list: spaces trimmed");
	CHECK(config_list_has("\ta\t,\tb", "a"), "list: tabs trimmed");
	CHECK(config_list_has(",,a,,", "a"), "list: empty items skipped");
	CHECK(!config_list_has("abc,def", "ab"), "list: prefix is no match");
	CHECK(!config_list_has("abc,def", "bc"), "list: suffix is no match");
	CHECK(!config_list_has("abc", "abcd"), "list: longer is no match");
	CHECK(!config_list_has("a,b", ""), "list: empty name");
	CHECK(!config_list_has(",, ,", ""), "list: empty name, empty items");
	CHECK(!config_list_has("", "a"), "list: empty list");
	CHECK(!config_list_has("a,b", "a,b"), "list: the list is not an item");
	CHECK(config_list_has("x y,z", "x y"), "list: inner space kept");
	CHECK(config_list_has("http://a:1,https://b", "https://b"),
	    "list: origins");
}

/* url_prefix (issue 13): "/" by default, a path gets its last "/", and
 * nothing that could end a cookie's Path= or climb out of it passes. */
static void
test_prefix(void)
{
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX];

	clear_env();
	CHECK(load("", &cfg, err) == 0, "prefix: load");
	CHECK_STR(cfg.url_prefix, "/", "prefix: default /");
	CHECK_STR(cfg.trusted_proxies, "", "prefix: no trusted proxies");
	config_free(&cfg);
	CHECK(load("url_prefix = /chat/\ntrusted_proxies = 127.0.0.1, ::1\n",
	    &cfg, err) == 0, "prefix: /chat/ loads");
	CHECK_STR(cfg.url_prefix, "/chat/", "prefix: /chat/");
	CHECK_STR(cfg.trusted_proxies, "127.0.0.1, ::1", "prefix: proxies");
	config_free(&cfg);
	CHECK(load("url_prefix = /apps/chat-1.0_x~\n", &cfg, err) == 0,
	    "prefix: without its last slash loads");
	CHECK_STR(cfg.url_prefix, "/apps/chat-1.0_x~/", "prefix: slash added");
	config_free(&cfg);
	expect_err("url_prefix = chat/\n", "url_prefix must be", "prefix: relative");
	expect_err("url_prefix = /chat//x/\n", "url_prefix", "prefix: //");
	expect_err("url_prefix = /chat/../\n", "url_prefix", "prefix: ..");
	expect_err("url_prefix = /./\n", "url_prefix", "prefix: .");
	expect_err("url_prefix = /a;b/\n", "url_prefix", "prefix: ; ends Path=");
	expect_err("url_prefix = /a b/\n", "url_prefix", "prefix: a space");
	CHECK(load("url_prefix = /a..b/.x/\n", &cfg, err) == 0,
	    "prefix: dots inside a segment are letters");
	config_free(&cfg);
}


/* The model table's sections (issue 14): keys after a header belong to
 * it, errors name file:line, the flat keys are the upstream "default" only
 * when no section exists or one of them is set, default_model's rule. */
static void
test_sections(void)
{
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX], keyf[160], text[1024], out[64];
	const struct lc_upstream *u;
	struct lc_model_info mi;

	clear_env();
	CHECK(load("", &cfg, err) == 0 && models_upstream_count(cfg.mt) == 1 &&
	    strcmp(models_upstream(cfg.mt, 0)->name, "default") == 0 &&
	    models_route(cfg.mt, NULL, "gpt-4o") == 0,
	    "sections: none: the flat upstream default");
	config_free(&cfg);
	CHECK(cfg.mt == NULL, "sections: config_free frees the table");

	CHECK(load("port = 9000\n"
	    "[upstream ollama]\n"
	    "label = Ollama at home\n"
	    "base_url = http://127.0.0.1:11434/v1\n"
	    "models = llama3.2:1b,qwen3:8b\n"
	    "idle_timeout = 300\n"
	    "\n# a comment inside a section\n"
	    "[model qwen3*]\n"
	    "think = open\n"
	    "max_tokens_limit = 8000\n", &cfg, err) == 0,
	    "sections: an upstream and a rule");
	CHECK(cfg.port == 9000 && models_upstream_count(cfg.mt) == 1 &&
	    (u = models_upstream(cfg.mt, 0)) != NULL &&
	    strcmp(u->name, "ollama") == 0 &&
	    strcmp(u->label, "Ollama at home") == 0 &&
	    u->idle_timeout == 300 && u->connect_timeout == 10,
	    "sections: only the section's upstream (no flat key set)");
	CHECK_STR(cfg.default_model, "llama3.2:1b",
	    "sections: default_model unset: the first static model");
	models_info(cfg.mt, "qwen3:8b", 0, &mi);
	CHECK(mi.think == MODELS_THINK_OPEN && mi.max_tokens_limit == 8000,
	    "sections: the rule's fields");
	CHECK(config_get(&cfg, "port", out, sizeof(out)) == 0 &&
	    strcmp(out, "9000") == 0, "sections: config_get of a flat key");
	config_free(&cfg);

	CHECK(load("models = gpt-4o-mini,o4-mini\n"
	    "[upstream ollama]\nbase_url = http://127.0.0.1:11434/v1\n"
	    "discover = true\n", &cfg, err) == 0 &&
	    models_upstream_count(cfg.mt) == 2 &&
	    strcmp(models_upstream(cfg.mt, 0)->name, "default") == 0 &&
	    models_route(cfg.mt, NULL, "o4-mini") == 0,
	    "sections: models set: the flat upstream too, first");
	CHECK_STR(cfg.default_model, "gpt-4o-mini",
	    "sections: default_model unset: gpt-4o-mini when offered");
	config_free(&cfg);

	setenv("OPENAI_API_KEY", "sk-env", 1);
	CHECK(load("[upstream ollama]\nbase_url = http://127.0.0.1:11434/v1\n"
	    "discover = true\n", &cfg, err) == 0 &&
	    models_upstream_count(cfg.mt) == 2 &&
	    strcmp(models_upstream(cfg.mt, 0)->api_key, "sk-env") == 0,
	    "sections: an api key in the environment makes the flat upstream");
	CHECK_STR(cfg.default_model, "gpt-4o-mini",
	    "sections: the flat default models with it");
	config_free(&cfg);
	unsetenv("OPENAI_API_KEY");

	CHECK(load("[upstream ollama]\nbase_url = http://127.0.0.1:11434/v1\n"
	    "discover = true\n", &cfg, err) == 0 &&
	    cfg.default_model[0] == '\0',
	    "sections: discovery only: default_model \"\" (first at run time)");
	config_free(&cfg);

	CHECK(load("default_model = llama3.2:3b\n"
	    "[upstream ollama]\nbase_url = http://127.0.0.1:11434/v1\n"
	    "discover = true\n", &cfg, err) == 0,
	    "sections: an explicit default_model a discovering upstream may "
	    "offer later");
	config_free(&cfg);
	expect_err("default_model = nope\n[upstream ollama]\n"
	    "base_url = http://h/v1\nmodels = a\n", "default_model 'nope'",
	    "sections: an explicit default_model nobody offers refused");

	setenv("LIGHTCHAT_UPSTREAM_OLLAMA_BASE_URL", "http://10.0.0.2:11434/v1",
	    1);
	CHECK(load("[upstream ollama]\nbase_url = http://127.0.0.1:11434/v1\n"
	    "models = a\n", &cfg, err) == 0 &&
	    strcmp(models_upstream(cfg.mt, 0)->base_url,
	    "http://10.0.0.2:11434/v1") == 0,
	    "sections: LIGHTCHAT_UPSTREAM_OLLAMA_BASE_URL overrides the file");
	config_free(&cfg);
	unsetenv("LIGHTCHAT_UPSTREAM_OLLAMA_BASE_URL");

	snprintf(keyf, sizeof(keyf), "%s/openai.key", dir);
	write_file(keyf, "sk-section\n");
	chmod(keyf, 0600);
	snprintf(text, sizeof(text), "[upstream openai]\n"
	    "base_url = https://api.openai.com/v1\nmodels = gpt-5-mini\n"
	    "api_key_file = %s\n", keyf);
	CHECK(load(text, &cfg, err) == 0 &&
	    strcmp(models_upstream(cfg.mt, 0)->api_key, "sk-section") == 0,
	    "sections: api_key_file read (0600)");
	config_free(&cfg);
	chmod(keyf, 0640);
	expect_err(text, "0600", "sections: api_key_file 0640 refused");

	expect_err("[upstream ollama]\nbase_url = http://h/v1\nmodels = a\n"
	    "port = 8080\n", ":4: unknown key 'port' in [upstream ollama]",
	    "sections: a flat key inside a section refused, file:line named");
	expect_err("[upstream ollama\nbase_url = x\n", ":1: expected [upstream",
	    "sections: a header without its bracket refused");
	expect_err("[upstream]\n", ":1: expected [upstream",
	    "sections: a header without a name refused");
	expect_err("[server x]\n", ":1: unknown section",
	    "sections: an unknown section kind refused");
	expect_err("[upstream Big]\n", ":1: [upstream Big]",
	    "sections: a bad upstream name refused at its header");
	expect_err("\n[upstream x]\nbase_url = gopher://h\n", ":3: base_url",
	    "sections: a bad value refused with its line");
	expect_err("[upstream x]\nmodels = a\n", "needs a base_url",
	    "sections: an upstream without base_url refused");
	expect_err("[upstream x]\nbase_url = http://h/v1\n[model a*]\n"
	    "upstream = y\nmodels = a\n", "unknown key 'models' in [model a*]",
	    "sections: keys after a new header belong to it");
	expect_err("[upstream x]\nbase_url = http://h/v1\nmodels = a\n"
	    "[model a*]\nupstream = y\n", ":5: upstream: no [upstream y]",
	    "sections: a rule naming an unknown upstream refused");
	expect_err("upstream_base_url = http://h/v1\n[upstream default]\n"
	    "base_url = http://g/v1\nmodels = a\n", "both define",
	    "sections: flat keys and [upstream default] refused");
	clear_env();
}

/* The usage budgets' keys (issue 16): token counts as integers, money as
 * amounts ("5.00") kept in micro-units and printed back so, the
 * currency's letters, the warning's percent; file and environment. */
static void
test_budgets(void)
{
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX], out[64];

	clear_env();
	CHECK(load("", &cfg, err) == 0 && cfg.budget_day_tokens == 0 &&
	    cfg.budget_month_tokens == 0 && cfg.budget_day_cost == 0 &&
	    cfg.budget_month_cost == 0 && cfg.site_month_tokens == 0 &&
	    cfg.site_month_cost == 0 && cfg.budget_warn_percent == 80 &&
	    strcmp(cfg.currency, "USD") == 0,
	    "budgets: defaults: no limits, USD, a warning at 80 %");
	CHECK(config_get(&cfg, "budget_month_cost", out, sizeof(out)) == 0 &&
	    strcmp(out, "0.00") == 0, "budgets: no money limit prints 0.00");
	config_free(&cfg);
	CHECK(load("budget_day_tokens = 10000\nbudget_month_cost = 5.00\n"
	    "budget_day_cost = 0.125\nsite_month_cost = 1000000000\n"
	    "site_month_tokens = 1000000000000\ncurrency = EUR\n"
	    "budget_warn_percent = 90\n", &cfg, err) == 0 &&
	    cfg.budget_day_tokens == 10000 &&
	    cfg.budget_month_cost == 5000000 && cfg.budget_day_cost == 125000 &&
	    cfg.site_month_cost == 1000000000L * 1000000L &&
	    cfg.site_month_tokens == 1000000000000L &&
	    strcmp(cfg.currency, "EUR") == 0 && cfg.budget_warn_percent == 90,
	    "budgets: the file's values, money in micro-units");
	CHECK(config_get(&cfg, "budget_month_cost", out, sizeof(out)) == 0 &&
	    strcmp(out, "5.00") == 0, "budgets: money printed back as written");
	CHECK(config_get(&cfg, "budget_day_cost", out, sizeof(out)) == 0 &&
	    strcmp(out, "0.125") == 0, "budgets: and with its decimals");
	struct budget_limits def, site;
	config_budget_limits(&cfg, &def, &site);
	CHECK(def.v[BUDGET_DAY][BUDGET_TOKENS] == 10000 &&
	    def.v[BUDGET_DAY][BUDGET_COST] == 125000 &&
	    def.v[BUDGET_MONTH][BUDGET_TOKENS] == BUDGET_NONE &&
	    def.v[BUDGET_MONTH][BUDGET_COST] == 5000000 &&
	    site.v[BUDGET_DAY][BUDGET_TOKENS] == BUDGET_NONE &&
	    site.v[BUDGET_DAY][BUDGET_COST] == BUDGET_NONE &&
	    site.v[BUDGET_MONTH][BUDGET_TOKENS] == 1000000000000LL &&
	    site.v[BUDGET_MONTH][BUDGET_COST] == BUDGET_COST_MAX,
	    "budgets: the limits for budget_check, the site's day ones none");
	config_free(&cfg);
	setenv("LIGHTCHAT_BUDGET_MONTH_COST", "2.50", 1);
	setenv("LIGHTCHAT_BUDGET_DAY_TOKENS", "500", 1);
	setenv("LIGHTCHAT_CURRENCY", "", 1);
	CHECK(load("budget_month_cost = 5.00\n", &cfg, err) == 0 &&
	    cfg.budget_month_cost == 2500000 && cfg.budget_day_tokens == 500 &&
	    strcmp(cfg.currency, "") == 0,
	    "budgets: the environment over the file; an empty currency");
	config_free(&cfg);
	clear_env();
	expect_err("budget_month_cost = 5,00\n", "budget_month_cost must be an "
	    "amount of money", "budgets: a comma refused");
	expect_err("budget_month_cost = -1\n", "budget_month_cost",
	    "budgets: negative money refused");
	expect_err("budget_month_cost = 1.0000001\n", "at most 6 decimals",
	    "budgets: 7 decimals refused");
	expect_err("site_month_cost = 1000000000.01\n", "from 0 to "
	    "1000000000.00", "budgets: over the money's maximum refused");
	expect_err("budget_day_tokens = 1000000000001\n", "budget_day_tokens "
	    "must be an integer from 0 to 1000000000000",
	    "budgets: over the tokens' maximum refused");
	expect_err("budget_day_tokens = 2M\n", "budget_day_tokens",
	    "budgets: a token key takes a plain integer");
	expect_err("budget_warn_percent = 0\n", "budget_warn_percent",
	    "budgets: a 0 % warning refused");
	expect_err("budget_warn_percent = 101\n", "budget_warn_percent",
	    "budgets: over 100 % refused");
	expect_err("currency = US$\n", "currency must be", "budgets: a currency "
	    "with a sign refused");
	expect_err("database = postgresql://lc:secret@db.example/lc\n",
	    "the URL holds a password", "database: a password in the URL refused");
	expect_err("database = postgres:///lc?host=/run/postgresql&password=x\n",
	    "the URL holds a password", "database: password= refused");
	CHECK(load("database = postgresql://lc@db.example:5433/lc\n", &cfg,
	    err) == 0 && strcmp(cfg.database, "postgresql://lc@db.example:5433/"
	    "lc") == 0, "database: a PostgreSQL URL kept as it is");
	config_free(&cfg);
	expect_err("currency = ABCDEFGHI\n", "currency must be",
	    "budgets: a 9-letter currency refused");
}

/* worker_id (the host name when empty, checked when set), worker_lease. */
static void
test_worker_id(void)
{
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX], host[256], want[LC_WORKER_ID_MAX + 1];
	int rc;

	clear_env();
	rc = load("", &cfg, err);
	CHECK(rc == 0 && cfg.worker_id[0] != '\0' &&
	    strlen(cfg.worker_id) <= LC_WORKER_ID_MAX,
	    "worker_id: made when empty");
	if (rc == 0 && gethostname(host, sizeof(host)) == 0) {
		host[LC_WORKER_ID_MAX] = '\0';
		memcpy(want, host, strlen(host) + 1);
		for (char *c = want; *c; c++)
			if (!isalnum((unsigned char)*c) && *c != '.' &&
			    *c != '_' && *c != '-')
				*c = '-';
		CHECK_STR(cfg.worker_id, want, "worker_id: the host name");
	}
	CHECK(rc == 0 && cfg.worker_lease == 6 &&
	    cfg.worker_cluster_queue == 1048576,
	    "worker_lease 6 s, worker_cluster_queue 1 MiB by default");
	config_free(&cfg);
	setenv("LIGHTCHAT_WORKER_ID", "host-2.example_b", 1);
	rc = load("", &cfg, err);
	CHECK(rc == 0 && strcmp(cfg.worker_id, "host-2.example_b") == 0,
	    "worker_id from the environment");
	config_free(&cfg);
	unsetenv("LIGHTCHAT_WORKER_ID");
	expect_err("worker_id = a b\n", "worker_id", "worker_id with a space");
	expect_err("worker_id = h/1\n", "worker_id", "worker_id with a slash");
	expect_err("worker_id = "
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\n",
	    "worker_id", "worker_id of 65 characters");
	expect_err("worker_lease = 2\n", "worker_lease", "worker_lease below 3");
	expect_err("worker_lease = 61\n", "worker_lease", "worker_lease over 60");
}

int
main(void)
{
	char cmd[128];

	snprintf(dir, sizeof(dir), "/tmp/lc-config-XXXXXX");
	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(conf, sizeof(conf), "%s/lightchat.conf", dir);
	test_defaults();
	test_file_and_env();
	test_errors();
	test_paths_and_keys();
	test_get_and_list();
	test_prefix();
	test_sections();
	test_budgets();
	test_worker_id();
	clear_env();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	UNIT_EXIT();
}
