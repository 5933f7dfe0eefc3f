/* models_live.c - what discovery saw: per upstream the models its last
 * working GET {base}/models listed, whether its last listing worked, why
 * not, and when; written whole to worker_models_file as JSON (the worker)
 * and read back, bounded and strictly, by lightchat.fcgi for /api/models.
 *
 * The file:
 *   {"upstreams":[{"name":"ollama","ok":true,"error":"","checked":1764650000,
 *                  "models":["llama3.2:1b","qwen3:8b"]}]}
 * Upstreams are matched by name when read, so a file written before the
 * configuration changed is read for the upstreams both know. */
#include "models.h"
#include "models_int.h"
#include "models_live.h"
#include "utf8.h"
#include "wholefile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LIVE_FILE_MAX (1024 * 1024)   /* the file, read or written */

/* struct models_live is in models_int.h: models.c reads its names. */

struct models_live *
models_live_new(const struct lc_models *mt)
{
	struct models_live *live = calloc(1, sizeof(*live));

	if (live == NULL)
		return NULL;
	live->mt = mt;
	live->count = models_upstream_count(mt);
	if (live->count > MODELS_UPSTREAMS_MAX)
		live->count = MODELS_UPSTREAMS_MAX;
	for (size_t u = 0; u < live->count; u++)
		live->up[u].ok = true;  /* not known to fail */
	return live;
}

static void
names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

void
models_live_free(struct models_live *live)
{
	if (live == NULL)
		return;
	for (size_t u = 0; u < live->count; u++)
		names_free(live->up[u].names, live->up[u].n);
	free(live);
}

/* Whether name passes allow: comma-separated globs (spaces around each
 * ignored); NULL or empty: every name. */
static bool
allowed(const char *allow, const char *name)
{
	char glob[MODELS_MODEL_MAX + 1];
	bool any = false;

	if (allow == NULL)
		return true;
	for (const char *p = allow; *p != '\0';) {
		const char *end = strchr(p, ',');
		size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
		const char *s = p;
		size_t l = len;

		while (l > 0 && (*s == ' ' || *s == '\t'))
			s++, l--;
		while (l > 0 && (s[l - 1] == ' ' || s[l - 1] == '\t'))
			l--;
		if (l > 0) {
			any = true;
			if (l <= MODELS_MODEL_MAX) {
				memcpy(glob, s, l);
				glob[l] = '\0';
				if (models_glob(glob, name))
					return true;
			}
		}
		p += len;
		if (*p == ',')
			p++;
	}
	return !any;
}

/* Whether name may be a discovered model: what models.c takes as a model
 * name (1..MODELS_MODEL_MAX bytes, no control character, blank or comma:
 * models_route refuses others, and a comma would split a list), and valid
 * UTF-8 (it is shown in the page and written as JSON). */
static bool
name_ok(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > MODELS_MODEL_MAX ||
	    utf8_valid_prefix(name, len) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c <= 0x20 || c == 0x7f || c == ',')
			return false;
	}
	return true;
}

/* The names of list that upstream u keeps (valid, allowed, not repeated,
 * at most MODELS_LIVE_MAX), copied into *out (count *nout). Returns 0 or
 * -1 when out of memory (nothing allocated then). */
static int
filter(const struct models_live *live, size_t u, const char *const *list,
    size_t n, char ***out, size_t *nout)
{
	const struct lc_upstream *up = models_upstream(live->mt, u);
	const char *allow = up != NULL ? up->discover_allow : NULL;
	char **names = NULL;
	size_t k = 0;

	*out = NULL;
	*nout = 0;
	if (n == 0)
		return 0;
	names = calloc(n < MODELS_LIVE_MAX ? n : MODELS_LIVE_MAX,
	    sizeof(*names));
	if (names == NULL)
		return -1;
	for (size_t i = 0; i < n && k < MODELS_LIVE_MAX; i++) {
		bool seen = false;

		if (list[i] == NULL || !name_ok(list[i]) ||
		    !allowed(allow, list[i]))
			continue;
		for (size_t j = 0; j < k && !seen; j++)
			seen = strcmp(names[j], list[i]) == 0;
		if (seen)
			continue;
		if ((names[k] = strdup(list[i])) == NULL) {
			names_free(names, k);
			return -1;
		}
		k++;
	}
	*out = names;
	*nout = k;
	return 0;
}

int
models_live_set(struct models_live *live, size_t u,
    const char *const *names, size_t n, time_t at)
{
	char **kept;
	size_t nkept;

	if (live == NULL || u >= live->count)
		return 0;
	if (filter(live, u, names, n, &kept, &nkept) != 0)
		return -1;
	names_free(live->up[u].names, live->up[u].n);
	live->up[u].names = kept;
	live->up[u].n = nkept;
	live->up[u].ok = true;
	live->up[u].error[0] = '\0';
	live->up[u].checked = at;
	return 0;
}

void
models_live_fail(struct models_live *live, size_t u, const char *error,
    time_t at)
{
	if (live == NULL || u >= live->count)
		return;
	live->up[u].ok = false;
	snprintf(live->up[u].error, sizeof(live->up[u].error), "%s",
	    error != NULL && error[0] != '\0' ? error : "listing failed");
	live->up[u].checked = at;
}

void
models_live_state(const struct models_live *live, size_t u, bool *ok,
    const char **error, time_t *checked)
{
	const struct models_live_up *lu =
	    live != NULL && u < live->count ? &live->up[u] : NULL;

	if (ok != NULL)
		*ok = lu == NULL || lu->ok;
	if (error != NULL)
		*error = lu != NULL ? lu->error : "";
	if (checked != NULL)
		*checked = lu != NULL ? lu->checked : 0;
}

size_t
models_live_count(const struct models_live *live, size_t u)
{
	return live != NULL && u < live->count ? live->up[u].n : 0;
}

const char *
models_live_name(const struct models_live *live, size_t u, size_t i)
{
	if (live == NULL || u >= live->count || i >= live->up[u].n)
		return NULL;
	return live->up[u].names[i];
}

bool
models_live_has(const struct models_live *live, size_t u, const char *name)
{
	if (live == NULL || u >= live->count || name == NULL)
		return false;
	for (size_t i = 0; i < live->up[u].n; i++)
		if (strcmp(live->up[u].names[i], name) == 0)
			return true;
	return false;
}

/* The record as JSON (cJSON_PrintUnformatted's string, the caller frees),
 * or NULL when out of memory. Upstreams that never listed and do not
 * discover are left out. */
static char *
render(const struct models_live *live)
{
	cJSON *root = cJSON_CreateObject(), *arr = NULL;
	char *text = NULL;

	if (root == NULL ||
	    (arr = cJSON_AddArrayToObject(root, "upstreams")) == NULL)
		goto out;
	for (size_t u = 0; u < live->count; u++) {
		const struct lc_upstream *up = models_upstream(live->mt, u);
		const struct models_live_up *lu = &live->up[u];
		cJSON *o, *models;

		if (up == NULL || (!up->discover && lu->checked == 0))
			continue;
		if ((o = cJSON_CreateObject()) == NULL)
			goto out;
		cJSON_AddItemToArray(arr, o);
		if (cJSON_AddStringToObject(o, "name", up->name) == NULL ||
		    cJSON_AddBoolToObject(o, "ok", lu->ok) == NULL ||
		    cJSON_AddStringToObject(o, "error", lu->error) == NULL ||
		    cJSON_AddNumberToObject(o, "checked",
		    (double)lu->checked) == NULL ||
		    (models = cJSON_AddArrayToObject(o, "models")) == NULL)
			goto out;
		for (size_t i = 0; i < lu->n; i++) {
			cJSON *s = cJSON_CreateString(lu->names[i]);
			if (s == NULL)
				goto out;
			cJSON_AddItemToArray(models, s);
		}
	}
	text = cJSON_PrintUnformatted(root);
out:
	cJSON_Delete(root);
	return text;
}

int
models_live_write(const struct models_live *live, const char *path)
{
	char *text = NULL;
	int rc = -1, saved;
	size_t len;

	if (live == NULL || path == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((text = render(live)) == NULL) {
		errno = ENOMEM;
		return -1;
	}
	len = strlen(text);
	text[len] = '\n';   /* the file ends with a newline; its NUL goes */
	if (len + 1 > LIVE_FILE_MAX)
		errno = EFBIG;
	else
		/* 0600 whatever the umask, as the metrics file: the
		 * FastCGI program that reads it runs as the same user (the
		 * package's units, run.sh), and the state directory keeps
		 * nothing open to others (test-private). */
		rc = wholefile_write(path, text, len + 1, 0600);
	saved = errno;
	free(text);
	errno = saved;
	return rc;
}

/* Reads path whole into a NUL-terminated malloc'd string (*len bytes).
 * Returns 1 when read, 0 when the file does not exist, -1 on an error
 * (errno set; EFBIG past LIVE_FILE_MAX). */
static int
slurp(const char *path, char **out, size_t *len)
{
	char *data = NULL;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = -1, saved;

	*out = NULL;
	if (fd < 0)
		return errno == ENOENT ? 0 : -1;
	if ((data = malloc(LIVE_FILE_MAX + 2)) == NULL)
		goto out;
	for (;;) {
		ssize_t r = read(fd, data + n, LIVE_FILE_MAX + 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		n += (size_t)r;
		if (n > LIVE_FILE_MAX) {
			errno = EFBIG;
			goto out;
		}
	}
	data[n] = '\0';
	*out = data;
	*len = n;
	data = NULL;
	rc = 1;
out:
	saved = errno;
	free(data);
	close(fd);
	errno = saved;
	return rc;
}

/* One entry of the file, checked: name, ok, error, checked and models
 * with their types. Returns its upstream's index in live (or -2 when no
 * upstream has that name: skipped), -1 when malformed. */
static int
entry_check(const struct models_live *live, const cJSON *o)
{
	const cJSON *name = cJSON_GetObjectItemCaseSensitive(o, "name");
	const cJSON *ok = cJSON_GetObjectItemCaseSensitive(o, "ok");
	const cJSON *error = cJSON_GetObjectItemCaseSensitive(o, "error");
	const cJSON *checked = cJSON_GetObjectItemCaseSensitive(o, "checked");
	const cJSON *models = cJSON_GetObjectItemCaseSensitive(o, "models");
	const cJSON *m;

	if (!cJSON_IsObject(o) || !cJSON_IsString(name) ||
	    !cJSON_IsBool(ok) || !cJSON_IsString(error) ||
	    !cJSON_IsNumber(checked) || checked->valuedouble < 0 ||
	    !cJSON_IsArray(models) ||
	    cJSON_GetArraySize(models) > MODELS_LIVE_MAX)
		return -1;
	cJSON_ArrayForEach(m, models)
		if (!cJSON_IsString(m))
			return -1;
	for (size_t u = 0; u < live->count; u++) {
		const struct lc_upstream *up = models_upstream(live->mt, u);
		if (up != NULL && strcmp(up->name, name->valuestring) == 0)
			return (int)u;
	}
	return -2;
}

int
models_live_read(struct models_live *live, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	cJSON *root = NULL;
	const cJSON *arr, *o;
	int rc = -1, got;

	if (live == NULL || path == NULL) {
		errno = EINVAL;
		return -1;
	}
	if ((got = slurp(path, &text, &len)) <= 0) {
		rc = got;
		goto out;
	}
	const char *end = NULL;
	root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
	if (root == NULL || !cJSON_IsObject(root))
		goto bad;
	/* Strict: nothing but white space after the object. */
	for (; end != NULL && end < text + len; end++)
		if (*end != ' ' && *end != '\n' && *end != '\t' &&
		    *end != '\r')
			goto bad;
	arr = cJSON_GetObjectItemCaseSensitive(root, "upstreams");
	if (!cJSON_IsArray(arr))
		goto bad;
	/* Everything checked first, so a bad file changes nothing. */
	cJSON_ArrayForEach(o, arr)
		if (entry_check(live, o) == -1)
			goto bad;
	cJSON_ArrayForEach(o, arr) {
		int u = entry_check(live, o);
		const cJSON *models, *m;
		const char *list[MODELS_LIVE_MAX];
		size_t n = 0;

		if (u < 0)
			continue;
		models = cJSON_GetObjectItemCaseSensitive(o, "models");
		cJSON_ArrayForEach(m, models)
			list[n++] = m->valuestring;
		time_t at = (time_t)cJSON_GetObjectItemCaseSensitive(o,
		    "checked")->valuedouble;
		if (models_live_set(live, (size_t)u, list, n, at) != 0) {
			errno = ENOMEM;
			goto out;
		}
		if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "ok")))
			models_live_fail(live, (size_t)u,
			    cJSON_GetObjectItemCaseSensitive(o,
			    "error")->valuestring, at);
	}
	rc = 0;
	goto out;
bad:
	errno = EINVAL;
out:
	cJSON_Delete(root);
	free(text);
	return rc;
}
