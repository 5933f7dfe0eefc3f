/* monitor.h - the FastCGI program's side of /health and /metrics: the
 * worker's heartbeat file read and judged, and the counters every FastCGI
 * process adds to in the store (logins by result, database errors), which
 * /metrics sums over both pools by reading them back. */
#ifndef LC_MONITOR_H
#define LC_MONITOR_H

#include "buf.h"
#include "config.h"
#include "store.h"

/* Reads cfg->worker_metrics_file into file (buf_init'd by the caller with
 * METRICS_FILE_MAX, freed by the caller; a larger file is cut there) and
 * sets *age_ms to the milliseconds since its heartbeat. Returns 1 when the heartbeat is at most
 * cfg->health_heartbeat_max seconds old, 0 when older (*age_ms set), -1
 * when there is no readable file or heartbeat (*age_ms -1). */
int monitor_worker(const struct lc_config *cfg, struct lc_buf *file,
    long long *age_ms);

/* Counts one login that ended with result ("ok", "bad_password",
 * "throttled", "bad_request", "error") in the store; a NULL store or a
 * failed write is logged and otherwise ignored. */
void monitor_login(struct store *store, const char *result);

/* Adds the database errors of this process since the last call to the
 * store's counter (after each request; a write only when there were
 * some). */
void monitor_flush_errors(struct store *store);

#endif
