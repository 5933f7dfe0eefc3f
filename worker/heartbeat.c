/* heartbeat.c - the worker's metrics file: the heartbeat /health looks at and
 * the sample lines /metrics serves, rewritten by the tick once a second
 * (temporary file, then rename: a reader sees the old file or the new). */
#include "heartbeat.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "monotime.h"
#include "prom.h"
#include "store.h"
#include "wholefile.h"

/* Set after a failed write is logged, so that a full disk is one line. */
static int write_failed;

/* This process's resident memory in bytes (/proc/self/statm), or -1. */
static long long
resident_bytes(void)
{
	long long size = 0, resident = -1;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f == NULL)
		return -1;
	if (fscanf(f, "%lld %lld", &size, &resident) != 2)
		resident = -1;
	fclose(f);
	return resident < 0 ? -1 : resident * sysconf(_SC_PAGESIZE);
}

/* Appends every sample line. Returns LC_BUF_OK or the buffer's error. */
static int
render(struct lc_buf *b, const struct session *s, const struct replies *rs)
{
	const struct reply_stats *st = reply_stats(rs);
	struct session_stats ss;
	char head[128];
	int rc;

	session_stats(s, &ss);
	snprintf(head, sizeof(head), METRICS_HEARTBEAT "%lld pid %ld\n",
	    monotime_ms(), (long)getpid());
	if ((rc = buf_append_str(b, head)) != LC_BUF_OK ||
	    (rc = prom_sample(b, M_SESSIONS_OPEN, NULL, NULL,
	    (double)ss.open)) != LC_BUF_OK ||
	    (rc = prom_sample(b, M_REPLIES_IN_FLIGHT, NULL, NULL,
	    (double)reply_count(rs))) != LC_BUF_OK)
		return rc;
	for (int o = 0; o < REPLY_OUTCOME__MAX; o++)
		if ((rc = prom_sample(b, M_REPLIES, "outcome",
		    reply_outcome_name((enum reply_outcome)o),
		    (double)st->outcomes[o])) != LC_BUF_OK)
			return rc;
	for (size_t i = 0; i < REPLY_ERROR_CODES; i++)
		if (st->errors[i].code[0] != '\0' &&
		    (rc = prom_sample(b, M_UPSTREAM_ERRORS, "code",
		    st->errors[i].code, (double)st->errors[i].n)) != LC_BUF_OK)
			return rc;
	long long rss = resident_bytes();
	if ((rc = prom_hist_write(b, M_FIRST_TOKEN, &st->first_token)) !=
	    LC_BUF_OK ||
	    (rc = prom_hist_write(b, M_REPLY_DURATION, &st->duration)) !=
	    LC_BUF_OK ||
	    (rc = prom_sample(b, M_TOKENS, "direction", "in",
	    st->tokens_in)) != LC_BUF_OK ||
	    (rc = prom_sample(b, M_TOKENS, "direction", "out",
	    st->tokens_out)) != LC_BUF_OK ||
	    (rc = prom_sample(b, M_RATE_LIMITED, "what", "messages",
	    (double)ss.rate_limited)) != LC_BUF_OK ||
	    (rc = prom_sample(b, M_RATE_LIMITED, "what", "connections",
	    (double)ss.refused)) != LC_BUF_OK ||
	    (rc = prom_sample(b, M_DATABASE_ERRORS, "process", "worker",
	    (double)store_errors())) != LC_BUF_OK ||
	    (rss >= 0 && (rc = prom_sample(b, M_MEMORY, "process", "worker",
	    (double)rss)) != LC_BUF_OK))
		return rc;
	return LC_BUF_OK;
}

int
heartbeat_write(const struct lc_config *cfg, const struct session *s,
    const struct replies *rs)
{
	struct lc_buf b;
	int rc = -1;
	const char *what = "render";

	buf_init(&b, METRICS_FILE_MAX);
	if (render(&b, s, rs) != LC_BUF_OK) {
		errno = ENOMEM;
		goto out;
	}
	what = "write";
	if (wholefile_write(cfg->worker_metrics_file, b.data, b.len, 0600) != 0)
		goto out;
	if (write_failed)
		log_info("metrics file %s written again",
		    cfg->worker_metrics_file);
	write_failed = 0;
	rc = 0;
out:
	if (rc != 0 && !write_failed) {
		log_err("metrics file %s: %s: %s (/health will say the worker "
		    "is not answering)", cfg->worker_metrics_file, what,
		    strerror(errno));
		write_failed = 1;
	}
	buf_free(&b);
	return rc;
}

void
heartbeat_remove(const struct lc_config *cfg)
{
	if (unlink(cfg->worker_metrics_file) != 0 && errno != ENOENT)
		log_warn("metrics file %s: %s", cfg->worker_metrics_file,
		    strerror(errno));
}
