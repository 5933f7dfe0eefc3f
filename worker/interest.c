/* interest.c - the cluster's interest table: (user, conversation) entries
 * in one array, found through an open-addressing hash of their indices;
 * removals happen only in interest_sweep, which compacts the array and
 * builds the hash again. */
#include "interest.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct interest {
	struct interest_entry *e;  /* [0, n) in use */
	size_t n, max;
	int *slot;                 /* indices into e, -1 empty */
	size_t nslot;              /* a power of two, >= 2 * max */
	size_t nremote;            /* entries with remote_ms != 0 */
};

static uint32_t
hash(const char *user, const char *conv)
{
	uint32_t h = 2166136261u;

	for (const unsigned char *p = (const unsigned char *)user; *p; p++)
		h = (h ^ *p) * 16777619u;
	h = (h ^ 0xffu) * 16777619u;  /* between the two: no byte of a name */
	for (const unsigned char *p = (const unsigned char *)conv; *p; p++)
		h = (h ^ *p) * 16777619u;
	return h;
}

struct interest *
interest_new(size_t max)
{
	struct interest *t = calloc(1, sizeof(*t));

	if (t == NULL || max == 0 || max > (SIZE_MAX / 4) / sizeof(*t->e))
		goto fail;
	t->max = max;
	t->nslot = 16;
	while (t->nslot < 2 * max)
		t->nslot *= 2;
	t->e = calloc(max, sizeof(*t->e));
	t->slot = malloc(t->nslot * sizeof(*t->slot));
	if (t->e == NULL || t->slot == NULL)
		goto fail;
	memset(t->slot, 0xff, t->nslot * sizeof(*t->slot));
	return t;
fail:
	interest_free(t);
	return NULL;
}

void
interest_free(struct interest *t)
{
	if (t == NULL)
		return;
	free(t->e);
	free(t->slot);
	free(t);
}

/* The slot of (user, conv): its entry's, or the empty one where it would
 * go. The table is never more than half full, so there is always one. */
static size_t
probe(const struct interest *t, const char *user, const char *conv)
{
	size_t i = hash(user, conv) & (t->nslot - 1);

	for (;;) {
		int k = t->slot[i];
		if (k < 0 || (strcmp(t->e[k].conv, conv) == 0 &&
		    strcmp(t->e[k].user, user) == 0))
			return i;
		i = (i + 1) & (t->nslot - 1);
	}
}

struct interest_entry *
interest_find(struct interest *t, const char *user, const char *conv)
{
	int k;

	if (t->n == 0)
		return NULL;
	k = t->slot[probe(t, user, conv)];
	return k < 0 ? NULL : &t->e[k];
}

struct interest_entry *
interest_make(struct interest *t, const char *user, const char *conv)
{
	size_t i;
	struct interest_entry *x;

	if (strlen(user) > LC_USER_MAX || strlen(conv) > ID_LEN)
		return NULL;
	i = probe(t, user, conv);
	if (t->slot[i] >= 0)
		return &t->e[t->slot[i]];
	if (t->n == t->max)
		return NULL;
	x = &t->e[t->n];
	memset(x, 0, sizeof(*x));
	memcpy(x->user, user, strlen(user) + 1);
	memcpy(x->conv, conv, strlen(conv) + 1);
	t->slot[i] = (int)t->n++;
	return x;
}

struct interest_entry *
interest_remote(struct interest *t, const char *user, const char *conv,
    long long now_ms, long long ttl_ms, int *was_fresh)
{
	struct interest_entry *x = interest_make(t, user, conv);

	*was_fresh = 0;
	if (x == NULL)
		return NULL;
	if (x->remote_ms == 0)
		t->nremote++;
	else
		*was_fresh = now_ms - x->remote_ms < ttl_ms;
	x->remote_ms = now_ms > 0 ? now_ms : 1;
	return x;
}

struct interest_entry *
interest_fresh(struct interest *t, const char *user, const char *conv,
    long long now_ms, long long ttl_ms)
{
	struct interest_entry *x;

	if (t->nremote == 0)
		return NULL;  /* nobody elsewhere follows anything */
	x = interest_find(t, user, conv);
	if (x == NULL || x->remote_ms == 0 || x->dropped ||
	    now_ms - x->remote_ms >= ttl_ms)
		return NULL;
	return x;
}

void
interest_sweep(struct interest *t, long long now_ms, long long ttl_ms)
{
	size_t kept = 0;

	t->nremote = 0;
	for (size_t k = 0; k < t->n; k++) {
		struct interest_entry *x = &t->e[k];
		if (x->remote_ms != 0 && now_ms - x->remote_ms >= ttl_ms) {
			x->remote_ms = 0;
			x->dropped = 0;
		}
		if (x->remote_ms == 0 && !x->local)
			continue;
		t->nremote += x->remote_ms != 0;
		if (kept != k)
			t->e[kept] = *x;
		kept++;
	}
	t->n = kept;
	memset(t->slot, 0xff, t->nslot * sizeof(*t->slot));
	for (size_t k = 0; k < t->n; k++)
		t->slot[probe(t, t->e[k].user, t->e[k].conv)] = (int)k;
}

void
interest_each(struct interest *t,
    void (*fn)(void *arg, struct interest_entry *e), void *arg)
{
	for (size_t k = 0; k < t->n; k++)
		fn(arg, &t->e[k]);
}

size_t
interest_count(const struct interest *t)
{
	return t->n;
}

size_t
interest_remote_count(const struct interest *t)
{
	return t->nremote;
}
