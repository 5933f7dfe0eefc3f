/* watch.c - who watches which conversation, and the one fan-out of a
 * reply's frames to the origin and the watchers. */
#include "watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "token.h"

/* A session that shows a conversation and gets its replies' frames. */
struct watcher {
	struct watcher *next;
	struct peer peer;
	char user[LC_USER_MAX + 1];
	char conversation_id[ID_LEN + 1];
};

struct watch {
	struct watcher *head;
	struct peer_sink sink;
};

struct watch *
watch_new(struct peer_sink sink)
{
	struct watch *wl = calloc(1, sizeof(*wl));

	if (wl != NULL)
		wl->sink = sink;
	return wl;
}

void
watch_free(struct watch *wl)
{
	if (wl == NULL)
		return;
	while (wl->head != NULL) {
		struct watcher *x = wl->head;
		wl->head = x->next;
		free(x);
	}
	free(wl);
}

void
watch_set(struct watch *wl, const struct peer *p, const char *user,
    const char *conversation_id)
{
	struct watcher **pp = &wl->head, *x;

	/* A session watches one conversation at a time: the one it shows. */
	for (; (x = *pp) != NULL; pp = &x->next)
		if (peer_equal(&x->peer, p))
			break;
	if (conversation_id[0] == '\0') {
		if (x != NULL) {
			*pp = x->next;
			free(x);
		}
		return;
	}
	if (x == NULL) {
		x = calloc(1, sizeof(*x));
		if (x == NULL) {
			log_err("out of memory adding a watcher");
			return;
		}
		x->peer = *p;
		x->next = wl->head;
		wl->head = x;
	}
	snprintf(x->user, sizeof(x->user), "%s", user);
	snprintf(x->conversation_id, sizeof(x->conversation_id), "%s",
	    conversation_id);
}

const char *
watch_get(const struct watch *wl, const struct peer *p)
{
	for (const struct watcher *x = wl->head; x != NULL; x = x->next)
		if (peer_equal(&x->peer, p))
			return x->conversation_id;
	return NULL;
}

int
watch_count(const struct watch *wl, const char *user,
    const char *conversation_id)
{
	int n = 0;

	for (const struct watcher *x = wl->head; x != NULL; x = x->next)
		n += strcmp(x->conversation_id, conversation_id) == 0 &&
		    strcmp(x->user, user) == 0;
	return n;
}

/* Sends line (a delta at d, or NULL) to one session. */
static int
sink_put(struct watch *wl, const struct peer *p, const char *line,
    const struct peer_delta *d)
{
	if (d != NULL && wl->sink.delta != NULL)
		return wl->sink.delta(wl->sink.arg, p, line, d);
	return wl->sink.send(wl->sink.arg, p, line);
}

static int
fan(struct watch *wl, const struct peer *origin, int to_origin,
    const char *user, const char *conversation_id, const char *line,
    const struct peer_delta *d)
{
	int rc = 0;

	if (to_origin && sink_put(wl, origin, line, d) != 0)
		rc = -1;
	if (conversation_id[0] == '\0')
		return rc;
	for (struct watcher *x = wl->head; x != NULL; x = x->next) {
		if (strcmp(x->conversation_id, conversation_id) != 0 ||
		    strcmp(x->user, user) != 0 || peer_equal(&x->peer, origin))
			continue;
		sink_put(wl, &x->peer, line, d);
	}
	return rc;
}

int
watch_fanout(struct watch *wl, const struct peer *origin, int to_origin,
    const char *user, const char *conversation_id, const char *line)
{
	return fan(wl, origin, to_origin, user, conversation_id, line, NULL);
}

int
watch_fanout_delta(struct watch *wl, const struct peer *origin,
    int to_origin, const char *user, const char *conversation_id,
    const char *line, const struct peer_delta *d)
{
	return fan(wl, origin, to_origin, user, conversation_id, line, d);
}

static int
fanout_send(void *arg, const struct peer *origin, int to_origin,
    const char *user, const char *conversation_id, const char *line)
{
	return watch_fanout(arg, origin, to_origin, user, conversation_id,
	    line);
}

static int
fanout_delta(void *arg, const struct peer *origin, int to_origin,
    const char *user, const char *conversation_id, const char *line,
    const struct peer_delta *d)
{
	return watch_fanout_delta(arg, origin, to_origin, user,
	    conversation_id, line, d);
}

static void
fanout_watch(void *arg, const struct peer *p, const char *user,
    const char *conversation_id)
{
	watch_set(arg, p, user, conversation_id);
}

struct fanout
watch_as_fanout(struct watch *wl)
{
	struct fanout f = { fanout_send, fanout_watch, wl, fanout_delta, NULL };

	return f;
}
