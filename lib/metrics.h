/* metrics.h - the names of lightchat's metrics and the worker's metrics
 * file, which both the worker (writing it) and the FastCGI program (reading
 * it for /health and /metrics) include, so they cannot disagree. The
 * catalogue (type, help) is cgi-bin/metrics.c's.
 *
 * The file (worker_metrics_file, default <state>/worker.metrics) is
 * rewritten once a second by the worker's tick, atomically (a temporary
 * file, then rename), and removed when the worker exits:
 *   # lightchat-worker heartbeat <CLOCK_MONOTONIC ms> pid <pid>
 *   <Prometheus sample lines, without HELP or TYPE>
 * The heartbeat is the monotonic clock, shared by the processes of one
 * boot and never set back (a Raspberry Pi's wall clock jumps when NTP
 * first answers). */
#ifndef LC_METRICS_H
#define LC_METRICS_H

#define METRICS_HEARTBEAT "# lightchat-worker heartbeat "
#define METRICS_FILE_MAX 65536      /* bytes the reader takes at most */

/* Written by the worker. */
#define M_SESSIONS_OPEN      "lightchat_sessions_open"
#define M_REPLIES_IN_FLIGHT  "lightchat_replies_in_flight"
#define M_REPLIES            "lightchat_replies_total"          /* outcome */
#define M_UPSTREAM_ERRORS    "lightchat_upstream_errors_total"  /* code */
#define M_FIRST_TOKEN        "lightchat_reply_first_token_seconds"
#define M_REPLY_DURATION     "lightchat_reply_duration_seconds"
#define M_TOKENS             "lightchat_tokens_total"           /* direction */
/* Written by both (label what: login from the FastCGI program's counters,
 * messages and connections from the worker). */
#define M_RATE_LIMITED       "lightchat_rate_limited_total"
/* Both (label process). */
#define M_DATABASE_ERRORS    "lightchat_database_errors_total"
#define M_MEMORY             "lightchat_process_resident_memory_bytes"
/* The FastCGI program's. */
#define M_LOGINS             "lightchat_logins_total"           /* result */
#define M_WORKER_UP          "lightchat_worker_up"
#define M_HEARTBEAT_AGE      "lightchat_worker_heartbeat_age_seconds"
#define M_BUILD_INFO         "lightchat_build_info"             /* version */
/* From the usage ledger's totals (store_usage_totals), labels user and
 * model (and kind: prompt, completion, reasoning). */
#define M_USAGE_TOKENS       "lightchat_usage_tokens_total"
#define M_USAGE_COST         "lightchat_usage_cost_total"
#define M_USAGE_REPLIES      "lightchat_usage_replies_total"

#endif
