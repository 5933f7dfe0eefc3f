/* throttle.c - the growing-delay rule and the in-memory failure table. */
#include "throttle.h"

#include <stdio.h>
#include <string.h>

long
throttle_wait(int count, int max, long max_delay, long long last_ms,
    long long now_ms)
{
	long delay = 1;

	if (count < max)
		return 0;
	for (int i = max; i < count && delay < max_delay; i++)
		delay *= 2;
	if (delay > max_delay)
		delay = max_delay;
	long long left = last_ms + (long long)delay * 1000 - now_ms;
	if (left <= 0)
		return 0;
	return (long)((left + 999) / 1000);
}

/* Copies key, cut to fit, into out (THROTTLE_KEY_MAX bytes). */
static void
key_copy(char out[THROTTLE_KEY_MAX], const char *key)
{
	snprintf(out, THROTTLE_KEY_MAX, "%s", key);
}

static struct throttle_slot *
find(const struct throttle *t, const char *key)
{
	char k[THROTTLE_KEY_MAX];

	key_copy(k, key);
	for (int i = 0; i < THROTTLE_SLOTS; i++)
		if (t->slot[i].key[0] != '\0' && strcmp(t->slot[i].key, k) == 0)
			return (struct throttle_slot *)&t->slot[i];
	return NULL;
}

void
throttle_fail(struct throttle *t, const char *key, long window_s,
    long long now_ms)
{
	long long since = now_ms - (long long)window_s * 1000;
	struct throttle_slot *s = find(t, key);

	if (s != NULL && s->last_ms <= since)
		s->count = 0;
	if (s == NULL) {
		/* A free slot, one whose failures left the window, or else the
		 * one least recently failed. */
		s = &t->slot[0];
		for (int i = 0; i < THROTTLE_SLOTS; i++) {
			struct throttle_slot *c = &t->slot[i];
			if (c->key[0] == '\0' || c->last_ms <= since) {
				s = c;
				break;
			}
			if (c->last_ms < s->last_ms)
				s = c;
		}
		key_copy(s->key, key);
		s->count = 0;
	}
	if (s->count == 0)
		s->first_ms = now_ms;
	if (s->count < 1000000)
		s->count++;
	s->last_ms = now_ms;
}

int
throttle_count(const struct throttle *t, const char *key, long window_s,
    long long now_ms, long long *last_ms)
{
	const struct throttle_slot *s = find(t, key);

	*last_ms = 0;
	if (s == NULL || s->last_ms <= now_ms - (long long)window_s * 1000)
		return 0;
	*last_ms = s->last_ms;
	return s->count;
}

void
throttle_clear(struct throttle *t, const char *key)
{
	struct throttle_slot *s = find(t, key);

	if (s != NULL)
		memset(s, 0, sizeof(*s));
}
