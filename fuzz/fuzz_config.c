/* fuzz_config.c - lib/config.h: the settings file.
 *
 * The input is written as the file LIGHTCHAT_CONFIG names (the environment
 * holds no other LIGHTCHAT_* or OPENAI_* variable), with "@dir@" replaced by
 * the harness's directory, which holds api.key (mode 0600) and open.key
 * (mode 0644) for upstream_api_key_file and a section's api_key_file;
 * then config_load and config_free. The input may hold [upstream NAME] and
 * [model PATTERN] sections (the seeds and config.dict have them).
 * Invariants: a failure has a message; a success has values in range, an
 * absolute state directory, the derived paths set, a model table of 1 to
 * MODELS_UPSTREAMS_MAX upstreams, each with an http(s) base URL and models
 * or discovery, every model offered routed to an upstream in range, and
 * the default model "" or offered (or some upstream discovers); config_get
 * answers every key; with only the flat upstream, the effective values
 * written back as a file load to the same values (a round trip);
 * every item of a comma-separated list (the input's first line) is found by
 * config_list_has. */
#include "fuzz.h"

#include <ctype.h>
#include <stdbool.h>
#include <sys/stat.h>

#include "buf.h"
#include "config.h"

#define VALUE_MAX 8192

static char path[512], path2[512];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_clear_settings_env();
	snprintf(path, sizeof(path), "%s/lightchat.conf", fuzz_dir());
	snprintf(path2, sizeof(path2), "%s/again.conf", fuzz_dir());

	char key[512];
	static const char secret[] = "  sk-from-a-file-0123456789  \nsecond line\n";
	snprintf(key, sizeof(key), "%s/api.key", fuzz_dir());
	fuzz_write_file(key, (const uint8_t *)secret, sizeof(secret) - 1);
	FUZZ_CHECK(chmod(key, 0600) == 0);
	snprintf(key, sizeof(key), "%s/open.key", fuzz_dir());
	fuzz_write_file(key, (const uint8_t *)secret, sizeof(secret) - 1);
	FUZZ_CHECK(chmod(key, 0644) == 0);
	return 0;
}

/* The input with every "@dir@" replaced by the harness's directory. */
static void
write_config(const uint8_t *data, size_t size)
{
	static const char mark[] = "@dir@";
	const size_t mlen = sizeof(mark) - 1;
	const char *dir = fuzz_dir();
	struct lc_buf b;

	buf_init(&b, 64 * size + 64);
	for (size_t i = 0; i < size;) {
		if (size - i >= mlen && memcmp(data + i, mark, mlen) == 0) {
			FUZZ_CHECK(buf_append_str(&b, dir) == LC_BUF_OK);
			i += mlen;
		} else {
			FUZZ_CHECK(buf_append(&b, data + i, 1) == LC_BUF_OK);
			i++;
		}
	}
	fuzz_write_file(path, (const uint8_t *)buf_str(&b), b.len);
	buf_free(&b);
}

struct dump {
	const struct lc_config *cfg;
	struct lc_buf out;   /* "key = value" lines */
	int too_long;        /* a value too long to write back */
};

static void
dump_key(const char *key, bool secret, void *arg)
{
	struct dump *d = arg;
	char value[VALUE_MAX];

	(void)secret;
	FUZZ_CHECK(config_get(d->cfg, key, value, sizeof(value)) == 0);
	if (strlen(key) + strlen(value) + 8 > 4000)
		d->too_long = 1;
	FUZZ_CHECK(buf_append_str(&d->out, key) == LC_BUF_OK);
	FUZZ_CHECK(buf_append_str(&d->out, " = ") == LC_BUF_OK);
	FUZZ_CHECK(buf_append_str(&d->out, value) == LC_BUF_OK);
	FUZZ_CHECK(buf_append_str(&d->out, "\n") == LC_BUF_OK);
}

/* models_each's callback: the model routes to the upstream given, in
 * range, and its quirks resolve. Returns 0 to go on. */
static int
check_offered(void *arg, const char *name, int upstream)
{
	const struct lc_models *mt = arg;
	struct lc_model_info mi;

	FUZZ_CHECK(upstream >= 0 && (size_t)upstream < models_upstream_count(mt));
	FUZZ_CHECK(models_route(mt, NULL, name) == upstream);
	models_info(mt, name, upstream, &mi);
	FUZZ_CHECK(mi.upstream == upstream);
	FUZZ_CHECK(mi.system_role <= MODELS_ROLE_USER);
	FUZZ_CHECK(mi.max_tokens_limit >= 0);
	return 0;
}

static void
check_loaded(const struct lc_config *cfg)
{
	FUZZ_CHECK(cfg->port >= 1 && cfg->port <= 65535);
	FUZZ_CHECK(cfg->ws_port >= 1 && cfg->ws_port <= 65535);
	FUZZ_CHECK(cfg->state != NULL && cfg->state[0] == '/');
	FUZZ_CHECK(cfg->users_file[0] != '\0');
	FUZZ_CHECK(cfg->token_key_file[0] != '\0');
	FUZZ_CHECK(cfg->worker_endpoint[0] != '\0');
	FUZZ_CHECK(cfg->database[0] != '\0');
	size_t nup = models_upstream_count(cfg->mt);
	bool discovers = false;
	FUZZ_CHECK(nup >= 1 && nup <= MODELS_UPSTREAMS_MAX);
	for (size_t i = 0; i < nup; i++) {
		const struct lc_upstream *u = models_upstream(cfg->mt, i);
		FUZZ_CHECK(u != NULL && u->name[0] != '\0');
		FUZZ_CHECK(strncmp(u->base_url, "http://", 7) == 0 ||
		    strncmp(u->base_url, "https://", 8) == 0 ||
		    (i == 0 && strcmp(u->name, "default") == 0));
		FUZZ_CHECK(u->models[0] != '\0' || u->discover);
		FUZZ_CHECK(u->label != NULL && u->label[0] != '\0');
		FUZZ_CHECK(models_upstream_find(cfg->mt, u->name) == (int)i);
		discovers |= u->discover;
	}
	FUZZ_CHECK(models_upstream(cfg->mt, nup) == NULL);
	int offered = models_each(cfg->mt, NULL, check_offered, cfg->mt);
	FUZZ_CHECK(offered == 0);
	FUZZ_CHECK(cfg->default_model[0] == '\0' || discovers ||
	    models_route(cfg->mt, NULL, cfg->default_model) >= 0);
	FUZZ_CHECK(cfg->token_lifetime >= 60);
	FUZZ_CHECK(cfg->max_message >= 1024 && cfg->max_reply >= 1024);
	FUZZ_CHECK(cfg->max_messages >= 1);
	char out[4];
	FUZZ_CHECK(config_get(cfg, "no_such_key", out, sizeof(out)) == -1);
}

/* A load of the effective values gives the same values. */
static void
round_trip(const struct lc_config *cfg)
{
	struct dump d = { .cfg = cfg };
	struct lc_config again;
	char err[LC_CONFIG_ERR_MAX];

	buf_init(&d.out, 1 << 20);
	config_each_key(dump_key, &d);
	if (!d.too_long) {
		fuzz_write_file(path2, (const uint8_t *)buf_str(&d.out), d.out.len);
		setenv("LIGHTCHAT_CONFIG", path2, 1);
		int rc = config_load(&again, err);
		if (rc != 0)
			fprintf(stderr, "round trip: %s\n---\n%s---\n", err,
			    buf_str(&d.out));
		FUZZ_CHECK(rc == 0);
		struct dump d2 = { .cfg = &again };
		buf_init(&d2.out, 1 << 20);
		config_each_key(dump_key, &d2);
		FUZZ_CHECK(d2.out.len == d.out.len &&
		    memcmp(d2.out.data, d.out.data, d.out.len) == 0);
		buf_free(&d2.out);
		config_free(&again);
		setenv("LIGHTCHAT_CONFIG", path, 1);
	}
	buf_free(&d.out);
}

/* Every trimmed, non-empty item of a comma-separated list is in it. */
static void
check_list(const uint8_t *data, size_t size)
{
	size_t n = 0;
	while (n < size && data[n] != '\n')
		n++;
	char *list = fuzz_strndup(data, n);
	const char *p = list;
	while (*p) {
		const char *end = p + strcspn(p, ",");
		const char *a = p, *b = end;
		while (a < b && isspace((unsigned char)*a))
			a++;
		while (b > a && isspace((unsigned char)b[-1]))
			b--;
		if (b > a) {
			char *item = fuzz_strndup((const uint8_t *)a, (size_t)(b - a));
			FUZZ_CHECK(config_list_has(list, item));
			free(item);
		}
		p = *end ? end + 1 : end;
	}
	FUZZ_CHECK(!config_list_has(list, ""));
	free(list);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lc_config cfg;
	char err[LC_CONFIG_ERR_MAX];

	write_config(data, size);
	setenv("LIGHTCHAT_CONFIG", path, 1);
	memset(err, 'X', sizeof(err));
	int rc = config_load(&cfg, err);
	FUZZ_CHECK(rc == 0 || rc == -1);
	FUZZ_CHECK(memchr(err, '\0', sizeof(err)) != NULL);
	if (rc == 0) {
		FUZZ_CHECK(err[0] == '\0');
		check_loaded(&cfg);
		/* The sections are not flat keys: only a table that is the
		 * flat upstream alone can be written back as them. */
		if (models_upstream_count(cfg.mt) == 1 &&
		    strcmp(models_upstream(cfg.mt, 0)->name, "default") == 0)
			round_trip(&cfg);
	} else {
		FUZZ_CHECK(err[0] != '\0');
	}
	config_free(&cfg);
	config_free(&cfg);  /* harmless twice */
	check_list(data, size);
	return 0;
}
