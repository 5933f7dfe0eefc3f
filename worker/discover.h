/* discover.h - model discovery: each upstream with discover = true lists
 * its models with GET {base}/models at start and every discover_interval
 * seconds, on the worker's libcurl multi handle (never blocking the loop);
 * what it lists goes into the models_live record (lib/models.h), which is
 * written to worker_models_file after each listing.
 *
 * The worker's transfer-done callback offers every finished transfer to
 * discover_done first: discovery knows its own easy handles, so the
 * replies' CURLINFO_PRIVATE stays theirs and neither module knows the
 * other. The response parser (discover_parse) needs no libcurl. */
#ifndef LC_DISCOVER_H
#define LC_DISCOVER_H

#include <curl/curl.h>
#include <stddef.h>
#include <time.h>

#include "models.h"

#define DISCOVER_BODY_MAX (1024 * 1024)   /* a listing's body */

struct discover;

/* A parsed listing: names[0..n) malloc'd, in the listing's order, each
 * once. */
struct discover_list {
	char **names;
	size_t n;
};

/* Parses a GET /models body of len bytes: OpenAI's {"data":[{"id"}]}
 * (llama.cpp's router mode: entries whose "status" (a string, or an object
 * with "value") is "failed" or "error" are left out), and llama.cpp's
 * Ollama-style {"models":[{"name"|"model"}]}; both together are merged.
 * Entries without a string id are skipped; at most MODELS_LIVE_MAX kept.
 * Returns 0 with out filled (free with discover_list_free), or -1 with err
 * (cap bytes) saying why (not JSON, neither array, out of memory). */
int discover_parse(const char *body, size_t len, struct discover_list *out,
    char *err, size_t cap);

/* Frees what out holds (out itself is the caller's); NULL is allowed. */
void discover_list_free(struct discover_list *out);

/* Discovery for mt's upstreams into live, written to file (NULL or "":
 * not written), through multi. mt, live and multi must outlive it.
 * Returns NULL when out of memory. Nothing is asked before discover_tick. */
struct discover *discover_new(const struct lc_models *mt,
    struct models_live *live, const char *file, CURLM *multi);

/* Removes its transfers from the multi handle and frees d; NULL allowed. */
void discover_free(struct discover *d);

/* Starts each listing that is due (the first at the first tick), at most
 * one at a time per upstream. Call it about once a second. */
void discover_tick(struct discover *d);

/* Whether easy is one of d's transfers; if so, it is finished with
 * result: the listing is recorded (models_live_set or _fail), the file
 * written, one line logged when something changed, and the handle
 * removed from the multi. Returns 1 when it was d's, 0 otherwise. */
int discover_done(struct discover *d, CURL *easy, CURLcode result);

#endif
