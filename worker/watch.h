/* watch.h - who watches which conversation, and the one fan-out of a
 * reply's frames to them.
 *
 * A session watches one conversation at a time (the one it shows) and gets
 * the frames of that conversation's replies for its own user. Lines go out
 * through the peer_sink given at creation. */
#ifndef LC_WATCH_H
#define LC_WATCH_H

#include "peer.h"

struct watch;

/* Creates an empty watch list sending through sink. Returns NULL when out
 * of memory; free with watch_free. */
struct watch *watch_new(struct peer_sink sink);

/* Frees the list; NULL is allowed. */
void watch_free(struct watch *wl);

/* Makes p, a session of user, watch conversation_id ("" to stop watching).
 * Out of memory: logged, p watches nothing new. */
void watch_set(struct watch *wl, const struct peer *p, const char *user,
    const char *conversation_id);

/* Returns the conversation p watches (valid until the next watch_set), or
 * NULL. */
const char *watch_get(const struct watch *wl, const struct peer *p);

/* The number of user's sessions watching conversation_id. */
int watch_count(const struct watch *wl, const char *user,
    const char *conversation_id);

/* Sends line to origin when to_origin, and to every session of user
 * watching conversation_id ("": nobody) except origin, which never gets it
 * twice. Returns 0, or -1 if origin was to get it and is gone. */
int watch_fanout(struct watch *wl, const struct peer *origin, int to_origin,
    const char *user, const char *conversation_id, const char *line);

/* As watch_fanout, for a delta frame at d: a session that is behind misses
 * it and is sent its text coalesced later (peer_sink's delta). */
int watch_fanout_delta(struct watch *wl, const struct peer *origin,
    int to_origin, const char *user, const char *conversation_id,
    const char *line, const struct peer_delta *d);

/* The fanout interface of wl (watch_fanout and watch_set), for the
 * modules below that must not know the watch list. */
struct fanout watch_as_fanout(struct watch *wl);

#endif
