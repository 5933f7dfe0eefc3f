/* inflight.c - the bounded set of replies a session's client waits for,
 * and their fallback final frames (see inflight.h). */
#include "inflight.h"

#include <stdlib.h>
#include <string.h>

#define KEY_END ",\"type\":\""

void
inflight_init(struct inflight *f)
{
	memset(f, 0, sizeof(*f));
}

/* The length of line's key (through the first `,"type":"`), or 0. */
static size_t
key_len(const char *line, size_t len)
{
	size_t k = sizeof(KEY_END) - 1;

	for (size_t i = 0; i + k <= len; i++)
		if (line[i] == ',' && memcmp(line + i, KEY_END, k) == 0)
			return i + k;
	return 0;
}

/* Index of the entry whose key line begins with, or -1. */
static int
find(const struct inflight *f, const char *line, size_t len)
{
	for (int i = 0; i < f->n; i++)
		if (len >= f->keylen[i] &&
		    memcmp(line, f->line[i], f->keylen[i]) == 0)
			return i;
	return -1;
}

/* Removes entry i, keeping the others in their order. */
static void
drop(struct inflight *f, int i)
{
	free(f->line[i]);
	f->n--;
	memmove(f->line + i, f->line + i + 1,
	    (size_t)(f->n - i) * sizeof(f->line[0]));
	memmove(f->len + i, f->len + i + 1,
	    (size_t)(f->n - i) * sizeof(f->len[0]));
	memmove(f->keylen + i, f->keylen + i + 1,
	    (size_t)(f->n - i) * sizeof(f->keylen[0]));
	f->line[f->n] = NULL;
}

int
inflight_add(struct inflight *f, const char *line, size_t len)
{
	size_t k = key_len(line, len);
	char *copy = NULL;
	int i;

	if (k == 0 || len > INFLIGHT_LINE_MAX)
		return INFLIGHT_BAD;
	i = find(f, line, len);  /* keys are prefix-free: the same key */
	if (i < 0 && f->n >= INFLIGHT_MAX)
		return INFLIGHT_FULL;
	copy = malloc(len + 1);
	if (copy == NULL)
		return INFLIGHT_NOMEM;
	memcpy(copy, line, len);
	copy[len] = '\0';
	if (i >= 0) {
		free(f->line[i]);
	} else {
		i = f->n++;
	}
	f->line[i] = copy;
	f->len[i] = len;
	f->keylen[i] = k;
	return INFLIGHT_OK;
}

int
inflight_done(struct inflight *f, const char *line, size_t len)
{
	if (f->n == 0)
		return 0;
	for (int i = 0; i < f->n; i++) {
		size_t k = f->keylen[i];
		if (len < k + 6 || memcmp(line, f->line[i], k) != 0)
			continue;
		if (memcmp(line + k, "reply\"", 6) != 0 &&
		    memcmp(line + k, "error\"", 6) != 0)
			return 0;  /* a delta (or start) of this reply */
		drop(f, i);
		return 1;
	}
	return 0;
}

int
inflight_count(const struct inflight *f)
{
	return f->n;
}

int
inflight_fail(struct inflight *f,
    int (*emit)(void *arg, const char *line, size_t len), void *arg)
{
	int sent = 0, ok = 1;

	for (int i = 0; i < f->n; i++) {
		if (ok && emit(arg, f->line[i], f->len[i]) == 0)
			sent++;
		else
			ok = 0;
		free(f->line[i]);
		f->line[i] = NULL;
	}
	f->n = 0;
	return sent;
}

void
inflight_free(struct inflight *f)
{
	if (f == NULL)
		return;
	for (int i = 0; i < f->n; i++)
		free(f->line[i]);
	inflight_init(f);
}
