/* test-models_live.c - unit tests of what discovery saw (lib/models_live.c:
 * set, fail, the allow list, the file written and read back, bad files),
 * of discovery's parser of GET /models bodies (worker/discover.c's
 * discover_parse, no libcurl transfer) and of the upstream URLs and auth
 * headers (worker/upstream_http.c). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "discover.h"
#include "models.h"
#include "models_live.h"
#include "unit.h"
#include "upstream_http.h"

static char dir[] = "/tmp/test-models_live.XXXXXX";

/* A table of three upstreams: "default" (flat, no discovery), "ollama"
 * (discovers llama* and qwen*), "router" (discovers every model). */
static struct lc_models *
table(void)
{
	struct lc_models *mt = models_new();
	char err[MODELS_ERR_MAX];
	int bad = 0;

	bad |= models_set(mt, "upstream", "ollama", "base_url",
	    "http://127.0.0.1:11434/v1", "t:1", err);
	bad |= models_set(mt, "upstream", "ollama", "discover", "true",
	    "t:2", err);
	bad |= models_set(mt, "upstream", "ollama", "discover_allow",
	    "llama*, qwen*", "t:3", err);
	bad |= models_set(mt, "upstream", "router", "base_url",
	    "http://127.0.0.1:8080/v1", "t:4", err);
	bad |= models_set(mt, "upstream", "router", "discover", "true",
	    "t:5", err);
	bad |= models_finish(mt, true, "http://127.0.0.1:9/v1", "", "gpt-4o",
	    10, 120, 1800, err);
	if (bad) {
		printf("# table: %s\n", err);
		models_free(mt);
		return NULL;
	}
	return mt;
}

static void
write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (f != NULL) {
		fputs(text, f);
		fclose(f);
	}
}

static void
test_set_fail(struct lc_models *mt)
{
	struct models_live *live = models_live_new(mt);
	int ol = models_upstream_find(mt, "ollama");
	const char *names[] = { "llama3.2:1b", "mistral:7b", "qwen/qwen3-32b",
	    "llama3.2:1b", "", NULL };
	const char *error = NULL;
	time_t checked = 1;
	bool ok = false;

	CHECK(live != NULL && ol >= 0, "live: made");
	models_live_state(live, (size_t)ol, &ok, &error, &checked);
	CHECK(ok && checked == 0 && strcmp(error, "") == 0,
	    "live: never listed is ok, checked 0");
	CHECK(models_live_set(live, (size_t)ol, names, 6, 1000) == 0,
	    "live: set");
	CHECK(models_live_count(live, (size_t)ol) == 2,
	    "live: the allow list and repeats applied (2 kept)");
	CHECK_STR(models_live_name(live, (size_t)ol, 0), "llama3.2:1b",
	    "live: listing order kept (0)");
	CHECK_STR(models_live_name(live, (size_t)ol, 1), "qwen/qwen3-32b",
	    "live: listing order kept (1)");
	CHECK(!models_live_has(live, (size_t)ol, "mistral:7b"),
	    "live: a model the allow list refuses is not held");
	CHECK(models_route(mt, live, "qwen/qwen3-32b") == ol,
	    "live: a discovered model routes to its upstream");
	CHECK(models_route(mt, NULL, "qwen/qwen3-32b") == -1,
	    "live: without the record it is not offered");
	models_live_fail(live, (size_t)ol, "GET /models: HTTP 500", 2000);
	models_live_state(live, (size_t)ol, &ok, &error, &checked);
	CHECK(!ok && checked == 2000, "live: a failure is recorded");
	CHECK_STR(error, "GET /models: HTTP 500", "live: with its reason");
	CHECK(models_live_count(live, (size_t)ol) == 2,
	    "live: a failure keeps the old list");
	CHECK(models_live_set(live, (size_t)ol, names, 1, 3000) == 0,
	    "live: set again");
	models_live_state(live, (size_t)ol, &ok, &error, &checked);
	CHECK(ok && strcmp(error, "") == 0 && checked == 3000 &&
	    models_live_count(live, (size_t)ol) == 1,
	    "live: a good listing clears the failure and replaces the list");
	CHECK(models_live_count(live, 99) == 0 &&
	    models_live_name(live, 99, 0) == NULL &&
	    !models_live_has(NULL, 0, "x"), "live: out of range is empty");
	models_live_state(NULL, 0, &ok, &error, &checked);
	CHECK(ok && checked == 0, "live: NULL record: ok, never listed");
	models_live_free(live);
	models_live_free(NULL);
}

static void
test_limits(struct lc_models *mt)
{
	struct models_live *live = models_live_new(mt);
	int r = models_upstream_find(mt, "router");
	static char long_name[MODELS_MODEL_MAX + 2];
	const char **many = calloc(MODELS_LIVE_MAX + 10, sizeof(*many));
	char (*store)[16] = calloc(MODELS_LIVE_MAX + 10, sizeof(*store));

	memset(long_name, 'a', sizeof(long_name) - 1);
	for (size_t i = 0; i < MODELS_LIVE_MAX + 10; i++) {
		snprintf(store[i], sizeof(store[i]), "m%zu", i);
		many[i] = store[i];
	}
	many[0] = long_name;
	many[1] = "bad\nname";
	many[2] = "with space";
	many[3] = "a,b";
	many[4] = "bad\xa9utf8";
	CHECK(models_live_set(live, (size_t)r, many, MODELS_LIVE_MAX + 10,
	    5) == 0, "limits: set");
	CHECK(models_live_count(live, (size_t)r) == MODELS_LIVE_MAX,
	    "limits: at most MODELS_LIVE_MAX kept");
	CHECK(!models_live_has(live, (size_t)r, long_name),
	    "limits: a name longer than MODELS_MODEL_MAX is dropped");
	CHECK(!models_live_has(live, (size_t)r, "bad\nname"),
	    "limits: a name with a control character is dropped");
	CHECK(!models_live_has(live, (size_t)r, "with space") &&
	    !models_live_has(live, (size_t)r, "a,b"),
	    "limits: a name with a blank or a comma is dropped (models.c's rule)");
	CHECK(!models_live_has(live, (size_t)r, "bad\xa9utf8"),
	    "limits: a name that is not UTF-8 is dropped");
	free(many);
	free(store);
	models_live_free(live);
}

static void
test_file(struct lc_models *mt)
{
	struct models_live *live = models_live_new(mt), *back;
	int ol = models_upstream_find(mt, "ollama");
	int r = models_upstream_find(mt, "router");
	const char *a[] = { "llama3.2:1b", "qwen3:8b" };
	const char *b[] = { "qwen/qwen3-32b" };
	char path[256], bad[256];
	struct stat st;
	const char *error;
	time_t checked;
	bool ok;

	snprintf(path, sizeof(path), "%s/models.json", dir);
	snprintf(bad, sizeof(bad), "%s/bad.json", dir);
	models_live_set(live, (size_t)ol, a, 2, 1764650000);
	models_live_set(live, (size_t)r, b, 1, 1764650001);
	models_live_fail(live, (size_t)r, "GET /models: connection refused",
	    1764650002);
	umask(0);   /* the most open umask: the file is 0600 still */
	CHECK(models_live_write(live, path) == 0, "file: written");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	    "file: mode 0600 whatever the umask");
	CHECK(access(path, F_OK) == 0 &&
	    access("/nonexistent-dir/x", F_OK) != 0, "file: in place");
	snprintf(bad, sizeof(bad), "%s/models.json.tmp", dir);
	CHECK(access(bad, F_OK) != 0, "file: no temporary file left");

	back = models_live_new(mt);
	CHECK(models_live_read(back, path) == 0, "file: read back");
	CHECK(models_live_count(back, (size_t)ol) == 2 &&
	    models_live_has(back, (size_t)ol, "qwen3:8b"),
	    "file: round trip keeps the models");
	models_live_state(back, (size_t)r, &ok, &error, &checked);
	CHECK(!ok && checked == 1764650002 &&
	    models_live_has(back, (size_t)r, "qwen/qwen3-32b"),
	    "file: round trip keeps a failure and the stale list");
	CHECK_STR(error, "GET /models: connection refused",
	    "file: round trip keeps the reason");
	models_live_state(back, (size_t)ol, &ok, NULL, &checked);
	CHECK(ok && checked == 1764650000, "file: and the time");
	models_live_free(back);

	back = models_live_new(mt);
	snprintf(bad, sizeof(bad), "%s/missing.json", dir);
	CHECK(models_live_read(back, bad) == 0 &&
	    models_live_count(back, (size_t)ol) == 0,
	    "file: a missing file is an empty record");
	snprintf(bad, sizeof(bad), "%s/bad.json", dir);
	static const char *const bads[] = {
		"", "not json", "[]", "{\"upstreams\":{}}",
		"{\"upstreams\":[{\"name\":\"ollama\"}]}",
		"{\"upstreams\":[{\"name\":\"ollama\",\"ok\":1,\"error\":\"\","
		    "\"checked\":0,\"models\":[]}]}",
		"{\"upstreams\":[{\"name\":\"ollama\",\"ok\":true,\"error\":\"\","
		    "\"checked\":0,\"models\":[1]}]}",
		"{\"upstreams\":[]} trailing",
	};
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char name[64];
		write_file(bad, bads[i]);
		snprintf(name, sizeof(name), "file: bad file %zu refused", i);
		CHECK(models_live_read(back, bad) == -1, name);
	}
	CHECK(models_live_count(back, (size_t)ol) == 0,
	    "file: a bad file changes nothing");
	write_file(bad, "{\"upstreams\":[{\"name\":\"gone\",\"ok\":true,"
	    "\"error\":\"\",\"checked\":5,\"models\":[\"x\"]},"
	    "{\"name\":\"ollama\",\"ok\":true,\"error\":\"\",\"checked\":6,"
	    "\"models\":[\"llama3\",\"other\"]}]}\n");
	CHECK(models_live_read(back, bad) == 0 &&
	    models_live_count(back, (size_t)ol) == 1 &&
	    models_live_has(back, (size_t)ol, "llama3"),
	    "file: an unknown upstream skipped, the allow list applied");
	/* Larger than 1 MiB. */
	FILE *f = fopen(bad, "w");
	if (f != NULL) {
		fputs("{\"upstreams\":[]", f);
		for (int i = 0; i < 1100 * 1024; i++)
			fputc(' ', f);
		fputs("}", f);
		fclose(f);
	}
	errno = 0;
	CHECK(models_live_read(back, bad) == -1 && errno == EFBIG,
	    "file: larger than 1 MiB refused");
	models_live_free(back);
	CHECK(models_live_write(live, "/nonexistent-dir/models.json") == -1,
	    "file: an unwritable path fails");
	models_live_free(live);
}

static void
test_parse(void)
{
	struct discover_list l;
	char err[200];
	const char *openai = "{\"object\":\"list\",\"data\":[{\"id\":\"gpt-4o\","
	    "\"object\":\"model\"},{\"id\":\"o3-mini\"},{\"object\":\"model\"},"
	    "{\"id\":7}]}";
	const char *llama = "{\"models\":[{\"name\":\"qwen3.gguf\",\"model\":"
	    "\"qwen3.gguf\"},{\"model\":\"only-model\"}],\"object\":\"list\","
	    "\"data\":[{\"id\":\"qwen3.gguf\",\"owned_by\":\"llamacpp\","
	    "\"timings\":{}}]}";
	const char *router = "{\"data\":[{\"id\":\"a\",\"status\":{\"value\":"
	    "\"loaded\"}},{\"id\":\"b\",\"status\":{\"value\":\"unloaded\"}},"
	    "{\"id\":\"c\",\"status\":{\"value\":\"failed\"}},{\"id\":\"d\","
	    "\"status\":\"error\"}]}";

	CHECK(discover_parse(openai, strlen(openai), &l, err, sizeof(err)) ==
	    0 && l.n == 2 && strcmp(l.names[0], "gpt-4o") == 0 &&
	    strcmp(l.names[1], "o3-mini") == 0,
	    "parse: OpenAI's data, entries without a string id skipped");
	discover_list_free(&l);
	CHECK(discover_parse(llama, strlen(llama), &l, err, sizeof(err)) ==
	    0 && l.n == 2 && strcmp(l.names[0], "qwen3.gguf") == 0 &&
	    strcmp(l.names[1], "only-model") == 0,
	    "parse: llama.cpp's data and models arrays merged, once each");
	discover_list_free(&l);
	CHECK(discover_parse(router, strlen(router), &l, err, sizeof(err)) ==
	    0 && l.n == 2 && strcmp(l.names[1], "b") == 0,
	    "parse: router mode: failed entries left out, unloaded kept");
	discover_list_free(&l);
	CHECK(discover_parse("{\"data\":[]}", 11, &l, err, sizeof(err)) == 0 &&
	    l.n == 0, "parse: an empty list");
	discover_list_free(&l);
	CHECK(discover_parse("<html>", 6, &l, err, sizeof(err)) == -1 &&
	    l.n == 0 && strstr(err, "not a JSON object") != NULL,
	    "parse: not JSON");
	CHECK(discover_parse("{\"object\":\"list\"}", 17, &l, err,
	    sizeof(err)) == -1 && strstr(err, "no \"data\"") != NULL,
	    "parse: neither array");
	/* More than MODELS_LIVE_MAX entries: bounded. */
	size_t cap = 64 + (MODELS_LIVE_MAX + 50) * 16, n = 0;
	char *big = malloc(cap);
	n += (size_t)snprintf(big + n, cap - n, "{\"data\":[");
	for (int i = 0; i < MODELS_LIVE_MAX + 50; i++)
		n += (size_t)snprintf(big + n, cap - n, "%s{\"id\":\"m%d\"}",
		    i ? "," : "", i);
	n += (size_t)snprintf(big + n, cap - n, "]}");
	CHECK(discover_parse(big, n, &l, err, sizeof(err)) == 0 &&
	    l.n == MODELS_LIVE_MAX, "parse: at most MODELS_LIVE_MAX kept");
	discover_list_free(&l);
	discover_list_free(NULL);
	free(big);
}

static void
test_url(void)
{
	struct lc_upstream up;
	char url[UPHTTP_URL_MAX];
	struct curl_slist *h = NULL;

	memset(&up, 0, sizeof(up));
	up.base_url = "http://127.0.0.1:11434/v1/";
	up.api_version = "";
	up.api_key = "";
	CHECK(uphttp_url(&up, "llama3.2:1b", "chat/completions", url,
	    sizeof(url)) == 0, "url: made");
	CHECK_STR(url, "http://127.0.0.1:11434/v1/chat/completions",
	    "url: trailing slash dropped, the model not in it");
	up.base_url = "https://r.openai.azure.com/openai/deployments/{model}";
	up.api_version = "2024-10-21";
	CHECK(uphttp_url(&up, "my dep/1", "chat/completions", url,
	    sizeof(url)) == 0, "url: Azure deployment");
	CHECK_STR(url, "https://r.openai.azure.com/openai/deployments/"
	    "my%20dep%2F1/chat/completions?api-version=2024-10-21",
	    "url: {model} URL-escaped, api-version added");
	CHECK(uphttp_url(&up, NULL, "models", url, sizeof(url)) == 0,
	    "url: Azure deployment's models");
	CHECK_STR(url, "https://r.openai.azure.com/openai/models?"
	    "api-version=2024-10-21", "url: discovery drops /deployments/");
	up.base_url = "https://r.openai.azure.com/openai/v1";
	up.api_version = "";
	CHECK(uphttp_url(&up, NULL, "models", url, sizeof(url)) == 0,
	    "url: Azure v1");
	CHECK_STR(url, "https://r.openai.azure.com/openai/v1/models",
	    "url: Azure v1's models");
	CHECK(uphttp_url(&up, "x", "chat/completions", url, 20) == -1,
	    "url: too long refused");

	CHECK(uphttp_auth(&up, &h) == 0 && h == NULL,
	    "auth: no key, no header");
	up.api_key = "sk-test";
	up.auth = MODELS_AUTH_BEARER;
	CHECK(uphttp_auth(&up, &h) == 0 && h != NULL &&
	    strcmp(h->data, "Authorization: Bearer sk-test") == 0,
	    "auth: bearer");
	curl_slist_free_all(h);
	h = NULL;
	up.auth = MODELS_AUTH_API_KEY;
	CHECK(uphttp_auth(&up, &h) == 0 && h != NULL &&
	    strcmp(h->data, "api-key: sk-test") == 0, "auth: Azure's api-key");
	curl_slist_free_all(h);
}

int
main(void)
{
	struct lc_models *mt;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	mt = table();
	CHECK(mt != NULL, "table: made");
	if (mt != NULL) {
		test_set_fail(mt);
		test_limits(mt);
		test_file(mt);
	}
	test_parse();
	test_url();
	models_free(mt);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	UNIT_EXIT();
}
