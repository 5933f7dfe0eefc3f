/* fuzz_discover.c - what model discovery reads from outside: a GET /models
 * body (worker/discover.c's discover_parse) and the worker_models_file
 * (lib/models_live.c's models_live_read, which lightchat.fcgi runs on a
 * file another process wrote).
 *
 * The input is parsed as a listing, and what it gives is set on a
 * discovering upstream, written and read back; the input is also read as a
 * models file. Invariants: a listing's names are non-empty, distinct and
 * at most MODELS_LIVE_MAX; what the record keeps of them passes the allow
 * list and the name checks; the file written reads back to the same
 * models; a models file that is refused leaves the record as it was. */
#include "fuzz.h"

#include "discover.h"
#include "models.h"
#include "models_live.h"

static struct lc_models *mt;
static int up;   /* the discovering upstream's index */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[MODELS_ERR_MAX];

	(void)argc;
	(void)argv;
	mt = models_new();
	if (mt == NULL ||
	    models_set(mt, "upstream", "local", "base_url",
	    "http://127.0.0.1:9/v1", "f:1", err) != 0 ||
	    models_set(mt, "upstream", "local", "discover", "true", "f:2",
	    err) != 0 ||
	    models_set(mt, "upstream", "local", "discover_allow", "*a*, q?en*",
	    "f:3", err) != 0 ||
	    models_finish(mt, false, "", "", "", 10, 120, 1800, err) != 0) {
		fprintf(stderr, "table: %s\n", err);
		abort();
	}
	up = models_upstream_find(mt, "local");
	FUZZ_CHECK(up >= 0);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct discover_list l;
	struct models_live *live = models_live_new(mt), *back;
	char err[200], path[512];

	FUZZ_CHECK(live != NULL);
	if (discover_parse((const char *)data, size, &l, err, sizeof(err)) ==
	    0) {
		FUZZ_CHECK(l.n <= MODELS_LIVE_MAX);
		for (size_t i = 0; i < l.n; i++) {
			FUZZ_CHECK(l.names[i][0] != '\0');
			for (size_t j = 0; j < i; j++)
				FUZZ_CHECK(strcmp(l.names[i], l.names[j]) != 0);
		}
		FUZZ_CHECK(models_live_set(live, (size_t)up,
		    (const char *const *)l.names, l.n, 1) == 0);
		size_t kept = models_live_count(live, (size_t)up);
		FUZZ_CHECK(kept <= l.n);
		for (size_t i = 0; i < kept; i++) {
			const char *nm = models_live_name(live, (size_t)up, i);
			FUZZ_CHECK(nm != NULL && strlen(nm) <= MODELS_MODEL_MAX);
			FUZZ_CHECK(models_glob("*a*", nm) ||
			    models_glob("q?en*", nm));
			FUZZ_CHECK(models_route(mt, live, nm) == up);
		}
		snprintf(path, sizeof(path), "%s/models.json", fuzz_dir());
		FUZZ_CHECK(models_live_write(live, path) == 0);
		back = models_live_new(mt);
		FUZZ_CHECK(back != NULL && models_live_read(back, path) == 0);
		FUZZ_CHECK(models_live_count(back, (size_t)up) == kept);
		for (size_t i = 0; i < kept; i++)
			FUZZ_CHECK(strcmp(models_live_name(back, (size_t)up, i),
			    models_live_name(live, (size_t)up, i)) == 0);
		models_live_free(back);
		discover_list_free(&l);
	} else {
		FUZZ_CHECK(l.n == 0 && l.names == NULL && err[0] != '\0');
	}

	/* The input as a models file: read whole, or refused unchanged. */
	snprintf(path, sizeof(path), "%s/input.json", fuzz_dir());
	fuzz_write_file(path, data, size);
	size_t before = models_live_count(live, (size_t)up);
	if (models_live_read(live, path) != 0)
		FUZZ_CHECK(models_live_count(live, (size_t)up) == before);
	for (size_t i = 0; i < models_live_count(live, (size_t)up); i++)
		FUZZ_CHECK(strlen(models_live_name(live, (size_t)up, i)) <=
		    MODELS_MODEL_MAX);
	models_live_free(live);
	return 0;
}
