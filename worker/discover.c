/* discover.c - model discovery: GET {base}/models of each discovering
 * upstream at start and every discover_interval seconds on the worker's
 * multi handle, the listing parsed (discover_parse) into the models_live
 * record and written to worker_models_file (see discover.h). */
#include "discover.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "models_live.h"
#include "monotime.h"
#include "upstream_http.h"

/* A listing takes at most this long, whatever the upstream's total
 * timeout for replies (30 min by default): a list is small, and a hung
 * listing would hold back the next. */
#define DISCOVER_TOTAL_MAX 60

struct slot {
	int u;                        /* the upstream's index */
	CURL *easy;                   /* in the multi while listing */
	struct curl_slist *headers;
	struct lc_buf body;
	char errbuf[CURL_ERROR_SIZE];
	long long due_ms;             /* monotonic time of the next listing */
	int started;                  /* listed at least once */
};

struct discover {
	const struct lc_models *mt;
	struct models_live *live;
	char *file;                   /* NULL: not written */
	CURLM *multi;
	int written;                  /* the file written once at the start */
	int write_failed;             /* the last write failed (logged) */
	size_t n;
	struct slot slots[MODELS_UPSTREAMS_MAX];
};

/* --- the listing's body ---------------------------------------------- */

/* Appends name to out unless it is there (or past MODELS_LIVE_MAX).
 * Returns 0, or -1 when out of memory. */
static int
list_add(struct discover_list *out, const char *name)
{
	char **grown;

	if (out->n >= MODELS_LIVE_MAX || name[0] == '\0')
		return 0;
	for (size_t i = 0; i < out->n; i++)
		if (strcmp(out->names[i], name) == 0)
			return 0;
	/* The capacity is 8, then the next power of two: grow when full. */
	if (out->n == 0 || (out->n >= 8 && (out->n & (out->n - 1)) == 0)) {
		size_t cap = out->n == 0 ? 8 : out->n * 2;
		if ((grown = realloc(out->names, cap * sizeof(*grown))) == NULL)
			return -1;
		out->names = grown;
	}
	if ((out->names[out->n] = strdup(name)) == NULL)
		return -1;
	out->n++;
	return 0;
}

/* Whether a router-mode entry says its model cannot be used: "status" a
 * string, or an object with a string "value", of "failed" or "error". */
static int
entry_failed(const cJSON *entry)
{
	const cJSON *st = cJSON_GetObjectItemCaseSensitive(entry, "status");

	if (cJSON_IsObject(st))
		st = cJSON_GetObjectItemCaseSensitive(st, "value");
	return cJSON_IsString(st) && (strcmp(st->valuestring, "failed") == 0 ||
	    strcmp(st->valuestring, "error") == 0);
}

int
discover_parse(const char *body, size_t len, struct discover_list *out,
    char *err, size_t cap)
{
	cJSON *root = NULL;
	const cJSON *data, *models, *e;
	int rc = -1;

	out->names = NULL;
	out->n = 0;
	root = cJSON_ParseWithLength(body, len);
	if (!cJSON_IsObject(root)) {
		snprintf(err, cap, "the models list is not a JSON object");
		goto out;
	}
	data = cJSON_GetObjectItemCaseSensitive(root, "data");
	models = cJSON_GetObjectItemCaseSensitive(root, "models");
	if (!cJSON_IsArray(data) && !cJSON_IsArray(models)) {
		snprintf(err, cap, "the models list has no \"data\" or "
		    "\"models\" array");
		goto out;
	}
	if (!cJSON_IsArray(data))
		data = NULL;
	if (!cJSON_IsArray(models))
		models = NULL;
	cJSON_ArrayForEach(e, data) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "id");
		if (!cJSON_IsString(id) || entry_failed(e))
			continue;
		if (list_add(out, id->valuestring) != 0)
			goto nomem;
	}
	cJSON_ArrayForEach(e, models) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(e, "name");
		if (!cJSON_IsString(id))
			id = cJSON_GetObjectItemCaseSensitive(e, "model");
		if (!cJSON_IsString(id) || entry_failed(e))
			continue;
		if (list_add(out, id->valuestring) != 0)
			goto nomem;
	}
	rc = 0;
	goto out;
nomem:
	snprintf(err, cap, "out of memory");
out:
	if (rc != 0)
		discover_list_free(out);
	cJSON_Delete(root);
	return rc;
}

void
discover_list_free(struct discover_list *out)
{
	if (out == NULL)
		return;
	for (size_t i = 0; i < out->n; i++)
		free(out->names[i]);
	free(out->names);
	out->names = NULL;
	out->n = 0;
}

/* --- the transfers --------------------------------------------------- */

struct discover *
discover_new(const struct lc_models *mt, struct models_live *live,
    const char *file, CURLM *multi)
{
	struct discover *d = calloc(1, sizeof(*d));
	size_t count = models_upstream_count(mt);

	if (d == NULL)
		return NULL;
	d->mt = mt;
	d->live = live;
	d->multi = multi;
	if (file != NULL && file[0] != '\0' &&
	    (d->file = strdup(file)) == NULL) {
		free(d);
		return NULL;
	}
	for (size_t u = 0; u < count && u < MODELS_UPSTREAMS_MAX; u++) {
		const struct lc_upstream *up = models_upstream(mt, u);
		if (up == NULL || !up->discover)
			continue;
		struct slot *s = &d->slots[d->n++];
		s->u = (int)u;
		buf_init(&s->body, DISCOVER_BODY_MAX);
		s->due_ms = 0;
	}
	return d;
}

/* Ends s's transfer (if any) and frees what it holds for it. */
static void
slot_end(struct discover *d, struct slot *s)
{
	if (s->easy != NULL) {
		curl_multi_remove_handle(d->multi, s->easy);
		curl_easy_cleanup(s->easy);
		s->easy = NULL;
	}
	curl_slist_free_all(s->headers);
	s->headers = NULL;
	/* Freed, not kept: a listing may be up to 1 MiB, every few minutes. */
	buf_free(&s->body);
}

void
discover_free(struct discover *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->n; i++) {
		slot_end(d, &d->slots[i]);
		buf_free(&d->slots[i].body);
	}
	free(d->file);
	free(d);
}

static size_t
on_body(char *ptr, size_t size, size_t nmemb, void *arg)
{
	struct slot *s = arg;
	size_t n = size * nmemb;

	/* Past DISCOVER_BODY_MAX the transfer fails (CURLE_WRITE_ERROR). */
	return buf_append(&s->body, ptr, n) == LC_BUF_OK ? n : 0;
}

/* Starts s's listing. Returns 0, or -1 (nothing in the multi). */
static int
slot_start(struct discover *d, struct slot *s)
{
	const struct lc_upstream *up = models_upstream(d->mt, (size_t)s->u);
	char url[UPHTTP_URL_MAX];
	long total = up->total_timeout < DISCOVER_TOTAL_MAX ?
	    up->total_timeout : DISCOVER_TOTAL_MAX;

	buf_reset(&s->body);
	s->errbuf[0] = '\0';
	if (uphttp_url(up, NULL, "models", url, sizeof(url)) != 0 ||
	    (s->headers = curl_slist_append(NULL,
	    "Accept: application/json")) == NULL ||
	    uphttp_auth(up, &s->headers) != 0 ||
	    (s->easy = curl_easy_init()) == NULL ||
	    uphttp_setup(s->easy, up, url, s->headers, s->errbuf, total) != 0 ||
	    curl_easy_setopt(s->easy, CURLOPT_HTTPGET, 1L) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_WRITEFUNCTION, on_body) !=
	    CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_WRITEDATA, s) != CURLE_OK ||
	    curl_easy_setopt(s->easy, CURLOPT_PRIVATE, s) != CURLE_OK ||
	    curl_multi_add_handle(d->multi, s->easy) != CURLM_OK) {
		if (s->easy != NULL)
			curl_easy_cleanup(s->easy);
		s->easy = NULL;
		curl_slist_free_all(s->headers);
		s->headers = NULL;
		return -1;
	}
	return 0;
}

/* Writes the record to d's file; a failure is logged once until a write
 * works again. */
static void
write_file(struct discover *d)
{
	if (d->file == NULL)
		return;
	if (models_live_write(d->live, d->file) != 0) {
		if (!d->write_failed)
			log_err("models file %s: %s (/api/models will not show "
			    "discovered models)", d->file, strerror(errno));
		d->write_failed = 1;
	} else
		d->write_failed = 0;
}

void
discover_tick(struct discover *d)
{
	long long now = monotime_ms();

	if (d == NULL)
		return;
	if (!d->written) {
		/* The file says at once what this worker discovers (a file left
		 * by an earlier configuration would mislead /api/models). */
		d->written = 1;
		write_file(d);
	}
	for (size_t i = 0; i < d->n; i++) {
		struct slot *s = &d->slots[i];
		const struct lc_upstream *up;

		if (s->easy != NULL || (s->started && now < s->due_ms))
			continue;
		up = models_upstream(d->mt, (size_t)s->u);
		s->started = 1;
		s->due_ms = now + up->discover_interval * 1000LL;
		if (slot_start(d, s) != 0) {
			log_err("discover %s: could not start GET /models "
			    "(out of memory?)", up->name);
			models_live_fail(d->live, (size_t)s->u,
			    "GET /models: could not start the request",
			    time(NULL));
		}
	}
}

/* How many of list's names the live record of u does not hold. */
static size_t
count_missing(const struct models_live *live, size_t u,
    char *const *list, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (!models_live_has(live, u, list[i]))
			k++;
	return k;
}

/* Records a listing that worked (body in s->body) for upstream u; logs
 * what changed. */
static void
listed(struct discover *d, struct slot *s, const struct lc_upstream *up,
    bool was_ok)
{
	size_t u = (size_t)s->u;
	struct discover_list list, before = { NULL, 0 };
	char err[MODELS_ERR_MAX];
	size_t added, removed;

	if (discover_parse(s->body.data != NULL ? s->body.data : "",
	    s->body.len, &list, err, sizeof(err)) != 0) {
		char why[MODELS_ERR_MAX];
		snprintf(why, sizeof(why), "GET /models: %.150s", err);
		if (was_ok)
			log_warn("discover %s: %s", up->name, why);
		models_live_fail(d->live, u, why, time(NULL));
		return;
	}
	/* The old list, to count what the new one added and removed. */
	for (size_t i = 0; i < models_live_count(d->live, u); i++)
		if (list_add(&before, models_live_name(d->live, u, i)) != 0)
			break;
	if (models_live_set(d->live, u, (const char *const *)list.names,
	    list.n, time(NULL)) != 0) {
		log_err("discover %s: out of memory", up->name);
		goto out;
	}
	/* Counted against what was kept (the allow list applied). */
	removed = count_missing(d->live, u, before.names, before.n);
	added = models_live_count(d->live, u) - (before.n - removed);
	if (added > 0 || removed > 0 || !was_ok)
		log_info("discover %s: %zu models (%zu added, %zu removed)%s",
		    up->name, models_live_count(d->live, u), added, removed,
		    was_ok ? "" : ", listing works again");
out:
	discover_list_free(&before);
	discover_list_free(&list);
}

int
discover_done(struct discover *d, CURL *easy, CURLcode result)
{
	struct slot *s = NULL;
	const struct lc_upstream *up;
	bool was_ok;
	const char *old_error;
	long status = 0;

	if (d == NULL || easy == NULL)
		return 0;
	for (size_t i = 0; i < d->n && s == NULL; i++)
		if (d->slots[i].easy == easy)
			s = &d->slots[i];
	if (s == NULL)
		return 0;
	up = models_upstream(d->mt, (size_t)s->u);
	models_live_state(d->live, (size_t)s->u, &was_ok, &old_error, NULL);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (result == CURLE_OK && status == 200) {
		listed(d, s, up, was_ok);
	} else {
		char why[MODELS_ERR_MAX];
		if (result == CURLE_WRITE_ERROR)
			snprintf(why, sizeof(why), "GET /models: the list is "
			    "larger than %d bytes", DISCOVER_BODY_MAX);
		else if (result != CURLE_OK)
			/* libcurl's sentence names the host and port, never
			 * the key (it is in a header). */
			snprintf(why, sizeof(why), "GET /models: %.150s",
			    s->errbuf[0] ? s->errbuf :
			    curl_easy_strerror(result));
		else
			snprintf(why, sizeof(why), "GET /models: HTTP %ld",
			    status);
		/* One line when it starts failing or fails otherwise. */
		if (was_ok || strcmp(old_error, why) != 0)
			log_warn("discover %s: %s (its %zu models kept, marked "
			    "unavailable)", up->name, why,
			    models_live_count(d->live, (size_t)s->u));
		models_live_fail(d->live, (size_t)s->u, why, time(NULL));
	}
	slot_end(d, s);
	write_file(d);
	return 1;
}
