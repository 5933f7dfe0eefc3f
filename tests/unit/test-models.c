/* test-models.c - unit tests of lib/models.c: the sections' keys parsed
 * strictly, the bounds, the built-in rules per family and the sysadmin's
 * overrides, globs, routing (without a discovery record: live NULL) and
 * the order of models_each. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "models.h"
#include "unit.h"

static char err[MODELS_ERR_MAX];

static int
set(struct lc_models *mt, const char *kind, const char *name,
    const char *key, const char *value)
{
	err[0] = '\0';
	return models_set(mt, kind, name, key, value, "t.conf:7", err);
}

/* models_set must fail with want in its message (and the origin). */
static void
expect_set_err(const char *kind, const char *name, const char *key,
    const char *value, const char *want, const char *label)
{
	struct lc_models *mt = models_new();
	int rc = set(mt, kind, name, key, value);
	int ok = rc == -1 && strstr(err, want) != NULL &&
	    strstr(err, "t.conf:7") != NULL;

	CHECK(ok, label);
	if (!ok)
		printf("#   rc %d err \"%s\" (want \"%s\")\n", rc, err, want);
	models_free(mt);
}

static int
finish_flat(struct lc_models *mt, bool flat, const char *models)
{
	err[0] = '\0';
	return models_finish(mt, flat, "https://api.openai.com/v1", "sk-x",
	    models, 10, 120, 1800, err);
}

static void
test_glob(void)
{
	CHECK(models_glob("*", ""), "glob: * matches empty");
	CHECK(models_glob("*", "anything"), "glob: * matches all");
	CHECK(models_glob("o3*", "o3-mini"), "glob: o3* matches o3-mini");
	CHECK(models_glob("o3*", "o3"), "glob: o3* matches o3");
	CHECK(!models_glob("o3*", "gpt-o3"), "glob: anchored at the start");
	CHECK(models_glob("gpt-?o", "gpt-4o"), "glob: ? one byte");
	CHECK(!models_glob("gpt-?o", "gpt-4-o"), "glob: ? not two bytes");
	CHECK(models_glob("*:*b", "llama3.2:1b"), "glob: two stars");
	CHECK(models_glob("a*b*c", "aXbYbZc"), "glob: backtracking");
	CHECK(!models_glob("a*b*c", "aXbYbZ"), "glob: anchored at the end");
	CHECK(models_glob("qwen/*", "qwen/qwen3-32b"), "glob: slash literal");
	CHECK(!models_glob("", "x"), "glob: empty matches only empty");
	CHECK(models_glob("llama3.2:1b", "llama3.2:1b"), "glob: literal");
	CHECK(!models_glob("llama3.2:1b", "llama3.2:1"), "glob: literal whole");
}

static void
test_set_errors(void)
{
	expect_set_err("upstream", "Open", "label", "x", "a-z",
	    "upstream name with an upper-case letter refused");
	expect_set_err("upstream", "a.b", "label", "x", "a-z",
	    "upstream name with a dot refused");
	expect_set_err("upstream", "abcdefghijklmnopqrstuvwxyz0123456", NULL,
	    NULL, "a-z", "33-byte upstream name refused");
	expect_set_err("upstream", "x", "colour", "red", "unknown key 'colour'",
	    "unknown upstream key refused");
	expect_set_err("upstream", "x", "base_url", "ftp://h/v1", "base_url",
	    "base_url ftp:// refused");
	expect_set_err("upstream", "x", "base_url", "http:///v1", "base_url",
	    "base_url without a host refused");
	expect_set_err("upstream", "x", "base_url", "http://h /v1", "base_url",
	    "base_url with a blank refused");
	expect_set_err("upstream", "x", "discover", "maybe", "true or false",
	    "discover not a boolean refused");
	expect_set_err("upstream", "x", "discover_interval", "0",
	    "discover_interval must be an integer",
	    "discover_interval 0 refused");
	expect_set_err("upstream", "x", "discover_interval", "86401",
	    "discover_interval must be an integer",
	    "discover_interval over a day refused");
	expect_set_err("upstream", "x", "discover_interval", "60s",
	    "discover_interval must be an integer",
	    "discover_interval with a unit refused");
	expect_set_err("upstream", "x", "connect_timeout", "0", "1 to 600",
	    "connect_timeout 0 refused");
	expect_set_err("upstream", "x", "idle_timeout", "3601", "1 to 3600",
	    "idle_timeout over 3600 refused");
	expect_set_err("upstream", "x", "total_timeout", "", "1 to 86400",
	    "empty total_timeout refused");
	expect_set_err("upstream", "x", "auth", "basic", "bearer or api-key",
	    "auth basic refused");
	expect_set_err("upstream", "x", "stream_options", "maybe",
	    "auto, on or off", "stream_options maybe refused");
	expect_set_err("upstream", "x", "api_version", "2024-10-21&x=y",
	    "api_version", "api_version with & refused (it goes in the URL)");
	expect_set_err("upstream", "x", "api_key_file", "key.txt", "absolute",
	    "relative api_key_file refused");
	expect_set_err("upstream", "x", "models", "a,b c", "not a model name",
	    "model name with a blank refused");
	expect_set_err("model", "o3 *", NULL, NULL, "pattern",
	    "model pattern with a blank refused");
	expect_set_err("model", "o3*", "omit", "temperature,seed", "omit",
	    "omit of an unknown parameter refused");
	expect_set_err("model", "o3*", "reasoning_effort", "low,extreme",
	    "reasoning_effort", "unknown effort refused");
	expect_set_err("model", "o3*", "system_role", "root", "system_role",
	    "system_role root refused");
	expect_set_err("model", "o3*", "max_tokens_param", "max_output_tokens",
	    "max_tokens_param", "max_tokens_param unknown name refused");
	expect_set_err("model", "o3*", "max_tokens_limit", "-1", "0 to",
	    "negative max_tokens_limit refused");
	expect_set_err("model", "o3*", "think", "maybe", "auto, open or off",
	    "think maybe refused");
	expect_set_err("model", "o3*", "upstream", "Bad", "upstream name",
	    "rule upstream with a bad name refused");
	expect_set_err("model", "o3*", "label", "x", "unknown key 'label'",
	    "upstream key in a [model] section refused");
	expect_set_err("server", "x", "label", "x", "unknown section",
	    "unknown section kind refused");

	/* The api key: its value never in the error. */
	struct lc_models *mt = models_new();
	CHECK(set(mt, "upstream", "x", "api_key", "sk-se cret") == -1 &&
	    strstr(err, "sk-se") == NULL, "bad api_key: the error holds no key");
	models_free(mt);
}

static void
test_bounds(void)
{
	struct lc_models *mt = models_new();
	char name[40], big[MODELS_MODEL_MAX + 2];
	int rc = 0;

	for (int i = 0; i < MODELS_UPSTREAMS_MAX && rc == 0; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		rc = set(mt, "upstream", name, "discover", "true");
	}
	CHECK(rc == 0 && models_upstream_count(mt) == MODELS_UPSTREAMS_MAX,
	    "bounds: MODELS_UPSTREAMS_MAX upstreams taken");
	CHECK(set(mt, "upstream", "one-more", "discover", "true") == -1 &&
	    strstr(err, "more than 16 [upstream]") != NULL,
	    "bounds: one more upstream refused");
	CHECK(set(mt, "upstream", "u3", "label", "again") == 0,
	    "bounds: a section named again is the same upstream");
	for (int i = 0; i < MODELS_RULES_MAX && rc == 0; i++) {
		snprintf(name, sizeof(name), "m%d*", i);
		rc = set(mt, "model", name, "images", "true");
	}
	CHECK(rc == 0, "bounds: MODELS_RULES_MAX rules taken");
	CHECK(set(mt, "model", "more*", "images", "true") == -1 &&
	    strstr(err, "more than 64 [model]") != NULL,
	    "bounds: one more rule refused");
	CHECK(set(mt, "upstream", "default", NULL, NULL) == -1,
	    "bounds: no room left");
	CHECK(finish_flat(mt, true, "a") == -1 && strstr(err, "more than") !=
	    NULL, "bounds: no room for the flat upstream");
	models_free(mt);

	mt = models_new();
	memset(big, 'm', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(set(mt, "upstream", "x", "models", big) == -1,
	    "bounds: a 129-byte model name refused");
	big[MODELS_MODEL_MAX] = '\0';
	CHECK(set(mt, "upstream", "x", "models", big) == 0,
	    "bounds: a 128-byte model name taken");
	CHECK(set(mt, "model", big, "images", "true") == 0,
	    "bounds: a 128-byte pattern taken");
	models_free(mt);
}

static void
test_finish(void)
{
	struct lc_models *mt = models_new();
	const struct lc_upstream *u;

	/* The flat keys alone: the upstream "default". */
	CHECK(finish_flat(mt, true, "gpt-4o-mini, gpt-4o") == 0,
	    "finish: flat only");
	CHECK(models_upstream_count(mt) == 1 &&
	    (u = models_upstream(mt, 0)) != NULL &&
	    strcmp(u->name, "default") == 0 &&
	    strcmp(u->base_url, "https://api.openai.com/v1") == 0 &&
	    strcmp(u->api_key, "sk-x") == 0 &&
	    strcmp(u->models, "gpt-4o-mini,gpt-4o") == 0 &&
	    u->connect_timeout == 10 && u->idle_timeout == 120 &&
	    u->total_timeout == 1800 && u->auth == MODELS_AUTH_BEARER &&
	    u->stream_options == MODELS_SO_AUTO && !u->discover,
	    "finish: the flat upstream's values");
	CHECK(models_upstream(mt, 1) == NULL, "finish: no upstream 1");
	CHECK(set(mt, "upstream", "late", "label", "x") == -1,
	    "finish: no section after the end");
	models_free(mt);

	mt = models_new();
	CHECK(finish_flat(mt, false, "") == -1 && strstr(err, "no upstream"),
	    "finish: no upstream at all refused");
	models_free(mt);

	mt = models_new();
	set(mt, "upstream", "ollama", "label", "Ollama");
	CHECK(finish_flat(mt, false, "") == -1 &&
	    strstr(err, "needs a base_url") != NULL &&
	    strstr(err, "t.conf:7") != NULL,
	    "finish: a section without base_url refused, at its header");
	models_free(mt);

	mt = models_new();
	set(mt, "upstream", "ollama", "base_url", "http://127.0.0.1:11434/v1");
	CHECK(finish_flat(mt, false, "") == -1 &&
	    strstr(err, "serves no model") != NULL,
	    "finish: neither models nor discover refused");
	models_free(mt);

	mt = models_new();
	set(mt, "upstream", "ollama", "base_url", "http://127.0.0.1:11434/v1");
	set(mt, "upstream", "ollama", "discover", "true");
	set(mt, "upstream", "ollama", "idle_timeout", "600");
	set(mt, "model", "llama*", "upstream", "olama");
	CHECK(finish_flat(mt, false, "") == -1 &&
	    strstr(err, "no [upstream olama]") != NULL,
	    "finish: a rule naming an unknown upstream refused");
	models_free(mt);

	mt = models_new();
	set(mt, "upstream", "ollama", "base_url", "http://127.0.0.1:11434/v1");
	set(mt, "upstream", "ollama", "discover", "true");
	set(mt, "upstream", "ollama", "idle_timeout", "600");
	CHECK(finish_flat(mt, false, "") == 0 &&
	    (u = models_upstream(mt, 0)) != NULL &&
	    strcmp(u->label, "ollama") == 0 && u->api_key[0] == '\0' &&
	    u->idle_timeout == 600 && u->connect_timeout == 10 &&
	    u->total_timeout == 1800 && u->discover_interval == 300,
	    "finish: label defaults to the name, unset timeouts the flat ones");
	CHECK(finish_flat(mt, false, "") == -1, "finish: only once");
	models_free(mt);

	mt = models_new();
	set(mt, "upstream", "default", "base_url", "http://h/v1");
	set(mt, "upstream", "default", "models", "a");
	CHECK(finish_flat(mt, true, "b") == -1 &&
	    strstr(err, "both define") != NULL,
	    "finish: [upstream default] and flat keys together refused");
	models_free(mt);

	mt = models_new();
	set(mt, "upstream", "ollama", "base_url", "http://h/v1");
	set(mt, "upstream", "ollama", "models", "llama3.2:1b");
	CHECK(finish_flat(mt, true, "gpt-4o") == 0 &&
	    strcmp(models_upstream(mt, 0)->name, "default") == 0 &&
	    strcmp(models_upstream(mt, 1)->name, "ollama") == 0 &&
	    models_upstream_find(mt, "ollama") == 1 &&
	    models_upstream_find(mt, "nope") == -1,
	    "finish: the flat upstream comes first");
	models_free(mt);

	mt = models_new();
	CHECK(finish_flat(mt, true, "") == -1 &&
	    strstr(err, "models is empty") != NULL,
	    "finish: flat upstream without models refused");
	models_free(mt);
}

static void
test_key_file(void)
{
	char path[] = "/tmp/test-models-key-XXXXXX";
	int fd = mkstemp(path);
	struct lc_models *mt;

	CHECK(fd >= 0 && write(fd, "  sk-from-file \n", 16) == 16,
	    "key file: written");
	close(fd);
	chmod(path, 0600);
	mt = models_new();
	set(mt, "upstream", "openai", "base_url", "https://api.openai.com/v1");
	set(mt, "upstream", "openai", "models", "gpt-4o");
	set(mt, "upstream", "openai", "api_key_file", path);
	CHECK(finish_flat(mt, false, "") == 0 &&
	    strcmp(models_upstream(mt, 0)->api_key, "sk-from-file") == 0,
	    "key file: 0600 read, blanks trimmed");
	models_free(mt);

	mt = models_new();
	set(mt, "upstream", "openai", "base_url", "https://api.openai.com/v1");
	set(mt, "upstream", "openai", "models", "gpt-4o");
	set(mt, "upstream", "openai", "api_key_file", path);
	set(mt, "upstream", "openai", "api_key", "sk-outright");
	CHECK(finish_flat(mt, false, "") == 0 &&
	    strcmp(models_upstream(mt, 0)->api_key, "sk-outright") == 0,
	    "key file: a key given outright wins");
	models_free(mt);

	chmod(path, 0644);
	mt = models_new();
	set(mt, "upstream", "openai", "base_url", "https://api.openai.com/v1");
	set(mt, "upstream", "openai", "models", "gpt-4o");
	set(mt, "upstream", "openai", "api_key_file", path);
	CHECK(finish_flat(mt, false, "") == -1 &&
	    strstr(err, "0600") != NULL && strstr(err, "sk-") == NULL,
	    "key file: 0644 refused, no key in the error");
	models_free(mt);

	/* A key longer than KEYFILE_MAX: refused, not cut short. */
	char big[1100];
	memset(big, 'k', sizeof(big));
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, big, sizeof(big)) == (ssize_t)sizeof(big),
	    "key file: a long key written");
	close(fd);
	chmod(path, 0600);
	mt = models_new();
	set(mt, "upstream", "openai", "base_url", "https://api.openai.com/v1");
	set(mt, "upstream", "openai", "models", "gpt-4o");
	set(mt, "upstream", "openai", "api_key_file", path);
	CHECK(finish_flat(mt, false, "") == -1 &&
	    strstr(err, "longer than 1024") != NULL && strstr(err, "kkk") == NULL,
	    "key file: a key over 1024 bytes refused, not in the error");
	models_free(mt);
	unlink(path);

	mt = models_new();
	set(mt, "upstream", "openai", "base_url", "https://api.openai.com/v1");
	set(mt, "upstream", "openai", "models", "gpt-4o");
	set(mt, "upstream", "openai", "api_key_file", path);
	CHECK(finish_flat(mt, false, "") == -1 &&
	    strstr(err, "No such file") != NULL, "key file: missing refused");
	models_free(mt);
}

static void
test_env(void)
{
	struct lc_models *mt = models_new();

	set(mt, "upstream", "my-llm", "base_url", "http://h/v1");
	set(mt, "upstream", "my-llm", "models", "a");
	setenv("LIGHTCHAT_UPSTREAM_MY_LLM_API_KEY", "sk-env", 1);
	setenv("LIGHTCHAT_UPSTREAM_MY_LLM_BASE_URL", "http://other/v1", 1);
	setenv("LIGHTCHAT_UPSTREAM_NOBODY_BASE_URL", "http://x/v1", 1);
	CHECK(models_env(mt, err) == 0 && finish_flat(mt, false, "") == 0,
	    "env: applied");
	CHECK(strcmp(models_upstream(mt, 0)->api_key, "sk-env") == 0 &&
	    strcmp(models_upstream(mt, 0)->base_url, "http://other/v1") == 0,
	    "env: LIGHTCHAT_UPSTREAM_<NAME>_<KEY>, '-' as '_'");
	CHECK(models_upstream_count(mt) == 1,
	    "env: does not make an upstream the file does not name");
	models_free(mt);
	mt = models_new();
	set(mt, "upstream", "my-llm", "base_url", "http://h/v1");
	setenv("LIGHTCHAT_UPSTREAM_MY_LLM_DISCOVER", "perhaps", 1);
	CHECK(models_env(mt, err) == -1 &&
	    strstr(err, "LIGHTCHAT_UPSTREAM_MY_LLM_DISCOVER") != NULL,
	    "env: a bad value names the variable");
	models_free(mt);
	unsetenv("LIGHTCHAT_UPSTREAM_MY_LLM_API_KEY");
	unsetenv("LIGHTCHAT_UPSTREAM_MY_LLM_BASE_URL");
	unsetenv("LIGHTCHAT_UPSTREAM_MY_LLM_DISCOVER");
	unsetenv("LIGHTCHAT_UPSTREAM_NOBODY_BASE_URL");
}

#define E(x) (1u << MODELS_E_##x)
#define P(x) (1u << MODELS_P_##x)
#define SAMPLING (P(TEMPERATURE) | P(TOP_P) | P(FREQUENCY_PENALTY) | \
    P(PRESENCE_PENALTY))

struct family {
	const char *name;
	bool mct;
	unsigned omit, efforts;
	enum models_role role;
	bool images;
};

static void
test_builtin(void)
{
	static const struct family fam[] = {
		{ "o1-mini", true, SAMPLING, 0, MODELS_ROLE_USER, false },
		{ "o1-mini-2024-09-12", true, SAMPLING, 0, MODELS_ROLE_USER,
		  false },
		{ "o1-preview", true, SAMPLING, 0, MODELS_ROLE_USER, false },
		{ "o1", true, SAMPLING, E(LOW) | E(MEDIUM) | E(HIGH),
		  MODELS_ROLE_DEVELOPER, true },
		{ "o3", true, SAMPLING, E(LOW) | E(MEDIUM) | E(HIGH),
		  MODELS_ROLE_DEVELOPER, true },
		{ "o3-mini", true, SAMPLING, E(LOW) | E(MEDIUM) | E(HIGH),
		  MODELS_ROLE_DEVELOPER, false },
		{ "o4-mini", true, SAMPLING, E(LOW) | E(MEDIUM) | E(HIGH),
		  MODELS_ROLE_DEVELOPER, true },
		{ "gpt-5", true, SAMPLING,
		  E(MINIMAL) | E(LOW) | E(MEDIUM) | E(HIGH),
		  MODELS_ROLE_DEVELOPER, true },
		{ "gpt-5-mini", true, SAMPLING,
		  E(MINIMAL) | E(LOW) | E(MEDIUM) | E(HIGH),
		  MODELS_ROLE_DEVELOPER, true },
		{ "gpt-5.1", true, SAMPLING, E(NONE) | E(LOW) | E(MEDIUM) |
		  E(HIGH), MODELS_ROLE_DEVELOPER, true },
		{ "gpt-5.2-pro", true, SAMPLING, E(NONE) | E(LOW) | E(MEDIUM) |
		  E(HIGH), MODELS_ROLE_DEVELOPER, true },
		{ "gpt-5-chat-latest", true, SAMPLING, 0, MODELS_ROLE_DEVELOPER,
		  true },
		{ "gpt-4o", false, 0, 0, MODELS_ROLE_SYSTEM, true },
		{ "gpt-4o-mini", false, 0, 0, MODELS_ROLE_SYSTEM, true },
		{ "gpt-4.1-mini", false, 0, 0, MODELS_ROLE_SYSTEM, true },
		{ "gpt-3.5-turbo", false, 0, 0, MODELS_ROLE_SYSTEM, false },
		{ "llama3.2:1b", false, 0, 0, MODELS_ROLE_SYSTEM, false },
		{ "openai/o3-mini", true, SAMPLING, E(LOW) | E(MEDIUM) | E(HIGH),
		  MODELS_ROLE_DEVELOPER, false },
		{ "openai/gpt-5", true, SAMPLING,
		  E(MINIMAL) | E(LOW) | E(MEDIUM) | E(HIGH),
		  MODELS_ROLE_DEVELOPER, true },
	};
	struct lc_models *mt = models_new();
	struct lc_model_info mi;
	char label[160];

	finish_flat(mt, true, "x");
	for (size_t i = 0; i < sizeof(fam) / sizeof(fam[0]); i++) {
		models_info(mt, fam[i].name, 0, &mi);
		snprintf(label, sizeof(label), "built-in: %s's quirks",
		    fam[i].name);
		int ok = mi.upstream == 0 && mi.max_completion_tokens ==
		    fam[i].mct && mi.omit == fam[i].omit &&
		    mi.efforts == fam[i].efforts &&
		    mi.system_role == fam[i].role && mi.images == fam[i].images &&
		    mi.max_tokens_limit == 0 && mi.think == MODELS_THINK_AUTO;
		CHECK(ok, label);
		if (!ok)
			printf("#   mct %d omit %#x efforts %#x role %d images %d\n",
			    mi.max_completion_tokens, mi.omit, mi.efforts,
			    mi.system_role, mi.images);
	}
	models_free(mt);
}

static void
test_overrides(void)
{
	struct lc_models *mt = models_new();
	struct lc_model_info mi;

	/* Field by field: the first matching rule that sets a field. */
	set(mt, "model", "o3-mini-high", "reasoning_effort", "high");
	set(mt, "model", "o3*", "max_tokens_limit", "100000");
	set(mt, "model", "o3*", "omit", "");
	set(mt, "model", "deepseek-r1*", "think", "open");
	set(mt, "model", "deepseek-r1*", "max_tokens_param", "max_tokens");
	set(mt, "model", "*", "max_tokens_limit", "8192");
	finish_flat(mt, true, "x");
	models_info(mt, "o3-mini-high", 0, &mi);
	CHECK(mi.efforts == E(HIGH) && mi.max_tokens_limit == 100000 &&
	    mi.omit == 0 && mi.max_completion_tokens &&
	    mi.system_role == MODELS_ROLE_DEVELOPER && !mi.images,
	    "overrides: each field from the first rule setting it");
	models_info(mt, "deepseek-r1:8b", 0, &mi);
	CHECK(mi.think == MODELS_THINK_OPEN && !mi.max_completion_tokens &&
	    mi.max_tokens_limit == 8192, "overrides: a local model's rules");
	models_info(mt, "gpt-4o", 0, &mi);
	CHECK(mi.max_tokens_limit == 8192 && mi.images,
	    "overrides: a catch-all rule and a built-in one together");
	models_free(mt);
}

static void
test_effort_map(void)
{
	unsigned o = E(LOW) | E(MEDIUM) | E(HIGH);
	unsigned g5 = E(MINIMAL) | E(LOW) | E(MEDIUM) | E(HIGH);
	unsigned g51 = E(NONE) | E(LOW) | E(MEDIUM) | E(HIGH);

	CHECK(models_effort_map(o, MODELS_E_MEDIUM) == MODELS_E_MEDIUM,
	    "effort: taken as it is");
	CHECK(models_effort_map(o, MODELS_E_NONE) == MODELS_E_LOW,
	    "effort: none on o3 -> low");
	CHECK(models_effort_map(o, MODELS_E_MINIMAL) == MODELS_E_LOW,
	    "effort: minimal on o3 -> low");
	CHECK(models_effort_map(o, MODELS_E_XHIGH) == MODELS_E_HIGH,
	    "effort: xhigh on o3 -> high");
	CHECK(models_effort_map(g5, MODELS_E_NONE) == MODELS_E_MINIMAL,
	    "effort: none on gpt-5 -> minimal");
	CHECK(models_effort_map(g51, MODELS_E_MINIMAL) == MODELS_E_LOW,
	    "effort: minimal on gpt-5.1 -> low (a tie goes to the higher)");
	CHECK(models_effort_map(E(NONE) | E(HIGH), MODELS_E_MEDIUM) ==
	    MODELS_E_HIGH, "effort: medium between none and high -> high");
	CHECK(models_effort_map(0, MODELS_E_LOW) == -1,
	    "effort: a model taking none -> dropped");
	CHECK(models_effort_map(o, 99) == -1 && models_effort_map(o, -1) == -1,
	    "effort: out of range -> dropped");
	CHECK(strcmp(models_effort_name(MODELS_E_XHIGH), "xhigh") == 0 &&
	    models_effort_name(MODELS_E__COUNT) == NULL &&
	    strcmp(models_param_name(MODELS_P_TOP_P), "top_p") == 0 &&
	    models_param_name(MODELS_P__COUNT) == NULL, "names and their end");
}

struct seen {
	char names[16][MODELS_MODEL_MAX + 1];
	int ups[16];
	int n, stop_at;
};

static int
collect(void *arg, const char *name, int upstream)
{
	struct seen *s = arg;

	if (s->n < 16) {
		snprintf(s->names[s->n], sizeof(s->names[0]), "%s", name);
		s->ups[s->n] = upstream;
	}
	s->n++;
	return s->n == s->stop_at ? 7 : 0;
}

static void
test_route(void)
{
	struct lc_models *mt = models_new();
	struct seen s = { .n = 0 };

	set(mt, "upstream", "ollama", "base_url", "http://127.0.0.1:11434/v1");
	set(mt, "upstream", "ollama", "models",
	    "llama3.2:1b, qwen/qwen3-32b,gpt-4o,shared");
	set(mt, "upstream", "router", "base_url", "https://router.example/v1");
	set(mt, "upstream", "router", "models", "shared,llama3.2:1b,r1");
	set(mt, "model", "shared", "upstream", "router");
	set(mt, "model", "my-deploy", "upstream", "router");
	set(mt, "model", "r*", "upstream", "ollama");
	CHECK(finish_flat(mt, true, "gpt-4o-mini,gpt-4o") == 0,
	    "route: table made");
	CHECK(models_route(mt, NULL, "gpt-4o-mini") == 0,
	    "route: a flat model to default");
	CHECK(models_route(mt, NULL, "gpt-4o") == 0,
	    "route: the first upstream listing it");
	CHECK(models_route(mt, NULL, "llama3.2:1b") == 1,
	    "route: a name with a colon");
	CHECK(models_route(mt, NULL, "qwen/qwen3-32b") == 1,
	    "route: a name with a slash");
	CHECK(models_route(mt, NULL, "shared") == 2,
	    "route: a rule's upstream listing it wins");
	CHECK(models_route(mt, NULL, "my-deploy") == 2,
	    "route: a rule whose pattern is the literal name");
	CHECK(models_route(mt, NULL, "r1") == 2,
	    "route: a rule's upstream not offering it: the first that does");
	CHECK(models_route(mt, NULL, "rx") == -1,
	    "route: a glob rule alone offers nothing");
	CHECK(models_route(mt, NULL, "gpt-4") == -1 &&
	    models_route(mt, NULL, "") == -1 &&
	    models_route(mt, NULL, "gpt-4o,gpt-4o-mini") == -1,
	    "route: unknown, empty, a list: nobody");

	models_each(mt, NULL, collect, &s);
	CHECK(s.n == 6, "each: every model once");
	CHECK(s.n == 6 && strcmp(s.names[0], "gpt-4o-mini") == 0 &&
	    s.ups[0] == 0 && strcmp(s.names[1], "gpt-4o") == 0 &&
	    s.ups[1] == 0 && strcmp(s.names[2], "llama3.2:1b") == 0 &&
	    s.ups[2] == 1 && strcmp(s.names[3], "qwen/qwen3-32b") == 0 &&
	    strcmp(s.names[4], "shared") == 0 && s.ups[4] == 2 &&
	    strcmp(s.names[5], "r1") == 0 && s.ups[5] == 2,
	    "each: in order, with the routed upstream");
	memset(&s, 0, sizeof(s));
	s.stop_at = 2;
	CHECK(models_each(mt, NULL, collect, &s) == 7 && s.n == 2,
	    "each: stops when fn says so, returning its value");
	models_free(mt);

	mt = models_new();
	set(mt, "upstream", "a", "base_url", "http://a/v1");
	set(mt, "upstream", "a", "models", "x,y,x,z,y");
	set(mt, "upstream", "b", "base_url", "http://b/v1");
	set(mt, "upstream", "b", "models", "z,w");
	finish_flat(mt, false, "");
	memset(&s, 0, sizeof(s));
	models_each(mt, NULL, collect, &s);
	CHECK(s.n == 4 && strcmp(s.names[0], "x") == 0 &&
	    strcmp(s.names[1], "y") == 0 && strcmp(s.names[2], "z") == 0 &&
	    s.ups[2] == 0 && strcmp(s.names[3], "w") == 0 && s.ups[3] == 1,
	    "each: a name twice in one list, and in two, offered once");
	models_free(mt);
}

/* Prices (issue 16): money per million tokens, micro-units, -1 without;
 * a rule sets both or neither. */
static void
test_prices(void)
{
	struct lc_models *mt = models_new();
	struct lc_model_info mi;

	CHECK(set(mt, "model", "gpt-4o", "price_input", "2.50") == 0 &&
	    set(mt, "model", "gpt-4o", "price_output", "10") == 0 &&
	    set(mt, "model", "gpt-4o*", "price_input", "0.15") == 0 &&
	    set(mt, "model", "gpt-4o*", "price_output", "0.600000") == 0 &&
	    set(mt, "model", "llama*", "price_input", "0") == 0 &&
	    set(mt, "model", "llama*", "price_output", "0") == 0 &&
	    finish_flat(mt, true, "gpt-4o,gpt-4o-mini,llama3,o3") == 0,
	    "prices: rules take them");
	models_info(mt, "gpt-4o", 0, &mi);
	CHECK(mi.price_in == 2500000 && mi.price_out == 10000000,
	    "prices: in micro-units per million tokens");
	models_info(mt, "gpt-4o-mini", 0, &mi);
	CHECK(mi.price_in == 150000 && mi.price_out == 600000,
	    "prices: from the first rule setting them");
	models_info(mt, "llama3", 0, &mi);
	CHECK(mi.price_in == 0 && mi.price_out == 0, "prices: a free model: 0");
	models_info(mt, "o3", 0, &mi);
	CHECK(mi.price_in == -1 && mi.price_out == -1,
	    "prices: none set: -1 (no built-in prices)");
	models_free(mt);

	mt = models_new();
	CHECK(set(mt, "model", "x*", "price_input", "1") == 0 &&
	    finish_flat(mt, true, "x1") == -1 &&
	    strstr(err, "price_input without price_output") != NULL,
	    "prices: a rule with one price refused at finish");
	models_free(mt);
	mt = models_new();
	CHECK(set(mt, "model", "x*", "price_output", "1") == 0 &&
	    finish_flat(mt, true, "x1") == -1 &&
	    strstr(err, "price_output without price_input") != NULL,
	    "prices: and the other way");
	models_free(mt);
	expect_set_err("model", "x*", "price_input", "-1", "price_input must be",
	    "prices: negative refused");
	expect_set_err("model", "x*", "price_output", "2,50", "price_output must "
	    "be", "prices: a comma refused");
	expect_set_err("model", "x*", "price_input", "1000000.000001",
	    "price_input must be", "prices: over a million refused");
	expect_set_err("model", "x*", "price_input", "0.0000001",
	    "price_input must be", "prices: 7 decimals refused");
}

int
main(void)
{
	test_glob();
	test_set_errors();
	test_bounds();
	test_finish();
	test_key_file();
	test_env();
	test_builtin();
	test_overrides();
	test_effort_map();
	test_route();
	test_prices();
	UNIT_EXIT();
}
