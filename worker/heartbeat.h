/* heartbeat.h - the worker's heartbeat and figures for /health and /metrics:
 * once a second the tick rewrites worker_metrics_file (lib/metrics.h says
 * its format) from the sessions' and the replies' counters. */
#ifndef LC_HEARTBEAT_H
#define LC_HEARTBEAT_H

#include "config.h"
#include "reply.h"
#include "session.h"

/* Writes cfg->worker_metrics_file atomically (path.tmp, then rename) with
 * the heartbeat and the figures of s and rs. Returns 0, or -1 (logged once
 * until a write succeeds again). */
int heartbeat_write(const struct lc_config *cfg, const struct session *s,
    const struct replies *rs);

/* Removes the file (the worker stops: /health says so at once). */
void heartbeat_remove(const struct lc_config *cfg);

#endif
